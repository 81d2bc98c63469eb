// What invokes the functions locally, as the template wires them: SQS event source mappings (batch
// size, partial batch failures, visibility timeout, redrive by the queue's own receive count), the
// bucket's ObjectCreated notifications (fauxqs sends none, so the bucket is listed for new keys),
// EventBridge schedules (rate() and daily cron(), compressed by --speed), and each invocation's outcome.
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { S3Event, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { FunctionHost } from './function-host.ts';
import { abortableSleep } from '../sleep.ts';

export interface Outcome {
  function: string;
  trigger: string;
  ok: boolean;
  /** Records reported failed (SQS), or the error. */
  failed?: number;
  error?: string;
  result?: unknown;
}

export type OnOutcome = (outcome: Outcome) => void;

export interface Trigger {
  stop(): Promise<void>;
}

export function sqsRecordOf(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.AWSTraceHeader ? { AWSTraceHeader: attributes.AWSTraceHeader } : {}),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, { dataType: value.DataType ?? 'String', ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }) }]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * Which received messages to delete after an invocation, as Lambda decides: all when the function
 * succeeded without reporting failures; none when it threw, or reported an identifier that is not
 * in the batch (Lambda then treats the whole batch as failed); else all but the failed ones.
 */
export function deletable(messages: Message[], response: unknown, reportBatchItemFailures: boolean): Message[] {
  if (!reportBatchItemFailures) return messages;
  const failures = (response as SQSBatchResponse | undefined)?.batchItemFailures ?? [];
  const ids = new Set(messages.map((m) => m.MessageId));
  if (failures.some((f) => !f.itemIdentifier || !ids.has(f.itemIdentifier))) return [];
  const failed = new Set<string | undefined>(failures.map((f) => f.itemIdentifier));
  return messages.filter((m) => !failed.has(m.MessageId));
}

export interface SqsMappingOptions {
  sqs: SQSClient;
  host: FunctionHost;
  queueUrl: string;
  queueArn: string;
  queueName: string;
  region: string;
  batchSize: number;
  reportBatchItemFailures: boolean;
  visibilityTimeoutSeconds: number;
  speed: number;
  onOutcome: OnOutcome;
  /** Pollers in parallel (Lambda scales pollers with the backlog; here a fixed few). */
  pollers?: number;
}

export function startSqsMapping(options: SqsMappingOptions): Trigger {
  const abort = new AbortController();
  // The queue's visibility timeout, compressed like every other wait, so a failed record comes back
  // after the same fraction of its real delay: 180 s at --speed 180 is one second.
  const visibility = Math.max(1, Math.ceil(options.visibilityTimeoutSeconds / options.speed));
  const loop = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      let messages: Message[];
      try {
        const answer = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize,
            WaitTimeSeconds: 1,
            VisibilityTimeout: visibility,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = answer.Messages ?? [];
      } catch (error) {
        if (abort.signal.aborted) return;
        options.onOutcome({ function: options.host.spec.name, trigger: options.queueName, ok: false, error: `ReceiveMessage failed: ${(error as Error).message}` });
        await abortableSleep(1000, abort.signal);
        continue;
      }
      if (messages.length === 0) continue;
      const event: SQSEvent = { Records: messages.map((m) => sqsRecordOf(m, options.queueArn, options.region)) };
      let response: unknown;
      let error: Error | undefined;
      try {
        response = await options.host.invoke(event);
      } catch (caught) {
        error = caught as Error;
      }
      const done = error ? [] : deletable(messages, response, options.reportBatchItemFailures);
      if (done.length > 0) {
        await options.sqs
          .send(new DeleteMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }))
          .catch(() => undefined);
      }
      options.onOutcome({
        function: options.host.spec.name,
        trigger: options.queueName,
        ok: !error && done.length === messages.length,
        failed: messages.length - done.length,
        ...(error ? { error: `${error.name}: ${error.message}` } : {}),
        result: { received: messages.length, deleted: done.length },
      });
    }
  };
  const loops = Array.from({ length: options.pollers ?? 1 }, () => loop());
  return {
    stop: async () => {
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}

export interface BucketWatchOptions {
  s3: S3Client;
  bucket: string;
  region: string;
  /** The template's notifications for this bucket. */
  targets: { host: FunctionHost; prefix?: string; suffix?: string }[];
  intervalMs: number;
  onOutcome: OnOutcome;
}

export function s3EventOf(bucket: string, key: string, size: number, etag: string, region: string): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: region,
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: 'local' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'local', 'x-amz-id-2': 'local' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'watchpoint-dev',
          bucket: { name: bucket, ownerIdentity: { principalId: 'local' }, arn: `arn:aws:s3:::${bucket}` },
          // S3 URL-encodes keys in events (spaces as '+').
          object: { key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+'), size, eTag: etag.replace(/"/g, ''), sequencer: Date.now().toString(16).toUpperCase() },
        },
      },
    ],
  };
}

