// Issue 25: `npm run bench capacity`. The forecast pipeline's unit costs at several sizes, from the
// real handlers on a real PostgreSQL 15, each also as a ratio to a baseline measured in the same run:
// - Batcher (processRun: manifest, the one set-based query, SendMessageBatch): per run and per tile;
// - eval worker (processRecord, the function its Lambda handler calls per record): per tile, per
//   watchpoint and per notification, and the Zarr GETs and bytes read per tile;
// - delivery (the email and webhook handlers, batches of the template's size): per notification.
// Baseline: the webhook handler invoked with one already-delivered notification (parse, one claim
// query, no send): the smallest real invocation.
// The fitted unit costs go into src/cli/capacity/measured.json (CAPACITY_WRITE=1), which
// `watchpoint capacity` and docs/capacity.md use. Then the model's local prediction is checked
// against whole cycles through `watchpoint dev`'s platform (startDevPlatform), and EXPLAIN ANALYZE of
// both queries is printed at the largest size.
//
// Sizes are configurable so a run stays within a few minutes on a shared machine:
//   CAPACITY_SIZES=10000,50000,200000   watchpoints
//   CAPACITY_SHARES=0.01,0.1            triggering share
//   CAPACITY_TILES=200                  tiles of 1 x 1 degree with watchpoints (Batcher also at 4x as many half-degree tiles)
//   CAPACITY_POINTS=32                  grid points per tile side (nowcast: 7 leads, 3 variables)
//   CAPACITY_EVAL_SAMPLE=25             eval jobs timed per size and share (evenly spread over the run's jobs)
//   CAPACITY_SAMPLE=200                 notifications delivered per channel and size
//   CAPACITY_VALIDATE=10000:0.1         whole cycles through the dev platform ("" for none)
//   CAPACITY_VALIDATE_TILES=50          tiles of the forecast those cycles run on
//   CAPACITY_WRITE=1                    write src/cli/capacity/measured.json
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageBatchCommand, PurgeQueueCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import pg from 'pg';
import { processRun, WATCHPOINTS_PER_TILE_SQL } from '../../src/lambdas/batcher/batcher.ts';
import { processRecord, WATCHPOINTS_IN_TILE_SQL } from '../../src/lambdas/eval-worker/worker.ts';
import { evaluateWatchpoint, type WatchpointRow } from '../../src/lambdas/eval-worker/evaluate.ts';
import { readTile, S3ZarrStore } from '../../src/lambdas/eval-worker/tile.ts';
import { createDeliveryHandler } from '../../src/lambdas/shared/delivery-handler.ts';
import { emailChannel } from '../../src/lambdas/email-worker/worker.ts';
import { webhookChannel } from '../../src/lambdas/webhook-worker/worker.ts';
import type { EvalJob, Manifest } from '../../src/lambdas/shared/messages.ts';
import { syntheticTiles, writeRun, type SyntheticGrid } from '../../src/dev/forecast.ts';
import { nonNegativeLeastSquares } from '../../src/cli/capacity/fit.ts';
import { predictLocalCycle, type MeasuredUnitCosts, type UnitCost } from '../../src/cli/capacity/model.ts';
import { drain, sqsRecord } from '../../test/pipeline/fixtures.ts';
import { createTestDatabase, startPostgres } from '../../test/helpers/postgres.ts';
import { median } from '../harness.ts';
import { node, root } from '../paths.ts';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const quiet = () => new Logger({ serviceName: 'bench', logLevel: 'SILENT' });

function list(name: string, fallback: string): number[] {
  const raw = process.env[name] ?? fallback;
  const values = raw.split(',').map((v) => v.trim()).filter(Boolean).map(Number);
  if (values.some((v) => !Number.isFinite(v) || v <= 0)) throw new Error(`${name}="${raw}": give positive numbers separated by commas`);
  return values;
}

const SIZES = list('CAPACITY_SIZES', '10000,50000,200000');
const SHARES = list('CAPACITY_SHARES', '0.01,0.1');
const TILES = list('CAPACITY_TILES', '200')[0]!;
const POINTS = list('CAPACITY_POINTS', '32')[0]!;
const SAMPLE = list('CAPACITY_SAMPLE', '200')[0]!;
const EVAL_SAMPLE = list('CAPACITY_EVAL_SAMPLE', '25')[0]!;
const VALIDATE_TILES = list('CAPACITY_VALIDATE_TILES', '50')[0]!;
const VALIDATE = (process.env.CAPACITY_VALIDATE ?? '10000:0.1')
  .split(',')
  .map((v) => v.trim())
  .filter(Boolean)
  .map((pair) => {
    const [n, p] = pair.split(':').map(Number);
    if (!n || !p || p > 1) throw new Error(`CAPACITY_VALIDATE "${pair}": give size:share, e.g. 10000:0.1`);
    return { watchpoints: n, share: p };
  });

/** 1 x 1 degree tiles, 20 per row from 35 N, 10 W: the area the watchpoints are spread over. */
function grid(tiles: number, tileDegrees = 1): SyntheticGrid {
  const columns = Math.round(20 / tileDegrees);
  return { latMin: 35, lonMin: -10, tileDegrees, columns, tiles, pointsPerSide: POINTS };
}

interface Servers {
  aws: string;
  ses: string;
  hook: string;
  child: ChildProcess;
}

