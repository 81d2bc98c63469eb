// The CLI's testable core: parses argv, runs one command, returns an exit code. Never exits the process.
// Command modules are imported only when their command runs, so `--help` stays fast.
import { Command, CommanderError } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import { AwsCallInterruptedError } from './aws/calls.ts';
import { explainAwsError } from './aws/explain.ts';
import { explainMissingPackage } from './missing-package.ts';
import { awsRuntime, endAwsRuntime, isVerbose, startAwsRuntime } from './aws/runtime.ts';
import { ExitCode, formatError, isPromptCancel, isWatchpointError } from './errors.ts';
import { ctrlCOwned, interruptState, takeExitRequest } from './interrupt.ts';
import { CI_SET, InteractiveIo, JsonStdoutIo, NO_TERMINAL, NonInteractiveIo, YES_FLAG, type Io, type Streams } from './io.ts';
import type { CommandContext } from './context.ts';
import type { Definer } from './define.ts';
import type { CommonOptions } from './options.ts';
import { defineInit } from './commands/init.define.ts';
import { defineSynth } from './commands/synth.define.ts';
import { defineDb } from './commands/db.define.ts';
import { defineDeploy } from './commands/deploy.define.ts';
import { defineReleases } from './commands/releases.define.ts';
import { defineRollback } from './commands/rollback.define.ts';
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
import { defineDev } from './commands/dev.define.ts';
import { defineInvoke } from './commands/invoke.define.ts';
import { defineCapacity } from './commands/capacity.define.ts';
import { defineApiKeys } from './commands/api-keys.define.ts';

export interface RunContext {
  /** Inject an Io (tests); otherwise one is chosen from the terminal and --yes. */
  io?: Io;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  streams?: Streams;
  /** Whether a person can answer questions (stdin and stderr are terminals). */
  tty?: boolean;
  /** Handle Ctrl-C (SIGINT) for this run; default: when writing to the process's own streams. */
  signals?: boolean;
}

export async function run(argv: readonly string[], context: RunContext = {}): Promise<number> {
  const streams: Streams = context.streams ?? { stdout: process.stdout, stderr: process.stderr };
  const env = context.env ?? process.env;
  const cwd = context.cwd ?? process.cwd();
  const terminal = context.tty ?? Boolean(process.stdin.isTTY && process.stderr.isTTY);
  const tty = context.tty ?? (terminal && !env.CI);
  // --json anywhere before `--`: stdout holds JSON only, on every path (see JsonStdoutIo).
  const json = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length).includes('--json');
  const makeIo = (yes: boolean): Io => {
    // Why nobody is asked, as the errors will say it: --yes on a terminal is not "no terminal".
    const why = tty && yes ? YES_FLAG : terminal && env.CI ? CI_SET : NO_TERMINAL;
    const io = context.io ?? (tty && !yes ? new InteractiveIo(streams) : new NonInteractiveIo(streams, yes, why));
    return json ? new JsonStdoutIo(io) : io;
  };

  let exitCode: number = ExitCode.ok;
  let commandName: string | undefined;
  const common = (options: CommonOptions): CommandContext => {
    const io = makeIo(Boolean(options.yes));
    const verbose = isVerbose(env, Boolean(program.opts<{ verbose?: boolean }>().verbose || options.verbose));
    // Every AWS client of this command shares one runtime: its time budget, waiting notice and --verbose log.
    startAwsRuntime({ io, env, verbose });
    return { options, env, cwd, io, verbose, ...(commandName ? { command: commandName } : {}) };
  };

  const program = new Command('watchpoint')
    .description('Operate a WatchPoint environment: configure, synthesize, deploy, check and repair it.')
    .usage('<command> [options]')
    .version(packageJson.version, '-V, --version', 'print the version and exit')
    .option('--verbose', 'show each AWS call as it starts and ends (same as WATCHPOINT_DEBUG=1)')
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
Exit codes: 0 ok, 1 failure, 2 bad usage or bad input, 3 unhealthy (\`status\`: an alarm is firing or
a dead-man series is late; \`drift --fail\`: a stack drifted), 130 cancelled (Ctrl-C).
AWS calls give up after 30 s each, retries included (WATCHPOINT_AWS_TIMEOUT=<seconds> changes it); one
that waits longer than 2 s says what it waits on. The README lists every environment variable.

Examples:
  watchpoint init --env prod
  watchpoint synth --env dev --out cdk.out`,
    );

  // "secrets list": which stage keys the command validates (context.ts) depends on it.
  program.hook('preAction', (_program, action) => {
    const names: string[] = [];
    for (let command: Command | null = action; command && command !== program; command = command.parent) names.unshift(command.name());
    commandName = names.join(' ');
  });

  const definer: Definer = { context: common, exit: (code) => (exitCode = code) };
  // One line per command, in the order `--help` lists them.
  defineInit(program, definer);
  defineSynth(program, definer);
  defineDb(program, definer);
  defineDiff(program, definer);
  defineDeploy(program, definer);
  defineReleases(program, definer);
  defineRollback(program, definer);
  defineImage(program, definer);
  defineDestroy(program, definer);
  defineSecrets(program, definer);
  defineStatus(program, definer);
  defineRunpod(program, definer);
  defineDlq(program, definer);
  defineLogs(program, definer);
  defineTrace(program, definer);
  defineDrift(program, definer);
  defineDev(program, definer);
  defineInvoke(program, definer);
  defineCapacity(program, definer);
  defineApiKeys(program, definer);

  const signals = context.signals ?? !context.streams;
  const stopSignals = signals ? watchCtrlC(streams) : () => undefined;
  let code: number;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    code = exitCode;
  } catch (error) {
    code = report(error, streams);
  } finally {
    stopSignals();
    endAwsRuntime();
  }
  if (takeExitRequest() && signals) setImmediate(() => process.exit(code));
  return code;
}

