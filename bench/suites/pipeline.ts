// Issue 8: the forecast pipeline's figures.
// - pipeline-batcher: a 2,000-tile run with 100,000 active watchpoints (PostgreSQL + fauxqs): jobs/s
//   and queries per run, against a naive one-query-per-tile baseline measured in the same run.
// - pipeline-eval: the eval worker on one tile with 1,000 watchpoints: the pure evaluation, and the
//   whole job (S3 Zarr read + checksum, query, evaluate, claim, enqueue), each as a ratio to reading
//   and verifying the tile alone in the same run, and only when evaluation triggered something and
//   the job enqueued one notification per trigger (absolute 50 ms / 2,000 ms limits passed or failed
//   with the machine's load and never checked that work was done).
// - pipeline-bundles: each zip bundle built as the stack builds it (buildZipBundles), its size
//   (budget 1 MB) and its module init time in a fresh Node process, as a ratio to the init of one SDK
//   client bundled the same way, in the same run (budget 2x; an absolute 150 ms passed on one
//   machine and failed on a slower one).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Pool } from 'pg';
import { processRun, type BatcherDeps } from '../../src/lambdas/batcher/batcher.ts';
import { evaluateWatchpoint, type WatchpointRow } from '../../src/lambdas/eval-worker/evaluate.ts';
import { readTile, S3ZarrStore } from '../../src/lambdas/eval-worker/tile.ts';
import { processRecord } from '../../src/lambdas/eval-worker/worker.ts';
import { evalJobId } from '../../src/lambdas/shared/ids.ts';
import type { Manifest } from '../../src/lambdas/shared/messages.ts';
import { clients, createBucket, createQueues, drain, gridTile, sqsRecord, writeRun } from '../../test/pipeline/fixtures.ts';
import { createTestDatabase, startPostgres } from '../../test/helpers/postgres.ts';
import { node, root } from '../paths.ts';
import { median } from '../harness.ts';

/** Logs go nowhere during a benchmark. */
const quietLogger = () => new Logger({ serviceName: 'bench', logLevel: 'SILENT' });

async function withServices<T>(body: (services: { endpoint: string; adminUrl: string }) => Promise<T>): Promise<T> {
  const { buildApp } = await import('fauxqs');
  const fauxqs = buildApp({ logger: false });
  const endpoint = await fauxqs.listen({ host: '127.0.0.1', port: 0 });
  const postgres = await startPostgres();
  try {
    return await body({ endpoint, adminUrl: postgres.url });
  } finally {
    await fauxqs.close();
    await postgres.stop();
  }
}

async function seedWatchpoints(pool: Pool, count: number, latSpan: number, lonSpan: number): Promise<void> {
  await pool.query(
    `INSERT INTO watchpoints (latitude, longitude, variable, condition, threshold, window_end_hours, channels)
     SELECT random() * $2, random() * $3, 'temperature_2m', 'gt', 30, 24, '[{"type":"email","address":"bench@example.com"}]'::jsonb
       FROM generate_series(1, $1)`,
    [count, latSpan, lonSpan],
  );
  await pool.query('ANALYZE watchpoints');
}

