// One eval job: read and verify the tile, evaluate the active watchpoints inside it, and enqueue one
// notification per channel for each condition met, at most once per (watchpoint, run, channel).
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import type { Pool } from 'pg';
import { channelKey, notificationId } from '../shared/ids.ts';
import { Channel, EvalJob, InvalidMessageError, NotificationMessage, isSqsText, parseMessage } from '../shared/messages.ts';
import { sendMessageBatches, sqsSafeJson } from '../shared/sqs-send.ts';
import { errorFields } from '../shared/observability.ts';
import { evaluateWatchpoint, type WatchpointRow } from './evaluate.ts';
import { readTile, S3ZarrStore, ZarrChecksumError } from './tile.ts';

export interface EvalWorkerDeps {
  pool: () => Promise<Pool>;
  s3: S3Client;
  sqs: SQSClient;
  queues: { email: string; webhook: string; deadLetter: string };
  logger: Logger;
  metrics?: Metrics;
  /** Clock for created_at; tests may pin it. */
  now?: () => Date;
}

export type JobOutcome =
  | { status: 'corrupt'; jobId: string }
  | { status: 'done'; jobId: string; watchpoints: number; triggered: number; enqueued: number; alreadySent: number; skipped: number; suppressed: number };

/**
 * Active watchpoints in the tile's half-open box, with the same predicate as the Batcher's count, so a
 * watchpoint on a shared edge belongs to exactly one tile. The GiST index answers `<@ box`.
 */
export const WATCHPOINTS_IN_TILE_SQL = `
SELECT id, name, latitude, longitude, variable, condition, threshold, window_start_hours, window_end_hours, channels, paused_reason
  FROM watchpoints
 WHERE active
   AND location <@ box(point($3, $1), point($4, $2))
   AND (latitude < $2 OR $2 >= 90)
   AND longitude < $4`;

/** Claim records: the ones that already exist keep their status. */
const CLAIM_SQL = `
INSERT INTO notification_records (id, watchpoint_id, run_id, forecast_type, channel, job_id)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[])
ON CONFLICT DO NOTHING`;

const STATUS_SQL = `SELECT id::text AS id, status FROM notification_records WHERE id = ANY($1::uuid[])`;

const MARK_ENQUEUED_SQL = `
UPDATE notification_records SET status = 'enqueued', enqueued_at = now()
 WHERE id = ANY($1::uuid[]) AND status = 'pending'`;

/** SQS refused the message itself (a sender fault): a retry would fail the same way. */
const MARK_REFUSED_SQL = `
UPDATE notification_records SET status = 'failed', last_error = $2
 WHERE id = $1::uuid AND status = 'pending'`;

