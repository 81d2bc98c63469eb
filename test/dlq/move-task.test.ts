// The default redrive (the native SQS message move task), against aws-sdk-client-mock: fauxqs has
// no StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask.
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CancelMessageMoveTaskCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { redriveCommand, type DlqDeps } from '../../src/cli/commands/dlq.ts';
import type { DlqRedriveFlags } from '../../src/cli/commands/dlq.define.ts';
import { NonInteractiveIo, RecordingIo, type Io } from '../../src/cli/io.ts';
import { ExitCode, formatError, isWatchpointError } from '../../src/cli/errors.ts';
import { tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';

const cfn = mockClient(CloudFormationClient);
const sqs = mockClient(SQSClient);
const URL_BASE = 'https://sqs.eu-west-1.amazonaws.com/123456789012';
const DLQ = { url: `${URL_BASE}/watchpoint-dev-QueuesDeadLetterQueueSharedAB12CD34-xyz`, arn: 'arn:aws:sqs:eu-west-1:123456789012:watchpoint-dev-QueuesDeadLetterQueueSharedAB12CD34-xyz' };
const EVAL = { url: `${URL_BASE}/watchpoint-dev-QueuesEvalQueueStandardEF56-abc`, arn: 'arn:aws:sqs:eu-west-1:123456789012:watchpoint-dev-QueuesEvalQueueStandardEF56-abc' };
let dir: string;

beforeAll(async () => {
  dir = await tempDir();
  await writeConfig(dir, { dev: VALID_DEV });
});

beforeEach(() => {
  cfn.reset();
  sqs.reset();
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'watchpoint-dev', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [
    { OutputKey: 'DeadLetterQueueUrl', OutputValue: DLQ.url }, { OutputKey: 'EvalQueueStandardUrl', OutputValue: EVAL.url },
  ] }] });
  cfn.on(DescribeStackResourcesCommand).resolves({ StackResources: [
    { LogicalResourceId: 'QueuesDeadLetterQueueSharedAB12CD34', PhysicalResourceId: DLQ.url, ResourceType: 'AWS::SQS::Queue', ResourceStatus: 'CREATE_COMPLETE', StackName: 'watchpoint-dev', Timestamp: new Date() },
    { LogicalResourceId: 'QueuesEvalQueueStandardEF56', PhysicalResourceId: EVAL.url, ResourceType: 'AWS::SQS::Queue', ResourceStatus: 'CREATE_COMPLETE', StackName: 'watchpoint-dev', Timestamp: new Date() },
  ] });
  sqs.on(GetQueueAttributesCommand, { QueueUrl: DLQ.url, AttributeNames: ['QueueArn', 'RedrivePolicy'] }).resolves({ Attributes: { QueueArn: DLQ.arn } });
  sqs.on(GetQueueAttributesCommand, { QueueUrl: EVAL.url }).resolves({ Attributes: { QueueArn: EVAL.arn, RedrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ.arn, maxReceiveCount: 3 }) } });
  sqs.on(GetQueueAttributesCommand, { QueueUrl: DLQ.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] })
    .resolves({ Attributes: { ApproximateNumberOfMessages: '120', ApproximateNumberOfMessagesNotVisible: '0', ApproximateNumberOfMessagesDelayed: '0' } });
});

afterEach(() => {
  cfn.reset();
  sqs.reset();
});

function streams() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, streams: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } } };
}

async function redrive(io: Io, flags: DlqRedriveFlags, deps: DlqDeps = {}, yes = false): Promise<number> {
  return redriveCommand({ io, options: { env: 'dev', yes }, env: {}, cwd: dir }, flags, { sleep: async () => {}, ...deps });
}

const task = (status: string, moved: number, extra: Record<string, unknown> = {}) => ({
  Status: status, SourceArn: DLQ.arn, ApproximateNumberOfMessagesMoved: moved, ApproximateNumberOfMessagesToMove: 120, StartedTimestamp: 1_700_000_000_000, ...extra,
});

it('starts a move task with no destination, polls progress to COMPLETED, and never receives a message', async () => {
  sqs.on(ListMessageMoveTasksCommand)
    .resolvesOnce({ Results: [task('COMPLETED', 5, { StartedTimestamp: 1_600_000_000_000 })] })
    .resolvesOnce({ Results: [task('RUNNING', 40, { TaskHandle: 'h-1' })] })
    .resolvesOnce({ Results: [task('RUNNING', 90, { TaskHandle: 'h-1' })] })
    .resolves({ Results: [task('COMPLETED', 120)] });
  sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h-1' });
  const s = streams();
  const code = await redrive(new NonInteractiveIo(s.streams, true), { maxPerSecond: '50' }, {}, true);
  expect(code).toBe(ExitCode.ok);
  expect(sqs).toHaveReceivedCommandExactlyOnceWith(StartMessageMoveTaskCommand, { SourceArn: DLQ.arn, MaxNumberOfMessagesPerSecond: 50 });
  expect(sqs.commandCalls(StartMessageMoveTaskCommand)[0]!.args[0].input).not.toHaveProperty('DestinationArn');
  expect(sqs).not.toHaveReceivedCommand(ReceiveMessageCommand);
  expect(s.err.join('')).toContain('moved 40 / 120 (RUNNING)');
  expect(s.err.join('')).toContain('moved 90 / 120 (RUNNING)');
  expect(s.out.join('')).toContain('Moved 120 messages');
});