export async function batcher(): Promise<boolean> {
  return withServices(async ({ endpoint, adminUrl }) => {
    const db = await createTestDatabase(adminUrl);
    const { s3, sqs } = clients(endpoint);
    try {
      const queues = await createQueues(sqs);
      const bucket = await createBucket(s3);
      // 2,000 tiles of 1 x 1 degree (40 x 50) and 100,000 watchpoints spread over them.
      await seedWatchpoints(db.pool, 100_000, 40, 50);
      const tiles = Array.from({ length: 2000 }, (_, i) => {
        const lat = Math.floor(i / 50);
        const lon = i % 50;
        return { id: `t${i}`, path: `tiles/t${i}.zarr`, bounds: { lat_min: lat, lat_max: lat + 1, lon_min: lon, lon_max: lon + 1 }, variables: ['temperature_2m'], checksum: `sha256:${'0'.repeat(64)}` };
      });
      const { PutObjectCommand } = await import('@aws-sdk/client-s3');
      let queries = 0;
      const counting = new Proxy(db.pool, {
        get: (target, property, receiver) =>
          property === 'query'
            ? (text: string, values?: unknown[]) => {
                queries += 1;
                return target.query(text, values);
              }
            : Reflect.get(target, property, receiver),
      });
      const deps: BatcherDeps = { pool: async () => counting, s3, sqs, queues: { urgent: queues.urgent, standard: queues.standard }, logger: quietLogger() };

      const runOnce = async (runId: string) => {
        const manifest: Manifest = { version: 1, run_id: runId, forecast_type: 'medium_range', issued_at: '2026-11-27T00:00:00Z', tiles };
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `medium_range/${runId}/manifest.json`, Body: JSON.stringify(manifest) }));
        queries = 0;
        const started = performance.now();
        const outcome = await processRun(bucket, `medium_range/${runId}/_SUCCESS`, deps);
        const ms = performance.now() - started;
        await drain(sqs, queues.standard);
        return { ms, queries, jobs: outcome.status === 'enqueued' ? outcome.jobs : 0 };
      };

      // Baseline: the same lookup done naively, one query per tile, as the issue forbids.
      const naive = async () => {
        const client = await db.pool.connect();
        try {
          const started = performance.now();
          let found = 0;
          for (const tile of tiles) {
            const { rows } = await client.query(
              // The Batcher's predicate for one tile, so the GiST index serves both sides alike.
              `SELECT count(*)::int AS n FROM watchpoints
                WHERE active AND location <@ box(point($3, $1), point($4, $2)) AND (latitude < $2 OR $2 >= 90) AND longitude < $4`,
              [tile.bounds.lat_min, tile.bounds.lat_max, tile.bounds.lon_min, tile.bounds.lon_max],
            );
            if ((rows[0] as { n: number }).n > 0) found += 1;
          }
          return { ms: performance.now() - started, queries: tiles.length, tiles: found };
        } finally {
          client.release();
        }
      };

      await runOnce('warmup');
      const runs = [];
      for (let i = 0; i < 3; i += 1) runs.push(await runOnce(`run-${i}`));
      const best = runs.sort((a, b) => a.ms - b.ms)[1]!;
      // The set-based query alone, for the comparison with the naive baseline.
      const { WATCHPOINTS_PER_TILE_SQL } = await import('../../src/lambdas/batcher/batcher.ts');
      const queryOnly = async () => {
        const started = performance.now();
        await db.pool.query(WATCHPOINTS_PER_TILE_SQL, [tiles.map((t) => t.bounds.lat_min), tiles.map((t) => t.bounds.lat_max), tiles.map((t) => t.bounds.lon_min), tiles.map((t) => t.bounds.lon_max)]);
        return performance.now() - started;
      };
      await queryOnly();
      const setQuery = Math.min(await queryOnly(), await queryOnly(), await queryOnly());
      await naive();
      const baseline = [await naive(), await naive(), await naive()].sort((a, b) => a.ms - b.ms)[1]!;
      if (baseline.tiles !== 2000) throw new Error(`naive baseline found ${baseline.tiles} tiles with watchpoints, expected 2000`);

      const jobsPerSecond = best.jobs / (best.ms / 1000);
      const ok = best.queries === 1 && best.jobs === 2000 && setQuery < baseline.ms;
      console.log('Batcher: 2,000 tiles, 100,000 active watchpoints (PostgreSQL 15 + fauxqs)');
      console.log(`  whole run (manifest, 1 query, 200 SendMessageBatch)  median ${best.ms.toFixed(0).padStart(6)} ms   ${best.jobs} jobs   ${jobsPerSecond.toFixed(0)} jobs/s   queries: ${best.queries}`);
      console.log(`  set-based tile lookup (1 query)                       best   ${setQuery.toFixed(0).padStart(6)} ms`);
      console.log(`  naive lookup, one query per tile (baseline)           median ${baseline.ms.toFixed(0).padStart(6)} ms   queries: ${baseline.queries}`);
      console.log(`  ratio set-based / naive: ${(setQuery / baseline.ms).toFixed(2)}   queries O(1): ${best.queries === 1 ? 'yes' : 'NO'}   ${ok ? 'PASS' : 'FAIL'}`);
      return ok;
    } finally {
      await db.drop();
    }
  });
}

/** pipeline-eval budgets, as ratios to reading and verifying the job's tile from S3 in the same run. */
const EVAL_PURE_RATIO = 0.05;
const EVAL_WHOLE_RATIO = 5;

