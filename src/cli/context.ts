// What every command receives, and the one way a command turns flags + config into a valid stage.
import { basename } from 'node:path';
import {
  REQUIRED_KEYS,
  configPath,
  loadConfigFile,
  mergeStage,
  resolveEnvName,
  savedStage,
  stageFlags,
  validateStage,
} from '../config/config-file.ts';
import { closestName } from '../config/closest.ts';
import type { StageConfig, StageKey } from '../config/schema.ts';
import { useLocalPlatform, useStageTarget } from './aws/runtime.ts';
import { userError } from './errors.ts';
import type { Io } from './io.ts';
import type { CommonOptions } from './options.ts';

export interface CommandContext {
  io: Io;
  options: CommonOptions;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** --verbose (anywhere on the command line) or WATCHPOINT_DEBUG=1. */
  verbose?: boolean;
  /** The command being run, e.g. "secrets list" (run.ts sets it). */
  command?: string;
}

const WHERE_CALLS_GO: readonly StageKey[] = ['region', 'awsEndpointUrl'];

/**
 * The stage keys a command reads; it validates only those, so e.g. `status` is never stopped by an
 * alertEmail it does not use. Commands not listed (synth, diff, deploy, destroy, image, init) build
 * the stacks and use every key.
 */
const KEYS_USED: Record<string, readonly StageKey[]> = {
  status: WHERE_CALLS_GO,
  dlq: WHERE_CALLS_GO,
  db: WHERE_CALLS_GO,
  runpod: WHERE_CALLS_GO,
  logs: WHERE_CALLS_GO,
  trace: WHERE_CALLS_GO,
  drift: WHERE_CALLS_GO,
  'api-keys': WHERE_CALLS_GO,
  // Which secrets are required depends on the OAuth client IDs.
  secrets: [...WHERE_CALLS_GO, 'googleClientId', 'githubClientId'],
};

export function keysUsed(command: string | undefined): readonly StageKey[] | undefined {
  return command ? KEYS_USED[command.split(' ')[0]!] : undefined;
}

export interface ResolvedStage {
  envName: string;
  stage: StageConfig;
  configPath: string;
}

/**
 * --env / WATCHPOINT_ENV / dev, the saved section, the flags over it, validated. Throws a user
 * error (exit 2) naming each bad field before any command touches AWS.
 */
export async function resolveStage(context: CommandContext): Promise<ResolvedStage> {
  const envName = resolveEnvName(context.options.env, context.env);
  const path = configPath(context.options.config, context.cwd);
  if (envName === LOCAL_ENV_NAME) return resolveLocalStage(context, path);
  const { overrides, fromFlags } = stageFlags(context.options);
  const loaded = await loadConfigFile(path);
  if (!loaded.exists && fromFlags.size === 0) {
    throw userError(
      'CONFIG_MISSING',
      `No config file at ${path}.`,
      `Run \`watchpoint init --env ${envName}\` first, pass --config PATH, or give the settings as flags.`,
    );
  }
  const uses = keysUsed(context.command);
  if (loaded.exists && !(envName in loaded.file.environments)) refuseUnknownEnv(envName, path, loaded.file.environments, fromFlags, uses);
  const stage = validateStage(mergeStage(savedStage(loaded, envName), overrides), { envName, configPath: path, fromFlags, ...(uses ? { uses } : {}) });
  // From here on every AWS client of this run (toolkit-lib's too) goes to this stage's region and endpoint.
  useStageTarget(stage, envName, context.env);
  return { envName, stage, configPath: path };
}

/**
 * An --env the config file does not have is almost always a typo: say which ones it has, and the
 * closest. Settings given entirely as flags still work (every key the command needs has its flag).
 */
function refuseUnknownEnv(envName: string, path: string, environments: Record<string, unknown>, fromFlags: ReadonlySet<string>, uses: readonly StageKey[] | undefined): void {
  const needed = (uses ?? REQUIRED_KEYS).filter((key) => REQUIRED_KEYS.includes(key));
  if (needed.every((key) => fromFlags.has(key))) return;
  const configured = Object.keys(environments).sort();
  const file = basename(path);
  const closest = closestName(envName, configured);
  const listed = configured.length > 0 ? `configured: ${configured.join(', ')}${closest ? ` (did you mean ${closest}?)` : ''}` : 'it has none yet';
  throw userError(
    'ENV_UNKNOWN',
    `No environment ${envName} in ${file}; ${listed}.`,
    closest
      ? `Use --env ${closest}, or create "${envName}" with \`watchpoint init --env ${envName}\`.`
      : `Use --env with one of the configured names, or create "${envName}" with \`watchpoint init --env ${envName}\`.`,
  );
}

/** `--env local` is the platform `watchpoint dev` runs in this directory, never a config section. */
export const LOCAL_ENV_NAME = 'local';

async function resolveLocalStage(context: CommandContext, path: string): Promise<ResolvedStage> {
  // Refused before anything else (even with no platform running): no call is made.
  const { localRefusal } = await import('./local-env.ts');
  const refusal = localRefusal(context.command);
  if (refusal) throw refusal;
  const { readDevState } = await import('../dev/state.ts');
  const state = readDevState(context.cwd);
  if (!state) {
    throw userError(
      'DEV_NOT_RUNNING',
      `--env local is the platform \`watchpoint dev\` runs, and it is not running in ${context.cwd}.`,
      'Start it in this directory in another terminal with `npx watchpoint dev` (it prints "WatchPoint is running locally"), then run this command again.',
    );
  }
  const { useDevEndpoint } = await import('./aws.ts');
  // A platform started by an older watchpoint (no session credentials in its state) checks none.
  useDevEndpoint(state.endpoint, state.credentials ?? { accessKeyId: 'watchpoint-dev', secretAccessKey: 'watchpoint-dev' });
  const stage = validateStage(
    { region: state.region, alertEmail: 'oncall@example.com', runPodEndpointId: 'localdev', awsEndpointUrl: state.endpoint },
    { envName: LOCAL_ENV_NAME, configPath: path, fromFlags: new Set() },
  );
  useStageTarget(stage, LOCAL_ENV_NAME, context.env);
  useLocalPlatform({ endpoint: state.endpoint, pid: state.pid, cwd: state.cwd });
  return { envName: LOCAL_ENV_NAME, stage, configPath: path };
}

/** The names every command uses to find an environment's stacks. */
export function stackNames(envName: string): { registry: string; platform: string } {
  return { registry: `watchpoint-${envName}-registry`, platform: `watchpoint-${envName}` };
}
