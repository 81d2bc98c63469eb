// What every command receives, and the one way a command turns flags + config into a valid stage.
import {
  configPath,
  loadConfigFile,
  mergeStage,
  resolveEnvName,
  savedStage,
  stageFlags,
  validateStage,
} from '../config/config-file.ts';
import type { StageConfig } from '../config/schema.ts';
import { useStageTarget } from './aws/runtime.ts';
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
  const stage = validateStage(mergeStage(savedStage(loaded, envName), overrides), { envName, configPath: path, fromFlags });
  // From here on every AWS client of this run (toolkit-lib's too) goes to this stage's region and endpoint.
  useStageTarget(stage, envName, context.env);
  return { envName, stage, configPath: path };
}

/** `--env local` is the platform `watchpoint dev` runs in this directory, never a config section. */
export const LOCAL_ENV_NAME = 'local';

async function resolveLocalStage(context: CommandContext, path: string): Promise<ResolvedStage> {
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
  useDevEndpoint(state.endpoint);
  const stage = validateStage(
    { region: state.region, alertEmail: 'oncall@example.com', runPodEndpointId: 'localdev', awsEndpointUrl: state.endpoint },
    { envName: LOCAL_ENV_NAME, configPath: path, fromFlags: new Set() },
  );
  return { envName: LOCAL_ENV_NAME, stage, configPath: path };
}

/** The names every command uses to find an environment's stacks. */
export function stackNames(envName: string): { registry: string; platform: string } {
  return { registry: `watchpoint-${envName}-registry`, platform: `watchpoint-${envName}` };
}
