// The Batcher against real services: routing by forecast type, the ForecastReady log line as the
// stack's metric filter reads it, one query per run, and runs it must drop without a retry storm.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { decodeS3Key, parseSuccessKey, processS3Event, type BatcherDeps } from '../../src/lambdas/batcher/batcher.ts';
import { EvalJob } from '../../src/lambdas/shared/messages.ts';
import { captureLogs, forecastReadyFilter, type CapturedLogs } from './logs.ts';
import { clients, createBucket, createQueues, drain, gridTile, insertWatchpoints, s3Event, writeRun, type Queues } from './fixtures.ts';

const { s3, sqs } = clients(inject('fauxqsEndpoint'));
let db: TestDatabase;
let queues: Queues;
let bucket: string;
let deps: BatcherDeps;
let logs: CapturedLogs;
let queries: string[];

/** The test pool, counting the queries the Batcher sends. */
function countingPool(pool: Pool): Pool {
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'query') {
        return (text: unknown, values?: unknown) => {
          queries.push(typeof text === 'string' ? text : JSON.stringify(text));
          return target.query(text as string, values as unknown[]);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'));
  queues = await createQueues(sqs);
  bucket = await createBucket(s3);
  deps = {
    pool: async () => countingPool(db.pool),
    s3,
    sqs,
    queues: { urgent: queues.urgent, standard: queues.standard },
    logger: new Logger({ serviceName: 'batcher' }),
  };
});
afterAll(() => db.drop());
beforeEach(() => {
  queries = [];
  logs = captureLogs();
});
afterEach(() => logs.restore());

describe('Batcher', () => {
  it('medium_range: one job per tile with active watchpoints, on the standard queue, with ONE query for 60 tiles', async () => {
    // 60 tiles of 1x1 degree in a 6x10 block; a watchpoint in every other tile.
    const tiles = [];
    const watchpoints = [];
    for (let i = 0; i < 60; i += 1) {
      const lat = 60 + Math.floor(i / 10);
      const lon = 100 + (i % 10);
      tiles.push(gridTile(`r${i}`, lat, lon, 1, 2, [0, 6], { temperature_2m: () => 1 }));
      if (i % 2 === 0) watchpoints.push({ latitude: lat + 0.25, longitude: lon + 0.75, variable: 'temperature_2m', condition: 'gt' as const, threshold: 0, window_end_hours: 6, channels: [] });
    }
    await insertWatchpoints(db.pool, watchpoints);
    const run = await writeRun(s3, bucket, { forecastType: 'medium_range', tiles });
    const [outcome] = await processS3Event(s3Event(bucket, run.successKey), deps);
    expect(outcome).toMatchObject({ status: 'enqueued', tiles: 60, jobs: 30, queries: 1 });
    expect(queries).toHaveLength(1);

    const jobs = (await drain(sqs, queues.standard)).map((m) => EvalJob.parse(JSON.parse(m.Body!)));
    expect(jobs.map((j) => j.tile.id).sort()).toEqual(tiles.filter((_, i) => i % 2 === 0).map((t) => t.id).sort());
    expect(new Set(jobs.map((j) => j.job_id)).size).toBe(30);
    expect(jobs[0]).toMatchObject({ version: 1, forecast_type: 'medium_range', run_id: run.runId, bucket, watchpoints: 1 });
    expect(jobs[0]!.tile.key).toMatch(new RegExp(`^medium_range/${run.runId}/tiles/r\\d+\\.zarr$`));
    for (const job of jobs) expect(Buffer.byteLength(JSON.stringify(job))).toBeLessThan(2048);
    expect(await drain(sqs, queues.urgent)).toEqual([]);

    // The one line the ForecastReady metric filter counts, with its dimension.
    const matched = logs.lines().filter((line) => forecastReadyFilter(line).matches);
    expect(matched).toHaveLength(1);
    const line = JSON.parse(matched[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ event: 'ForecastReady', forecast_type: 'medium_range', run_id: run.runId, jobs: 30, tiles: 60 });
  });

  it('a run whose tiles hold no active watchpoint enqueues nothing but is still ForecastReady', async () => {
    const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles: [gridTile('n', -80, -170, 1, 2, [0], { precipitation: () => 0 })] });
    const [outcome] = await processS3Event(s3Event(bucket, run.successKey), deps);
    expect(outcome).toMatchObject({ status: 'enqueued', jobs: 0 });
    expect(await drain(sqs, queues.urgent)).toEqual([]);
    expect(logs.lines().map(forecastReadyFilter).filter((m) => m.matches)).toEqual([{ matches: true, forecastType: 'nowcast' }]);
  });

  it('unknown prefixes, a missing manifest and an invalid manifest are logged and dropped, not thrown', async () => {
    const noManifest = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles: [] });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `nowcast/${noManifest.runId}/manifest.json`, Body: '{"version":1' }));
    const event = {
      Records: [
        ...s3Event(bucket, 'hindcast/run-1/_SUCCESS').Records,
        ...s3Event(bucket, 'nowcast/_SUCCESS').Records,
        ...s3Event(bucket, 'nowcast/run-without-manifest/_SUCCESS').Records,
        ...s3Event(bucket, noManifest.successKey).Records,
      ],
    };
    const outcomes = await processS3Event(event, deps);
    expect(outcomes.map((o) => o.status)).toEqual(['ignored', 'ignored', 'no_manifest', 'bad_manifest']);
    expect(queries).toEqual([]);
    expect(logs.lines().some((line) => forecastReadyFilter(line).matches)).toBe(false);
    expect(logs.json().filter((l) => l.event === 'ManifestMissing').map((l) => l.run_id)).toEqual(['run-without-manifest']);
  });

  it('a manifest for another run is rejected', async () => {
    const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles: [] });
    const copy = { ...run.manifest, run_id: 'someone-else' };
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `nowcast/${run.runId}/manifest.json`, Body: JSON.stringify(copy) }));
    const [outcome] = await processS3Event(s3Event(bucket, run.successKey), deps);
    expect(outcome).toMatchObject({ status: 'bad_manifest' });
    expect(outcome && 'reason' in outcome ? outcome.reason : '').toMatch(/someone-else/);
  });

  it('a transient failure (database down) throws, so Lambda retries the run', async () => {
    const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles: [gridTile('x', 0, 0, 1, 2, [0], { t: () => 0 })] });
    const down: BatcherDeps = { ...deps, pool: () => Promise.reject(new Error('connect ECONNREFUSED')) };
    await expect(processS3Event(s3Event(bucket, run.successKey), down)).rejects.toThrow('1 forecast run(s) failed');
    expect(logs.lines().some((line) => forecastReadyFilter(line).matches)).toBe(false);
  });

  it('parses and decodes success keys', () => {
    expect(parseSuccessKey('nowcast/2026-11-27T06Z/_SUCCESS')).toEqual({ forecastType: 'nowcast', runId: '2026-11-27T06Z' });
    expect(parseSuccessKey('medium_range/r1/_SUCCESS')).toEqual({ forecastType: 'medium_range', runId: 'r1' });
    expect(parseSuccessKey('medium_range/r1/tiles/_SUCCESS')).toHaveProperty('reason');
    expect(parseSuccessKey('nowcast/bad run/_SUCCESS')).toHaveProperty('reason');
    expect(decodeS3Key('nowcast/run%3A1/_SUCCESS')).toBe('nowcast/run:1/_SUCCESS');
    expect(decodeS3Key('a+b')).toBe('a b');
  });
});
