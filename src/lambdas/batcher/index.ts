// BatcherFunction: S3 `_SUCCESS` (ObjectCreated, suffix _SUCCESS) on ForecastBucket -> eval jobs.
import type { S3Event } from 'aws-lambda';
import { s3Client, sqsClient } from '../shared/aws.ts';
import { getPool } from '../shared/db.ts';
import { readStackEnv } from '../shared/env.ts';
import { createLogger } from '../shared/observability.ts';
import { processS3Event, type BatcherDeps } from './batcher.ts';

let deps: BatcherDeps | undefined;

function containerDeps(): BatcherDeps {
  if (deps) return deps;
  const env = readStackEnv(['evalQueueUrgent', 'evalQueueStandard', 'databaseUrlParam']);
  deps = {
    pool: getPool,
    s3: s3Client(),
    sqs: sqsClient(),
    queues: { urgent: env.evalQueueUrgent, standard: env.evalQueueStandard },
    logger: createLogger('batcher'),
  };
  return deps;
}

export const handler = async (event: S3Event): Promise<void> => {
  await processS3Event(event, containerDeps());
};
