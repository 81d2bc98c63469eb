// EvalWorkerUrgent / EvalWorkerStandard (container image, docker/eval-worker/Dockerfile).
import { s3Client, sqsClient } from '../shared/aws.ts';
import { getPool } from '../shared/db.ts';
import { readStackEnv } from '../shared/env.ts';
import { createLogger, createMetrics } from '../shared/observability.ts';
import { createEvalWorkerHandler } from './handler.ts';
import type { EvalWorkerDeps } from './worker.ts';

let deps: EvalWorkerDeps | undefined;

function containerDeps(): EvalWorkerDeps {
  if (deps) return deps;
  const env = readStackEnv(['emailQueue', 'webhookQueue', 'deadLetterQueue', 'databaseUrlParam']);
  deps = {
    pool: getPool,
    s3: s3Client(),
    sqs: sqsClient(),
    queues: { email: env.emailQueue, webhook: env.webhookQueue, deadLetter: env.deadLetterQueue },
    logger: createLogger('eval-worker'),
    metrics: createMetrics('eval-worker'),
  };
  return deps;
}

export const handler = createEvalWorkerHandler(containerDeps);
