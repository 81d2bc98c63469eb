// Runs a template function the way Lambda does: up to `concurrency` containers (worker threads, see
// function-worker.ts), one invocation at a time each, killed and replaced when an invocation
// outlives the template's timeout ("Task timed out"), as a Lambda container is.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { lambdaStreamName } from './log-store.ts';

export interface FunctionSpec {
  /** ApiFunction, EvalWorkerUrgent, ... */
  name: string;
  modulePath: string;
  /** The template's variables; set with configure() when they are known after the spec. */
  environment?: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  concurrency: number;
  arn: string;
  /** The template's log group for this function (Lambda's default /aws/lambda/<name> otherwise). */
  logGroupName?: string;
  /** Stop a container idle this long, as Lambda reclaims idle ones; the next invocation starts cold. Default: never. */
  idleMs?: number;
}

export class InvocationError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

interface Container {
  worker: Worker;
  busy: boolean;
  /** The log stream Lambda would give this container. */
  stream: string;
  pending?: { id: number; requestId: string; resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout };
  /** Runs code older than the last reload(): ends once its in-flight invocation does, takes no new one. */
  retiring?: boolean;
  /** Stops the container once it has been idle for the spec's idleMs. */
  idleTimer?: NodeJS.Timeout;
}

/** The lines that end an invocation the runtime could not finish, as Lambda writes them. */
function endLines(requestId: string, status: string, ms: number, memoryMb: number): string[] {
  return [`END RequestId: ${requestId}`, `REPORT RequestId: ${requestId}\tDuration: ${ms.toFixed(2)} ms\tBilled Duration: ${Math.ceil(ms)} ms\tMemory Size: ${memoryMb} MB\tMax Memory Used: ${memoryMb} MB\tStatus: ${status}`];
}

export class FunctionHost {
  private readonly containers: Container[] = [];
  private readonly waiting: (() => void)[] = [];
  private nextId = 1;
  private stopped = false;
  invocations = 0;
  errors = 0;

  readonly spec: FunctionSpec;
  /** One log line of a container's stream: the handler's output, and the runtime's START/END/REPORT lines. */
  private readonly onLine: (fn: string, line: string, stream: string) => void;

  constructor(spec: FunctionSpec, onLine: (fn: string, line: string, stream: string) => void) {
    this.spec = spec;
    this.onLine = onLine;
  }

  private first: Promise<Container> | undefined;

  /** Starts the first container loading its handler module, before the environment is known. */
  prewarm(): void {
    this.first ??= this.spawn();
    this.first.catch(() => undefined);
  }

  configure(environment: Record<string, string>): void {
    this.spec.environment = environment;
    for (const container of this.containers) container.worker.postMessage({ init: environment });
  }

  /** Waits until the first container is ready (module loaded, environment in place). */
  async start(): Promise<void> {
    this.prewarm();
    await this.first;
  }