it('refuses when a move task is already running on the DLQ, and shows it', async () => {
  sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [task('RUNNING', 7, { TaskHandle: 'busy-handle', MaxNumberOfMessagesPerSecond: 10 })] });
  const io = new RecordingIo([], false);
  const error = await redrive(io, {}, {}, true).catch((e: unknown) => e);
  expect(isWatchpointError(error) && error.code).toBe('DLQ_MOVE_TASK_RUNNING');
  expect(isWatchpointError(error) && error.exitCode).toBe(ExitCode.failure);
  expect(formatError(error)).toContain('moved 7 / 120');
  expect(formatError(error)).toContain("cancel-message-move-task --region eu-west-1 --task-handle 'busy-handle'");
  expect(sqs).not.toHaveReceivedCommand(StartMessageMoveTaskCommand);
});

it('--dry-run prints the exact call and moves nothing', async () => {
  sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [] });
  const io = new RecordingIo([], false);
  expect(await redrive(io, { dryRun: true, maxPerSecond: '25', json: true })).toBe(0);
  const plan = JSON.parse(io.stdout);
  expect(plan.call).toEqual({ action: 'StartMessageMoveTask', input: { SourceArn: DLQ.arn, MaxNumberOfMessagesPerSecond: 25 } });
  expect(plan.approximateMessages).toBe(120);
  expect(plan.sourceQueues).toEqual([{ label: 'EvalQueueStandard', name: 'watchpoint-dev-QueuesEvalQueueStandardEF56-abc', arn: EVAL.arn }]);
  expect(sqs).not.toHaveReceivedCommand(StartMessageMoveTaskCommand);
});

it('without a terminal or --yes it refuses to start (exit 2)', async () => {
  sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [] });
  const s = streams();
  const error = await redrive(new NonInteractiveIo(s.streams, false), {}).catch((e: unknown) => e);
  expect(isWatchpointError(error) && error.exitCode).toBe(2);
  expect(sqs).not.toHaveReceivedCommand(StartMessageMoveTaskCommand);
});

it('Ctrl-C without a terminal leaves the task running and says how to cancel it', async () => {
  let fire: () => void = () => {};
  sqs.on(ListMessageMoveTasksCommand).resolvesOnce({ Results: [] }).resolves({ Results: [task('RUNNING', 30, { TaskHandle: 'h-2' })] });
  sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h-2' });
  const s = streams();
  const code = await redrive(new NonInteractiveIo(s.streams, true), {}, {
    onInterrupt: (listener) => ((fire = listener), () => {}),
    sleep: async () => fire(),
  }, true);
  expect(code).toBe(ExitCode.interrupted);
  expect(sqs).not.toHaveReceivedCommand(CancelMessageMoveTaskCommand);
  expect(s.err.join('')).toContain('About 30 messages have moved so far. The move task keeps running');
  expect(s.err.join('')).toContain("--task-handle 'h-2'");
});

it('Ctrl-C on a terminal offers CancelMessageMoveTask, waits through CANCELLING, and reports what had moved', async () => {
  let fire: () => void = () => {};
  let cancelled = 0;
  const after = [task('CANCELLING', 61, { TaskHandle: 'h-3' }), task('CANCELLED', 63)];
  let listed = 0;
  sqs.on(ListMessageMoveTasksCommand).callsFake(() => {
    listed += 1;
    if (listed === 1) return { Results: [] };
    if (cancelled === 0) return { Results: [task('RUNNING', 60, { TaskHandle: 'h-3' })] };
    return { Results: [after[Math.min(cancelled++ - 1, 1)]!] };
  });
  sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h-3' });
  sqs.on(CancelMessageMoveTaskCommand).callsFake(() => ((cancelled = 1), { ApproximateNumberOfMessagesMoved: 61 }));
  const io = new RecordingIo([true, true]);
  const code = await redrive(io, {}, { onInterrupt: (listener) => ((fire = listener), () => {}), sleep: async () => fire() });
  expect(code).toBe(ExitCode.interrupted);
  expect(io.questions[1]).toMatchObject({ kind: 'confirm', message: expect.stringContaining('About 60 messages have moved. Cancel the move task?') });
  expect(sqs).toHaveReceivedCommandWith(CancelMessageMoveTaskCommand, { TaskHandle: 'h-3' });
  expect(io.stdout).toContain('Cancelled the move task (CANCELLED). About 63 messages had moved');
});