/** Lists the bucket every interval and sends each new (or rewritten) matching key to its function. */
export function startBucketWatch(options: BucketWatchOptions): Trigger {
  const abort = new AbortController();
  const seen = new Map<string, string>();
  const scan = async (): Promise<void> => {
    let token: string | undefined;
    do {
      const page = await options.s3.send(new ListObjectsV2Command({ Bucket: options.bucket, ContinuationToken: token }), { abortSignal: abort.signal });
      for (const object of page.Contents ?? []) {
        const key = object.Key ?? '';
        const etag = object.ETag ?? '';
        if (seen.get(key) === etag) continue;
        seen.set(key, etag);
        for (const target of options.targets) {
          if (target.prefix && !key.startsWith(target.prefix)) continue;
          if (target.suffix && !key.endsWith(target.suffix)) continue;
          // Asynchronous invocation, as S3 notifications are.
          target.host.invoke(s3EventOf(options.bucket, key, object.Size ?? 0, etag, options.region)).then(
            (result) => options.onOutcome({ function: target.host.spec.name, trigger: `s3://${options.bucket}/${key}`, ok: true, result }),
            (error: Error) => options.onOutcome({ function: target.host.spec.name, trigger: `s3://${options.bucket}/${key}`, ok: false, error: `${error.name}: ${error.message}` }),
          );
        }
      }
      token = page.NextContinuationToken;
    } while (token);
  };
  const loop = (async () => {
    while (!abort.signal.aborted) {
      await scan().catch(() => undefined);
      await abortableSleep(options.intervalMs, abort.signal);
    }
  })();
  return {
    stop: async () => {
      abort.abort();
      await loop;
    },
  };
}

/** rate(N unit) or a daily cron(M H * * ? *): milliseconds between runs, or undefined when not supported locally. */
export function scheduleInterval(expression: string): { everyMs: number; offsetMs?: number } | undefined {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const unit = rate[2]!.startsWith('minute') ? 60_000 : rate[2]!.startsWith('hour') ? 3_600_000 : 86_400_000;
    return { everyMs: Number(rate[1]) * unit };
  }
  const cron = /^cron\((\d+) (\d+) \* \* \? \*\)$/.exec(expression);
  if (cron) return { everyMs: 86_400_000, offsetMs: (Number(cron[2]) * 60 + Number(cron[1])) * 60_000 };
  return undefined;
}

export interface ScheduleOptions {
  host: FunctionHost;
  name: string;
  expression: string;
  input: unknown;
  speed: number;
  /** Run once at start (the DataPoller: a forecast cycle begins without waiting 15 minutes). */
  runAtStart: boolean;
  onOutcome: OnOutcome;
}

export function startSchedule(options: ScheduleOptions): Trigger | undefined {
  const interval = scheduleInterval(options.expression);
  if (!interval) return undefined;
  const every = interval.everyMs / options.speed;
  const fire = () => {
    const event = { version: '0', id: crypto.randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString(), resources: [options.name], detail: {}, ...(options.input as object) };
    const payload = options.input && Object.keys(options.input as object).length > 0 ? options.input : event;
    options.host.invoke(payload).then(
      (result) => options.onOutcome({ function: options.host.spec.name, trigger: options.name, ok: true, result }),
      (error: Error) => options.onOutcome({ function: options.host.spec.name, trigger: options.name, ok: false, error: `${error.name}: ${error.message}` }),
    );
  };
  if (options.runAtStart) fire();
  const timer = setInterval(fire, Math.max(50, every));
  timer.unref();
  return {
    stop: async () => clearInterval(timer),
  };
}

