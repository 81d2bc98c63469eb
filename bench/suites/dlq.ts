// Issue 6: selective redrive of 20,000 messages against fauxqs on loopback, against a naive
// one-message-at-a-time loop (receive 1, send 1, delete 1) in the same run. fauxqs runs in a child
// process so that server and client do not share one event loop. Budget: at least MIN_RATIO times the
// naive loop's rate measured in the same run, with every message moved to its source queue (proof the
// work was done: a walk that moved nothing loses nothing either), none lost, none left in the DLQ.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DEFAULT_CONCURRENCY, selectiveRedrive } from '../../src/cli/dlq/walk.ts';
import { failInto, sqsClient, type FixtureQueue } from '../../test/dlq/fixture.ts';

const SUBJECT_MESSAGES = 20_000;
const NAIVE_MESSAGES = 2_000;
/** The subject's msg/s over the naive loop's, measured in the same run. */
const MIN_RATIO = 3;

export async function selectiveRedriveBench(): Promise<boolean> {
  const server = await startServer();
  const sqs = sqsClient(server.endpoint);
  try {
    const subject = await trial(sqs, SUBJECT_MESSAGES, async (dlq, source) => {
      const result = await selectiveRedrive({
        sqs, dlqUrl: dlq.url, destinations: new Map([[source.arn, source.url]]), filter: { match: /"n":/ }, visibilityTimeout: 300, waitTimeSeconds: 0,
      });
      if (result.error) throw result.error;
      return result.moved;
    });
    const naive = await trial(sqs, NAIVE_MESSAGES, (dlq, source) => naiveLoop(sqs, dlq, source));
    const ratio = subject.perSecond / naive.perSecond;
    const done = (t: Trial) => t.moved === t.messages && t.inSource === t.messages && t.leftInDlq === 0 && t.lost === 0;
    const ok = done(subject) && done(naive) && ratio >= MIN_RATIO && subject.duplicates <= DEFAULT_CONCURRENCY * 10;
    const row = (label: string, t: Trial) =>
      `  ${label.padEnd(44)} ${String(t.messages).padStart(6)} msgs  ${t.seconds.toFixed(2).padStart(6)} s  ${t.perSecond.toFixed(0).padStart(6)} msg/s   moved ${t.moved} (in source ${t.inSource}, left in DLQ ${t.leftInDlq})  lost ${t.lost}  duplicates ${t.duplicates}`;
    console.log('dlq selective redrive vs naive loop (fauxqs on 127.0.0.1, server in a child process)');
    console.log(row('naive: receive 1, send 1, delete 1', naive));
    console.log(row(`watchpoint: ${DEFAULT_CONCURRENCY} workers, batches of 10`, subject));
    console.log(`  ratio ${ratio.toFixed(1)}x the naive loop (budget >= ${MIN_RATIO}x), every message moved, 0 lost: ${ok ? 'PASS' : 'FAIL'}\n`);
    return ok;
  } finally {
    sqs.destroy();
    server.child.kill();
  }
}

interface Trial {
  messages: number;
  seconds: number;
  perSecond: number;
  lost: number;
  duplicates: number;
  /** What the mover said it moved, and where the bodies really are afterwards. */
  moved: number;
  inSource: number;
  leftInDlq: number;
}

async function trial(sqs: SQSClient, count: number, move: (dlq: FixtureQueue, source: FixtureQueue) => Promise<number>): Promise<Trial> {
  const tag = randomUUID().slice(0, 8);
  const dlq = await queue(sqs, `bench-dlq-${tag}`);
  const source = await queue(sqs, `bench-src-${tag}`, { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }) });
  const bodies = Array.from({ length: count }, (_, i) => JSON.stringify({ n: i, pad: 'x'.repeat(200) }));
  await failInto(sqs, source, bodies);
  const inDlq = await depth(sqs, dlq.url);
  if (inDlq !== count) throw new Error(`setup: expected ${count} messages in the DLQ, found ${inDlq}`);
  const started = process.hrtime.bigint();
  const moved = await move(dlq, source);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const inSourceBodies = await drain(sqs, source.url);
  const leftBodies = await drain(sqs, dlq.url);
  const found = [...inSourceBodies, ...leftBodies];
  const distinct = new Set(found);
  const lost = bodies.filter((body) => !distinct.has(body)).length;
  return { messages: count, seconds, perSecond: count / seconds, lost, duplicates: found.length - distinct.size, moved, inSource: new Set(inSourceBodies).size, leftInDlq: leftBodies.length };
}

async function naiveLoop(sqs: SQSClient, dlq: FixtureQueue, source: FixtureQueue): Promise<number> {
  let moved = 0;
  for (;;) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.url, MaxNumberOfMessages: 1, VisibilityTimeout: 300, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
    const message = Messages?.[0];
    if (!message) return moved;
    await sqs.send(new SendMessageCommand({ QueueUrl: source.url, MessageBody: message.Body!, ...(message.MessageAttributes ? { MessageAttributes: message.MessageAttributes } : {}) }));
    await sqs.send(new DeleteMessageCommand({ QueueUrl: dlq.url, ReceiptHandle: message.ReceiptHandle! }));
    moved += 1;
  }
}

async function queue(sqs: SQSClient, name: string, attributes: Record<string, string> = {}): Promise<FixtureQueue> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { label: name, logicalId: name, name, url: QueueUrl!, arn: Attributes!.QueueArn! };
}

async function depth(sqs: SQSClient, url: string): Promise<number> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(Attributes?.ApproximateNumberOfMessages) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
}

/** Every body in the queue, received once with a long visibility timeout (the queue is then discarded). */
async function drain(sqs: SQSClient, url: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 3600 }));
    if (!Messages?.length) return bodies;
    for (const message of Messages) bodies.push(message.Body!);
  }
}

async function startServer(): Promise<{ endpoint: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--no-warnings', fileURLToPath(import.meta.url), 'serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = /^(http:\/\/127\.0\.0\.1:\d+)\n/m.exec(out);
      if (line) resolve(line[1]!);
    });
    child.on('exit', (code) => reject(new Error(`fauxqs child exited ${code}`)));
  });
  return { endpoint, child };
}

// `node bench/suites/dlq.ts serve`: the server side, fauxqs with DeadLetterQueueSourceArn.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'serve') {
  const { startFauxqsWithDlqSource } = await import('../../test/dlq/fauxqs-dlq.ts');
  const server = await startFauxqsWithDlqSource();
  process.stdout.write(`${server.endpoint}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}
