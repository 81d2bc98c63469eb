// One CloudWatch Logs Insights query over several log groups: StartQuery, then GetQueryResults until
// the query is complete, with a deadline, progress on every poll, and StopQuery when the command
// gives up or is interrupted (a running query keeps scanning, and billing, otherwise).
import type { CloudWatchLogsClient, ResultField } from '@aws-sdk/client-cloudwatch-logs';
import { WatchpointError } from '../errors.ts';
import { abortableSleep } from '../../sleep.ts';

/** Insights returns at most this many rows per query. */
export const INSIGHTS_ROW_LIMIT = 10_000;

/**
 * GetQueryResults (API reference): maxItems is "the maximum number of log events to return in the
 * response. The maximum is 10,000 log events per request", and the rest follows with nextToken.
 */
const RESULTS_PAGE_MAX = 10_000;
/** The wait before the one retry of a StartQuery refused for the concurrent-query quota. */
export const CONCURRENCY_RETRY_MS = 10_000;

/**
 * StartQuery's LimitExceededException: the account and Region already run as many Logs Insights
 * queries as allowed. The StartQuery API reference says "up to 30 concurrent CloudWatch Logs
 * insights queries, including queries that have been added to dashboards" (the User Guide's query
 * history page now says 100); the number is not hard-coded here, the dashboards part is said.
 */
function isConcurrencyLimit(error: unknown): boolean {
  return error instanceof Error && error.name === 'LimitExceededException';
}

export interface InsightsRow {
  /** Epoch milliseconds. */
  timestamp: number;
  /** The log group name (AWS prefixes it with the account id and a colon; that is removed). */
  logGroupName: string;
  message: string;
}

export interface InsightsOptions {
  logGroupNames: readonly string[];
  start: Date;
  end: Date;
  /** The query's `filter` clause, without the leading pipe. */
  filter: string;
  timeoutMs: number;
  pollMs: number;
  onProgress?: (text: string) => void;
  abortSignal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
}

export interface InsightsResult {
  rows: InsightsRow[];
  /** StartQuery calls (more than one when a window held more than 10,000 rows and was split). */
  queries: number;
  /** GetQueryResults calls. */
  polls: number;
  bytesScanned: number;
}

/**
 * The query text. `filter` comes first so Insights filters before it sorts and limits; every command
 * ends in whitespace before the next pipe, which moto's query parser needs too.
 */
export function queryString(filter: string): string {
  return `filter ${filter} \n| fields @timestamp, @log, @message \n| sort @timestamp asc \n| limit ${INSIGHTS_ROW_LIMIT}`;
}

