// The webhook worker against real protocols: notifications on a fauxqs queue, records in PostgreSQL, a
// loopback receiver that verifies every signature. The handler is the production one
// (createDeliveryHandler + webhookChannel) with the test allowance and a short timeout injected.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createDeliveryHandler } from '../../src/lambdas/shared/delivery-handler.ts';
import { createLogger, createMetrics } from '../../src/lambdas/shared/observability.ts';
import { STRICT_POLICY, systemResolver, type Resolver, type TargetPolicy } from '../../src/lambdas/webhook-worker/target.ts';
import { webhookChannel } from '../../src/lambdas/webhook-worker/worker.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { captureLogs, type CapturedLogs } from '../pipeline/logs.ts';
import { clients, createQueue, enqueue, notifications, pollOnce, pollUntilEmpty, recordOf, startReceiver, type Receiver } from './helpers.ts';

const { sqs } = clients(inject('fauxqsEndpoint'));
const TEST_ALLOWANCE: TargetPolicy = { allowLoopback: true };

let db: TestDatabase;
let receiver: Receiver;
const secrets = new Map<string, string>();
let logs: CapturedLogs;

beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'));
  receiver = await startReceiver((id) => secrets.get(id));
});
afterAll(async () => {
  await receiver.close();
  await db.drop();
});
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => {
  logs.restore();
  // A secret never reaches a log line.
  const text = logs.lines().join('\n');
  for (const secret of secrets.values()) expect(text).not.toContain(secret);
});

function handler(options: { policy?: TargetPolicy; timeoutMs?: number; resolver?: Resolver; parallel?: boolean } = {}) {
  const deps = {
    pool: async () => db.pool,
    logger: createLogger('webhook-worker'),
    metrics: createMetrics('webhook-worker'),
    channel: webhookChannel({
      policy: options.policy ?? TEST_ALLOWANCE,
      timeoutMs: options.timeoutMs ?? 2_000,
      ...(options.resolver ? { resolver: options.resolver } : {}),
    }),
  };
  return createDeliveryHandler(() => deps, { parallel: options.parallel ?? true });
}

async function webhooks(paths: string[]) {
  const made = await notifications(db.pool, paths.map((path) => ({ type: 'webhook' as const, url: receiver.url(path) })));
  for (const n of made) secrets.set(n.watchpointId, n.secret);
  return made;
}

const postsTo = (path: string) => receiver.posts.filter((p) => p.path === path);

