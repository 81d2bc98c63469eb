// The `archive` task: audit events older than the retention move to ArchiveBucket as gzipped JSONL.
//
// Crash safety, step by step (docs/api.md, "Archiver"):
//   1. claim: one transaction marks a batch of rows with its object key (archive_key);
//   2. write the object (deterministic key, deterministic content) and read it back to verify it;
//   3. delete exactly the rows marked with that key, in one statement.
// A crash before 1 changes nothing. A crash after 1 or 2 leaves marked rows, and the next run
// finishes those batches first: it rebuilds the same content, finds (or rewrites) the same object,
// verifies it, then deletes the rows. So every event ends up in exactly one object, and no row is
// deleted before its object has been read back intact.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Pool, PoolClient } from 'pg';

export interface ArchiveDeps {
  pool: () => Promise<Pool>;
  s3: S3Client;
  bucket: string;
  logger: Logger;
  /** Events older than this many days are archived. */
  retentionDays: number;
  /** Events per object (and per claim transaction). */
  batchSize: number;
  /** Stop starting new batches after this long (the function has 60 s). */
  budgetMs: number;
  /** Test hooks to inject crashes between the steps. */
  hooks?: { afterClaim?: (key: string) => Promise<void>; afterVerify?: (key: string) => Promise<void> };
}

export interface ArchiveResult {
  status: 'done' | 'skipped';
  objects: string[];
  events: number;
  /** Batches left claimed by an earlier, interrupted run that this run finished. */
  resumed: number;
}

export const ARCHIVE_PREFIX = 'audit-events/';
/** Only one archive run at a time; an overlapping invocation exits at once. */
const ARCHIVE_LOCK_SQL = "SELECT pg_try_advisory_lock(hashtext('watchpoint.archiver.archive')) AS locked";
const ARCHIVE_UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtext('watchpoint.archiver.archive'))";

export class ArchiveVerifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveVerifyError';
  }
}

interface AuditRow {
  id: string;
  occurred_at: string;
  action: string;
  actor: string;
  subject: string | null;
  details: unknown;
}

/** `audit-events/YYYY/MM/DD/<first id>-<last id>.jsonl.gz`, ids zero-padded so keys sort by id. */
export function archiveKey(day: string, firstId: string, lastId: string): string {
  const pad = (id: string) => id.padStart(19, '0');
  return `${ARCHIVE_PREFIX}${day.replace(/-/g, '/')}/${pad(firstId)}-${pad(lastId)}.jsonl.gz`;
}

/** One JSON object per line, in id order; the same rows always give the same bytes. */
export function toJsonl(rows: readonly AuditRow[]): string {
  return rows
    .map((row) => JSON.stringify({ id: row.id, occurred_at: row.occurred_at, action: row.action, actor: row.actor, subject: row.subject, details: row.details }))
    .join('\n')
    .concat('\n');
}

const sha256 = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

