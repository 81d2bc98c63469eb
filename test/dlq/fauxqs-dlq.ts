// fauxqs with one gap filled: real SQS returns the `DeadLetterQueueSourceArn` system attribute for a
// message its redrive policy moved into a dead-letter queue; fauxqs 2.4 moves the message but never
// reports where from. This wraps each queue that fauxqs creates so that a move is recorded, and adds
// the attribute to ReceiveMessage answers that ask for it ("All" or by name), as SQS does. Nothing
// else of fauxqs changes: messages really do reach the DLQ through maxReceiveCount.
//
// It also answers the two CloudFormation reads the CLI makes (DescribeStacks, DescribeStackResources,
// AWS query protocol) for the stacks a test declares with `setStack`, so the real CLI, spawned with
// awsEndpointUrl pointing here, finds its queues in "the deployed stack" like it would on AWS.
import type { AddressInfo } from 'node:net';

interface FauxMessage {
  messageId: string;
}
interface FauxQueue {
  arn: string;
  dequeue(max: number, visibility: number | undefined, resolver?: (arn: string) => { enqueue(m: FauxMessage): void } | undefined): unknown[];
}

export interface FakeStack {
  outputs: Record<string, string>;
  resources: { logicalId: string; physicalId: string; type: string }[];
}

export interface FauxqsWithDlqSource {
  endpoint: string;
  /** Declares (or replaces) a stack for DescribeStacks / DescribeStackResources. */
  setStack(name: string, stack: FakeStack): void;
  /** Every message body in a queue: visible, in flight and delayed (the test's ground truth). */
  bodies(queueName: string): string[];
  /** How many DLQ moves fauxqs made, by source queue ARN (to check the fixtures). */
  moved(): Map<string, number>;
  close(): Promise<void>;
}

export async function startFauxqsWithDlqSource(): Promise<FauxqsWithDlqSource> {
  const { buildApp } = await import('fauxqs');
  const { SqsStore } = (await import(new URL('../../node_modules/fauxqs/dist/sqs/sqsStore.js', import.meta.url).href)) as { SqsStore: new () => { createQueue: (...args: unknown[]) => FauxQueue } };
  const sourceOf = new Map<string, string>();
  const store = new SqsStore();
  const createQueue = store.createQueue.bind(store);
  store.createQueue = (...args: unknown[]) => {
    const queue = createQueue(...args);
    const dequeue = queue.dequeue.bind(queue);
    queue.dequeue = (max, visibility, resolver) =>
      dequeue(max, visibility, resolver && ((arn: string) => {
        const dlq = resolver(arn);
        return dlq && {
          enqueue: (message: FauxMessage) => {
            sourceOf.set(message.messageId, queue.arn);
            dlq.enqueue(message);
          },
        };
      }));
    return queue;
  };
  const app = buildApp({ logger: false, stores: { sqsStore: store } as never });
  const stacks = new Map<string, FakeStack>();
  app.addHook('preHandler', async (request, reply) => {
    const body = request.body as Record<string, string> | undefined;
    const action = typeof body === 'object' && body !== null ? body.Action : undefined;
    if (action !== 'DescribeStacks' && action !== 'DescribeStackResources') return;
    const name = body!.StackName ?? '';
    const stack = stacks.get(name);
    reply.header('content-type', 'text/xml');
    if (!stack) {
      reply.code(400).send(`<ErrorResponse xmlns="${CFN_NS}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${xml(name)} does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`);
      return reply;
    }
    reply.send(action === 'DescribeStacks' ? describeStacksXml(name, stack) : describeResourcesXml(name, stack));
    return reply;
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    if (request.headers['x-amz-target'] !== 'AmazonSQS.ReceiveMessage' || typeof payload !== 'string') return payload;
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as { MessageSystemAttributeNames?: string[]; AttributeNames?: string[] };
    const wanted = [...(body.MessageSystemAttributeNames ?? []), ...(body.AttributeNames ?? [])];
    if (!wanted.includes('All') && !wanted.includes('DeadLetterQueueSourceArn')) return payload;
    let parsed: { Messages?: { MessageId: string; Attributes?: Record<string, string> }[] };
    try {
      parsed = JSON.parse(payload);
    } catch {
      return payload;
    }
    let changed = false;
    for (const message of parsed.Messages ?? []) {
      const source = sourceOf.get(message.MessageId);
      if (source) {
        message.Attributes = { ...message.Attributes, DeadLetterQueueSourceArn: source };
        changed = true;
      }
    }
    return changed ? JSON.stringify(parsed) : payload;
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setStack: (name, stack) => stacks.set(name, stack),
    bodies: (queueName) => {
      const queue = (store as unknown as { getQueueByName(n: string): { inspectMessages(): Record<'ready' | 'delayed' | 'inflight', unknown[]> } | undefined }).getQueueByName(queueName);
      if (!queue) throw new Error(`no queue ${queueName}`);
      const { ready, delayed, inflight } = queue.inspectMessages();
      return [
        ...(ready as { body: string }[]).map((m) => m.body),
        ...(delayed as { body: string }[]).map((m) => m.body),
        ...(inflight as { message: { body: string } }[]).map((e) => e.message.body),
      ];
    },
    moved: () => {
      const counts = new Map<string, number>();
      for (const arn of sourceOf.values()) counts.set(arn, (counts.get(arn) ?? 0) + 1);
      return counts;
    },
    close: () => app.close(),
  };
}

const CFN_NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function describeStacksXml(name: string, stack: FakeStack): string {
  const outputs = Object.entries(stack.outputs)
    .map(([key, value]) => `<member><OutputKey>${xml(key)}</OutputKey><OutputValue>${xml(value)}</OutputValue></member>`)
    .join('');
  return `<DescribeStacksResponse xmlns="${CFN_NS}"><DescribeStacksResult><Stacks><member><StackName>${xml(name)}</StackName>` +
    `<StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${xml(name)}/1</StackId><CreationTime>2026-01-01T00:00:00Z</CreationTime>` +
    `<StackStatus>UPDATE_COMPLETE</StackStatus><Outputs>${outputs}</Outputs></member></Stacks></DescribeStacksResult>` +
    `<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>`;
}

function describeResourcesXml(name: string, stack: FakeStack): string {
  const members = stack.resources
    .map((r) => `<member><StackName>${xml(name)}</StackName><LogicalResourceId>${xml(r.logicalId)}</LogicalResourceId><PhysicalResourceId>${xml(r.physicalId)}</PhysicalResourceId>` +
      `<ResourceType>${xml(r.type)}</ResourceType><ResourceStatus>CREATE_COMPLETE</ResourceStatus><Timestamp>2026-01-01T00:00:00Z</Timestamp></member>`)
    .join('');
  return `<DescribeStackResourcesResponse xmlns="${CFN_NS}"><DescribeStackResourcesResult><StackResources>${members}</StackResources></DescribeStackResourcesResult>` +
    `<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStackResourcesResponse>`;
}
