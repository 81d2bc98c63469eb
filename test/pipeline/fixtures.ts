// Test fixtures for the forecast pipeline: forecast runs written with zarrita to fauxqs S3, queues,
// watchpoints in the test database, and S3/SQS events built the way Lambda delivers them.
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { S3Event, SQSEvent, SQSRecord } from 'aws-lambda';
import type pg from 'pg';
import { s3EventOf } from '../../src/dev/triggers.ts';
import { writeRun as writeForecastRun, type TileSpec, type WrittenRun } from '../../src/dev/forecast.ts';
import type { ForecastType } from '../../src/lambdas/shared/messages.ts';
import { motoClient, motoEndpoint, startMotoRecorder, type MotoRecorder } from '../helpers/moto.ts';

export const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
export const REGION = 'us-east-1';

export function clients(endpoint: string): { s3: S3Client; sqs: SQSClient } {
  return {
    s3: new S3Client({ endpoint, region: REGION, credentials: CREDENTIALS, forcePathStyle: true }),
    sqs: new SQSClient({ endpoint, region: REGION, credentials: CREDENTIALS }),
  };
}

/** The SSM prefix of this test file's handler parameters: moto is shared by the parallel test files. */
export const PARAM_PREFIX = `/test-${randomBytes(4).toString('hex')}/watchpoint`;
/** SSM path of the database URL in the handlers' test environment; store the test database's URL there (putSecureParameter). */
export const DATABASE_URL_PARAM = `${PARAM_PREFIX}/database/url`;

/**
 * The one AWS_ENDPOINT_URL the handlers get: a proxy that sends SSM to moto (where putSecureParameter
 * stores the handlers' parameters) and everything else to fauxqs (S3, SQS). stop() it in afterAll.
 */
export function handlerEndpoint(fauxqs: string): Promise<MotoRecorder> {
  return startMotoRecorder({ route: (call) => (call.service === 'ssm' ? motoEndpoint() : fauxqs) });
}

/** Stores a parameter in moto's Parameter Store, where the handlers read it through handlerEndpoint(). */
export async function putSecureParameter(name: string, value: string, type: 'SecureString' | 'String' = 'SecureString'): Promise<void> {
  await motoClient(SSMClient, REGION).send(new PutParameterCommand({ Name: name, Value: value, Type: type, Overwrite: true }));
}

/**
 * The environment the stack gives every function, pointed at the test servers: `endpoint` is
 * handlerEndpoint()'s (SSM on moto, S3 and SQS on fauxqs), and (with queues) the queue variables the
 * producers and consumers read.
 */
export function lambdaEnv(endpoint: string, queues?: Queues): Record<string, string> {
  return {
    APP_ENV: 'test',
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL: endpoint,
    DATABASE_URL_SSM_PARAM: DATABASE_URL_PARAM,
    METRIC_NAMESPACE: 'WatchPoint',
    ...(queues
      ? {
          SQS_EVAL_URGENT: queues.urgent,
          SQS_EVAL_STANDARD: queues.standard,
          SQS_NOTIFICATIONS: queues.email,
          SQS_NOTIFICATIONS_EMAIL: queues.email,
          SQS_NOTIFICATIONS_WEBHOOK: queues.webhook,
          SQS_DLQ: queues.deadLetter,
        }
      : {}),
  };
}

export const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

export interface Queues {
  urgent: string;
  standard: string;
  email: string;
  webhook: string;
  deadLetter: string;
}

export async function createQueues(sqs: SQSClient): Promise<Queues> {
  const id = randomBytes(4).toString('hex');
  const make = async (name: string) => (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-${id}` }))).QueueUrl!;
  const [urgent, standard, email, webhook, deadLetter] = await Promise.all(
    ['eval-urgent', 'eval-standard', 'notifications', 'webhooks', 'dlq'].map(make),
  );
  return { urgent: urgent!, standard: standard!, email: email!, webhook: webhook!, deadLetter: deadLetter! };
}

export async function createBucket(s3: S3Client): Promise<string> {
  const bucket = unique('forecasts');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export { gridTile, tileArrays, writeTile, type TileSpec, type WrittenRun } from '../../src/dev/forecast.ts';

/** A run written like RunPod writes one (src/dev/forecast.ts), with a unique run id by default. */
export async function writeRun(
  s3: S3Client,
  bucket: string,
  options: { forecastType: ForecastType; runId?: string; issuedAt?: string; tiles: TileSpec[]; success?: boolean },
): Promise<WrittenRun> {
  return writeForecastRun(s3, bucket, { ...options, runId: options.runId ?? unique('run'), issuedAt: options.issuedAt ?? '2026-11-27T00:00:00Z' });
}

/** The ObjectCreated event S3 would send the Batcher (fauxqs sends none; src/dev builds the same). */
export function s3Event(bucket: string, key: string): S3Event {
  return s3EventOf(bucket, key, 0, 'd41d8cd98f00b204e9800998ecf8427e', REGION);
}

export function sqsRecord(message: Pick<Message, 'Body' | 'MessageId' | 'ReceiptHandle'> & { Attributes?: Record<string, string> }, queueArn = 'arn:aws:sqs:us-east-1:000000000000:eval'): SQSRecord {
  return {
    messageId: message.MessageId ?? unique('msg'),
    receiptHandle: message.ReceiptHandle ?? 'handle',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'batcher',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: REGION,
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

/** Receives every message currently in the queue (deleting them unless keep=true). */
export async function drain(sqs: SQSClient, queueUrl: string, options: { keep?: boolean } = {}): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
    if (!options.keep) {
      await sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }),
      );
    }
  }
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
}

export interface WatchpointInput {
  name?: string;
  latitude: number;
  longitude: number;
  variable: string;
  condition: 'gt' | 'gte' | 'lt' | 'lte';
  threshold: number;
  window_start_hours?: number;
  window_end_hours: number;
  channels: unknown[];
  active?: boolean;
}

export async function insertWatchpoints(pool: pg.Pool, rows: WatchpointInput[]): Promise<string[]> {
  const { rows: inserted } = await pool.query<{ id: string }>(
    `INSERT INTO watchpoints (name, latitude, longitude, variable, condition, threshold, window_start_hours, window_end_hours, channels, active)
     SELECT * FROM unnest($1::text[], $2::float8[], $3::float8[], $4::text[], $5::text[], $6::float8[], $7::int[], $8::int[], $9::jsonb[], $10::bool[])
     RETURNING id`,
    [
      rows.map((r) => r.name ?? ''),
      rows.map((r) => r.latitude),
      rows.map((r) => r.longitude),
      rows.map((r) => r.variable),
      rows.map((r) => r.condition),
      rows.map((r) => r.threshold),
      rows.map((r) => r.window_start_hours ?? 0),
      rows.map((r) => r.window_end_hours),
      rows.map((r) => JSON.stringify(r.channels)),
      rows.map((r) => r.active ?? true),
    ],
  );
  return inserted.map((r) => r.id);
}
