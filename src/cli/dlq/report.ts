// What the dlq commands print: the inspect sample, a redrive's summary, and the words for an empty DLQ.
import type { Message } from '@aws-sdk/client-sqs';
import { table } from '../output.ts';
import { describeSource, type DeadLetterSetup } from './queues.ts';
import { IN_FLIGHT_LIMIT, total } from './walk.ts';

export function sampleRow(setup: DeadLetterSetup, message: Message) {
  const first = Number(message.Attributes?.ApproximateFirstReceiveTimestamp);
  const sent = Number(message.Attributes?.SentTimestamp);
  const body = (message.Body ?? '').replace(/\s+/g, ' ');
  return {
    messageId: message.MessageId!,
    source: describeSource(setup, message.Attributes?.DeadLetterQueueSourceArn),
    sourceArn: message.Attributes?.DeadLetterQueueSourceArn ?? null,
    firstReceived: Number.isFinite(first) && first > 0 ? new Date(first).toISOString() : null,
    sent: Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : null,
    receiveCount: message.Attributes?.ApproximateReceiveCount ? Number(message.Attributes.ApproximateReceiveCount) : null,
    bodyPreview: body.length > 60 ? `${body.slice(0, 59)}…` : body,
  };
}

export interface InspectResult {
  setup: DeadLetterSetup;
  approximate: number;
  inFlight: number;
  sampled: number;
  bySource: Record<string, number>;
  rows: ReturnType<typeof sampleRow>[];
}

export function inspectJson(result: InspectResult): string {
  const { setup, approximate, inFlight, sampled, bySource, rows } = result;
  return JSON.stringify({ dlq: setup.dlq.name, approximateMessages: approximate, inFlight, sampled, countsAreSample: sampled < approximate, bySource, messages: rows }, null, 2);
}

export function inspectText(result: InspectResult): string {
  const { setup, approximate, inFlight, sampled, bySource, rows } = result;
  const lines = [`DLQ ${setup.dlq.name}: about ${approximate} messages${inFlight > 0 ? ` (${inFlight} in flight)` : ''}.`];
  lines.push(sampled < approximate ? `Per source queue, in a sample of ${sampled} (not the whole queue):` : 'Per source queue:');
  const counts = Object.entries(bySource).sort((a, b) => b[1] - a[1]);
  lines.push(...table(['', ''], counts.map(([label, count]) => [label, String(count)])).slice(1));
  lines.push('', 'Sample:');
  lines.push(...table(['MESSAGE ID', 'SOURCE', 'FIRST RECEIVED', 'RECEIVES', 'BODY'], rows.map((row) => [row.messageId, row.source, row.firstReceived ?? '-', String(row.receiveCount ?? '-'), row.bodyPreview])));
  return lines.join('\n');
}

/** inspect on an empty DLQ. */
export function emptyInspect(setup: DeadLetterSetup, depth: { visible: number; inFlight: number; delayed: number }, json: boolean): string {
  const approximate = depth.visible + depth.inFlight + depth.delayed;
  const note = depth.inFlight > 0 ? ` (${depth.inFlight} in flight: someone is receiving them; try again when their visibility timeout ends)` : '';
  return json ? JSON.stringify({ dlq: setup.dlq.name, approximateMessages: approximate, sampled: 0, bySource: {}, messages: [] }, null, 2) : `The DLQ ${setup.dlq.name} is empty${note}.`;
}

/** export on an empty DLQ: the same word as inspect, redrive and purge. `hidden` says what is in flight or delayed. */
export function emptyExport(setup: DeadLetterSetup, hidden: string): string {
  return `The DLQ ${setup.dlq.name} is empty${hidden}; no file written.`;
}

/** A redrive on an empty DLQ; under --json the same keys as a redrive's summary, so scripts need one shape. */
export function emptyRedrive(setup: DeadLetterSetup, depth: { visible: number; inFlight: number; delayed?: number }, flags: { dryRun: boolean; json: boolean }): string {
  if (flags.json) {
    return JSON.stringify({ dlq: setup.dlq.name, dryRun: flags.dryRun, empty: true, moved: 0, inFlight: depth.inFlight, delayed: depth.delayed ?? 0, complete: depth.inFlight + (depth.delayed ?? 0) === 0 }, null, 2);
  }
  return `The DLQ ${setup.dlq.name} is empty${depth.inFlight > 0 ? ` (${depth.inFlight} in flight: try again when their visibility timeout ends)` : ''}; nothing to redrive.`;
}

export function selectiveReport(summary: {
  dryRun: boolean; received: number; moved: number; skipped: number; failed: number; bySource: Record<string, number>;
  skippedBecause: Record<string, number>; failedBecause: Record<string, number>; madeVisibleAgain: number; visibilityNotReset: number; interrupted: boolean;
  left: number; complete: boolean; stoppedAtInFlightLimit: boolean;
}, visibilityTimeout: number): string {
  const lines: string[] = [];
  if (summary.interrupted) lines.push('Interrupted.');
  if (summary.dryRun) {
    lines.push(`Dry run: ${total(summary.bySource)} of ${summary.received} messages would move; nothing was sent or deleted.`);
  } else {
    lines.push(`moved ${summary.moved}, skipped ${summary.skipped}, failed ${summary.failed}, left ${summary.left} (of ${summary.received} received)`);
  }
  if (!summary.interrupted && !summary.complete) {
    lines.push(`  INCOMPLETE: about ${summary.left} messages were still visible and never received${summary.stoppedAtInFlightLimit ? ` (SQS stops returning messages once about ${IN_FLIGHT_LIMIT.toLocaleString('en-US')} are in flight on a standard queue)` : ''}; run the same command again to continue.`);
  }
  for (const [label, n] of Object.entries(summary.bySource)) lines.push(`  ${summary.dryRun ? 'would move' : 'moved'} ${n} -> ${label}`);
  for (const [reason, n] of Object.entries(summary.skippedBecause)) lines.push(`  skipped ${n}: ${reason}`);
  for (const [reason, n] of Object.entries(summary.failedBecause)) lines.push(`  failed ${n}: ${reason}`);
  if (summary.visibilityNotReset > 0) lines.push(`  ${summary.visibilityNotReset} messages could not be made visible at once; they reappear within ${visibilityTimeout} s.`);
  return lines.join('\n');
}
