// A RunPod stand-in for the DataPoller: the serverless API's /run, /status/{id} and /health on
// 127.0.0.1. A run is accepted IN_QUEUE, and after `delayMs` the synthetic forecast (forecast.ts)
// is written to the local ForecastBucket where the job's input says, `_SUCCESS` last; the job then
// reads COMPLETED. Requests must carry the RunPod key the platform seeded in SSM.
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ForecastType } from '../lambdas/shared/messages.ts';
import { closeServer, listenLoopback } from './serve.ts';
import { syntheticTiles, writeRun, type HotPoint, type SyntheticGrid } from './forecast.ts';

interface Job {
  id: string;
  status: 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  error?: string;
}

export interface RunPodStandIn {
  /** The base URL for RUNPOD_API_BASE_URL (`.../v2`). */
  baseUrl: string;
  hotPoints: HotPoint[];
  /** Resolves with each run once its `_SUCCESS` is written. */
  onWritten(listener: (run: { forecastType: ForecastType; runId: string; tiles: number }) => void): void;
  /** Drills: while set, /run answers 503 (RunPod is down) and no forecast arrives. */
  down: boolean;
  /** Drills: writes a run now, as a finished RunPod job would (corrupt: tiles that fail their checksum). */
  writeNow(forecastType: ForecastType, runId: string, options?: { corrupt?: boolean; bucket: string }): Promise<void>;
  close(): Promise<void>;
}

export async function startRunPodStandIn(options: { s3: S3Client; apiKey: string; grid: SyntheticGrid; delayMs: number; hotPoints?: HotPoint[] }): Promise<RunPodStandIn> {
  const jobs = new Map<string, Job>();
  const hotPoints: HotPoint[] = [...(options.hotPoints ?? [])];
  const listeners: ((run: { forecastType: ForecastType; runId: string; tiles: number }) => void)[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const writes = new Set<Promise<void>>();

  const produce = (job: Job, input: { forecast_type: ForecastType; run_id: string; issued_at: string; output: { bucket: string; prefix: string } }, corrupt = false) => {
    job.status = 'IN_PROGRESS';
    const tiles = syntheticTiles(input.forecast_type, options.grid, hotPoints);
    const write = writeRun(options.s3, input.output.bucket, { forecastType: input.forecast_type, runId: input.run_id, issuedAt: input.issued_at, tiles, corrupt }).then(
      () => {
        job.status = 'COMPLETED';
        for (const listener of listeners) listener({ forecastType: input.forecast_type, runId: input.run_id, tiles: tiles.length });
      },
      (error: Error) => {
        job.status = 'FAILED';
        job.error = `writing the forecast failed: ${error.message}`;
      },
    );
    writes.add(write);
    void write.finally(() => writes.delete(write));
  };

  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${options.apiKey}`) return send(401, { error: 'Unauthorized' });
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const match = /^\/v2\/([^/]+)\/(run|status|health)(?:\/([^/]+))?$/.exec(path);
      if (!match) return send(404, { error: `no route ${req.method} ${path}` });
      const [, , route, id] = match;
      if (route === 'health' && req.method === 'GET') {
        const counts = { completed: 0, failed: 0, inProgress: 0, inQueue: 0 };
        for (const job of jobs.values()) counts[job.status === 'COMPLETED' ? 'completed' : job.status === 'FAILED' ? 'failed' : job.status === 'IN_PROGRESS' ? 'inProgress' : 'inQueue'] += 1;
        return send(200, { jobs: counts, workers: { idle: 1, running: counts.inProgress } });
      }
      if (route === 'status' && req.method === 'GET' && id) {
        const job = jobs.get(id);
        return job ? send(200, job) : send(404, { error: `job ${id} not found` });
      }
      if (route === 'run' && req.method === 'POST' && standIn.down) return send(503, { error: 'RunPod stand-in is down (watchpoint dev --drill forecasts-stop): no worker accepts the run' });
      if (route === 'run' && req.method === 'POST') {
        let input: Parameters<typeof produce>[1];
        try {
          input = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { input: typeof input }).input;
          if (!input?.output?.bucket || !input.run_id || !input.forecast_type) throw new Error('incomplete');
        } catch {
          return send(400, { error: 'body must be {"input": {forecast_type, run_id, issued_at, output: {bucket, prefix}}}' });
        }
        const job: Job = { id: randomUUID(), status: 'IN_QUEUE' };
        jobs.set(job.id, job);
        const timer = setTimeout(() => {
          timers.delete(timer);
          produce(job, input);
        }, options.delayMs);
        timers.add(timer);
        return send(200, { id: job.id, status: job.status });
      }
      return send(405, { error: `${req.method} not allowed on ${route}` });
    });
  });
  const url = await listenLoopback(server);
  const standIn: RunPodStandIn = {
    baseUrl: `${url}/v2`,
    hotPoints,
    down: false,
    writeNow: async (forecastType, runId, extra) => {
      const job: Job = { id: randomUUID(), status: 'IN_QUEUE' };
      jobs.set(job.id, job);
      produce(job, { forecast_type: forecastType, run_id: runId, issued_at: new Date().toISOString(), output: { bucket: extra?.bucket ?? '', prefix: `${forecastType}/${runId}/` } }, extra?.corrupt);
      await Promise.all([...writes]);
      if (job.status !== 'COMPLETED') throw new Error(job.error ?? `run ${runId} was not written`);
    },
    onWritten: (listener) => listeners.push(listener),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      await Promise.allSettled([...writes]);
      await closeServer(server);
    },
  };
  return standIn;
}
