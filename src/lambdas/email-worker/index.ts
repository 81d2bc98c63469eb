// EmailWorkerFunction: NotificationQueue -> SES v2 (docs/delivery.md).
import { getPool } from '../shared/db.ts';
import { createDeliveryHandler, type DeliveryChannel, type DeliveryDeps } from '../shared/delivery-handler.ts';
import { createLogger, createMetrics } from '../shared/observability.ts';
import { senderFromSsm, sesClient } from './config.ts';
import { emailChannel } from './worker.ts';

let deps: (DeliveryDeps & { channel: DeliveryChannel<'email'> }) | undefined;

export const handler = createDeliveryHandler(() => {
  deps ??= {
    pool: getPool,
    logger: createLogger('email-worker'),
    metrics: createMetrics('email-worker'),
    channel: emailChannel({ ses: sesClient(), sender: senderFromSsm() }),
  };
  return deps;
});
