// The API's SQL: API keys, watchpoints scoped to a key, audit events and Idempotency-Key records.
import type { Pool, PoolClient } from 'pg';
import type { CreateWatchpoint, Cursor, UpdateWatchpoint } from './schemas.ts';
import type { ApiResponse } from './http.ts';

export type Db = Pool | PoolClient;

/** Exact timestamps (microseconds) as ISO text, so a cursor made from one matches the row again. */
const isoText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const WATCHPOINT_COLUMNS = `id, name, latitude, longitude, variable, condition, threshold, window_start_hours, window_end_hours,
  channels, active, paused_at IS NOT NULL AS paused, paused_reason, ${isoText('created_at')} AS created_at, ${isoText('updated_at')} AS updated_at`;
/**
 * Create and get-one also return the watchpoint's webhook signing secret (issue 9's column), which
 * its owner needs to verify deliveries (docs/webhooks.md). Lists and updates never include it.
 */
const WATCHPOINT_DETAIL_COLUMNS = `${WATCHPOINT_COLUMNS}, webhook_secret`;

export interface Watchpoint {
  id: string;
  name: string;
  latitude: number;
  longitude: number;
  variable: string;
  condition: string;
  threshold: number;
  window_start_hours: number;
  window_end_hours: number;
  channels: unknown[];
  active: boolean;
  /** Paused by the platform's admin (issue 27): no notifications until the admin resumes it. */
  paused: boolean;
  paused_reason: 'key_revoked' | 'operator' | null;
  created_at: string;
  updated_at: string;
  webhook_secret?: string;
}

// --- API keys ------------------------------------------------------------------------------------

export async function findActiveKeyId(db: Db, hash: Buffer): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [hash]);
  return rows[0]?.id;
}

/** A key's own quotas; null takes the stage's default. */
export interface KeyQuotas {
  watchpoints: number | null;
  channels_per_watchpoint: number | null;
  recipients: number | null;
}

export async function insertApiKey(db: Db, name: string, prefix: string, hash: Buffer, quotas: KeyQuotas): Promise<{ id: string; created_at: string }> {
  const { rows } = await db.query<{ id: string; created_at: string }>(
    `INSERT INTO api_keys (name, key_prefix, key_hash, quota_watchpoints, quota_channels_per_watchpoint, quota_recipients)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, ${isoText('created_at')} AS created_at`,
    [name, prefix, hash, quotas.watchpoints, quotas.channels_per_watchpoint, quotas.recipients],
  );
  return rows[0]!;
}

/**
 * Locks the key's row for the rest of the transaction, so two concurrent creates by one key count
 * each other (a quota is never exceeded by a race), and returns the key's own quotas.
 */
export async function lockKeyQuotas(db: Db, keyId: string): Promise<KeyQuotas> {
  const { rows } = await db.query<KeyQuotas>(
    `SELECT quota_watchpoints AS watchpoints, quota_channels_per_watchpoint AS channels_per_watchpoint, quota_recipients AS recipients
       FROM api_keys WHERE id = $1 FOR UPDATE`,
    [keyId],
  );
  return rows[0] ?? { watchpoints: null, channels_per_watchpoint: null, recipients: null };
}

export async function countWatchpoints(db: Db, keyId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM watchpoints WHERE api_key_id = $1', [keyId]);
  return rows[0]?.n ?? 0;
}

/** The distinct email addresses (lowercased) the key's watchpoints send to, except one watchpoint's. */
export async function recipientsOf(db: Db, keyId: string, exceptWatchpoint: string | null): Promise<Set<string>> {
  const { rows } = await db.query<{ address: string }>(
    `SELECT DISTINCT lower(c->>'address') AS address FROM watchpoints w, jsonb_array_elements(w.channels) c
      WHERE w.api_key_id = $1 AND c->>'type' = 'email' AND ($2::uuid IS NULL OR w.id <> $2::uuid)`,
    [keyId, exceptWatchpoint],
  );
  return new Set(rows.map((row) => row.address));
}

export interface ApiKeySummary {
  id: string;
  name: string;
  key_prefix: string;
  created_at: string;
  revoked_at: string | null;
  watchpoints: number;
  paused: number;
  recipients: number;
  quotas: KeyQuotas;
}

export const MAX_LISTED_KEYS = 1000;

/**
 * Every key (newest first, at most MAX_LISTED_KEYS) with its watchpoint, paused and recipient
 * counts; with `recipient`, only the keys whose watchpoints send to that address, counting those.
 */
