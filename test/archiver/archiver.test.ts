// ArchiverFunction against the test PostgreSQL and fauxqs S3: archive (with crash injection),
// cleanup, and the task dispatch.
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { archiveAuditEvents, ArchiveVerifyError, type ArchiveDeps } from '../../src/lambdas/archiver/archive.ts';
import { cleanup } from '../../src/lambdas/archiver/cleanup.ts';
import { runTask, UnknownTaskError, type ArchiverDeps } from '../../src/lambdas/archiver/tasks.ts';
import { createLogger } from '../../src/lambdas/shared/observability.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { captureLogs, type CapturedLogs } from '../pipeline/logs.ts';
import { clients, createBucket, insertWatchpoints } from '../pipeline/fixtures.ts';

let db: TestDatabase;
let s3: S3Client;
let bucket: string;
let logs: CapturedLogs | undefined;
const logger = createLogger('archiver');

beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'));
  s3 = clients(inject('fauxqsEndpoint')).s3;
});
afterAll(async () => db.drop());
beforeEach(async () => {
  bucket = await createBucket(s3);
  await db.pool.query('TRUNCATE audit_events');
});
afterEach(() => {
  logs?.restore();
  logs = undefined;
});

function archiveDeps(overrides: Partial<ArchiveDeps> = {}): ArchiveDeps {
  return { pool: async () => db.pool, s3, bucket, logger, retentionDays: 30, batchSize: 100, budgetMs: 30_000, ...overrides };
}

