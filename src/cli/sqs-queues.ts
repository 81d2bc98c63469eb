// What every concern reads off an SQS queue the same way: its name from its URL, and its
// RedrivePolicy (status, dlq and trace all need them).

/** The last path segment of a queue URL is the queue's name (the QueueName metric dimension). */
export function queueNameOf(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

export interface RedrivePolicy {
  deadLetterTargetArn?: string;
  /** Receives before a message moves to the DLQ; only a positive number counts. */
  maxReceiveCount?: number;
}

/** A queue's RedrivePolicy attribute (a JSON string); {} when it has none or it does not parse. */
export function parseRedrivePolicy(redrivePolicy: string | undefined): RedrivePolicy {
  if (!redrivePolicy) return {};
  let parsed: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
  try {
    parsed = JSON.parse(redrivePolicy) as typeof parsed;
  } catch {
    return {};
  }
  const count = Number(parsed?.maxReceiveCount);
  return {
    ...(typeof parsed?.deadLetterTargetArn === 'string' ? { deadLetterTargetArn: parsed.deadLetterTargetArn } : {}),
    ...(Number.isFinite(count) && count > 0 ? { maxReceiveCount: count } : {}),
  };
}

/** The DLQ ARN in a queue's RedrivePolicy attribute, or undefined when it has none. */
export function deadLetterTarget(redrivePolicy: string | undefined): string | undefined {
  return parseRedrivePolicy(redrivePolicy).deadLetterTargetArn;
}