export async function evalWorker(): Promise<boolean> {
  return withServices(async ({ endpoint, adminUrl }) => {
    const db = await createTestDatabase(adminUrl);
    const { s3, sqs } = clients(endpoint);
    try {
      const queues = await createQueues(sqs);
      const bucket = await createBucket(s3);
      // One 1 x 1 degree tile, 64 x 64 points, 48 hourly leads, 3 variables; 1,000 watchpoints in it.
      const leads = Array.from({ length: 48 }, (_, i) => i);
      const spec = gridTile('bench', 45, 7, 1, 64, leads, {
        temperature_2m: (t, y, x) => 20 + (t % 24) * 0.5 + (y + x) * 0.01,
        precipitation: (t, y) => ((t + y) % 17 === 0 ? 6 : 0),
        wind_speed_10m: (t, y, x) => (t * 7 + y * 3 + x) % 30,
      });
      const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles: [spec] });
      await db.pool.query(
        `INSERT INTO watchpoints (latitude, longitude, variable, condition, threshold, window_end_hours, channels)
         SELECT 45 + random() * 0.999, 7 + random() * 0.999, (ARRAY['temperature_2m','precipitation','wind_speed_10m'])[1 + i % 3],
                (ARRAY['gt','gte','lt','lte'])[1 + i % 4], 10 + i % 20, 6 + i % 42,
                jsonb_build_array(jsonb_build_object('type', 'email', 'address', 'w' || i || '@example.com'))
           FROM generate_series(1, 1000) AS i`,
      );
      const tile = await readTile(new S3ZarrStore(s3, bucket, `nowcast/${run.runId}/tiles/bench.zarr`), run.manifest.tiles[0]!.variables, run.manifest.tiles[0]!.checksum);
      const { rows } = await db.pool.query<WatchpointRow>('SELECT * FROM watchpoints');

      const evaluate = () => {
        const started = performance.now();
        let triggered = 0;
        for (const row of rows) if (evaluateWatchpoint(tile, row).status === 'triggered') triggered += 1;
        return { ms: performance.now() - started, triggered };
      };
      for (let i = 0; i < 5; i += 1) evaluate();
      const pure = Array.from({ length: 21 }, evaluate).sort((a, b) => a.ms - b.ms)[10]!;

      const manifestTile = run.manifest.tiles[0]!;
      const job = {
        version: 1, job_id: evalJobId(run.runId, 'nowcast', 'bench'), forecast_type: 'nowcast', run_id: run.runId, issued_at: run.manifest.issued_at, bucket,
        tile: { id: 'bench', key: `nowcast/${run.runId}/${manifestTile.path}`, bounds: manifestTile.bounds, variables: manifestTile.variables, checksum: manifestTile.checksum },
        watchpoints: 1000,
      };
      const deps = { pool: async () => db.pool, s3, sqs, queues: { email: queues.email, webhook: queues.webhook, deadLetter: queues.deadLetter }, logger: quietLogger() };
      const wholeJob = async () => {
        await db.pool.query('TRUNCATE notification_records');
        const started = performance.now();
        const outcome = await processRecord(sqsRecord({ Body: JSON.stringify(job) }), deps);
        const ms = performance.now() - started;
        await drain(sqs, queues.email);
        return { ms, enqueued: outcome.status === 'done' ? outcome.enqueued : 0 };
      };
      await wholeJob();
      const whole = [await wholeJob(), await wholeJob(), await wholeJob(), await wholeJob(), await wholeJob()].sort((a, b) => a.ms - b.ms)[2]!;
      // Baseline for the whole job: reading and verifying the tile alone.
      const readOnly = async () => {
        const started = performance.now();
        await readTile(new S3ZarrStore(s3, bucket, job.tile.key), job.tile.variables, job.tile.checksum);
        return performance.now() - started;
      };
      await readOnly();
      const read = [await readOnly(), await readOnly(), await readOnly(), await readOnly(), await readOnly()].sort((a, b) => a - b)[2]!;

      // Budgets are ratios to the tile read measured above in this run, and the work must have been
      // done: evaluation triggered something, and the job enqueued one notification per trigger.
      const pureRatio = pure.ms / read;
      const wholeRatio = whole.ms / read;
      const worked = pure.triggered > 0 && whole.enqueued === pure.triggered;
      const ok = worked && pureRatio <= EVAL_PURE_RATIO && wholeRatio <= EVAL_WHOLE_RATIO;
      console.log('Eval worker: 1 tile (64 x 64 points, 48 leads, 3 variables), 1,000 watchpoints');
      console.log(`  evaluation only (pure core)                 median ${pure.ms.toFixed(2).padStart(8)} ms   ${pure.triggered} triggered   ratio to the read ${pureRatio.toFixed(4)} (budget ${EVAL_PURE_RATIO}x)`);
      console.log(`  read + verify the tile from S3 (baseline)   median ${read.toFixed(1).padStart(8)} ms`);
      console.log(`  whole job: read, query, evaluate, enqueue   median ${whole.ms.toFixed(1).padStart(8)} ms   ${whole.enqueued} notifications   ratio to the read ${wholeRatio.toFixed(2)} (budget ${EVAL_WHOLE_RATIO}x)`);
      console.log(`  work done (triggers > 0, one notification per trigger): ${worked ? 'yes' : 'NO'}   ${ok ? 'PASS' : 'FAIL'}`);
      return ok;
    } finally {
      await db.drop();
    }
  });
}

