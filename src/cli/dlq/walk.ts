// Walking the DLQ with ReceiveMessage: the selective redrive, the export and the inspect sample.
//
// Every walk follows one rule: a message received is either deleted (only after SQS confirmed that
// its copy reached the source queue) or made visible again with ChangeMessageVisibilityBatch. If the
// process dies at any moment, whatever it held becomes visible again on its own when the visibility
// timeout of the receive ends. So nothing is lost; the only harm a crash can do is a message that
// was sent but not yet deleted, and at most `concurrency` batches of 10 are between send and delete.
//
// These functions take resolved queue URLs and an SQS client, and know nothing of CloudFormation,
// so tests and benchmarks can run them against fauxqs.
import type { Message, MessageAttributeValue, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';

type SqsModule = typeof import('@aws-sdk/client-sqs');
let sqsModule: Promise<SqsModule> | undefined;
const sdk = (): Promise<SqsModule> => (sqsModule ??= import('@aws-sdk/client-sqs'));

/**
 * SQS's in-flight quota. "For most standard queues ... a maximum of approximately 120,000 in flight
 * messages. If you reach this quota while using short polling, Amazon SQS returns the OverLimit error
 * message. If you use long polling, Amazon SQS returns no error messages."
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html)
 * A walk that holds every message it has seen therefore ends, on a large queue, with an empty
 * receive that does not mean "nothing left". Walks read the depth again before letting go and
 * report what they never received.
 */
export const IN_FLIGHT_LIMIT = 120_000;

/** True for the error ReceiveMessage returns at the in-flight quota (short polling). */
export function isOverLimit(error: unknown): boolean {
  return typeof error === 'object' && error !== null && ((error as { name?: string }).name === 'OverLimit' || (error as { Code?: string }).Code === 'OverLimit');
}

/** Parallel receive loops. Also the bound on batches between send and delete. */
export const DEFAULT_CONCURRENCY = 8;
/** SendMessageBatch: at most 10 entries, and (conservatively) 256 KiB in all. */
const BATCH_ENTRIES = 10;
const BATCH_BYTES = 256 * 1024;

export interface WalkOptions {
  sqs: SQSClient;
  dlqUrl: string;
  /** Seconds a received message stays hidden: long enough to walk the whole queue once. */
  visibilityTimeout: number;
  concurrency?: number;
  /** Long polling of each receive; an empty answer after it means the walk is over. */
  waitTimeSeconds?: number;
  /** Checked before each receive; true stops the walk cleanly (Ctrl-C). */
  shouldStop?: () => boolean;
}

/** How a walk ended when its last receive came back empty (or hit OverLimit). */
export interface WalkEnd {
  /**
   * Messages still visible in the queue when the walk ended, read while the walk still held what it
   * had received: they were never received (they arrived late, or the in-flight quota stopped the
   * receives). Approximate, as SQS's counts are; null when the depth could not be read.
   */
  notReceived: number | null;
  /** ReceiveMessage answered OverLimit: the in-flight quota was reached. */
  overLimit: boolean;
}

/** Reads the depth at the end of a walk; never throws (the walk's own result matters more). */
async function walkEnd(sqs: SQSClient, url: string, overLimit: boolean): Promise<WalkEnd> {
  try {
    return { notReceived: (await queueDepth(sqs, url)).visible, overLimit };
  } catch {
    return { notReceived: null, overLimit };
  }
}

export interface ReleaseCounts {
  /** Made visible again at once with ChangeMessageVisibilityBatch. */
  released: number;
  /** SQS refused the change; those reappear when their visibility timeout ends. */
  releaseFailed: number;
}

/**
 * A visibility timeout that lets one walk see each message once: generous for the queue's size
 * (assuming a slow 25 msg/s), at least 2 minutes, at most the SQS maximum of 12 hours.
 */
export function walkVisibilityTimeout(approximateMessages: number): number {
  return Math.min(43_200, Math.max(120, 120 + Math.ceil(approximateMessages / 25)));
}

export async function queueDepth(sqs: SQSClient, url: string): Promise<{ visible: number; inFlight: number; delayed: number }> {
  const { GetQueueAttributesCommand } = await sdk();
  const answer = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: url,
    AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
  }));
  const read = (name: 'ApproximateNumberOfMessages' | 'ApproximateNumberOfMessagesNotVisible' | 'ApproximateNumberOfMessagesDelayed') => Number(answer.Attributes?.[name] ?? 0);
  return { visible: read('ApproximateNumberOfMessages'), inFlight: read('ApproximateNumberOfMessagesNotVisible'), delayed: read('ApproximateNumberOfMessagesDelayed') };
}

