import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Lambda timeouts of the queue consumers; the visibility timeouts below derive from them. */
export const EVAL_WORKER_TIMEOUT = Duration.seconds(300);
export const NOTIFICATION_WORKER_TIMEOUT = Duration.seconds(30);

/**
 * AWS advises a visibility timeout of at least 6x the consuming function's timeout: a message still
 * being processed must not reappear and be delivered twice (a duplicate email or webhook).
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
export const MAX_RECEIVE_COUNT = 3;

export class Queues extends Construct {
  public readonly deadLetterQueue: sqs.Queue;
  public readonly evalQueueUrgent: sqs.Queue;
  public readonly evalQueueStandard: sqs.Queue;
  /** Email notifications; the spec's NotificationQueue, consumed only by EmailWorkerFunction. */
  public readonly notificationQueue: sqs.Queue;
  /** Webhook notifications, consumed only by WebhookWorkerFunction. */
  public readonly webhookNotificationQueue: sqs.Queue;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueueShared', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    const workQueue = (queueId: string, consumerTimeout: Duration): sqs.Queue =>
      new sqs.Queue(this, queueId, {
        visibilityTimeout: Duration.seconds(consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
      });

    this.evalQueueUrgent = workQueue('EvalQueueUrgent', EVAL_WORKER_TIMEOUT);
    this.evalQueueStandard = workQueue('EvalQueueStandard', EVAL_WORKER_TIMEOUT);
    this.notificationQueue = workQueue('NotificationQueue', NOTIFICATION_WORKER_TIMEOUT);
    this.webhookNotificationQueue = workQueue('WebhookNotificationQueue', NOTIFICATION_WORKER_TIMEOUT);
  }
}