/** Init budget of a zip bundle, as a multiple of the reference bundle's init in the same run. */
const INIT_BUDGET_RATIO = 2;

export async function bundles(): Promise<boolean> {
  const esbuild = await import('esbuild');
  const { buildZipBundles, BUNDLE_OPTIONS } = await import('../../src/stack/bundling/build.ts');
  const { ZIP_HANDLERS } = await import('../../src/stack/bundling/handlers.ts');
  // Under the repository's node_modules/.cache (bundles are self-contained; nothing is resolved from there).
  const out = join(root, 'node_modules', '.cache', 'watchpoint-bench-bundles');
  rmSync(out, { recursive: true, force: true });
  const timeImport = (file: string): number => {
    const script = `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`;
    const result = spawnSync(node, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '--enable-source-maps' } });
    if (result.status !== 0) throw new Error(`importing ${file} failed: ${result.stderr}`);
    return Number(result.stdout);
  };
  mkdirSync(out, { recursive: true });
  // Baseline, built and timed the same way in this run: one AWS SDK client (SQS) alone, bundled with
  // the stack's options. Every handler loads at least one client, so this is the floor of an init.
  const reference = join(out, 'reference', 'index.mjs');
  await esbuild.build({
    ...BUNDLE_OPTIONS,
    stdin: { contents: "export * from '@aws-sdk/client-sqs';", resolveDir: root, loader: 'js' },
    outfile: reference,
    absWorkingDir: root,
    logLevel: 'silent',
  });
  timeImport(reference);
  // The bundles exactly as synth builds them (one esbuild pass, in a cache of this run's own).
  const { bundles: built } = await buildZipBundles({ cacheDir: join(out, 'cache') });

  let ok = true;
  const inits = new Map<string, number[]>(ZIP_HANDLERS.map((name) => [name, []]));
  const baselines: number[] = [];
  for (const name of ZIP_HANDLERS) timeImport(join(built[name].dir, 'index.mjs'));
  // Interleaved, so noise hits the reference and the handlers alike.
  for (let i = 0; i < 7; i += 1) {
    baselines.push(timeImport(reference));
    for (const name of ZIP_HANDLERS) inits.get(name)!.push(timeImport(join(built[name].dir, 'index.mjs')));
  }
  const baseline = median(baselines);
  console.log('Zip bundles (buildZipBundles: ESM, minified, source map, AWS SDK bundled, node24)');
  console.log(`  baseline: one SDK client bundle (@aws-sdk/client-sqs, ${(statSync(reference).size / 1024).toFixed(0)} KB)   init median ${baseline.toFixed(1)} ms`);
  for (const name of ZIP_HANDLERS) {
    const file = join(built[name].dir, 'index.mjs');
    const size = statSync(file).size;
    const map = statSync(`${file}.map`).size;
    const init = median(inits.get(name)!);
    const ratio = init / baseline;
    const pass = size <= 1024 * 1024 && ratio <= INIT_BUDGET_RATIO;
    ok &&= pass;
    console.log(`  ${name.padEnd(15)} ${(size / 1024).toFixed(0).padStart(5)} KB (+ ${(map / 1024).toFixed(0)} KB map)   init median ${init.toFixed(1).padStart(6)} ms   ratio ${ratio.toFixed(2)}   ${pass ? 'PASS' : 'FAIL'} (1 MB, ${INIT_BUDGET_RATIO}x baseline)`);
  }
  // The eval worker is a container image, not a zip; shown for reference (self-contained, SDK included).
  const image = join(out, 'eval-worker', 'index.mjs');
  await esbuild.build({ ...BUNDLE_OPTIONS, entryPoints: [join(root, 'src', 'lambdas', 'eval-worker', 'index.ts')], outfile: image, legalComments: 'none', logLevel: 'silent' });
  timeImport(image);
  console.log(`  eval-worker (image, for reference) ${(statSync(image).size / 1024).toFixed(0)} KB   init median ${median(Array.from({ length: 5 }, () => timeImport(image))).toFixed(1)} ms`);
  rmSync(out, { recursive: true, force: true });
  return ok;
}