  private async spawn(): Promise<Container> {
    const streamName = lambdaStreamName();
    const worker = new Worker(new URL('./function-worker.ts', import.meta.url), {
      // Until `init` brings the template's variables (function-worker.ts).
      env: { PATH: process.env.PATH ?? '', TZ: 'UTC' },
      workerData: { modulePath: this.spec.modulePath, dnsLog: process.env.WATCHPOINT_DEV_DNS_LOG, functionName: this.spec.name, functionArn: this.spec.arn, memoryMb: this.spec.memoryMb, logStreamName: streamName, logGroupName: this.spec.logGroupName ?? `/aws/lambda/${this.spec.arn.split(':').pop()}` },
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(this.spec.memoryMb, 256) },
    });
    const container: Container = { worker, busy: true, stream: streamName };
    for (const stream of [worker.stdout, worker.stderr]) createInterface({ input: stream }).on('line', (line) => this.onLine(this.spec.name, line, container.stream));
    worker.on('message', (message: { ready?: true; id?: number; ok?: boolean; result?: unknown; error?: { name: string; message: string } }) => {
      if (message.ready) return;
      const pending = container.pending;
      if (!pending || pending.id !== message.id) return;
      clearTimeout(pending.timer);
      container.pending = undefined;
      this.release(container);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new InvocationError(message.error?.name ?? 'Error', message.error?.message ?? 'failed'));
    });
    worker.on('error', (error) => this.onLine(this.spec.name, JSON.stringify({ level: 'ERROR', message: `container crashed: ${error.message}` }), container.stream));
    worker.on('exit', () => {
      const index = this.containers.indexOf(container);
      if (index >= 0) this.containers.splice(index, 1);
      if (container.pending) {
        clearTimeout(container.pending.timer);
        const requestId = container.pending.requestId;
        for (const line of [`RequestId: ${requestId} Error: Runtime exited with error: exit status 1`, 'Runtime.ExitError', ...endLines(requestId, 'error', 0, this.spec.memoryMb)]) this.onLine(this.spec.name, line, container.stream);
        container.pending.reject(new InvocationError('Runtime.ExitError', `${this.spec.name}'s container exited during the invocation.`));
        container.pending = undefined;
      }
      this.waiting.shift()?.();
    });
    this.containers.push(container);
    if (this.spec.environment) worker.postMessage({ init: this.spec.environment });
    const [ready] = await Promise.race([once(worker, 'message'), once(worker, 'error').then(([error]) => Promise.reject(error as Error))]);
    if (!(ready as { ready?: boolean }).ready) throw new Error(`${this.spec.name} did not start.`);
    this.release(container);
    return container;
  }

  private release(container: Container): void {
    if (container.retiring) {
      // Its exit handler drops it from the pool and wakes a waiting invocation.
      void container.worker.terminate();
      return;
    }
    container.busy = false;
    if (this.spec.idleMs !== undefined) {
      clearTimeout(container.idleTimer);
      container.idleTimer = setTimeout(() => {
        if (container.busy || this.stopped) return;
        // Busy from here, so no invocation picks it while it ends; its exit handler drops it from the pool.
        container.busy = true;
        void container.worker.terminate();
      }, this.spec.idleMs);
      container.idleTimer.unref();
    }
    this.waiting.shift()?.();
  }

  /**
   * New code (`watchpoint dev --watch`): the next invocations go to fresh containers, which load the
   * handler module again; invocations in flight finish on the old code, whose containers then end.
   * Resolves once a fresh container is ready (at once for a function that has no container yet).
   */
  async reload(): Promise<void> {
    const started = this.containers.length > 0;
    for (const container of [...this.containers]) {
      container.retiring = true;
      if (!container.busy) this.release(container);
    }
    this.first = undefined;
    // Never started (containers are lazy): the first invocation loads the new code anyway.
    if (!started) return;
    this.prewarm();
    await this.first;
  }

  private async acquire(): Promise<Container> {
    for (;;) {
      if (this.stopped) throw new InvocationError('Stopped', `${this.spec.name} is stopping.`);
      const idle = this.containers.find((c) => !c.busy);
      if (idle) {
        clearTimeout(idle.idleTimer);
        idle.busy = true;
        return idle;
      }
      if (this.containers.length < this.spec.concurrency) {
        const fresh = await this.spawn();
        if (!fresh.busy) {
          clearTimeout(fresh.idleTimer);
          fresh.busy = true;
          return fresh;
        }
        continue;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  /** `onStart` learns the request id and the container's log stream as the invocation starts (lambda-api.ts's log tail). */
  async invoke(event: unknown, onStart?: (requestId: string, stream: string) => void): Promise<unknown> {
    const container = await this.acquire();
    this.invocations += 1;
    const id = this.nextId++;
    const requestId = randomUUID();
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    try {
      return await new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          // Lambda ends the container of a timed-out invocation; the next one starts cold.
          container.pending = undefined;
          const message = `Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`;
          for (const line of [`${new Date().toISOString()} ${requestId} ${message}`, ...endLines(requestId, 'timeout', timeoutMs, this.spec.memoryMb)]) this.onLine(this.spec.name, line, container.stream);
          reject(new InvocationError('Sandbox.Timedout', message));
          void container.worker.terminate();
        }, timeoutMs);
        container.pending = { id, requestId, resolve, reject, timer };
        onStart?.(requestId, container.stream);
        container.worker.postMessage({ id, requestId, event, deadline: Date.now() + timeoutMs });
      });
    } catch (error) {
      this.errors += 1;
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.waiting.splice(0)) wake();
    await Promise.all(this.containers.map((c) => c.worker.terminate()));
  }
}
