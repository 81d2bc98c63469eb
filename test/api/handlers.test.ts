// The three Lambda entry points of issue 10 (src/lambdas/{api,data-poller,archiver}/index.ts),
// configured only by the stack's environment variables, against PostgreSQL, fauxqs S3 and the fake
// RunPod API. SSM is the only mocked service.
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { DATABASE_URL_PARAM, PARAM_PREFIX, handlerEndpoint, putSecureParameter, clients, createBucket, lambdaEnv } from '../pipeline/fixtures.ts';
import type { MotoRecorder } from '../helpers/moto.ts';
import { captureLogs } from '../pipeline/logs.ts';
import { FakeRunPod } from '../data-poller/fake-runpod.ts';
import { httpEvent } from './events.ts';

const endpoint = inject('fauxqsEndpoint');
const { s3 } = clients(endpoint);
let router: MotoRecorder;
const ADMIN_KEY = 'admin-key-from-ssm-0123456789';

let db: TestDatabase;
let runpod: FakeRunPod;
let forecastBucket: string;
let archiveBucket: string;
let api: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let poller: () => Promise<{ started: string[] }>;
let archiver: (event: unknown) => Promise<unknown>;
let closePool: () => Promise<void>;

beforeAll(async () => {
  router = await handlerEndpoint(endpoint);
  db = await createTestDatabase(inject('databaseUrl'));
  runpod = await new FakeRunPod().start();
  forecastBucket = await createBucket(s3);
  archiveBucket = await createBucket(s3);
  await putSecureParameter(DATABASE_URL_PARAM, db.url);
  await putSecureParameter(`${PARAM_PREFIX}/security/admin_api_key`, ADMIN_KEY);
  await putSecureParameter(`${PARAM_PREFIX}/forecast/runpod_api_key`, runpod.validKey);
  Object.assign(process.env, {
    ...lambdaEnv(router.endpoint),
    ADMIN_API_KEY_SSM_PARAM: `${PARAM_PREFIX}/security/admin_api_key`,
    RUNPOD_API_KEY_SSM_PARAM: `${PARAM_PREFIX}/forecast/runpod_api_key`,
    RUNPOD_ENDPOINT_ID: runpod.endpointId,
    RUNPOD_API_BASE_URL: runpod.baseUrl,
    FORECAST_BUCKET: forecastBucket,
    ARCHIVE_BUCKET: archiveBucket,
  });
  api = (await import('../../src/lambdas/api/index.ts')).handler;
  poller = (await import('../../src/lambdas/data-poller/index.ts')).handler;
  archiver = (await import('../../src/lambdas/archiver/index.ts')).handler;
  closePool = (await import('../../src/lambdas/shared/db.ts')).closePool;
});

afterAll(async () => {
  await closePool();
  await runpod.stop();
  await db.drop();
  await router.stop();
});

describe('index.ts handlers with the stack environment', () => {
  it('ApiFunction: health, then a key created with the admin key from SSM, then a watchpoint', async () => {
    const logs = captureLogs();
    try {
      const health = await api(httpEvent('GET', '/health'));
      expect(health.statusCode).toBe(200);
      expect(JSON.parse(String(health.body))).toMatchObject({ status: 'ok', environment: 'test', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });

      const key = await api(httpEvent('POST', '/v1/api-keys', { headers: { authorization: `Bearer ${ADMIN_KEY}` }, body: { name: 'wiring' } }));
      expect(key.statusCode).toBe(201);
      const { key: apiKey } = JSON.parse(String(key.body)) as { key: string };
      const created = await api(
        httpEvent('POST', '/v1/watchpoints', {
          headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': 'wiring-1' },
          body: { latitude: 1, longitude: 2, variable: 'temperature_2m', condition: 'gt', threshold: 30, window_end_hours: 24, channels: [{ type: 'webhook', url: 'https://hooks.example.com/a' }] },
        }),
      );
      expect(created.statusCode).toBe(201);
      expect(created.headers?.['content-type']).toBe('application/json');
    } finally {
      logs.restore();
    }
  });

  it('DataPollerFunction: starts the due runs on RunPod with the key from SSM', async () => {
    const result = await poller();
    expect(result.started).toHaveLength(2);
    expect(runpod.calls('run').every((r) => r.authorization === `Bearer ${runpod.validKey}`)).toBe(true);
  });

  it('DataPollerFunction: fails the invocation when RunPod refuses the key', async () => {
    await db.pool.query('TRUNCATE forecast_runs');
    runpod.validKey = 'rotated-elsewhere';
    const logs = captureLogs();
    try {
      await expect(poller()).rejects.toThrow(/health: RunPod GET \/health was refused \(HTTP 401\)/);
    } finally {
      logs.restore();
    }
  });

  it('ArchiverFunction: archive writes to ARCHIVE_BUCKET; unknown tasks fail', async () => {
    await db.pool.query(`UPDATE audit_events SET occurred_at = now() - interval '40 days'`);
    const logs = captureLogs();
    try {
      expect(await archiver({ task: 'archive' })).toMatchObject({ task: 'archive', result: { events: 2 } });
      // apikey.created and watchpoint.created from the first test.
      expect(await archiver({ task: 'billing_sync' })).toEqual({ task: 'billing_sync', result: { status: 'not_enabled' } });
      await expect(archiver({ task: 'nope' })).rejects.toThrow('Archiver event must be');
    } finally {
      logs.restore();
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: archiveBucket }));
    expect(listed.Contents).toHaveLength(1);
    const object = await s3.send(new GetObjectCommand({ Bucket: archiveBucket, Key: listed.Contents![0]!.Key! }));
    expect(object.Metadata?.events).toBe('2');
  });
});