export async function processRecord(record: SQSRecord, deps: EvalWorkerDeps): Promise<JobOutcome> {
  const job = parseMessage(EvalJob, record.body, 'eval job');
  const runPrefix = `${job.forecast_type}/${job.run_id}/`;
  if (!job.tile.key.startsWith(runPrefix)) throw new InvalidMessageError(`eval job: tile.key must start with ${runPrefix}`);
  const log = { job_id: job.job_id, run_id: job.run_id, forecast_type: job.forecast_type, tile_id: job.tile.id };

  let tile;
  try {
    tile = await readTile(new S3ZarrStore(deps.s3, job.bucket, job.tile.key), job.tile.variables, job.tile.checksum);
  } catch (error) {
    if (!(error instanceof ZarrChecksumError)) throw error;
    await quarantine(record, job, error, deps);
    return { status: 'corrupt', jobId: job.job_id };
  }

  const pool = await deps.pool();
  const { bounds } = job.tile;
  const { rows } = await pool.query<WatchpointRow & { paused_reason: string | null }>(WATCHPOINTS_IN_TILE_SQL, [bounds.lat_min, bounds.lat_max, bounds.lon_min, bounds.lon_max]);

  const createdAt = (deps.now?.() ?? new Date()).toISOString();
  const issued = Date.parse(job.issued_at);
  const notifications: NotificationMessage[] = [];
  const keys: string[] = [];
  let triggered = 0;
  let skipped = 0;
  let suppressed = 0;
  for (const watchpoint of rows) {
    const evaluation = evaluateWatchpoint(tile, watchpoint);
    if (evaluation.status === 'skipped') {
      skipped += 1;
      deps.logger.debug('Watchpoint skipped', { ...log, watchpoint_id: watchpoint.id, reason: evaluation.reason });
      continue;
    }
    if (evaluation.status !== 'triggered') continue;
    triggered += 1;
    if (watchpoint.paused_reason !== null) {
      // Paused by the admin (an incident, or its key revoked): it would have notified; say so, send nothing.
      suppressed += 1;
      deps.logger.info('Notification suppressed: watchpoint paused', { ...log, event: 'NotificationSuppressed', watchpoint_id: watchpoint.id, paused_reason: watchpoint.paused_reason });
      continue;
    }
    const { trigger } = evaluation;
    for (const channel of validChannels(watchpoint, deps.logger)) {
      const key = channelKey(channel);
      keys.push(key);
      notifications.push({
        version: 1,
        notification_id: notificationId(watchpoint.id, job.forecast_type, job.run_id, key),
        job_id: job.job_id,
        channel,
        watchpoint: {
          id: watchpoint.id,
          name: watchpoint.name,
          latitude: watchpoint.latitude,
          longitude: watchpoint.longitude,
          variable: watchpoint.variable,
          condition: watchpoint.condition,
          threshold: watchpoint.threshold,
        },
        forecast: { forecast_type: job.forecast_type, run_id: job.run_id, issued_at: job.issued_at },
        trigger: {
          valid_time: new Date(issued + trigger.leadHours * 3_600_000).toISOString(),
          lead_hours: trigger.leadHours,
          value: trigger.value,
          extreme_value: trigger.extremeValue,
          grid_latitude: trigger.gridLatitude,
          grid_longitude: trigger.gridLongitude,
        },
        created_at: createdAt,
      });
    }
  }

  const { enqueued, alreadySent } = await enqueueOnce(notifications, keys, job, deps);
  deps.metrics?.addMetric('NotificationsEnqueued', MetricUnit.Count, enqueued);
  deps.logger.info('EvalJobDone', { ...log, event: 'EvalJobDone', watchpoints: rows.length, triggered, enqueued, already_sent: alreadySent, skipped, suppressed });
  return { status: 'done', jobId: job.job_id, watchpoints: rows.length, triggered, enqueued, alreadySent, skipped, suppressed };
}

function validChannels(watchpoint: WatchpointRow, logger: Logger): Channel[] {
  const list = Array.isArray(watchpoint.channels) ? watchpoint.channels : [];
  const channels: Channel[] = [];
  const seen = new Set<string>();
  for (const raw of list) {
    const parsed = Channel.safeParse(raw);
    if (!parsed.success) {
      logger.warn('Invalid channel skipped', { watchpoint_id: watchpoint.id, issue: parsed.error.issues[0]?.code, path: parsed.error.issues[0]?.path.join('.') });
      continue;
    }
    const key = channelKey(parsed.data);
    if (seen.has(key)) continue;
    seen.add(key);
    channels.push(parsed.data);
  }
  return channels;
}

/**
 * Exactly-once enqueue per (watchpoint, run, channel), as far as the database can make it:
 * 1. claim: INSERT the records as 'pending' (ON CONFLICT DO NOTHING);
 * 2. send every record that is still 'pending' (new, or claimed by an attempt that crashed before or
 *    after its send), then mark the sent ones 'enqueued'. Records already 'enqueued' or later are
 *    never sent again.
 * A crash between a send and its mark resends that notification once; the delivery workers
 * deduplicate on notification_id (docs/pipeline.md, "Idempotency").
 */
