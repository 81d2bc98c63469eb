// The AWS/SQS metrics SQS publishes once a minute, sampled from the local queues: the three depths
// (GetQueueAttributes, as SQS computes them) and ApproximateAgeOfOldestMessage, which fauxqs does not
// compute: it is read from fauxqs's non-destructive inspection endpoint (GET /_fauxqs/queues/<name>,
// which receives nothing and changes no visibility), as the age of the oldest message not yet
// deleted, available or in flight (delayed messages are not yet in the queue, as on SQS).
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { MetricStore } from './alarms.ts';

interface Inspected {
  messages?: { ready?: { sentTimestamp?: number }[]; inflight?: { message?: { sentTimestamp?: number } }[] };
}

/** Seconds since the oldest message still in the queue was sent; 0 for an empty queue. */
export async function oldestMessageAgeSeconds(fauxqsUrl: string, queueName: string, now = Date.now()): Promise<number> {
  const response = await fetch(`${fauxqsUrl}/_fauxqs/queues/${encodeURIComponent(queueName)}`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`fauxqs answered ${response.status} for queue ${queueName}`);
  const { messages } = (await response.json()) as Inspected;
  const sent = [...(messages?.ready ?? []).map((m) => m.sentTimestamp), ...(messages?.inflight ?? []).map((m) => m.message?.sentTimestamp)].filter((t): t is number => typeof t === 'number');
  return sent.length === 0 ? 0 : Math.max(0, Math.floor((now - Math.min(...sent)) / 1000));
}

/** One sample of a queue's metrics into the store, dimensioned by QueueName as SQS's are. */
export async function sampleQueue(sqs: SQSClient, fauxqsUrl: string, queue: { name: string; url: string }, metrics: MetricStore): Promise<void> {
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }));
  const dimensions = { QueueName: queue.name };
  const visible = Number(Attributes.ApproximateNumberOfMessages ?? 0);
  const inFlight = Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
  metrics.put('AWS/SQS', 'ApproximateNumberOfMessagesVisible', dimensions, visible);
  metrics.put('AWS/SQS', 'ApproximateNumberOfMessagesNotVisible', dimensions, inFlight);
  metrics.put('AWS/SQS', 'ApproximateNumberOfMessagesDelayed', dimensions, Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0));
  // Only a queue with messages is inspected: the endpoint returns every message's body.
  const queueName = queue.url.split('/').pop() ?? queue.name;
  metrics.put('AWS/SQS', 'ApproximateAgeOfOldestMessage', dimensions, visible + inFlight === 0 ? 0 : await oldestMessageAgeSeconds(fauxqsUrl, queueName));
}