export async function runInsights(logs: CloudWatchLogsClient, options: InsightsOptions): Promise<InsightsResult> {
  const result: InsightsResult = { rows: [], queries: 0, polls: 0, bytesScanned: 0 };
  await runWindow(logs, options, options.start.getTime(), options.end.getTime(), result, 0);
  if (result.queries > 1) {
    // Split windows share their boundary second; a line there comes back twice.
    const seen = new Set<string>();
    result.rows = result.rows.filter((row) => {
      const key = `${row.timestamp}\u0000${row.logGroupName}\u0000${row.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
  result.rows.sort((a, b) => a.timestamp - b.timestamp);
  return result;
}

/** A window that fills the row limit is split in two (down to one minute), so nothing is cut silently. */
async function runWindow(logs: CloudWatchLogsClient, options: InsightsOptions, start: number, end: number, result: InsightsResult, depth: number): Promise<void> {
  const rows = await oneQuery(logs, options, start, end, result);
  if (rows.length < INSIGHTS_ROW_LIMIT) {
    result.rows.push(...rows);
    return;
  }
  if (end - start <= 60_000 || depth >= 12) {
    throw new WatchpointError(`More than ${INSIGHTS_ROW_LIMIT} log lines carry this id within one minute (${new Date(start).toISOString()}).`, {
      code: 'TRACE_TOO_MANY',
      fault: 'system',
      fix: 'Trace a narrower id (a job or notification id instead of a run id), or read that minute with `watchpoint logs --since ... --until ...`.',
    });
  }
  // Insights works in whole seconds; split on a second boundary.
  const middle = Math.floor((start + end) / 2000) * 1000;
  await runWindow(logs, options, start, middle, result, depth + 1);
  await runWindow(logs, options, middle, end, result, depth + 1);
}

async function oneQuery(logs: CloudWatchLogsClient, options: InsightsOptions, start: number, end: number, result: InsightsResult): Promise<InsightsRow[]> {
  const { StartQueryCommand, GetQueryResultsCommand, StopQueryCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  const sleep = options.sleep ?? abortableSleep;
  const send = { abortSignal: options.abortSignal };
  result.queries += 1;
  const startQuery = () =>
    logs.send(
      new StartQueryCommand({
        logGroupNames: [...options.logGroupNames],
        startTime: Math.floor(start / 1000),
        endTime: Math.ceil(end / 1000),
        queryString: queryString(options.filter),
        limit: INSIGHTS_ROW_LIMIT,
      }),
      send,
    );
  let started;
  try {
    started = await startQuery();
  } catch (error) {
    if (!isConcurrencyLimit(error)) throw error;
    // The account's concurrent-query quota is full (queries on dashboards count too): one retry
    // after a back-off, as a query of someone else's may have finished by then.
    options.onProgress?.(`Logs Insights is at its concurrent-query quota (LimitExceededException); trying once more in ${CONCURRENCY_RETRY_MS / 1000} s...`);
    await sleep(CONCURRENCY_RETRY_MS);
    options.abortSignal?.throwIfAborted();
    try {
      started = await startQuery();
    } catch (again) {
      if (!isConcurrencyLimit(again)) throw again;
      throw new WatchpointError('Logs Insights refused the query: the account and Region already run as many Logs Insights queries at once as its quota allows, and queries on CloudWatch dashboards count towards it (LimitExceededException, also after one retry).', {
        code: 'INSIGHTS_CONCURRENCY',
        fault: 'system',
        cause: again,
        fix: 'Run it again in a minute, once other queries have finished (the CloudWatch console lists running queries under Logs Insights > History); dashboards being viewed run queries too.',
      });
    }
  }
  const queryId = started.queryId!;
  const deadline = Date.now() + options.timeoutMs;
  const stop = () => logs.send(new StopQueryCommand({ queryId })).catch(() => undefined);
  try {
    for (;;) {
      result.polls += 1;
      const page = await logs.send(new GetQueryResultsCommand({ queryId, maxItems: RESULTS_PAGE_MAX }), send);
      const status = page.status ?? 'Unknown';
      if (status === 'Complete') {
        result.bytesScanned += page.statistics?.bytesScanned ?? 0;
        const rows = (page.results ?? []).map(rowOf);
        // GetQueryResults is paged (maxItems, nextToken): read every page of the finished query.
        for (let nextToken = page.nextToken; nextToken; ) {
          result.polls += 1;
          const more = await logs.send(new GetQueryResultsCommand({ queryId, maxItems: RESULTS_PAGE_MAX, nextToken }), send);
          rows.push(...(more.results ?? []).map(rowOf));
          nextToken = more.nextToken;
        }
        return rows;
      }
      if (status === 'Failed' || status === 'Cancelled' || status === 'Timeout') {
        throw new WatchpointError(`The Logs Insights query ${queryId} ended with status ${status}.`, {
          code: 'INSIGHTS_FAILED',
          fault: 'system',
          fix: 'Run it again; if it keeps failing, narrow the window with --since/--until.',
        });
      }
      if (Date.now() >= deadline) {
        await stop();
        throw new WatchpointError(`The Logs Insights query did not finish within ${Math.round(options.timeoutMs / 1000)} s; it was stopped.`, {
          code: 'INSIGHTS_TIMEOUT',
          fault: 'system',
          fix: 'Narrow the window with --since/--until, or give it longer with --timeout.',
        });
      }
      const stats = page.statistics;
      options.onProgress?.(
        `Waiting on the Logs Insights query (${status.toLowerCase()}${stats ? `, ${formatBytes(stats.bytesScanned ?? 0)} scanned, ${stats.recordsMatched ?? 0} lines matched` : ''})...`,
      );
      await sleep(options.pollMs);
      options.abortSignal?.throwIfAborted();
    }
  } catch (error) {
    if (options.abortSignal?.aborted) await stop();
    throw error;
  }
}

function rowOf(fields: ResultField[]): InsightsRow {
  const value = (name: string) => fields.find((f) => f.field === name)?.value ?? '';
  const rawTime = value('@timestamp');
  // AWS gives "2026-12-01 18:45:05.022" (UTC); moto gives epoch milliseconds.
  const timestamp = /^\d+$/.test(rawTime) ? Number(rawTime) : Date.parse(`${rawTime.replace(' ', 'T')}Z`);
  const log = value('@log');
  return { timestamp, logGroupName: log.replace(/^\d{12}:/, ''), message: value('@message') };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}
