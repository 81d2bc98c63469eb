// The forecast side end to end, through the real Lambda handlers (src/lambdas/*/index.ts) configured
// by the stack's environment variables: a run in S3 (fauxqs) -> Batcher -> eval queue -> eval worker
// -> notification queues, against a real PostgreSQL. SSM is the only mocked service.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Message } from '@aws-sdk/client-sqs';
import type { S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { NotificationMessage, EvalJob } from '../../src/lambdas/shared/messages.ts';
import { captureLogs, forecastReadyFilter, type CapturedLogs } from './logs.ts';
import { DATABASE_URL_PARAM, PARAM_PREFIX, handlerEndpoint, putSecureParameter, clients, createBucket, createQueues, drain, gridTile, insertWatchpoints, lambdaEnv, s3Event, sqsRecord, writeRun, type Queues } from './fixtures.ts';
import type { MotoRecorder } from '../helpers/moto.ts';

const endpoint = inject('fauxqsEndpoint');
const { s3, sqs } = clients(endpoint);
let router: MotoRecorder;

let db: TestDatabase;
let queues: Queues;
let bucket: string;
let batcher: (event: S3Event) => Promise<void>;
let evalWorker: (event: SQSEvent) => Promise<SQSBatchResponse>;
let closePool: () => Promise<void>;
let logs: CapturedLogs;
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => {
  logs.restore();
  // Every line the handlers wrote is JSON, and none is an error.
  expect(logs.json().filter((line) => line.level === 'ERROR')).toEqual([]);
});

beforeAll(async () => {
  router = await handlerEndpoint(endpoint);
  db = await createTestDatabase(inject('databaseUrl'));
  queues = await createQueues(sqs);
  bucket = await createBucket(s3);
  await putSecureParameter(DATABASE_URL_PARAM, db.url);
  Object.assign(process.env, {
    ...lambdaEnv(router.endpoint, queues),
  });
  batcher = (await import('../../src/lambdas/batcher/index.ts')).handler;
  evalWorker = (await import('../../src/lambdas/eval-worker/index.ts')).handler;
  closePool = (await import('../../src/lambdas/shared/db.ts')).closePool;
});

afterAll(async () => {
  await closePool();
  await db.drop();
  await router.stop();
});

/**
 * What Lambda's SQS poller does, for messages already received from the queue: invoke the worker
 * with batches of `batchSize` records and collect the records it reports as failed.
 */
async function runJobs(messages: Message[], batchSize: number): Promise<{ invocations: number; failures: string[] }> {
  let invocations = 0;
  const failures: string[] = [];
  for (let i = 0; i < messages.length; i += batchSize) {
    invocations += 1;
    const response = await evalWorker({ Records: messages.slice(i, i + batchSize).map((m) => sqsRecord(m)) });
    failures.push(...response.batchItemFailures.map((f) => f.itemIdentifier));
  }
  return { invocations, failures };
}

const LEADS = [0, 1, 2, 3, 4, 5, 6];

