// The email worker against real protocols: aws-ses-v2-local captures what is sent; a tiny loopback
// server speaking SES v2's error protocol stands in for the rejections and throttling the local SES
// never produces. Records in PostgreSQL, messages on fauxqs.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createDeliveryHandler } from '../../src/lambdas/shared/delivery-handler.ts';
import { createLogger, createMetrics } from '../../src/lambdas/shared/observability.ts';
import { renderEmail } from '../../src/lambdas/email-worker/templates.ts';
import { emailChannel } from '../../src/lambdas/email-worker/worker.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { captureLogs, type CapturedLogs } from '../pipeline/logs.ts';
import { CREDENTIALS, REGION, clients, createQueue, enqueue, notifications, pollOnce, pollUntilEmpty, recordOf, sesStore, unique } from './helpers.ts';

const { sqs } = clients(inject('fauxqsEndpoint'));
const sesEndpoint = inject('sesEndpoint');
const SENDER = 'WatchPoint <alerts@watchpoint.test>';

let db: TestDatabase;
let logs: CapturedLogs;
let fakeSes: Server;
let fakeSesEndpoint: string;

const sesClient = (endpoint: string) => new SESv2Client({ endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1, requestHandler: { requestTimeout: 5_000 } });

beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'));
  // SES v2's REST-JSON error protocol: the status, the error type in x-amzn-ErrorType, a message.
  fakeSes = createServer((request, response) => {
    let body = '';
    request.on('data', (c: Buffer) => (body += c.toString()));
    request.on('end', () => {
      const to = (JSON.parse(body) as { Destination?: { ToAddresses?: string[] } }).Destination?.ToAddresses?.[0] ?? '';
      const [status, type, message] = to.startsWith('bounce')
        ? [400, 'MessageRejected', `Email address is not verified. The following identities failed the check in region EU-WEST-1: ${to}`]
        : to.startsWith('bad')
          ? [400, 'BadRequestException', 'Invalid address.']
          : to.startsWith('paused')
            ? [400, 'SendingPausedException', 'Sending is paused for this account.']
            : [429, 'TooManyRequestsException', 'Maximum sending rate exceeded.'];
      response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-ErrorType': type }).end(JSON.stringify({ message }));
    });
  });
  await new Promise<void>((resolve) => fakeSes.listen(0, '127.0.0.1', resolve));
  fakeSesEndpoint = `http://127.0.0.1:${(fakeSes.address() as AddressInfo).port}`;
});
afterAll(async () => {
  fakeSes.closeAllConnections();
  await new Promise<void>((resolve) => fakeSes.close(() => resolve()));
  await db.drop();
});
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => {
  logs.restore();
});

function handler(endpoint = sesEndpoint, sender: () => Promise<string> = async () => SENDER) {
  const deps = {
    pool: async () => db.pool,
    logger: createLogger('email-worker'),
    metrics: createMetrics('email-worker'),
    channel: emailChannel({ ses: sesClient(endpoint), sender }),
  };
  return createDeliveryHandler(() => deps);
}

const address = (prefix: string) => `${prefix}-${unique('r')}@example.com`;

