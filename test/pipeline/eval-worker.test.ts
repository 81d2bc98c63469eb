// The eval worker against real services: corrupt tiles go to the DLQ once (no retry), bad messages
// fail only their own record, and a transient failure fails the record so SQS retries it.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import * as zarr from 'zarrita';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { createEvalWorkerHandler } from '../../src/lambdas/eval-worker/handler.ts';
import type { EvalWorkerDeps } from '../../src/lambdas/eval-worker/worker.ts';
import { evalJobId } from '../../src/lambdas/shared/ids.ts';
import type { EvalJob } from '../../src/lambdas/shared/messages.ts';
import { captureLogs, type CapturedLogs } from './logs.ts';
import { clients, createBucket, createQueues, drain, gridTile, insertWatchpoints, sqsRecord, writeRun, type Queues, type WrittenRun } from './fixtures.ts';

const { s3, sqs } = clients(inject('fauxqsEndpoint'));
let db: TestDatabase;
let queues: Queues;
let bucket: string;
let deps: EvalWorkerDeps;
let logs: CapturedLogs;

beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'));
  queues = await createQueues(sqs);
  bucket = await createBucket(s3);
  deps = {
    pool: async () => db.pool,
    s3,
    sqs,
    queues: { email: queues.email, webhook: queues.webhook, deadLetter: queues.deadLetter },
    logger: new Logger({ serviceName: 'eval-worker' }),
  };
  await insertWatchpoints(db.pool, [
    { latitude: 50.5, longitude: 5.5, variable: 'temperature_2m', condition: 'gt', threshold: 0, window_end_hours: 3, channels: [{ type: 'email', address: 'e@example.com' }] },
  ]);
});
afterAll(() => db.drop());
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => logs.restore());

const handler = () => createEvalWorkerHandler(() => deps);

function jobFor(run: WrittenRun, tileIndex = 0): EvalJob {
  const tile = run.manifest.tiles[tileIndex]!;
  return {
    version: 1,
    job_id: evalJobId(run.runId, run.forecastType, tile.id),
    forecast_type: run.forecastType,
    run_id: run.runId,
    issued_at: run.manifest.issued_at,
    bucket,
    tile: { id: tile.id, key: `${run.forecastType}/${run.runId}/${tile.path}`, bounds: tile.bounds, variables: tile.variables, checksum: tile.checksum },
    watchpoints: 1,
  };
}

const tileSpec = () => gridTile('t', 50, 5, 1, 2, [0, 1, 2, 3], { temperature_2m: (t, y, x) => 10 + t + y + x });

describe('corrupt tiles', () => {
  it('a chunk rewritten with other valid data: ZarrChecksumError logged, job parked in the DLQ with the reason, record not retried', async () => {
    const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles: [tileSpec()] });
    // Re-encode the first temperature chunk with different values: valid Zarr, wrong data.
    const store = new Map(run.objects.get('t')!);
    const array = await zarr.open(zarr.root(store as unknown as zarr.Mutable).resolve('temperature_2m'), { kind: 'array' });
    await zarr.set(array, [0, null, null], 99);
    const key = `${run.forecastType}/${run.runId}/tiles/t.zarr`;
    for (const [path, bytes] of store) {
      if (run.objects.get('t')!.get(path) !== bytes) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${key}${path}`, Body: Buffer.from(bytes) }));
    }

    const job = jobFor(run);
    const record = sqsRecord({ Body: JSON.stringify(job), MessageId: 'corrupt-1' }, 'arn:aws:sqs:us-east-1:000000000000:eval-urgent');
    const response = await handler()({ Records: [record] });
    expect(response.batchItemFailures).toEqual([]);

    const line = logs.lines().find((l) => l.includes('ZarrChecksumError'));
    expect(line).toBeDefined();
    const event = JSON.parse(line!) as Record<string, unknown>;
    expect(event).toMatchObject({ level: 'ERROR', event: 'ZarrChecksumError', kind: 'checksum_mismatch', job_id: job.job_id, tile_id: 't', run_id: run.runId });

    const parked = await drain(sqs, queues.deadLetter);
    expect(parked).toHaveLength(1);
    expect(JSON.parse(parked[0]!.Body!)).toEqual(job);
    expect(parked[0]!.MessageAttributes?.reason?.StringValue).toBe('ZarrChecksumError');
    expect(parked[0]!.MessageAttributes?.source_queue?.StringValue).toBe('arn:aws:sqs:us-east-1:000000000000:eval-urgent');
    expect(parked[0]!.MessageAttributes?.detail?.StringValue).toMatch(/does not match the manifest/);
    expect(await drain(sqs, queues.email)).toEqual([]);
    expect((await db.pool.query('SELECT 1 FROM notification_records')).rowCount).toBe(0);
  });

  it('garbage in a chunk (undecodable) is corruption too, kind "format"', async () => {
    const run = await writeRun(s3, bucket, { forecastType: 'medium_range', tiles: [tileSpec()] });
    const key = `${run.forecastType}/${run.runId}/tiles/t.zarr`;
    const chunk = [...run.objects.get('t')!.keys()].find((path) => path.startsWith('/temperature_2m/c/'))!;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${key}${chunk}`, Body: Buffer.from('not zstd at all') }));
    const response = await handler()({ Records: [sqsRecord({ Body: JSON.stringify(jobFor(run)), MessageId: 'corrupt-2' })] });
    expect(response.batchItemFailures).toEqual([]);
    expect(logs.json().find((l) => l.event === 'ZarrChecksumError')).toMatchObject({ kind: 'format' });
    const parked = await drain(sqs, queues.deadLetter);
    expect(parked.map((m) => m.MessageAttributes?.reason?.StringValue)).toEqual(['ZarrChecksumError']);
  });

  it('a tile that does not exist (missing zarr.json) is corrupt, not retried forever', async () => {
    const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles: [tileSpec()] });
    const job = { ...jobFor(run), tile: { ...jobFor(run).tile, key: `nowcast/${run.runId}/tiles/missing.zarr` } };
    const response = await handler()({ Records: [sqsRecord({ Body: JSON.stringify(job), MessageId: 'missing' })] });
    expect(response.batchItemFailures).toEqual([]);
    expect(await drain(sqs, queues.deadLetter)).toHaveLength(1);
  });

  it('if the DLQ send fails the record fails (and is retried), so the job is never lost', async () => {
    const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles: [tileSpec()] });
    const bad = { ...jobFor(run), tile: { ...jobFor(run).tile, checksum: `sha256:${'0'.repeat(64)}` } };
    const broken = createEvalWorkerHandler(() => ({ ...deps, queues: { ...deps.queues, deadLetter: `${queues.deadLetter}-does-not-exist` } }));
    const response = await broken({ Records: [sqsRecord({ Body: JSON.stringify(bad), MessageId: 'dlq-down' })] });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'dlq-down' }]);
  });
});

