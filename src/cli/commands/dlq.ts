// `watchpoint dlq inspect | export | redrive | purge`: the shared dead-letter queue, without losing a
// message. Queues come from the deployed stack. See docs/dlq.md.
import { existsSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { ListMessageMoveTasksResultEntry, Message, SQSClient } from '@aws-sdk/client-sqs';
import { awsClientConfig } from '../aws.ts';
import { LOCAL_ENV_NAME, resolveStage, type CommandContext } from '../context.ts';
import { ExitCode, WatchpointError, isPromptCancel, userError } from '../errors.ts';
import { handleCtrlC } from '../interrupt.ts';
import type { Io } from '../io.ts';
import { parseDuration, parseIntegerFlag, parseMatch } from '../dlq/flags.ts';
import { describeSource, findSource, resolveDeadLetterSetup, type DeadLetterSetup } from '../dlq/queues.ts';
import { deleteMessages, exportAll, IN_FLIGHT_LIMIT, queueDepth, release, sample, selectiveRedrive, total, walkVisibilityTimeout, type ExportRecord, type ExportResult, type RedriveResult } from '../dlq/walk.ts';
import { explainAwsError } from '../stack-resources.ts';

/** Seams for tests: SDK clients, time, and Ctrl-C. */
export interface DlqDeps {
  sqs?: SQSClient;
  cloudformation?: CloudFormationClient;
  sleep?: (ms: number) => Promise<void>;
  /** Calls `listener` on each Ctrl-C until the returned function is called. Default: SIGINT. */
  onInterrupt?: (listener: () => void) => () => void;
}

const INSPECT_VISIBILITY_SECONDS = 20;

export interface InspectOptions { limit?: string; json?: boolean }
export interface ExportOptions { out?: string; force?: boolean }
export interface RedriveOptions {
  source?: string;
  match?: string;
  olderThan?: string;
  max?: string;
  maxPerSecond?: string;
  dryRun?: boolean;
  json?: boolean;
}
export interface PurgeOptions { confirmName?: string; export?: string; force?: boolean }

// ---------------------------------------------------------------------------------------------
// inspect

export async function inspectCommand(context: CommandContext, flags: InspectOptions, deps: DlqDeps = {}): Promise<number> {
  const limit = flags.limit === undefined ? 10 : parseIntegerFlag('--limit', flags.limit, 1, 100);
  const { io } = context;
  const { setup, sqs, envName } = await connect(context, deps);
  const depth = await aws(() => queueDepth(sqs, setup.dlq.url), envName);
  const approximate = depth.visible + depth.inFlight + depth.delayed;
  if (depth.visible === 0) {
    const note = depth.inFlight > 0 ? ` (${depth.inFlight} in flight: someone is receiving them; try again when their visibility timeout ends)` : '';
    if (flags.json) io.result(JSON.stringify({ dlq: setup.dlq.name, approximateMessages: approximate, sampled: 0, bySource: {}, messages: [] }, null, 2));
    else io.result(`The DLQ ${setup.dlq.name} is empty${note}.`);
    return ExitCode.ok;
  }
  io.notify('warn', `Inspecting receives up to ${limit} messages: they are hidden for a moment (at most ${INSPECT_VISIBILITY_SECONDS} s, made visible again right after) and each receive adds 1 to their ApproximateReceiveCount.`);
  const taken = await aws(() => sample({ sqs, dlqUrl: setup.dlq.url, visibilityTimeout: INSPECT_VISIBILITY_SECONDS, limit, waitTimeSeconds: 1 }), envName);
  if (taken.releaseFailed > 0) io.notify('warn', `${taken.releaseFailed} messages could not be made visible at once; they reappear within ${INSPECT_VISIBILITY_SECONDS} s.`);
  const bySource: Record<string, number> = {};
  for (const message of taken.messages) {
    const label = describeSource(setup, message.Attributes?.DeadLetterQueueSourceArn);
    bySource[label] = (bySource[label] ?? 0) + 1;
  }
  const isSample = taken.messages.length < approximate;
  const rows = taken.messages.map((message) => sampleRow(setup, message));
  if (flags.json) {
    io.result(JSON.stringify({ dlq: setup.dlq.name, approximateMessages: approximate, inFlight: depth.inFlight, sampled: taken.messages.length, countsAreSample: isSample, bySource, messages: rows }, null, 2));
    return ExitCode.ok;
  }
  const lines = [`DLQ ${setup.dlq.name}: about ${approximate} messages${depth.inFlight > 0 ? ` (${depth.inFlight} in flight)` : ''}.`];
  lines.push(isSample ? `Per source queue, in a sample of ${taken.messages.length} (not the whole queue):` : 'Per source queue:');
  const width = Math.max(...Object.keys(bySource).map((key) => key.length));
  for (const [label, count] of Object.entries(bySource).sort((a, b) => b[1] - a[1])) lines.push(`  ${label.padEnd(width)}  ${count}`);
  lines.push('', 'Sample:');
  lines.push(table(['MESSAGE ID', 'SOURCE', 'FIRST RECEIVED', 'RECEIVES', 'BODY'], rows.map((row) => [row.messageId, row.source, row.firstReceived ?? '-', String(row.receiveCount ?? '-'), row.bodyPreview])));
  io.result(lines.join('\n'));
  return ExitCode.ok;
}

function sampleRow(setup: DeadLetterSetup, message: Message) {
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

// ---------------------------------------------------------------------------------------------
// export

export async function exportCommand(context: CommandContext, flags: ExportOptions, deps: DlqDeps = {}): Promise<number> {
  const out = checkOutFile('--out', flags.out, context.cwd, Boolean(flags.force));
  const { io } = context;
  const { setup, sqs, envName } = await connect(context, deps);
  const depth = await aws(() => queueDepth(sqs, setup.dlq.url), envName);
  if (depth.visible === 0) {
    io.result(`The DLQ ${setup.dlq.name} has no visible message${hiddenNote(depth)}; no file written.`);
    return ExitCode.ok;
  }
  const exported = await exportToFile({ io, sqs, setup, out, depth, hold: false, onInterrupt: deps.onInterrupt });
  if (exported.code !== ExitCode.ok) return exported.code;
  const { result } = exported;
  if (result.releaseFailed > 0) io.notify('warn', `${result.releaseFailed} messages could not be made visible at once; they reappear within ${exported.visibilityTimeout} s.`);
  const missing = incompleteExport(result, depth);
  if (missing) {
    io.result(`PARTIAL export: wrote ${result.exported} messages from ${setup.dlq.name} to ${out}, but ${missing}. All were made visible again, none deleted.`);
    return ExitCode.failure;
  }
  io.result(`Exported ${result.exported} messages from ${setup.dlq.name} to ${out}; all were made visible again, none deleted.`);
  return ExitCode.ok;
}

type Depth = { visible: number; inFlight: number; delayed: number };

function hiddenNote(depth: Depth): string {
  const parts = [depth.inFlight > 0 ? `${depth.inFlight} in flight` : '', depth.delayed > 0 ? `${depth.delayed} delayed` : ''].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join(', ')}: not receivable now; try again when they become visible)` : '';
}

/**
 * Why an export that ended normally still misses messages, or undefined when it does not: the
 * in-flight quota stopped its receives, messages stayed visible but were never received, or the
 * queue held in-flight or delayed messages that no receive could return.
 */
function incompleteExport(result: ExportResult, depth: Depth): string | undefined {
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
async function exportToFile(input: { io: Io; sqs: SQSClient; setup: DeadLetterSetup; out: string; depth: Depth; hold: boolean; onInterrupt: DlqDeps['onInterrupt'] }): Promise<{ code: number; result: ExportResult; visibilityTimeout: number }> {
  const { io, sqs, setup, out } = input;
  const visibilityTimeout = walkVisibilityTimeout(input.depth.visible);
  io.notify('info', `Exporting about ${input.depth.visible} messages from ${setup.dlq.name} to ${out}.${input.hold ? '' : ' Nothing is deleted.'}`);
  io.notify('warn', `Each message is received once (this adds 1 to its ApproximateReceiveCount) and stays hidden until the export ends${input.hold ? '' : ', then all are made visible again'}. If the export is interrupted, they reappear on their own within ${visibilityTimeout} s.`);
  const temp = `${out}.partial-${process.pid}`;
  const file = await open(temp, 'wx');
  let interrupted = false;
  const stopListening = (input.onInterrupt ?? onSigint)(() => (interrupted = true));
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

function checkOutFile(flag: string, raw: string | undefined, cwd: string, force: boolean): string {
  if (!raw || raw.trim() === '') throw userError('FLAG_MISSING', `${flag} FILE is required.`, `Name the backup file, e.g. ${flag} dlq-backup.jsonl.`);
  const path = resolve(cwd, raw);
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw userError('FLAG_INVALID', `${flag}: the directory ${dir} does not exist.`, 'Create it first, or write the file somewhere else.');
  if (existsSync(path) && !force) throw userError('FILE_EXISTS', `${flag}: ${path} already exists.`, 'Choose another name, or add --force to overwrite it.');
  return path;
}

// ---------------------------------------------------------------------------------------------
// redrive

export async function redriveCommand(context: CommandContext, flags: RedriveOptions, deps: DlqDeps = {}): Promise<number> {
  // Every flag is checked before the first AWS call.
  const source = flags.source?.trim();
  if (source === '') throw userError('FLAG_INVALID', '--source is empty.', 'Give a source queue name, or "all".');
  const match = flags.match !== undefined ? parseMatch(flags.match) : undefined;
  const olderThanMs = flags.olderThan !== undefined ? parseDuration('--older-than', flags.olderThan) : undefined;
  const max = flags.max !== undefined ? parseIntegerFlag('--max', flags.max, 1, 10_000_000) : undefined;
  const maxPerSecond = flags.maxPerSecond !== undefined ? parseIntegerFlag('--max-per-second', flags.maxPerSecond, 1, 500) : undefined;
  const selective = (source !== undefined && source.toLowerCase() !== 'all') || match !== undefined || olderThanMs !== undefined || max !== undefined;
  if (selective && maxPerSecond !== undefined) {
    throw userError('FLAG_CONFLICT', '--max-per-second applies to the native move task (a redrive of everything), not to a selective redrive.',
      'Drop --max-per-second, or drop --source/--match/--older-than/--max to move everything with the native task.');
  }
  const { io } = context;
  // A redrive always asks; without a terminal only --yes answers, so say so before any AWS call.
  if (!io.interactive && !context.options.yes && !flags.dryRun) {
    throw userError('CONFIRMATION_REQUIRED', 'A redrive moves messages and asks first, and there is no terminal to ask.', 'Re-run with --yes to confirm (see what would move with --dry-run), or run it in a terminal.');
  }
  const { setup, sqs, envName, region } = await connect(context, deps);
  if (envName === LOCAL_ENV_NAME && maxPerSecond !== undefined) {
    throw userError('FLAG_CONFLICT', '--max-per-second applies to the native SQS move task, which watchpoint dev does not have.', 'Drop --max-per-second: locally every redrive is selective.');
  }
  const sourceRef = selective && source !== undefined && source.toLowerCase() !== 'all' ? findSource(setup, source) : undefined;
  const depth = await aws(() => queueDepth(sqs, setup.dlq.url), envName);
  if (selective) {
    return selectiveCommand({ io, sqs, setup, envName, depth, flags, deps, filter: { ...(sourceRef ? { sourceArn: sourceRef.arn } : {}), ...(match ? { match } : {}), ...(olderThanMs !== undefined ? { olderThanMs } : {}) }, max });
  }
  if (envName === LOCAL_ENV_NAME) {
    // fauxqs has no StartMessageMoveTask: move every message the selective way (send to its source, then delete).
    io.notify('warn', 'The native SQS move task is not available locally (watchpoint dev): moving every message with the selective redrive instead.');
    return selectiveCommand({ io, sqs, setup, envName, depth, flags, deps, filter: {}, max });
  }
  return moveTaskCommand({ io, sqs, setup, envName, region, depth, maxPerSecond, flags, deps });
}

async function selectiveCommand(input: {
  io: Io; sqs: SQSClient; setup: DeadLetterSetup; envName: string; depth: { visible: number; inFlight: number };
  flags: RedriveOptions; deps: DlqDeps; filter: { sourceArn?: string; match?: RegExp; olderThanMs?: number }; max: number | undefined;
}): Promise<number> {
  const { io, sqs, setup, depth, flags } = input;
  if (depth.visible === 0) {
    if (flags.json) io.result(JSON.stringify(emptySummary(setup, depth, Boolean(flags.dryRun)), null, 2));
    else io.result(`The DLQ ${setup.dlq.name} is empty${depth.inFlight > 0 ? ` (${depth.inFlight} in flight: try again when their visibility timeout ends)` : ''}; nothing to redrive.`);
    return ExitCode.ok;
  }
  const visibilityTimeout = walkVisibilityTimeout(depth.visible);
  io.notify('info', `Selective redrive from ${setup.dlq.name} (about ${depth.visible} messages): ${describeFilter(setup, input.filter, input.max)}.`);
  io.notify('warn', `Every visible message is received once (ApproximateReceiveCount + 1). Matching ones are sent to their source queue and then deleted from the DLQ; the others stay hidden until the walk ends and are then made visible again together. If this is interrupted, hidden messages reappear on their own within ${visibilityTimeout} s.`);
  if (!flags.dryRun) {
    const go = await io.ask({ kind: 'confirm', message: `Move the matching messages from ${setup.dlq.name} back to their source queues?`, default: false, dangerous: true });
    if (!go) {
      io.notify('info', 'Nothing moved.');
      return ExitCode.ok;
    }
  }
  let interrupted = false;
  const stopListening = (input.deps.onInterrupt ?? onSigint)(() => {
    if (!interrupted) io.notify('warn', 'Stopping: finishing the batches in flight, then making the rest visible again...');
    interrupted = true;
  });
  let lastReport = 0;
  let result: RedriveResult;
  try {
    result = await selectiveRedrive({
      sqs,
      dlqUrl: setup.dlq.url,
      destinations: new Map(setup.sources.map((queue) => [queue.arn, queue.url])),
      filter: input.filter,
      ...(input.max !== undefined ? { max: input.max } : {}),
      visibilityTimeout,
      dryRun: Boolean(flags.dryRun),
      shouldStop: () => interrupted,
      onProgress: (progress) => {
        if (progress.seen - lastReport >= 1000) {
          lastReport = progress.seen;
          io.notify('info', `  ${progress.seen} received, ${progress.moved} moved`);
        }
      },
    });
  } finally {
    stopListening();
  }
  const summary = {
    dlq: setup.dlq.name,
    dryRun: Boolean(flags.dryRun),
    received: result.seen,
    moved: result.moved,
    wouldMove: flags.dryRun ? total(result.bySource) : undefined,
    skipped: total(result.skipped),
    failed: total(result.failed),
    bySource: Object.fromEntries(Object.entries(result.bySource).map(([arn, n]) => [describeSource(setup, arn), n])),
    skippedBecause: result.skipped,
    failedBecause: result.failed,
    madeVisibleAgain: result.released,
    visibilityNotReset: result.releaseFailed,
    interrupted: result.interrupted,
    /** Visible when the walk ended but never received: this run did not cover them. */
    left: result.notReceived ?? 0,
    complete: !result.interrupted && !result.overLimit && (result.notReceived ?? 0) === 0,
    stoppedAtInFlightLimit: result.overLimit || ((result.notReceived ?? 0) > 0 && result.seen >= IN_FLIGHT_LIMIT * 0.9),
  };
  if (flags.json) io.result(JSON.stringify(summary, null, 2));
  else io.result(selectiveReport(summary, visibilityTimeout));
  if (result.error !== undefined) {
    throw new WatchpointError(`The selective redrive stopped on an error after moving ${result.moved} messages. Nothing was lost: every message not moved is still in the DLQ.`, {
      code: 'DLQ_REDRIVE_FAILED', fault: 'system', cause: explainAwsError(result.error, { envName: input.envName }),
      fix: 'Fix the cause and run the same command again; moved messages are gone from the DLQ, so they will not be sent twice.',
    });
  }
  if (result.interrupted) return ExitCode.interrupted;
  return total(result.failed) > 0 || !summary.complete ? ExitCode.failure : ExitCode.ok;
}

function selectiveReport(summary: {
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

function describeFilter(setup: DeadLetterSetup, filter: { sourceArn?: string; match?: RegExp; olderThanMs?: number }, max: number | undefined): string {
  const parts: string[] = [];
  if (filter.sourceArn) parts.push(`from ${describeSource(setup, filter.sourceArn)}`);
  if (filter.match) parts.push(`body matching /${filter.match.source}/`);
  if (filter.olderThanMs !== undefined) parts.push(`sent more than ${Math.round(filter.olderThanMs / 60_000)} min ago`);
  if (max !== undefined) parts.push(`at most ${max}`);
  return parts.length > 0 ? parts.join(', ') : 'every message';
}

async function moveTaskCommand(input: {
  io: Io; sqs: SQSClient; setup: DeadLetterSetup; envName: string; region: string; depth: { visible: number; inFlight: number };
  maxPerSecond: number | undefined; flags: RedriveOptions; deps: DlqDeps;
}): Promise<number> {
  const { io, sqs, setup, envName, flags } = input;
  const { ListMessageMoveTasksCommand, StartMessageMoveTaskCommand, CancelMessageMoveTaskCommand } = await import('@aws-sdk/client-sqs');
  const sleep = input.deps.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const listTasks = async () => (await aws(() => sqs.send(new ListMessageMoveTasksCommand({ SourceArn: setup.dlq.arn, MaxResults: 10 })), envName)).Results ?? [];

  const before = await listTasks();
  const running = before.find((task) => isActiveTask(task));
  if (running) {
    const cancelling = running.Status === 'CANCELLING';
    throw new WatchpointError(`A message move task is ${cancelling ? 'being cancelled (CANCELLING)' : 'already running'} on ${setup.dlq.name}: ${describeTask(running)}. SQS allows one active task per queue, and a CANCELLING one still counts.`, {
      code: 'DLQ_MOVE_TASK_RUNNING', fault: 'system',
      fix: cancelling
        ? 'Wait until it is CANCELLED (`aws sqs list-message-move-tasks --source-arn <the DLQ\'s ARN>`), then run the redrive again.'
        : `Wait for it to finish, or cancel it: aws sqs cancel-message-move-task --region ${input.region} --task-handle '${running.TaskHandle ?? '<handle>'}'`,
    });
  }
  // Tasks that existed before this run: ours is a task not among them (SQS drops the handle once a
  // task ends, so after that it is known only by its start time).
  const known = new Set(before.map((task) => task.StartedTimestamp));
  if (input.depth.visible === 0) {
    if (flags.json) io.result(JSON.stringify(emptySummary(setup, input.depth, Boolean(flags.dryRun)), null, 2));
    else io.result(`The DLQ ${setup.dlq.name} is empty${input.depth.inFlight > 0 ? ` (${input.depth.inFlight} in flight: try again when their visibility timeout ends)` : ''}; nothing to redrive.`);
    return ExitCode.ok;
  }
  const call = { SourceArn: setup.dlq.arn, ...(input.maxPerSecond !== undefined ? { MaxNumberOfMessagesPerSecond: input.maxPerSecond } : {}) };
  const sources = setup.sources.map((queue) => queue.label).join(', ');
  if (flags.dryRun) {
    const plan = {
      dryRun: true,
      call: { action: 'StartMessageMoveTask', input: call },
      approximateMessages: input.depth.visible,
      destinations: 'each message returns to the queue it came from (its DeadLetterQueueSourceArn)',
      sourceQueues: setup.sources.map((queue) => ({ label: queue.label, name: queue.name, arn: queue.arn })),
      perSourceCounts: 'not known without receiving the messages; `watchpoint dlq inspect` shows a sample',
    };
    if (flags.json) io.result(JSON.stringify(plan, null, 2));
    else {
      io.result([
        `Dry run: nothing moved. This would call:`,
        `  StartMessageMoveTask ${JSON.stringify(call)}`,
        `moving about ${input.depth.visible} messages from ${setup.dlq.name}, each back to its own source queue (one of: ${sources}).`,
        'Per-source counts are not known without receiving the messages; `watchpoint dlq inspect` shows a sample.',
      ].join('\n'));
    }
    return ExitCode.ok;
  }
  io.notify('info', `About ${input.depth.visible} messages in ${setup.dlq.name} will go back to their own source queues (${sources})${input.maxPerSecond ? ` at up to ${input.maxPerSecond} msg/s` : ' at the rate SQS chooses'}. Moved messages get new IDs; a cancel does not undo what has moved.`);
  const go = await io.ask({ kind: 'confirm', message: `Start the move task on ${setup.dlq.name}?`, default: false, dangerous: true });
  if (!go) {
    io.notify('info', 'Nothing moved.');
    return ExitCode.ok;
  }
  const started = await aws(() => sqs.send(new StartMessageMoveTaskCommand(call)), envName);
  const handle = started.TaskHandle;
  if (!handle) throw new WatchpointError('SQS started no move task (no TaskHandle in its answer).', { code: 'DLQ_MOVE_TASK_FAILED', fault: 'system' });
  io.notify('info', `Move task started (handle ${handle}).`);

  let interrupts = 0;
  let wake: (() => void) | undefined;
  const stopListening = (input.deps.onInterrupt ?? onSigint)(() => {
    interrupts += 1;
    wake?.();
  });
  let handled = 0;
  let delay = 1_000;
  let lastShown = '';
  let latest: ListMessageMoveTasksResultEntry | undefined;
  let ours: number | undefined;
  const poll = async () => {
    const picked = pickTask(await listTasks(), handle, known, ours);
    if (picked) {
      latest = picked;
      ours = picked.StartedTimestamp ?? ours;
    }
    return picked;
  };
  let unseen = 0;
  try {
    for (;;) {
      if (await poll()) unseen = 0;
      else if ((unseen += 1) >= 30) {
        // Never poll for ever after a task that SQS does not list.
        throw new WatchpointError(`SQS started move task ${handle}, but ListMessageMoveTasks has not listed it for 30 polls.`, {
          code: 'DLQ_MOVE_TASK_LOST', fault: 'system',
          fix: `Look at it yourself: aws sqs list-message-move-tasks --region ${input.region} --source-arn '${setup.dlq.arn}'. What has moved stays moved; the rest is still in ${setup.dlq.name}.`,
        });
      }
      if (latest) {
        const shown = `  moved ${latest.ApproximateNumberOfMessagesMoved ?? 0} / ${latest.ApproximateNumberOfMessagesToMove ?? '?'} (${latest.Status})`;
        if (shown !== lastShown) io.notify('info', shown);
        lastShown = shown;
        // CANCELLING is not an end: the task still moves messages until it is CANCELLED.
        if (latest.Status && !isActiveTask(latest)) break;
      }
      if (interrupts > handled) {
        handled = interrupts;
        const moved = latest?.ApproximateNumberOfMessagesMoved ?? 0;
        if (!io.interactive) {
          io.notify('warn', `Interrupted. About ${moved} messages have moved so far. The move task keeps running in SQS; to cancel it: aws sqs cancel-message-move-task --region ${input.region} --task-handle '${handle}'`);
          return ExitCode.interrupted;
        }
        let cancel: boolean;
        try {
          cancel = await io.ask({ kind: 'confirm', message: `About ${moved} messages have moved. Cancel the move task? (what has moved stays moved)`, default: false });
        } catch (error) {
          if (!isPromptCancel(error)) throw error;
          io.notify('warn', `The move task keeps running in SQS; to cancel it: aws sqs cancel-message-move-task --region ${input.region} --task-handle '${handle}'`);
          return ExitCode.interrupted;
        }
        if (cancel) {
          const cancelled = await aws(() => sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: handle })), envName);
          // The cancel is asynchronous: the task is CANCELLING, and still moving, until SQS says CANCELLED.
          let wait = 1_000;
          for (let attempt = 0; attempt < 8 && (!latest || isActiveTask(latest)); attempt += 1) {
            await sleep(wait);
            wait = Math.min(wait * 2, 10_000);
            await poll();
          }
          const movedNow = latest?.ApproximateNumberOfMessagesMoved ?? cancelled.ApproximateNumberOfMessagesMoved ?? moved;
          if (flags.json) {
            io.result(JSON.stringify({ dlq: setup.dlq.name, dryRun: false, mode: 'move-task', taskHandle: handle, status: latest?.Status ?? 'CANCELLING', cancelled: true, moved: movedNow, complete: false }, null, 2));
          } else if (latest && isActiveTask(latest)) {
            io.result(`Cancel requested; the move task is still ${latest.Status} (about ${movedNow} messages moved so far, and it may move more before it stops). What has moved stays moved; the rest stay in ${setup.dlq.name}. Check: aws sqs list-message-move-tasks --region ${input.region} --source-arn '${setup.dlq.arn}'`);
          } else {
            io.result(`Cancelled the move task (${latest?.Status ?? 'CANCELLED'}). About ${movedNow} messages had moved back to their source queues; the rest stay in ${setup.dlq.name}.`);
          }
          return ExitCode.interrupted;
        }
        io.notify('info', 'Still moving; watching the task again.');
        continue;
      }
      await Promise.race([sleep(delay), new Promise<void>((done) => (wake = done))]);
      wake = undefined;
      delay = Math.min(Math.round(delay * 1.5), 10_000);
    }
  } finally {
    stopListening();
  }
  const moved = latest?.ApproximateNumberOfMessagesMoved ?? 0;
  if (latest?.Status === 'COMPLETED') {
    if (flags.json) io.result(JSON.stringify({ dlq: setup.dlq.name, dryRun: false, mode: 'move-task', taskHandle: handle, status: 'COMPLETED', moved, complete: true }, null, 2));
    else io.result(`Moved ${moved} messages from ${setup.dlq.name} back to their source queues.`);
    return ExitCode.ok;
  }
  throw new WatchpointError(`The move task ended ${latest?.Status ?? 'UNKNOWN'} after moving about ${moved} messages${latest?.FailureReason ? `: ${latest.FailureReason}` : ''}.`, {
    code: 'DLQ_MOVE_TASK_FAILED', fault: 'system',
    fix: 'Messages not moved are still in the DLQ; fix the cause and run `watchpoint dlq redrive` again.',
  });
}

