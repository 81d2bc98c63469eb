// A small client for the RunPod serverless API (https://api.runpod.ai/v2/{endpoint_id}/...):
// POST /run, GET /status/{job_id}, GET /health. Every request has a timeout. Errors say what failed
// (auth, server, timeout, network, bad response) and never carry the API key or the request.

export type RunPodJobStatus = 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';
const JOB_STATUSES: readonly string[] = ['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];
export const TERMINAL_FAILURES: readonly RunPodJobStatus[] = ['FAILED', 'CANCELLED', 'TIMED_OUT'];

export interface RunPodJob {
  id: string;
  status: RunPodJobStatus;
  /** RunPod's error text for a failed job, shortened. */
  error?: string;
}

export interface RunPodHealth {
  jobs: Record<string, number>;
  workers: Record<string, number>;
}

export type RunPodErrorKind = 'auth' | 'server' | 'client' | 'timeout' | 'network' | 'bad_response';

export class RunPodError extends Error {
  readonly kind: RunPodErrorKind;
  readonly status: number | undefined;

  constructor(kind: RunPodErrorKind, message: string, status?: number) {
    super(message);
    this.name = 'RunPodError';
    this.kind = kind;
    this.status = status;
  }
}

export interface RunPodClientOptions {
  /** https://api.runpod.ai/v2 in production; tests point it at a loopback fake. */
  baseUrl: string;
  endpointId: string;
  /** The API key; `refresh` asks for a fresh read (after a 401, in case the key was rotated). */
  apiKey: (options?: { refresh?: boolean }) => Promise<string>;
  timeoutMs: number;
}

export class RunPodClient {
  private readonly options: RunPodClientOptions;

  constructor(options: RunPodClientOptions) {
    this.options = options;
  }

  async run(input: Record<string, unknown>): Promise<RunPodJob> {
    return parseJob(await this.request('POST', 'run', { input }), 'run');
  }

  async status(jobId: string): Promise<RunPodJob> {
    return parseJob(await this.request('GET', `status/${encodeURIComponent(jobId)}`), 'status');
  }

  async health(): Promise<RunPodHealth> {
    const body = await this.request('GET', 'health');
    const counts = (value: unknown): Record<string, number> =>
      value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value as Record<string, unknown>).filter((entry): entry is [string, number] => typeof entry[1] === 'number'))
        : {};
    if (!body || typeof body !== 'object') throw new RunPodError('bad_response', 'RunPod /health did not return a JSON object.');
    return { jobs: counts((body as { jobs?: unknown }).jobs), workers: counts((body as { workers?: unknown }).workers) };
  }

  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const first = await this.send(method, path, body, false);
    // A 401 may mean the key was rotated since it was cached: read it again once.
    const response = first.status === 401 ? await this.send(method, path, body, true) : first;
    const what = `RunPod ${method} /${path.split('/')[0]}`;
    if (response.status === 401 || response.status === 403) {
      throw new RunPodError('auth', `${what} was refused (HTTP ${response.status}): the API key in SSM is wrong or lacks access to endpoint ${this.options.endpointId}.`, response.status);
    }
    if (response.status >= 500 || response.status === 429) throw new RunPodError('server', `${what} failed with HTTP ${response.status}; will retry on the next poll.`, response.status);
    if (response.status >= 400) throw new RunPodError('client', `${what} was rejected with HTTP ${response.status}.`, response.status);
    try {
      return await response.json();
    } catch {
      throw new RunPodError('bad_response', `${what} returned HTTP ${response.status} with a body that is not JSON.`, response.status);
    }
  }

  private async send(method: string, path: string, body: unknown, refresh: boolean): Promise<Response> {
    const key = await this.options.apiKey({ refresh });
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(this.options.endpointId)}/${path}`;
    try {
      return await fetch(url, {
        method,
        headers: { authorization: `Bearer ${key}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new RunPodError('timeout', `RunPod ${method} /${path.split('/')[0]} did not answer within ${this.options.timeoutMs} ms.`);
      }
      const code = (error as { cause?: { code?: unknown } }).cause?.code;
      throw new RunPodError('network', `RunPod ${method} /${path.split('/')[0]} could not be reached${typeof code === 'string' ? ` (${code})` : ''}.`);
    }
  }
}

function parseJob(body: unknown, what: string): RunPodJob {
  const job = body as { id?: unknown; status?: unknown; error?: unknown } | null;
  if (!job || typeof job.id !== 'string' || job.id === '' || typeof job.status !== 'string' || !JOB_STATUSES.includes(job.status)) {
    throw new RunPodError('bad_response', `RunPod /${what} returned no job id or an unknown status.`);
  }
  return {
    id: job.id,
    status: job.status as RunPodJobStatus,
    ...(job.error === undefined || job.error === null ? {} : { error: String(typeof job.error === 'string' ? job.error : JSON.stringify(job.error)).slice(0, 500) }),
  };
}