/** `count` events per UTC day (from 00:00:01) on `days` days starting `ageDays` ago, plus `recent` events from now. */
async function seedEvents(days: number, count: number, ageDays: number, recent: number): Promise<string[]> {
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO audit_events (occurred_at, action, actor, subject, details)
     SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - make_interval(days => $3 - d) + make_interval(secs => n), 'watchpoint.created', 'key:test', 'wp-' || d || '-' || n,
            jsonb_build_object('n', n, 'd', d)
       FROM generate_series(0, $1 - 1) AS d, generate_series(1, $2) AS n
     RETURNING id::text`,
    [days, count, ageDays],
  );
  await db.pool.query(`INSERT INTO audit_events (action, actor) SELECT 'apikey.created', 'admin' FROM generate_series(1, $1)`, [recent]);
  return rows.map((r) => r.id);
}

async function archivedObjects(): Promise<Map<string, { id: string; occurred_at: string; subject: string }[]>> {
  const objects = new Map<string, { id: string; occurred_at: string; subject: string }[]>();
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'audit-events/' }));
  for (const { Key } of listed.Contents ?? []) {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: Key! }));
    const text = gunzipSync(await object.Body!.transformToByteArray()).toString('utf8');
    objects.set(Key!, text.trimEnd().split('\n').map((line) => JSON.parse(line)));
  }
  return objects;
}

async function expectArchivedExactlyOnce(expectedIds: string[]): Promise<void> {
  const objects = await archivedObjects();
  const ids = [...objects.values()].flat().map((event) => event.id);
  expect(ids.length).toBe(expectedIds.length);
  expect(new Set(ids)).toEqual(new Set(expectedIds));
  const left = await db.pool.query('SELECT count(*)::int AS n FROM audit_events WHERE id = ANY($1::bigint[])', [expectedIds]);
  expect(left.rows[0].n).toBe(0);
}

const crash = (when: (key: string) => boolean) => async (key: string) => {
  if (when(key)) throw new Error('injected crash');
};

describe('archive', () => {
  it('moves old events into per-day gzipped JSONL objects under deterministic keys; recent events stay', async () => {
    const old = await seedEvents(3, 150, 40, 7);
    const result = await archiveAuditEvents(archiveDeps());
    expect(result).toMatchObject({ status: 'done', events: 450, resumed: 0 });
    await expectArchivedExactlyOnce(old);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM audit_events')).rows[0].n).toBe(7);

    const objects = await archivedObjects();
    // 150 events a day in batches of 100: two objects per day, never spanning two days.
    expect(objects.size).toBe(6);
    for (const [key, events] of objects) {
      const [, yyyy, mm, dd, first, last] = /^audit-events\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{19})-(\d{19})\.jsonl\.gz$/.exec(key)!;
      expect(events.every((e) => e.occurred_at.startsWith(`${yyyy}-${mm}-${dd}T`))).toBe(true);
      expect(BigInt(first!)).toBe(BigInt(events[0]!.id));
      expect(BigInt(last!)).toBe(BigInt(events[events.length - 1]!.id));
      expect(events.map((e) => BigInt(e.id))).toEqual(events.map((e) => BigInt(e.id)).sort((a, b) => (a < b ? -1 : 1)));
    }
    // Nothing left: a second run is a no-op.
    expect(await archiveAuditEvents(archiveDeps())).toMatchObject({ events: 0, objects: [] });
  });

  it('a crash between the verified write and the delete loses nothing, and the re-run duplicates nothing', async () => {
    const old = await seedEvents(2, 120, 45, 3);
    let writes = 0;
    await expect(
      archiveAuditEvents(archiveDeps({ hooks: { afterVerify: crash(() => (writes += 1) === 2) } })),
    ).rejects.toThrow('injected crash');
    // The crashed batch's object exists and its rows are still in the database (claimed).
    const claimed = await db.pool.query('SELECT DISTINCT archive_key FROM audit_events WHERE archive_key IS NOT NULL');
    expect(claimed.rows).toHaveLength(1);
    expect((await archivedObjects()).has(claimed.rows[0].archive_key)).toBe(true);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM audit_events')).rows[0].n).toBe(240 + 3 - 100);

    // New events that became old meanwhile must not change the crashed batch's content.
    await db.pool.query(`INSERT INTO audit_events (occurred_at, action, actor) VALUES (now() - interval '46 days', 'late', 'key:test')`);
    const late = (await db.pool.query("SELECT id::text FROM audit_events WHERE action = 'late'")).rows.map((r) => r.id);

    const rerun = await archiveAuditEvents(archiveDeps());
    expect(rerun.resumed).toBe(1);
    await expectArchivedExactlyOnce([...old, ...late]);
  });

  it('a crash after the claim but before the write: the re-run writes, verifies and deletes that batch', async () => {
    const old = await seedEvents(1, 250, 60, 0);
    await expect(archiveAuditEvents(archiveDeps({ hooks: { afterClaim: crash(() => true) } }))).rejects.toThrow('injected crash');
    expect((await archivedObjects()).size).toBe(0);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM audit_events')).rows[0].n).toBe(250);
    await archiveAuditEvents(archiveDeps());
    await expectArchivedExactlyOnce(old);
  });

  it('never deletes rows whose object does not read back as written', async () => {
    const old = await seedEvents(1, 50, 40, 0);
    const corrupting = new Proxy(s3, {
      get: (target, property, receiver) =>
        property === 'send'
          ? (command: unknown) =>
              command instanceof PutObjectCommand
                ? target.send(new PutObjectCommand({ ...command.input, Body: Buffer.from('truncated') }))
                : target.send(command as never)
          : Reflect.get(target, property, receiver),
    });
    await expect(archiveAuditEvents(archiveDeps({ s3: corrupting }))).rejects.toBeInstanceOf(ArchiveVerifyError);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM audit_events')).rows[0].n).toBe(50);
    // With a healthy S3 the next run rewrites the bad object and completes.
    logs = captureLogs();
    await archiveAuditEvents(archiveDeps());
    expect(logs.json().some((line) => line.event === 'ArchiveRewrite')).toBe(true);
    await expectArchivedExactlyOnce(old);
  });

  it('overlapping runs archive each event once', async () => {
    const old = await seedEvents(2, 200, 40, 0);
    const results = await Promise.all([archiveAuditEvents(archiveDeps()), archiveAuditEvents(archiveDeps()), archiveAuditEvents(archiveDeps())]);
    expect(results.reduce((sum, r) => sum + r.events, 0)).toBe(400);
    await expectArchivedExactlyOnce(old);
  });
});

describe('cleanup', () => {
  it('deletes expired idempotency records, old notification records and old finished runs in bounded batches', async () => {
    await db.pool.query(`INSERT INTO idempotency_records (scope, idempotency_key, request_hash, method, path, expires_at)
      SELECT 'admin', 'k' || n, 'h', 'POST', '/v1/watchpoints', now() + CASE WHEN n <= 5 THEN interval '-1 hour' ELSE interval '1 hour' END
        FROM generate_series(1, 8) AS n`);
    const [wp] = await insertWatchpoints(db.pool, [{ latitude: 1, longitude: 1, variable: 't', condition: 'gt', threshold: 1, window_end_hours: 1, channels: [] }]);
    await db.pool.query(`INSERT INTO notification_records (id, watchpoint_id, run_id, forecast_type, channel, job_id, status, created_at)
      SELECT gen_random_uuid(), $1, 'run-' || n, 'nowcast', 'email:a@example.com', 'job', 'delivered',
             now() - CASE WHEN n <= 7 THEN interval '40 days' ELSE interval '1 day' END
        FROM generate_series(1, 10) AS n`, [wp]);
    await db.pool.query(`INSERT INTO forecast_runs (forecast_type, run_id, slot, status, deadline_at, created_at)
      SELECT 'nowcast', 'r' || n, now() - make_interval(mins => n * 30), s, now(), now() - interval '40 days'
        FROM generate_series(1, 6) AS n, LATERAL (SELECT CASE WHEN n <= 2 THEN 'running' WHEN n <= 4 THEN 'complete' ELSE 'failed' END AS s) AS x`);

    const result = await cleanup({ pool: async () => db.pool, logger, batchSize: 2, budgetMs: 30_000, retentionDays: 30 });
    expect(result.deleted).toEqual({ idempotency_records: 5, notification_records: 7, forecast_runs: 4 });
    expect(result.incomplete).toBe(false);
    // 5 rows in batches of 2 take 3 statements, 7 take 4, 4 take 3 (the last one finds nothing).
    expect(result.batches).toBe(3 + 4 + 3);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM idempotency_records')).rows[0].n).toBe(3);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM notification_records')).rows[0].n).toBe(3);
    expect((await db.pool.query("SELECT array_agg(status ORDER BY status) AS s FROM forecast_runs")).rows[0].s).toEqual(['running', 'running']);
  });

  it('stops at the time budget and says the work is incomplete', async () => {
    await db.pool.query(`INSERT INTO idempotency_records (scope, idempotency_key, request_hash, method, path, expires_at)
      VALUES ('admin', 'budget', 'h', 'POST', '/x', now() - interval '1 hour')`);
    const result = await cleanup({ pool: async () => db.pool, logger, batchSize: 10, budgetMs: 0, retentionDays: 30 });
    expect(result).toMatchObject({ incomplete: true, batches: 0 });
    await db.pool.query('TRUNCATE idempotency_records');
  });
});

describe('task dispatch', () => {
  const deps = (): ArchiverDeps => ({
    logger,
    archive: () => archiveDeps(),
    cleanup: () => ({ pool: async () => db.pool, logger, batchSize: 100, budgetMs: 30_000, retentionDays: 30 }),
  });

  it('digest_trigger and billing_sync log one "not enabled" line and succeed without touching anything', async () => {
    for (const task of ['digest_trigger', 'billing_sync'] as const) {
      logs = captureLogs();
      const result = await runTask({ task }, { ...deps(), archive: () => { throw new Error('must not run'); }, cleanup: () => { throw new Error('must not run'); } });
      const lines = logs.json();
      logs.restore();
      logs = undefined;
      expect(result).toEqual({ task, result: { status: 'not_enabled' } });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'INFO', event: 'TaskNotEnabled', task, message: `Task ${task} is not enabled in this deployment; nothing to do` });
    }
  });

  it('runs archive and cleanup by name', async () => {
    const old = await seedEvents(1, 3, 40, 0);
    expect(await runTask({ task: 'archive' }, deps())).toMatchObject({ task: 'archive', result: { events: 3 } });
    await expectArchivedExactlyOnce(old);
    expect(await runTask({ task: 'cleanup' }, deps())).toMatchObject({ task: 'cleanup', result: { incomplete: false } });
  });

  it('an unknown or missing task is an error', async () => {
    logs = captureLogs();
    await expect(runTask({ task: 'drop_tables' }, deps())).rejects.toBeInstanceOf(UnknownTaskError);
    await expect(runTask({}, deps())).rejects.toThrow(/must be \{"task": "archive" \| "cleanup"/);
    await expect(runTask(null, deps())).rejects.toBeInstanceOf(UnknownTaskError);
    await expect(runTask({ task: 42 }, deps())).rejects.toThrow('got a number');
    expect(logs.json().filter((line) => line.event === 'UnknownTask')).toHaveLength(4);
  });
});
