// Calls the real API router with HTTP API v2 events against a test PostgreSQL database, the way
// API Gateway would, and reads the answer back as JSON.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { expect } from 'vitest';
import { toApiRequest, toResult } from '../../src/lambdas/api/index.ts';
import { QUOTA_DEFAULTS } from '../../src/lambdas/api/quotas.ts';
import { handleRequest, type ApiDeps } from '../../src/lambdas/api/router.ts';
import { createLogger } from '../../src/lambdas/shared/observability.ts';
import type { TestDatabase } from '../helpers/postgres.ts';
import { httpEvent, type EventOptions } from './events.ts';

export const ADMIN_KEY = 'admin-0123456789abcdef-secret-admin-key';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: any;
  raw: string;
}

export interface ApiClient {
  deps: ApiDeps;
  send(event: APIGatewayProxyEventV2, overrides?: Partial<ApiDeps>): Promise<Reply>;
  call(method: string, path: string, token: string | undefined, options?: EventOptions, overrides?: Partial<ApiDeps>): Promise<Reply>;
  createKey(name?: string, body?: Record<string, unknown>): Promise<{ id: string; key: string }>;
}

export function apiClient(db: TestDatabase, extra: Partial<ApiDeps> = {}): ApiClient {
  const deps: ApiDeps = { pool: async () => db.pool, adminKey: async () => ADMIN_KEY, config: () => ({ appEnv: 'test' }), version: '0.1.0', logger: createLogger('api'), quotas: QUOTA_DEFAULTS, ...extra };
  const send = async (event: APIGatewayProxyEventV2, overrides: Partial<ApiDeps> = {}): Promise<Reply> => {
    const result = toResult(await handleRequest(toApiRequest(event), { ...deps, ...overrides }));
    const raw = String(result.body ?? '');
    return { status: result.statusCode ?? 0, headers: (result.headers ?? {}) as Record<string, string>, body: raw === '' ? undefined : JSON.parse(raw), raw };
  };
  const call = (method: string, path: string, token: string | undefined, options: EventOptions = {}, overrides: Partial<ApiDeps> = {}) =>
    send(httpEvent(method, path, { ...options, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...options.headers } }), overrides);
  const createKey = async (name = 'test', body: Record<string, unknown> = {}) => {
    const reply = await call('POST', '/v1/api-keys', ADMIN_KEY, { body: { name, ...body } });
    expect(reply.status).toBe(201);
    return { id: reply.body.id as string, key: reply.body.key as string };
  };
  return { deps, send, call, createKey };
}

export const WATCHPOINT = {
  name: 'Madrid heat',
  latitude: 40.4,
  longitude: -3.7,
  variable: 'temperature_2m',
  condition: 'gt',
  threshold: 32.5,
  window_start_hours: 0,
  window_end_hours: 48,
  channels: [{ type: 'email', address: 'ops@example.com' }],
};

export function expectProblem(reply: Reply, status: number, type: string): void {
  expect(reply.status).toBe(status);
  expect(reply.headers['content-type']).toBe('application/problem+json');
  expect(reply.body).toMatchObject({ type: `urn:watchpoint:problem:${type}`, status, title: expect.any(String), detail: expect.any(String), request_id: expect.any(String) });
  expect(reply.raw).not.toMatch(/\bat .*\.ts:\d+|stack/i);
}
