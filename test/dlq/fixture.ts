// A deployed-stack look-alike in fauxqs: a DLQ and source queues wired with real RedrivePolicies,
// messages that reach the DLQ by failing (maxReceiveCount), and the stack description the CLI reads.
import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from 'vitest';
import type { FauxqsWithDlqSource } from './fauxqs-dlq.ts';

export const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
export const REGION = 'eu-west-1';

export function sqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: REGION, credentials: CREDENTIALS });
}

export interface FixtureQueue {
  label: string;
  logicalId: string;
  name: string;
  url: string;
  arn: string;
}

export interface DlqFixture {
  envName: string;
  dlq: FixtureQueue;
  sources: Record<string, FixtureQueue>;
}

/** Creates the queues with unique names and declares stack `watchpoint-<envName>` over them. */
export async function createDlqFixture(faux: FauxqsWithDlqSource, sqs: SQSClient, labels: string[] = ['EvalQueueStandard', 'WebhookNotificationQueue']): Promise<DlqFixture> {
  const envName = `t${randomUUID().slice(0, 8)}`;
  const make = async (label: string, attributes: Record<string, string> = {}): Promise<FixtureQueue> => {
    const logicalId = `Queues${label}${randomUUID().replace(/-/g, '').slice(0, 8).toUpperCase()}`;
    const name = `watchpoint-${envName}-${logicalId}`;
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { label, logicalId, name, url: QueueUrl!, arn: Attributes!.QueueArn! };
  };
  const dlq = await make('DeadLetterQueue');
  const sources: Record<string, FixtureQueue> = {};
  for (const label of labels) {
    sources[label] = await make(label, { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }) });
  }
  const all = [dlq, ...Object.values(sources)];
  faux.setStack(`watchpoint-${envName}`, {
    outputs: { ...Object.fromEntries(all.map((q) => [`${q.label}Url`, q.url])), ApiEndpoint: 'https://example.invalid/' },
    resources: [
      ...all.map((q) => ({ logicalId: q.logicalId, physicalId: q.url, type: 'AWS::SQS::Queue' })),
      { logicalId: 'AlertTopic1234', physicalId: 'arn:aws:sns:eu-west-1:000000000000:alerts', type: 'AWS::SNS::Topic' },
    ],
  });
  return { envName, dlq, sources };
}

/**
 * Sends the bodies to the source queue, then receives them until SQS (fauxqs) moves each one to the
 * DLQ by its RedrivePolicy: the way messages really get there, with DeadLetterQueueSourceArn set.
 */
export async function failInto(sqs: SQSClient, source: FixtureQueue, bodies: string[], attributes?: Record<string, MessageAttributeValue>): Promise<void> {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    const entries = bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body, ...(attributes ? { MessageAttributes: attributes } : {}) }));
    sends.push(sqs.send(new SendMessageBatchCommand({ QueueUrl: source.url, Entries: entries })));
    if (sends.length >= 16) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
  for (;;) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: source.url, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 0 }));
    if (!Messages?.length) {
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: source.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
      if (Number(Attributes?.ApproximateNumberOfMessages) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible) === 0) return;
    }
  }
}

/**
 * An SQS client whose ReceiveMessage behaves as AWS documents at the in-flight quota: once `limit`
 * messages are in flight (received, not yet deleted or made visible), "If you use long polling,
 * Amazon SQS returns no error messages" (an empty answer), and with short polling it returns the
 * `OverLimit` error. https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html
 * fauxqs has no such quota, so this drives the SDK boundary with the documented shapes; everything
 * else reaches fauxqs unchanged.
 */
export function sqsClientWithInFlightLimit(endpoint: string, limit: number): SQSClient {
  const client = sqsClient(endpoint);
  const inFlight = new Map<string, string>(); // receipt handle -> message id
  const ids = () => new Set(inFlight.values()).size;
  client.middlewareStack.add((next, context) => async (args) => {
    const input = args.input as { WaitTimeSeconds?: number; Entries?: { Id: string; ReceiptHandle: string }[] };
    const command = (context as { commandName?: string }).commandName;
    if (command === 'ReceiveMessageCommand' && ids() >= limit) {
      if (!input.WaitTimeSeconds) {
        const { OverLimit } = await import('@aws-sdk/client-sqs');
        throw new OverLimit({ message: 'Too many messages in flight', $metadata: { httpStatusCode: 403 } });
      }
      return { output: { Messages: [], $metadata: { httpStatusCode: 200 } }, response: {} } as never;
    }
    const answer = await next(args);
    const output = answer.output as { Messages?: { MessageId?: string; ReceiptHandle?: string }[]; Successful?: { Id?: string }[] };
    if (command === 'ReceiveMessageCommand') {
      const room = Math.max(0, limit - ids());
      // Beyond the quota SQS would not have handed them out: give them back at once.
      const extra = (output.Messages ?? []).slice(room);
      output.Messages = (output.Messages ?? []).slice(0, room);
      for (const message of output.Messages) inFlight.set(message.ReceiptHandle!, message.MessageId!);
      if (extra.length > 0) {
        const { ChangeMessageVisibilityBatchCommand } = await import('@aws-sdk/client-sqs');
        const plain = sqsClient(endpoint);
        await plain.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: (args.input as { QueueUrl: string }).QueueUrl, Entries: extra.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })) }));
        plain.destroy();
      }
    } else if (command === 'DeleteMessageBatchCommand' || command === 'ChangeMessageVisibilityBatchCommand') {
      for (const done of output.Successful ?? []) {
        const entry = input.Entries?.find((e) => e.Id === done.Id);
        if (entry) inFlight.delete(entry.ReceiptHandle);
      }
    }
    return answer;
  }, { step: 'initialize', name: 'inFlightQuota' });
  return client;
}

/**
 * fauxqs (with DeadLetterQueueSourceArn) for one test file: started before its tests, closed after,
 * with a direct client, a temp project dir, and the SDK's default credential chain pointed at test
 * credentials (the CLI builds its own clients from it).
 */
export function useFauxqsDlq(): { readonly faux: FauxqsWithDlqSource; readonly sqs: SQSClient; readonly dir: string } {
  const state = {} as { faux: FauxqsWithDlqSource; sqs: SQSClient; dir: string };
  const saved = { ...process.env };
  beforeAll(async () => {
    const { startFauxqsWithDlqSource } = await import('./fauxqs-dlq.ts');
    const { tempDir } = await import('../helpers/cli.ts');
    state.faux = await startFauxqsWithDlqSource();
    state.sqs = sqsClient(state.faux.endpoint);
    state.dir = await tempDir();
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' });
    delete process.env.AWS_PROFILE;
  });
  afterAll(async () => {
    process.env = saved;
    state.sqs.destroy();
    await state.faux.close();
  });
  return state;
}
