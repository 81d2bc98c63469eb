// Backing the DLQ up to a JSON Lines file: the walk into a temp file renamed at the end, the checks on
// the file flag, and purge-with-backup, which deletes exactly what the file holds.
import { existsSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ExitCode, WatchpointError, userError } from '../errors.ts';
import type { Io } from '../io.ts';
import { describeSource, type DeadLetterSetup } from './queues.ts';
import { deleteMessages, exportAll, IN_FLIGHT_LIMIT, release, total, walkVisibilityTimeout, type ExportRecord, type ExportResult } from './walk.ts';

/** Calls `listener` on each Ctrl-C until the returned function is called. */
export type OnInterrupt = (listener: () => void) => () => void;

export type Depth = { visible: number; inFlight: number; delayed: number };

export function hiddenNote(depth: Depth): string {
  const parts = [depth.inFlight > 0 ? `${depth.inFlight} in flight` : '', depth.delayed > 0 ? `${depth.delayed} delayed` : ''].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join(', ')}: not receivable now; try again when they become visible)` : '';
}

/**
 * Why an export that ended normally still misses messages, or undefined when it does not: the
 * in-flight quota stopped its receives, messages stayed visible but were never received, or the
 * queue held in-flight or delayed messages that no receive could return.
 */
export function incompleteExport(result: ExportResult, depth: Depth): string | undefined {
  const reasons: string[] = [];
  if (result.overLimit || (result.notReceived ?? 0) > 0) {
    reasons.push(`about ${result.notReceived ?? 'an unknown number of'} messages were still visible and never received${result.overLimit || result.exported >= IN_FLIGHT_LIMIT * 0.9 ? ` (SQS stops returning messages once about ${IN_FLIGHT_LIMIT.toLocaleString('en-US')} are in flight on a standard queue)` : ' (they arrived during the export, or SQS returned nothing for them)'}`);
  }
  if (depth.inFlight + depth.delayed > 0) reasons.push(`${depth.inFlight + depth.delayed} were in flight or delayed when it started and could not be received`);
  return reasons.length > 0 ? `${reasons.join('; ')}. It is not a complete backup` : undefined;
}

/**
 * Walks the DLQ into FILE.jsonl (written as a temp file, renamed at the end). Deletes nothing. With
 * `hold`, the exported messages stay hidden and their receipt handles come back for the caller to
 * delete (or release); on any failure or interrupt they are made visible again here.
 */
export async function exportToFile(input: { io: Io; sqs: SQSClient; setup: DeadLetterSetup; out: string; depth: Depth; hold: boolean; onInterrupt: OnInterrupt }): Promise<{ code: number; result: ExportResult; visibilityTimeout: number }> {
  const { io, sqs, setup, out } = input;
  const visibilityTimeout = walkVisibilityTimeout(input.depth.visible);
  io.notify('info', `Exporting about ${input.depth.visible} messages from ${setup.dlq.name} to ${out}.${input.hold ? '' : ' Nothing is deleted.'}`);
  io.notify('warn', `Each message is received once (this adds 1 to its ApproximateReceiveCount) and stays hidden until the export ends${input.hold ? '' : ', then all are made visible again'}. If the export is interrupted, they reappear on their own within ${visibilityTimeout} s.`);
  const temp = `${out}.partial-${process.pid}`;
  const file = await open(temp, 'wx');
  let interrupted = false;
  const stopListening = input.onInterrupt(() => (interrupted = true));
  let result: ExportResult;
  try {
    result = await exportAll({
      sqs,
      dlqUrl: setup.dlq.url,
      visibilityTimeout,
      hold: input.hold,
      shouldStop: () => interrupted,
      write: async (records: ExportRecord[]) => {
        await file.write(records.map((record) => `${JSON.stringify({ ...record, SourceQueue: record.SourceQueueArn ? describeSource(setup, record.SourceQueueArn) : null })}\n`).join(''));
      },
      onProgress: (exported) => {
        if (exported % 1000 < 10) io.notify('info', `  ${exported} exported`);
      },
    });
    if (result.error === undefined && !result.interrupted) {
      try {
        await file.sync();
      } catch (error) {
        result.error = error;
      }
    }
  } finally {
    await file.close();
    stopListening();
  }
  if (result.error === undefined && !result.interrupted) {
    try {
      await rename(temp, out);
      return { code: ExitCode.ok, result, visibilityTimeout };
    } catch (error) {
      result.error = error;
    }
  }
  await rm(temp, { force: true });
  // Held messages must not stay hidden for the whole visibility timeout when nothing will delete them.
  if (result.held.length > 0) Object.assign(result, await release(sqs, setup.dlq.url, result.held), { held: [] });
  if (result.interrupted) {
    io.notify('warn', `Interrupted after ${result.exported} messages; no file written. ${result.released} messages were made visible again now${result.releaseFailed ? `, ${result.releaseFailed} reappear within ${visibilityTimeout} s` : ''}.`);
    return { code: ExitCode.interrupted, result, visibilityTimeout };
  }
  throw new WatchpointError(`The export stopped after ${result.exported} messages; no file written. Nothing was deleted.`, {
    code: 'DLQ_EXPORT_FAILED', fault: 'system', cause: result.error,
    fix: `Run it again; messages still hidden reappear within ${visibilityTimeout} s.`,
  });
}

export function checkOutFile(flag: string, raw: string | undefined, cwd: string, force: boolean): string {
  if (!raw || raw.trim() === '') throw userError('FLAG_MISSING', `${flag} FILE is required.`, `Name the backup file, e.g. ${flag} dlq-backup.jsonl.`);
  const path = resolve(cwd, raw);
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw userError('FLAG_INVALID', `${flag}: the directory ${dir} does not exist.`, 'Create it first, or write the file somewhere else.');
  if (existsSync(path) && !force) throw userError('FILE_EXISTS', `${flag}: ${path} already exists.`, 'Choose another name, or add --force to overwrite it.');
  return path;
}

/**
 * Purge with a backup: export while holding every message, and once the file is on disk delete
 * exactly the exported messages (DeleteMessageBatch on their receipt handles), never PurgeQueue.
 * Whatever the export did not write (in flight elsewhere, delayed, arrived later, beyond the
 * in-flight quota) stays in the queue, so no message is deleted without a copy.
 */
export async function purgeExported(input: { io: Io; sqs: SQSClient; setup: DeadLetterSetup; envName: string; out: string; depth: Depth; onInterrupt: OnInterrupt }): Promise<number> {
  const { io, sqs, setup, out, depth } = input;
  if (depth.visible === 0) {
    throw new WatchpointError(`Nothing in ${setup.dlq.name} can be backed up now${hiddenNote(depth)}. No file written, nothing deleted.`, {
      code: 'DLQ_NOTHING_TO_EXPORT', fault: 'system',
      fix: 'Run the purge again when the messages are visible, or purge without --export (and without a backup).',
    });
  }
  const exported = await exportToFile({ io, sqs, setup, out, depth, hold: true, onInterrupt: input.onInterrupt });
  if (exported.code !== ExitCode.ok) {
    io.notify('warn', 'The export did not finish, so nothing was deleted.');
    return exported.code;
  }
  const { result } = exported;
  io.notify('info', `Backup written (${result.exported} messages); deleting exactly those from ${setup.dlq.name}...`);
  const deletion = await deleteMessages(sqs, setup.dlq.url, result.held);
  const notDeleted = total(deletion.failed);
  const lines = [`Deleted ${deletion.deleted} messages from ${setup.dlq.name}; each is in the backup ${out} (${result.exported} messages).`];
  for (const [reason, n] of Object.entries(deletion.failed)) lines.push(`  not deleted ${n}: ${reason} (still in the DLQ, and in the backup)`);
  const missing = incompleteExport(result, depth);
  if (missing) lines.push(`Not purged: ${missing.replace(/\. It is not a complete backup$/, '')}. Those messages were not exported and are still in the DLQ; run the purge again with a new --export file.`);
  io.result(lines.join('\n'));
  return notDeleted > 0 || missing ? ExitCode.failure : ExitCode.ok;
}
