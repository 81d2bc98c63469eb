// ApiFunction driven with HTTP API v2 events against the test PostgreSQL.
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Pool } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { toApiRequest } from '../../src/lambdas/api/index.ts';
import type { ApiDeps } from '../../src/lambdas/api/router.ts';
import { API_KEY_PATTERN } from '../../src/lambdas/shared/api-keys.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { captureLogs, type CapturedLogs } from '../pipeline/logs.ts';
import { insertWatchpoints } from '../pipeline/fixtures.ts';
import { ADMIN_KEY, WATCHPOINT, apiClient, expectProblem, type ApiClient, type Reply } from './client.ts';
import { SECURITY_ABUSE_FILTER, httpEvent, matchesJsonFilter, type EventOptions } from './events.ts';

let db: TestDatabase;
let client: ApiClient;
let deps: ApiDeps;
let logs: CapturedLogs | undefined;

beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'));
  client = apiClient(db);
  deps = client.deps;
});
afterAll(async () => db.drop());
afterEach(() => {
  logs?.restore();
  logs = undefined;
});

const send = (event: APIGatewayProxyEventV2, overrides: Partial<ApiDeps> = {}) => client.send(event, overrides);
const call = (method: string, path: string, token: string | undefined, options: EventOptions = {}, overrides: Partial<ApiDeps> = {}) => client.call(method, path, token, options, overrides);
const createKey = (name = 'test') => client.createKey(name);

describe('GET /health', () => {
  it('reports version, environment, config and database without auth', async () => {
    const reply = await call('GET', '/health', undefined);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'ok', version: '0.1.0', environment: 'test', checks: { config: { status: 'ok' }, database: { status: 'ok' } } });
  });

  it('is 503 when the database is unreachable or the config incomplete, without leaking either', async () => {
    logs = captureLogs();
    const broken = {
      pool: async () => {
        throw new Error('connect ECONNREFUSED postgres://app:hunter2@db.internal:5432/watchpoint');
      },
      config: () => {
        throw new Error('Missing environment variable(s): APP_ENV');
      },
    };
    const reply = await call('GET', '/health', undefined, {}, broken);
    expect(reply.status).toBe(503);
    expect(reply.body).toMatchObject({ status: 'unavailable', environment: null, checks: { config: { status: 'failed' }, database: { status: 'failed' } } });
    expect(reply.raw).not.toContain('hunter2');
    expect(reply.raw).not.toContain('APP_ENV');
    expect(logs.json().some((line) => line.level === 'ERROR' && String(line.message).includes('database unreachable'))).toBe(true);
  });
});

describe('authentication', () => {
  it('401 problem with WWW-Authenticate when the key is missing, malformed, unknown or revoked', async () => {
    const { id, key } = await createKey();
    expectProblem(await call('GET', '/v1/watchpoints', undefined), 401, 'unauthorized');
    expect((await call('GET', '/v1/watchpoints', undefined)).headers['www-authenticate']).toMatch(/^Bearer/);
    expectProblem(await send(httpEvent('GET', '/v1/watchpoints', { headers: { authorization: `Basic ${key}` } })), 401, 'unauthorized');
    expectProblem(await call('GET', '/v1/watchpoints', 'wp_' + 'A'.repeat(43)), 401, 'unauthorized');
    expectProblem(await call('GET', '/v1/watchpoints', 'not-a-key'), 401, 'unauthorized');
    // The admin key manages keys; it is not an API key.
    expectProblem(await call('GET', '/v1/watchpoints', ADMIN_KEY), 401, 'unauthorized');
    expect((await call('GET', '/v1/watchpoints', key)).status).toBe(200);

    expect((await call('DELETE', `/v1/api-keys/${id}`, ADMIN_KEY)).status).toBe(204);
    expectProblem(await call('GET', '/v1/watchpoints', key), 401, 'unauthorized');
    expectProblem(await call('DELETE', `/v1/api-keys/${id}`, ADMIN_KEY), 404, 'not-found');
  });

  it('admin routes refuse API keys and wrong admin keys; an empty admin key disables admin access', async () => {
    const { key } = await createKey();
    expectProblem(await call('POST', '/v1/api-keys', key, { body: {} }), 401, 'unauthorized');
    expectProblem(await call('POST', '/v1/api-keys', `${ADMIN_KEY}x`, { body: {} }), 401, 'unauthorized');
    expectProblem(await call('POST', '/v1/api-keys', '', { body: {} }, { adminKey: async () => '' }), 401, 'unauthorized');
    expectProblem(await call('POST', '/v1/api-keys', 'anything', { body: {} }, { adminKey: async () => '' }), 401, 'unauthorized');
  });
});