async function startServers(): Promise<Servers> {
  const child = spawn(node, [join(root, 'bench', 'suites', 'capacity-servers.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`capacity servers exited ${code} before answering`)));
  });
  return { ...(JSON.parse(line) as { aws: string; ses: string; hook: string }), child };
}

async function stopServers(servers: Servers | undefined): Promise<void> {
  if (!servers || servers.child.exitCode !== null) return;
  const exited = new Promise((resolve) => servers.child.once('exit', resolve));
  servers.child.stdin!.end();
  const timer = setTimeout(() => servers.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Wall time and this process's CPU time (user + system) of one call. */
async function timed<T>(body: () => Promise<T>): Promise<{ value: T; ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await body();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { value, ms, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * Spread over the grid's area. `code` (0-99) decides, per share, who triggers: a watchpoint whose
 * code is below share * 100 gets a threshold no temperature reaches from below (-1000), the others
 * one it never exceeds (1000). Channels alternate email / webhook among consecutive codes' blocks,
 * so each share's triggering watchpoints are half email, half webhook.
 */
async function seed(pool: pg.Pool, count: number, hook: string): Promise<void> {
  await pool.query('TRUNCATE watchpoints CASCADE');
  await pool.query(
    `INSERT INTO watchpoints (name, latitude, longitude, variable, condition, threshold, window_end_hours, channels)
     SELECT 'capacity ' || i, 35 + random() * 10, -10 + random() * 20, 'temperature_2m', 'gt', 1000 + i % 100, 6,
            CASE WHEN (i / 100) % 2 = 0 THEN jsonb_build_array(jsonb_build_object('type', 'email', 'address', 'wp' || i || '@example.com'))
                 ELSE jsonb_build_array(jsonb_build_object('type', 'webhook', 'url', $2::text)) END
       FROM generate_series(0, $1 - 1) AS i`,
    [count, hook],
  );
}

async function setShare(pool: pg.Pool, share: number): Promise<void> {
  await pool.query('UPDATE watchpoints SET threshold = CASE WHEN abs(threshold) - 1000 < $1 THEN -abs(threshold) ELSE abs(threshold) END', [Math.round(share * 100)]);
  await pool.query('VACUUM ANALYZE watchpoints');
}

/** Up to `max` messages, received and deleted (the handlers are called with them directly). */
async function receiveUpTo(sqs: SQSClient, queueUrl: string, max: number): Promise<Message[]> {
  const all: Message[] = [];
  while (all.length < max) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: Math.min(10, max - all.length), WaitTimeSeconds: 0, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
    if (Messages.length === 0) break;
    all.push(...Messages);
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  return all;
}

interface EvalPoint {
  watchpoints: number;
  notifications: number;
  ms: number;
  cpuMs: number;
  dbMs: number;
  gets: number;
  bytes: number;
}

interface SizeResult {
  watchpoints: number;
  share: number;
  baselineMs: number;
  batcher: { tiles: number; runMs: number; queryMs: number; cpuMs: number; jobs: number; dbCpuMs: number }[];
  eval: EvalPoint[];
  delivery: Record<'email' | 'webhook', { notifications: number; ms: number; cpuMs: number; dbMs: number; dbCpuMs: number }>;
  /** evaluateWatchpoint alone, µs of CPU per watchpoint. */
  pureEvalCpuUsPerWatchpoint?: number;
  /** PostgreSQL's CPU over the timed eval jobs, ms. */
  evalDbCpuMs?: number;
  /** Eval jobs the Batcher enqueued (a sample of them is timed). */
  jobs?: number;
  /** CPU the S3/SQS stand-ins spent per eval job (their process), ms. */
  serversCpuMsPerTile?: number;
}

/**
 * The pure core alone (evaluateWatchpoint over the densest sampled tile's rows, repeated until at
 * least 200 ms of CPU): µs of CPU per watchpoint, far below what one eval job's noise can show.
 */
async function pureEvaluationCost(s3: S3Client, pool: pg.Pool, jobs: Message[]): Promise<number> {
  const parsed = jobs.map((m) => JSON.parse(m.Body ?? '{}') as EvalJob).sort((a, b) => b.watchpoints - a.watchpoints);
  const job = parsed[0];
  if (!job) return 0;
  const tile = await readTile(new S3ZarrStore(s3, job.bucket, job.tile.key), job.tile.variables, job.tile.checksum);
  const b = job.tile.bounds;
  const { rows } = await pool.query<WatchpointRow>(WATCHPOINTS_IN_TILE_SQL, [b.lat_min, b.lat_max, b.lon_min, b.lon_max]);
  if (rows.length === 0) return 0;
  let evaluated = 0;
  let sink = 0;
  const cpu = process.cpuUsage();
  for (;;) {
    for (const row of rows) sink += evaluateWatchpoint(tile, row).status.length;
    evaluated += rows.length;
    const used = process.cpuUsage(cpu);
    if (used.user + used.system >= 200_000) return (used.user + used.system) / evaluated + (sink < 0 ? 1 : 0);
  }
}

/** CPU (ms) of the PostgreSQL server: the postmaster and every backend and worker under it. */
function postgresCpuMs(postmaster: number): number {
  let total = processCpuMs(postmaster);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) === postmaster) total += processCpuMs(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  return total;
}

/** utime + stime of a process from /proc, in ms (0 when it cannot be read). */
function processCpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

/** Ctrl-C or SIGTERM: stop at the next step, so `finally` stops everything this bench started. */
function interruptible(): { check(): void; release(): void } {
  let signal: string | undefined;
  const on = (name: string) => () => {
    if (signal) process.exit(130);
    signal = name;
    console.error(`capacity: ${name}, stopping after this step and cleaning up (again to exit at once)`);
  };
  const int = on('SIGINT');
  const term = on('SIGTERM');
  process.on('SIGINT', int);
  process.on('SIGTERM', term);
  return {
    check: () => {
      if (signal) throw new Error(`capacity bench interrupted (${signal})`);
    },
    release: () => {
      process.off('SIGINT', int);
      process.off('SIGTERM', term);
    },
  };
}

export async function capacity(): Promise<boolean> {
  const started = performance.now();
  const stopOnSignal = interruptible();
  let servers: Servers | undefined;
  let postgres: Awaited<ReturnType<typeof startPostgres>> | undefined;
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  const clients: { destroy(): void }[] = [];
  try {
    [servers, postgres] = await Promise.all([startServers(), startPostgres()]);
    db = await createTestDatabase(postgres.url);
    const pool = db.pool;
    const backend = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const postmaster = Number(readFileSync(`/proc/${backend}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    const s3 = new S3Client({ region: REGION, endpoint: servers.aws, credentials: CREDENTIALS, forcePathStyle: true });
    const sqs = new SQSClient({ region: REGION, endpoint: servers.aws, credentials: CREDENTIALS });
    const ses = new SESv2Client({ region: REGION, endpoint: servers.ses, credentials: CREDENTIALS });
    clients.push(s3, sqs, ses);
    // Every GetObject the eval worker makes, and its bytes (Content-Length of the answer).
    const reads = { gets: 0, bytes: 0 };
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === 'GetObjectCommand') {
          reads.gets += 1;
          reads.bytes += Number((out.response as { headers?: Record<string, string> }).headers?.['content-length'] ?? 0);
        }
        return out;
      },
      { step: 'deserialize', name: 'capacityReadCounter' },
    );
    const bucket = 'capacity-forecasts';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const queue = async (name: string) => (await sqs.send(new CreateQueueCommand({ QueueName: `capacity-${name}` }))).QueueUrl!;
    const [jobsQueue, emailQueue, webhookQueue, deadQueue] = (await Promise.all(['jobs', 'email', 'webhook', 'dead'].map(queue))) as [string, string, string, string];

    const { readTemplateSettings } = await import('../../src/cli/capacity/settings.ts');
    const settings = await readTemplateSettings({ envName: 'capacity', stage: { region: REGION, alertEmail: 'oncall@example.com', runPodEndpointId: 'capacitybench' } });
    const emailBatch = settings.functions.email.batchSize;
    const webhookBatch = settings.functions.webhook.batchSize;

    // The forecast: one nowcast run with data (eval), and a manifest-only run at 4x the tiles (Batcher).
    const written = await timed(() => writeRun(s3, bucket, { forecastType: 'nowcast', runId: '2026-12-01T0000Z', issuedAt: '2026-12-01T00:00:00Z', tiles: syntheticTiles('nowcast', grid(TILES), []), success: false }));
    const run = written.value;
    const fine = syntheticTiles('nowcast', grid(TILES * 4, 0.5), []).map((t) => ({ id: t.id, path: `tiles/${t.id}.zarr`, bounds: t.bounds, variables: Object.keys(t.variables), checksum: `sha256:${'0'.repeat(64)}` }));
    const fineManifest: Manifest = { version: 1, run_id: '2026-12-01T0015Z', forecast_type: 'nowcast', issued_at: '2026-12-01T00:15:00Z', tiles: fine };
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `nowcast/${fineManifest.run_id}/manifest.json`, Body: JSON.stringify(fineManifest) }));
    console.log(`capacity: the forecast written (${TILES} tiles, ${POINTS} x ${POINTS} points, 7 leads, 3 variables) in ${(written.ms / 1000).toFixed(1)} s; machine ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

    // Time inside PostgreSQL calls (the queries' wall time, round trip included), whatever the handler.
    const dbTimer = { ms: 0 };
    const timedPool = new Proxy(pool, {
      get: (target, property, receiver) =>
        property === 'query'
          ? async (text: string, values?: unknown[]) => {
              const t = performance.now();
              try {
                return await target.query(text, values);
              } finally {
                dbTimer.ms += performance.now() - t;
              }
            }
          : Reflect.get(target, property, receiver),
    });
    const batcherDeps = { pool: async () => timedPool, s3, sqs, queues: { urgent: jobsQueue, standard: jobsQueue }, logger: quiet() };
    const evalDeps = { pool: async () => timedPool, s3, sqs, queues: { email: emailQueue, webhook: webhookQueue, deadLetter: deadQueue }, logger: quiet() };
    const email = createDeliveryHandler(() => ({ pool: async () => timedPool, logger: quiet(), channel: emailChannel({ ses, sender: async () => 'WatchPoint <alerts@example.com>' }) }));
    const webhook = createDeliveryHandler(() => ({ pool: async () => timedPool, logger: quiet(), channel: webhookChannel({ policy: { allowLoopback: true } }) }));

    const results: SizeResult[] = [];
    for (const watchpoints of SIZES) {
      stopOnSignal.check();
      const seeded = await timed(() => seed(pool, watchpoints, servers!.hook));
      for (const share of SHARES) {
        await setShare(pool, share);
        await pool.query('TRUNCATE notification_records');
        const result: SizeResult = { watchpoints, share, baselineMs: 0, batcher: [], eval: [], delivery: { email: { notifications: 0, ms: 0, cpuMs: 0, dbMs: 0, dbCpuMs: 0 }, webhook: { notifications: 0, ms: 0, cpuMs: 0, dbMs: 0, dbCpuMs: 0 } } };

        // Batcher: both runs, 3 times each, the median kept; the jobs of the data run are evaluated.
        let jobs: Message[] = [];
        for (const [runId, tiles] of [[run.runId, TILES], [fineManifest.run_id, TILES * 4]] as const) {
          const samples = [];
          const pgBefore = postgresCpuMs(postmaster);
          for (let i = 0; i < 3; i += 1) {
            stopOnSignal.check();
            dbTimer.ms = 0;
            const t = await timed(() => processRun(bucket, `nowcast/${runId}/_SUCCESS`, batcherDeps));
            samples.push({ tiles, runMs: t.ms, queryMs: dbTimer.ms, cpuMs: t.cpuMs, jobs: t.value.status === 'enqueued' ? t.value.jobs : 0 });
            const drained = await drain(sqs, jobsQueue);
            if (runId === run.runId) jobs = drained;
          }
          const pgPerRun = (postgresCpuMs(postmaster) - pgBefore) / samples.length;
          result.batcher.push({ ...samples.sort((a, b) => a.runMs - b.runMs)[1]!, dbCpuMs: pgPerRun });
        }

        // Eval: every job once, each timed on its own; the stand-ins' CPU (S3 GETs, SQS sends) beside.
        const serversCpuBefore = processCpuMs(servers.child.pid);
        const pgEvalBefore = postgresCpuMs(postmaster);
        // A spread-out sample of the jobs (their notifications feed the delivery sample below).
        const every = Math.max(1, Math.floor(jobs.length / EVAL_SAMPLE));
        const sampled = jobs.filter((_, i) => i % every === 0).slice(0, EVAL_SAMPLE);
        for (const job of sampled) {
          stopOnSignal.check();
          reads.gets = 0;
          reads.bytes = 0;
          dbTimer.ms = 0;
          const t = await timed(() => processRecord(sqsRecord(job), evalDeps));
          if (t.value.status !== 'done') throw new Error(`eval job ${t.value.jobId} was ${t.value.status}`);
          result.eval.push({ watchpoints: t.value.watchpoints, notifications: t.value.enqueued, ms: t.ms, cpuMs: t.cpuMs, dbMs: dbTimer.ms, gets: reads.gets, bytes: reads.bytes });
        }
        result.evalDbCpuMs = postgresCpuMs(postmaster) - pgEvalBefore;
        result.jobs = jobs.length;
        result.pureEvalCpuUsPerWatchpoint = await pureEvaluationCost(s3, pool, sampled);
        result.serversCpuMsPerTile = (processCpuMs(servers.child.pid) - serversCpuBefore) / Math.max(1, sampled.length);

        // Delivery: a sample of each channel's notifications, in batches of the template's size.
        let delivered: Message | undefined;
        for (const [channel, queueUrl, handler, batch] of [['email', emailQueue, email, emailBatch], ['webhook', webhookQueue, webhook, webhookBatch]] as const) {
          const messages = await receiveUpTo(sqs, queueUrl, SAMPLE);
          await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
          stopOnSignal.check();
          dbTimer.ms = 0;
          const pgBefore = postgresCpuMs(postmaster);
          const t = await timed(async () => {
            for (let i = 0; i < messages.length; i += batch) {
              const response = await handler({ Records: messages.slice(i, i + batch).map((m) => sqsRecord(m)) });
              if (response.batchItemFailures.length > 0) throw new Error(`${channel} delivery: ${response.batchItemFailures.length} failure(s)`);
            }
          });
          result.delivery[channel] = { notifications: messages.length, ms: t.ms, cpuMs: t.cpuMs, dbMs: dbTimer.ms, dbCpuMs: postgresCpuMs(postmaster) - pgBefore };
          if (channel === 'webhook') delivered = messages[0];
        }

        // Baseline: the webhook handler on an already-delivered notification, 30 times.
        if (delivered) {
          const record = sqsRecord(delivered);
          const samples = [];
          for (let i = 0; i < 30; i += 1) samples.push((await timed(() => webhook({ Records: [record] }))).ms);
          result.baselineMs = median(samples);
        }
        results.push(result);
        printSize(result, seeded.ms);
      }
    }

    // EXPLAIN ANALYZE at the largest size (its last share), both queries.
    const largest = results.at(-1)!;
    const bounds = run.manifest.tiles.map((t) => t.bounds);
    const plan = async (sql: string, values: unknown[]) => (await pool.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, values)).rows.map((r: Record<string, string>) => `    ${r['QUERY PLAN']}`).join('\n');
    console.log(`EXPLAIN ANALYZE at ${largest.watchpoints.toLocaleString('en')} watchpoints, Batcher query over ${TILES} tiles:`);
    console.log(await plan(WATCHPOINTS_PER_TILE_SQL, [bounds.map((b) => b.lat_min), bounds.map((b) => b.lat_max), bounds.map((b) => b.lon_min), bounds.map((b) => b.lon_max)]));
    const b0 = bounds[0]!;
    console.log('EXPLAIN ANALYZE, eval worker query for one tile:');
    console.log(await plan(WATCHPOINTS_IN_TILE_SQL, [b0.lat_min, b0.lat_max, b0.lon_min, b0.lon_max]));

    const units = fitUnits(results, { tileShape: `${POINTS}x${POINTS} points, 7 leads, 3 variables (float32, zstd)` });
    printUnits(units, results);
    // It fails when a stage produced nothing to measure, or the notifications are not the share asked.
    const problems = results.flatMap((r) => {
      const evaluated = r.eval.reduce((s, e) => s + e.watchpoints, 0);
      const notified = r.eval.reduce((s, e) => s + e.notifications, 0);
      const expected = evaluated * r.share;
      return [
        ...(r.eval.length === 0 || r.batcher.some((b) => b.jobs === 0) ? [`${r.watchpoints}/${r.share}: no jobs`] : []),
        ...(Math.abs(notified - expected) > 0.25 * expected + 10 ? [`${r.watchpoints}/${r.share}: ${notified} notifications for ${evaluated} watchpoints at ${r.share}`] : []),
        ...(r.delivery.email.notifications === 0 || r.delivery.webhook.notifications === 0 ? [`${r.watchpoints}/${r.share}: a channel delivered nothing`] : []),
      ];
    });
    for (const problem of problems) console.log(`  FAIL ${problem}`);
    let ok = problems.length === 0;

    // Validation: whole cycles through the dev platform, against the model's local prediction.
    const validation = [];
    for (const point of VALIDATE) stopOnSignal.check(), validation.push(await validateOnPlatform(point, units, settings));
    for (const v of validation) if (v.failed > 0 || v.notifications === 0) (ok = false), console.log(`  FAIL validation cycle at ${v.watchpoints}: ${v.notifications} notifications, ${v.failed} failed`);
    if (validation.length > 0) {
      console.log('Validation: the model\'s local prediction vs a whole cycle through `watchpoint dev` (startDevPlatform, 2 eval containers)');
      console.log('  watchpoints  share  jobs  notifications  predicted s  measured s  difference');
      for (const v of validation) {
        const p = v.predictedStagesMs;
        const m = v.measuredStagesMs;
        console.log(`  ${v.watchpoints.toLocaleString('en').padStart(11)}  ${`${(v.share * 100).toFixed(0)}%`.padStart(5)}  ${String(v.jobs).padStart(4)}  ${String(v.notifications).padStart(13)}  ${(v.predictedMs / 1000).toFixed(1).padStart(11)}  ${(v.measuredMs / 1000).toFixed(1).padStart(10)}  ${`${v.differencePercent >= 0 ? '+' : ''}${v.differencePercent.toFixed(0)}%`.padStart(10)}`);
        console.log(`     CPU of the platform process (handlers, stand-ins, pollers): predicted ${(v.predictedCpuMs / 1000).toFixed(1)} s, measured ${(v.measuredCpuMs / 1000).toFixed(1)} s (${v.measuredCpuMs >= v.predictedCpuMs ? '+' : ''}${((100 * (v.measuredCpuMs - v.predictedCpuMs)) / v.predictedCpuMs).toFixed(0)}% measured over predicted)`);
        console.log(`     stages predicted: Batcher ${(p.batcher / 1000).toFixed(1)} s, eval ${(p.eval / 1000).toFixed(1)} s, delivery ${(Math.max(p.email, p.webhook) / 1000).toFixed(1)} s   measured: _SUCCESS to ForecastReady ${(m.batcher / 1000).toFixed(1)} s, eval ${(m.eval / 1000).toFixed(1)} s, delivery after the last job ${(m.deliveryAfterEval / 1000).toFixed(1)} s; main thread (gateway, fauxqs, pollers) busy ${(v.mainThreadBusy * 100).toFixed(0)}%, process CPU ${v.processCores.toFixed(2)} cores, load ${loadavg()[0]!.toFixed(1)}`);
      }
    }
    if (process.env.CAPACITY_WRITE === '1') {
      const file = join(root, 'src', 'cli', 'capacity', 'measured.json');
      const measured: MeasuredUnitCosts = { ...units, validation };
      writeFileSync(file, `${JSON.stringify(measured, null, 2)}\n`);
      console.log(`wrote ${file}`);
    }
    console.log(`capacity bench: ${((performance.now() - started) / 1000).toFixed(0)} s in all\n`);
    return ok;
  } finally {
    for (const client of clients) client.destroy();
    await db?.drop().catch(() => undefined);
    await postgres?.stop();
    await stopServers(servers);
    stopOnSignal.release();
  }
}

function printSize(r: SizeResult, seedMs: number): void {
  const evalMs = r.eval.reduce((s, e) => s + e.ms, 0);
  const wps = r.eval.reduce((s, e) => s + e.watchpoints, 0);
  const notes = r.eval.reduce((s, e) => s + e.notifications, 0);
  const bytes = r.eval.reduce((s, e) => s + e.bytes, 0);
  const base = r.baselineMs;
  const ratio = (ms: number) => `${(ms / base).toFixed(1)}x`;
  console.log(`${r.watchpoints.toLocaleString('en')} watchpoints, ${(r.share * 100).toFixed(0)}% triggering (seeded in ${(seedMs / 1000).toFixed(1)} s); baseline (empty webhook invocation) ${base.toFixed(2)} ms`);
  for (const b of r.batcher) {
    console.log(`  Batcher ${String(b.tiles).padStart(4)} tiles: run ${b.runMs.toFixed(0).padStart(6)} ms (${ratio(b.runMs)})  query ${b.queryMs.toFixed(1).padStart(6)} ms (${(b.queryMs / b.tiles).toFixed(3)} ms/tile)  run per tile ${(b.runMs / b.tiles).toFixed(3)} ms  ${b.jobs} jobs  cpu ${(100 * b.cpuMs / b.runMs).toFixed(0)}%`);
  }
  console.log(`  eval    ${r.eval.length} of ${r.jobs ?? r.eval.length} jobs timed, the S3/SQS stand-ins' CPU per tile ${(r.serversCpuMsPerTile ?? 0).toFixed(1)} ms; ${evalMs.toFixed(0).padStart(6)} ms  per tile ${(evalMs / r.eval.length).toFixed(2)} ms (${ratio(evalMs / r.eval.length)})  per watchpoint ${(1000 * evalMs / wps).toFixed(1)} µs  ${notes} notifications  ${(bytes / r.eval.length / 1024).toFixed(1)} KB and ${(r.eval.reduce((s, e) => s + e.gets, 0) / r.eval.length).toFixed(1)} GETs per tile  handler cpu ${(100 * r.eval.reduce((s, e) => s + e.cpuMs, 0) / evalMs).toFixed(0)}%`);
  for (const channel of ['email', 'webhook'] as const) {
    const d = r.delivery[channel];
    if (d.notifications > 0) console.log(`  ${channel.padEnd(7)} ${String(d.notifications).padStart(4)} delivered: per notification ${(d.ms / d.notifications).toFixed(2)} ms (${ratio(d.ms / d.notifications)})  cpu ${(100 * d.cpuMs / d.ms).toFixed(0)}%`);
  }
}

type Units = Omit<MeasuredUnitCosts, 'validation'>;

/** The same regression for wall time and this process's CPU, point by point; PostgreSQL's CPU (read from /proc, 10 ms ticks) over sums of points. */
function fit3(x: number[][], points: { ms: number; cpuMs: number }[], dbRows: { x: number[]; dbCpuMs: number }[]): { units: UnitCost[]; fit: { r2: number; rmseMs: number; points: number } } {
  const wall = nonNegativeLeastSquares(x, points.map((p) => p.ms));
  const cpu = nonNegativeLeastSquares(x, points.map((p) => p.cpuMs));
  // Too few sums for every column (a small CAPACITY_* run): PostgreSQL's CPU on the first column only.
  const columns = dbRows.length >= (x[0]?.length ?? 0) ? x[0]!.length : 1;
  const fitted = nonNegativeLeastSquares(dbRows.map((r) => r.x.slice(0, columns)), dbRows.map((r) => r.dbCpuMs));
  const dbCpu = { coefficients: x[0]!.map((_, i) => fitted.coefficients[i] ?? 0) };
  return { units: wall.coefficients.map((w, i) => ({ wallMs: w, cpuMs: cpu.coefficients[i]!, dbMs: dbCpu.coefficients[i]! })), fit: { r2: wall.r2, rmseMs: wall.rmse, points: points.length } };
}

/** The unit costs, fitted over every measured point. */
function fitUnits(results: SizeResult[], info: { tileShape: string }): Units {
  const batcherPoints = results.flatMap((r) => r.batcher.map((b) => ({ ...b, watchpoints: r.watchpoints, ms: b.runMs })));
  const batcher = fit3(batcherPoints.map((b) => [1, b.tiles, b.watchpoints]), batcherPoints, batcherPoints.map((b) => ({ x: [1, b.tiles, b.watchpoints], dbCpuMs: b.dbCpuMs })));
  const evalPoints = results.flatMap((r) => r.eval);
  const evalDbRows = results.map((r) => ({ x: [r.eval.length, r.eval.reduce((s, e) => s + e.watchpoints, 0), r.eval.reduce((s, e) => s + e.notifications, 0)], dbCpuMs: r.evalDbCpuMs ?? 0 }));
  const evalFit = fit3(evalPoints.map((e) => [1, e.watchpoints, e.notifications]), evalPoints, evalDbRows);
  // Per watchpoint, the pure core's CPU (measured on its own) is a floor the noisy per-job fit cannot see under.
  const pure = median(results.map((r) => r.pureEvalCpuUsPerWatchpoint ?? 0)) / 1000;
  const perWatchpoint = evalFit.units[1]!;
  evalFit.units[1] = { wallMs: Math.max(perWatchpoint.wallMs, pure), cpuMs: Math.max(perWatchpoint.cpuMs, pure), dbMs: perWatchpoint.dbMs };
  const sum = <T>(items: T[], f: (item: T) => number) => items.reduce((s, i) => s + f(i), 0);
  const channel = (c: 'email' | 'webhook') => {
    const rows = results.map((r) => r.delivery[c]).filter((d) => d.notifications > 0);
    const n = Math.max(1, sum(rows, (d) => d.notifications));
    return { perNotification: { wallMs: sum(rows, (d) => d.ms) / n, cpuMs: sum(rows, (d) => d.cpuMs) / n, dbMs: sum(rows, (d) => d.dbCpuMs) / n }, samples: sum(rows, (d) => d.notifications) };
  };
  return {
    schemaVersion: 1,
    measuredAt: new Date().toISOString(),
    machine: { cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`, node: process.version, loadAverage: loadavg()[0]! },
    tileShape: info.tileShape,
    baselineMs: median(results.map((r) => r.baselineMs)),
    batcher: { fixed: batcher.units[0]!, perTile: batcher.units[1]!, perWatchpoint: batcher.units[2]!, fit: batcher.fit },
    eval: {
      perTile: evalFit.units[0]!,
      perWatchpoint: evalFit.units[1]!,
      perNotification: evalFit.units[2]!,
      bytesPerTile: sum(evalPoints, (e) => e.bytes) / evalPoints.length,
      getsPerTile: sum(evalPoints, (e) => e.gets) / evalPoints.length,
      pureCpuMsPerWatchpoint: pure,
      standInCpuMsPerTile: median(results.map((r) => r.serversCpuMsPerTile ?? 0)),
      fit: evalFit.fit,
    },
    delivery: { email: channel('email'), webhook: channel('webhook') },
    measurements: results.map((r) => ({
      watchpoints: r.watchpoints,
      share: r.share,
      baselineMs: r.baselineMs,
      batcher: r.batcher,
      eval: { jobs: r.jobs ?? r.eval.length, timed: r.eval.length, ms: sum(r.eval, (e) => e.ms), cpuMs: sum(r.eval, (e) => e.cpuMs), dbCallsMs: sum(r.eval, (e) => e.dbMs), dbCpuMs: r.evalDbCpuMs ?? 0, watchpoints: sum(r.eval, (e) => e.watchpoints), notifications: sum(r.eval, (e) => e.notifications), bytes: sum(r.eval, (e) => e.bytes), gets: sum(r.eval, (e) => e.gets), serversCpuMsPerTile: r.serversCpuMsPerTile ?? 0 },
      delivery: r.delivery,
    })),
  };
}

function printUnits(u: Units, results: SizeResult[]): void {
  const base = u.baselineMs;
  const cost = (c: UnitCost, scale = 1, unit = 'ms') => `${(c.wallMs * scale).toFixed(scale === 1 ? 2 : 2)} ${unit} (cpu ${(c.cpuMs * scale).toFixed(2)}, PostgreSQL cpu ${(c.dbMs * scale).toFixed(2)})`;
  console.log('Unit costs on this machine, fitted over every measured point: wall (this process\'s CPU, PostgreSQL\'s CPU); [ratio to the baseline invocation]');
  console.log(`  Batcher  per run ${cost(u.batcher.fixed)} + per tile ${cost(u.batcher.perTile)} + per watchpoint ${cost(u.batcher.perWatchpoint, 1000, 'µs')}   (R² ${u.batcher.fit.r2.toFixed(3)}, ${u.batcher.fit.points} runs)`);
  console.log(`  eval     per tile ${cost(u.eval.perTile)} [${(u.eval.perTile.wallMs / base).toFixed(1)}x] + per watchpoint ${cost(u.eval.perWatchpoint, 1000, 'µs')} + per notification ${cost(u.eval.perNotification)}   (R² ${u.eval.fit.r2.toFixed(3)}, rmse ${u.eval.fit.rmseMs.toFixed(1)} ms, ${u.eval.fit.points} jobs)`);
  console.log(`           ${(u.eval.bytesPerTile / 1024).toFixed(1)} KB of Zarr in ${u.eval.getsPerTile.toFixed(1)} GETs per tile; evaluateWatchpoint alone ${(u.eval.pureCpuMsPerWatchpoint * 1000).toFixed(2)} µs CPU per watchpoint; the S3/SQS stand-ins' CPU ${u.eval.standInCpuMsPerTile.toFixed(1)} ms per tile`);
  for (const c of ['email', 'webhook'] as const) console.log(`  ${c.padEnd(8)} per notification ${cost(u.delivery[c].perNotification)} [${(u.delivery[c].perNotification.wallMs / base).toFixed(1)}x], ${u.delivery[c].samples} delivered`);
  // Growth: each per-unit cost at each size against the smallest size's (1.00 = grows linearly).
  console.log('Growth: cost per unit at each size / at the smallest size with the same share (1.00: the total grows linearly; above: faster)');
  for (const share of SHARES) {
    const rows = results.filter((r) => r.share === share);
    const first = rows[0]!;
    const evalPerWp = (r: SizeResult) => r.eval.reduce((s, e) => s + e.ms, 0) / Math.max(1, r.eval.reduce((s, e) => s + e.watchpoints, 0));
    const evalCpuPerWp = (r: SizeResult) => r.eval.reduce((s, e) => s + e.cpuMs, 0) / Math.max(1, r.eval.reduce((s, e) => s + e.watchpoints, 0));
    const queryPerWp = (r: SizeResult) => r.batcher[0]!.queryMs / r.watchpoints;
    const perNote = (r: SizeResult, c: 'email' | 'webhook') => r.delivery[c].ms / Math.max(1, r.delivery[c].notifications);
    for (const r of rows) {
      console.log(`  ${(share * 100).toFixed(0).padStart(2)}% ${r.watchpoints.toLocaleString('en').padStart(9)}: Batcher query/watchpoint ${(queryPerWp(r) / queryPerWp(first)).toFixed(2)}   eval/watchpoint ${(evalPerWp(r) / evalPerWp(first)).toFixed(2)} (cpu ${(evalCpuPerWp(r) / evalCpuPerWp(first)).toFixed(2)})   email/notification ${(perNote(r, 'email') / perNote(first, 'email')).toFixed(2)}   webhook/notification ${(perNote(r, 'webhook') / perNote(first, 'webhook')).toFixed(2)}`);
    }
  }
}

/** CPU the platform's process needs for a cycle by the unit costs: handlers and the S3/SQS stand-ins (PostgreSQL is another process). */
function predictLocalCpu(u: Units, c: { watchpoints: number; jobs: number; emails: number; webhooks: number }): number {
  const perJob = c.jobs === 0 ? 0 : c.watchpoints / c.jobs;
  const notesPerJob = c.jobs === 0 ? 0 : (c.emails + c.webhooks) / c.jobs;
  const batcher = u.batcher.fixed.cpuMs + u.batcher.perTile.cpuMs * c.jobs + u.batcher.perWatchpoint.cpuMs * c.watchpoints;
  const evalCpu = c.jobs * (u.eval.perTile.cpuMs + u.eval.perWatchpoint.cpuMs * perJob + u.eval.perNotification.cpuMs * notesPerJob + u.eval.standInCpuMsPerTile);
  return batcher + evalCpu + c.emails * u.delivery.email.perNotification.cpuMs + c.webhooks * u.delivery.webhook.perNotification.cpuMs;
}

/** One whole cycle through the dev platform at this size, and the model's prediction for it. */
async function validateOnPlatform(point: { watchpoints: number; share: number }, units: Units, settings: Awaited<ReturnType<typeof import('../../src/cli/capacity/settings.ts').readTemplateSettings>>) {
  const { startDevPlatform, LOCAL_CREDENTIALS } = await import('../../src/dev/platform.ts');
  const { waitUntil } = await import('../../src/dev/once.ts');
  const cwd = mkdtempSync(join(tmpdir(), 'watchpoint-bench-capacity-dev-'));
  const EVAL_CONTAINERS = 2;
  // Stage boundaries from the handlers' own log lines: ForecastReady, each EvalJobDone, each delivery.
  const marks = { ready: 0, lastEval: 0, lastDelivery: 0 };
  const log = (line: string) => {
    const now = performance.now();
    if (line.includes(' ForecastReady')) marks.ready = now;
    else if (line.includes(' EvalJobDone')) marks.lastEval = now;
    else if (line.includes(' Notification delivered')) marks.lastDelivery = now;
  };
  const platform = await startDevPlatform({ cwd, speed: 1, allowLoopbackWebhooks: true, runSchedulesAtStart: false, evalConcurrency: EVAL_CONTAINERS, grid: grid(VALIDATE_TILES), log });
  const pool = new pg.Pool({ connectionString: platform.databaseUrl, max: 2 });
  const s3 = new S3Client({ region: platform.state.region, endpoint: platform.state.endpoint, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  try {
    await seed(pool, point.watchpoints, `${platform.receiver.url}/capacity`);
    await setShare(pool, point.share);
    const bucket = Object.values(platform.buckets).find((name) => name.includes('forecastbucket'))!;
    const runId = '2026-12-02T0000Z';
    await writeRun(s3, bucket, { forecastType: 'nowcast', runId, issuedAt: '2026-12-02T00:00:00Z', tiles: syntheticTiles('nowcast', grid(VALIDATE_TILES), []), success: false });
    const elu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `nowcast/${runId}/_SUCCESS`, Body: new Uint8Array(0) }));
    const settled = await waitUntil('the cycle to settle', 480_000, async () => {
      const c = platform.cycles.cycles.get(`nowcast/${runId}`);
      return c && c.jobsDone >= c.jobs && c.delivered + c.failed >= c.notifications ? { ...c } : undefined;
    }, 50);
    const measuredMs = performance.now() - t0;
    // The platform runs in this process: its main thread serves S3, SQS and SES for every container.
    const mainThreadBusy = performance.eventLoopUtilization(elu).utilization;
    const used = process.cpuUsage(cpu);
    const processCores = (used.user + used.system) / 1000 / measuredMs;
    const { rows } = await pool.query<{ channel: string; n: number }>(`SELECT split_part(channel, ':', 1) AS channel, count(*)::int AS n FROM notification_records GROUP BY 1`);
    const byChannel = Object.fromEntries(rows.map((r) => [r.channel, r.n]));
    const cycleShape = { watchpoints: point.watchpoints, jobs: settled.jobs, emails: byChannel.email ?? 0, webhooks: byChannel.webhook ?? 0 };
    const predictedCpuMs = predictLocalCpu(units, cycleShape);
    const predicted = predictLocalCycle(units, {
      watchpoints: point.watchpoints,
      jobs: settled.jobs,
      tiles: settled.tiles,
      emails: byChannel.email ?? 0,
      webhooks: byChannel.webhook ?? 0,
      evalContainers: EVAL_CONTAINERS,
    });
    const measuredStagesMs = { batcher: marks.ready - t0, eval: marks.lastEval - marks.ready, deliveryAfterEval: Math.max(0, marks.lastDelivery - marks.lastEval) };
    return { watchpoints: point.watchpoints, share: point.share, jobs: settled.jobs, notifications: settled.notifications, failed: settled.failed, predictedMs: predicted.totalMs, predictedStagesMs: predicted.stagesMs, measuredMs, measuredStagesMs, mainThreadBusy, processCores, predictedCpuMs, measuredCpuMs: (used.user + used.system) / 1000, differencePercent: (100 * (predicted.totalMs - measuredMs)) / measuredMs };
  } finally {
    s3.destroy();
    await pool.end();
    await platform.stop();
    rmSync(cwd, { recursive: true, force: true });
  }
}
