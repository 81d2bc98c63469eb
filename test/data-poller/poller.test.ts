// DataPollerFunction against the test PostgreSQL, fauxqs S3 and a loopback fake RunPod API.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { currentSlot, poll, runIdFor, SCHEDULES, type PollerDeps } from '../../src/lambdas/data-poller/poller.ts';
import { createLogger } from '../../src/lambdas/shared/observability.ts';
import { RunPodClient, RunPodError } from '../../src/lambdas/shared/runpod-client.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { captureLogs, type CapturedLogs } from '../pipeline/logs.ts';
import { clients, createBucket } from '../pipeline/fixtures.ts';
import { FakeRunPod } from './fake-runpod.ts';

let db: TestDatabase;
let s3: S3Client;
let bucket: string;
let runpod: FakeRunPod;
let logs: CapturedLogs | undefined;
/** What the poller's SSM read returns; `refreshedKey` is what a forced re-read returns. */
let cachedKey: string;
let refreshedKey: string;

// 06:05 UTC: inside nowcast slot 06:00 and medium_range slot 00:00.
const T0 = new Date('2026-11-27T06:05:00Z');
const minutes = (n: number) => n * 60_000;

beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'));
  s3 = clients(inject('fauxqsEndpoint')).s3;
});
afterAll(async () => db.drop());
beforeEach(async () => {
  runpod = await new FakeRunPod().start();
  cachedKey = runpod.validKey;
  refreshedKey = runpod.validKey;
  bucket = await createBucket(s3);
  await db.pool.query('TRUNCATE forecast_runs');
});
afterEach(async () => {
  logs?.restore();
  logs = undefined;
  await runpod.stop();
});

function deps(now: Date, timeoutMs = 2_000): PollerDeps {
  return {
    pool: async () => db.pool,
    s3,
    forecastBucket: bucket,
    runpod: new RunPodClient({ baseUrl: runpod.baseUrl, endpointId: runpod.endpointId, timeoutMs, apiKey: async (o) => (o?.refresh ? refreshedKey : cachedKey) }),
    logger: createLogger('data-poller'),
    now: () => now,
  };
}

const runs = async () =>
  (await db.pool.query('SELECT forecast_type, run_id, status, runpod_job_id, runpod_status, start_attempts, last_error FROM forecast_runs ORDER BY forecast_type, slot')).rows;