async function enqueueOnce(
  notifications: NotificationMessage[],
  keys: string[],
  job: EvalJob,
  deps: EvalWorkerDeps,
): Promise<{ enqueued: number; alreadySent: number }> {
  if (notifications.length === 0) return { enqueued: 0, alreadySent: 0 };
  const pool = await deps.pool();
  const ids = notifications.map((n) => n.notification_id);
  await pool.query(CLAIM_SQL, [
    ids,
    notifications.map((n) => n.watchpoint.id),
    notifications.map(() => job.run_id),
    notifications.map(() => job.forecast_type),
    keys,
    notifications.map(() => job.job_id),
  ]);
  const { rows } = await pool.query<{ id: string; status: string }>(STATUS_SQL, [ids]);
  const pending = new Set(rows.filter((row) => row.status === 'pending').map((row) => row.id));
  const toSend = notifications.filter((n) => pending.has(n.notification_id));
  const alreadySent = notifications.length - toSend.length;

  const byQueue = new Map<string, NotificationMessage[]>();
  for (const n of toSend) {
    const queue = n.channel.type === 'email' ? deps.queues.email : deps.queues.webhook;
    byQueue.set(queue, [...(byQueue.get(queue) ?? []), n]);
  }
  const sent: string[] = [];
  const failed: string[] = [];
  const refused: { notification: NotificationMessage; code: string }[] = [];
  const log = { job_id: job.job_id, run_id: job.run_id, forecast_type: job.forecast_type };
  await Promise.all(
    [...byQueue].map(async ([queueUrl, messages]) => {
      const result = await sendMessageBatches(
        deps.sqs,
        queueUrl,
        messages.map((n) => ({
          Id: n.notification_id,
          MessageBody: messageBody(n, deps.logger, log),
          MessageAttributes: {
            channel: { DataType: 'String', StringValue: n.channel.type },
            notification_id: { DataType: 'String', StringValue: n.notification_id },
          },
        })),
      );
      sent.push(...result.sent);
      for (const f of result.failed) {
        const notification = f.senderFault ? messages.find((n) => n.notification_id === f.id) : undefined;
        if (notification) refused.push({ notification, code: f.code });
        else failed.push(`${f.id} (${f.code})`);
      }
    }),
  );
  if (sent.length > 0) await pool.query(MARK_ENQUEUED_SQL, [sent]);
  // One watchpoint's bad data fails its own notification, never the job: the others stay sent, and
  // a retry of the job would only be refused again.
  for (const { notification, code } of refused) {
    await pool.query(MARK_REFUSED_SQL, [notification.notification_id, `SQS refused the message: ${code}`]);
    deps.logger.error('Notification refused by SQS', {
      ...log,
      event: 'NotificationRefused',
      watchpoint_id: notification.watchpoint.id,
      notification_id: notification.notification_id,
      channel: notification.channel.type,
      error_code: code,
    });
  }
  deps.metrics?.addMetric('NotificationsRefused', MetricUnit.Count, refused.length);
  if (failed.length > 0) {
    // The unsent records stay 'pending'; the retried job sends exactly those.
    throw new Error(`${failed.length} notification(s) could not be enqueued: ${failed.slice(0, 5).join(', ')}`);
  }
  return { enqueued: sent.length, alreadySent };
}

/**
 * The message as SQS accepts it. A watchpoint stored before the API refused such characters (or
 * written outside the API) may hold U+FFFE or U+FFFF in its name; escaped, its notification still
 * goes out, with the name unchanged, and the log names the watchpoint so the row can be fixed.
 */
function messageBody(notification: NotificationMessage, logger: Logger, log: Record<string, string>): string {
  const json = JSON.stringify(notification);
  if (!isSqsText(json)) {
    logger.warn('Notification text escaped for SQS', { ...log, event: 'NotificationEscaped', watchpoint_id: notification.watchpoint.id, notification_id: notification.notification_id });
  }
  return sqsSafeJson(json);
}

/**
 * A corrupt tile cannot be fixed by a retry: log the ZarrChecksumError event (the CorruptForecast
 * metric filter matches that text), park the job in the shared DLQ with the reason, and report the
 * record as done so the source queue does not retry it. If the DLQ send fails, the record fails and
 * is retried, so the job is never lost.
 */
async function quarantine(record: SQSRecord, job: EvalJob, error: ZarrChecksumError, deps: EvalWorkerDeps): Promise<void> {
  deps.logger.error('ZarrChecksumError', {
    event: 'ZarrChecksumError',
    kind: error.kind,
    job_id: job.job_id,
    run_id: job.run_id,
    forecast_type: job.forecast_type,
    tile_id: job.tile.id,
    bucket: job.bucket,
    key: job.tile.key,
    detail: error.message,
    ...(error.cause ? { cause: errorFields(error.cause).error } : {}),
  });
  deps.metrics?.addMetric('CorruptTiles', MetricUnit.Count, 1);
  await deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: deps.queues.deadLetter,
      MessageBody: record.body,
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: 'ZarrChecksumError' },
        detail: { DataType: 'String', StringValue: error.message.slice(0, 1024) },
        job_id: { DataType: 'String', StringValue: job.job_id },
        source_queue: { DataType: 'String', StringValue: record.eventSourceARN || 'unknown' },
      },
    }),
  );
}
