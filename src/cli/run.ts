// The CLI's testable core: parses argv, runs one command, returns an exit code. Never exits the process.
// Command modules are imported only when their command runs, and so is what every command shares (the
// Io, the AWS call runtime, Ctrl-C handling) and what explains a failure: `--help` and a usage error
// load commander, the define files and usage.ts only.
import { Command, CommanderError } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import { ExitCode, formatError, isPromptCancel, isWatchpointError } from './errors.ts';
import type { Io, Streams } from './io.ts';
import type { CommandContext } from './context.ts';
import type { Definer } from './define.ts';
import type { CommonOptions } from './options.ts';
import { watchUsageErrors, type UsageErrors } from './usage.ts';
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

/** What a running command shares; loaded once the parse reaches an action. */
async function loadCommandRuntime() {
  const [io, aws, interrupt] = await Promise.all([import('./io.ts'), import('./aws/runtime.ts'), import('./interrupt.ts')]);
  return { io, aws, interrupt };
}
type CommandRuntime = Awaited<ReturnType<typeof loadCommandRuntime>>;

export async function run(argv: readonly string[], context: RunContext = {}): Promise<number> {
  const streams: Streams = context.streams ?? { stdout: process.stdout, stderr: process.stderr };
  const env = context.env ?? process.env;
  const cwd = context.cwd ?? process.cwd();
  const terminal = context.tty ?? Boolean(process.stdin.isTTY && process.stderr.isTTY);
  const tty = context.tty ?? (terminal && !env.CI);
  // --json anywhere before `--`: stdout holds JSON only, on every path (see JsonStdoutIo).
  const json = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length).includes('--json');
  let runtime: CommandRuntime | undefined;
  const makeIo = ({ io: kit }: CommandRuntime, yes: boolean): Io => {
    // Why nobody is asked, as the errors will say it: --yes on a terminal is not "no terminal".
    const why = tty && yes ? kit.YES_FLAG : terminal && env.CI ? kit.CI_SET : kit.NO_TERMINAL;
    const io = context.io ?? (tty && !yes ? new kit.InteractiveIo(streams) : new kit.NonInteractiveIo(streams, yes, why));
    return json ? new kit.JsonStdoutIo(io) : io;
  };

  let exitCode: number = ExitCode.ok;
  let commandName: string | undefined;
  const common = (options: CommonOptions): CommandContext => {
    // Loaded by the preAction hook, which commander awaits before any action.
    const loaded = runtime!;
    const io = makeIo(loaded, Boolean(options.yes));
    const verbose = loaded.aws.isVerbose(env, Boolean(program.opts<{ verbose?: boolean }>().verbose || options.verbose));
    // Every AWS client of this command shares one runtime: its time budget, waiting notice and --verbose log.
    loaded.aws.startAwsRuntime({ io, env, verbose });
    return { options, env, cwd, io, verbose, ...(commandName ? { command: commandName } : {}) };
  };

  const program = new Command('watchpoint')
    .description('Operate a WatchPoint environment: configure, synthesize, deploy, check and repair it.')
    .usage('<command> [options]')
    .version(packageJson.version, '-V, --version', 'print the version and exit')
    .option('--verbose', 'show each AWS call as it starts and ends (same as WATCHPOINT_DEBUG=1)')
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

  const signals = context.signals ?? !context.streams;
  let stopSignals = () => undefined as void;
  program.hook('preAction', async (_program, action) => {
    // "secrets list": which stage keys the command validates (context.ts) depends on it.
    const names: string[] = [];
    for (let command: Command | null = action; command && command !== program; command = command.parent) names.unshift(command.name());
    commandName = names.join(' ');
    runtime ??= await loadCommandRuntime();
    if (signals) stopSignals = watchCtrlC(streams, runtime);
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
  const usage = watchUsageErrors(program);

  let code: number;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    code = exitCode;
  } catch (error) {
    code = await report(error, streams, usage);
  } finally {
    stopSignals();
    runtime?.aws.endAwsRuntime();
  }
  if (runtime?.interrupt.takeExitRequest() && signals) setImmediate(() => process.exit(code));
  return code;
}

/**
 * Ctrl-C outside the parts a command handles itself: abort the AWS calls in flight, so the command
 * unwinds and report() says what state things are in. With nothing in flight (or on a second
 * Ctrl-C) say it now and end the process.
 */
function watchCtrlC(streams: Streams, { aws: { awsRuntime }, interrupt: { ctrlCOwned, interruptState } }: CommandRuntime): () => void {
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

async function report(thrown: unknown, streams: Streams, usage: UsageErrors): Promise<number> {
  if (thrown instanceof CommanderError) {
    // Commander has already printed its message (or the help / version); the fix goes last.
    if (thrown.code === 'commander.helpDisplayed' || thrown.code === 'commander.version' || thrown.exitCode === 0) return ExitCode.ok;
    streams.stderr.write(`  fix: ${usage.fixFor(thrown)}\n`);
    return ExitCode.usage;
  }
  const [{ AwsCallInterruptedError }, { explainAwsError }, { explainMissingPackage }, { awsRuntime }, { interruptState }] = await Promise.all([
    import('./aws/calls.ts'),
    import('./aws/explain.ts'),
    import('./missing-package.ts'),
    import('./aws/runtime.ts'),
    import('./interrupt.ts'),
  ]);
  const isInterrupted = (error: unknown): boolean => {
    for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth += 1) {
      if (current instanceof AwsCallInterruptedError) return true;
    }
    return false;
  };
  // Anything a command did not explain itself still gets the AWS explainer (or, for a package that
  // did not load, the install step it lacks), and so a fix.
  const error = explainMissingPackage(thrown) ?? explainAwsError(thrown);
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
