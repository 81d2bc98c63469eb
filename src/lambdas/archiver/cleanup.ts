// The `cleanup` task: deletes expired idempotency records, old notification records and old
// finished forecast runs, in bounded batches (each batch its own short statement, so no long lock
// and no huge transaction), until a table has nothing left to delete or the time budget is spent.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Pool } from 'pg';

export interface CleanupDeps {
  pool: () => Promise<Pool>;
  logger: Logger;
  /** Rows per DELETE statement. */
  batchSize: number;
  /** Stop starting new batches after this long. */
  budgetMs: number;
  /** notification_records and finished forecast_runs older than this are deleted. */
  retentionDays: number;
}

export interface CleanupTarget {
  table: string;
  /** Deletes at most $1 (batch size) rows; $2, when used, is the retention in days. */
  sql: string;
  usesRetention: boolean;
}

/**
 * - idempotency_records: past expires_at (24 h after the request); they no longer replay anyway.
 * - notification_records: older than the retention, whatever their status. A record only has to
 *   outlive every possible redelivery of its job, and SQS keeps a message at most 14 days.
 * - forecast_runs: complete or failed, older than the retention. Runs in flight are never deleted.
 */
export const CLEANUP_TARGETS: readonly CleanupTarget[] = [
  {
    table: 'idempotency_records',
    sql: `DELETE FROM idempotency_records WHERE (scope, idempotency_key) IN (
            SELECT scope, idempotency_key FROM idempotency_records WHERE expires_at < now() LIMIT $1)`,
    usesRetention: false,
  },
  {
    table: 'notification_records',
    sql: `DELETE FROM notification_records WHERE id IN (
            SELECT id FROM notification_records WHERE created_at < now() - make_interval(days => $2) LIMIT $1)`,
    usesRetention: true,
  },
  {
    table: 'forecast_runs',
    sql: `DELETE FROM forecast_runs WHERE id IN (
            SELECT id FROM forecast_runs WHERE status IN ('complete', 'failed') AND created_at < now() - make_interval(days => $2) LIMIT $1)`,
    usesRetention: true,
  },
];

export interface CleanupResult {
  deleted: Record<string, number>;
  batches: number;
  /** True when the budget ran out before every table was clean; the next run continues. */
  incomplete: boolean;
}

export async function cleanup(deps: CleanupDeps): Promise<CleanupResult> {
  const started = Date.now();
  const pool = await deps.pool();
  const result: CleanupResult = { deleted: {}, batches: 0, incomplete: false };
  for (const target of CLEANUP_TARGETS) {
    result.deleted[target.table] = 0;
    for (;;) {
      if (Date.now() - started >= deps.budgetMs) {
        result.incomplete = true;
        break;
      }
      const { rowCount } = await pool.query(target.sql, target.usesRetention ? [deps.batchSize, deps.retentionDays] : [deps.batchSize]);
      result.batches += 1;
      result.deleted[target.table]! += rowCount ?? 0;
      if ((rowCount ?? 0) < deps.batchSize) break;
    }
  }
  deps.logger.info('Cleanup task finished', { event: 'CleanupDone', ...result });
  return result;
}
