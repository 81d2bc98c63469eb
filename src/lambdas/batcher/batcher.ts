// On `<forecast_type>/<run_id>/_SUCCESS`: read the run's manifest, log ForecastReady, find the tiles
// that hold active watchpoints with one set-based query, and enqueue one eval job per such tile.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Event } from 'aws-lambda';
import type { Pool } from 'pg';
import { evalJobId, EVAL_JOB_VERSION } from '../shared/ids.ts';
import { FORECAST_TYPES, Manifest, parseMessage, RunId, type EvalJob, type ForecastType } from '../shared/messages.ts';
import { errorFields } from '../shared/observability.ts';
import { sendMessageBatches } from '../shared/sqs-send.ts';

export interface BatcherDeps {
  pool: () => Promise<Pool>;
  s3: S3Client;
  sqs: SQSClient;
  queues: { urgent: string; standard: string };
  logger: Logger;
}

export type RunOutcome =
  | { status: 'ignored'; key: string; reason: string }
  | { status: 'no_manifest' | 'bad_manifest'; key: string; reason: string }
  | { status: 'enqueued'; key: string; forecastType: ForecastType; runId: string; tiles: number; jobs: number; queries: number };

/** Which queue a forecast type's jobs go to. */
export function queueFor(forecastType: ForecastType, queues: BatcherDeps['queues']): string {
  return forecastType === 'nowcast' ? queues.urgent : queues.standard;
}

const SUCCESS_KEY = new RegExp(`^(${FORECAST_TYPES.join('|')})/([^/]+)/_SUCCESS$`);

/** `<type>/<run>/_SUCCESS` -> its parts, or why the key is not a forecast run. */
export function parseSuccessKey(key: string): { forecastType: ForecastType; runId: string } | { reason: string } {
  const match = SUCCESS_KEY.exec(key);
  if (!match) return { reason: `not <${FORECAST_TYPES.join('|')}>/<run_id>/_SUCCESS` };
  const runId = match[2]!;
  if (!RunId.safeParse(runId).success) return { reason: `run id "${runId.slice(0, 140)}" is not a valid run id` };
  return { forecastType: match[1] as ForecastType, runId };
}

/**
 * Active watchpoints per tile, for every tile at once: one query however many tiles the run has.
 * Tiles are half-open boxes ([lat_min, lat_max) x [lon_min, lon_max); lat_max = 90 includes the
 * pole), matching the eval worker's query, so each watchpoint is evaluated by exactly one tile.
 */
export const WATCHPOINTS_PER_TILE_SQL = `
SELECT t.ord::int AS tile_index, count(*)::int AS watchpoints
  FROM unnest($1::float8[], $2::float8[], $3::float8[], $4::float8[])
       WITH ORDINALITY AS t(lat_min, lat_max, lon_min, lon_max, ord)
  JOIN watchpoints w
    ON w.active
   AND w.location <@ box(point(t.lon_min, t.lat_min), point(t.lon_max, t.lat_max))
   AND (w.latitude < t.lat_max OR t.lat_max >= 90)
   AND w.longitude < t.lon_max
 GROUP BY t.ord`;

