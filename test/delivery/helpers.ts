// Test fixtures for the delivery workers: notifications as the eval worker produces them (records in
// PostgreSQL, messages on a fauxqs queue), a Lambda-like poller over that queue, a loopback webhook
// receiver that verifies every signature, and the aws-ses-v2-local store.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type pg from 'pg';
import { channelKey, notificationId } from '../../src/lambdas/shared/ids.ts';
import type { Channel, NotificationMessage } from '../../src/lambdas/shared/messages.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature, type Verification } from '../../src/lambdas/webhook-worker/sign.ts';
import { insertWatchpoints, sqsRecord, unique } from '../pipeline/fixtures.ts';

export { CREDENTIALS, REGION, clients, unique } from '../pipeline/fixtures.ts';

export interface Notified {
  message: NotificationMessage;
  body: string;
  watchpointId: string;
  secret: string;
}

/**
 * Inserts one watchpoint per channel and its notification record in status `enqueued`, exactly as
 * the eval worker leaves them, and returns the notification messages it would have sent.
 */
export async function notifications(pool: pg.Pool, channels: Channel[], runId = unique('run')): Promise<Notified[]> {
  const ids = await insertWatchpoints(
    pool,
    channels.map((channel, i) => ({
      name: `wp ${i} <b>&</b>`,
      latitude: 40.4,
      longitude: -3.7,
      variable: 'temperature_2m',
      condition: 'gt' as const,
      threshold: 32.5,
      window_end_hours: 6,
      channels: [channel],
    })),
  );
  const { rows } = await pool.query<{ id: string; webhook_secret: string }>('SELECT id::text, webhook_secret FROM watchpoints WHERE id = ANY($1::uuid[])', [ids]);
  const secrets = new Map(rows.map((r) => [r.id, r.webhook_secret]));
  const out: Notified[] = [];
  for (const [i, channel] of channels.entries()) {
    const watchpointId = ids[i]!;
    const key = channelKey(channel);
    const id = notificationId(watchpointId, 'nowcast', runId, key);
    await pool.query(
      `INSERT INTO notification_records (id, watchpoint_id, run_id, forecast_type, channel, job_id, status, enqueued_at)
       VALUES ($1, $2, $3, 'nowcast', $4, 'job', 'enqueued', now())`,
      [id, watchpointId, runId, key],
    );
    const message: NotificationMessage = {
      version: 1,
      notification_id: id,
      channel,
      watchpoint: { id: watchpointId, name: `wp ${i} <b>&</b>`, latitude: 40.4, longitude: -3.7, variable: 'temperature_2m', condition: 'gt', threshold: 32.5 },
      forecast: { forecast_type: 'nowcast', run_id: runId, issued_at: '2026-11-27T06:00:00Z' },
      trigger: { valid_time: '2026-11-27T09:00:00.000Z', lead_hours: 3, value: 33, extreme_value: 36, grid_latitude: 40.375, grid_longitude: -3.625 },
      created_at: '2026-11-27T06:04:12.345Z',
    };
    out.push({ message, body: JSON.stringify(message), watchpointId, secret: secrets.get(watchpointId)! });
  }
  return out;
}

export async function recordOf(pool: pg.Pool, id: string): Promise<{ status: string; attempts: number; last_error: string | null; delivered_at: Date | null }> {
  const { rows } = await pool.query('SELECT status, attempts, last_error, delivered_at FROM notification_records WHERE id = $1', [id]);
  return rows[0];
}

export async function createQueue(sqs: SQSClient, name = 'notifications'): Promise<string> {
  return (await sqs.send(new CreateQueueCommand({ QueueName: unique(name) }))).QueueUrl!;
}

/** Sends bodies to the queue (as the eval worker's SendMessageBatch does), 10 per call. */
export async function enqueue(sqs: SQSClient, queueUrl: string, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    const response = await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })) }),
    );
    if ((response.Failed ?? []).length > 0) throw new Error('enqueue failed');
  }
}

export type Handler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/**
 * One poll of Lambda's SQS event source: receive up to `batchSize` messages, invoke the handler,
 * delete the ones it did not report as failed, and make the failed ones visible again at once (as
 * their visibility timeout would, later). Returns what was handled and what failed.
 */
export async function pollOnce(sqs: SQSClient, queueUrl: string, handler: Handler, batchSize = 10): Promise<{ received: number; failed: number }> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: batchSize, WaitTimeSeconds: 0, VisibilityTimeout: 60, MessageSystemAttributeNames: ['All'] }),
  );
  if (Messages.length === 0) return { received: 0, failed: 0 };
  const response = await handler({ Records: Messages.map((m) => sqsRecord(m, 'arn:aws:sqs:us-east-1:000000000000:notifications')) });
  const failedIds = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const done = Messages.filter((m) => !failedIds.has(m.MessageId!));
  const failed = Messages.filter((m) => failedIds.has(m.MessageId!));
  if (done.length > 0) {
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  if (failed.length > 0) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: failed.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })) }),
    );
  }
  return { received: Messages.length, failed: failed.length };
}

/** Polls until the queue is empty or `maxPolls` is reached (messages that keep failing stay). */
export async function pollUntilEmpty(sqs: SQSClient, queueUrl: string, handler: Handler, maxPolls = 10): Promise<{ polls: number; failed: number }> {
  let failed = 0;
  for (let polls = 1; polls <= maxPolls; polls += 1) {
    const result = await pollOnce(sqs, queueUrl, handler);
    failed += result.failed;
    if (result.received === 0) return { polls, failed };
  }
  return { polls: maxPolls, failed };
}

// --- webhook receiver ---------------------------------------------------------------------------

export interface ReceivedPost {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  verification: Verification;
}

export type Answer = number | 'hang' | 'slow';

export interface Receiver {
  url(path: string): string;
  posts: ReceivedPost[];
  /** Answers per path: a list of statuses used in turn (the last one repeats), 'hang', or 'slow' (200 after 150 ms). */
  script(path: string, answers: Answer[]): void;
  close(): Promise<void>;
}

/**
 * A loopback HTTP receiver that verifies each POST's signature with the secret of the watchpoint the
 * payload names (as a real receiver looks up its own secret).
 */
export async function startReceiver(secretOf: (watchpointId: string) => string | undefined): Promise<Receiver> {
  const posts: ReceivedPost[] = [];
  const scripts = new Map<string, Answer[]>();
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = request.url ?? '/';
      let secret: string | undefined;
      try {
        secret = secretOf((JSON.parse(body) as { watchpoint?: { id?: string } }).watchpoint?.id ?? '');
      } catch {
        secret = undefined;
      }
      const verification: Verification = secret
        ? verifySignature(secret, { timestamp: header(request, TIMESTAMP_HEADER), signature: header(request, SIGNATURE_HEADER) }, body)
        : { ok: false, reason: 'missing' };
      posts.push({ path, headers: request.headers, body, verification });
      const answers = scripts.get(path) ?? [200];
      const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
      if (answer === 'hang') {
        hanging.add(response);
        return;
      }
      if (answer === 'slow') {
        setTimeout(() => response.writeHead(verification.ok ? 200 : 401).end(), 150);
        return;
      }
      response.writeHead(verification.ok ? answer : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    posts,
    script: (path, answers) => scripts.set(path, [...answers]),
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

// --- aws-ses-v2-local ------------------------------------------------------------------------------

export { sesStore, type StoredEmail } from '../../src/dev/once.ts';
