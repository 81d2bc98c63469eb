// The API's SQL: API keys, watchpoints scoped to a key, audit events and Idempotency-Key records.
import type { Pool, PoolClient } from 'pg';
import type { CreateWatchpoint, Cursor, UpdateWatchpoint } from './schemas.ts';
import type { ApiResponse } from './http.ts';

export type Db = Pool | PoolClient;

/** Exact timestamps (microseconds) as ISO text, so a cursor made from one matches the row again. */
const isoText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const WATCHPOINT_COLUMNS = `id, name, latitude, longitude, variable, condition, threshold, window_start_hours, window_end_hours,
  channels, active, ${isoText('created_at')} AS created_at, ${isoText('updated_at')} AS updated_at`;
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
  created_at: string;
  updated_at: string;
  webhook_secret?: string;
}

// --- API keys ------------------------------------------------------------------------------------

export async function findActiveKeyId(db: Db, hash: Buffer): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [hash]);
  return rows[0]?.id;
}

export async function insertApiKey(db: Db, name: string, prefix: string, hash: Buffer): Promise<{ id: string; created_at: string }> {
  const { rows } = await db.query<{ id: string; created_at: string }>(
    `INSERT INTO api_keys (name, key_prefix, key_hash) VALUES ($1, $2, $3) RETURNING id, ${isoText('created_at')} AS created_at`,
    [name, prefix, hash],
  );
  return rows[0]!;
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
