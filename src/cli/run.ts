// The CLI's testable core: parses argv, runs one command, returns an exit code. Never exits the process.
// Command modules are imported only when their command runs, so `--help` stays fast.
import { Command, CommanderError } from 'commander';
import { ExitCode, formatError, isPromptCancel, isWatchpointError } from './errors.ts';
import { InteractiveIo, NonInteractiveIo, type Io, type Streams } from './io.ts';
import type { CommandContext } from './context.ts';
import type { Definer } from './define.ts';
import type { CommonOptions } from './options.ts';
import { defineInit } from './commands/init.define.ts';
import { defineSynth } from './commands/synth.define.ts';
import { defineDb } from './commands/db.define.ts';
import { defineDeploy } from './commands/deploy.define.ts';
import { defineDiff } from './commands/diff.define.ts';
import { defineImage } from './commands/image.define.ts';
import { defineDestroy } from './commands/destroy.define.ts';
import { defineSecrets } from './commands/secrets.define.ts';
import { defineStatus } from './commands/status.define.ts';
import { defineRunpod } from './commands/runpod.define.ts';
import { defineDlq } from './commands/dlq.define.ts';
import { defineLogs } from './commands/logs.define.ts';
import { defineTrace } from './commands/trace.define.ts';
import { defineDrift } from './commands/drift.define.ts';

export interface RunContext {
  /** Inject an Io (tests); otherwise one is chosen from the terminal and --yes. */
  io?: Io;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  streams?: Streams;
  /** Whether a person can answer questions (stdin and stderr are terminals). */
  tty?: boolean;
}

export async function run(argv: readonly string[], context: RunContext = {}): Promise<number> {
  const streams: Streams = context.streams ?? { stdout: process.stdout, stderr: process.stderr };
  const env = context.env ?? process.env;
  const cwd = context.cwd ?? process.cwd();
  const tty = context.tty ?? Boolean(process.stdin.isTTY && process.stderr.isTTY && !env.CI);
  const makeIo = (yes: boolean): Io =>
    context.io ?? (tty && !yes ? new InteractiveIo(streams) : new NonInteractiveIo(streams, yes));

  let exitCode: number = ExitCode.ok;
  const common = (options: CommonOptions): CommandContext => ({ options, env, cwd, io: makeIo(Boolean(options.yes)) });

  const program = new Command('watchpoint')
    .description('Operate a WatchPoint environment: configure, synthesize, deploy, check and repair it.')
    .usage('<command> [options]')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => streams.stdout.write(text),
      writeErr: (text) => streams.stderr.write(text),
    })
    .addHelpText(
      'after',
      `
Environment: --env, else WATCHPOINT_ENV, else "dev". Config: ./watchpoint.config.json, or --config PATH.
Exit codes: 0 ok, 1 failure, 2 bad usage or bad input, 130 cancelled.

Examples:
  watchpoint init --env prod
  watchpoint synth --env dev --out cdk.out`,
    );

  const definer: Definer = { context: common, exit: (code) => (exitCode = code) };
  // One line per command, in the order `--help` lists them.
  defineInit(program, definer);
  defineSynth(program, definer);
  defineDb(program, definer);
  defineDiff(program, definer);
  defineDeploy(program, definer);
  defineImage(program, definer);
  defineDestroy(program, definer);
  defineSecrets(program, definer);
  defineStatus(program, definer);
  defineRunpod(program, definer);
  defineDlq(program, definer);
  defineLogs(program, definer);
  defineTrace(program, definer);
  defineDrift(program, definer);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return report(error, streams);
  }
}

function report(error: unknown, streams: Streams): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help / version).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return ExitCode.ok;
    return ExitCode.usage;
  }
  if (isPromptCancel(error)) {
    streams.stderr.write('Cancelled. Nothing was changed.\n');
    return ExitCode.interrupted;
  }
  streams.stderr.write(`${formatError(error)}\n`);
  return isWatchpointError(error) ? error.exitCode : ExitCode.failure;
}