export async function processS3Event(event: S3Event, deps: BatcherDeps): Promise<RunOutcome[]> {
  const outcomes: RunOutcome[] = [];
  // Records are independent runs; one that fails transiently (database, SQS) makes the invocation
  // fail after the others are done, so Lambda's async retry redoes it (jobs are idempotent).
  const failures: unknown[] = [];
  for (const record of event.Records ?? []) {
    const bucket = record.s3?.bucket?.name;
    const key = decodeS3Key(record.s3?.object?.key ?? '');
    try {
      outcomes.push(await processRun(bucket ?? '', key, deps));
    } catch (error) {
      deps.logger.error('Forecast run failed; it will be retried', { bucket, key, ...errorFields(error) });
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} forecast run(s) failed`);
  return outcomes;
}

/** S3 event keys are URL-encoded with '+' for spaces. */
export function decodeS3Key(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

export async function processRun(bucket: string, key: string, deps: BatcherDeps): Promise<RunOutcome> {
  const { logger } = deps;
  const parsed = parseSuccessKey(key);
  if ('reason' in parsed) {
    // Not a run we know: log and drop. Throwing would only make Lambda retry the same key.
    logger.warn('Ignored object', { bucket, key, reason: parsed.reason });
    return { status: 'ignored', key, reason: parsed.reason };
  }
  const { forecastType, runId } = parsed;
  const prefix = `${forecastType}/${runId}/`;
  const run = { bucket, key, forecast_type: forecastType, run_id: runId };

  let body: string;
  try {
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}manifest.json` }));
    body = (await object.Body?.transformToString('utf-8')) ?? '';
  } catch (error) {
    if (error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound')) {
      logger.error('Forecast run has no manifest.json; nothing enqueued', { ...run, event: 'ManifestMissing' });
      return { status: 'no_manifest', key, reason: `${prefix}manifest.json does not exist` };
    }
    throw error;
  }
  let manifest: Manifest;
  try {
    manifest = parseMessage(Manifest, body, 'manifest.json');
    if (manifest.run_id !== runId || manifest.forecast_type !== forecastType) {
      throw new Error(`manifest.json is for ${manifest.forecast_type}/${manifest.run_id}, not ${forecastType}/${runId}`);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    logger.error('Forecast run has an invalid manifest.json; nothing enqueued', { ...run, event: 'ManifestInvalid', reason });
    return { status: 'bad_manifest', key, reason };
  }

  const pool = await deps.pool();
  const tiles = manifest.tiles;
  const { rows } = await pool.query<{ tile_index: number; watchpoints: number }>(WATCHPOINTS_PER_TILE_SQL, [
    tiles.map((t) => t.bounds.lat_min),
    tiles.map((t) => t.bounds.lat_max),
    tiles.map((t) => t.bounds.lon_min),
    tiles.map((t) => t.bounds.lon_max),
  ]);
  const queries = 1;

  const jobs: EvalJob[] = [];
  for (const row of rows) {
    const tile = tiles[row.tile_index - 1];
    if (!tile) continue;
    jobs.push({
      version: EVAL_JOB_VERSION,
      job_id: evalJobId(runId, forecastType, tile.id),
      forecast_type: forecastType,
      run_id: runId,
      issued_at: manifest.issued_at,
      bucket,
      tile: { id: tile.id, key: `${prefix}${tile.path}`, bounds: tile.bounds, variables: tile.variables, checksum: tile.checksum },
      watchpoints: row.watchpoints,
    });
  }

  const queueUrl = queueFor(forecastType, deps.queues);
  const result = await sendMessageBatches(
    deps.sqs,
    queueUrl,
    jobs.map((job) => ({
      // Entry ids only need to be unique within one batch; the job id is, and says which job failed.
      Id: job.job_id,
      MessageBody: JSON.stringify(job),
      MessageAttributes: { job_id: { DataType: 'String', StringValue: job.job_id } },
    })),
  );
  if (result.failed.length > 0) {
    throw new Error(`${result.failed.length} of ${jobs.length} eval job(s) could not be enqueued (first: ${result.failed[0]?.code} ${result.failed[0]?.message})`);
  }

  // The dead-man signal: exactly the shape the ForecastReady metric filter reads (docs/stack.md).
  // Logged after the jobs are enqueued, so a Batcher that cannot do its work also trips the alarm.
  logger.info('ForecastReady', {
    event: 'ForecastReady',
    forecast_type: forecastType,
    run_id: runId,
    issued_at: manifest.issued_at,
    tiles: tiles.length,
    jobs: jobs.length,
  });
  return { status: 'enqueued', key, forecastType, runId, tiles: tiles.length, jobs: jobs.length, queries };
}
