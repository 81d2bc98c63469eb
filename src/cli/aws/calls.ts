// Every AWS call the CLI makes goes through one HTTP handler: the CLI's own SDK clients and
// toolkit-lib's (see toolkit.ts). It gives each call (all of its retries together) one time budget,
// says which call is waiting when one takes more than a moment, logs each call under --verbose, and
// remembers which service, action and endpoint a response or failure belongs to, so that one
// explainer (explain.ts) can name them.
import type { HttpHandlerOptions, RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { userError } from '../errors.ts';
import type { Level } from '../io.ts';

/** The one setting that changes how long an AWS call may take, in seconds (retries included). */
export const AWS_TIMEOUT_ENV = 'WATCHPOINT_AWS_TIMEOUT';
export const DEFAULT_AWS_TIMEOUT_MS = 30_000;
/** A TCP/TLS connect never gets more than this, so a dead address fails fast and is retried. */
const MAX_CONNECT_TIMEOUT_MS = 10_000;
/** How long a call runs before the operator is told what it waits on. */
export const WAIT_NOTICE_MS = 2_000;
const WAIT_REPEAT_MS = 10_000;

/** Who, what and where: enough for a person to know which call this was. */
export interface AwsCall {
  /** IAM prefix of the service, e.g. "cloudformation", "ssm", "cloudwatch". */
  service: string;
  /** API action, e.g. "DescribeStacks". REST calls (S3) show the method and path. */
  action: string;
  /** scheme://host[:port] the request went to. */
  endpoint: string;
  region: string | undefined;
  attempt: number;
}

export function callName(call: Pick<AwsCall, 'service' | 'action'>): string {
  return `${call.service}:${call.action}`;
}

/** The call gave up: no answer within the budget (connect + every retry). */
export class AwsCallTimeoutError extends Error {
  readonly call: AwsCall;
  readonly timeoutMs: number;
  constructor(call: AwsCall, timeoutMs: number, cause?: unknown) {
    super(`${callName(call)} at ${call.endpoint} did not answer within ${seconds(timeoutMs)}`, { cause });
    // Not "TimeoutError": the SDK would retry that, and the budget is already spent.
    this.name = 'AwsCallTimeoutError';
    this.call = call;
    this.timeoutMs = timeoutMs;
  }
}

/** Ctrl-C while a call was in flight. */
export class AwsCallInterruptedError extends Error {
  readonly call: AwsCall;
  constructor(call: AwsCall) {
    super(`Interrupted while waiting on ${callName(call)} at ${call.endpoint}`);
    this.name = 'AwsCallInterruptedError';
    this.call = call;
  }
}

export function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Reads WATCHPOINT_AWS_TIMEOUT (seconds, decimals allowed); exit 2 when it is not a positive number. */
export function awsTimeoutMs(env: NodeJS.ProcessEnv): number {
  const raw = env[AWS_TIMEOUT_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_AWS_TIMEOUT_MS;
  const value = Number(raw.trim());
  if (!Number.isFinite(value) || value <= 0 || value > 3600) {
    throw userError(
      'AWS_TIMEOUT_INVALID',
      `${AWS_TIMEOUT_ENV}="${raw}" is not a number of seconds between 0 and 3600.`,
      `Set it to how long one AWS call may take, retries included, e.g. ${AWS_TIMEOUT_ENV}=60, or unset it for the default (${DEFAULT_AWS_TIMEOUT_MS / 1000} s).`,
    );
  }
  return Math.round(value * 1000);
}

export interface CallEvents {
  notify(level: Level, text: string): void;
  /** Log every call's start and end (--verbose, WATCHPOINT_DEBUG=1). */
  verbose: boolean;
}

/** What the handler needs from the run it belongs to. */
export interface CallSettings {
  timeoutMs: number;
  events: CallEvents;
}

interface InFlight {
  call: AwsCall;
  controller: AbortController;
  startedAt: number;
}

/**
 * The calls of one CLI run: which are in flight (for the waiting notice and Ctrl-C) and which
 * changing calls completed (so an interrupted command can say what it did).
 */
export class CallLedger {
  readonly settings: CallSettings;
  private readonly inFlight = new Set<InFlight>();
  /** First-seen time of each SDK invocation (one per send(), shared by its retries). */
  private readonly invocations = new Map<string, number>();
  readonly completedChanges: string[] = [];
  interrupted = false;
  /** The calls that Ctrl-C aborted. */
  aborted: AwsCall[] = [];

  constructor(settings: CallSettings) {
    this.settings = settings;
  }

  /** The time left for this invocation, starting its clock on first sight. */
  budgetLeft(invocationId: string | undefined, now: number): number {
    if (invocationId === undefined) return this.settings.timeoutMs;
    let first = this.invocations.get(invocationId);
    if (first === undefined) {
      first = now;
      this.invocations.set(invocationId, now);
      // Forget invocations long finished, so a long --watch run does not grow the map.
      for (const [id, seen] of this.invocations) if (now - seen > this.settings.timeoutMs * 4) this.invocations.delete(id);
    }
    return this.settings.timeoutMs - (now - first);
  }

  start(call: AwsCall, controller: AbortController): () => void {
    const entry: InFlight = { call, controller, startedAt: Date.now() };
    this.inFlight.add(entry);
    const { events, timeoutMs } = this.settings;
    if (events.verbose) events.notify('info', `aws → ${callName(call)} ${call.endpoint}${call.attempt > 1 ? ` (attempt ${call.attempt})` : ''}`);
    const stopNotice = waitingNotice(() => events.notify('info', `waiting on ${callName(call)} at ${call.endpoint} (${Math.round((Date.now() - entry.startedAt) / 1000)} s; gives up after ${seconds(timeoutMs)}, ${AWS_TIMEOUT_ENV} changes that)`));
    return () => {
      stopNotice();
      this.inFlight.delete(entry);
    };
  }

  finished(call: AwsCall, startedAt: number, outcome: { status?: number; error?: unknown }): void {
    const ok = outcome.error === undefined && (outcome.status ?? 200) < 300;
    if (ok && isChanging(call.action)) this.completedChanges.push(callName(call));
    if (this.settings.events.verbose) {
      const took = `${Date.now() - startedAt} ms`;
      const result = outcome.error !== undefined ? `failed: ${outcome.error instanceof Error ? outcome.error.name : String(outcome.error)}` : `HTTP ${outcome.status}`;
      this.settings.events.notify('info', `aws ← ${callName(call)} ${result} in ${took}`);
    }
  }

  /** The waiting notice for something other than an SDK call (the database connection). */
  waitingOn(what: string): () => void {
    const startedAt = Date.now();
    return waitingNotice(() => this.settings.events.notify('info', `waiting on ${what} (${Math.round((Date.now() - startedAt) / 1000)} s; gives up after ${seconds(this.settings.timeoutMs)}, ${AWS_TIMEOUT_ENV} changes that)`));
  }

  isChanging(call: AwsCall): boolean {
    return isChanging(call.action);
  }

  /** The calls waiting right now. */
  waiting(): AwsCall[] {
    return [...this.inFlight].map((entry) => entry.call);
  }

  /** Ctrl-C: abort every call in flight; later calls fail at once. */
  interrupt(): AwsCall[] {
    this.interrupted = true;
    const calls = this.waiting();
    this.aborted.push(...calls);
    for (const entry of this.inFlight) entry.controller.abort(new AwsCallInterruptedError(entry.call));
    return calls;
  }
}

/** Describe*, Get*, List*... only read. Anything else may change something. */
export function isChanging(action: string): boolean {
  return !/^(Describe|Get|List|Filter|Lookup|Search|Head|Receive|Test|Simulate|Validate|Estimate|Detect|Batch(Get|Describe)|GET |HEAD )/.test(action);
}

/** Which response belonged to which call: explain.ts reads it back from an SDK error's $response. */
const callOfResponse = new WeakMap<object, AwsCall>();
const CALL = Symbol.for('watchpoint.awsCall');

/** The AWS call an error (or any error in its cause chain) came from, when the CLI's handler saw it. */
export function awsCallOf(error: unknown): AwsCall | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    if (current instanceof AwsCallTimeoutError || current instanceof AwsCallInterruptedError) return current.call;
    const tagged = (current as unknown as Record<symbol, AwsCall | undefined>)[CALL];
    if (tagged) return tagged;
    const response = (current as { $response?: unknown }).$response;
    if (response && typeof response === 'object') {
      const call = callOfResponse.get(response);
      if (call) return call;
    }
    current = current.cause;
  }
  return undefined;
}

