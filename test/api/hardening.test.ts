// Issue 27: inputs that used to reach PostgreSQL (a 500) or the pipeline (a poisoned SQS message),
// answers that could be cached or outgrow Lambda's response limit, and secrets kept in idempotency
// records. Real router, real PostgreSQL.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/lambdas/api/router.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { ADMIN_KEY, WATCHPOINT, apiClient, expectProblem, type ApiClient, type Reply } from './client.ts';

let db: TestDatabase;
let api: ApiClient;
let key: string;

beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'));
  api = apiClient(db);
  key = (await api.createKey('hardening')).key;
});
afterAll(async () => db.drop());

const fieldsOf = (reply: Reply): string[] => reply.body.errors.map((e: { field: string }) => e.field);
const cursorOf = (createdAt: string) => Buffer.from(`${createdAt}|0b6f1a52-1f7e-4a51-9a8e-2f3c4d5e6f70`).toString('base64url');

describe('pagination cursor dates (item 2)', () => {
  it('an impossible date in a forged cursor is a 400 naming the cursor, not a 500', async () => {
    for (const time of ['2026-02-30T00:00:00.000000Z', '2026-13-01T00:00:00.000000Z', '0000-01-01T00:00:00.000000Z', '2026-04-31T00:00:00.000000Z', '2026-01-01T24:00:00.000000Z', '2026-01-01T00:60:00.000000Z', '2026-01-01T00:00:60.000000Z', '2025-02-29T00:00:00.000000Z']) {
      const reply = await api.call('GET', '/v1/watchpoints', key, { query: { cursor: cursorOf(time) } });
      expectProblem(reply, 400, 'validation-error');
      expect(fieldsOf(reply)).toEqual(['cursor']);
      expect(reply.raw).not.toContain(time);
    }
    // Real dates, including a leap day and year 1, are cursors PostgreSQL accepts.
    for (const time of ['2028-02-29T23:59:59.999999Z', '0001-01-01T00:00:00.000000Z', '2026-12-31T00:00:00.000000Z']) {
      expect((await api.call('GET', '/v1/watchpoints', key, { query: { cursor: cursorOf(time) } })).status).toBe(200);
    }
  });
});

// The characters SQS refuses (SendMessage: allowed are #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF).
const REFUSED = { nul: '\u0000', 'U+0001': '\u0001', 'U+001F': '\u001f', 'U+FFFE': '\ufffe', 'U+FFFF': '\uffff', 'lone high surrogate': '\ud800', 'lone low surrogate': '\udfff' };

describe('characters PostgreSQL or SQS refuse (items 3 and 5)', () => {
  it('are a 400 naming the field, in every string field, and nothing is stored', async () => {
    const before = (await db.pool.query('SELECT count(*)::int AS n FROM watchpoints')).rows[0].n;
    for (const [label, char] of Object.entries(REFUSED)) {
      const cases: [string, Record<string, unknown>][] = [
        ['name', { ...WATCHPOINT, name: `bad ${char} name` }],
        ['channels.0.url', { ...WATCHPOINT, channels: [{ type: 'webhook', url: `https://hooks.example.com/${char}` }] }],
        ['channels.0.address', { ...WATCHPOINT, channels: [{ type: 'email', address: `a${char}b@example.com` }] }],
        ['variable', { ...WATCHPOINT, variable: `t${char}` }],
        ['condition', { ...WATCHPOINT, condition: `gt${char}` }],
      ];
      for (const [field, body] of cases) {
        const reply = await api.call('POST', '/v1/watchpoints', key, { body });
        expectProblem(reply, 400, 'validation-error');
        expect(fieldsOf(reply), `${label} in ${field}`).toContain(field);
      }
      const patched = await api.call('PATCH', '/v1/watchpoints/0b6f1a52-1f7e-4a51-9a8e-2f3c4d5e6f70', key, { body: { name: `x${char}` } });
      expectProblem(patched, 400, 'validation-error');
      expect(fieldsOf(patched)).toEqual(['name']);
      const keyName = await api.call('POST', '/v1/api-keys', ADMIN_KEY, { body: { name: `k${char}` } });
      expectProblem(keyName, 400, 'validation-error');
      expect(fieldsOf(keyName)).toEqual(['name']);
    }
    expect((await db.pool.query('SELECT count(*)::int AS n FROM watchpoints')).rows[0].n).toBe(before);
  });

  it('accepts everything else SQS allows: tabs, newlines, astral characters, U+FFFD and U+E000', async () => {
    const name = 'ok\t\n\r 🌩️ \ufffd \ue000 \ud7ff 𐀀';
    const reply = await api.call('POST', '/v1/watchpoints', key, { body: { ...WATCHPOINT, name } });
    expect(reply.status).toBe(201);
    expect((await db.pool.query('SELECT name FROM watchpoints WHERE id = $1', [reply.body.id])).rows[0].name).toBe(name);
  });
});

