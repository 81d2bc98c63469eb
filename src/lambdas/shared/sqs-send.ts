// SendMessageBatch for many messages: batches of 10 sent in parallel, and the entries SQS reports as
// failed are retried (with backoff) up to a limit. Anything still unsent is reported, not dropped.
import { SendMessageBatchCommand, type SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { abortableSleep } from '../../sleep.ts';

export interface BatchSendOptions {
  /** Batches in flight at once. */
  concurrency?: number;
  /** Attempts per entry, counting the first. */
  maxAttempts?: number;
  /** Base backoff between attempts (doubles each time). */
  backoffMs?: number;
}

export interface BatchSendResult {
  sent: string[];
  /** Entry ids that still failed after every attempt, with SQS's reason. */
  failed: { id: string; code: string; message: string; senderFault: boolean }[];
  /** SendMessageBatch calls made (for tests and benchmarks). */
  calls: number;
}

const SQS_BATCH_LIMIT = 10;

export async function sendMessageBatches(
  sqs: SQSClient,
  queueUrl: string,
  entries: readonly SendMessageBatchRequestEntry[],
  options: BatchSendOptions = {},
): Promise<BatchSendResult> {
  const concurrency = options.concurrency ?? 10;
  const maxAttempts = options.maxAttempts ?? 4;
  const backoffMs = options.backoffMs ?? 100;
  const result: BatchSendResult = { sent: [], failed: [], calls: 0 };
  let pending = [...entries];
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    const batches: SendMessageBatchRequestEntry[][] = [];
    for (let i = 0; i < pending.length; i += SQS_BATCH_LIMIT) batches.push(pending.slice(i, i + SQS_BATCH_LIMIT));
    const retry: SendMessageBatchRequestEntry[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        result.calls += 1;
        const response = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch }));
        for (const ok of response.Successful ?? []) if (ok.Id) result.sent.push(ok.Id);
        for (const bad of response.Failed ?? []) {
          const entry = batch.find((candidate) => candidate.Id === bad.Id);
          // A sender fault (bad entry) will fail again; only server-side failures are worth retrying.
          if (entry && !bad.SenderFault && attempt < maxAttempts) retry.push(entry);
          else result.failed.push({ id: bad.Id ?? '?', code: bad.Code ?? 'Unknown', message: bad.Message ?? '', senderFault: Boolean(bad.SenderFault) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
    pending = retry;
    if (pending.length > 0) await abortableSleep(backoffMs * 2 ** (attempt - 1));
  }
  return result;
}

/**
 * SQS refuses characters outside #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF
 * (`InvalidMessageContents`). This matches UTF-16 code units outside the BMP part of that list, so
 * it also matches both halves of an astral character: fauxqs (the dev runtime's SQS) refuses those
 * too, although SQS accepts them, and escaping them costs SQS nothing.
 */
const SQS_UNSAFE_UNIT = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/g;

/**
 * JSON text that SQS (and fauxqs) accept and that parses to the same value. JSON.stringify already
 * escapes control characters and unpaired surrogates; U+FFFE, U+FFFF and astral characters it
 * leaves as they are. Each of those can only stand inside a JSON string (the syntax is ASCII), where
 * `\uXXXX` (a surrogate pair of them for an astral character) means the same character.
 */
export function sqsSafeJson(json: string): string {
  return json.replace(SQS_UNSAFE_UNIT, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