export async function listApiKeys(db: Db, recipient: string | undefined): Promise<ApiKeySummary[]> {
  const { rows } = await db.query<ApiKeySummary & { q_w: number | null; q_c: number | null; q_r: number | null }>(
    `WITH mine AS (
       SELECT w.api_key_id, w.id, w.paused_at FROM watchpoints w
        WHERE w.api_key_id IS NOT NULL
          AND ($1::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_array_elements(w.channels) c WHERE c->>'type' = 'email' AND lower(c->>'address') = lower($1)))
     ), counts AS (
       SELECT api_key_id, count(*)::int AS watchpoints, count(paused_at)::int AS paused FROM mine GROUP BY api_key_id
     ), recipients AS (
       SELECT w.api_key_id, count(DISTINCT lower(c->>'address'))::int AS recipients
         FROM watchpoints w, jsonb_array_elements(w.channels) c WHERE w.api_key_id IS NOT NULL AND c->>'type' = 'email' GROUP BY w.api_key_id
     )
     SELECT k.id, k.name, k.key_prefix, ${isoText('k.created_at')} AS created_at,
            CASE WHEN k.revoked_at IS NULL THEN NULL ELSE ${isoText('k.revoked_at')} END AS revoked_at,
            coalesce(c.watchpoints, 0) AS watchpoints, coalesce(c.paused, 0) AS paused, coalesce(r.recipients, 0) AS recipients,
            k.quota_watchpoints AS q_w, k.quota_channels_per_watchpoint AS q_c, k.quota_recipients AS q_r
       FROM api_keys k LEFT JOIN counts c ON c.api_key_id = k.id LEFT JOIN recipients r ON r.api_key_id = k.id
      WHERE $1::text IS NULL OR c.watchpoints > 0
      ORDER BY k.created_at DESC, k.id LIMIT $2`,
    [recipient ?? null, MAX_LISTED_KEYS],
  );
  return rows.map(({ q_w, q_c, q_r, ...row }) => ({ ...row, quotas: { watchpoints: q_w, channels_per_watchpoint: q_c, recipients: q_r } }));
}

/** Whose watchpoints to pause or resume: one key's, or every watchpoint that emails one address. */
export type WatchpointSelector = { apiKeyId: string } | { recipient: string };

const SELECTED = `(CASE WHEN $1::uuid IS NOT NULL THEN api_key_id = $1::uuid
  ELSE EXISTS (SELECT 1 FROM jsonb_array_elements(channels) c WHERE c->>'type' = 'email' AND lower(c->>'address') = lower($2::text)) END)`;
const selectorParams = (selector: WatchpointSelector): [string | null, string | null] =>
  'apiKeyId' in selector ? [selector.apiKeyId, null] : [null, selector.recipient];

/** Pauses the selected watchpoints not paused yet; returns their ids. */
export async function pauseWatchpoints(db: Db, selector: WatchpointSelector, reason: 'key_revoked' | 'operator'): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE watchpoints SET paused_at = now(), paused_reason = $3 WHERE paused_at IS NULL AND ${SELECTED} RETURNING id`,
    [...selectorParams(selector), reason],
  );
  return rows.map((row) => row.id);
}

/** Resumes the selected paused watchpoints, whatever paused them; returns their ids. */
export async function resumeWatchpoints(db: Db, selector: WatchpointSelector): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE watchpoints SET paused_at = NULL, paused_reason = NULL WHERE paused_at IS NOT NULL AND ${SELECTED} RETURNING id`,
    selectorParams(selector),
  );
  return rows.map((row) => row.id);
}

export async function apiKeyExists(db: Db, id: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM api_keys WHERE id = $1', [id]);
  return (rowCount ?? 0) > 0;
}

export async function revokeApiKey(db: Db, id: string): Promise<{ key_prefix: string } | undefined> {
  const { rows } = await db.query<{ key_prefix: string }>(
    'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING key_prefix',
    [id],
  );
  return rows[0];
}

// --- Audit events --------------------------------------------------------------------------------

export async function insertAuditEvent(db: Db, event: { action: string; actor: string; subject?: string; details?: Record<string, unknown> }): Promise<void> {
  await db.query('INSERT INTO audit_events (action, actor, subject, details) VALUES ($1, $2, $3, $4)', [
    event.action,
    event.actor,
    event.subject ?? null,
    JSON.stringify(event.details ?? {}),
  ]);
}

// --- Watchpoints ---------------------------------------------------------------------------------

export async function insertWatchpoint(db: Db, keyId: string, input: CreateWatchpoint): Promise<Watchpoint> {
  const { rows } = await db.query<Watchpoint>(
    `INSERT INTO watchpoints (api_key_id, name, latitude, longitude, variable, condition, threshold, window_start_hours, window_end_hours, channels, active)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${WATCHPOINT_DETAIL_COLUMNS}`,
    [
      keyId,
      input.name ?? '',
      input.latitude,
      input.longitude,
      input.variable,
      input.condition,
      input.threshold,
      input.window_start_hours ?? 0,
      input.window_end_hours,
      JSON.stringify(input.channels),
      input.active ?? true,
    ],
  );
  return rows[0]!;
}

