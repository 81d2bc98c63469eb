// Reading, resolving and atomically writing watchpoint.config.json.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { z } from 'zod';
import { userError } from '../errors.ts';
import {
  API_LIMIT_DEFAULTS,
  configFileSchema,
  ENV_NAME_PATTERN,
  STAGE_KEYS,
  stageConfigSchema,
  type ConfigFile,
  type StageConfig,
  type StageConfigInput,
  type StageKey,
} from './schema.ts';

export const DEFAULT_CONFIG_FILE = 'watchpoint.config.json';

/** The command-line flag that sets each stage key. */
export const FLAG_FOR: Record<StageKey, string> = {
  region: '--region',
  account: '--account',
  alertEmail: '--alert-email',
  runPodEndpointId: '--runpod-endpoint-id',
  domainName: '--domain-name',
  certificateArn: '--certificate-arn',
  corsAllowedOrigins: '--cors-allowed-origins',
  googleClientId: '--google-client-id',
  githubClientId: '--github-client-id',
  awsEndpointUrl: '--aws-endpoint-url',
  apiThrottleRate: '--api-throttle-rate',
  apiThrottleBurst: '--api-throttle-burst',
  quotaWatchpointsPerKey: '--quota-watchpoints-per-key',
  quotaChannelsPerWatchpoint: '--quota-channels-per-watchpoint',
  quotaRecipientsPerKey: '--quota-recipients-per-key',
  deployment: '--deployment',
};

/** Keys without a default: a stage cannot be built without them. */
export const REQUIRED_KEYS: readonly StageKey[] = ['region', 'alertEmail', 'runPodEndpointId'];

export type StageOverrides = Partial<Record<StageKey, string | string[]>>;

export interface LoadedConfig {
  path: string;
  exists: boolean;
  file: ConfigFile;
}

/** `--env`, then WATCHPOINT_ENV, then dev. */
export function resolveEnvName(flag: string | undefined, environment: NodeJS.ProcessEnv): string {
  const [name, source] =
    flag !== undefined ? [flag, '--env'] : environment.WATCHPOINT_ENV ? [environment.WATCHPOINT_ENV, 'WATCHPOINT_ENV'] : ['dev', 'default'];
  if (!ENV_NAME_PATTERN.test(name)) {
    throw userError(
      'ENV_NAME_INVALID',
      `${source} "${name}" is not a valid environment name.`,
      'Use a lowercase name that starts with a letter, at most 16 characters of a-z, 0-9 and "-", e.g. dev, staging, prod.',
    );
  }
  return name;
}

export function configPath(flag: string | undefined, cwd: string): string {
  return resolve(cwd, flag ?? DEFAULT_CONFIG_FILE);
}

export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { path, exists: false, file: { environments: {} } };
    }
    throw userError('CONFIG_UNREADABLE', `Cannot read ${path}.`, 'Check the path given to --config and its permissions.', error);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw userError(
      'CONFIG_NOT_JSON',
      `${path} is not valid JSON: ${(error as Error).message}`,
      'Fix the syntax, or move the file away and run `watchpoint init` to write a new one.',
    );
  }
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    throw userError('CONFIG_INVALID', `${path} is not a WatchPoint config file:\n${formatIssues(parsed.error.issues, json).join('\n')}`,
      `It must look like {"environments": {"dev": {...}}}: fix it, or move it away (\`mv ${path} ${path}.bak\`) and run \`watchpoint init\` to write a new one.`);
  }
  return { path, exists: true, file: parsed.data };
}

/** The saved section of one environment, as written (not validated), or {} when absent. */
export function savedStage(config: LoadedConfig, envName: string): Record<string, unknown> {
  const section = config.file.environments[envName];
  return section !== null && typeof section === 'object' && !Array.isArray(section) ? { ...(section as Record<string, unknown>) } : {};
}

