// What `watchpoint trace` reads: the platform stack (log groups, queues), then at most two Logs
// Insights queries over every function's log group (round 1: the lines carrying the id; round 2,
// for a job or a notification: the lines of the job and run it came from), and, alongside round 1,
// the DLQ's depth and the source queues' maxReceiveCount with GetQueueAttributes (never a receive).
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { stackNames } from '../context.ts';
import { WatchpointError } from '../errors.ts';
import { parsePowertools } from '../logs/format.ts';
import { LOG_SOURCES, findLogGroups, type LogGroupTarget } from '../logs/groups.ts';
import { isLogGroupMissing, missingLogGroups, missingWarning, noLogGroupLeft } from '../logs/missing.ts';
import { describeDeployedStack, explainAwsError } from '../stack-resources.ts';
import { candidateKinds, fieldFilter, FIELD_OF, isTraceId, KIND_LABEL, TRACE_KINDS, type TraceKind } from './ids.ts';
import { runInsights, type InsightsRow } from './insights.ts';
import { buildTimeline, type Timeline, type TraceLine } from './timeline.ts';
import { parseRedrivePolicy } from '../sqs-queues.ts';

export interface TraceClients {
  cloudformation: CloudFormationClient;
  logs: CloudWatchLogsClient;
  sqs: SQSClient;
}

export interface TraceOptions {
  envName: string;
  id: string;
  kind: TraceKind | undefined;
  start: Date;
  end: Date;
  timeoutMs: number;
  pollMs: number;
  onProgress?: (text: string) => void;
  /** Something skipped (a log group that no longer exists). */
  onWarning?: (text: string) => void;
  /** Said once the log groups are known, before the first query starts. */
  onQueryPlan?: (groups: readonly LogGroupTarget[]) => void;
  abortSignal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
}

export interface TraceResult {
  timeline: Timeline;
  logGroups: { function: string; logGroupName: string }[];
  insights: { queries: number; polls: number; bytesScanned: number };
}

/** The queue each consumer reads, by the stack output that names it. */
const SOURCE_QUEUE_OUTPUT: Record<string, string> = {
  'eval-urgent': 'EvalQueueUrgentUrl',
  'eval-standard': 'EvalQueueStandardUrl',
  email: 'NotificationQueueUrl',
  webhook: 'WebhookNotificationQueueUrl',
};

const JOB_EVENTS = new Set(['EvalJobDone', 'EvalJobFailed', 'ZarrChecksumError']);
const RUN_EVENTS = new Set(['ForecastReady', 'ForecastRunStarted', 'ForecastRunComplete', 'ForecastRunFailed', 'ForecastRunStuck']);

export async function collectTrace(clients: TraceClients, options: TraceOptions): Promise<TraceResult> {
  const stack = await describeDeployedStack(clients.cloudformation, stackNames(options.envName).platform, options.envName);
  const { targets } = findLogGroups(stack, LOG_SOURCES);
  if (targets.length === 0) {
    throw new WatchpointError(`Stack ${stack.name} has no function log groups.`, {
      code: 'LOG_GROUPS_NOT_FOUND',
      fault: 'user',
      fix: `Deploy the current stack with \`watchpoint deploy --env ${options.envName}\`.`,
    });
  }
  const aliasOf = new Map(targets.map((t) => [t.logGroupName, t.source.alias]));
  options.onQueryPlan?.(targets);
  /** The groups queried: one deleted by hand is dropped when StartQuery says it does not exist. */
  let present = [...targets];

  const query = async (filter: string): Promise<Awaited<ReturnType<typeof runInsights>>> => {
    for (;;) {
      try {
        return await queryOnce(filter);
      } catch (error) {
        if (!isLogGroupMissing(error)) throw error;
        // StartQuery's ResourceNotFoundException does not name the group: ask which are gone.
        const gone = await missingLogGroups(clients.logs, present, options.abortSignal);
        if (gone.length === 0) throw error;
        options.onWarning?.(`${missingWarning(gone, options.envName)} Querying the other ${present.length - gone.length} again.`);
        present = present.filter((t) => !gone.includes(t));
        if (present.length === 0) throw noLogGroupLeft(options.envName);
      }
    }
  };
  const queryOnce = (filter: string) =>
    runInsights(clients.logs, {
      logGroupNames: present.map((t) => t.logGroupName),
      start: options.start,
      end: options.end,
      filter,
      timeoutMs: options.timeoutMs,
      pollMs: options.pollMs,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      ...(options.sleep ? { sleep: options.sleep } : {}),
    });
  const kinds = options.kind ? [options.kind] : candidateKinds(options.id);
  const fields = kinds.map((k) => FIELD_OF[k]);
  // The HTTP API's access log names the request id `requestId` (parseRows maps it to request_id).
  const queryFields = kinds.includes('request') ? [...fields, ACCESS_LOG_REQUEST_ID] : fields;

  try {
    const [first, queues] = await Promise.all([query(fieldFilter(queryFields, options.id)), queueFacts(clients.sqs, stack.outputs, options.abortSignal)]);
    const insights = { queries: first.queries, polls: first.polls, bytesScanned: first.bytesScanned };
    // Insights has filtered already; checking again here keeps a loose match (or a server that
    // ignores `filter`, such as moto) from adding lines that do not carry the id.
    const matched = parseRows(first.rows, aliasOf).filter((line) => fields.some((field) => line.fields[field] === options.id));
    const kind = kinds.find((k) => matched.some((line) => line.fields[FIELD_OF[k]] === options.id));
    if (!kind) {
      throw new WatchpointError(`No log line from ${options.start.toISOString()} to ${options.end.toISOString()} carries ${options.id}${options.kind ? ` as a ${KIND_LABEL[options.kind]} id` : ''}.`, {
        code: 'TRACE_NOT_FOUND',
        fault: 'user',
        exitCode: 1,
        fix: `Widen the window (e.g. --since 7d; logs are kept 30 days), or check the id${options.kind ? ' and --kind' : ` (ids of kind ${TRACE_KINDS.join(', ')})`}.`,
      });
    }
    const lines = matched.filter((line) => line.fields[FIELD_OF[kind]] === options.id);

    // Round 2: where a job or a notification came from (its job, its run's ForecastReady).
    const upstream = upstreamFilter(kind, lines, (field, value) => options.onWarning?.(`A log line gives ${field} ${JSON.stringify(value.slice(0, 80))}, which is not an id; it is left out of the second query.`));
    if (upstream) {
      const second = await query(upstream.filter);
      insights.queries += second.queries;
      insights.polls += second.polls;
      insights.bytesScanned += second.bytesScanned;
      const seen = new Set(lines.map((l) => `${l.timestamp} ${l.alias} ${JSON.stringify(l.fields)}`));
      for (const line of parseRows(second.rows, aliasOf).filter(upstream.keep)) {
        const key = `${line.timestamp} ${line.alias} ${JSON.stringify(line.fields)}`;
        if (!seen.has(key)) lines.push(line);
      }
    }
    return {
      timeline: buildTimeline({ id: options.id, kind, lines, maxReceiveCount: queues.maxReceiveCount, dlqDepth: queues.dlqDepth }),
      logGroups: present.map((t) => ({ function: t.source.alias, logGroupName: t.logGroupName })),
      insights,
    };
  } catch (error) {
    throw explainAwsError(error, { envName: options.envName });
  }
}

