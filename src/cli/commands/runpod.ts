// `watchpoint runpod rotate-keys`: a staged, verified, resumable rotation of the RunPod user's access
// keys. The stage is derived from IAM and SSM on every run (src/cli/runpod/state.ts); nothing is kept
// locally. This file parses the flags and starts the state machine (src/cli/runpod/rotation.ts);
// the status is rendered by runpod/report.ts. Design: docs/runpod-key-rotation.md.
import { resolveStage, type CommandContext } from '../context.ts';
import { userError } from '../errors.ts';
import { runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import { noQuestions } from '../io.ts';
import { explainRotationError, parameterNames, type RunPodClients } from '../runpod/aws.ts';
import { runpodClients } from '../runpod/clients.ts';
import { DEFAULT_VERIFY_TIMEOUT_S, MAX_VERIFY_TIMEOUT_S, Rotation, SECRET_GET, type RotateOptions } from '../runpod/rotation.ts';
import { STAGES, type StageName } from '../runpod/state.ts';
import { readStdinText } from '../stdin.ts';
import type { RotateKeysFlags } from './runpod.define.ts';

/** Raw flags in one object (tests). */
export interface RotateKeysContext extends CommandContext {
  rotate: RotateKeysFlags;
}

/** Seams for tests: SDK clients, the clock and the backoff sleep. */
export interface RotateKeysDeps {
  clients?: RunPodClients;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** Reads all of stdin (tests inject it). */
  readStdin?: () => Promise<string>;
}

/** Everything `runpod rotate-keys` runs on, validated. */
export interface RotateKeysOptions extends Runtime {
  /** The state machine's options (runpod/rotation.ts). */
  rotate: RotateOptions;
  yes: boolean;
  clients: RunPodClients | undefined;
  readStdin: () => Promise<string>;
}

/** The flag contract: every flag, --stage included, checked once, before anything touches AWS (exit 2 naming it). */
export function parseRotateKeysOptions(flags: RotateKeysFlags, context: CommandContext & Injectable & Omit<RotateKeysDeps, 'now' | 'sleep'>): RotateKeysOptions {
  return {
    ...runtimeOf(context),
    rotate: parseRotateFlags(flags, context.io.interactive),
    yes: Boolean(flags.yes ?? context.options.yes),
    clients: context.clients,
    readStdin: context.readStdin ?? readSecretStdin,
  };
}

/** Raw flags, context and deps (tests): parse, then run. */
export async function rotateKeysCommand(context: RotateKeysContext, deps: RotateKeysDeps = {}): Promise<number> {
  const { sleep, ...rest } = deps;
  return runRotateKeys(parseRotateKeysOptions(context.rotate, { ...context, ...rest, ...(sleep ? { sleep: (ms: number) => sleep(ms) } : {}) }));
}

/** The rotation flags, each and together. */
function parseRotateFlags(options: RotateKeysFlags, interactive: boolean): RotateOptions {
  let stage: StageName | undefined;
  if (options.stage !== undefined) {
    if (!(STAGES as readonly string[]).includes(options.stage)) {
      throw userError('STAGE_INVALID', `--stage "${options.stage}" is not a stage.`, `Use one of: ${STAGES.join(', ')}.`);
    }
    stage = options.stage as StageName;
  }
  let timeoutMs = DEFAULT_VERIFY_TIMEOUT_S * 1000;
  if (options.timeout !== undefined) {
    const seconds = Number(options.timeout);
    if (!/^\d+$/.test(options.timeout) || seconds < 1 || seconds > MAX_VERIFY_TIMEOUT_S) {
      throw userError('TIMEOUT_INVALID', `--timeout "${options.timeout}" is not a whole number of seconds from 1 to ${MAX_VERIFY_TIMEOUT_S}.`, `e.g. --timeout ${DEFAULT_VERIFY_TIMEOUT_S}`);
    }
    timeoutMs = seconds * 1000;
  }
  const status = Boolean(options.status);
  const storeSecret = Boolean(options.storeSecret);
  if (options.stdin && !storeSecret) throw userError('FLAGS_CONFLICT', '--stdin applies only to --store-secret.', 'Add --store-secret, or drop --stdin.');
  if (storeSecret) {
    const other = [stage ? '--stage' : '', status ? '--status' : '', options.showSecret ? '--show-secret' : '', options.json ? '--json' : ''].filter(Boolean);
    if (other.length > 0) throw userError('FLAGS_CONFLICT', `--store-secret cannot be combined with ${other.join(', ')}.`, 'Run --store-secret on its own (with --stdin to pipe the secret in).');
    if (!options.stdin && !interactive) {
      throw userError('SECRET_NO_TERMINAL', 'No terminal for a hidden prompt, so --store-secret needs the secret on stdin.', 'Pipe it in: `... | watchpoint runpod rotate-keys --store-secret --stdin` (never put it on the command line).');
    }
  }
  if (status && stage) throw userError('FLAGS_CONFLICT', '--status and --stage cannot be combined.', 'Use --status alone to look, or --stage to act.');
  if (options.json && !status) throw userError('FLAGS_CONFLICT', '--json applies only to --status.', 'Add --status, or drop --json.');
  if (options.showSecret && stage && stage !== 'create') {
    throw userError('FLAGS_CONFLICT', `--show-secret applies only to the create stage (the secret exists only at creation), not to --stage ${stage}.`, `Fetch the stored secret with \`${SECRET_GET}\`.`);
  }
  if (!status && !stage && !storeSecret && !interactive) {
    throw userError(
      'STAGE_REQUIRED',
      'Not interactive (no terminal, CI, or --yes), so the rotation cannot be walked through, and no --stage was given.',
      `Pass --stage ${STAGES.join('|')} to run one stage, or --status to look.`,
    );
  }
  return {
    ...(stage ? { stage } : {}),
    status,
    showSecret: Boolean(options.showSecret),
    force: Boolean(options.force),
    timeoutMs,
    json: Boolean(options.json),
    dryRun: Boolean(options.dryRun),
    storeSecret,
    stdin: Boolean(options.stdin),
  };
}

export async function runRotateKeys(context: RotateKeysOptions): Promise<number> {
  const { io, rotate: options } = context;
  // Flags are valid (parseRotateKeysOptions); the config next. No AWS call before both are.
  const { envName, stage } = await resolveStage(context);
  // Deactivate and delete always ask; without a terminal the answer can only be --yes, so say so
  // before touching AWS.
  if (!io.interactive && !context.yes && (options.stage === 'deactivate' || options.stage === 'delete')) {
    throw userError('CONFIRMATION_REQUIRED', `--stage ${options.stage} asks for confirmation, and ${noQuestions(io).why}.`, `Re-run with --yes to confirm (check first with \`watchpoint runpod rotate-keys --env ${envName} --status\`), or ${noQuestions(io).instead}.`);
  }
  const clients = context.clients ?? (await runpodClients(stage));
  const rotation = new Rotation({
    io,
    envName,
    clients,
    options,
    names: parameterNames(envName),
    now: context.now,
    sleep: (ms) => context.sleep(ms),
    readStdin: context.readStdin,
  });
  try {
    return await rotation.run();
  } catch (error) {
    throw explainRotationError(error, envName, rotation.user?.userName);
  }
}

/** --store-secret --stdin: a pipe only, never a terminal (what is typed would be echoed). */
function readSecretStdin(): Promise<string> {
  return readStdinText({ onTerminal: () => userError('SECRET_STDIN_TTY', '--stdin reads a pipe, but stdin is a terminal (what you type would be echoed).', 'Pipe the secret in, or drop --stdin to be asked at a hidden prompt.') });
}
