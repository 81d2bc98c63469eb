// ArchiverFunction: EventBridge schedules with the input {"task": "archive" | "cleanup" | "digest_trigger" | "billing_sync"}.
import { s3Client } from '../shared/aws.ts';
import { getPool } from '../shared/db.ts';
import { ConfigError } from '../shared/env.ts';
import { createLogger } from '../shared/observability.ts';
import { runTask, type ArchiverDeps, type TaskResult } from './tasks.ts';

/** Overridable per deployment through the function's environment; defaults in docs/api.md. */
function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new ConfigError(`${name} must be a positive integer, got "${raw.slice(0, 32)}".`);
  return Number(raw);
}

/** Leaves 20 s of the 60 s timeout for the batch in progress. */
const BUDGET_MS = 40_000;

let deps: ArchiverDeps | undefined;

function containerDeps(): ArchiverDeps {
  const logger = createLogger('archiver');
  deps ??= {
    logger,
    archive: () => {
      const bucket = process.env.ARCHIVE_BUCKET;
      if (!bucket) throw new ConfigError('Missing environment variable ARCHIVE_BUCKET (set by the WatchPoint stack).');
      return { pool: getPool, s3: s3Client(), bucket, logger, retentionDays: positiveInt('AUDIT_RETENTION_DAYS', 30), batchSize: 5000, budgetMs: BUDGET_MS };
    },
    cleanup: () => ({ pool: getPool, logger, batchSize: 1000, budgetMs: BUDGET_MS, retentionDays: positiveInt('RECORD_RETENTION_DAYS', 30) }),
  };
  return deps;
}

export const handler = async (event: unknown): Promise<TaskResult> => runTask(event, containerDeps());