/** Flags override only their own key; the rest of the saved section stays as it is. */
export function mergeStage(saved: Record<string, unknown>, overrides: StageOverrides): Record<string, unknown> {
  const merged = { ...saved };
  for (const key of STAGE_KEYS) {
    const value = overrides[key];
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}

/** What a stage key that a command does not use gets, so a stage can be built without it. */
const NOT_USED: Partial<Record<StageKey, string>> = { alertEmail: 'not-used@watchpoint.invalid', runPodEndpointId: 'notused' };

/**
 * Validates one environment's merged settings. Every problem is reported at once, each with its fix.
 * With `uses`, only those keys are checked (and kept); the others get their defaults, so a command
 * is never stopped by a setting it does not read.
 */
export function validateStage(
  merged: Record<string, unknown>,
  context: { envName: string; configPath: string; fromFlags: ReadonlySet<string>; command?: string; uses?: readonly StageKey[] },
): StageConfig {
  let input = merged;
  if (context.uses) {
    input = {};
    for (const key of STAGE_KEYS) {
      if (context.uses.includes(key)) {
        if (merged[key] !== undefined) input[key] = merged[key];
      } else if (NOT_USED[key] !== undefined) {
        input[key] = NOT_USED[key];
      }
    }
    // Not a deployed setting: a guard that every command reading the stage keeps (deploy --hotswap).
    if (merged.protected !== undefined) input.protected = merged.protected;
  }
  const parsed = stageConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;

  const missing = parsed.error.issues
    .filter((issue) => issue.path.length === 1 && input[String(issue.path[0])] === undefined && issue.code === 'invalid_type')
    .map((issue) => String(issue.path[0]) as StageKey);
  const others = parsed.error.issues.filter((issue) => !missing.includes(String(issue.path[0]) as StageKey) || issue.path.length !== 1);

  const lines: string[] = [];
  for (const key of missing) lines.push(`  - ${key} is missing (flag ${FLAG_FOR[key]})`);
  for (const line of formatIssues(others, input, context.fromFlags)) lines.push(line);
  // Name the place each bad value came from: the flag, the file, or neither (not set anywhere).
  const badKeys = [...new Set(others.map((issue) => String(issue.path[0] ?? '')).filter((key) => key !== ''))] as StageKey[];
  const flagged = badKeys.filter((key) => context.fromFlags.has(key));
  const inFile = badKeys.filter((key) => !context.fromFlags.has(key) && input[key] !== undefined);
  const unset = badKeys.filter((key) => input[key] === undefined);
  const parts: string[] = [];
  if (missing.length > 0) {
    parts.push(context.command === 'init'
      ? `Pass ${missing.map((k) => FLAG_FOR[k]).join(' ')}, or run \`watchpoint init --env ${context.envName}\` in a terminal to be asked`
      : `Run \`watchpoint init --env ${context.envName}\`, or pass ${missing.map((k) => FLAG_FOR[k]).join(' ')}`);
  }
  if (flagged.length > 0) parts.push(`Give ${flagged.map((k) => FLAG_FOR[k]).join(' and ')} a valid value`);
  if (unset.length > 0) parts.push(`Set ${unset.map((k) => `${k} (${FLAG_FOR[k]})`).join(' and ')}${context.command === 'init' ? '' : ` with \`watchpoint init --env ${context.envName}\` or the flag`}`);
  if (inFile.length > 0) parts.push(`Fix ${inFile.join(' and ')} in ${context.configPath} (or run \`watchpoint init --env ${context.envName}\`), or override ${inFile.length > 1 ? 'them with their flags' : `it with ${FLAG_FOR[inFile[0]!]}`}`);
  if (parts.length === 0) parts.push(`Fix ${context.configPath}, or run \`watchpoint init --env ${context.envName}\``);
  throw userError('CONFIG_INVALID', `Environment "${context.envName}" is not valid:\n${lines.join('\n')}`, `${parts.join('; ')}.`);
}

function formatIssues(issues: readonly z.core.$ZodIssue[], input: unknown, fromFlags?: ReadonlySet<string>): string[] {
  const lines = issues.map((issue) => {
    const key = issue.path.map(String).join('.');
    const value = lookup(input, issue.path);
    const shown = value === undefined ? '' : ` = ${JSON.stringify(value)}`;
    const top = String(issue.path[0] ?? '');
    const given = top !== '' && lookup(input, [top]) !== undefined;
    const source = fromFlags === undefined || top === '' ? '' : fromFlags.has(top) ? ` (from ${FLAG_FOR[top as StageKey] ?? 'flag'})` : given ? ' (from the config file)' : ' (not set)';
    if (issue.code === 'unrecognized_keys') {
      return `  - ${key ? `${key}: ` : ''}unknown setting${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; known settings are ${STAGE_KEYS.join(', ')}`;
    }
    return `  - ${key || '(top level)'}${shown}${source}: ${issue.message}`;
  });
  return lines;
}

function lookup(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/** Parses the flag form of each key (a comma-separated list for corsAllowedOrigins). */
export function overridesFromFlags(flags: Record<string, unknown>): StageOverrides {
  const overrides: StageOverrides = {};
  for (const key of STAGE_KEYS) {
    const value = flags[key];
    if (typeof value !== 'string') continue;
    overrides[key] = key === 'corsAllowedOrigins' ? splitList(value) : value.trim();
  }
  return overrides;
}

export function splitList(value: string): string[] {
  return value.split(',').map((part) => part.trim()).filter((part) => part !== '');
}

/**
 * Writes the whole file through a temp file in the same directory and a rename, so an interrupted
 * write (Ctrl-C, crash, full disk) leaves the previous file exactly as it was. The temp file is
 * fsynced before the rename (else a crash can leave the new name pointing at empty blocks), and the
 * directory after it (else the rename itself may not survive a power loss).
 */
export async function writeConfigFile(path: string, file: ConfigFile): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(file, null, 2)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** The stage as it will be saved: defaults left out, so the file stays short and readable. */
export function stageForFile(stage: StageConfig): StageConfigInput {
  const out: Record<string, unknown> = {};
  for (const key of STAGE_KEYS) {
    const value = stage[key];
    if (value === undefined || value === '') continue;
    if (key === 'corsAllowedOrigins' && Array.isArray(value) && value.length === 1 && value[0] === '*') continue;
    if (key in API_LIMIT_DEFAULTS && value === API_LIMIT_DEFAULTS[key as keyof typeof API_LIMIT_DEFAULTS]) continue;
    out[key] = value;
  }
  // Set in the file by hand (init does not ask for it); rewriting the file keeps it.
  if (stage.protected !== undefined) out.protected = stage.protected;
  return out as StageConfigInput;
}

export interface StageFlags {
  overrides: StageOverrides;
  fromFlags: Set<string>;
}

export function stageFlags(options: Record<string, unknown>): StageFlags {
  // Commander names each value after its flag; only --runpod-endpoint-id differs from its stage key.
  const overrides = overridesFromFlags({ ...options, runPodEndpointId: options.runpodEndpointId });
  return { overrides, fromFlags: new Set(Object.keys(overrides)) };
}
