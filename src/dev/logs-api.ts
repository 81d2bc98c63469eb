// The CloudWatch Logs calls the operator commands make (`logs`, `logs --follow`'s polling, `trace`),
// answered from the local log store: FilterLogEvents, StartQuery, GetQueryResults, StopQuery,
// DescribeLogGroups. StartLiveTail is not served (it streams over HTTP/2 on its own host), so
// `logs --follow --env local` polls FilterLogEvents, and says so.
import { randomUUID } from 'node:crypto';
import { compilePattern } from './filter-pattern.ts';
import { parseQuery, runQuery, type QueryOutcome } from './insights.ts';
import type { LogStore, StoredEvent } from './log-store.ts';

/** FilterLogEvents' page size cap, as AWS's. */
const PAGE_LIMIT = 10_000;

export class LogsApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export class LogsApi {
  private readonly store: LogStore;
  /** Physical names of the template's log groups. */
  private readonly groups: () => readonly string[];
  private readonly queries = new Map<string, { status: 'Complete' | 'Cancelled'; outcome: QueryOutcome; startedAt: number }>();

  constructor(store: LogStore, groups: () => readonly string[]) {
    this.store = store;
    this.groups = groups;
  }

  private group(name: unknown): string {
    const wanted = typeof name === 'string' ? name.replace(/^arn:[^:]+:logs:[^:]+:\d+:log-group:/, '').replace(/:\*$/, '') : '';
    if (!this.groups().includes(wanted)) throw new LogsApiError('ResourceNotFoundException', `The specified log group does not exist: ${wanted || '(none given)'}.`);
    return wanted;
  }

  handle(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case 'FilterLogEvents':
        return this.filterLogEvents(input);
      case 'StartQuery':
        return this.startQuery(input);
      case 'GetQueryResults': {
        const query = this.queries.get(String(input.queryId));
        if (!query) throw new LogsApiError('ResourceNotFoundException', `Query ${String(input.queryId)} does not exist.`);
        const { results, recordsMatched, recordsScanned, bytesScanned } = query.outcome;
        return { status: query.status, results: query.status === 'Complete' ? results : [], statistics: { recordsMatched, recordsScanned, bytesScanned } };
      }
      case 'StopQuery': {
        const query = this.queries.get(String(input.queryId));
        if (!query) throw new LogsApiError('ResourceNotFoundException', `Query ${String(input.queryId)} does not exist.`);
        // Local queries complete inside StartQuery: there is never one running to stop.
        return { success: false };
      }
      case 'DescribeLogGroups': {
        const prefix = typeof input.logGroupNamePrefix === 'string' ? input.logGroupNamePrefix : '';
        return { logGroups: this.groups().filter((name) => name.startsWith(prefix)).map((name) => ({ logGroupName: name, retentionInDays: 30, storedBytes: 0 })) };
      }
      default:
        throw new LogsApiError(
          'UnsupportedOperation',
          `CloudWatch Logs ${operation} is not served by watchpoint dev (it serves FilterLogEvents, StartQuery, GetQueryResults, StopQuery and DescribeLogGroups${operation === 'StartLiveTail' ? '; `logs --follow` polls FilterLogEvents instead' : ''}).`,
        );
    }
  }

  private filterLogEvents(input: Record<string, unknown>): unknown {
    if (input.logGroupIdentifier !== undefined && input.logGroupName === undefined) input.logGroupName = input.logGroupIdentifier;
    const group = this.group(input.logGroupName);
    for (const unsupported of ['logStreamNamePrefix', 'unmask']) {
      if (input[unsupported] !== undefined && input[unsupported] !== false) throw new LogsApiError('UnsupportedOperation', `FilterLogEvents ${unsupported} is not served by watchpoint dev.`);
    }
    const streams = Array.isArray(input.logStreamNames) ? new Set(input.logStreamNames as string[]) : undefined;
    const matches = this.compile(input.filterPattern);
    const start = typeof input.startTime === 'number' ? input.startTime : 0;
    const end = typeof input.endTime === 'number' ? input.endTime : Number.MAX_SAFE_INTEGER;
    const limit = Math.min(PAGE_LIMIT, typeof input.limit === 'number' && input.limit > 0 ? input.limit : PAGE_LIMIT);
    const from = typeof input.nextToken === 'string' ? Number(input.nextToken) : 0;
    if (!Number.isFinite(from)) throw new LogsApiError('InvalidParameterException', 'The nextToken is not one this platform gave.');
    const events: StoredEvent[] = [];
    let nextToken: string | undefined;
    for (const event of this.store.scan(new Set([group]), from)) {
      if (event.timestamp < start || event.timestamp > end) continue;
      if (streams && !streams.has(event.logStreamName)) continue;
      if (!matches(event.message)) continue;
      if (events.length === limit) {
        nextToken = String(event.seq);
        break;
      }
      events.push(event);
    }
    events.sort((a, b) => a.timestamp - b.timestamp || a.seq - b.seq);
    return {
      events: events.map((e) => ({ logStreamName: e.logStreamName, timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime, eventId: String(e.seq).padStart(20, '0') })),
      searchedLogStreams: [],
      ...(nextToken ? { nextToken } : {}),
    };
  }

  private compile(pattern: unknown): (message: string) => boolean {
    try {
      return compilePattern(typeof pattern === 'string' ? pattern : undefined);
    } catch (error) {
      throw new LogsApiError('InvalidParameterException', (error as Error).message);
    }
  }

  private startQuery(input: Record<string, unknown>): unknown {
    const names = [...((input.logGroupNames as unknown[] | undefined) ?? []), ...((input.logGroupIdentifiers as unknown[] | undefined) ?? [])];
    if (typeof input.logGroupName === 'string') names.push(input.logGroupName);
    if (names.length === 0) throw new LogsApiError('InvalidParameterException', 'StartQuery needs logGroupNames.');
    const groups = new Set(names.map((name) => this.group(name)));
    let query;
    try {
      query = parseQuery(String(input.queryString ?? ''));
    } catch (error) {
      throw new LogsApiError('MalformedQueryException', (error as Error).message);
    }
    // startTime and endTime are epoch seconds, both inclusive.
    const start = Number(input.startTime) * 1000;
    const end = Number(input.endTime) * 1000 + 999;
    if (!Number.isFinite(start) || !Number.isFinite(end)) throw new LogsApiError('InvalidParameterException', 'StartQuery needs startTime and endTime (epoch seconds).');
    const inWindow = function* (events: Iterable<StoredEvent>) {
      for (const event of events) if (event.timestamp >= start && event.timestamp <= end) yield event;
    };
    const outcome = runQuery(query, inWindow(this.store.scan(groups)), typeof input.limit === 'number' ? input.limit : undefined);
    const queryId = randomUUID();
    this.queries.set(queryId, { status: 'Complete', outcome, startedAt: Date.now() });
    // Results stay readable for a while, as AWS keeps them; old ones go so memory stays bounded.
    if (this.queries.size > 100) this.queries.delete(this.queries.keys().next().value!);
    return { queryId };
  }
}
