// `watchpoint init`: create or update one environment's section of watchpoint.config.json.
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  FLAG_FOR,
  REQUIRED_KEYS,
  configPath,
  loadConfigFile,
  mergeStage,
  resolveEnvName,
  savedStage,
  splitList,
  stageFlags,
  stageForFile,
  type StageOverrides,
  validateStage,
  writeConfigFile,
} from '../../config/config-file.ts';
import { API_LIMIT_DEFAULTS, STAGE_KEYS, deploymentStyleFor, stageConfigSchema, type StageKey } from '../../config/schema.ts';
import { ExitCode, WatchpointError, isWatchpointError, userError } from '../errors.ts';
import { InteractiveIo } from '../io.ts';
import type { CommandContext } from '../context.ts';
import { runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import type { InitFlags } from './init.define.ts';

const PROMPTS: Record<StageKey, string> = {
  region: 'AWS region',
  account: 'AWS account ID (optional; deploy refuses any other account)',
  alertEmail: 'Alarm email address',
  runPodEndpointId: 'RunPod endpoint ID',
  domainName: 'Custom API domain (optional)',
  certificateArn: 'ACM certificate ARN for that domain',
  corsAllowedOrigins: 'CORS allowed origins (comma-separated, or *)',
  googleClientId: 'Google OAuth client ID (optional)',
  githubClientId: 'GitHub OAuth client ID (optional)',
  awsEndpointUrl: 'AWS endpoint URL override, for LocalStack (optional)',
  apiThrottleRate: `API throttling: steady requests per second (empty: ${API_LIMIT_DEFAULTS.apiThrottleRate})`,
  apiThrottleBurst: `API throttling: burst size (empty: ${API_LIMIT_DEFAULTS.apiThrottleBurst})`,
  quotaWatchpointsPerKey: `Quota: watchpoints per API key (empty: ${API_LIMIT_DEFAULTS.quotaWatchpointsPerKey})`,
  quotaChannelsPerWatchpoint: `Quota: channels per watchpoint, 1-10 (empty: ${API_LIMIT_DEFAULTS.quotaChannelsPerWatchpoint})`,
  quotaRecipientsPerKey: `Quota: distinct email recipients per API key (empty: ${API_LIMIT_DEFAULTS.quotaRecipientsPerKey})`,
  deployment: 'New function code takes traffic: all-at-once, canary (10% for 5 min) or linear (10% per minute); CodeDeploy rolls back on an alarm',
};

/** Everything `init` runs on: the environment, the file, and the settings given as flags. */
export interface InitOptions extends Runtime {
  envName: string;
  /** The config file, absolute. */
  path: string;
  /** The stage settings given as flags (checked with the saved ones, field by field, in runInit). */
  overrides: StageOverrides;
  fromFlags: Set<string>;
}

/** The flag contract: --env checked (exit 2 naming it), --config resolved, stage flags collected; no file read. */
export function parseInitOptions(flags: InitFlags, context: CommandContext & Injectable): InitOptions {
  const { overrides, fromFlags } = stageFlags(flags);
  return {
    ...runtimeOf(context),
    envName: resolveEnvName(flags.env, context.env),
    path: configPath(flags.config, context.cwd),
    overrides,
    fromFlags,
  };
}

export async function runInit({ io, envName, path, overrides, fromFlags }: InitOptions): Promise<number> {
  // Everything is validated before anything is asked or written.
  await assertDirectory(dirname(path));
  const loaded = await loadConfigFile(path);
  const saved = savedStage(loaded, envName);
  const existed = loaded.file.environments[envName] !== undefined;
  let merged = mergeStage(saved, overrides);

  io.notify('info', `${existed ? 'Updating' : 'Creating'} environment "${envName}" in ${path}`);

  if (io.interactive) {
    let toAsk: StageKey[] = STAGE_KEYS.filter((key) => !fromFlags.has(key));
    for (const key of STAGE_KEYS) if (fromFlags.has(key)) io.notify('info', `${key} = ${display(merged[key])} (from ${FLAG_FOR[key]})`);
    // Ask field by field, then re-ask only the fields that fail the cross-field checks.
    for (;;) {
      for (const key of toAsk) {
        if (key === 'certificateArn' && (merged.domainName ?? '') === '') {
          delete merged.certificateArn;
          continue;
        }
        const answer = await io.ask({
          kind: 'input',
          field: `${key} (${FLAG_FOR[key]})`,
          message: PROMPTS[key],
          default: key === 'deployment' && merged.deployment === undefined ? deploymentStyleFor(envName, {}) : display(merged[key]),
          validate: (value) => validateField(key, value),
        });
        merged = setField(merged, key, answer);
      }
      const problems = crossFieldProblems(merged);
      if (problems.length === 0) break;
      for (const problem of problems) io.notify('warn', `${problem.key}: ${problem.message}`);
      toAsk = problems.map((problem) => problem.key);
    }
  }

  const stage = validateStage(merged, { envName, configPath: path, fromFlags, command: 'init' });
  const next = stageForFile(stage);
  const changes = diff(saved, next as Record<string, unknown>);
  if (existed && changes.length === 0) {
    io.result(`Environment "${envName}" in ${path} is already up to date; nothing written.`);
    return ExitCode.ok;
  }
  for (const change of changes) io.notify('info', `  ${change}`);

  const write = await io.ask({
    kind: 'confirm',
    message: `Write environment "${envName}" to ${path}?`,
    default: true,
    dangerous: existed,
  });
  if (!write) {
    io.notify('info', 'Nothing written.');
    return ExitCode.ok;
  }
  // Re-read just before writing so a section another process added meanwhile is kept.
  const latest = await loadConfigFile(path);
  try {
    await writeConfigFile(path, { ...latest.file, environments: { ...latest.file.environments, [envName]: next } });
  } catch (error) {
    throw new WatchpointError(`Could not write ${path}; the previous file is unchanged.`, {
      code: 'CONFIG_WRITE_FAILED', fault: 'system', fix: 'Check the permissions and free space of that directory.', cause: error,
    });
  }
  io.result(`Wrote environment "${envName}" to ${path}`);
  // Only with a person at a real terminal: never in scripts, CI or --yes runs.
  if (io instanceof InteractiveIo) {
    const { offerMissingSecrets } = await import('../secrets/offer.ts');
    await offerMissingSecrets({ io, envName, stage });
  }
  return ExitCode.ok;
}

function display(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

function setField(merged: Record<string, unknown>, key: StageKey, answer: string): Record<string, unknown> {
  const next = { ...merged };
  const value = answer.trim();
  if (key === 'corsAllowedOrigins') next[key] = value === '' ? ['*'] : splitList(value);
  else if ((key === 'account' || key === 'deployment' || key in API_LIMIT_DEFAULTS) && value === '') delete next[key];
  else next[key] = value;
  return next;
}

/** One field on its own, with the same rules as the config file. */
export function validateField(key: StageKey, raw: string): string | true {
  const value = raw.trim();
  if (value === '' && REQUIRED_KEYS.includes(key)) return `${key} is required`;
  if (value === '' && (key === 'account' || key === 'deployment' || key in API_LIMIT_DEFAULTS)) return true;
  const parsed = stageConfigSchema.shape[key].safeParse(key === 'corsAllowedOrigins' ? (value === '' ? ['*'] : splitList(value)) : value);
  return parsed.success ? true : `${key} ${parsed.error.issues[0]?.message ?? 'is not valid'}`;
}

function crossFieldProblems(merged: Record<string, unknown>): { key: StageKey; message: string }[] {
  try {
    validateStage(merged, { envName: 'check', configPath: '', fromFlags: new Set() });
    return [];
  } catch (error) {
    if (!isWatchpointError(error)) throw error;
    const parsed = stageConfigSchema.safeParse(merged);
    if (parsed.success) return [];
    return parsed.error.issues
      .filter((issue) => STAGE_KEYS.includes(issue.path[0] as StageKey))
      .map((issue) => ({ key: issue.path[0] as StageKey, message: issue.message }));
  }
}

function diff(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const key of STAGE_KEYS) {
    const a = JSON.stringify(before[key]);
    const b = JSON.stringify(after[key]);
    if (a !== b) lines.push(`${key}: ${before[key] === undefined ? '(unset)' : display(before[key])} -> ${after[key] === undefined ? '(default)' : display(after[key])}`);
  }
  return lines;
}

async function assertDirectory(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw userError('CONFIG_DIR_MISSING', `The directory for the config file, ${dir}, does not exist.`, 'Create it first, or point --config at an existing directory.');
  }
}
