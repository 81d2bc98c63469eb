// ApproximateAgeOfOldestMessage from fauxqs's inspection endpoint: the oldest message not deleted,
// available or in flight, and never received by the sampling.
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oldestMessageAgeSeconds } from '../../src/dev/queue-metrics.ts';

let app: { listen(o: { host: string; port: number }): Promise<string>; close(): Promise<unknown> };
let url: string;
let sqs: SQSClient;

beforeAll(async () => {
  const { buildApp } = await import('fauxqs');
  app = buildApp({ logger: false, defaultRegion: 'us-east-1' }) as unknown as typeof app;
  url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
  sqs = new SQSClient({ region: 'us-east-1', endpoint: url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});
afterAll(async () => {
  sqs?.destroy();
  await app?.close();
});

describe('oldestMessageAgeSeconds', () => {
  it('is 0 for an empty queue, the oldest message otherwise (in flight included), and receives nothing', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'ages' }));
    expect(await oldestMessageAgeSeconds(url, 'ages')).toBe(0);
    const sentAt = Date.now();
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'first' }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'second' }));
    // The first message was sent within a few ms after sentAt: 90 s later its age is 89 (floored) or 90.
    expect([89, 90]).toContain(await oldestMessageAgeSeconds(url, 'ages', sentAt + 90_000));
    // The oldest one in flight still counts; the sampling itself received nothing.
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 60 }));
    expect(received.Messages?.[0]?.Body).toBe('first');
    expect([119, 120]).toContain(await oldestMessageAgeSeconds(url, 'ages', sentAt + 120_000));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    expect(Attributes).toMatchObject({ ApproximateNumberOfMessages: '1', ApproximateNumberOfMessagesNotVisible: '1' });
  });

  it('names the queue fauxqs does not know', async () => {
    await expect(oldestMessageAgeSeconds(url, 'no-such-queue')).rejects.toThrow('fauxqs answered 404 for queue no-such-queue');
  });
});
