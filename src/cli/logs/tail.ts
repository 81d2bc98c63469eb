// --follow: CloudWatch Logs Live Tail (StartLiveTail's event stream, up to 10 log groups per
// session), or, where Live Tail is not available, FilterLogEvents polled every 2 s. Either way it
// runs until the signal aborts; aborting closes the stream, which ends the (per-minute billed) session.
import type { CloudWatchLogsClient, StartLiveTailResponseStream } from '@aws-sdk/client-cloudwatch-logs';
import { isCredentialError } from '../aws.ts';
import { WatchpointError } from '../errors.ts';
import { abortableSleep } from '../interrupt.ts';
import { isNetworkError } from '../stack-resources.ts';
import type { LogEvent } from './fetch.ts';
import type { LogGroupTarget } from './groups.ts';
import { isLogGroupMissing, missingLogGroups, missingWarning, noLogGroupLeft } from './missing.ts';
import { FILTER_LOG_EVENTS_TPS, isThrottling, Pacer, POLL_TPS, THROTTLED_BACKOFF_MAX_MS } from './quota.ts';

/** StartLiveTail takes at most this many log groups per session. */
export const LIVE_TAIL_GROUP_LIMIT = 10;
export const POLL_INTERVAL_MS = 2000;
/** How the fallback is described when it starts. */
function polling(groups: number): string {
  // A round reads every group once, at POLL_TPS calls per second: more groups, longer rounds.
  const every = Math.max(POLL_INTERVAL_MS / 1000, Math.ceil(groups / POLL_TPS));
  return `polling FilterLogEvents every ${every} s instead (at most ${POLL_TPS} calls per second, under its quota of ${FILTER_LOG_EVENTS_TPS} per account and Region).`;
}
/** Polls re-read this far back, for events ingested late; seen event ids are skipped. */
const POLL_OVERLAP_MS = 10_000;