describe('bad messages fail only their own record', () => {
  it('malformed JSON and a wrong version fail; the good job in the same batch succeeds', async () => {
    const run = await writeRun(s3, bucket, { forecastType: 'medium_range', tiles: [tileSpec()] });
    const good = jobFor(run);
    const response = await handler()({
      Records: [
        sqsRecord({ Body: '{"version":1,', MessageId: 'malformed' }),
        sqsRecord({ Body: JSON.stringify({ ...good, version: 2 }), MessageId: 'v2' }),
        sqsRecord({ Body: JSON.stringify({ ...good, tile: { ...good.tile, key: 'nowcast/other-run/tiles/t.zarr' } }), MessageId: 'foreign-key' }),
        sqsRecord({ Body: JSON.stringify(good), MessageId: 'good' }),
      ],
    });
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['foreign-key', 'malformed', 'v2']);
    const emails = await drain(sqs, queues.email);
    expect(emails).toHaveLength(1);
    const warnings = logs.json().filter((l) => l.message === 'Eval job failed');
    expect(warnings.map((w) => w.message_id).sort()).toEqual(['foreign-key', 'malformed', 'v2']);
    expect(warnings.find((w) => w.message_id === 'v2')?.error).toMatch(/version/);
    // The log says what was wrong, never the body.
    expect(logs.lines().some((l) => l.includes('{"version":1,'))).toBe(false);
  });

  it('a transient failure (database down) fails the record for a retry instead of dropping it', async () => {
    const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles: [tileSpec()] });
    const down = createEvalWorkerHandler(() => ({ ...deps, pool: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')) }));
    const response = await down({ Records: [sqsRecord({ Body: JSON.stringify(jobFor(run)), MessageId: 'db-down' })] });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'db-down' }]);
    expect(await drain(sqs, queues.deadLetter)).toEqual([]);
  });

  it('an S3 outage is not mistaken for corruption', async () => {
    const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles: [tileSpec()] });
    const unreachable = clients('http://127.0.0.1:1').s3;
    const outage = createEvalWorkerHandler(() => ({ ...deps, s3: unreachable }));
    const response = await outage({ Records: [sqsRecord({ Body: JSON.stringify(jobFor(run)), MessageId: 's3-down' })] });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 's3-down' }]);
    expect(logs.lines().some((l) => l.includes('ZarrChecksumError'))).toBe(false);
    expect(await drain(sqs, queues.deadLetter)).toEqual([]);
  });
});