describe('POST /v1/api-keys', () => {
  it('returns the key once, stores only its sha256, and logs an audit line the SecurityAbuse filter counts', async () => {
    logs = captureLogs();
    const reply = await call('POST', '/v1/api-keys', ADMIN_KEY, { body: { name: 'ci' } });
    const lines = logs.lines();
    logs.restore();
    logs = undefined;

    expect(reply.status).toBe(201);
    expect(reply.body.key).toMatch(API_KEY_PATTERN);
    expect(reply.body).toMatchObject({ name: 'ci', key_prefix: reply.body.key.slice(0, 11) });
    const { rows } = await db.pool.query('SELECT * FROM api_keys WHERE id = $1', [reply.body.id]);
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0].key_hash).equals(createHash('sha256').update(reply.body.key).digest())).toBe(true);
    expect(JSON.stringify(rows[0])).not.toContain(reply.body.key.slice(11));

    const counted = lines.filter((line) => matchesJsonFilter(SECURITY_ABUSE_FILTER, line));
    expect(counted).toHaveLength(1);
    expect(JSON.parse(counted[0]!)).toMatchObject({ action: 'apikey.created', key_id: reply.body.id, key_prefix: reply.body.key_prefix, source_ip: '203.0.113.9' });
    for (const line of lines) {
      expect(line).not.toContain(reply.body.key.slice(11));
      expect(line).not.toContain(ADMIN_KEY);
    }
    const audit = await db.pool.query("SELECT * FROM audit_events WHERE action = 'apikey.created' AND subject = $1", [reply.body.id]);
    expect(audit.rows).toHaveLength(1);
  });

  it('a replayed Idempotency-Key never shows the secret again', async () => {
    const headers = { 'idempotency-key': 'create-key-1' };
    const first = await call('POST', '/v1/api-keys', ADMIN_KEY, { body: { name: 'once' }, headers });
    expect(first.status).toBe(201);
    const again = await call('POST', '/v1/api-keys', ADMIN_KEY, { body: { name: 'once' }, headers });
    expectProblem(again, 409, 'api-key-already-created');
    expect(again.body.api_key.id).toBe(first.body.id);
    expect(again.raw).not.toContain(first.body.key);
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM api_keys WHERE name = 'once'");
    expect(rows[0].n).toBe(1);
    const stored = await db.pool.query('SELECT response_body FROM idempotency_records');
    for (const row of stored.rows) expect(row.response_body).not.toContain(first.body.key);
  });
});