describe('forecast pipeline end to end', () => {
  it('S3 run -> Batcher -> eval worker -> one notification per channel, and a redrive sends none again', async () => {
    // Tile A covers lat [40, 41) x lon [-4, -3); tile B lat [41, 42) x lon [-4, -3). 4x4 points each.
    // Temperature rises 30 -> 36 over the leads in tile A and stays 20 in tile B;
    // precipitation is 0 except 8 mm at lead 2 in tile B.
    const tiles = [
      gridTile('a', 40, -4, 1, 4, LEADS, { temperature_2m: (t) => 30 + t, precipitation: () => 0 }),
      gridTile('b', 41, -4, 1, 4, LEADS, { temperature_2m: () => 20, precipitation: (t) => (t === 2 ? 8 : 0) }),
      gridTile('empty', 10, 10, 1, 4, LEADS, { temperature_2m: () => 99, precipitation: () => 99 }),
    ];
    const [hot, tooHigh, rain, inactive, edge, outside] = await insertWatchpoints(db.pool, [
      { name: 'hot', latitude: 40.4, longitude: -3.7, variable: 'temperature_2m', condition: 'gt', threshold: 32.5, window_end_hours: 6,
        channels: [{ type: 'email', address: 'Ops@Example.com' }, { type: 'webhook', url: 'https://hooks.example.com/wp' }, { type: 'email', address: 'ops@example.com' }] },
      { name: 'too high', latitude: 40.5, longitude: -3.5, variable: 'temperature_2m', condition: 'gt', threshold: 40, window_end_hours: 6, channels: [{ type: 'email', address: 'a@example.com' }] },
      { name: 'rain', latitude: 41.6, longitude: -3.2, variable: 'precipitation', condition: 'gte', threshold: 5, window_start_hours: 1, window_end_hours: 3, channels: [{ type: 'email', address: 'rain@example.com' }, { type: 'sms', number: '1' }] },
      { name: 'inactive', latitude: 41.5, longitude: -3.5, variable: 'precipitation', condition: 'gte', threshold: 5, window_end_hours: 6, channels: [{ type: 'email', address: 'x@example.com' }], active: false },
      // On the edge between tiles A and B: belongs to B only ([lat_min, lat_max)), where it is 20 degrees.
      { name: 'edge', latitude: 41, longitude: -3.5, variable: 'temperature_2m', condition: 'lt', threshold: 25, window_end_hours: 6, channels: [{ type: 'webhook', url: 'https://hooks.example.com/edge' }] },
      { name: 'outside', latitude: -30, longitude: 100, variable: 'temperature_2m', condition: 'gt', threshold: -100, window_end_hours: 6, channels: [{ type: 'email', address: 'o@example.com' }] },
    ]);
    expect(outside).toBeDefined();
    const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles, issuedAt: '2026-11-27T06:00:00Z' });

    await batcher(s3Event(bucket, run.successKey));
    const ready = logs.lines().map(forecastReadyFilter).filter((m) => m.matches);
    expect(ready).toEqual([{ matches: true, forecastType: 'nowcast' }]);

    // Nowcast jobs go to the urgent queue, one per tile with active watchpoints (not 'empty').
    const jobMessages = await drain(sqs, queues.urgent);
    const jobs = jobMessages.map((m) => EvalJob.parse(JSON.parse(m.Body!)));
    expect(jobs.map((j) => j.tile.id).sort()).toEqual(['a', 'b']);
    expect(jobs.find((j) => j.tile.id === 'a')?.watchpoints).toBe(2);
    expect(jobs.find((j) => j.tile.id === 'b')?.watchpoints).toBe(2);
    expect(await drain(sqs, queues.standard)).toEqual([]);
    const firstPass = await runJobs(jobMessages, 1);
    expect(firstPass.failures).toEqual([]);

    const emails = (await drain(sqs, queues.email)).map((m) => NotificationMessage.parse(JSON.parse(m.Body!)));
    const webhooks = (await drain(sqs, queues.webhook)).map((m) => NotificationMessage.parse(JSON.parse(m.Body!)));
    expect(emails.map((n) => [n.watchpoint.name, n.channel]).sort()).toEqual([
      ['hot', { type: 'email', address: 'Ops@Example.com' }],
      ['rain', { type: 'email', address: 'rain@example.com' }],
    ]);
    expect(webhooks.map((n) => [n.watchpoint.name, n.channel]).sort()).toEqual([
      ['edge', { type: 'webhook', url: 'https://hooks.example.com/edge' }],
      ['hot', { type: 'webhook', url: 'https://hooks.example.com/wp' }],
    ]);
    const hotEmail = emails.find((n) => n.watchpoint.id === hot)!;
    // 30 + t > 32.5 first at lead 3 (33 degrees); the window's maximum is 36 at lead 6.
    expect(hotEmail.trigger).toMatchObject({ lead_hours: 3, value: 33, extreme_value: 36, valid_time: '2026-11-27T09:00:00.000Z' });
    expect(hotEmail.forecast).toEqual({ forecast_type: 'nowcast', run_id: run.runId, issued_at: '2026-11-27T06:00:00Z' });
    const rainEmail = emails.find((n) => n.watchpoint.id === rain)!;
    expect(rainEmail.trigger).toMatchObject({ lead_hours: 2, value: 8 });
    expect(rainEmail.trigger.grid_latitude).toBeCloseTo(41.625);
    expect(rainEmail.trigger.grid_longitude).toBeCloseTo(-3.125);
    expect(webhooks.find((n) => n.watchpoint.id === edge)?.trigger.value).toBe(20);
    for (const id of [tooHigh, inactive]) expect([...emails, ...webhooks].some((n) => n.watchpoint.id === id)).toBe(false);

    const records = await db.pool.query<{ id: string; status: string }>('SELECT id::text, status FROM notification_records ORDER BY id');
    expect(records.rows).toHaveLength(4);
    expect(records.rows.every((r) => r.status === 'enqueued')).toBe(true);
    expect(records.rows.map((r) => r.id).sort()).toEqual([...emails, ...webhooks].map((n) => n.notification_id).sort());

    // Redrive: the same S3 event again (a redelivery), then the same jobs again: no new notification.
    await batcher(s3Event(bucket, run.successKey));
    const againMessages = await drain(sqs, queues.urgent);
    const again = againMessages.map((m) => EvalJob.parse(JSON.parse(m.Body!)));
    expect(again.map((j) => j.job_id).sort()).toEqual(jobs.map((j) => j.job_id).sort());
    // ... and each job redriven a second time (as from the DLQ), in standard-sized batches.
    const secondPass = await runJobs([...againMessages, ...againMessages], 10);
    expect(secondPass.failures).toEqual([]);
    expect(secondPass.invocations).toBeGreaterThan(0);
    expect(await drain(sqs, queues.email)).toEqual([]);
    expect(await drain(sqs, queues.webhook)).toEqual([]);
    expect((await db.pool.query('SELECT 1 FROM notification_records')).rowCount).toBe(4);
  });

  it('resends a notification whose record was claimed but never marked enqueued (crash before or after the send)', async () => {
    const tiles = [gridTile('c', -10, 20, 1, 2, LEADS, { wind_speed_10m: (t) => t * 5 })];
    const [windy] = await insertWatchpoints(db.pool, [
      { name: 'windy', latitude: -9.5, longitude: 20.5, variable: 'wind_speed_10m', condition: 'gte', threshold: 20, window_end_hours: 6, channels: [{ type: 'email', address: 'w@example.com' }] },
    ]);
    const run = await writeRun(s3, bucket, { forecastType: 'medium_range', tiles });
    const { notificationId, channelKey } = await import('../../src/lambdas/shared/ids.ts');
    const id = notificationId(windy!, 'medium_range', run.runId, channelKey({ type: 'email', address: 'w@example.com' }));
    // A previous attempt claimed the record and died before it could mark it enqueued.
    await db.pool.query(
      `INSERT INTO notification_records (id, watchpoint_id, run_id, forecast_type, channel, job_id) VALUES ($1, $2, $3, 'medium_range', 'email:w@example.com', 'crashed')`,
      [id, windy, run.runId],
    );
    await batcher(s3Event(bucket, run.successKey));
    expect((await drain(sqs, queues.urgent)).length).toBe(0);
    const pass = await runJobs(await drain(sqs, queues.standard), 10);
    expect(pass.failures).toEqual([]);
    const emails = (await drain(sqs, queues.email)).map((m) => NotificationMessage.parse(JSON.parse(m.Body!)));
    expect(emails.map((n) => n.notification_id)).toEqual([id]);
    expect(emails[0]?.trigger).toMatchObject({ lead_hours: 4, value: 20 });
    const status = await db.pool.query<{ status: string }>('SELECT status FROM notification_records WHERE id = $1', [id]);
    expect(status.rows[0]?.status).toBe('enqueued');
  });

  it('a nowcast and a medium-range run of the same slot share the run id: each notifies the watchpoint once (two runs, two notifications)', async () => {
    const tiles = [gridTile('s', -12, 22, 1, 2, LEADS, { wind_speed_10m: (t) => t * 5 })];
    const [shared] = await insertWatchpoints(db.pool, [
      { name: 'same slot', latitude: -11.5, longitude: 22.5, variable: 'wind_speed_10m', condition: 'gte', threshold: 20, window_end_hours: 6, channels: [{ type: 'email', address: 's@example.com' }] },
    ]);
    // 00:00, 08:00 and 16:00 UTC are slots of both schedules: the poller gives both runs this id.
    const runId = '2026-12-07T0000Z';
    const nowcast = await writeRun(s3, bucket, { forecastType: 'nowcast', runId, tiles });
    const mediumRange = await writeRun(s3, bucket, { forecastType: 'medium_range', runId, tiles });
    await batcher(s3Event(bucket, nowcast.successKey));
    await batcher(s3Event(bucket, mediumRange.successKey));
    const pass = await runJobs([...(await drain(sqs, queues.urgent)), ...(await drain(sqs, queues.standard))], 10);
    expect(pass.failures).toEqual([]);
    const emails = (await drain(sqs, queues.email)).map((m) => NotificationMessage.parse(JSON.parse(m.Body!)));
    expect(emails.map((n) => n.forecast.forecast_type).sort()).toEqual(['medium_range', 'nowcast']);
    expect(new Set(emails.map((n) => n.notification_id)).size).toBe(2);
    const records = await db.pool.query('SELECT forecast_type FROM notification_records WHERE watchpoint_id = $1 AND run_id = $2', [shared, runId]);
    expect(records.rowCount).toBe(2);
  });
});

