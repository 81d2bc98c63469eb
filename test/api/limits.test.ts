// Issue 27, item 1: per-key quotas (403 naming the limit), revocation that pauses a key's
// watchpoints, and the admin's pause/resume/list. Real router, real PostgreSQL.
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_LIMIT_DEFAULTS } from '../../src/config/schema.ts';
import { QUOTA_DEFAULTS, quotasFromEnv } from '../../src/lambdas/api/quotas.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { captureLogs, type CapturedLogs } from '../pipeline/logs.ts';
import { ADMIN_KEY, WATCHPOINT, apiClient, expectProblem, type ApiClient, type Reply } from './client.ts';

let db: TestDatabase;
let api: ApiClient;
let logs: CapturedLogs | undefined;

beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'));
  api = apiClient(db);
});
afterAll(async () => db.drop());
afterEach(() => {
  logs?.restore();
  logs = undefined;
});

const email = (address: string) => ({ type: 'email', address });
const create = (key: string, channels: unknown[] = [email('ops@example.com')]) => api.call('POST', '/v1/watchpoints', key, { body: { ...WATCHPOINT, channels } });

function expectQuota(reply: Reply, limit: string, max: number): void {
  expectProblem(reply, 403, 'quota-exceeded');
  expect(reply.body).toMatchObject({ limit, max });
  expect(reply.body.detail).toContain(limit);
}

describe('per-key quotas', () => {
  it('the stage defaults are the stage settings\' defaults, read from ApiFunction\'s variables', () => {
    expect(QUOTA_DEFAULTS).toEqual({ watchpoints: API_LIMIT_DEFAULTS.quotaWatchpointsPerKey, channels_per_watchpoint: API_LIMIT_DEFAULTS.quotaChannelsPerWatchpoint, recipients: API_LIMIT_DEFAULTS.quotaRecipientsPerKey });
    expect(quotasFromEnv({ API_QUOTA_WATCHPOINTS_PER_KEY: '7', API_QUOTA_CHANNELS_PER_WATCHPOINT: '2', API_QUOTA_RECIPIENTS_PER_KEY: '3' })).toEqual({ watchpoints: 7, channels_per_watchpoint: 2, recipients: 3 });
    expect(quotasFromEnv({})).toEqual(QUOTA_DEFAULTS);
  });

  it('the stage\'s quotas hold for every key: watchpoints, channels per watchpoint, distinct recipients', async () => {
    const { key } = await api.createKey('stage-quotas');
    const tight = { quotas: { watchpoints: 2, channels_per_watchpoint: 2, recipients: 3 } };
    expect((await api.call('POST', '/v1/watchpoints', key, { body: { ...WATCHPOINT, channels: [email('a@example.com'), email('B@example.com')] } }, tight)).status).toBe(201);
    expectQuota(await api.call('POST', '/v1/watchpoints', key, { body: { ...WATCHPOINT, channels: [email('a@example.com'), email('c@example.com'), email('d@example.com')] } }, tight), 'channels_per_watchpoint', 2);
    // a, b, c, d: four distinct addresses (b in another case is the same address) where 3 are allowed.
    expectQuota(await api.call('POST', '/v1/watchpoints', key, { body: { ...WATCHPOINT, channels: [email('c@example.com'), email('d@example.com')] } }, tight), 'recipients_per_key', 3);
    const second = await api.call('POST', '/v1/watchpoints', key, { body: { ...WATCHPOINT, channels: [email('b@example.com'), email('c@example.com')] } }, tight);
    expect(second.status).toBe(201);
    expectQuota(await api.call('POST', '/v1/watchpoints', key, { body: WATCHPOINT }, tight), 'watchpoints_per_key', 2);
    // A PATCH is checked without the watchpoint's own old channels.
    expect((await api.call('PATCH', `/v1/watchpoints/${second.body.id}`, key, { body: { channels: [email('c@example.com')] } }, tight)).status).toBe(200);
    expectQuota(await api.call('PATCH', `/v1/watchpoints/${second.body.id}`, key, { body: { channels: [email('x@example.com'), email('y@example.com')] } }, tight), 'recipients_per_key', 3);
    expect((await api.call('PATCH', `/v1/watchpoints/${second.body.id}`, key, { body: { name: 'renamed' } }, tight)).status).toBe(200);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM watchpoints WHERE name = 'Madrid heat' OR name = 'renamed'")).rows[0].n).toBe(2);
  });

  it('a key\'s own quotas, set by the admin at creation, override the stage\'s', async () => {
    const reply = await api.call('POST', '/v1/api-keys', ADMIN_KEY, { body: { name: 'one-only', quotas: { watchpoints: 1 } } });
    expect(reply.status).toBe(201);
    expect(reply.body.quotas).toEqual({ watchpoints: 1, channels_per_watchpoint: null, recipients: null });
    expect((await create(reply.body.key)).status).toBe(201);
    expectQuota(await create(reply.body.key), 'watchpoints_per_key', 1);
    expectProblem(await api.call('POST', '/v1/api-keys', ADMIN_KEY, { body: { quotas: { channels_per_watchpoint: 11 } } }), 400, 'validation-error');
  });

  it('concurrent creates by one key never overshoot its quota', async () => {
    const { body } = await api.call('POST', '/v1/api-keys', ADMIN_KEY, { body: { name: 'race', quotas: { watchpoints: 2 } } });
    const replies = await Promise.all(Array.from({ length: 6 }, () => create(body.key)));
    expect(replies.map((r) => r.status).sort()).toEqual([201, 201, 403, 403, 403, 403]);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM watchpoints WHERE api_key_id = $1', [body.id])).rows[0].n).toBe(2);
  });
});

