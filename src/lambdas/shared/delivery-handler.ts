// What the email and webhook workers share (docs/delivery.md): validate the notification, claim its
// record, count the attempt, send through the channel, and record the outcome. A delivered or
// permanently failed record makes any later copy of the message a no-op; a transient failure fails
// only that SQS record (partial batch response), so SQS retries it and, after 3 receives, parks it in
// the DLQ with its record still deliverable.
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Pool } from 'pg';
import { claimDelivery, markDelivered, markFailed, releaseForRetry } from './delivery-records.ts';
import { channelKey } from './ids.ts';
import { InvalidMessageError, NotificationMessage, parseMessage } from './messages.ts';
import { correlationIds, errorFields } from './observability.ts';

/** The metric NotificationSpikeAlarm watches: one per send attempt, with NO dimensions (docs/stack.md). */
export const DELIVERY_ATTEMPT_METRIC = 'DeliveryAttempt';

export type SendResult =
  | { outcome: 'delivered'; /** Safe-to-log facts (status code, SES message id). */ detail?: Record<string, string | number> }
  /** Will fail again whatever we do (bad address, 404): record it, do not retry. */
  | { outcome: 'permanent'; reason: string }
  /** May succeed later (throttling, 5xx, timeout): fail this SQS record so it is retried. */
  | { outcome: 'retry'; reason: string };

export type ChannelType = NotificationMessage['channel']['type'];
export type NotificationFor<T extends ChannelType> = NotificationMessage & { channel: Extract<NotificationMessage['channel'], { type: T }> };

export interface Attempt {
  /** 1 for the first attempt of this notification, counted across redeliveries. */
  number: number;
  /** The watchpoint's webhook signing secret (webhook worker only). Never log it. */
  webhookSecret?: string;
}

export interface DeliveryChannel<T extends ChannelType> {
  type: T;
  /** The webhook worker reads the watchpoint's signing secret with the claim. */
  needsWebhookSecret: boolean;
  send(message: NotificationFor<T>, attempt: Attempt): Promise<SendResult>;
}

export interface DeliveryDeps {
  pool: () => Promise<Pool>;
  logger: Logger;
  metrics?: Metrics;
}

export type DeliveryOutcome =
  | { status: 'delivered' | 'failed'; notificationId: string; attempt: number }
  | { status: 'duplicate' | 'dropped'; notificationId: string };

/** A record SQS should deliver again later. The message says why (never a body or a secret). */
export class DeliveryRetryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryRetryError';
  }
}

export async function deliverRecord<T extends ChannelType>(record: SQSRecord, channel: DeliveryChannel<T>, deps: DeliveryDeps): Promise<DeliveryOutcome> {
  const message = parseMessage(NotificationMessage, record.body, 'notification');
  if (message.channel.type !== channel.type) {
    throw new InvalidMessageError(`notification: channel.type is ${message.channel.type}, but this worker delivers ${channel.type}`);
  }
  const typed = message as NotificationFor<T>;
  const notificationId = message.notification_id;
  const log = {
    notification_id: notificationId,
    watchpoint_id: message.watchpoint.id,
    run_id: message.forecast.run_id,
    ...(message.job_id ? { job_id: message.job_id } : {}),
    message_id: record.messageId,
  };

  const pool = await deps.pool();
  const claim = await claimDelivery(
    pool,
    { notificationId, watchpointId: message.watchpoint.id, channel: channelKey(message.channel) },
    { withSecret: channel.needsWebhookSecret },
  );
  if (claim.kind === 'done') {
    deps.logger.info('Duplicate notification dropped', { ...log, event: 'DeliveryDuplicate', status: claim.status });
    return { status: 'duplicate', notificationId };
  }
  if (claim.kind === 'missing') {
    // The watchpoint was deleted (its records cascade), or the message does not match its record.
    deps.logger.warn('Notification has no record; dropped', { ...log, event: 'DeliveryDropped' });
    return { status: 'dropped', notificationId };
  }
  if (claim.kind === 'leased') throw new DeliveryRetryError('another worker is delivering this notification now');

  deps.metrics?.addMetric(DELIVERY_ATTEMPT_METRIC, MetricUnit.Count, 1);
  let result: SendResult;
  try {
    result = await channel.send(typed, { number: claim.attempts, ...(claim.webhookSecret === undefined ? {} : { webhookSecret: claim.webhookSecret }) });
  } catch (error) {
    // A bug or an unexpected failure in the channel: retry, like any transient error.
    result = { outcome: 'retry', reason: `${errorFields(error).error_name ?? 'Error'}: ${errorFields(error).error}` };
  }

  if (result.outcome === 'delivered') {
    await markDelivered(pool, notificationId);
    deps.logger.info('Notification delivered', { ...log, event: 'DeliverySucceeded', channel: channel.type, attempt: claim.attempts, ...result.detail });
    return { status: 'delivered', notificationId, attempt: claim.attempts };
  }
  if (result.outcome === 'permanent') {
    await markFailed(pool, notificationId, result.reason);
    deps.logger.warn('Notification rejected permanently; not retried', { ...log, event: 'DeliveryFailed', channel: channel.type, attempt: claim.attempts, reason: result.reason });
    return { status: 'failed', notificationId, attempt: claim.attempts };
  }
  await releaseForRetry(pool, notificationId, result.reason);
  throw new DeliveryRetryError(`attempt ${claim.attempts} failed, will retry: ${result.reason}`);
}

export interface DeliveryHandlerOptions {
  /** Send the records of a batch in parallel (default) or one after another (benchmark baseline). */
  parallel?: boolean;
}

/** The SQS handler: one record = one notification, failures reported per record (never the whole batch). */
export function createDeliveryHandler<T extends ChannelType>(
  deps: () => DeliveryDeps & { channel: DeliveryChannel<T> },
  options: DeliveryHandlerOptions = {},
): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  const processor = new BatchProcessor(EventType.SQS);
  return async (event, context) => {
    const resolved = deps();
    const handleRecord = async (record: SQSRecord): Promise<DeliveryOutcome> => {
      try {
        return await deliverRecord(record, resolved.channel, resolved);
      } catch (error) {
        // Logged with the message id only: never the body (it holds the address and the payload).
        const level = error instanceof InvalidMessageError || error instanceof DeliveryRetryError ? 'warn' : 'error';
        resolved.logger[level]('Notification not delivered; record failed for retry', {
          event: 'DeliveryRetry',
          ...correlationIds(record.body),
          message_id: record.messageId,
          receive_count: record.attributes?.ApproximateReceiveCount,
          ...errorFields(error),
        });
        throw error;
      }
    };
    try {
      return await processPartialResponse(event, handleRecord, processor, {
        ...(context ? { context } : {}),
        throwOnFullBatchFailure: false,
        processInParallel: options.parallel ?? true,
      });
    } finally {
      if (resolved.metrics?.hasStoredMetrics()) resolved.metrics.publishStoredMetrics();
    }
  };
}
