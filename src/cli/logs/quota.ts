// CloudWatch Logs' API rate quotas, and the pacing that keeps `logs` under them.
// "CloudWatch Logs quotas" (CloudWatch Logs User Guide, cloudwatch_limits_cwl.html): FilterLogEvents
// is limited to 5 transactions per second per account and Region, shared with every other caller on
// the account (dashboards, other operators, tools). Over it, AWS answers ThrottlingException (HTTP
// 400, the Common Errors of the CloudWatch Logs API reference).
export const FILTER_LOG_EVENTS_TPS = 5;
/**
 * A window read (`logs`) runs at most this many FilterLogEvents at once (it used to run one per
 * group, nine, each paging). A cap on calls in flight bounds the rate only as far as each call takes
 * time (a FilterLogEvents over an hour of logs takes hundreds of ms or more), so a short read can
 * still meet throttling: the SDK's retries back off on it (500 ms base, exponential, jittered,
 * aws/calls.ts). 5 keeps `npm run bench logs-9-groups` within its 0.30x budget (4 measured 0.29-0.30x).
 */
export const READ_CONCURRENCY = 5;
/** --follow's polling sends at most this many per second: 2 of the 5, leaving 3 for everyone else. */
export const POLL_TPS = 2;
/** Longest wait between polls after repeated throttling. */
export const THROTTLED_BACKOFF_MAX_MS = 60_000;

export function isThrottling(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ThrottlingException' || error.name === 'Throttling');
}

/** Runs at most `limit` of the given tasks at once. */
export function concurrencyLimit(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await task();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}

/**
 * Spaces calls at least 1/perSecond apart, one at a time in the order asked, so that a burst (nine
 * groups polled at once) goes out at the paced rate.
 */
export class Pacer {
  private readonly gapMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private last = Number.NEGATIVE_INFINITY;
  private queue: Promise<void> = Promise.resolve();

  constructor(perSecond: number, now: () => number, sleep: (ms: number, signal: AbortSignal) => Promise<void>) {
    this.gapMs = 1000 / perSecond;
    this.now = now;
    this.sleep = sleep;
  }

  /** Resolves when the next call may go out. */
  take(signal: AbortSignal): Promise<void> {
    const turn = this.queue.then(async () => {
      const wait = this.last + this.gapMs - this.now();
      if (wait > 0) await this.sleep(wait, signal);
      this.last = this.now();
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }
}