// Task states as ListMessageMoveTasks documents them: RUNNING, FAILED, CANCELLING, CANCELLED,
// COMPLETED; TaskHandle "only present if the task is running"
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html).
it('a CANCELLING task blocks a new one: refused like a running one', async () => {
  sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [task('CANCELLING', 7, { TaskHandle: 'old-handle' })] });
  const error = await redrive(new RecordingIo([], false), {}, {}, true).catch((e: unknown) => e);
  expect(isWatchpointError(error) && error.code).toBe('DLQ_MOVE_TASK_RUNNING');
  expect(formatError(error)).toContain('being cancelled (CANCELLING)');
  expect(sqs).not.toHaveReceivedCommand(StartMessageMoveTaskCommand);
});

it('CANCELLING (someone else cancelled it) is not reported as the end: it polls on to CANCELLED', async () => {
  sqs.on(ListMessageMoveTasksCommand)
    .resolvesOnce({ Results: [] })
    .resolvesOnce({ Results: [task('RUNNING', 10, { TaskHandle: 'h-5' })] })
    .resolvesOnce({ Results: [task('CANCELLING', 20, { TaskHandle: 'h-5' })] })
    .resolves({ Results: [task('CANCELLED', 25)] });
  sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h-5' });
  const error = await redrive(new RecordingIo([true]), {}).catch((e: unknown) => e);
  expect(formatError(error)).toContain('The move task ended CANCELLED after moving about 25 messages');
  expect(formatError(error)).not.toContain('ended CANCELLING');
});

it('picks this run\'s task by its start time, not the newest one listed', async () => {
  const ours = 1_700_000_000_000;
  sqs.on(ListMessageMoveTasksCommand)
    .resolvesOnce({ Results: [task('COMPLETED', 5, { StartedTimestamp: ours - 60_000 })] })
    .resolvesOnce({ Results: [task('RUNNING', 3, { TaskHandle: 'h-6', StartedTimestamp: ours })] })
    // Ours failed; by then someone started (and finished) another task, now the newest.
    .resolves({ Results: [task('COMPLETED', 120, { StartedTimestamp: ours + 30_000 }), task('FAILED', 3, { StartedTimestamp: ours, FailureReason: 'AWS.SimpleQueueService.NonExistentQueue' }), task('COMPLETED', 5, { StartedTimestamp: ours - 60_000 })] });
  sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h-6' });
  // Bounded: a redrive that cannot find its task would otherwise poll for ever.
  let rounds = 0;
  const sleep = async () => {
    if ((rounds += 1) > 50) throw new Error('still polling after 50 rounds: this run\'s task was not found');
  };
  const error = await redrive(new RecordingIo([true]), {}, { sleep }).catch((e: unknown) => e);
  expect(isWatchpointError(error) && error.code).toBe('DLQ_MOVE_TASK_FAILED');
  expect(formatError(error)).toContain('ended FAILED after moving about 3 messages');
});

it('a task that ended before the first poll is the earliest one not listed before the start', async () => {
  sqs.on(ListMessageMoveTasksCommand)
    .resolvesOnce({ Results: [task('COMPLETED', 5, { StartedTimestamp: 1_600_000_000_000 })] })
    .resolves({ Results: [task('COMPLETED', 9, { StartedTimestamp: 1_700_000_900_000 }), task('FAILED', 2, { StartedTimestamp: 1_700_000_000_000, FailureReason: 'x' }), task('COMPLETED', 5, { StartedTimestamp: 1_600_000_000_000 })] });
  sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h-7' });
  const error = await redrive(new RecordingIo([true]), {}).catch((e: unknown) => e);
  expect(formatError(error)).toContain('ended FAILED after moving about 2 messages');
});

it('a task that fails is reported with its reason (exit 1)', async () => {
  sqs.on(ListMessageMoveTasksCommand).resolvesOnce({ Results: [] }).resolves({ Results: [task('FAILED', 3, { FailureReason: 'AWS.SimpleQueueService.NonExistentQueue' })] });
  sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h-4' });
  const error = await redrive(new RecordingIo([true]), {}).catch((e: unknown) => e);
  expect(isWatchpointError(error) && error.exitCode).toBe(1);
  expect(formatError(error)).toContain('ended FAILED after moving about 3 messages: AWS.SimpleQueueService.NonExistentQueue');
});