describe('webhook worker', () => {
  it('POSTs the signed payload once, and a duplicate message (also in the same batch) is a no-op', async () => {
    const [n] = await webhooks(['/once']);
    // A slow receiver keeps the first copy's send in flight while the second copy tries to claim.
    receiver.script('/once', ['slow']);
    const queue = await createQueue(sqs);
    // The eval worker's crash window: the same notification sent twice, both in the queue at once.
    await enqueue(sqs, queue, [n!.body, n!.body]);
    const first = await pollOnce(sqs, queue, handler());
    // Both copies ran in parallel: one sent, the other found the lease and was failed for a retry;
    // on its retry the record is delivered, so it is dropped as a duplicate.
    expect(first).toEqual({ received: 2, failed: 1 });
    expect(logs.json().find((l) => l.event === 'DeliveryRetry')?.error).toBe('another worker is delivering this notification now');
    expect(await pollOnce(sqs, queue, handler())).toEqual({ received: 1, failed: 0 });
    await enqueue(sqs, queue, [n!.body]);
    expect(await pollOnce(sqs, queue, handler())).toEqual({ received: 1, failed: 0 });

    const posts = postsTo('/once');
    expect(posts).toHaveLength(1);
    const post = posts[0]!;
    expect(post.verification.ok).toBe(true);
    expect(post.headers['content-type']).toBe('application/json');
    expect(post.headers['watchpoint-notification-id']).toBe(n!.message.notification_id);
    expect(post.headers['watchpoint-delivery-attempt']).toBe('1');
    expect(post.headers['watchpoint-signature']).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(JSON.parse(post.body)).toEqual({
      type: 'watchpoint.triggered',
      notification_id: n!.message.notification_id,
      watchpoint: n!.message.watchpoint,
      forecast: n!.message.forecast,
      trigger: n!.message.trigger,
      created_at: n!.message.created_at,
    });
    expect(await recordOf(db.pool, n!.message.notification_id)).toMatchObject({ status: 'delivered', attempts: 1, last_error: null });
    expect(logs.json().filter((l) => l.event === 'DeliveryDuplicate')).toHaveLength(2);
  });

  it('retries a 500 and delivers on the following 200; a 404 is recorded as failed and not retried', async () => {
    const [flaky, gone] = await webhooks(['/flaky', '/gone']);
    receiver.script('/flaky', [500, 200]);
    receiver.script('/gone', [404]);
    const queue = await createQueue(sqs);
    await enqueue(sqs, queue, [flaky!.body, gone!.body]);

    const first = await pollOnce(sqs, queue, handler());
    expect(first).toEqual({ received: 2, failed: 1 });
    expect(await recordOf(db.pool, flaky!.message.notification_id)).toMatchObject({ status: 'enqueued', attempts: 1, last_error: 'receiver answered HTTP 500' });
    expect(await recordOf(db.pool, gone!.message.notification_id)).toMatchObject({ status: 'failed', attempts: 1, last_error: 'receiver answered HTTP 404' });

    const second = await pollOnce(sqs, queue, handler());
    expect(second).toEqual({ received: 1, failed: 0 });
    expect(await recordOf(db.pool, flaky!.message.notification_id)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(postsTo('/flaky').map((p) => p.headers['watchpoint-delivery-attempt'])).toEqual(['1', '2']);
    expect(postsTo('/flaky').every((p) => p.verification.ok)).toBe(true);
    expect(postsTo('/gone')).toHaveLength(1);
    expect(await pollOnce(sqs, queue, handler())).toEqual({ received: 0, failed: 0 });
  });

  it('408 and 429 are retried; 400, 410 and a redirect are not', async () => {
    const paths = ['/s408', '/s429', '/s400', '/s410', '/s302'];
    const made = await webhooks(paths);
    receiver.script('/s408', [408]);
    receiver.script('/s429', [429]);
    receiver.script('/s400', [400]);
    receiver.script('/s410', [410]);
    receiver.script('/s302', [302]);
    const queue = await createQueue(sqs);
    await enqueue(sqs, queue, made.map((n) => n.body));
    expect(await pollOnce(sqs, queue, handler())).toEqual({ received: 5, failed: 2 });
    const statuses = await Promise.all(made.map((n) => recordOf(db.pool, n.message.notification_id)));
    expect(statuses.map((s) => s.status)).toEqual(['enqueued', 'enqueued', 'failed', 'failed', 'failed']);
    expect(statuses[4]!.last_error).toContain('redirects are not followed');
  });

  it('a receiver that never answers times out, and the record is retried', async () => {
    const [n] = await webhooks(['/hang']);
    receiver.script('/hang', ['hang', 200]);
    const queue = await createQueue(sqs);
    await enqueue(sqs, queue, [n!.body]);
    expect(await pollOnce(sqs, queue, handler({ timeoutMs: 200 }))).toEqual({ received: 1, failed: 1 });
    expect(await recordOf(db.pool, n!.message.notification_id)).toMatchObject({ status: 'enqueued', last_error: 'no response within 200 ms' });
    expect(await pollOnce(sqs, queue, handler({ timeoutMs: 200 }))).toEqual({ received: 1, failed: 0 });
    expect(await recordOf(db.pool, n!.message.notification_id)).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('refuses loopback, metadata and plain-http targets outside the test allowance, without sending', async () => {
    const port = new URL(receiver.url('/')).port;
    // metadata.test and rebind.test resolve (through the injected resolver) to internal addresses.
    const resolver: Resolver = async (host) =>
      host === 'metadata.test' ? [{ address: '169.254.169.254', family: 4 }] : host === 'rebind.test' ? [{ address: '203.0.114.9', family: 4 }, { address: '127.0.0.1', family: 4 }] : systemResolver(host);
    const channels = [
      `https://localhost:${port}/refused-localhost`, // real DNS: localhost -> 127.0.0.1 / ::1
      `https://127.0.0.1:${port}/refused-literal`,
      `https://metadata.test:${port}/refused-metadata`,
      `https://rebind.test:${port}/refused-mixed`,
      `http://127.0.0.1:${port}/refused-http`,
      `https://[fd00:ec2::254]/refused-v6-metadata`,
    ];
    const made = await notifications(db.pool, channels.map((url) => ({ type: 'webhook' as const, url })));
    for (const n of made) secrets.set(n.watchpointId, n.secret);
    const queue = await createQueue(sqs);
    await enqueue(sqs, queue, made.map((n) => n.body));
    expect(await pollOnce(sqs, queue, handler({ policy: STRICT_POLICY, resolver }))).toEqual({ received: 6, failed: 0 });
    const records = await Promise.all(made.map((n) => recordOf(db.pool, n.message.notification_id)));
    expect(records.map((r) => r.status)).toEqual(Array(6).fill('failed'));
    expect(records.map((r) => r.last_error)).toEqual([
      expect.stringMatching(/resolves to a loopback address/),
      expect.stringMatching(/resolves to a loopback address \(127\.0\.0\.1\)/),
      expect.stringMatching(/resolves to a metadata address \(169\.254\.169\.254\)/),
      expect.stringMatching(/resolves to a loopback address \(127\.0\.0\.1\)/),
      'webhook URL must use https (got http)',
      expect.stringMatching(/resolves to a metadata address \(fd00:ec2::254\)/),
    ]);
    expect(receiver.posts.filter((p) => p.path.startsWith('/refused'))).toEqual([]);

    // The test allowance opens loopback only: the metadata address stays refused.
    const [meta] = await webhooks(['/allowance-metadata']);
    await db.pool.query('UPDATE notification_records SET channel = $2 WHERE id = $1', [meta!.message.notification_id, `webhook:https://metadata.test:${port}/x`]);
    const metaMessage = { ...meta!.message, channel: { type: 'webhook' as const, url: `https://metadata.test:${port}/x` } };
    await enqueue(sqs, queue, [JSON.stringify(metaMessage)]);
    expect(await pollOnce(sqs, queue, handler({ policy: TEST_ALLOWANCE, resolver }))).toEqual({ received: 1, failed: 0 });
    expect(await recordOf(db.pool, meta!.message.notification_id)).toMatchObject({ status: 'failed', last_error: expect.stringMatching(/metadata address/) });
  });

  it('a batch of 10 with one poison message: nine delivered, one failed record', async () => {
    const made = await webhooks(Array.from({ length: 9 }, (_, i) => `/batch-${i}`));
    const queue = await createQueue(sqs);
    await enqueue(sqs, queue, [...made.slice(0, 4).map((n) => n.body), '{"version":1,"notification_id":"not json', ...made.slice(4).map((n) => n.body)]);
    const result = await pollOnce(sqs, queue, handler());
    expect(result).toEqual({ received: 10, failed: 1 });
    const records = await Promise.all(made.map((n) => recordOf(db.pool, n.message.notification_id)));
    expect(records.every((r) => r.status === 'delivered')).toBe(true);
    expect(receiver.posts.filter((p) => p.path.startsWith('/batch-'))).toHaveLength(9);
    expect(receiver.posts.filter((p) => p.path.startsWith('/batch-')).every((p) => p.verification.ok)).toBe(true);
    const warning = logs.json().find((l) => l.event === 'DeliveryRetry' && l.error_name === 'InvalidMessageError');
    expect(warning).toBeDefined();
    // The body of the poison message is not logged.
    expect(logs.lines().join('\n')).not.toContain('not json');
  });

  it('publishes DeliveryAttempt in WatchPoint with an empty dimension set, one per send attempt', async () => {
    const made = await webhooks(['/metric-a', '/metric-b']);
    const queue = await createQueue(sqs);
    await enqueue(sqs, queue, [made[0]!.body, made[1]!.body, made[0]!.body]);
    await pollUntilEmpty(sqs, queue, handler({ parallel: false }));
    const emf = logs.json().filter((l) => l._aws !== undefined);
    expect(emf.length).toBeGreaterThan(0);
    let attempts = 0;
    for (const line of emf) {
      const directives = (line._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] }).CloudWatchMetrics;
      for (const directive of directives) {
        if (!directive.Metrics.some((m) => m.Name === 'DeliveryAttempt')) continue;
        expect(directive.Namespace).toBe('WatchPoint');
        // NotificationSpikeAlarm names no dimensions; CloudWatch matches the set exactly.
        expect(directive.Dimensions.flat()).toEqual([]);
        expect(line.service).toBeUndefined();
        attempts += ([] as number[]).concat(line.DeliveryAttempt as number | number[]).reduce((a, b) => a + b, 0);
      }
    }
    expect(attempts).toBe(2);
  });
});