describe('/v1/watchpoints', () => {
  it('create, get, update, list and delete, scoped to the caller key', async () => {
    const a = await createKey('a');
    const b = await createKey('b');
    const created = await call('POST', '/v1/watchpoints', a.key, { body: WATCHPOINT });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`/v1/watchpoints/${created.body.id}`);
    expect(created.body).toMatchObject({ ...WATCHPOINT, active: true, webhook_secret: expect.stringMatching(/^whsec_/) });
    const id = created.body.id as string;
    // The owner sees the webhook signing secret on create and get-one, never in lists or updates.
    const secret = created.body.webhook_secret as string;
    expect(JSON.stringify((await call('GET', '/v1/watchpoints', a.key)).body)).not.toContain(secret);

    expect((await call('GET', `/v1/watchpoints/${id}`, a.key)).body).toEqual(created.body);
    expectProblem(await call('GET', `/v1/watchpoints/${id}`, b.key), 404, 'not-found');
    expectProblem(await call('PATCH', `/v1/watchpoints/${id}`, b.key, { body: { active: false } }), 404, 'not-found');
    expectProblem(await call('DELETE', `/v1/watchpoints/${id}`, b.key), 404, 'not-found');
    expect((await call('GET', '/v1/watchpoints', b.key)).body).toEqual({ data: [], next_cursor: null });

    const updated = await call('PATCH', `/v1/watchpoints/${id}`, a.key, { body: { threshold: 35, active: false } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ threshold: 35, active: false, name: 'Madrid heat' });
    expect(updated.body).not.toHaveProperty('webhook_secret');
    expect(updated.body.updated_at > created.body.updated_at).toBe(true);

    expect((await call('DELETE', `/v1/watchpoints/${id}`, a.key)).status).toBe(204);
    expectProblem(await call('GET', `/v1/watchpoints/${id}`, a.key), 404, 'not-found');
    const actions = await db.pool.query('SELECT action FROM audit_events WHERE subject = $1 ORDER BY id', [id]);
    expect(actions.rows.map((r) => r.action)).toEqual(['watchpoint.created', 'watchpoint.updated', 'watchpoint.deleted']);
  });

  it('validation errors are 400 problems naming each field, and change nothing', async () => {
    const { key } = await createKey();
    const before = await db.pool.query('SELECT count(*)::int AS n FROM watchpoints');
    const bad = await call('POST', '/v1/watchpoints', key, {
      body: { ...WATCHPOINT, latitude: 91, condition: 'above', channels: [{ type: 'email', address: 'nope' }], extra: 1 },
    });
    expectProblem(bad, 400, 'validation-error');
    const fields = bad.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['latitude', 'condition', 'channels.0.address', '(body)']));

    expectProblem(await call('POST', '/v1/watchpoints', key, { body: '{"latitude": 1,' }), 400, 'validation-error');
    expectProblem(await call('POST', '/v1/watchpoints', key), 400, 'validation-error');
    expectProblem(await call('POST', '/v1/watchpoints', key, { body: { ...WATCHPOINT, window_start_hours: 50 } }), 400, 'validation-error');
    expectProblem(await call('GET', '/v1/watchpoints/not-a-uuid', key), 404, 'not-found');
    expect((await db.pool.query('SELECT count(*)::int AS n FROM watchpoints')).rows[0].n).toBe(before.rows[0].n);

    // A PATCH that is valid on its own but not with the stored row is refused by the table's check.
    const { body } = await call('POST', '/v1/watchpoints', key, { body: WATCHPOINT });
    expectProblem(await call('PATCH', `/v1/watchpoints/${body.id}`, key, { body: { window_start_hours: 100 } }), 400, 'validation-error');
    expectProblem(await call('PATCH', `/v1/watchpoints/${body.id}`, key, { body: {} }), 400, 'validation-error');
    expect((await call('GET', `/v1/watchpoints/${body.id}`, key)).body.window_start_hours).toBe(0);
  });

  it('paginates with an opaque cursor: every row once, in creation order', async () => {
    const { key, id } = await createKey('pager');
    const pool: Pool = db.pool;
    await insertWatchpoints(pool, Array.from({ length: 120 }, (_, i) => ({ name: `wp${i}`, latitude: 1, longitude: 2, variable: 't', condition: 'gt' as const, threshold: i, window_end_hours: 1, channels: [] })));
    // Same created_at for many rows (one INSERT), so the id breaks ties.
    await pool.query("UPDATE watchpoints SET api_key_id = $1 WHERE name LIKE 'wp%' AND api_key_id IS NULL", [id]);
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const reply: Reply = await call('GET', '/v1/watchpoints', key, { query: { limit: '50', ...(cursor ? { cursor } : {}) } });
      expect(reply.status).toBe(200);
      sizes.push(reply.body.data.length);
      seen.push(...reply.body.data.map((w: { id: string }) => w.id));
      cursor = reply.body.next_cursor;
    } while (cursor);
    expect(sizes).toEqual([50, 50, 20]);
    expect(new Set(seen).size).toBe(120);
    const expected = await pool.query('SELECT id FROM watchpoints WHERE api_key_id = $1 ORDER BY created_at, id', [id]);
    expect(seen).toEqual(expected.rows.map((r) => r.id));

    expect((await call('GET', '/v1/watchpoints', key)).body.data).toHaveLength(50);
    expectProblem(await call('GET', '/v1/watchpoints', key, { query: { limit: '0' } }), 400, 'validation-error');
    expectProblem(await call('GET', '/v1/watchpoints', key, { query: { limit: '101' } }), 400, 'validation-error');
    expectProblem(await call('GET', '/v1/watchpoints', key, { query: { cursor: 'garbage!' } }), 400, 'validation-error');
    expectProblem(await call('GET', '/v1/watchpoints', key, { query: { cursor: Buffer.from('x|y').toString('base64url') } }), 400, 'validation-error');
  });
});

