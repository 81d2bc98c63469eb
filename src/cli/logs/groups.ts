// Which log group belongs to which function, read from the deployed platform stack (never guessed
// from a naming convention): each group is the AWS::Logs::LogGroup whose logical id CDK derived from
// the function's construct path (src/stack/constructs/functions.ts), e.g. FunctionsApiFunctionLogGroup1A2B3C4D.
import type { DeployedStack } from '../stack-resources.ts';
import { userError } from '../errors.ts';

export interface LogSource {
  /** The spec's name (docs, alarms): ApiFunction, EvalWorkerUrgent, ... */
  name: string;
  /** What operators type and what prefixes each line: api, eval-urgent, ... */
  alias: string;
  /** The logical id CDK gives the log group, before its 8-hex-digit hash. */
  logicalIdPrefix: string;
}

/** Every log group the platform writes, in pipeline order (the order `--help` lists them). */
export const LOG_SOURCES: readonly LogSource[] = [
  { name: 'ApiFunction', alias: 'api', logicalIdPrefix: 'FunctionsApiFunctionLogGroup' },
  { name: 'DataPollerFunction', alias: 'poller', logicalIdPrefix: 'FunctionsDataPollerFunctionLogGroup' },
  { name: 'BatcherFunction', alias: 'batcher', logicalIdPrefix: 'FunctionsBatcherFunctionLogGroup' },
  { name: 'EvalWorkerUrgent', alias: 'eval-urgent', logicalIdPrefix: 'FunctionsEvalWorkerUrgentLogGroup' },
  { name: 'EvalWorkerStandard', alias: 'eval-standard', logicalIdPrefix: 'FunctionsEvalWorkerStandardLogGroup' },
  { name: 'EmailWorkerFunction', alias: 'email', logicalIdPrefix: 'FunctionsEmailWorkerFunctionLogGroup' },
  { name: 'WebhookWorkerFunction', alias: 'webhook', logicalIdPrefix: 'FunctionsWebhookWorkerFunctionLogGroup' },
  { name: 'ArchiverFunction', alias: 'archiver', logicalIdPrefix: 'FunctionsArchiverFunctionLogGroup' },
  { name: 'ApiAccessLogs', alias: 'api-access', logicalIdPrefix: 'ApiAccessLogs' },
];

export interface LogGroupTarget {
  source: LogSource;
  /** The physical log group name. */
  logGroupName: string;
}

/** One line for --help and for the unknown-name error. */
export function knownNames(): string {
  return LOG_SOURCES.map((source) => `${source.alias} (${source.name})`).join(', ');
}

/** FUNCTION... arguments -> sources, in pipeline order; none means all. Case-insensitive. */
export function resolveSources(names: readonly string[]): LogSource[] {
  if (names.length === 0) return [...LOG_SOURCES];
  const wanted = new Set<LogSource>();
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    const source = LOG_SOURCES.find((s) => s.alias === name || s.name.toLowerCase() === name);
    if (!source) {
      throw userError('FUNCTION_UNKNOWN', `"${raw}" is not a WatchPoint function or log group.`, `Use one of: ${knownNames()}; or give none for all.`);
    }
    wanted.add(source);
  }
  return LOG_SOURCES.filter((source) => wanted.has(source));
}

const HASH = /^[0-9A-F]{8}$/;

/** The log groups of these sources in the deployed stack; a source the stack lacks is reported, not guessed. */
export function findLogGroups(stack: Pick<DeployedStack, 'name' | 'resources'>, sources: readonly LogSource[]): { targets: LogGroupTarget[]; missing: LogSource[] } {
  const groups = stack.resources.filter((r) => r.type === 'AWS::Logs::LogGroup' && r.physicalId !== '');
  const targets: LogGroupTarget[] = [];
  const missing: LogSource[] = [];
  for (const source of sources) {
    const match = groups.find((r) => r.logicalId.startsWith(source.logicalIdPrefix) && HASH.test(r.logicalId.slice(source.logicalIdPrefix.length)));
    if (match) targets.push({ source, logGroupName: match.physicalId });
    else missing.push(source);
  }
  return { targets, missing };
}