function tag(error: unknown, call: AwsCall): void {
  if (error instanceof Error && !(CALL in error)) Object.defineProperty(error, CALL, { value: call, enumerable: false });
}

/** Signing names that differ from the IAM action prefix. */
const IAM_PREFIX: Record<string, string> = { monitoring: 'cloudwatch', email: 'ses' };

interface RequestLike {
  protocol: string;
  hostname: string;
  port?: number | undefined;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

/** Service, action and endpoint, read from the signed request (any protocol). */
export function describeRequest(request: RequestLike): AwsCall {
  const header = (name: string) => {
    for (const [key, value] of Object.entries(request.headers)) if (key.toLowerCase() === name) return value;
    return undefined;
  };
  const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(header('authorization') ?? '');
  const signing = scope?.[2] ?? request.hostname.split('.')[0] ?? 'aws';
  const service = IAM_PREFIX[signing] ?? signing;
  const target = header('x-amz-target');
  const body = typeof request.body === 'string' ? request.body : '';
  const queryAction = /(?:^|&)Action=([A-Za-z0-9]+)/.exec(body)?.[1];
  const action = target?.split('.').pop() ?? queryAction ?? `${request.method} ${request.path}`;
  const attempt = Number(/attempt=(\d+)/.exec(header('amz-sdk-request') ?? '')?.[1] ?? 1);
  const port = request.port ? `:${request.port}` : '';
  return { service, action, endpoint: `${request.protocol}//${request.hostname}${port}`, region: scope?.[1], attempt };
}

/**
 * The SDK request handler of every client. One budget per call (connect, waiting, every retry);
 * when it is spent the call fails with AwsCallTimeoutError, which the SDK does not retry.
 */
export class WatchedHttpHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };
  /** Loaded on the first call, so `--help` and commands that make none never load it. */
  private inner: NodeHttpHandler | undefined;
  private readonly ledger: CallLedger;

  constructor(ledger: CallLedger) {
    this.ledger = ledger;
  }

  private async http(): Promise<NodeHttpHandler> {
    if (!this.inner) {
      const { NodeHttpHandler } = await import('@smithy/node-http-handler');
      const timeout = this.ledger.settings.timeoutMs;
      this.inner = new NodeHttpHandler({ connectionTimeout: Math.min(timeout, MAX_CONNECT_TIMEOUT_MS), requestTimeout: timeout });
    }
    return this.inner;
  }

  async handle(request: RequestLike, options: HttpHandlerOptions = {}): Promise<{ response: unknown }> {
    const call = describeRequest(request);
    const startedAt = Date.now();
    if (this.ledger.interrupted) throw new AwsCallInterruptedError(call);
    const left = this.ledger.budgetLeft(request.headers['amz-sdk-invocation-id'], startedAt);
    if (left <= 0) throw new AwsCallTimeoutError(call, this.ledger.settings.timeoutMs);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new AwsCallTimeoutError(call, this.ledger.settings.timeoutMs)), left);
    const outer = options.abortSignal as AbortSignal | undefined;
    /** The response body while an event stream is open: the caller's abort must still close it. */
    let openStream: StreamBody | undefined;
    const onOuterAbort = () => {
      controller.abort(outer?.reason);
      openStream?.destroy();
    };
    if (outer?.aborted) onOuterAbort();
    else outer?.addEventListener?.('abort', onOuterAbort, { once: true });
    const done = this.ledger.start(call, controller);
    try {
      const inner = await this.http();
      const result = await inner.handle(request as never, { abortSignal: controller.signal, requestTimeout: left + 1000 });
      const response = (result as { response: { statusCode?: number; headers?: Record<string, string>; body?: unknown } }).response;
      if (response && typeof response === 'object') callOfResponse.set(response, call);
      this.ledger.finished(call, startedAt, { status: response?.statusCode ?? 0 });
      // An event stream (Live Tail) goes on long after its headers: keep the caller's abort hooked
      // to it until its body closes, or Ctrl-C would leave the stream, and a billed session, open.
      const body = response?.body;
      if (outer && isEventStream(response?.headers) && isStreamBody(body) && !body.destroyed) {
        openStream = body;
        body.once('close', () => outer.removeEventListener?.('abort', onOuterAbort));
      }
      return result;
    } catch (error) {
      const reason = controller.signal.reason;
      const thrown = controller.signal.aborted && (reason instanceof AwsCallTimeoutError || reason instanceof AwsCallInterruptedError) ? reason : error;
      tag(thrown, call);
      this.ledger.finished(call, startedAt, { error: thrown });
      throw thrown;
    } finally {
      clearTimeout(timer);
      if (!openStream) outer?.removeEventListener?.('abort', onOuterAbort);
      done();
    }
  }

  updateHttpClientConfig(key: never, value: never): void {
    this.inner?.updateHttpClientConfig(key, value);
  }

  httpHandlerConfigs(): Record<string, unknown> {
    return (this.inner?.httpHandlerConfigs() ?? {}) as Record<string, unknown>;
  }

  destroy(): void {
    this.inner?.destroy();
  }
}