async function receive(options: WalkOptions, visibilityTimeout = options.visibilityTimeout, max = 10): Promise<Message[]> {
  const { ReceiveMessageCommand } = await sdk();
  const answer = await options.sqs.send(new ReceiveMessageCommand({
    QueueUrl: options.dlqUrl,
    MaxNumberOfMessages: max,
    VisibilityTimeout: visibilityTimeout,
    WaitTimeSeconds: options.waitTimeSeconds ?? 1,
    MessageSystemAttributeNames: ['All'],
    MessageAttributeNames: ['All'],
  }));
  return (answer.Messages ?? []).filter((message) => message.MessageId && message.ReceiptHandle);
}

/**
 * The next batch of a walk, or undefined when this worker's walk ends: a stop request (Ctrl-C), the
 * in-flight quota (OverLimit), or an empty receive. The first two are recorded in `end`.
 */
async function nextBatch(options: WalkOptions, end: { interrupted: boolean; overLimit: boolean }): Promise<Message[] | undefined> {
  if (options.shouldStop?.()) {
    end.interrupted = true;
    return undefined;
  }
  try {
    const messages = await receive(options);
    return messages.length > 0 ? messages : undefined;
  } catch (error) {
    if (!isOverLimit(error)) throw error;
    end.overLimit = true;
    return undefined;
  }
}

/** Makes messages visible again at once, 10 per call, `concurrency` calls at a time. */
export async function release(sqs: SQSClient, url: string, receiptHandles: readonly string[], concurrency = DEFAULT_CONCURRENCY): Promise<ReleaseCounts> {
  const { ChangeMessageVisibilityBatchCommand } = await sdk();
  const counts: ReleaseCounts = { released: 0, releaseFailed: 0 };
  const chunks = chunk(receiptHandles, BATCH_ENTRIES);
  await pool(chunks, concurrency, async (handles) => {
    try {
      const answer = await sqs.send(new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: handles.map((ReceiptHandle, index) => ({ Id: String(index), ReceiptHandle, VisibilityTimeout: 0 })),
      }));
      counts.released += answer.Successful?.length ?? 0;
      counts.releaseFailed += answer.Failed?.length ?? 0;
    } catch {
      counts.releaseFailed += handles.length;
    }
  });
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Selective redrive

export interface RedriveFilter {
  /** Only messages whose DeadLetterQueueSourceArn is this. */
  sourceArn?: string;
  /** Only messages whose body matches. */
  match?: RegExp;
  /** Only messages first sent (SentTimestamp) more than this many ms ago. */
  olderThanMs?: number;
}

export interface SelectiveRedriveOptions extends WalkOptions {
  /** Where each source's messages go back: source queue ARN → URL, from the deployed stack. */
  destinations: ReadonlyMap<string, string>;
  filter: RedriveFilter;
  /** Move at most this many. */
  max?: number;
  /** Classify and count, send nothing, delete nothing. */
  dryRun?: boolean;
  now?: () => number;
  onProgress?: (result: RedriveResult) => void;
}

export interface RedriveResult extends ReleaseCounts, WalkEnd {
  /** Distinct messages received. */
  seen: number;
  /** Sent to the source queue and deleted from the DLQ. */
  moved: number;
  /** Left in the DLQ on purpose, by reason. */
  skipped: Record<string, number>;
  /** Left in the DLQ (send failed) or in both queues (sent, delete failed), by reason. */
  failed: Record<string, number>;
  /** Moved (or, with dryRun, would move), by source queue ARN. */
  bySource: Record<string, number>;
  /** Set when the walk stopped on an error; the counts are still true. */
  error?: unknown;
  /** True when shouldStop() ended the walk. */
  interrupted: boolean;
}

export const SKIP = {
  otherSource: 'not from --source',
  noMatch: 'body does not match --match',
  tooNew: 'newer than --older-than',
  overMax: 'beyond --max',
  noSource: 'no DeadLetterQueueSourceArn on the message',
  unknownSource: 'source queue is not in the stack',
} as const;

interface Outbound {
  message: Message;
  destinationUrl: string;
  sourceArn: string;
}

export function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