/** Claims the oldest unclaimed day's events (up to batchSize) and returns the key, or undefined. */
async function claimBatch(client: PoolClient, deps: ArchiveDeps): Promise<string | undefined> {
  await client.query('BEGIN');
  try {
    const cutoff = `now() - make_interval(days => $1)`;
    const oldest = await client.query<{ day: string }>(
      `SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM audit_events
        WHERE archive_key IS NULL AND occurred_at < ${cutoff} ORDER BY occurred_at, id LIMIT 1`,
      [deps.retentionDays],
    );
    const day = oldest.rows[0]?.day;
    if (day === undefined) {
      await client.query('ROLLBACK');
      return undefined;
    }
    // One object never spans two UTC days, so the key's date is the events' date.
    const batch = await client.query<{ id: string }>(
      `SELECT id FROM audit_events
        WHERE archive_key IS NULL AND occurred_at < ${cutoff}
          AND occurred_at >= ($2::date)::timestamp AT TIME ZONE 'UTC' AND occurred_at < ($2::date + 1)::timestamp AT TIME ZONE 'UTC'
        ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
      [deps.retentionDays, day, deps.batchSize],
    );
    const ids = batch.rows.map((row) => row.id);
    if (ids.length === 0) {
      await client.query('ROLLBACK');
      return undefined;
    }
    const key = archiveKey(day, ids[0]!, ids[ids.length - 1]!);
    await client.query('UPDATE audit_events SET archive_key = $1 WHERE id = ANY($2::bigint[])', [key, ids]);
    await client.query('COMMIT');
    return key;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function readArchive(deps: ArchiveDeps, key: string): Promise<string | undefined> {
  try {
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
    const bytes = await object.Body!.transformToByteArray();
    return gunzipSync(bytes).toString('utf8');
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
    // A corrupt (not gzip) object reads as "different": it is rewritten, never trusted.
    if ((error as { code?: string }).code?.startsWith('Z_')) return '';
    throw error;
  }
}

/** Writes (if needed), verifies, then deletes the rows of one claimed batch. Returns the events archived. */
async function flushBatch(client: PoolClient, deps: ArchiveDeps, key: string): Promise<number> {
  const { rows } = await client.query<AuditRow>(
    `SELECT id::text AS id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at,
            action, actor, subject, details
       FROM audit_events WHERE archive_key = $1 ORDER BY audit_events.id`,
    [key],
  );
  if (rows.length === 0) return 0;
  const jsonl = toJsonl(rows);
  const checksum = sha256(jsonl);

  const existing = await readArchive(deps, key);
  if (existing === undefined || sha256(existing) !== checksum) {
    if (existing !== undefined) deps.logger.warn('Archive object differs from its claimed events; rewriting it', { event: 'ArchiveRewrite', key });
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: key,
        Body: gzipSync(jsonl),
        ContentType: 'application/gzip',
        Metadata: { 'sha256-jsonl': checksum, events: String(rows.length) },
      }),
    );
    const readBack = await readArchive(deps, key);
    if (readBack === undefined || sha256(readBack) !== checksum) {
      throw new ArchiveVerifyError(`s3://${deps.bucket}/${key} did not read back as written; its ${rows.length} events stay in the database.`);
    }
  }
  await deps.hooks?.afterVerify?.(key);
  const deleted = await client.query('DELETE FROM audit_events WHERE archive_key = $1', [key]);
  deps.logger.info('Audit events archived', { event: 'AuditArchived', key, bucket: deps.bucket, events: rows.length, deleted: deleted.rowCount, sha256_jsonl: checksum });
  return rows.length;
}

export async function archiveAuditEvents(deps: ArchiveDeps): Promise<ArchiveResult> {
  const started = Date.now();
  const pool = await deps.pool();
  const client = await pool.connect();
  const result: ArchiveResult = { status: 'done', objects: [], events: 0, resumed: 0 };
  try {
    const { rows } = await client.query<{ locked: boolean }>(ARCHIVE_LOCK_SQL);
    if (!rows[0]?.locked) {
      deps.logger.info('Another archive run holds the lock; nothing to do', { event: 'ArchiveSkipped' });
      return { ...result, status: 'skipped' };
    }
    try {
      // First finish what an interrupted run claimed.
      const leftover = await client.query<{ archive_key: string }>('SELECT DISTINCT archive_key FROM audit_events WHERE archive_key IS NOT NULL ORDER BY 1');
      for (const { archive_key: key } of leftover.rows) {
        result.events += await flushBatch(client, deps, key);
        result.objects.push(key);
        result.resumed += 1;
      }
      while (Date.now() - started < deps.budgetMs) {
        const key = await claimBatch(client, deps);
        if (key === undefined) break;
        await deps.hooks?.afterClaim?.(key);
        result.events += await flushBatch(client, deps, key);
        result.objects.push(key);
      }
    } finally {
      await client.query(ARCHIVE_UNLOCK_SQL);
    }
  } finally {
    client.release();
  }
  deps.logger.info('Archive task finished', { event: 'ArchiveDone', objects: result.objects.length, events: result.events, resumed: result.resumed });
  return result;
}