interface StreamBody {
  readonly destroyed: boolean;
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}

function isStreamBody(body: unknown): body is StreamBody {
  return typeof body === 'object' && body !== null && typeof (body as StreamBody).destroy === 'function' && typeof (body as StreamBody).once === 'function';
}

/** AWS event streams (StartLiveTail's response) are `application/vnd.amazon.eventstream`. */
function isEventStream(headers: Record<string, string> | undefined): boolean {
  if (!headers) return false;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === 'content-type') return /^application\/vnd\.amazon\.eventstream/i.test(String(value));
  return false;
}

/**
 * Retries bounded in time: exponential back-off with full jitter (100 ms base, 500 ms for throttling,
 * at most 20 s), as the SDK's standard mode, but no attempt starts past the call's budget. The call
 * then fails with the last real answer (throttling, a 5xx...), not a bare timeout; the HTTP handler
 * still cuts an attempt that is waiting when the budget runs out. The token carries the delay and the
 * SDK's retry middleware sleeps it (abortably), so nothing sleeps outside the budget.
 */
export class BudgetRetryStrategy implements RetryStrategyV2 {
  readonly mode = 'standard';
  private readonly budgetMs: number;
  private readonly maxAttempts: number;

  constructor(budgetMs: number, maxAttempts = 5) {
    this.budgetMs = budgetMs;
    this.maxAttempts = maxAttempts;
  }

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return new BudgetToken(Date.now(), 0, 0);
  }

  async refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    const previous = token as BudgetToken;
    const retryable = errorInfo.errorType === 'TRANSIENT' || errorInfo.errorType === 'THROTTLING' || errorInfo.errorType === 'SERVER_ERROR';
    if (!retryable || previous.getRetryCount() + 1 >= this.maxAttempts) throw new Error('not retried');
    const base = errorInfo.errorType === 'THROTTLING' ? 500 : 100;
    let delay = Math.floor(Math.random() * Math.min(20_000, base * 2 ** previous.getRetryCount()));
    const hint = errorInfo.retryAfterHint;
    if (hint instanceof Date) delay = Math.max(delay, hint.getTime() - Date.now());
    if (Date.now() - previous.startedAt + delay >= this.budgetMs) throw new Error('the call\'s time budget is spent');
    return new BudgetToken(previous.startedAt, previous.getRetryCount() + 1, delay);
  }

  recordSuccess(): void {
    // No retry quota to refill: the budget is per call.
  }
}

class BudgetToken implements RetryToken {
  readonly startedAt: number;
  private readonly count: number;
  private readonly delay: number;
  constructor(startedAt: number, count: number, delay: number) {
    this.startedAt = startedAt;
    this.count = count;
    this.delay = delay;
  }
  getRetryCount(): number {
    return this.count;
  }
  getRetryDelay(): number {
    return this.delay;
  }
}

/** Says `say()` once a wait passes WAIT_NOTICE_MS, then every WAIT_REPEAT_MS; the returned function stops it. */
function waitingNotice(say: () => void): () => void {
  let repeat: NodeJS.Timeout | undefined;
  const notice = setTimeout(() => {
    say();
    repeat = setInterval(say, WAIT_REPEAT_MS);
    repeat.unref();
  }, WAIT_NOTICE_MS);
  notice.unref();
  return () => {
    clearTimeout(notice);
    if (repeat) clearInterval(repeat);
  };
}