export async function selectiveRedrive(options: SelectiveRedriveOptions): Promise<RedriveResult> {
  const { SendMessageBatchCommand, DeleteMessageBatchCommand } = await sdk();
  const now = options.now ?? Date.now;
  const result: RedriveResult = { seen: 0, moved: 0, skipped: {}, failed: {}, bySource: {}, released: 0, releaseFailed: 0, interrupted: false, notReceived: null, overLimit: false };
  /** Messages we hold hidden until the walk ends: MessageId → latest receipt handle. */
  const held = new Map<string, string>();
  const sending = new Set<string>();
  let claimed = 0;
  let stop = false;
  const bump = (counts: Record<string, number>, key: string, by = 1) => (counts[key] = (counts[key] ?? 0) + by);
  const hold = (message: Message) => held.set(message.MessageId!, message.ReceiptHandle!);
  const full = () => options.max !== undefined && claimed >= options.max;

  const verdict = (message: Message): { skip: string } | { sourceArn: string; destinationUrl: string } => {
    const sourceArn = message.Attributes?.DeadLetterQueueSourceArn;
    if (options.filter.sourceArn !== undefined && sourceArn !== options.filter.sourceArn) return { skip: SKIP.otherSource };
    if (!sourceArn) return { skip: SKIP.noSource };
    const destinationUrl = options.destinations.get(sourceArn);
    if (!destinationUrl) return { skip: SKIP.unknownSource };
    if (options.filter.olderThanMs !== undefined) {
      const sent = Number(message.Attributes?.SentTimestamp);
      if (!Number.isFinite(sent) || now() - sent < options.filter.olderThanMs) return { skip: SKIP.tooNew };
    }
    if (options.filter.match && !options.filter.match.test(message.Body ?? '')) return { skip: SKIP.noMatch };
    return { sourceArn, destinationUrl };
  };

  const sendGroup = async (group: Outbound[]): Promise<void> => {
    const entries = group.map((item, index) => ({ ...toSendEntry(item.message), Id: String(index) }));
    let sentIds: Set<string>;
    try {
      const answer = await options.sqs.send(new SendMessageBatchCommand({ QueueUrl: group[0]!.destinationUrl, Entries: entries }));
      sentIds = new Set((answer.Successful ?? []).map((entry) => entry.Id!));
      for (const failure of answer.Failed ?? []) {
        bump(result.failed, `send failed: ${failure.Code ?? 'error'}${failure.Message ? ` (${failure.Message})` : ''}`);
        hold(group[Number(failure.Id)]!.message);
      }
    } catch (error) {
      for (const item of group) hold(item.message);
      bump(result.failed, `send failed: ${errorName(error)}`, group.length);
      return;
    }
    const sent = group.filter((_, index) => sentIds.has(String(index)));
    if (sent.length === 0) return;
    // Only what SQS confirmed as sent is deleted.
    try {
      const answer = await options.sqs.send(new DeleteMessageBatchCommand({
        QueueUrl: options.dlqUrl,
        Entries: sent.map((item, index) => ({ Id: String(index), ReceiptHandle: item.message.ReceiptHandle! })),
      }));
      for (const entry of answer.Successful ?? []) {
        const item = sent[Number(entry.Id)]!;
        result.moved += 1;
        bump(result.bySource, item.sourceArn);
      }
      for (const failure of answer.Failed ?? []) {
        bump(result.failed, `sent, but the DLQ delete failed (now in both queues): ${failure.Code ?? 'error'}`);
        hold(sent[Number(failure.Id)]!.message);
      }
    } catch (error) {
      for (const item of sent) hold(item.message);
      bump(result.failed, `sent, but the DLQ delete failed (now in both queues): ${errorName(error)}`, sent.length);
    }
  };

  const worker = async (): Promise<void> => {
    while (!stop && !full()) {
      const messages = await nextBatch(options, result);
      if (!messages) {
        if (result.interrupted || result.overLimit) stop = true;
        return;
      }
      const outbound: Outbound[] = [];
      for (const message of messages) {
        const id = message.MessageId!;
        // Seen before and its timeout ran out: keep the newer handle, do not count it twice.
        if (held.has(id)) {
          hold(message);
          continue;
        }
        if (sending.has(id)) continue;
        result.seen += 1;
        const decision = verdict(message);
        if ('skip' in decision) {
          bump(result.skipped, decision.skip);
          hold(message);
        } else if (full()) {
          bump(result.skipped, SKIP.overMax);
          hold(message);
        } else {
          claimed += 1;
          if (options.dryRun) {
            bump(result.bySource, decision.sourceArn);
            hold(message);
          } else {
            sending.add(id);
            outbound.push({ message, ...decision });
          }
        }
      }
      const groups = new Map<string, Outbound[]>();
      for (const item of outbound) groups.set(item.destinationUrl, [...(groups.get(item.destinationUrl) ?? []), item]);
      for (const group of groups.values()) {
        for (const batch of packBatches(group)) await sendGroup(batch);
      }
      for (const item of outbound) sending.delete(item.message.MessageId!);
      options.onProgress?.(result);
    }
  };

  const workers = Array.from({ length: options.concurrency ?? DEFAULT_CONCURRENCY }, () =>
    worker().catch((error: unknown) => {
      result.error ??= error;
      stop = true;
    }),
  );
  await Promise.all(workers);
  if (!result.interrupted && result.error === undefined && !full()) Object.assign(result, await walkEnd(options.sqs, options.dlqUrl, result.overLimit));
  const released = await release(options.sqs, options.dlqUrl, [...held.values()], options.concurrency);
  result.released = released.released;
  result.releaseFailed = released.releaseFailed;
  return result;
}