describe('email worker', () => {
  it('sends one email from the sender with text and HTML bodies; duplicates of the message send nothing more', async () => {
    const to = address('ops');
    const [n] = await notifications(db.pool, [{ type: 'email', address: to }]);
    const queue = await createQueue(sqs);
    await enqueue(sqs, queue, [n!.body, n!.body]);
    await pollUntilEmpty(sqs, queue, handler());
    await enqueue(sqs, queue, [n!.body]);
    expect(await pollOnce(sqs, queue, handler())).toEqual({ received: 1, failed: 0 });

    const sent = (await sesStore(sesEndpoint)).filter((e) => e.destination.to.includes(to));
    expect(sent).toHaveLength(1);
    const email = sent[0]!;
    const expected = renderEmail(n!.message as Parameters<typeof renderEmail>[0]);
    expect(email.from).toBe(SENDER);
    expect(email.subject).toBe(expected.subject);
    expect(email.subject).toContain('wp 0 <b>&</b>');
    expect(email.body.text).toBe(expected.text);
    expect(email.body.html).toBe(expected.html);
    // User content is escaped in the HTML body.
    expect(email.body.html).toContain('wp 0 &lt;b&gt;&amp;&lt;/b&gt;');
    expect(email.body.html).not.toContain('<b>&</b>');
    expect(email.body.text).toContain('temperature_2m is forecast to be 33, above your threshold of 32.5');
    expect(await recordOf(db.pool, n!.message.notification_id)).toMatchObject({ status: 'delivered', attempts: 1 });
    const delivered = logs.json().find((l) => l.event === 'DeliverySucceeded');
    expect(delivered).toMatchObject({ notification_id: n!.message.notification_id, ses_message_id: email.messageId });
    // Neither body is logged.
    const text = logs.lines().join('\n');
    expect(text).not.toContain('is forecast to be');
    expect(text).not.toContain('<table');
  });

  it('a permanent SES rejection is recorded and not retried; throttling and a paused account fail only their record', async () => {
    const made = await notifications(db.pool, [
      { type: 'email', address: address('bounce') },
      { type: 'email', address: address('bad') },
      { type: 'email', address: address('throttled') },
      { type: 'email', address: address('paused') },
    ]);
    const queue = await createQueue(sqs);
    await enqueue(sqs, queue, made.map((n) => n.body));
    expect(await pollOnce(sqs, queue, handler(fakeSesEndpoint))).toEqual({ received: 4, failed: 2 });
    const records = await Promise.all(made.map((n) => recordOf(db.pool, n.message.notification_id)));
    expect(records.map((r) => r.status)).toEqual(['failed', 'failed', 'enqueued', 'enqueued']);
    // SES names the recipient in its message (as in the sandbox); neither the logs nor the record keep it.
    expect(records[0]!.last_error).toBe('SES MessageRejected (HTTP 400): Email address is not verified. The following identities failed the check in region EU-WEST-1: <address>');
    expect(logs.lines().join('\n')).not.toContain('@example.com');
    expect(records[1]!.last_error).toMatch(/^SES BadRequestException/);
    expect(records[2]!.last_error).toMatch(/^SES TooManyRequestsException \(HTTP 429\)/);
    expect(records[3]!.last_error).toMatch(/^SES SendingPausedException/);

    // The retried ones go through once SES accepts them again (the local SES), the failed ones stay failed.
    expect(await pollOnce(sqs, queue, handler())).toEqual({ received: 2, failed: 0 });
    const after = await Promise.all(made.map((n) => recordOf(db.pool, n.message.notification_id)));
    expect(after.map((r) => [r.status, r.attempts])).toEqual([['failed', 1], ['failed', 1], ['delivered', 2], ['delivered', 2]]);
  });

  it('a missing or invalid sender fails the records for a retry, never delivers without a sender', async () => {
    const [n] = await notifications(db.pool, [{ type: 'email', address: address('nosender') }]);
    const queue = await createQueue(sqs);
    await enqueue(sqs, queue, [n!.body]);
    const broken = handler(sesEndpoint, async () => {
      throw new Error('SSM parameter /test/watchpoint/email/sender must hold the verified SES sender');
    });
    expect(await pollOnce(sqs, queue, broken)).toEqual({ received: 1, failed: 1 });
    expect(await recordOf(db.pool, n!.message.notification_id)).toMatchObject({ status: 'enqueued', last_error: expect.stringContaining('email/sender') });
    expect(await pollOnce(sqs, queue, handler())).toEqual({ received: 1, failed: 0 });
  });

  it('a webhook notification on the email queue is an invalid message for this worker', async () => {
    const [n] = await notifications(db.pool, [{ type: 'webhook', url: 'https://hooks.example.com/x' }]);
    const queue = await createQueue(sqs);
    await enqueue(sqs, queue, [n!.body]);
    expect(await pollOnce(sqs, queue, handler())).toEqual({ received: 1, failed: 1 });
    expect(logs.json().find((l) => l.event === 'DeliveryRetry')?.error).toContain('this worker delivers email');
  });

  it('a message whose record is gone (watchpoint deleted) is dropped without sending', async () => {
    const to = address('deleted');
    const [n] = await notifications(db.pool, [{ type: 'email', address: to }]);
    await db.pool.query('DELETE FROM watchpoints WHERE id = $1', [n!.watchpointId]);
    const queue = await createQueue(sqs);
    await enqueue(sqs, queue, [n!.body]);
    expect(await pollOnce(sqs, queue, handler())).toEqual({ received: 1, failed: 0 });
    expect((await sesStore(sesEndpoint)).filter((e) => e.destination.to.includes(to))).toEqual([]);
    expect(logs.json().some((l) => l.event === 'DeliveryDropped')).toBe(true);
  });
});
