// Redrive: the selective walk (filter, send to the source, then delete) and the native SQS move-task
// state machine. The command file decides which runs; everything here acts on an open DLQ.
import type { ListMessageMoveTasksResultEntry, SQSClient } from '@aws-sdk/client-sqs';
import { ExitCode, WatchpointError, isPromptCancel } from '../errors.ts';
import type { Io } from '../io.ts';
import { explainAwsError } from '../stack-resources.ts';
import type { OnInterrupt } from './export.ts';
import { describeSource, explained, type DeadLetterSetup } from './queues.ts';
import { emptyRedrive, selectiveReport } from './report.ts';
import { IN_FLIGHT_LIMIT, selectiveRedrive, total, walkVisibilityTimeout, type RedriveResult } from './walk.ts';

export interface RedriveFilter {
  sourceArn?: string;
  match?: RegExp;
  olderThanMs?: number;
}

/** What both kinds of redrive act on. */
export interface RedriveRun {
  io: Io;
  sqs: SQSClient;
  setup: DeadLetterSetup;
  envName: string;
  depth: { visible: number; inFlight: number };
  dryRun: boolean;
  json: boolean;
  onInterrupt: OnInterrupt;
}

/**
 * Receives every visible message once; those matching `filter` go to their source queue and are then
 * deleted from the DLQ, the others are made visible again together when the walk ends.
 */
