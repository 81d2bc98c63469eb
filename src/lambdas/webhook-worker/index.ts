// WebhookWorkerFunction: WebhookNotificationQueue -> signed HTTPS POSTs (docs/webhooks.md).
import { getPool } from '../shared/db.ts';
import { createDeliveryHandler, type DeliveryChannel, type DeliveryDeps } from '../shared/delivery-handler.ts';
import { createLogger, createMetrics } from '../shared/observability.ts';
import { policyFromEnv } from './target.ts';
import { webhookChannel } from './worker.ts';

let deps: (DeliveryDeps & { channel: DeliveryChannel<'webhook'> }) | undefined;

export const handler = createDeliveryHandler(() => {
  if (deps) return deps;
  const logger = createLogger('webhook-worker');
  const policy = policyFromEnv();
  if (policy.allowLoopback) logger.warn('Test allowance on: http:// and loopback webhook targets are accepted', { event: 'WebhookTestAllowance' });
  deps = { pool: getPool, logger, metrics: createMetrics('webhook-worker'), channel: webhookChannel({ policy }) };
  return deps;
});