describe('characters SQS refuses (issue 27, item 5)', () => {
  it('a row already holding U+FFFE/U+FFFF is escaped: every notification goes out, the name arrives unchanged, the log names the watchpoint', async () => {
    const poison = 'poison \uffff\ufffe 🌩️';
    const [bad, good] = (await insertWatchpoints(db.pool, [
      { name: poison, latitude: 20.5, longitude: 20.5, variable: 'temperature_2m', condition: 'gt', threshold: 0, window_end_hours: 3, channels: [{ type: 'email', address: 'bad@example.com' }] },
      { name: 'good', latitude: 20.6, longitude: 20.6, variable: 'temperature_2m', condition: 'gt', threshold: 0, window_end_hours: 3, channels: [{ type: 'email', address: 'good@example.com' }] },
    ])) as [string, string];
    const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles: [gridTile('p', 20, 20, 1, 2, [0, 1, 2, 3], { temperature_2m: () => 30 })] });
    const response = await handler()({ Records: [sqsRecord({ Body: JSON.stringify(jobFor(run)), MessageId: 'poison' })] });
    expect(response.batchItemFailures).toEqual([]);
    const emails = (await drain(sqs, queues.email)).map((m) => JSON.parse(m.Body!) as { watchpoint: { id: string; name: string } });
    expect(emails.map((e) => e.watchpoint.id).sort()).toEqual([bad, good].sort());
    expect(emails.find((e) => e.watchpoint.id === bad)!.watchpoint.name).toBe(poison);
    const escaped = logs.json().filter((l) => l.event === 'NotificationEscaped');
    expect(escaped.map((l) => l.watchpoint_id)).toEqual([bad]);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM notification_records WHERE watchpoint_id = ANY($1) AND status = 'enqueued'", [[bad, good]])).rows[0].n).toBe(2);
  });

  it('a message SQS still refuses (sender fault) fails only its own notification, logged with the watchpoint id; the job succeeds', async () => {
    // fauxqs enforces a queue's MaximumMessageSize as SQS does (InvalidParameterValue, a sender fault).
    const small = (await sqs.send(new CreateQueueCommand({ QueueName: `small-${Date.now()}`, Attributes: { MaximumMessageSize: '1024' } }))).QueueUrl!;
    const [big, good] = (await insertWatchpoints(db.pool, [
      { name: 'big', latitude: 30.5, longitude: 30.5, variable: 'temperature_2m', condition: 'gt', threshold: 0, window_end_hours: 3, channels: [{ type: 'webhook', url: `https://hooks.example.com/${'x'.repeat(1500)}` }] },
      { name: 'good', latitude: 30.6, longitude: 30.6, variable: 'temperature_2m', condition: 'gt', threshold: 0, window_end_hours: 3, channels: [{ type: 'webhook', url: 'https://hooks.example.com/ok' }] },
    ])) as [string, string];
    const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles: [gridTile('q', 30, 30, 1, 2, [0, 1, 2, 3], { temperature_2m: () => 30 })] });
    const smallDeps = { ...deps, queues: { ...deps.queues, webhook: small } };
    const response = await createEvalWorkerHandler(() => smallDeps)({ Records: [sqsRecord({ Body: JSON.stringify(jobFor(run)), MessageId: 'too-big' })] });
    expect(response.batchItemFailures).toEqual([]);
    expect((await drain(sqs, small)).map((m) => (JSON.parse(m.Body!) as { watchpoint: { id: string } }).watchpoint.id)).toEqual([good]);
    const refused = logs.json().filter((l) => l.event === 'NotificationRefused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: 'ERROR', watchpoint_id: big, error_code: 'InvalidParameterValue' });
    const records = await db.pool.query('SELECT watchpoint_id, status, last_error FROM notification_records WHERE watchpoint_id = ANY($1)', [[big, good]]);
    expect(Object.fromEntries(records.rows.map((r) => [r.watchpoint_id, r.status]))).toEqual({ [big]: 'failed', [good]: 'enqueued' });
    expect(records.rows.find((r) => r.watchpoint_id === big).last_error).toContain('InvalidParameterValue');
  });
});

describe('paused watchpoints (issue 27, item 1)', () => {
  it('a paused watchpoint that triggers sends nothing and the log says so with its id and reason; the others send', async () => {
    const [paused, live] = (await insertWatchpoints(db.pool, [
      { name: 'paused', latitude: 40.5, longitude: 40.5, variable: 'temperature_2m', condition: 'gt', threshold: 0, window_end_hours: 3, channels: [{ type: 'email', address: 'p@example.com' }] },
      { name: 'live', latitude: 40.6, longitude: 40.6, variable: 'temperature_2m', condition: 'gt', threshold: 0, window_end_hours: 3, channels: [{ type: 'email', address: 'l@example.com' }] },
    ])) as [string, string];
    await db.pool.query("UPDATE watchpoints SET paused_at = now(), paused_reason = 'key_revoked' WHERE id = $1", [paused]);
    const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles: [gridTile('r', 40, 40, 1, 2, [0, 1, 2, 3], { temperature_2m: () => 30 })] });
    const response = await handler()({ Records: [sqsRecord({ Body: JSON.stringify(jobFor(run)), MessageId: 'paused' })] });
    expect(response.batchItemFailures).toEqual([]);
    expect((await drain(sqs, queues.email)).map((m) => (JSON.parse(m.Body!) as { watchpoint: { id: string } }).watchpoint.id)).toEqual([live]);
    expect(logs.json().filter((l) => l.event === 'NotificationSuppressed')).toEqual([expect.objectContaining({ watchpoint_id: paused, paused_reason: 'key_revoked' })]);
    expect(logs.json().find((l) => l.event === 'EvalJobDone')).toMatchObject({ triggered: 2, enqueued: 1, suppressed: 1 });
    expect((await db.pool.query('SELECT count(*)::int AS n FROM notification_records WHERE watchpoint_id = $1', [paused])).rows[0].n).toBe(0);
  });
});

void SQSClient;