describe('unknown fields inside a channel (item 8)', () => {
  it('are a 400 naming the channel, as at the top level', async () => {
    const email = await api.call('POST', '/v1/watchpoints', key, { body: { ...WATCHPOINT, channels: [{ type: 'email', address: 'ops@example.com', cc: 'x@example.com' }] } });
    expectProblem(email, 400, 'validation-error');
    expect(fieldsOf(email)).toEqual(['channels.0']);
    expect(email.body.errors[0].message).toContain('cc');
    const hook = await api.call('POST', '/v1/watchpoints', key, { body: { ...WATCHPOINT, channels: [{ type: 'webhook', url: 'https://hooks.example.com/x', secret: 'mine' }] } });
    expectProblem(hook, 400, 'validation-error');
    expect(fieldsOf(hook)).toEqual(['channels.0']);
  });
});

describe('body size and the echo of unknown keys (item 4)', () => {
  it('a body over the documented maximum is refused up front with a small 413', async () => {
    const body = JSON.stringify({ ...WATCHPOINT, name: 'x'.repeat(MAX_BODY_BYTES) });
    const reply = await api.call('POST', '/v1/watchpoints', key, { body });
    expectProblem(reply, 413, 'payload-too-large');
    expect(reply.body.max_bytes).toBe(MAX_BODY_BYTES);
    expect(reply.raw.length).toBeLessThan(1024);
    // Refused before authentication or parsing: a huge body without a key gets the same answer.
    expect((await api.call('POST', '/v1/watchpoints', undefined, { body: '{'.repeat(5_000_000) })).status).toBe(413);
  });

  it('unknown keys are named a few at a time, each cut short, however many there are', async () => {
    const unknown = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`k${i}_${'z'.repeat(20)}`, 1]));
    const body = JSON.stringify({ ...WATCHPOINT, ...unknown, ['q'.repeat(500)]: 1 });
    expect(body.length).toBeLessThan(MAX_BODY_BYTES);
    const reply = await api.call('POST', '/v1/watchpoints', key, { body });
    expectProblem(reply, 400, 'validation-error');
    expect(reply.raw.length).toBeLessThan(2048);
    expect(reply.body.detail).toMatch(/and 1996 more/);
    const long = await api.call('POST', '/v1/watchpoints', key, { body: JSON.stringify({ ...WATCHPOINT, ['q'.repeat(500)]: 1 }) });
    expect(long.raw).not.toContain('q'.repeat(41));
  });
});

describe('secrets in answers and idempotency records (item 7)', () => {
  it('every answer is Cache-Control: no-store, above all those carrying a key or a webhook secret', async () => {
    const created = await api.call('POST', '/v1/api-keys', ADMIN_KEY, { body: { name: 'cache' } });
    expect(created.headers['cache-control']).toBe('no-store');
    const wp = await api.call('POST', '/v1/watchpoints', key, { body: WATCHPOINT });
    expect(wp.body.webhook_secret).toMatch(/^whsec_/);
    expect(wp.headers['cache-control']).toBe('no-store');
    expect((await api.call('GET', `/v1/watchpoints/${wp.body.id}`, key)).headers['cache-control']).toBe('no-store');
    expect((await api.call('GET', '/v1/watchpoints', key)).headers['cache-control']).toBe('no-store');
    expect((await api.call('GET', '/v1/watchpoints', undefined)).headers['cache-control']).toBe('no-store');
  });

  it('the idempotency record keeps no webhook secret; a replay still returns it, read from the watchpoint', async () => {
    const headers = { 'idempotency-key': 'secret-free' };
    const first = await api.call('POST', '/v1/watchpoints', key, { body: WATCHPOINT, headers });
    expect(first.status).toBe(201);
    const secret = first.body.webhook_secret as string;
    const stored = await db.pool.query("SELECT response_body, response_headers::text AS headers FROM idempotency_records WHERE idempotency_key = 'secret-free'");
    expect(stored.rows).toHaveLength(1);
    expect(stored.rows[0].response_body).not.toContain(secret);
    expect(stored.rows[0].response_body).not.toContain('whsec_');
    expect(JSON.parse(stored.rows[0].response_body).id).toBe(first.body.id);

    const replay = await api.call('POST', '/v1/watchpoints', key, { body: WATCHPOINT, headers });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.headers['cache-control']).toBe('no-store');
    expect(replay.body).toEqual(first.body);

    // Deleted since: the replay says what was created, and has no secret to give.
    expect((await api.call('DELETE', `/v1/watchpoints/${first.body.id}`, key)).status).toBe(204);
    const gone = await api.call('POST', '/v1/watchpoints', key, { body: WATCHPOINT, headers });
    expect(gone.status).toBe(201);
    expect(gone.body.id).toBe(first.body.id);
    expect(gone.body).not.toHaveProperty('webhook_secret');
  });
});
