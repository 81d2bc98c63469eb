// Issue 18: `watchpoint dev`'s figures, each against a baseline measured in the same run.
// - dev-start: start to ready (servers up, migrations applied, the HTTP API answering /health) of
//   `watchpoint dev`, against `watchpoint synth` of the same stage (the local stage's settings under
//   another env name: `--env local` means the running platform). Target <= 1x.
// - dev-cycle: one forecast cycle of 200 tiles and 10,000 watchpoints (1,000 of which trigger, each
//   with a webhook to the local receiver) through the whole local platform, from `_SUCCESS` to the
//   last delivery: jobs/s and deliveries/s, against the same handler modules invoked directly in
//   this process on the same data (what the per-handler benchmarks measure). Also the memory of the
//   whole platform (this process, its worker threads and PostgreSQL's processes) at rest and at the
//   peak of the cycle.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { LOCAL_CREDENTIALS, startDevPlatform, type DevPlatform } from '../../src/dev/platform.ts';
import { syntheticTiles, writeRun, type SyntheticGrid } from '../../src/dev/forecast.ts';
import { waitUntil } from '../../src/dev/once.ts';
import { processRun } from '../../src/lambdas/batcher/batcher.ts';
import { processRecord } from '../../src/lambdas/eval-worker/worker.ts';
import { createDeliveryHandler } from '../../src/lambdas/shared/delivery-handler.ts';
import { webhookChannel } from '../../src/lambdas/webhook-worker/worker.ts';
import { drain, sqsRecord } from '../../test/pipeline/fixtures.ts';
import { notifications } from '../../test/delivery/helpers.ts';
import { median } from '../harness.ts';
import { bin, node } from '../paths.ts';

const SAME_STAGE = ['--region', 'us-east-1', '--alert-email', 'oncall@example.com', '--runpod-endpoint-id', 'localdev', '--aws-endpoint-url', 'http://127.0.0.1:4566'];

/** ms from spawn to the API answering, for one `watchpoint dev` run; then SIGTERM and wait for its exit. */
export async function devStartOnce(cwd: string): Promise<number> {
  const started = performance.now();
  const child = spawn(node, [bin, 'dev'], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const api = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`watchpoint dev exited ${code}: ${err.slice(-1500)}`)));
  });
  await waitUntil('the API to answer', 30_000, async () => ((await fetch(`${api}/health`).catch(() => undefined))?.status === 200 ? true : undefined), 20);
  const ms = performance.now() - started;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  return ms;
}

function synthOnce(out: string, cwd: string): number {
  const started = performance.now();
  const result = spawnSync(node, [bin, 'synth', '--env', 'localsynth', ...SAME_STAGE, '--out', out], { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: 'true' } });
  if (result.status !== 0) throw new Error(`synth exited ${result.status}: ${result.stderr?.toString().slice(-1500)}`);
  return performance.now() - started;
}