/** The body and the message attributes as they were; AWSTraceHeader too. Nothing is dropped. */
export function toSendEntry(message: Message): Omit<SendMessageBatchRequestEntry, 'Id'> {
  const attributes = message.MessageAttributes ?? {};
  const entry: Omit<SendMessageBatchRequestEntry, 'Id'> = { MessageBody: message.Body ?? '' };
  if (Object.keys(attributes).length > 0) {
    entry.MessageAttributes = Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, sendableAttribute(value)]));
  }
  const trace = message.Attributes?.AWSTraceHeader;
  if (trace) entry.MessageSystemAttributes = { AWSTraceHeader: { DataType: 'String', StringValue: trace } };
  return entry;
}

function sendableAttribute(value: MessageAttributeValue): MessageAttributeValue {
  // The list fields are reserved by SQS and come back empty; an empty list must not be sent.
  const out: MessageAttributeValue = { DataType: value.DataType };
  if (value.StringValue !== undefined) out.StringValue = value.StringValue;
  if (value.BinaryValue !== undefined) out.BinaryValue = value.BinaryValue;
  if (value.StringListValues?.length) out.StringListValues = value.StringListValues;
  if (value.BinaryListValues?.length) out.BinaryListValues = value.BinaryListValues;
  return out;
}

/** What SQS counts toward the message size: body, and each attribute's name, type and value. */
export function messageBytes(message: Message): number {
  let bytes = Buffer.byteLength(message.Body ?? '');
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '');
    bytes += value.StringValue !== undefined ? Buffer.byteLength(value.StringValue) : value.BinaryValue?.byteLength ?? 0;
  }
  return bytes;
}