const writeSuccess = (forecastType: string, runId: string) =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${forecastType}/${runId}/_SUCCESS`, Body: new Uint8Array(0) }));

describe('slots', () => {
  it('nowcast every 30 min, medium_range every 8 h from 00:00 UTC; run ids are valid S3 prefixes', () => {
    expect(currentSlot(new Date('2026-11-27T06:29:59Z'), SCHEDULES.nowcast).toISOString()).toBe('2026-11-27T06:00:00.000Z');
    expect(currentSlot(new Date('2026-11-27T06:30:00Z'), SCHEDULES.nowcast).toISOString()).toBe('2026-11-27T06:30:00.000Z');
    expect(currentSlot(new Date('2026-11-27T15:59:00Z'), SCHEDULES.medium_range).toISOString()).toBe('2026-11-27T08:00:00.000Z');
    expect(runIdFor(new Date('2026-11-27T06:30:00Z'))).toBe('2026-11-27T0630Z');
  });
});

describe('starting runs', () => {
  it('starts one run per forecast type when due, with bucket and prefix, and not again in the same slot', async () => {
    const first = await poll(deps(T0));
    expect(first.started.sort()).toEqual(['2026-11-27T0000Z', '2026-11-27T0600Z']);
    expect(runpod.calls('run')).toHaveLength(2);
    expect(runpod.calls('health')).toHaveLength(1);
    expect(runpod.requests.every((r) => r.authorization === `Bearer ${runpod.validKey}`)).toBe(true);
    const inputs = [...runpod.jobs.values()].map((j) => j.input);
    expect(inputs).toContainEqual({ forecast_type: 'nowcast', run_id: '2026-11-27T0600Z', issued_at: '2026-11-27T06:00:00Z', output: { bucket, prefix: 'nowcast/2026-11-27T0600Z/' } });
    expect(await runs()).toMatchObject([
      { forecast_type: 'medium_range', status: 'running', runpod_status: 'IN_QUEUE', start_attempts: 1 },
      { forecast_type: 'nowcast', status: 'running', runpod_status: 'IN_QUEUE', start_attempts: 1 },
    ]);

    const second = await poll(deps(new Date(T0.getTime() + minutes(15))));
    expect(second.started).toEqual([]);
    expect(runpod.calls('run')).toHaveLength(2);
    // Nothing due: no health call either.
    expect(runpod.calls('health')).toHaveLength(1);

    const nextSlot = await poll(deps(new Date(T0.getTime() + minutes(30))));
    expect(nextSlot.started).toEqual(['2026-11-27T0630Z']);
  });

  it('overlapping invocations start each run once (the UNIQUE slot constraint, no lock file)', async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => poll(deps(T0))));
    expect(results.flatMap((r) => r.started).sort()).toEqual(['2026-11-27T0000Z', '2026-11-27T0600Z']);
    expect(runpod.calls('run')).toHaveLength(2);
    expect(await runs()).toHaveLength(2);
  });

  it('a 401 on /health starts nothing and says so; the key never reaches the logs', async () => {
    runpod.validKey = 'rp_rotated_key_abcdef';
    logs = captureLogs();
    const result = await poll(deps(T0));
    expect(result.started).toEqual([]);
    expect(result.errors).toEqual([{ step: 'health', error: expect.stringContaining('refused (HTTP 401)') }]);
    expect(await runs()).toEqual([]);
    const failure = logs.json().find((line) => line.event === 'RunPodAuthFailed');
    expect(failure).toMatchObject({ level: 'ERROR', error_name: 'RunPodError' });
    for (const line of logs.lines()) {
      expect(line).not.toContain(cachedKey);
      expect(line).not.toContain(runpod.validKey);
    }
  });

  it('after a 401 the key is read again, so a rotated key works without a redeploy', async () => {
    refreshedKey = 'rp_rotated_key_abcdef';
    runpod.validKey = refreshedKey;
    const result = await poll(deps(T0));
    expect(result.started).toHaveLength(2);
    expect(runpod.requests.filter((r) => r.authorization === `Bearer ${cachedKey}`).length).toBeGreaterThan(0);
  });

  it('a 5xx on /run leaves the run "starting"; it is retried once the retry delay has passed, by one poller', async () => {
    runpod.fail('run', 500, 2);
    const first = await poll(deps(T0));
    expect(first.started).toEqual([]);
    expect(first.errors.map((e) => e.step)).toEqual(['start', 'start']);
    expect(await runs()).toMatchObject([
      { status: 'starting', runpod_job_id: null, last_error: expect.stringContaining('HTTP 500') },
      { status: 'starting', runpod_job_id: null },
    ]);
    // Too soon: not retried.
    const soon = await poll(deps(new Date(T0.getTime() + minutes(1))));
    expect(soon.started).toEqual([]);
    expect(runpod.calls('run')).toHaveLength(2);

    await db.pool.query("UPDATE forecast_runs SET updated_at = now() - interval '3 minutes'");
    const retries = await Promise.all([poll(deps(new Date(T0.getTime() + minutes(4)))), poll(deps(new Date(T0.getTime() + minutes(4))))]);
    expect(retries.flatMap((r) => r.started).sort()).toEqual(['2026-11-27T0000Z', '2026-11-27T0600Z']);
    expect(runpod.calls('run')).toHaveLength(4);
    expect(await runs()).toMatchObject([{ status: 'running', start_attempts: 2 }, { status: 'running', start_attempts: 2 }]);
  });

  it('a run that never got started is failed at its deadline', async () => {
    runpod.fail('run', 503, 10);
    await poll(deps(T0));
    logs = captureLogs();
    const late = await poll(deps(new Date(T0.getTime() + minutes(46))));
    expect(late.failed).toContain('2026-11-27T0600Z');
    expect(logs.json().find((l) => l.event === 'ForecastRunStuck' && l.run_id === '2026-11-27T0600Z')).toMatchObject({ level: 'ERROR', forecast_type: 'nowcast' });
  });
});

describe('runs in flight', () => {
  async function started(): Promise<{ nowcastJob: string; mediumJob: string }> {
    await poll(deps(T0));
    const rows = await runs();
    return { mediumJob: rows[0].runpod_job_id, nowcastJob: rows[1].runpod_job_id };
  }

  it('completes a run when its _SUCCESS exists in ForecastBucket', async () => {
    const { nowcastJob } = await started();
    runpod.setStatus(nowcastJob, 'IN_PROGRESS');
    const before = await poll(deps(new Date(T0.getTime() + minutes(10))));
    expect(before.running.sort()).toEqual(['2026-11-27T0000Z', '2026-11-27T0600Z']);

    await writeSuccess('nowcast', '2026-11-27T0600Z');
    logs = captureLogs();
    const after = await poll(deps(new Date(T0.getTime() + minutes(20))));
    expect(after.completed).toEqual(['2026-11-27T0600Z']);
    expect(logs.json().find((l) => l.event === 'ForecastRunComplete')).toMatchObject({ forecast_type: 'nowcast', run_id: '2026-11-27T0600Z', runpod_job_id: nowcastJob });
    expect((await runs())[1]).toMatchObject({ status: 'complete' });
  });

  it('fails a run RunPod reports FAILED, or COMPLETED without _SUCCESS, with an error event', async () => {
    const { nowcastJob, mediumJob } = await started();
    runpod.setStatus(nowcastJob, 'FAILED', 'CUDA out of memory');
    runpod.setStatus(mediumJob, 'COMPLETED');
    logs = captureLogs();
    const result = await poll(deps(new Date(T0.getTime() + minutes(10))));
    expect(result.failed.sort()).toEqual(['2026-11-27T0000Z', '2026-11-27T0600Z']);
    const events = logs.json().filter((l) => l.event === 'ForecastRunFailed');
    expect(events.map((e) => e.reason).sort()).toEqual(['RunPod job FAILED: CUDA out of memory', 'RunPod reports COMPLETED but _SUCCESS is missing in ForecastBucket']);
    expect(events.every((e) => e.level === 'ERROR')).toBe(true);
  });

  it('COMPLETED with _SUCCESS written is complete', async () => {
    const { mediumJob } = await started();
    runpod.setStatus(mediumJob, 'COMPLETED');
    await writeSuccess('medium_range', '2026-11-27T0000Z');
    expect((await poll(deps(new Date(T0.getTime() + minutes(10))))).completed).toEqual(['2026-11-27T0000Z']);
  });

  it('marks a run stuck past its deadline failed, with a ForecastRunStuck error event', async () => {
    const { nowcastJob } = await started();
    runpod.setStatus(nowcastJob, 'IN_PROGRESS');
    // Both started at 06:05: nowcast has 45 minutes, medium_range 6 hours.
    logs = captureLogs();
    const result = await poll(deps(new Date('2026-11-27T06:51:00Z')));
    expect(result.failed).toEqual(['2026-11-27T0600Z']);
    const stuck = logs.json().find((l) => l.event === 'ForecastRunStuck');
    expect(stuck).toMatchObject({ level: 'ERROR', forecast_type: 'nowcast', run_id: '2026-11-27T0600Z', runpod_job_id: nowcastJob, runpod_status: 'IN_PROGRESS', deadline_at: '2026-11-27T06:50:00.000Z' });
    expect(await runs()).toMatchObject([{ status: 'running' }, { status: 'failed', last_error: 'still IN_PROGRESS on RunPod at the deadline' }, { forecast_type: 'nowcast', status: 'running' }]);
  });

  it('a RunPod timeout or 5xx while polling keeps the run and reports the error; past the deadline it is stuck', async () => {
    await started();
    runpod.fail('status', 'hang', 1);
    runpod.fail('status', 502 as never, 1);
    const result = await poll(deps(new Date(T0.getTime() + minutes(10)), 150));
    expect(result.errors.map((e) => e.error)).toEqual([expect.stringContaining('did not answer within 150 ms'), expect.stringContaining('HTTP 502')]);
    expect(result.running.sort()).toEqual(['2026-11-27T0000Z', '2026-11-27T0600Z']);

    runpod.fail('status', 'hang', 2);
    const late = await poll(deps(new Date('2026-11-27T06:51:00Z'), 150));
    expect(late.failed).toEqual(['2026-11-27T0600Z']);
    expect((await runs())[1]).toMatchObject({ status: 'failed', last_error: expect.stringContaining('not complete at the deadline') });
  });
});

describe('RunPod client', () => {
  it('classifies failures and never puts the key in an error', async () => {
    const client = (timeoutMs = 2_000, key = cachedKey) => new RunPodClient({ baseUrl: runpod.baseUrl, endpointId: runpod.endpointId, timeoutMs, apiKey: async () => key });
    expect(await client().health()).toEqual({ jobs: { completed: 0, failed: 0, inProgress: 0, inQueue: 0, retried: 0 }, workers: { idle: 1, running: 0 } });
    const job = await client().run({ forecast_type: 'nowcast' });
    expect(await client().status(job.id)).toEqual({ id: job.id, status: 'IN_QUEUE' });

    const kinds: string[] = [];
    for (const attempt of [
      () => client(2_000, 'wrong-key').health(),
      () => (runpod.fail('health', 500), client().health()),
      () => (runpod.fail('run', 'hang'), client(100).run({})),
      () => client().status('missing-job'),
      () => new RunPodClient({ baseUrl: 'http://127.0.0.1:1/v2', endpointId: 'x', timeoutMs: 1_000, apiKey: async () => cachedKey }).health(),
    ]) {
      const error = await attempt().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(RunPodError);
      expect((error as Error).message).not.toContain(cachedKey);
      kinds.push((error as RunPodError).kind);
    }
    expect(kinds).toEqual(['auth', 'server', 'timeout', 'client', 'network']);
  });
});
