// A loopback fake of the RunPod serverless API (127.0.0.1, port 0): POST /{endpoint}/run,
// GET /{endpoint}/status/{id}, GET /{endpoint}/health, with bearer auth and injectable failures
// (401, 5xx, a request that never answers).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route = 'run' | 'status' | 'health';
export type FailureMode = 401 | 500 | 503 | 'hang';

export interface FakeJob {
  id: string;
  status: string;
  input: Record<string, unknown>;
  error?: string;
}

export interface RecordedRequest {
  method: string;
  route: Route | 'unknown';
  path: string;
  authorization: string | undefined;
}

export class FakeRunPod {
  readonly endpointId: string;
  /** The key RunPod accepts; change it to simulate a rotation. */
  validKey: string;
  readonly jobs = new Map<string, FakeJob>();
  readonly requests: RecordedRequest[] = [];
  private readonly failures: { route: Route; mode: FailureMode; remaining: number }[] = [];
  private server: Server | undefined;
  private hanging: ServerResponse[] = [];
  baseUrl = '';

  constructor(options: { endpointId?: string; key?: string } = {}) {
    this.endpointId = options.endpointId ?? 'abc123xyz';
    this.validKey = options.key ?? 'rp_test_key_0123456789';
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v2`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The next `times` requests to `route` fail with `mode`. */
  fail(route: Route, mode: FailureMode, times = 1): void {
    this.failures.push({ route, mode, remaining: times });
  }

  setStatus(jobId: string, status: string, error?: string): void {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    job.status = status;
    if (error !== undefined) job.error = error;
  }

  calls(route: Route): RecordedRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const prefix = `/v2/${this.endpointId}/`;
    const rest = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : undefined;
    const route: Route | 'unknown' =
      rest === 'run' && req.method === 'POST' ? 'run' : rest === 'health' && req.method === 'GET' ? 'health' : rest?.startsWith('status/') && req.method === 'GET' ? 'status' : 'unknown';
    this.requests.push({ method: req.method ?? '', route, path: url.pathname, authorization: req.headers.authorization });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (route === 'unknown') return send(404, { error: 'not found' });
    const failure = this.failures.find((f) => f.route === route && f.remaining > 0);
    if (failure) {
      failure.remaining -= 1;
      if (failure.mode === 'hang') {
        this.hanging.push(res);
        return;
      }
      return send(failure.mode, { error: `injected ${failure.mode}` });
    }
    if (req.headers.authorization !== `Bearer ${this.validKey}`) return send(401, { error: 'Unauthorized' });
    if (route === 'run') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { input?: Record<string, unknown> };
      if (!body.input) return send(400, { error: 'input is required' });
      const job: FakeJob = { id: `job-${randomUUID()}`, status: 'IN_QUEUE', input: body.input };
      this.jobs.set(job.id, job);
      return send(200, { id: job.id, status: job.status });
    }
    if (route === 'status') {
      const job = this.jobs.get(decodeURIComponent(rest!.slice('status/'.length)));
      if (!job) return send(404, { error: 'job not found' });
      return send(200, { id: job.id, status: job.status, ...(job.error ? { error: job.error } : {}) });
    }
    const count = (status: string) => [...this.jobs.values()].filter((j) => j.status === status).length;
    return send(200, {
      jobs: { completed: count('COMPLETED'), failed: count('FAILED'), inProgress: count('IN_PROGRESS'), inQueue: count('IN_QUEUE'), retried: 0 },
      workers: { idle: 1, running: count('IN_PROGRESS') },
    });
  }
}