function parseRows(rows: readonly InsightsRow[], aliasOf: Map<string, string>): TraceLine[] {
  const lines: TraceLine[] = [];
  for (const row of rows) {
    const fields = parsePowertools(row.message)?.fields ?? accessLogFields(row.message);
    if (!fields) continue;
    lines.push({ timestamp: row.timestamp, alias: aliasOf.get(row.logGroupName) ?? row.logGroupName, fields });
  }
  return lines;
}

const ACCESS_LOG_REQUEST_ID = 'requestId';

/**
 * A line of the HTTP API's access log (src/stack/constructs/api.ts) as a trace line: the request,
 * its status and latency, under request_id. The caller's IP and user agent are left out.
 */
function accessLogFields(message: string): Record<string, unknown> | undefined {
  if (!message.startsWith('{')) return undefined;
  try {
    const json = JSON.parse(message) as Record<string, unknown>;
    const requestId = json[ACCESS_LOG_REQUEST_ID];
    if (typeof requestId !== 'string' || json.routeKey === undefined) return undefined;
    const status = Number(json.status);
    const error = typeof json.integrationError === 'string' && json.integrationError !== '-' && json.integrationError !== '' ? `; integration error: ${json.integrationError}` : '';
    return {
      level: status >= 500 ? 'ERROR' : status >= 400 ? 'WARN' : 'INFO',
      message: `${String(json.httpMethod ?? '')} ${String(json.path ?? '')} answered ${String(json.status ?? '?')} in ${String(json.responseLatency ?? '?')} ms${error}`,
      request_id: requestId,
    };
  } catch {
    return undefined;
  }
}

function upstreamFilter(kind: TraceKind, lines: readonly TraceLine[], onRejected: (field: string, value: string) => void): { filter: string; keep: (line: TraceLine) => boolean } | undefined {
  // Values from log lines go into the query's quoted strings: only those shaped like ids (ids.ts).
  const values = (field: string) => {
    const found = [...new Set(lines.map((l) => l.fields[field]).filter((v): v is string => typeof v === 'string'))];
    for (const value of found) if (!isTraceId(value)) onRejected(field, value);
    return found.filter(isTraceId);
  };
  if (kind !== 'job' && kind !== 'notification') return undefined;
  const runs = values('run_id');
  const jobs = kind === 'notification' ? values('job_id') : [];
  if (runs.length === 0 && jobs.length === 0) return undefined;
  const clauses = [
    ...jobs.map((job) => `job_id = "${job}"`),
    ...runs.map((run) => `(run_id = "${run}" and event in [${[...RUN_EVENTS].map((e) => `"${e}"`).join(', ')}])`),
  ];
  return {
    filter: clauses.join(' or '),
    keep: (line) => {
      const event = line.fields.event;
      if (typeof event !== 'string') return false;
      if (jobs.includes(line.fields.job_id as string) && JOB_EVENTS.has(event)) return true;
      return runs.includes(line.fields.run_id as string) && RUN_EVENTS.has(event);
    },
  };
}

/** DLQ depth and each source queue's maxReceiveCount, read with GetQueueAttributes only. */
async function queueFacts(sqs: SQSClient, outputs: Record<string, string>, abortSignal: AbortSignal | undefined): Promise<{ dlqDepth: number | undefined; maxReceiveCount: Record<string, number | undefined> }> {
  const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
  const send = { abortSignal };
  const dlqUrl = outputs['DeadLetterQueueUrl'];
  const [dlq, ...policies] = await Promise.all([
    dlqUrl ? sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }), send).catch(() => undefined) : undefined,
    ...Object.entries(SOURCE_QUEUE_OUTPUT).map(async ([alias, output]) => {
      const url = outputs[output];
      if (!url) return [alias, undefined] as const;
      const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }), send).catch(() => undefined);
      return [alias, parseRedrivePolicy(attributes?.Attributes?.RedrivePolicy).maxReceiveCount] as const;
    }),
  ]);
  const depth = dlq?.Attributes?.ApproximateNumberOfMessages;
  return { dlqDepth: depth === undefined ? undefined : Number(depth), maxReceiveCount: Object.fromEntries(policies) };
}