/** RUNNING and CANCELLING tasks are active: both block StartMessageMoveTask, and both still move messages. */
function isActiveTask(task: ListMessageMoveTasksResultEntry): boolean {
  return task.Status === 'RUNNING' || task.Status === 'CANCELLING';
}

/**
 * This run's task. While it is active it carries our handle; once it ends SQS drops the handle
 * ("TaskHandle ... Only present if the task is running",
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html),
 * so it is found by the start time seen with the handle, or, if it ended before the first poll, as
 * the earliest task that was not listed before the start (any later one was started after ours).
 * Never simply the newest: someone may have started another task since.
 */
function pickTask(tasks: ListMessageMoveTasksResultEntry[], handle: string, known: ReadonlySet<number | undefined>, ours: number | undefined): ListMessageMoveTasksResultEntry | undefined {
  const byHandle = tasks.find((task) => task.TaskHandle === handle);
  if (byHandle) return byHandle;
  if (ours !== undefined) return tasks.find((task) => task.StartedTimestamp === ours);
  return tasks.filter((task) => !known.has(task.StartedTimestamp)).sort((a, b) => (a.StartedTimestamp ?? 0) - (b.StartedTimestamp ?? 0))[0];
}

/** `--json` on an empty DLQ: the same keys as a redrive's summary, so scripts need one shape. */
function emptySummary(setup: DeadLetterSetup, depth: { visible: number; inFlight: number; delayed?: number }, dryRun: boolean) {
  return { dlq: setup.dlq.name, dryRun, empty: true, moved: 0, inFlight: depth.inFlight, delayed: depth.delayed ?? 0, complete: depth.inFlight + (depth.delayed ?? 0) === 0 };
}