describe('revocation and the admin\'s pause', () => {
  it('revoking a key pauses its watchpoints (logged); the owner sees paused; the admin lists and resumes them', async () => {
    const a = await api.createKey('to-revoke');
    const b = await api.createKey('bystander');
    const mine = [(await create(a.key)).body.id, (await create(a.key)).body.id];
    const theirs = (await create(b.key)).body.id;
    expect((await api.call('GET', `/v1/watchpoints/${mine[0]}`, a.key)).body).toMatchObject({ paused: false, paused_reason: null });

    logs = captureLogs();
    expect((await api.call('DELETE', `/v1/api-keys/${a.id}`, ADMIN_KEY)).status).toBe(204);
    expect(logs.json().find((l) => l.action === 'apikey.revoked')).toMatchObject({ key_id: a.id, watchpoints_paused: 2 });
    logs.restore();
    logs = undefined;
    const rows = await db.pool.query('SELECT id, paused_reason FROM watchpoints WHERE id = ANY($1)', [[...mine, theirs]]);
    expect(Object.fromEntries(rows.rows.map((r) => [r.id, r.paused_reason]))).toEqual({ [mine[0]]: 'key_revoked', [mine[1]]: 'key_revoked', [theirs]: null });

    const listed = await api.call('GET', '/v1/api-keys', ADMIN_KEY);
    expect(listed.status).toBe(200);
    expect(listed.body.data.find((k: { id: string }) => k.id === a.id)).toMatchObject({ watchpoints: 2, paused: 2, recipients: 1, revoked_at: expect.any(String), quotas: QUOTA_DEFAULTS });
    expect(listed.body.data.find((k: { id: string }) => k.id === b.id)).toMatchObject({ watchpoints: 1, paused: 0, revoked_at: null });
    expect(JSON.stringify(listed.body)).not.toMatch(/wp_[A-Za-z0-9_-]{43}/);

    const resumed = await api.call('POST', '/v1/admin/watchpoints/resume', ADMIN_KEY, { body: { api_key_id: a.id } });
    expect(resumed.body).toEqual({ resumed: 2, watchpoint_ids: expect.arrayContaining(mine) });
    expect((await db.pool.query('SELECT count(*)::int AS n FROM watchpoints WHERE id = ANY($1) AND paused_at IS NULL', [mine])).rows[0].n).toBe(2);
    expect((await db.pool.query("SELECT details FROM audit_events WHERE action = 'apikey.revoked' AND subject = $1", [a.id])).rows[0].details).toMatchObject({ watchpoints_paused: 2 });
  });

  it('pauses every watchpoint emailing one recipient, across keys and case; the owner cannot unpause; resume undoes it', async () => {
    const a = await api.createKey('rcpt-a');
    const b = await api.createKey('rcpt-b');
    const hit = [(await create(a.key, [email('Victim@Example.com')])).body.id, (await create(b.key, [email('victim@example.com'), email('ok@example.com')])).body.id];
    const spared = (await create(b.key, [email('ok@example.com')])).body.id;

    const found = await api.call('GET', '/v1/api-keys', ADMIN_KEY, { query: { recipient: 'victim@example.com' } });
    expect(found.body.data.map((k: { id: string }) => k.id).sort()).toEqual([a.id, b.id].sort());
    expect(found.body.data.find((k: { id: string }) => k.id === b.id).watchpoints).toBe(1);
    expectProblem(await api.call('GET', '/v1/api-keys', ADMIN_KEY, { query: { recipient: 'not an address' } }), 400, 'validation-error');

    const paused = await api.call('POST', '/v1/admin/watchpoints/pause', ADMIN_KEY, { body: { recipient: 'VICTIM@example.com' } });
    expect(paused.status).toBe(200);
    expect(paused.body.paused).toBe(2);
    expect(paused.body.watchpoint_ids.sort()).toEqual([...hit].sort());
    expect((await api.call('POST', '/v1/admin/watchpoints/pause', ADMIN_KEY, { body: { recipient: 'victim@example.com' } })).body.paused).toBe(0);
    expect((await api.call('GET', `/v1/watchpoints/${spared}`, b.key)).body.paused).toBe(false);
    // The owner's own switch is `active`; it does not lift the admin's pause.
    expect((await api.call('PATCH', `/v1/watchpoints/${hit[1]}`, b.key, { body: { active: true } })).body).toMatchObject({ paused: true, paused_reason: 'operator' });

    expect((await api.call('POST', '/v1/admin/watchpoints/resume', ADMIN_KEY, { body: { recipient: 'victim@example.com' } })).body.resumed).toBe(2);
    expectProblem(await api.call('POST', '/v1/admin/watchpoints/pause', ADMIN_KEY, { body: { recipient: 'a@example.com', api_key_id: a.id } }), 400, 'validation-error');
    expectProblem(await api.call('POST', '/v1/admin/watchpoints/pause', ADMIN_KEY, { body: {} }), 400, 'validation-error');
    expectProblem(await api.call('POST', '/v1/admin/watchpoints/pause', ADMIN_KEY, { body: { api_key_id: '0b6f1a52-1f7e-4a51-9a8e-2f3c4d5e6f70' } }), 404, 'not-found');
    expectProblem(await api.call('POST', '/v1/admin/watchpoints/pause', a.key, { body: { api_key_id: a.id } }), 401, 'unauthorized');
    expectProblem(await api.call('GET', '/v1/api-keys', a.key), 401, 'unauthorized');
  });
});
