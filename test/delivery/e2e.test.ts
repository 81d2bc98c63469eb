// The pipeline end to end, producer to inbox, through the real Lambda handlers (src/lambdas/*/index.ts)
// configured by the stack's environment variables: a run in S3 (fauxqs) -> Batcher -> eval worker ->
// notification queues -> EmailWorker (aws-ses-v2-local) and WebhookWorker (a loopback receiver that
// verifies the signature), against a real PostgreSQL. SSM is the only mocked service.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { captureLogs } from '../pipeline/logs.ts';
import { DATABASE_URL_PARAM, PARAM_PREFIX, handlerEndpoint, putSecureParameter, clients, createBucket, createQueues, drain, gridTile, insertWatchpoints, lambdaEnv, s3Event, sqsRecord, writeRun, type Queues } from '../pipeline/fixtures.ts';
import type { MotoRecorder } from '../helpers/moto.ts';
import { pollUntilEmpty, sesStore, startReceiver, unique, type Receiver } from './helpers.ts';

const endpoint = inject('fauxqsEndpoint');
const sesEndpoint = inject('sesEndpoint');
const { s3, sqs } = clients(endpoint);
let router: MotoRecorder;
const SENDER = 'WatchPoint Alerts <alerts@watchpoint.test>';

type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;
let db: TestDatabase;
let queues: Queues;
let bucket: string;
let receiver: Receiver;
const secrets = new Map<string, string>();
let batcher: (event: S3Event) => Promise<void>;
let evalWorker: SqsHandler;
let emailWorker: SqsHandler;
let webhookWorker: SqsHandler;
let closePool: () => Promise<void>;

beforeAll(async () => {
  router = await handlerEndpoint(endpoint);
  db = await createTestDatabase(inject('databaseUrl'));
  queues = await createQueues(sqs);
  bucket = await createBucket(s3);
  receiver = await startReceiver((id) => secrets.get(id));
  await putSecureParameter(DATABASE_URL_PARAM, db.url);
  await putSecureParameter(`${PARAM_PREFIX}/email/sender`, SENDER, 'String');
  Object.assign(process.env, {
    ...lambdaEnv(router.endpoint, queues),
    AWS_ENDPOINT_URL_SESV2: sesEndpoint,
    EMAIL_SENDER_SSM_PARAM: `${PARAM_PREFIX}/email/sender`,
    // The webhook worker's test allowance: the receiver is http on 127.0.0.1.
    WEBHOOK_ALLOW_INSECURE_TARGETS: 'loopback',
  });
  delete process.env.AWS_LAMBDA_FUNCTION_NAME;
  batcher = (await import('../../src/lambdas/batcher/index.ts')).handler;
  evalWorker = (await import('../../src/lambdas/eval-worker/index.ts')).handler;
  emailWorker = (await import('../../src/lambdas/email-worker/index.ts')).handler;
  webhookWorker = (await import('../../src/lambdas/webhook-worker/index.ts')).handler;
  closePool = (await import('../../src/lambdas/shared/db.ts')).closePool;
});

afterAll(async () => {
  await receiver.close();
  await closePool();
  await db.drop();
  await router.stop();
});

describe('forecast to inbox end to end', () => {
  it('a triggered watchpoint ends as one email in SES and one signed webhook, and a redrive delivers nothing again', async () => {
    const logs = captureLogs();
    try {
      const address = `${unique('e2e')}@example.com`;
      const hookUrl = receiver.url('/e2e-hook');
      const leads = [0, 1, 2, 3, 4, 5, 6];
      const tiles = [gridTile('a', 40, -4, 1, 4, leads, { temperature_2m: (t) => 30 + t })];
      const [hot] = await insertWatchpoints(db.pool, [
        { name: 'hot', latitude: 40.4, longitude: -3.7, variable: 'temperature_2m', condition: 'gt', threshold: 32.5, window_end_hours: 6,
          channels: [{ type: 'email', address }, { type: 'webhook', url: hookUrl }] },
      ]);
      const { rows } = await db.pool.query<{ webhook_secret: string }>('SELECT webhook_secret FROM watchpoints WHERE id = $1', [hot]);
      secrets.set(hot!, rows[0]!.webhook_secret);
      const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles, issuedAt: '2026-11-27T06:00:00Z' });

      // Producer side, as in test/pipeline/e2e.test.ts.
      await batcher(s3Event(bucket, run.successKey));
      const jobs = await drain(sqs, queues.urgent);
      expect(jobs).toHaveLength(1);
      const produced = await evalWorker({ Records: jobs.map((m) => sqsRecord(m)) });
      expect(produced.batchItemFailures).toEqual([]);

      // Delivery side: each worker polls its own queue, as its event source mapping does.
      expect(await pollUntilEmpty(sqs, queues.email, emailWorker)).toMatchObject({ failed: 0 });
      expect(await pollUntilEmpty(sqs, queues.webhook, webhookWorker)).toMatchObject({ failed: 0 });

      const emails = (await sesStore(sesEndpoint)).filter((e) => e.destination.to.includes(address));
      expect(emails).toHaveLength(1);
      expect(emails[0]).toMatchObject({ from: SENDER });
      expect(emails[0]!.subject).toContain('hot');
      expect(emails[0]!.body.text).toContain(`Forecast:     nowcast ${run.runId}, issued 2026-11-27 06:00 UTC`);

      const posts = receiver.posts.filter((p) => p.path === '/e2e-hook');
      expect(posts).toHaveLength(1);
      expect(posts[0]!.verification).toMatchObject({ ok: true });
      const payload = JSON.parse(posts[0]!.body) as { watchpoint: { id: string }; trigger: { value: number; lead_hours: number }; forecast: { run_id: string } };
      expect(payload.watchpoint.id).toBe(hot);
      expect(payload.trigger).toMatchObject({ lead_hours: 3, value: 33 });
      expect(payload.forecast.run_id).toBe(run.runId);

      const records = await db.pool.query<{ status: string }>('SELECT status FROM notification_records WHERE watchpoint_id = $1', [hot]);
      expect(records.rows.map((r) => r.status)).toEqual(['delivered', 'delivered']);

      // A redelivered S3 event and job: the eval worker sends nothing new, and nothing is delivered twice.
      await batcher(s3Event(bucket, run.successKey));
      const again = await drain(sqs, queues.urgent);
      expect((await evalWorker({ Records: again.map((m) => sqsRecord(m)) })).batchItemFailures).toEqual([]);
      await pollUntilEmpty(sqs, queues.email, emailWorker);
      await pollUntilEmpty(sqs, queues.webhook, webhookWorker);
      expect((await sesStore(sesEndpoint)).filter((e) => e.destination.to.includes(address))).toHaveLength(1);
      expect(receiver.posts.filter((p) => p.path === '/e2e-hook')).toHaveLength(1);

      // The secret and the bodies never reach the logs; no handler logged an error.
      const text = logs.lines().join('\n');
      expect(text).not.toContain(rows[0]!.webhook_secret);
      expect(text).not.toContain('is forecast to be');
      // The capture saw the handlers' lines (else "no error" holds on nothing): both deliveries, once each.
      expect(logs.json().filter((line) => line.event === 'DeliverySucceeded').map((line) => line.channel).sort()).toEqual(['email', 'webhook']);
      expect(logs.json().filter((line) => line.level === 'ERROR')).toEqual([]);
    } finally {
      logs.restore();
    }
  });
});