export async function getWatchpoint(db: Db, keyId: string, id: string): Promise<Watchpoint | undefined> {
  const { rows } = await db.query<Watchpoint>(`SELECT ${WATCHPOINT_DETAIL_COLUMNS} FROM watchpoints WHERE id = $1 AND api_key_id = $2`, [id, keyId]);
  return rows[0];
}

/** One page in (created_at, id) order, through the (api_key_id, created_at, id) index. */
export const LIST_FIRST_PAGE_SQL = `SELECT ${WATCHPOINT_COLUMNS} FROM watchpoints WHERE api_key_id = $1 ORDER BY created_at, id LIMIT $2`;
export const LIST_NEXT_PAGE_SQL = `SELECT ${WATCHPOINT_COLUMNS} FROM watchpoints
  WHERE api_key_id = $1 AND (created_at, id) > ($3::timestamptz, $4::uuid) ORDER BY created_at, id LIMIT $2`;

export async function listWatchpoints(db: Db, keyId: string, limit: number, after: Cursor | undefined): Promise<{ items: Watchpoint[]; next?: Cursor }> {
  // One extra row tells whether there is a next page without a count query.
  const { rows } = after
    ? await db.query<Watchpoint>(LIST_NEXT_PAGE_SQL, [keyId, limit + 1, after.createdAt, after.id])
    : await db.query<Watchpoint>(LIST_FIRST_PAGE_SQL, [keyId, limit + 1]);
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1]!;
  return { items, next: { createdAt: last.created_at, id: last.id } };
}

const UPDATABLE = [
  'name', 'latitude', 'longitude', 'variable', 'condition', 'threshold', 'window_start_hours', 'window_end_hours', 'channels', 'active',
] as const;

export async function updateWatchpoint(db: Db, keyId: string, id: string, changes: UpdateWatchpoint): Promise<Watchpoint | undefined> {
  const sets: string[] = [];
  const values: unknown[] = [id, keyId];
  for (const column of UPDATABLE) {
    const value = changes[column];
    if (value === undefined) continue;
    values.push(column === 'channels' ? JSON.stringify(value) : value);
    sets.push(`${column} = $${values.length}`);
  }
  const { rows } = await db.query<Watchpoint>(
    `UPDATE watchpoints SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 AND api_key_id = $2 RETURNING ${WATCHPOINT_COLUMNS}`,
    values,
  );
  return rows[0];
}

export async function deleteWatchpoint(db: Db, keyId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM watchpoints WHERE id = $1 AND api_key_id = $2', [id, keyId]);
  return (rowCount ?? 0) > 0;
}

// --- Idempotency-Key records ---------------------------------------------------------------------

export const IDEMPOTENCY_TTL_HOURS = 24;

export interface StoredResponse {
  request_hash: string;
  method: string;
  path: string;
  status_code: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
}

/**
 * Claims (scope, key) inside the caller's transaction. Returns true when this request owns the
 * record (new, or the old one expired). A concurrent request with the same key blocks on the row
 * until this transaction ends, then sees the stored response.
 */
export async function claimIdempotencyKey(client: PoolClient, scope: string, key: string, requestHash: string, method: string, path: string): Promise<boolean> {
  const { rowCount } = await client.query(
    `INSERT INTO idempotency_records (scope, idempotency_key, request_hash, method, path, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(hours => $6))
     ON CONFLICT (scope, idempotency_key) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, method = EXCLUDED.method, path = EXCLUDED.path, status_code = NULL,
           response_headers = NULL, response_body = NULL, created_at = now(), expires_at = EXCLUDED.expires_at
       WHERE idempotency_records.expires_at <= now()`,
    [scope, key, requestHash, method, path, IDEMPOTENCY_TTL_HOURS],
  );
  return (rowCount ?? 0) > 0;
}

export async function readIdempotencyRecord(client: PoolClient, scope: string, key: string): Promise<StoredResponse | undefined> {
  const { rows } = await client.query<StoredResponse>(
    `SELECT request_hash, method, path, status_code, response_headers, response_body FROM idempotency_records
      WHERE scope = $1 AND idempotency_key = $2 AND expires_at > now()`,
    [scope, key],
  );
  return rows[0];
}

export async function storeIdempotentResponse(client: PoolClient, scope: string, key: string, response: ApiResponse): Promise<void> {
  await client.query(
    'UPDATE idempotency_records SET status_code = $3, response_headers = $4, response_body = $5 WHERE scope = $1 AND idempotency_key = $2',
    [scope, key, response.status, JSON.stringify(response.headers), response.body],
  );
}
