// Reading a window of log events: FilterLogEvents over each log group, every page, all groups at once,
// merged by time. Each group stops once it alone has more than --limit events, so a noisy group
// cannot make the command read for minutes; the merged result says whether it was cut.
import type { CloudWatchLogsClient, FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import type { LogGroupTarget } from './groups.ts';
import { isLogGroupMissing } from './missing.ts';
import { concurrencyLimit, READ_CONCURRENCY } from './quota.ts';

export interface LogEvent {
  /** The source's short name (api, batcher, ...). */
  alias: string;
  logGroupName: string;
  logStreamName: string;
  /** Epoch milliseconds. */
  timestamp: number;
  message: string;
  eventId: string;
}

export interface FetchOptions {
  start: Date;
  end: Date;
  /** CloudWatch filter pattern, passed to FilterLogEvents untouched. */
  filterPattern?: string;
  limit: number;
  /** Keeps an event (e.g. --level, checked on the client); only kept events count towards the limit. */
  keep?: (message: string) => boolean;
  /** 'sequential' reads one group after another; it exists only as the benchmark's baseline. */
  mode?: 'parallel' | 'sequential';
  abortSignal?: AbortSignal;
}

export interface FetchResult {
  events: LogEvent[];
  /** True when the window holds more events than were returned (stopped at --limit). */
  truncated: boolean;
  /**
   * When truncated: where the next read starts (epoch ms, inclusive, as FilterLogEvents' startTime
   * is). Events at that millisecond are held back from `events`, so reading on from it loses none
   * and repeats none, unless every shown event shares one millisecond (`crowded`): then it starts
   * just after it, and the rest of that millisecond is only seen with a higher --limit.
   */
  resumeAt?: number;
  crowded?: boolean;
  /** FilterLogEvents calls made, over all groups. */
  calls: number;
  /** Groups that do not exist (ResourceNotFoundException): skipped, the others read. */
  missing: LogGroupTarget[];
}

/** FilterLogEvents returns at most 10,000 events per page. */
const PAGE_LIMIT = 10_000;

export async function fetchEvents(logs: CloudWatchLogsClient, targets: readonly LogGroupTarget[], options: FetchOptions): Promise<FetchResult> {
  const { FilterLogEventsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  let calls = 0;
  const missing: LogGroupTarget[] = [];
  // FilterLogEvents' quota is 5 calls per second per account and Region (quota.ts): the groups are
  // read in parallel, but never more than READ_CONCURRENCY calls at once.
  const limit = concurrencyLimit(READ_CONCURRENCY);
  const readGroup = async (target: LogGroupTarget): Promise<{ events: LogEvent[]; more: boolean }> => {
    const events: LogEvent[] = [];
    let nextToken: string | undefined;
    do {
      calls += 1;
      const page = await limit(() =>
        logs.send(
          new FilterLogEventsCommand({
            logGroupName: target.logGroupName,
            startTime: options.start.getTime(),
            endTime: options.end.getTime(),
            ...(options.filterPattern ? { filterPattern: options.filterPattern } : {}),
            limit: Math.min(PAGE_LIMIT, options.limit + 1 - events.length),
            ...(nextToken ? { nextToken } : {}),
          }),
          { abortSignal: options.abortSignal },
        ),
      ).catch((error: unknown) => {
        if (!isLogGroupMissing(error)) throw error;
        missing.push(target);
        return undefined;
      });
      if (!page) return { events, more: false };
      for (const event of page.events ?? []) {
        const parsed = eventOf(target, event);
        if (!options.keep || options.keep(parsed.message)) events.push(parsed);
      }
      nextToken = page.nextToken;
    } while (nextToken && events.length <= options.limit);
    return { events, more: events.length > options.limit || nextToken !== undefined };
  };

  const perGroup: { events: LogEvent[]; more: boolean }[] = [];
  if (options.mode === 'sequential') for (const target of targets) perGroup.push(await readGroup(target));
  else perGroup.push(...(await Promise.all(targets.map(readGroup))));

  const merged = perGroup.flatMap((group) => group.events).sort(byTime);
  const truncated = merged.length > options.limit || perGroup.some((group) => group.more);
  const events = merged.slice(0, options.limit);
  if (!truncated || events.length === 0) return { events, truncated, calls, missing };
  // Events sharing the last shown millisecond may continue past the cut (in this group or another),
  // and a --since just after it would skip them: hold that millisecond back for the next read.
  const resumeAt = events[events.length - 1]!.timestamp;
  const firstAtResume = events.findIndex((event) => event.timestamp === resumeAt);
  if (firstAtResume === 0) return { events, truncated, calls, missing, resumeAt: resumeAt + 1, crowded: true };
  return { events: events.slice(0, firstAtResume), truncated, calls, missing, resumeAt };
}

function eventOf(target: LogGroupTarget, event: FilteredLogEvent): LogEvent {
  return {
    alias: target.source.alias,
    logGroupName: target.logGroupName,
    logStreamName: event.logStreamName ?? '',
    timestamp: event.timestamp ?? 0,
    message: (event.message ?? '').replace(/\n$/, ''),
    eventId: event.eventId ?? '',
  };
}

/** By time, then by group and event id so equal timestamps keep a stable order. */
export function byTime(a: LogEvent, b: LogEvent): number {
  return a.timestamp - b.timestamp || a.alias.localeCompare(b.alias) || a.eventId.localeCompare(b.eventId);
}
