// The delivery side of a notification record (docs/delivery.md): exactly one send per notification_id,
// however often SQS delivers the message. A worker takes a short lease on the record before it sends,
// then moves the record to `delivered` or `failed` (permanent) or releases the lease (retry later).
// Every update is conditional on the record still being `pending`/`enqueued`, so a copy of the
// message that arrives after the first was delivered is a no-op.
import type { Pool } from 'pg';

/**
 * How long a claim keeps other copies of the message away. Longer than any one send can take (the
 * webhook timeout is 10 s, the function's 30 s), shorter than the queues' 180 s visibility timeout, so
 * the retry of a worker that died mid-send finds the lease expired and sends.
 */
export const DELIVERY_LEASE_SECONDS = 60;

export type Claim =
  /** This worker may send now. `attempts` counts this one. */
  | { kind: 'claimed'; attempts: number; webhookSecret?: string }
  /** Already delivered, or failed permanently: the message is a duplicate, drop it. */
  | { kind: 'done'; status: 'delivered' | 'failed' }
  /** Another worker is sending it right now: retry this copy later (it will then be a duplicate). */
  | { kind: 'leased' }
  /** No record for this (id, watchpoint, channel): the watchpoint was deleted, or the message is forged. */
  | { kind: 'missing' };

export interface ClaimKey {
  notificationId: string;
  watchpointId: string;
  /** channelKey(channel), which the record must carry, so a message cannot redirect a notification. */
  channel: string;
}

const CLAIM_SQL = `
UPDATE notification_records
   SET attempts = attempts + 1, lease_until = now() + make_interval(secs => $4), last_attempt_at = now()
 WHERE id = $1 AND watchpoint_id = $2 AND channel = $3
   AND status IN ('pending', 'enqueued')
   AND (lease_until IS NULL OR lease_until <= now())
RETURNING attempts`;

// The webhook worker needs the watchpoint's signing secret; it is read in the same round trip.
const CLAIM_WITH_SECRET_SQL = `
UPDATE notification_records r
   SET attempts = r.attempts + 1, lease_until = now() + make_interval(secs => $4), last_attempt_at = now()
  FROM watchpoints w
 WHERE r.id = $1 AND r.watchpoint_id = $2 AND r.channel = $3 AND w.id = r.watchpoint_id
   AND r.status IN ('pending', 'enqueued')
   AND (r.lease_until IS NULL OR r.lease_until <= now())
RETURNING r.attempts, w.webhook_secret`;

const WHY_NOT_SQL = `
SELECT status, lease_until > now() AS leased
  FROM notification_records
 WHERE id = $1 AND watchpoint_id = $2 AND channel = $3`;

export async function claimDelivery(pool: Pool, key: ClaimKey, options: { withSecret?: boolean; leaseSeconds?: number } = {}): Promise<Claim> {
  const params = [key.notificationId, key.watchpointId, key.channel, options.leaseSeconds ?? DELIVERY_LEASE_SECONDS];
  const claimed = await pool.query<{ attempts: number; webhook_secret?: string }>(options.withSecret ? CLAIM_WITH_SECRET_SQL : CLAIM_SQL, params);
  const row = claimed.rows[0];
  if (row) return { kind: 'claimed', attempts: row.attempts, ...(row.webhook_secret === undefined ? {} : { webhookSecret: row.webhook_secret }) };
  const { rows } = await pool.query<{ status: string; leased: boolean | null }>(WHY_NOT_SQL, params.slice(0, 3));
  const current = rows[0];
  if (!current) return { kind: 'missing' };
  if (current.status === 'delivered' || current.status === 'failed') return { kind: 'done', status: current.status };
  return { kind: 'leased' };
}

const DELIVERED_SQL = `
UPDATE notification_records SET status = 'delivered', delivered_at = now(), lease_until = NULL, last_error = NULL
 WHERE id = $1 AND status IN ('pending', 'enqueued')`;

const FAILED_SQL = `
UPDATE notification_records SET status = 'failed', lease_until = NULL, last_error = $2
 WHERE id = $1 AND status IN ('pending', 'enqueued')`;

// Keeps the record deliverable (a retry or a DLQ redrive sends it) and frees the lease at once.
const RELEASE_SQL = `
UPDATE notification_records SET lease_until = NULL, last_error = $2
 WHERE id = $1 AND status IN ('pending', 'enqueued')`;

/** last_error is for operators: short, and never a secret or a body (callers pass a reason, not a payload). */
const clip = (reason: string): string => reason.slice(0, 500);

export async function markDelivered(pool: Pool, notificationId: string): Promise<void> {
  await pool.query(DELIVERED_SQL, [notificationId]);
}

export async function markFailed(pool: Pool, notificationId: string, reason: string): Promise<void> {
  await pool.query(FAILED_SQL, [notificationId, clip(reason)]);
}

export async function releaseForRetry(pool: Pool, notificationId: string, reason: string): Promise<void> {
  await pool.query(RELEASE_SQL, [notificationId, clip(reason)]);
}