export async function start(): Promise<boolean> {
  const cwd = mkdtempSync(join(tmpdir(), 'watchpoint-bench-dev-'));
  try {
    // Warm both once (the CLI bundle, the zip bundle cache, the OS file cache), then interleave.
    synthOnce(join(cwd, 'out'), cwd);
    await devStartOnce(cwd);
    const synth: number[] = [];
    const dev: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      if (i % 2 === 0) {
        synth.push(synthOnce(join(cwd, 'out'), cwd));
        dev.push(await devStartOnce(cwd));
      } else {
        dev.push(await devStartOnce(cwd));
        synth.push(synthOnce(join(cwd, 'out'), cwd));
      }
    }
    const ratio = median(dev) / median(synth);
    const ok = ratio <= 1;
    console.log('watchpoint dev: start to ready (servers, migrations, functions, API answering) vs watchpoint synth of the same stage');
    console.log(`  watchpoint synth (baseline)     median ${median(synth).toFixed(0).padStart(6)} ms   runs ${synth.map((v) => v.toFixed(0)).join(', ')}`);
    console.log(`  watchpoint dev, start to ready  median ${median(dev).toFixed(0).padStart(6)} ms   runs ${dev.map((v) => v.toFixed(0)).join(', ')}`);
    console.log(`  ratio ${ratio.toFixed(2)}x (target 1x): ${ok ? 'PASS' : 'OVER TARGET'}\n`);
    return ok;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

// --- one big cycle ------------------------------------------------------------------------------

/** 200 tiles of 1 x 1 degree, 20 by 10, over 35-45 N, 10 W-10 E; 8 x 8 points each. */
const GRID: SyntheticGrid = { latMin: 35, lonMin: -10, tileDegrees: 1, columns: 20, tiles: 200, pointsPerSide: 8 };
const WATCHPOINTS = 10_000;
const TRIGGERING = 1_000;

/** One process's memory in kB: its RSS, and its PSS (shared pages divided among the processes sharing them). */
function memoryKb(pid: number): { rss: number; pss: number } {
  const field = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  try {
    const rss = field(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
    let pss = rss;
    try {
      pss = field(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
    } catch {
      // No smaps_rollup (kernel < 4.14): RSS stands in.
    }
    return { rss, pss };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/**
 * Memory in MB of this process (its worker threads included) and of PostgreSQL's process tree. RSS
 * summed over PostgreSQL's processes counts its shared buffers once per backend that touched them;
 * PSS counts each shared page once in all (`total` is by PSS; `rssSum` is the older, inflated sum).
 */
function platformRss(postgresPid: number | undefined): { process: number; postgres: number; total: number; rssSum: number } {
  const own = memoryKb(process.pid);
  let postgres = { rss: 0, pss: 0 };
  if (postgresPid) {
    const add = (pid: number) => {
      const m = memoryKb(pid);
      postgres = { rss: postgres.rss + m.rss, pss: postgres.pss + m.pss };
    };
    add(postgresPid);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
        if (ppid === postgresPid) add(Number(entry));
      } catch {
        // gone
      }
    }
  }
  return { process: own.pss / 1024, postgres: postgres.pss / 1024, total: (own.pss + postgres.pss) / 1024, rssSum: (own.rss + postgres.rss) / 1024 };
}

async function seedWatchpoints(pool: pg.Pool, hookUrl: string): Promise<void> {
  // Spread over the grid; every tenth one's threshold is below anything the field reads, so it triggers.
  await pool.query(
    `INSERT INTO watchpoints (name, latitude, longitude, variable, condition, threshold, window_end_hours, channels)
     SELECT 'bench ' || i, 35 + random() * 10, -10 + random() * 20, 'temperature_2m', 'gt', CASE WHEN i % 10 = 0 THEN -100 ELSE 100 END, 6,
            jsonb_build_array(jsonb_build_object('type', 'webhook', 'url', $2::text))
       FROM generate_series(1, $1) AS i`,
    [WATCHPOINTS, hookUrl],
  );
  await pool.query('ANALYZE watchpoints');
}

/**
 * dev-cycle budgets, as ratios to the same handler modules called directly in the same run: the
 * platform adds SQS polling and queue hops but runs two eval containers, so it must keep at least this
 * share of the direct rate.
 */
const CYCLE_JOBS_MIN_RATIO = 0.25;
const CYCLE_DELIVERIES_MIN_RATIO = 0.25;

export async function cycle(): Promise<boolean> {
  const cwd = mkdtempSync(join(tmpdir(), 'watchpoint-bench-dev-'));
  let platform: DevPlatform | undefined;
  const quiet = new Logger({ serviceName: 'bench', logLevel: 'SILENT' });
  try {
    // Two eval worker containers, as two cores allow; Lambda would run many.
    platform = await startDevPlatform({ cwd, speed: 1, allowLoopbackWebhooks: true, runSchedulesAtStart: false, evalConcurrency: 2, grid: GRID, log: () => undefined });
    const { state } = platform;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const rest = platformRss(platform.postgresPid);
    const atRest = rest.total;

    const pool = new pg.Pool({ connectionString: platform.databaseUrl, max: 4 });
    const hook = `${platform.receiver.url}/bench`;
    await seedWatchpoints(pool, hook);
    const s3 = new S3Client({ region: state.region, endpoint: state.endpoint, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
    const sqs = new SQSClient({ region: state.region, endpoint: state.endpoint, credentials: LOCAL_CREDENTIALS });
    const bucket = Object.values(platform.buckets).find((name) => name.includes('forecastbucket'))!;

    // The forecast, as the RunPod stand-in writes it, but without its _SUCCESS: that starts the clock.
    const runId = '2026-12-01T0000Z';
    const tiles = syntheticTiles('nowcast', GRID, []);
    const writeStarted = performance.now();
    await writeRun(s3, bucket, { forecastType: 'nowcast', runId, issuedAt: '2026-12-01T00:00:00Z', tiles, success: false });
    const writeMs = performance.now() - writeStarted;

    let peak = atRest;
    let peakAt = rest;
    const sampler = setInterval(() => {
      const now = platformRss(platform?.postgresPid);
      if (now.total > peak) [peak, peakAt] = [now.total, now];
    }, 100);
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const started = performance.now();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `nowcast/${runId}/_SUCCESS`, Body: new Uint8Array(0) }));
    const cycleKey = `nowcast/${runId}`;
    const settled = await waitUntil('the cycle to settle', 600_000, async () => {
      const c = platform!.cycles.cycles.get(cycleKey);
      return c && c.jobsDone >= c.jobs && c.delivered + c.failed >= c.notifications && c.notifications > 0 ? { ...c } : undefined;
    }, 50);
    const cycleMs = performance.now() - started;
    clearInterval(sampler);
    const firstDelivery = platform.receiver.received.filter((h) => h.path === '/bench' && h.status === 200);
    if (settled.delivered !== TRIGGERING || firstDelivery.length < TRIGGERING) throw new Error(`expected ${TRIGGERING} deliveries, got ${settled.delivered} (${firstDelivery.length} POSTs)`);

    // Baselines: the same handler modules called directly in this process, on the same data.
    const scratch = async (name: string) => (await sqs.send(new CreateQueueCommand({ QueueName: `bench-${name}` }))).QueueUrl!;
    const [jobsQueue, emailQueue, webhookQueue, deadQueue] = await Promise.all(['jobs', 'email', 'webhook', 'dead'].map(scratch));
    await processRun(bucket, `nowcast/${runId}/_SUCCESS`, { pool: async () => pool, s3, sqs, queues: { urgent: jobsQueue!, standard: jobsQueue! }, logger: quiet });
    const jobs = await drain(sqs, jobsQueue!);
    const evalDeps = { pool: async () => pool, s3, sqs, queues: { email: emailQueue!, webhook: webhookQueue!, deadLetter: deadQueue! }, logger: quiet };
    const evalStarted = performance.now();
    for (const job of jobs) await processRecord(sqsRecord(job), evalDeps);
    const directJobsPerSecond = jobs.length / ((performance.now() - evalStarted) / 1000);

    const fresh = await notifications(pool, Array.from({ length: TRIGGERING }, () => ({ type: 'webhook' as const, url: hook })));
    const webhook = createDeliveryHandler(() => ({ pool: async () => pool, logger: quiet, channel: webhookChannel({ policy: { allowLoopback: true } }) }));
    const deliverStarted = performance.now();
    for (let i = 0; i < fresh.length; i += 10) {
      const response = await webhook({ Records: fresh.slice(i, i + 10).map((n) => sqsRecord({ Body: n.body })) });
      if (response.batchItemFailures.length > 0) throw new Error('direct webhook baseline: failures');
    }
    const directDeliveriesPerSecond = fresh.length / ((performance.now() - deliverStarted) / 1000);

    // The webhook stage alone: as many notifications put on the platform's webhook queue at once,
    // timed from the first send to the last delivery at the receiver. In the cycle above the
    // deliveries only follow the eval jobs, so their rate there is the eval stage's.
    const webhookQueueId = platform.plan.queues.find((q) => q.id === 'WebhookNotificationQueue')?.logicalId;
    if (!webhookQueueId) throw new Error('the local template has no WebhookNotificationQueue');
    const queued = await notifications(pool, Array.from({ length: TRIGGERING }, () => ({ type: 'webhook' as const, url: hook })));
    const deliveredBefore = platform.receiver.received.filter((h) => h.path === '/bench' && h.status === 200).length;
    const queuedStarted = performance.now();
    await Promise.all(
      Array.from({ length: Math.ceil(queued.length / 10) }, (_, b) =>
        sqs.send(new SendMessageBatchCommand({ QueueUrl: platform!.queueUrls[webhookQueueId]!, Entries: queued.slice(b * 10, b * 10 + 10).map((n, i) => ({ Id: String(i), MessageBody: n.body })) })),
      ),
    );
    await waitUntil('the queued webhooks to be delivered', 600_000, async () => (platform!.receiver.received.filter((h) => h.path === '/bench' && h.status === 200).length >= deliveredBefore + queued.length ? true : undefined), 20);
    const queuedDeliveriesPerSecond = queued.length / ((performance.now() - queuedStarted) / 1000);

    const seconds = cycleMs / 1000;
    const jobsPerSecond = settled.jobs / seconds;
    // Deliveries overlap the evaluation; their rate is taken over the window in which they happened.
    const posts = firstDelivery.map((h) => h.at.getTime()).sort((a, b) => a - b);
    const deliveryWindow = Math.max(1, posts.at(-1)! - posts[0]!) / 1000;
    const deliveriesPerSecond = settled.delivered / deliveryWindow;
    console.log(`watchpoint dev: one cycle, ${settled.tiles} tiles, ${WATCHPOINTS.toLocaleString('en')} watchpoints (${TRIGGERING} trigger, webhook each), _SUCCESS to last delivery`);
    console.log(`  forecast written (Zarr tiles + manifest, before _SUCCESS)   ${writeMs.toFixed(0).padStart(6)} ms`);
    console.log(`  cycle through the platform (Batcher, 2 eval containers, webhook worker)   ${cycleMs.toFixed(0).padStart(6)} ms   ${settled.jobs} jobs, ${settled.notifications} notifications, ${settled.delivered} delivered, ${settled.failed} failed`);
    console.log(`  jobs/s        platform ${jobsPerSecond.toFixed(1).padStart(7)}   handler called directly (baseline) ${directJobsPerSecond.toFixed(1).padStart(7)}   ratio ${(jobsPerSecond / directJobsPerSecond).toFixed(2)}`);
    console.log(`  deliveries/s  platform ${deliveriesPerSecond.toFixed(1).padStart(7)} (first to last delivery, ${deliveryWindow.toFixed(1)} s)   handler called directly (baseline) ${directDeliveriesPerSecond.toFixed(1).padStart(7)}   ratio ${(deliveriesPerSecond / directDeliveriesPerSecond).toFixed(2)}`);
    console.log(`  deliveries/s  queue filled first: platform ${queuedDeliveriesPerSecond.toFixed(1).padStart(7)}   handler called directly (baseline) ${directDeliveriesPerSecond.toFixed(1).padStart(7)}   ratio ${(queuedDeliveriesPerSecond / directDeliveriesPerSecond).toFixed(2)}`);
    console.log(`  memory (this process with its worker threads + PostgreSQL): at rest ${atRest.toFixed(0)} MB, peak during the cycle ${peak.toFixed(0)} MB (ratio ${(peak / atRest).toFixed(2)}); by PSS; at the peak this process ${peakAt.process.toFixed(0)} MB + PostgreSQL ${peakAt.postgres.toFixed(0)} MB (at rest ${rest.process.toFixed(0)} + ${rest.postgres.toFixed(0)}); RSS summed per process, which counts PostgreSQL's shared buffers once per backend: at rest ${rest.rssSum.toFixed(0)} MB, at the peak ${peakAt.rssSum.toFixed(0)} MB`);
    // Budgets: ratios to the handlers called directly in this run, and the work done (the cycle's
    // deliveries were checked above; the direct baseline ran the same jobs).
    const jobsRatio = jobsPerSecond / directJobsPerSecond;
    const queuedRatio = queuedDeliveriesPerSecond / directDeliveriesPerSecond;
    const worked = jobs.length === settled.jobs && settled.failed === 0;
    const ok = worked && jobsRatio >= CYCLE_JOBS_MIN_RATIO && queuedRatio >= CYCLE_DELIVERIES_MIN_RATIO;
    console.log('  (the platform figure includes SQS polling, the bucket watch and the queue hops; the direct ones are single-threaded calls)');
    console.log(`  budgets: jobs/s ratio >= ${CYCLE_JOBS_MIN_RATIO}, queued deliveries/s ratio >= ${CYCLE_DELIVERIES_MIN_RATIO}; same ${jobs.length} jobs in both, 0 failed: ${worked ? 'yes' : 'NO'}   ${ok ? 'PASS' : 'FAIL'}\n`);
    s3.destroy();
    sqs.destroy();
    await pool.end();
    return ok;
  } finally {
    await platform?.stop();
    rmSync(cwd, { recursive: true, force: true });
  }
}
