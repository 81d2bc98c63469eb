// The webhook channel: POST the notification as JSON to the channel's URL, signed with the
// watchpoint's secret (sign.ts), after the SSRF check (target.ts). The answer decides the record:
// 2xx -> delivered; 5xx, 408, 429, a timeout or a network error -> retried through SQS; any other
// status (other 4xx, and 3xx since redirects are not followed) or a refused URL -> failed for good.
import type { DeliveryChannel, NotificationFor, SendResult } from '../shared/delivery-handler.ts';
import { postJson, type PostResult } from './post.ts';
import { signatureHeaders } from './sign.ts';
import { resolveTarget, systemResolver, TargetRefusedError, type Resolver, type TargetPolicy } from './target.ts';

/** The 10 s: long enough for a slow receiver, short enough for 10 in a 30 s function. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
export const USER_AGENT = 'WatchPoint-Webhook/1';

export interface WebhookChannelOptions {
  policy: TargetPolicy;
  resolver?: Resolver;
  timeoutMs?: number;
  now?: () => Date;
}

/** The JSON body (docs/webhooks.md). The same bytes on every attempt, so receivers can deduplicate. */
export function webhookPayload(n: NotificationFor<'webhook'>): string {
  return JSON.stringify({
    type: 'watchpoint.triggered',
    notification_id: n.notification_id,
    watchpoint: n.watchpoint,
    forecast: n.forecast,
    trigger: n.trigger,
    created_at: n.created_at,
  });
}

export function classifyResponse(result: PostResult, timeoutMs: number): SendResult {
  if (result.kind === 'timeout') return { outcome: 'retry', reason: `no response within ${timeoutMs} ms` };
  if (result.kind === 'network') return { outcome: 'retry', reason: `network error ${result.code}` };
  const { status } = result;
  if (status >= 200 && status < 300) return { outcome: 'delivered' };
  if (status >= 500 || status === 408 || status === 429) return { outcome: 'retry', reason: `receiver answered HTTP ${status}` };
  if (status >= 300 && status < 400) return { outcome: 'permanent', reason: `receiver answered HTTP ${status}; redirects are not followed` };
  return { outcome: 'permanent', reason: `receiver answered HTTP ${status}` };
}

export function webhookChannel(options: WebhookChannelOptions): DeliveryChannel<'webhook'> {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  return {
    type: 'webhook',
    needsWebhookSecret: true,
    async send(notification, attempt): Promise<SendResult> {
      if (!attempt.webhookSecret) return { outcome: 'retry', reason: 'the watchpoint has no webhook secret' };
      let target;
      try {
        target = await resolveTarget(notification.channel.url, options.policy, options.resolver ?? systemResolver);
      } catch (error) {
        if (error instanceof TargetRefusedError) return { outcome: 'permanent', reason: error.message };
        return { outcome: 'retry', reason: (error as Error).message };
      }
      const body = webhookPayload(notification);
      const headers = {
        'Content-Type': 'application/json',
        'User-Agent': USER_AGENT,
        'WatchPoint-Notification-Id': notification.notification_id,
        'WatchPoint-Delivery-Attempt': String(attempt.number),
        ...signatureHeaders(attempt.webhookSecret, body, options.now?.() ?? new Date()),
      };
      const result = await postJson(target, body, headers, timeoutMs);
      const outcome = classifyResponse(result, timeoutMs);
      return outcome.outcome === 'delivered'
        ? { outcome: 'delivered', detail: { http_status: result.kind === 'response' ? result.status : 0, host: target.hostname } }
        : outcome;
    },
  };
}