export async function runSelective(input: RedriveRun & { filter: RedriveFilter; max: number | undefined }): Promise<number> {
  const { io, sqs, setup, depth } = input;
  if (depth.visible === 0) {
    io.result(emptyRedrive(setup, depth, input));
    return ExitCode.ok;
  }
  const visibilityTimeout = walkVisibilityTimeout(depth.visible);
  io.notify('info', `Selective redrive from ${setup.dlq.name} (about ${depth.visible} messages): ${describeFilter(setup, input.filter, input.max)}.`);
  io.notify('warn', `Every visible message is received once (ApproximateReceiveCount + 1). Matching ones are sent to their source queue and then deleted from the DLQ; the others stay hidden until the walk ends and are then made visible again together. If this is interrupted, hidden messages reappear on their own within ${visibilityTimeout} s.`);
  if (!input.dryRun) {
    const go = await io.ask({ kind: 'confirm', message: `Move the matching messages from ${setup.dlq.name} back to their source queues?`, default: false, dangerous: true });
    if (!go) {
      io.notify('info', 'Nothing moved.');
      return ExitCode.ok;
    }
  }
  let interrupted = false;
  const stopListening = input.onInterrupt(() => {
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
      dryRun: input.dryRun,
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
    dryRun: input.dryRun,
    received: result.seen,
    moved: result.moved,
    wouldMove: input.dryRun ? total(result.bySource) : undefined,
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
  io.result(input.json ? JSON.stringify(summary, null, 2) : selectiveReport(summary, visibilityTimeout));
  if (result.error !== undefined) {
    throw new WatchpointError(`The selective redrive stopped on an error after moving ${result.moved} messages. Nothing was lost: every message not moved is still in the DLQ.`, {
      code: 'DLQ_REDRIVE_FAILED', fault: 'system', cause: explainAwsError(result.error, { envName: input.envName }),
      fix: 'Fix the cause and run the same command again; moved messages are gone from the DLQ, so they will not be sent twice.',
    });
  }
  if (result.interrupted) return ExitCode.interrupted;
  return total(result.failed) > 0 || !summary.complete ? ExitCode.failure : ExitCode.ok;
}

export function describeFilter(setup: DeadLetterSetup, filter: RedriveFilter, max: number | undefined): string {
  const parts: string[] = [];
  if (filter.sourceArn) parts.push(`from ${describeSource(setup, filter.sourceArn)}`);
  if (filter.match) parts.push(`body matching /${filter.match.source}/`);
  if (filter.olderThanMs !== undefined) parts.push(`sent more than ${Math.round(filter.olderThanMs / 60_000)} min ago`);
  if (max !== undefined) parts.push(`at most ${max}`);
  return parts.length > 0 ? parts.join(', ') : 'every message';
}

/**
 * The native SQS move task: refuses while another is active, starts one, follows it to its end, and
 * on Ctrl-C offers to cancel it (a cancel is asynchronous: CANCELLING still moves messages).
 */
export async function runMoveTask(input: RedriveRun & { region: string; maxPerSecond: number | undefined; sleep: (ms: number) => Promise<void> }): Promise<number> {
  const { io, sqs, setup, envName, sleep } = input;
  const { ListMessageMoveTasksCommand, StartMessageMoveTaskCommand, CancelMessageMoveTaskCommand } = await import('@aws-sdk/client-sqs');
  const listTasks = async () => (await explained(() => sqs.send(new ListMessageMoveTasksCommand({ SourceArn: setup.dlq.arn, MaxResults: 10 })), envName)).Results ?? [];

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
    io.result(emptyRedrive(setup, input.depth, input));
    return ExitCode.ok;
  }
  const call = { SourceArn: setup.dlq.arn, ...(input.maxPerSecond !== undefined ? { MaxNumberOfMessagesPerSecond: input.maxPerSecond } : {}) };
  const sources = setup.sources.map((queue) => queue.label).join(', ');
  if (input.dryRun) {
    const plan = {
      dryRun: true,
      call: { action: 'StartMessageMoveTask', input: call },
      approximateMessages: input.depth.visible,
      destinations: 'each message returns to the queue it came from (its DeadLetterQueueSourceArn)',
      sourceQueues: setup.sources.map((queue) => ({ label: queue.label, name: queue.name, arn: queue.arn })),
      perSourceCounts: 'not known without receiving the messages; `watchpoint dlq inspect` shows a sample',
    };
    if (input.json) io.result(JSON.stringify(plan, null, 2));
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
  const started = await explained(() => sqs.send(new StartMessageMoveTaskCommand(call)), envName);
  const handle = started.TaskHandle;
  if (!handle) throw new WatchpointError('SQS started no move task (no TaskHandle in its answer).', { code: 'DLQ_MOVE_TASK_FAILED', fault: 'system' });
  io.notify('info', `Move task started (handle ${handle}).`);

  let interrupts = 0;
  let wake: (() => void) | undefined;
  const stopListening = input.onInterrupt(() => {
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
          const cancelled = await explained(() => sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: handle })), envName);
          // The cancel is asynchronous: the task is CANCELLING, and still moving, until SQS says CANCELLED.
          let wait = 1_000;
          for (let attempt = 0; attempt < 8 && (!latest || isActiveTask(latest)); attempt += 1) {
            await sleep(wait);
            wait = Math.min(wait * 2, 10_000);
            await poll();
          }
          const movedNow = latest?.ApproximateNumberOfMessagesMoved ?? cancelled.ApproximateNumberOfMessagesMoved ?? moved;
          if (input.json) {
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
    if (input.json) io.result(JSON.stringify({ dlq: setup.dlq.name, dryRun: false, mode: 'move-task', taskHandle: handle, status: 'COMPLETED', moved, complete: true }, null, 2));
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

function describeTask(task: ListMessageMoveTasksResultEntry): string {
  const started = task.StartedTimestamp ? new Date(task.StartedTimestamp).toISOString() : 'unknown time';
  return `started ${started}, moved ${task.ApproximateNumberOfMessagesMoved ?? 0} / ${task.ApproximateNumberOfMessagesToMove ?? '?'}${task.DestinationArn ? `, to ${task.DestinationArn}` : ''}${task.MaxNumberOfMessagesPerSecond ? `, ${task.MaxNumberOfMessagesPerSecond} msg/s` : ''}${task.TaskHandle ? `, handle ${task.TaskHandle}` : ''}`;
}