function describeTask(task: ListMessageMoveTasksResultEntry): string {
  const started = task.StartedTimestamp ? new Date(task.StartedTimestamp).toISOString() : 'unknown time';
  return `started ${started}, moved ${task.ApproximateNumberOfMessagesMoved ?? 0} / ${task.ApproximateNumberOfMessagesToMove ?? '?'}${task.DestinationArn ? `, to ${task.DestinationArn}` : ''}${task.MaxNumberOfMessagesPerSecond ? `, ${task.MaxNumberOfMessagesPerSecond} msg/s` : ''}${task.TaskHandle ? `, handle ${task.TaskHandle}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// purge

export async function purgeCommand(context: CommandContext, flags: PurgeOptions, deps: DlqDeps = {}): Promise<number> {
  const { io, options } = context;
  let exportPath = flags.export !== undefined ? checkOutFile('--export', flags.export, context.cwd, Boolean(flags.force)) : undefined;
  if (!io.interactive && (!options.yes || flags.confirmName === undefined)) {
    throw userError('CONFIRMATION_REQUIRED', 'Purging the DLQ deletes every message in it, and there is no terminal to ask.',
      'Re-run with --yes --confirm-name <the DLQ\'s queue name> (shown by `watchpoint dlq inspect`); add --export FILE to back it up first.');
  }
  const { setup, sqs, envName } = await connect(context, deps);
  if (flags.confirmName !== undefined && flags.confirmName !== setup.dlq.name) {
    throw userError('CONFIRM_NAME_MISMATCH', `--confirm-name "${flags.confirmName}" is not the DLQ's name.`, `The DLQ of ${setup.stackName} is ${setup.dlq.name}; pass exactly that.`);
  }
  const depth = await aws(() => queueDepth(sqs, setup.dlq.url), envName);
  if (depth.visible + depth.inFlight + depth.delayed === 0) {
    io.result(`The DLQ ${setup.dlq.name} is already empty; nothing purged.`);
    return ExitCode.ok;
  }
  io.notify('warn', exportPath
    ? `Purging with --export deletes only the messages written to the backup: about ${depth.visible} visible in ${setup.dlq.name}${depth.inFlight + depth.delayed > 0 ? `; ${depth.inFlight} in flight and ${depth.delayed} delayed cannot be exported and are not deleted` : ''}. It cannot be undone.`
    : `Purging deletes all ${depth.visible + depth.inFlight + depth.delayed} messages (about) in ${setup.dlq.name}, including ${depth.inFlight} in flight, with no backup. It cannot be undone.`);
  if (io.interactive) {
    if (!exportPath) {
      const backup = await io.ask({ kind: 'confirm', message: 'Export the messages to a file first (`watchpoint dlq export`)?', default: true });
      if (backup) {
        const suggested = `dlq-${envName}-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`;
        const answer = await io.ask({
          kind: 'input', field: 'export file (--export)', message: 'Export to', default: suggested,
          validate: (value) => {
            try {
              checkOutFile('--export', value, context.cwd, Boolean(flags.force));
              return true;
            } catch (error) {
              return error instanceof Error ? error.message : String(error);
            }
          },
        });
        exportPath = checkOutFile('--export', answer, context.cwd, Boolean(flags.force));
      }
    }
    if (flags.confirmName === undefined) {
      await io.ask({
        kind: 'input', field: 'queue name (--confirm-name)', message: `Type the queue's name, ${setup.dlq.name}, to purge it`,
        validate: (value) => (value.trim() === setup.dlq.name ? true : `does not match ${setup.dlq.name}`),
      });
    }
  }
  if (exportPath) return purgeExported({ io, sqs, setup, envName, out: exportPath, depth, onInterrupt: deps.onInterrupt });
  const { PurgeQueueCommand } = await import('@aws-sdk/client-sqs');
  await aws(() => sqs.send(new PurgeQueueCommand({ QueueUrl: setup.dlq.url })), envName);
  io.result(`Purged ${setup.dlq.name}. SQS deletes the messages within 60 seconds; no backup was made.`);
  return ExitCode.ok;
}

/**
 * Purge with a backup: export while holding every message, and once the file is on disk delete
 * exactly the exported messages (DeleteMessageBatch on their receipt handles), never PurgeQueue.
 * Whatever the export did not write (in flight elsewhere, delayed, arrived later, beyond the
 * in-flight quota) stays in the queue, so no message is deleted without a copy.
 */
async function purgeExported(input: { io: Io; sqs: SQSClient; setup: DeadLetterSetup; envName: string; out: string; depth: Depth; onInterrupt: DlqDeps['onInterrupt'] }): Promise<number> {
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

// ---------------------------------------------------------------------------------------------

async function connect(context: CommandContext, deps: DlqDeps): Promise<{ setup: DeadLetterSetup; sqs: SQSClient; envName: string; region: string }> {
  const { envName, stage } = await resolveStage(context);
  const config = awsClientConfig(stage);
  const sqs = deps.sqs ?? new (await import('@aws-sdk/client-sqs')).SQSClient(config);
  const cloudformation = deps.cloudformation ?? new (await import('@aws-sdk/client-cloudformation')).CloudFormationClient(config);
  const setup = await resolveDeadLetterSetup({ cloudformation, sqs, envName });
  return { setup, sqs, envName, region: stage.region };
}

async function aws<T>(call: () => Promise<T>, envName: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explainAwsError(error, { envName });
  }
}

function onSigint(listener: () => void): () => void {
  return handleCtrlC(listener);
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [line(headers), ...rows.map(line)].map((text) => `  ${text}`).join('\n');
}