/**
 * Ctrl-C outside the parts a command handles itself: abort the AWS calls in flight, so the command
 * unwinds and report() says what state things are in. With nothing in flight (or on a second
 * Ctrl-C) say it now and end the process.
 */
function watchCtrlC(streams: Streams): () => void {
  let pressed = 0;
  const listener = () => {
    // A command that listens for SIGINT itself (through handleCtrlC, or directly) handles it.
    if (ctrlCOwned() || process.listenerCount('SIGINT') > 1) return;
    pressed += 1;
    const { ledger } = awsRuntime();
    const inFlight = ledger.interrupt();
    if (inFlight.length > 0 && pressed === 1) return;
    streams.stderr.write(`${interruptState(ledger, inFlight)}\n`);
    process.exit(ExitCode.interrupted);
  };
  process.on('SIGINT', listener);
  return () => process.off('SIGINT', listener);
}

function isInterrupted(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth += 1) {
    if (current instanceof AwsCallInterruptedError) return true;
  }
  return false;
}

function report(thrown: unknown, streams: Streams): number {
  // Anything a command did not explain itself still gets the AWS explainer (or, for a package that
  // did not load, the install step it lacks), and so a fix.
  const error = explainMissingPackage(thrown) ?? explainAwsError(thrown);
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help / version).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return ExitCode.ok;
    return ExitCode.usage;
  }
  if (isPromptCancel(error)) {
    streams.stderr.write('Cancelled. Nothing was changed.\n');
    return ExitCode.interrupted;
  }
  const { ledger } = awsRuntime();
  if (isInterrupted(error) || ledger.interrupted) {
    // The command's own words first (e.g. what an import had written), then the call-level state.
    if (!(error instanceof AwsCallInterruptedError)) streams.stderr.write(`${formatError(error)}\n`);
    streams.stderr.write(`${interruptState(ledger, ledger.aborted)}\n`);
    return ExitCode.interrupted;
  }
  streams.stderr.write(`${formatError(error)}\n`);
  return isWatchpointError(error) ? error.exitCode : ExitCode.failure;
}