export interface FollowOptions {
  /** The stack's ARN, whose partition, region and account make the log group ARNs. */
  stackId: string | undefined;
  /** Named in the advice when a log group turns out to be gone. */
  envName: string;
  filterPattern?: string;
  keep?: (message: string) => boolean;
  signal: AbortSignal;
  onEvent: (event: LogEvent) => void;
  notify: (level: 'info' | 'warn', text: string) => void;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** arn:<partition>:logs:<region>:<account>:log-group:<name>, from the stack's ARN. */
export function logGroupArn(stackId: string, logGroupName: string): string | undefined {
  const match = /^arn:([^:]+):cloudformation:([^:]+):(\d{12}):stack\//.exec(stackId);
  return match ? `arn:${match[1]}:logs:${match[2]}:${match[3]}:log-group:${logGroupName}` : undefined;
}

export async function follow(logs: CloudWatchLogsClient, targets: readonly LogGroupTarget[], options: FollowOptions): Promise<'live-tail' | 'polling'> {
  const arns = options.stackId ? targets.map((t) => logGroupArn(options.stackId!, t.logGroupName)) : [];
  if (arns.length === targets.length && arns.every(Boolean)) {
    try {
      await liveTail(logs, targets, arns as string[], options);
      return 'live-tail';
    } catch (error) {
      if (options.signal.aborted) return 'live-tail';
      if (isSessionLimit(error)) {
        options.notify('warn', `Live Tail refused a new session: the account already has as many concurrent Live Tail sessions as it allows (${describe(error)}); ${polling(targets.length)}`);
      } else if (isLiveTailUnavailable(error)) {
        options.notify('warn', `Live Tail is not available here (${describe(error)}); ${polling(targets.length)}`);
      } else {
        throw error;
      }
    }
  } else {
    options.notify('warn', `The stack's ARN is unknown, so Live Tail cannot name the log groups; ${polling(targets.length)}`);
  }
  await poll(logs, targets, options);
  return 'polling';
}

/**
 * Errors that mean "no Live Tail here" rather than "your request is wrong": an endpoint without the
 * operation, a missing logs:StartLiveTail permission, or its own host not resolving. Live Tail has its
 * own host (stream-logs.<region>...; with an endpoint override, stream-<host>, which LocalStack and
 * moto do not serve). If the network is down altogether, the polling that follows says so.
 */
function isLiveTailUnavailable(error: unknown): boolean {
  if (!(error instanceof Error) || isCredentialError(error)) return false;
  if (isNetworkError(error)) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return (
    /UnknownOperation|InvalidAction|NotImplemented|UnsupportedOperation|AccessDenied/i.test(error.name) ||
    status === 404 || status === 501 || (status !== undefined && status >= 500) ||
    /not (yet )?implemented|unknown operation|http2|ERR_HTTP2/i.test(error.message) ||
    (error as { code?: string }).code?.startsWith('ERR_HTTP2') === true
  );
}

/**
 * StartLiveTail's LimitExceededException (API reference, Errors: "You have reached the maximum number
 * of resources that can be created", HTTP 400): too many Live Tail sessions open on the account at once.
 */
function isSessionLimit(error: unknown): boolean {
  return error instanceof Error && error.name === 'LimitExceededException';
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}${error.message && error.message !== error.name ? `: ${error.message.slice(0, 120)}` : ''}` : String(error);
}

async function liveTail(logs: CloudWatchLogsClient, targets: readonly LogGroupTarget[], arns: readonly string[], options: FollowOptions): Promise<void> {
  const { StartLiveTailCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  const aliasOf = new Map<string, LogGroupTarget>();
  targets.forEach((target, i) => {
    aliasOf.set(arns[i]!, target);
    aliasOf.set(target.logGroupName, target);
  });
  const sessions: string[][] = [];
  for (let i = 0; i < arns.length; i += LIVE_TAIL_GROUP_LIMIT) sessions.push(arns.slice(i, i + LIVE_TAIL_GROUP_LIMIT));
  let warnedSampling = false;

  const session = async (sessionArns: string[]): Promise<void> => {
    let groupArns = sessionArns;
    // StartLiveTail API reference: a session lasts at most 3 hours, then the stream ends with
    // SessionTimeoutException; SessionStreamingException is "an unknown error on the server side".
    // The SDK throws both from the stream's iterator (they are modeled exceptions of the event
    // stream, @smithy/core getUnmarshalledStream), so they are caught, never seen as items.
    // A timeout opens the next session; a stream that breaks after updates arrived (a network blip,
    // a server-side error) is reopened; one that breaks before its first update is an error.
    while (!options.signal.aborted) {
      let response;
      try {
        response = await logs.send(
          new StartLiveTailCommand({ logGroupIdentifiers: groupArns, ...(options.filterPattern ? { logEventFilterPattern: options.filterPattern } : {}) }),
          { abortSignal: options.signal },
        );
      } catch (error) {
        if (!isLogGroupMissing(error)) throw error;
        // The error does not say which group: ask, drop those, and open the session without them.
        const gone = await missingLogGroups(logs, groupArns.map((arn) => aliasOf.get(arn)!), options.signal);
        if (gone.length === 0) throw error;
        options.notify('warn', missingWarning(gone, options.envName));
        const goneArns = new Set(gone.map((t) => arns[targets.indexOf(t)]));
        groupArns = groupArns.filter((arn) => !goneArns.has(arn));
        if (groupArns.length === 0) return;
        continue;
      }
      if (!response.responseStream) throw new Error('StartLiveTail returned no event stream');
      let updated = false;
      try {
        for await (const item of untilAborted(response.responseStream as AsyncIterable<StartLiveTailResponseStream>, options.signal)) {
          if (item.sessionStart) {
            options.notify('info', `Live Tail session ${item.sessionStart.sessionId ?? ''} started on ${groupArns.length} log group${groupArns.length === 1 ? '' : 's'} (billed per minute while open).`);
          } else if (item.sessionUpdate) {
            updated = true;
            if (item.sessionUpdate.sessionMetadata?.sampled && !warnedSampling) {
              warnedSampling = true;
              // LiveTailSessionUpdate: more than 500 matching events per second are sampled down to 500.
              options.notify('warn', 'Live Tail is sampling: these groups log more than it streams (500 events/s); narrow it with FUNCTION names or --filter.');
            }
            for (const result of item.sessionUpdate.sessionResults ?? []) {
              const identifier = result.logGroupIdentifier ?? '';
              const target = aliasOf.get(identifier) ?? aliasOf.get(identifier.replace(/^\d{12}:/, '')) ?? aliasOf.get(identifier.replace(/:\*$/, ''));
              const message = (result.message ?? '').replace(/\n$/, '');
              if (options.keep && !options.keep(message)) continue;
              options.onEvent({
                alias: target?.source.alias ?? identifier,
                logGroupName: target?.logGroupName ?? identifier,
                logStreamName: result.logStreamName ?? '',
                timestamp: result.timestamp ?? 0,
                message,
                eventId: '',
              });
            }
          }
        }
      } catch (error) {
        if (options.signal.aborted) return;
        const name = (error as Error).name;
        if (name === 'SessionTimeoutException') {
          options.notify('info', 'The Live Tail session reached its 3-hour limit; starting a new one.');
          continue;
        }
        if (!updated) {
          throw new WatchpointError(`The Live Tail stream failed before its first update (${describe(error)}).`, {
            code: 'LIVE_TAIL_STREAM_FAILED',
            fault: 'system',
            cause: error,
            fix: 'Run the command again; if it keeps failing, read recent events without --follow (e.g. `watchpoint logs --since 5m`).',
          });
        }
        options.notify('warn', `The Live Tail stream broke (${describe(error)}); opening a new session.`);
        continue;
      }
      if (options.signal.aborted) return;
      options.notify('info', 'The Live Tail stream closed; starting a new session.');
    }
  };
  await Promise.all(sessions.map(session));
  // Sessions end only when aborted, or when every one of their groups turned out to be gone.
  if (!options.signal.aborted) throw noLogGroupLeft(options.envName);
}

/**
 * The stream's items until the signal aborts. Live Tail sends an update every second and never ends
 * by itself, so the abort must end the loop at once rather than after the next item; the HTTP
 * handler (aws/calls.ts) closes the connection on the same signal, which ends the billed session.
 */
export async function* untilAborted<T>(stream: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = stream[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  let finished = false;
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next === 'aborted') return;
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort!);
    // Lets the SDK's reader go; not awaited, as it may be waiting on a read that abort has cut.
    if (!finished) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

async function poll(logs: CloudWatchLogsClient, targets: readonly LogGroupTarget[], options: FollowOptions): Promise<void> {
  const { FilterLogEventsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const pacer = new Pacer(POLL_TPS, now, sleep);
  let active = [...targets];
  let cursor = now();
  let throttledRounds = 0;
  /** eventId -> timestamp, for events inside the overlap window. */
  const seen = new Map<string, number>();
  while (!options.signal.aborted) {
    const roundStart = now();
    const from = cursor - POLL_OVERLAP_MS;
    const until = now();
    const fresh: LogEvent[] = [];
    const gone: LogGroupTarget[] = [];
    let throttled: unknown;
    await Promise.all(
      active.map(async (target) => {
        let nextToken: string | undefined;
        try {
          do {
            await pacer.take(options.signal);
            if (options.signal.aborted) return;
            const page = await logs.send(
              new FilterLogEventsCommand({ logGroupName: target.logGroupName, startTime: from, endTime: until, ...(options.filterPattern ? { filterPattern: options.filterPattern } : {}), ...(nextToken ? { nextToken } : {}) }),
              { abortSignal: options.signal },
            );
            for (const event of page.events ?? []) {
              const id = event.eventId ?? `${target.logGroupName}/${event.logStreamName}/${event.timestamp}/${event.message}`;
              if (seen.has(id)) continue;
              seen.set(id, event.timestamp ?? 0);
              const message = (event.message ?? '').replace(/\n$/, '');
              if (options.keep && !options.keep(message)) continue;
              fresh.push({ alias: target.source.alias, logGroupName: target.logGroupName, logStreamName: event.logStreamName ?? '', timestamp: event.timestamp ?? 0, message, eventId: id });
            }
            nextToken = page.nextToken;
          } while (nextToken && !options.signal.aborted);
        } catch (error) {
          if (options.signal.aborted) return;
          if (isLogGroupMissing(error)) gone.push(target);
          else if (isThrottling(error)) throttled = error;
          else throw error;
        }
      }),
    ).catch((error: unknown) => {
      if (!options.signal.aborted) throw error;
    });
    if (options.signal.aborted) return;
    fresh.sort((a, b) => a.timestamp - b.timestamp);
    for (const event of fresh) options.onEvent(event);
    if (gone.length > 0) {
      options.notify('warn', missingWarning(gone, options.envName));
      active = active.filter((t) => !gone.includes(t));
      if (active.length === 0) throw noLogGroupLeft(options.envName);
    }
    if (throttled) {
      // Throttled even after the SDK's own retries: wait longer each time and go on. The cursor
      // stays put, so the next poll re-reads this window (seen ids are not printed twice).
      throttledRounds += 1;
      const wait = Math.min(THROTTLED_BACKOFF_MAX_MS, POLL_INTERVAL_MS * 2 ** throttledRounds);
      options.notify('warn', `FilterLogEvents is being throttled (ThrottlingException: its quota is ${FILTER_LOG_EVENTS_TPS} calls per second per account and Region, shared with everything else on the account); waiting ${wait / 1000} s, then going on.`);
      await sleep(wait, options.signal);
      continue;
    }
    throttledRounds = 0;
    cursor = until;
    for (const [id, at] of seen) if (at < cursor - 2 * POLL_OVERLAP_MS) seen.delete(id);
    const left = POLL_INTERVAL_MS - (now() - roundStart);
    if (left > 0) await sleep(left, options.signal);
  }
}