/** Up to 10 entries and 256 KiB per batch; a larger single message goes alone. */
function packBatches<T extends { message: Message }>(items: T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = messageBytes(item.message);
    if (current.length > 0 && (current.length === BATCH_ENTRIES || bytes + size > BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

// ---------------------------------------------------------------------------------------------
// Export and inspect

/** One line of an export file: everything needed to put the message back by hand. */
export interface ExportRecord {
  MessageId: string;
  SourceQueueArn: string | null;
  Body: string;
  MD5OfBody?: string;
  /** As the SDK gives them; BinaryValue is base64. */
  MessageAttributes: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
  /** System attributes: SentTimestamp, ApproximateReceiveCount, ApproximateFirstReceiveTimestamp... */
  Attributes: Record<string, string>;
}

export function exportRecord(message: Message): ExportRecord {
  const attributes: ExportRecord['MessageAttributes'] = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    attributes[name] = {
      DataType: value.DataType ?? 'String',
      ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { BinaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
    };
  }
  return {
    MessageId: message.MessageId!,
    SourceQueueArn: message.Attributes?.DeadLetterQueueSourceArn ?? null,
    Body: message.Body ?? '',
    ...(message.MD5OfBody ? { MD5OfBody: message.MD5OfBody } : {}),
    MessageAttributes: attributes,
    Attributes: { ...(message.Attributes ?? {}) } as Record<string, string>,
  };
}

export interface ExportOptions extends WalkOptions {
  /** Called with each new message, once per MessageId, in receive order. */
  write: (records: ExportRecord[]) => Promise<void>;
  onProgress?: (exported: number) => void;
  /**
   * Keep every exported message hidden and return its latest receipt handle instead of making it
   * visible again: purge deletes exactly these, once the backup is on disk.
   */
  hold?: boolean;
}

export interface ExportResult extends ReleaseCounts, WalkEnd {
  exported: number;
  interrupted: boolean;
  error?: unknown;
  /** With `hold`: the latest receipt handle of each exported message (empty otherwise). */
  held: string[];
}

/** Receives every message once (deduplicated by MessageId), hands it to `write`, deletes nothing. */
export async function exportAll(options: ExportOptions): Promise<ExportResult> {
  const held = new Map<string, string>();
  const result: ExportResult = { exported: 0, released: 0, releaseFailed: 0, interrupted: false, notReceived: null, overLimit: false, held: [] };
  let stop = false;
  // Writes are chained so lines never interleave.
  let writing: Promise<void> = Promise.resolve();
  const worker = async (): Promise<void> => {
    while (!stop) {
      const messages = await nextBatch(options, result);
      if (!messages) {
        if (result.interrupted || result.overLimit) stop = true;
        return;
      }
      const fresh = messages.filter((message) => !held.has(message.MessageId!));
      for (const message of messages) held.set(message.MessageId!, message.ReceiptHandle!);
      if (fresh.length > 0) {
        const records = fresh.map(exportRecord);
        writing = writing.then(() => options.write(records));
        await writing;
        result.exported += fresh.length;
        options.onProgress?.(result.exported);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? DEFAULT_CONCURRENCY }, () =>
    worker().catch((error: unknown) => {
      result.error ??= error;
      stop = true;
    })));
  // Writes still chained behind a failed worker must settle before anyone trusts the file.
  await writing.catch(() => {});
  if (!result.interrupted && result.error === undefined) Object.assign(result, await walkEnd(options.sqs, options.dlqUrl, result.overLimit));
  if (options.hold && !result.interrupted && result.error === undefined) {
    result.held = [...held.values()];
    return result;
  }
  const released = await release(options.sqs, options.dlqUrl, [...held.values()], options.concurrency);
  result.released = released.released;
  result.releaseFailed = released.releaseFailed;
  return result;
}

export interface DeleteCounts {
  deleted: number;
  /** Not deleted (they stay in the queue), by reason. */
  failed: Record<string, number>;
}

/**
 * Deletes exactly these messages, 10 per DeleteMessageBatch, `concurrency` calls at a time. An entry
 * SQS failed on its side (SenderFault false) or a call that failed outright is retried up to 3 times;
 * what still fails stays in the queue and is counted by reason.
 */
export async function deleteMessages(sqs: SQSClient, url: string, receiptHandles: readonly string[], concurrency = DEFAULT_CONCURRENCY, attempts = 3): Promise<DeleteCounts> {
  const { DeleteMessageBatchCommand } = await sdk();
  const counts: DeleteCounts = { deleted: 0, failed: {} };
  const fail = (reason: string, n = 1) => (counts.failed[reason] = (counts.failed[reason] ?? 0) + n);
  await pool(chunk(receiptHandles, BATCH_ENTRIES), concurrency, async (handles) => {
    let pending = handles;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const last = attempt >= attempts;
      try {
        const answer = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: pending.map((ReceiptHandle, index) => ({ Id: String(index), ReceiptHandle })) }));
        counts.deleted += answer.Successful?.length ?? 0;
        const retry: string[] = [];
        for (const failure of answer.Failed ?? []) {
          if (!failure.SenderFault && !last) retry.push(pending[Number(failure.Id)]!);
          else fail(failure.Code ?? 'error');
        }
        pending = retry;
      } catch (error) {
        if (last) {
          fail(errorName(error), pending.length);
          pending = [];
        }
      }
    }
  });
  return counts;
}

/** A sample of up to `limit` distinct messages, made visible again right after. */
export async function sample(options: WalkOptions & { limit: number }): Promise<{ messages: Message[] } & ReleaseCounts> {
  const found = new Map<string, Message>();
  let failure: unknown;
  try {
    let stale = 0;
    while (found.size < options.limit && stale < 2) {
      const messages = await receive({ ...options, waitTimeSeconds: options.waitTimeSeconds ?? 0 }, options.visibilityTimeout, Math.min(10, options.limit - found.size));
      if (messages.length === 0) break;
      const fresh = messages.filter((message) => !found.has(message.MessageId!));
      for (const message of fresh) found.set(message.MessageId!, message);
      stale = fresh.length === 0 ? stale + 1 : 0;
    }
  } catch (error) {
    failure = error;
  }
  // Even when a receive failed, what was received becomes visible again now.
  const released = await release(options.sqs, options.dlqUrl, [...found.values()].map((message) => message.ReceiptHandle!), options.concurrency);
  if (failure !== undefined) throw failure;
  return { messages: [...found.values()], ...released };
}

// ---------------------------------------------------------------------------------------------

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

async function pool<T>(items: readonly T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await run(item);
    }
  }));
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : String(error);
}
