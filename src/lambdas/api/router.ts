// The API's routing, authentication, validation and Idempotency-Key handling, on plain requests
// (http.ts). No API Gateway types here: index.ts adapts the HTTP API v2 event to an ApiRequest.
import { createHash } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Pool, PoolClient } from 'pg';
import { API_KEY_PATTERN, bearerToken, generateApiKey, hashApiKey, secretEquals } from '../shared/api-keys.ts';
import { errorFields } from '../shared/observability.ts';
import { HttpProblem, json, noContent, notFound, problem, type ApiRequest, type ApiResponse } from './http.ts';
import { enforceQuotas, effectiveQuotas, type Quotas } from './quotas.ts';
import { CreateApiKey, CreateWatchpoint, PauseSelector, Uuid, UpdateWatchpoint, decodeCursor, encodeCursor, parseBody, parseLimit, parseRecipientQuery } from './schemas.ts';
import * as store from './store.ts';

export interface ApiDeps {
  pool: () => Promise<Pool>;
  /** The admin key (SSM ADMIN_API_KEY_SSM_PARAM); '' disables admin access. */
  adminKey: () => Promise<string>;
  /** Reads the function's configuration; throws (ConfigError) when it is incomplete. */
  config: () => { appEnv: string };
  version: string;
  logger: Logger;
  /** The stage's per-key quota defaults (ApiFunction's API_QUOTA_* variables). */
  quotas: Quotas;
}

type Principal = { kind: 'admin' } | { kind: 'key'; keyId: string };
type Access = 'public' | 'admin' | 'key';

interface RouteContext {
  req: ApiRequest;
  params: string[];
  principal: Principal | undefined;
  /** The pool for reads; a transaction's client for writes. */
  db: store.Db;
  deps: ApiDeps;
}

interface Outcome {
  response: ApiResponse;
  /** What an Idempotency-Key replay returns instead of `response` (the API key's secret is never stored). */
  replay?: ApiResponse;
  /** Logged after the transaction commits, so a log line never describes a change that was rolled back. */
  audit?: { message: string; fields: Record<string, unknown> };
}

interface Route {
  method: string;
  pattern: RegExp;
  access: Access;
  /** Run inside a transaction (every write). */
  write: boolean;
  handle: (ctx: RouteContext) => Promise<Outcome>;
  /** Completes a stored Idempotency-Key response before it is replayed (puts back what was not stored). */
  replayed?: (stored: ApiResponse, ctx: RouteContext) => Promise<ApiResponse>;
}

const NO_DATABASE = new Proxy({}, {
  get: () => {
    throw new Error('public routes have no database handle');
  },
}) as store.Db;

const UUID = '([0-9A-Fa-f-]{36})';
const keyIdOf = (principal: Principal | undefined): string => (principal?.kind === 'key' ? principal.keyId : '');

function uuidParam(value: string | undefined, what: string): string {
  if (value === undefined || !Uuid.safeParse(value).success) throw notFound(`No ${what} with this id.`);
  return value.toLowerCase();
}

const ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/health$/, access: 'public', write: false, handle: health },
  {
    method: 'POST',
    pattern: /^\/v1\/api-keys$/,
    access: 'admin',
    write: true,
    handle: async ({ req, db }) => {
      const input = parseBody(CreateApiKey, req.body ?? '{}');
      const created = generateApiKey();
      const name = input.name ?? '';
      const own = { watchpoints: input.quotas?.watchpoints ?? null, channels_per_watchpoint: input.quotas?.channels_per_watchpoint ?? null, recipients: input.quotas?.recipients ?? null };
      const row = await store.insertApiKey(db, name, created.prefix, created.hash, own);
      await store.insertAuditEvent(db, { action: 'apikey.created', actor: 'admin', subject: row.id, details: { key_prefix: created.prefix, name } });
      const body = { id: row.id, name, key_prefix: created.prefix, created_at: row.created_at, quotas: own };
      return {
        response: json(201, { ...body, key: created.key }, { location: `/v1/api-keys/${row.id}` }),
        replay: problem(
          409,
          {
            type: 'api-key-already-created',
            title: 'This Idempotency-Key already created an API key',
            detail: `API key ${row.id} (${created.prefix}…) was created by an earlier request with this Idempotency-Key. The key is shown only once; if it was lost, revoke it with DELETE /v1/api-keys/${row.id} and create a new one.`,
            extra: { api_key: body },
          },
          req.requestId,
        ),
        // The SecurityAbuse metric filter counts `{ $.action = "apikey.created" }`; never the key itself.
        audit: { message: 'API key created', fields: { action: 'apikey.created', actor: 'admin', key_id: row.id, key_prefix: created.prefix, key_name: name } },
      };
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/api-keys$/,
    access: 'admin',
    write: false,
    handle: async ({ req, db, deps }) => {
      const recipient = parseRecipientQuery(req.query.recipient);
      const keys = await store.listApiKeys(db, recipient);
      const data = keys.map((key) => ({ ...key, quotas: effectiveQuotas(deps.quotas, key.quotas), own_quotas: key.quotas }));
      return { response: json(200, { data, truncated: keys.length >= store.MAX_LISTED_KEYS }) };
    },
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/v1/api-keys/${UUID}$`),
    access: 'admin',
    write: true,
    handle: async ({ params, db }) => {
      const id = uuidParam(params[0], 'active API key');
      const revoked = await store.revokeApiKey(db, id);
      if (!revoked) throw notFound('No active API key with this id (it may already be revoked).');
      // A revoked key's watchpoints stop notifying at the next cycle; the admin may resume them.
      const paused = await store.pauseWatchpoints(db, { apiKeyId: id }, 'key_revoked');
      await store.insertAuditEvent(db, { action: 'apikey.revoked', actor: 'admin', subject: id, details: { key_prefix: revoked.key_prefix, watchpoints_paused: paused.length } });
      return {
        response: noContent(),
        audit: { message: 'API key revoked', fields: { action: 'apikey.revoked', actor: 'admin', key_id: id, key_prefix: revoked.key_prefix, watchpoints_paused: paused.length } },
      };
    },
  },
  pauseRoute('pause'),
  pauseRoute('resume'),
  {
    method: 'POST',
    pattern: /^\/v1\/watchpoints$/,
    access: 'key',
    write: true,
    handle: async ({ req, principal, db, deps }) => {
      const input = parseBody(CreateWatchpoint, req.body);
      const keyId = keyIdOf(principal);
      await enforceQuotas(db, keyId, deps.quotas, { watchpoint: 'new', channels: input.channels });
      const created = await store.insertWatchpoint(db, keyId, input);
      await store.insertAuditEvent(db, { action: 'watchpoint.created', actor: `key:${keyId}`, subject: created.id });
      const headers = { location: `/v1/watchpoints/${created.id}` };
      // The Idempotency-Key record (kept 24 h) holds the answer without the webhook secret; a replay
      // reads the secret from the watchpoint itself (replayed below).
      const { webhook_secret: _secret, ...withoutSecret } = created;
      return { response: json(201, created, headers), replay: json(201, withoutSecret, headers) };
    },
    replayed: async (stored, { principal, db }) => {
      const body = JSON.parse(stored.body) as { id?: unknown };
      const current = typeof body.id === 'string' ? await store.getWatchpoint(db, keyIdOf(principal), body.id) : undefined;
      // A watchpoint deleted since has no secret to give back: the replay says what was created, without it.
      return current?.webhook_secret === undefined ? stored : { ...stored, body: JSON.stringify({ ...body, webhook_secret: current.webhook_secret }) };
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/watchpoints$/,
    access: 'key',
    write: false,
    handle: async ({ req, principal, db }) => {
      const limit = parseLimit(req.query.limit);
      const cursor = decodeCursor(req.query.cursor);
      const page = await store.listWatchpoints(db, keyIdOf(principal), limit, cursor);
      return { response: json(200, { data: page.items, next_cursor: page.next ? encodeCursor(page.next) : null }) };
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/v1/watchpoints/${UUID}$`),
    access: 'key',
    write: false,
    handle: async ({ params, principal, db }) => {
      const found = await store.getWatchpoint(db, keyIdOf(principal), uuidParam(params[0], 'watchpoint'));
      if (!found) throw notFound('No watchpoint with this id.');
      return { response: json(200, found) };
    },
  },
  {
    method: 'PATCH',
    pattern: new RegExp(`^/v1/watchpoints/${UUID}$`),
    access: 'key',
    write: true,
    handle: async ({ req, params, principal, db, deps }) => {
      const id = uuidParam(params[0], 'watchpoint');
      const changes = parseBody(UpdateWatchpoint, req.body);
      const keyId = keyIdOf(principal);
      // Someone else's id is a 404 below; its quotas are checked against the caller's own key only.
      await enforceQuotas(db, keyId, deps.quotas, { watchpoint: id, channels: changes.channels });
      const updated = await store.updateWatchpoint(db, keyId, id, changes);
      if (!updated) throw notFound('No watchpoint with this id.');
      await store.insertAuditEvent(db, { action: 'watchpoint.updated', actor: `key:${keyId}`, subject: id, details: { fields: Object.keys(changes) } });
      return { response: json(200, updated) };
    },
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/v1/watchpoints/${UUID}$`),
    access: 'key',
    write: true,
    handle: async ({ params, principal, db }) => {
      const id = uuidParam(params[0], 'watchpoint');
      const keyId = keyIdOf(principal);
      if (!(await store.deleteWatchpoint(db, keyId, id))) throw notFound('No watchpoint with this id.');
      await store.insertAuditEvent(db, { action: 'watchpoint.deleted', actor: `key:${keyId}`, subject: id });
      return { response: noContent() };
    },
  },
];

/**
 * POST /v1/admin/watchpoints/pause|resume with `{"api_key_id"}` or `{"recipient"}`: the operator's
 * incident tool (`watchpoint api-keys pause|resume`). Pausing stops the watchpoints' notifications
 * at the next cycle; resuming undoes any pause, including a revoked key's.
 */
function pauseRoute(action: 'pause' | 'resume'): Route {
  return {
    method: 'POST',
    pattern: new RegExp(`^/v1/admin/watchpoints/${action}$`),
    access: 'admin',
    write: true,
    handle: async ({ req, db }) => {
      const input = parseBody(PauseSelector, req.body);
      const selector: store.WatchpointSelector = input.api_key_id !== undefined ? { apiKeyId: input.api_key_id.toLowerCase() } : { recipient: input.recipient! };
      if ('apiKeyId' in selector && !(await store.apiKeyExists(db, selector.apiKeyId))) throw notFound('No API key with this id.');
      const ids = action === 'pause' ? await store.pauseWatchpoints(db, selector, 'operator') : await store.resumeWatchpoints(db, selector);
      const by = 'apiKeyId' in selector ? { key_id: selector.apiKeyId } : { recipient_domain: selector.recipient.split('@').pop() };
      const verb = action === 'pause' ? 'paused' : 'resumed';
      await store.insertAuditEvent(db, { action: `watchpoints.${verb}`, actor: 'admin', subject: 'apiKeyId' in selector ? selector.apiKeyId : selector.recipient, details: { count: ids.length } });
      return {
        response: json(200, { [verb]: ids.length, watchpoint_ids: ids }),
        audit: { message: `Watchpoints ${verb}`, fields: { action: `watchpoints.${verb}`, actor: 'admin', ...by, count: ids.length } },
      };
    },
  };
}

async function health({ deps }: RouteContext): Promise<Outcome> {
  const checks: Record<string, { status: 'ok' | 'failed'; error?: string; latency_ms?: number }> = {};
  let environment: string | null = null;
  try {
    environment = deps.config().appEnv;
    checks.config = { status: 'ok' };
  } catch (error) {
    deps.logger.error('Health check: configuration is incomplete', errorFields(error));
    checks.config = { status: 'failed', error: 'configuration is incomplete (see the function log)' };
  }
  const started = performance.now();
  try {
    const pool = await deps.pool();
    await pool.query('SELECT 1');
    checks.database = { status: 'ok', latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    deps.logger.error('Health check: database unreachable', errorFields(error));
    checks.database = { status: 'failed', error: 'database unreachable (see the function log)' };
  }
  const ok = Object.values(checks).every((check) => check.status === 'ok');
  return { response: json(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', version: deps.version, environment, checks }, { 'cache-control': 'no-store' }) };
}

const unauthorized = (detail: string) =>
  new HttpProblem(401, { type: 'unauthorized', title: 'Authentication required', detail }, { 'www-authenticate': 'Bearer realm="watchpoint"' });

async function authenticate(req: ApiRequest, access: Access, deps: ApiDeps, pool: Pool): Promise<Principal | undefined> {
  if (access === 'public') return undefined;
  const token = bearerToken(req.headers.authorization);
  if (token === undefined) throw unauthorized('Send your API key as "Authorization: Bearer <key>".');
  if (access === 'admin') {
    if (secretEquals(token, await deps.adminKey())) return { kind: 'admin' };
    deps.logger.warn('Admin authentication failed', { event: 'AuthFailed', access, path: req.path, request_id: req.requestId });
    throw unauthorized('This operation needs the admin key.');
  }
  const keyId = API_KEY_PATTERN.test(token) ? await store.findActiveKeyId(pool, hashApiKey(token)) : undefined;
  if (keyId === undefined) {
    deps.logger.warn('API key authentication failed', { event: 'AuthFailed', access, path: req.path, request_id: req.requestId });
    throw unauthorized('The API key is not valid or has been revoked.');
  }
  return { kind: 'key', keyId };
}

/** JSON bodies compare by content (key order and whitespace do not matter); anything else byte for byte. */
function canonicalBody(body: string | undefined): string {
  if (body === undefined) return '';
  try {
    return JSON.stringify(JSON.parse(body), (_key, value: unknown) =>
      value && typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : value,
    );
  } catch {
    return `raw:${body}`;
  }
}

function idempotencyKeyOf(req: ApiRequest): string | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new HttpProblem(400, {
      type: 'validation-error',
      title: 'The request is not valid',
      detail: 'Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice).',
      extra: { errors: [{ field: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' }] },
    });
  }
  return key;
}

async function inTransaction<T>(pool: Pool, body: (client: PoolClient) => Promise<{ value: T; commit: boolean }>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { value, commit } = await body(client);
    await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    return value;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Runs a route's handler; client errors thrown as HttpProblem roll the transaction back. */
async function runRoute(route: Route, ctx: RouteContext): Promise<Outcome> {
  try {
    return await route.handle(ctx);
  } catch (error) {
    if (error instanceof HttpProblem) return { response: problem(error.status, error.details, ctx.req.requestId, error.headers) };
    if (isCheckViolation(error)) {
      return { response: problem(400, { type: 'validation-error', title: 'The request is not valid', detail: 'The change would make the watchpoint invalid (is window_start_hours <= window_end_hours?).' }, ctx.req.requestId) };
    }
    throw error;
  }
}

function isCheckViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23514';
}

async function execute(route: Route, req: ApiRequest, params: string[], deps: ApiDeps): Promise<ApiResponse> {
  // Public routes (health) must answer even when the database is down, so they get no pool.
  if (route.access === 'public') return (await runRoute(route, { req, params, principal: undefined, db: NO_DATABASE, deps })).response;
  const pool = await deps.pool();
  const principal = await authenticate(req, route.access, deps, pool);
  if (!route.write) return (await runRoute(route, { req, params, principal, db: pool, deps })).response;

  const idempotencyKey = req.method === 'POST' ? idempotencyKeyOf(req) : undefined;
  const scope = principal?.kind === 'key' ? principal.keyId : 'admin';
  const requestHash = createHash('sha256').update(`${req.method}\u0000${req.path}\u0000${canonicalBody(req.body)}`).digest('hex');

  const { response, audit } = await inTransaction(pool, async (client) => {
    if (idempotencyKey !== undefined && !(await store.claimIdempotencyKey(client, scope, idempotencyKey, requestHash, req.method, req.path))) {
      const stored = await store.readIdempotencyRecord(client, scope, idempotencyKey);
      const replay = replayOf(stored, requestHash, req);
      const complete = replay.status < 400 && route.replayed ? await route.replayed(replay, { req, params, principal, db: client, deps }) : replay;
      return { value: { response: complete, audit: undefined }, commit: false };
    }
    const outcome = await runRoute(route, { req, params, principal, db: client, deps });
    // Only a success is kept and replayed. A client or server error rolls everything back, claim
    // included, so the caller can fix the request and retry with the same Idempotency-Key.
    if (outcome.response.status >= 400) return { value: { response: outcome.response, audit: undefined }, commit: false };
    if (idempotencyKey !== undefined) await store.storeIdempotentResponse(client, scope, idempotencyKey, outcome.replay ?? outcome.response);
    return { value: { response: outcome.response, audit: outcome.audit }, commit: true };
  });
  if (audit) deps.logger.info(audit.message, { ...audit.fields, request_id: req.requestId, source_ip: req.sourceIp });
  return response;
}

function replayOf(stored: store.StoredResponse | undefined, requestHash: string, req: ApiRequest): ApiResponse {
  if (!stored || stored.status_code === null) {
    // Unreachable while claims and results commit together; kept as a safe answer, not a crash.
    return problem(409, { type: 'idempotency-in-progress', title: 'Request in progress', detail: 'A request with this Idempotency-Key is still being processed; retry shortly.' }, req.requestId);
  }
  if (stored.request_hash !== requestHash) {
    return problem(
      422,
      {
        type: 'idempotency-key-reused',
        title: 'Idempotency-Key reused with a different request',
        detail: `This Idempotency-Key was used in the last 24 hours for a different request (${stored.method} ${stored.path} with another body). Use a new key for a new request.`,
      },
      req.requestId,
    );
  }
  return { status: stored.status_code, headers: { ...(stored.response_headers ?? {}), 'idempotent-replayed': 'true' }, body: stored.response_body ?? '' };
}

/**
 * The largest body the API reads (docs/api.md). The biggest valid watchpoint (10 webhook URLs of
 * 2,048 characters) is about 21 KB; anything far past that is refused before it is parsed, so no
 * answer can approach Lambda's 6 MB response limit.
 */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Every answer says `Cache-Control: no-store`: some carry secrets (a new API key, a webhook secret)
 * and all of them are one caller's data, which no shared cache should keep.
 */
export async function handleRequest(req: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  const response = await answer(req, deps);
  return { ...response, headers: { ...response.headers, 'cache-control': 'no-store' } };
}

async function answer(req: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  if (req.body !== undefined && Buffer.byteLength(req.body, 'utf8') > MAX_BODY_BYTES) {
    return problem(
      413,
      { type: 'payload-too-large', title: 'The request body is too large', detail: `The request body is over the API's maximum of ${MAX_BODY_BYTES} bytes.`, extra: { max_bytes: MAX_BODY_BYTES } },
      req.requestId,
    );
  }
  const path = req.path.length > 1 ? req.path.replace(/\/+$/, '') : req.path;
  const normalized = { ...req, method: req.method.toUpperCase(), path };
  const candidates = ROUTES.map((route) => ({ route, match: route.pattern.exec(path) })).filter((c) => c.match !== null);
  if (candidates.length === 0) {
    return problem(404, { type: 'not-found', title: 'Not found', detail: `No route for ${normalized.method} ${path}.` }, req.requestId);
  }
  const chosen = candidates.find((c) => c.route.method === normalized.method);
  if (!chosen) {
    const allow = candidates.map((c) => c.route.method).join(', ');
    return problem(405, { type: 'method-not-allowed', title: 'Method not allowed', detail: `${path} accepts ${allow}.` }, req.requestId, { allow });
  }
  try {
    return await execute(chosen.route, normalized, chosen.match!.slice(1) as string[], deps);
  } catch (error) {
    if (error instanceof HttpProblem) return problem(error.status, error.details, req.requestId, error.headers);
    // Unexpected: log what is safe (name, message, code) and answer without any detail.
    deps.logger.error('Request failed', { ...errorFields(error), method: normalized.method, path, request_id: req.requestId });
    return problem(500, { type: 'internal-error', title: 'Internal error', detail: 'The request could not be completed. Retry later; quote request_id if it persists.' }, req.requestId);
  }
}