describe('Idempotency-Key', () => {
  it('same key and body replays the stored response; a different body is 422; keys are per caller', async () => {
    const a = await createKey('idem-a');
    const b = await createKey('idem-b');
    const headers = { 'idempotency-key': 'wp-create-1' };
    const first = await call('POST', '/v1/watchpoints', a.key, { body: WATCHPOINT, headers });
    expect(first.status).toBe(201);
    // Same content, different key order and whitespace: still the same request.
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(WATCHPOINT).reverse()), null, 2);
    const replay = await call('POST', '/v1/watchpoints', a.key, { body: reordered, headers });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.headers.location).toBe(first.headers.location);

    const conflict = await call('POST', '/v1/watchpoints', a.key, { body: { ...WATCHPOINT, threshold: 1 }, headers });
    expectProblem(conflict, 422, 'idempotency-key-reused');

    // Another caller's identical key is a different record.
    const other = await call('POST', '/v1/watchpoints', b.key, { body: WATCHPOINT, headers });
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);
    const count = await db.pool.query('SELECT api_key_id, count(*)::int AS n FROM watchpoints WHERE api_key_id = ANY($1) GROUP BY 1', [[a.id, b.id]]);
    expect(count.rows.map((r) => r.n)).toEqual([1, 1]);
  });

  it('concurrent requests with one key create one watchpoint', async () => {
    const { key, id } = await createKey('idem-race');
    const headers = { 'idempotency-key': 'race' };
    const replies = await Promise.all(Array.from({ length: 4 }, () => call('POST', '/v1/watchpoints', key, { body: WATCHPOINT, headers })));
    expect(replies.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM watchpoints WHERE api_key_id = $1', [id])).rows[0].n).toBe(1);
  });

  it('a failed request does not bind the key; an expired record (24 h) does not replay', async () => {
    const { key } = await createKey('idem-expiry');
    const headers = { 'idempotency-key': 'fix-and-retry' };
    expectProblem(await call('POST', '/v1/watchpoints', key, { body: { ...WATCHPOINT, latitude: 100 }, headers }), 400, 'validation-error');
    const fixed = await call('POST', '/v1/watchpoints', key, { body: WATCHPOINT, headers });
    expect(fixed.status).toBe(201);

    await db.pool.query("UPDATE idempotency_records SET expires_at = now() - interval '1 second' WHERE idempotency_key = 'fix-and-retry'");
    const fresh = await call('POST', '/v1/watchpoints', key, { body: { ...WATCHPOINT, name: 'new' }, headers });
    expect(fresh.status).toBe(201);
    expect(fresh.headers['idempotent-replayed']).toBeUndefined();
    expect(fresh.body.id).not.toBe(fixed.body.id);
    expectProblem(await call('POST', '/v1/watchpoints', key, { body: WATCHPOINT, headers: { 'idempotency-key': 'x'.repeat(256) } }), 400, 'validation-error');
  });
});

describe('routing and errors', () => {
  it('404 for unknown routes, 405 with Allow for a wrong method', async () => {
    expectProblem(await call('GET', '/v2/nothing', undefined), 404, 'not-found');
    const wrong = await call('PUT', '/v1/watchpoints', undefined);
    expectProblem(wrong, 405, 'method-not-allowed');
    expect(wrong.headers.allow).toBe('POST, GET');
  });

  it('an unexpected failure is a 500 problem with no message, stack or secret; the log has the safe fields', async () => {
    const { key } = await createKey('boom');
    logs = captureLogs();
    const failing = {
      pool: async () =>
        ({
          query: async (text: string, values: unknown[]) => {
            if (text.includes('FROM api_keys')) return db.pool.query(text, values);
            throw new Error('relation exploded; password=hunter2');
          },
        }) as unknown as Pool,
    };
    const reply = await call('GET', '/v1/watchpoints', key, {}, failing);
    expectProblem(reply, 500, 'internal-error');
    expect(reply.raw).not.toContain('hunter2');
    expect(reply.raw).not.toContain('exploded');
    expect(logs.json().find((line) => line.message === 'Request failed')).toMatchObject({ level: 'ERROR', error_name: 'Error', path: '/v1/watchpoints' });
  });

  it('adapts v2 events: base64 bodies, trailing slashes, header case', async () => {
    const { key } = await createKey('adapter');
    const event = httpEvent('POST', '/v1/watchpoints/', { body: WATCHPOINT, base64: true, headers: { Authorization: `Bearer ${key}` } });
    const reply = await send(event);
    expect(reply.status).toBe(201);
    expect(toApiRequest(event)).toMatchObject({ method: 'POST', path: '/v1/watchpoints/', headers: { authorization: `Bearer ${key}` }, sourceIp: '203.0.113.9' });
  });
});
