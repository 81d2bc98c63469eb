// The email channel: one SES v2 SendEmail per notification, from the configured sender, with the text
// and HTML bodies of templates.ts. SES's answer decides what happens to the record: accepted ->
// delivered; a permanent rejection (bad address, rejected content) -> failed, not retried; anything
// else (throttling, quotas, a paused account, network, 5xx) -> retried through SQS.
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { DeliveryChannel, SendResult } from '../shared/delivery-handler.ts';
import { errorFields, redactAddresses } from '../shared/observability.ts';
import { renderEmail } from './templates.ts';

/**
 * SES v2 errors that will be the same on every retry of this message. MessageRejected covers content
 * SES refuses and, in the sandbox, unverified recipients; BadRequestException an invalid address or
 * parameter. Account-level problems (MailFromDomainNotVerified, SendingPaused, AccountSuspended) are
 * NOT here: an operator fixes them, and the messages must still be deliverable then (DLQ redrive).
 */
const PERMANENT_SES_ERRORS = new Set(['MessageRejected', 'BadRequestException', 'InvalidParameterValue']);

export interface EmailChannelOptions {
  ses: SESv2Client;
  /** The verified SES identity to send from, e.g. "WatchPoint <alerts@example.com>". */
  sender: () => Promise<string>;
  /** Optional SES configuration set (bounce/complaint events). */
  configurationSet?: string;
}

export function classifySesError(error: unknown): SendResult {
  const { error_name: name = 'Error', error: text = '' } = errorFields(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  // The reason is logged: SES's text can name the recipient, which must not reach the logs.
  const reason = `SES ${name}${status ? ` (HTTP ${status})` : ''}: ${redactAddresses(text)}`.slice(0, 300);
  return PERMANENT_SES_ERRORS.has(name) ? { outcome: 'permanent', reason } : { outcome: 'retry', reason };
}

export function emailChannel(options: EmailChannelOptions): DeliveryChannel<'email'> {
  return {
    type: 'email',
    needsWebhookSecret: false,
    async send(notification, attempt): Promise<SendResult> {
      // A missing sender is a deployment problem: throwing makes the record retry, not fail for good.
      const sender = await options.sender();
      const email = renderEmail(notification);
      try {
        const response = await options.ses.send(
          new SendEmailCommand({
            FromEmailAddress: sender,
            Destination: { ToAddresses: [notification.channel.address] },
            Content: {
              Simple: {
                Subject: { Data: email.subject, Charset: 'UTF-8' },
                Body: { Text: { Data: email.text, Charset: 'UTF-8' }, Html: { Data: email.html, Charset: 'UTF-8' } },
                Headers: [{ Name: 'X-WatchPoint-Notification-Id', Value: notification.notification_id }],
              },
            },
            EmailTags: [{ Name: 'notification_id', Value: notification.notification_id }],
            ...(options.configurationSet ? { ConfigurationSetName: options.configurationSet } : {}),
          }),
        );
        return { outcome: 'delivered', detail: { ses_message_id: response.MessageId ?? '', attempt: attempt.number } };
      } catch (error) {
        return classifySesError(error);
      }
    },
  };
}
