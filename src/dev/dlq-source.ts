// SQS gives a message that its redrive policy moved to a dead-letter queue the system attribute
// DeadLetterQueueSourceArn; fauxqs moves the message (same id, receive count kept) but does not
// set it, and `watchpoint dlq` redrives each message to the queue that attribute names. So the
// gateway notes which queue each message id was sent to, and adds the attribute when a message is
// received from another queue than the one it was sent to (only a redrive moves one), if the
// receiver asked for it ("All" or by name). A message sent straight to the DLQ gets none, as in SQS.

export class DlqSourceTracker {
  /** message id -> ARN of the queue it was sent to. Bounded: the oldest ids are forgotten first. */
  private readonly origin = new Map<string, string>();
  private readonly arnOf: (queueUrl: string) => string | undefined;
  private readonly limit: number;

  constructor(arnOf: (queueUrl: string) => string | undefined, limit = 1_000_000) {
    this.arnOf = arnOf;
    this.limit = limit;
  }

  /** Whether the gateway must read this SQS JSON call's request and response. */
  static watches(target: string | undefined): boolean {
    return target === 'AmazonSQS.SendMessage' || target === 'AmazonSQS.SendMessageBatch' || target === 'AmazonSQS.ReceiveMessage';
  }

  /** The response body to return (changed only for a ReceiveMessage from a DLQ). */
  observe(target: string, requestBody: string, responseBody: string): string {
    let request: { QueueUrl?: string; AttributeNames?: string[]; MessageSystemAttributeNames?: string[] };
    let response: { MessageId?: string; Successful?: { MessageId?: string }[]; Messages?: { MessageId?: string; Attributes?: Record<string, string> }[] };
    try {
      request = JSON.parse(requestBody) as typeof request;
      response = JSON.parse(responseBody) as typeof response;
    } catch {
      return responseBody;
    }
    const arn = request.QueueUrl ? this.arnOf(request.QueueUrl) : undefined;
    if (!arn) return responseBody;
    if (target === 'AmazonSQS.SendMessage' && response.MessageId) this.remember(response.MessageId, arn);
    if (target === 'AmazonSQS.SendMessageBatch') for (const ok of response.Successful ?? []) if (ok.MessageId) this.remember(ok.MessageId, arn);
    if (target !== 'AmazonSQS.ReceiveMessage' || !response.Messages?.length) return responseBody;
    const asked = [...(request.AttributeNames ?? []), ...(request.MessageSystemAttributeNames ?? [])];
    if (!asked.includes('All') && !asked.includes('DeadLetterQueueSourceArn')) return responseBody;
    let changed = false;
    for (const message of response.Messages) {
      const source = message.MessageId ? this.origin.get(message.MessageId) : undefined;
      if (source && source !== arn) {
        message.Attributes = { ...message.Attributes, DeadLetterQueueSourceArn: source };
        changed = true;
      }
    }
    return changed ? JSON.stringify(response) : responseBody;
  }

  private remember(messageId: string, arn: string): void {
    this.origin.set(messageId, arn);
    if (this.origin.size > this.limit) this.origin.delete(this.origin.keys().next().value!);
  }
}
