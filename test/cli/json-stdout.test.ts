// With --json, stdout holds JSON and nothing else, on every path. The dlq paths that printed text
// (an empty DLQ, a native redrive that completed or was cancelled) are run here and their stdout
// parsed: here at the SDK boundary with aws-sdk-client-mock for the native move task (fauxqs has no
// StartMessageMoveTask), and in json-stdout-dlq.test.ts through the CLI against fauxqs. The JSON-only
// net under every command (JsonStdoutIo, applied by run() for --json) is checked on its own. Every
// other command's --json paths are run and parsed in json-stdout-commands.test.ts.
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CancelMessageMoveTaskCommand, GetQueueAttributesCommand, ListMessageMoveTasksCommand, SQSClient, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { redriveCommand, type DlqDeps } from '../../src/cli/commands/dlq.ts';
import type { DlqRedriveFlags } from '../../src/cli/commands/dlq.define.ts';
import { JsonStdoutIo, NonInteractiveIo, RecordingIo, isJsonOutput } from '../../src/cli/io.ts';
import { tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';

describe('the JSON-only net', () => {
  it('passes a JSON document or JSON lines to stdout and sends anything else to stderr', () => {
    const inner = new RecordingIo([], false);
    const io = new JsonStdoutIo(inner);
    io.result('{"a":1}');
    io.result('{"e":1}\n{"e":2}\n');
    io.result('Moved 2 messages from q back to their source queues.');
    expect(inner.results).toEqual(['{"a":1}', '{"e":1}\n{"e":2}\n']);
    expect(inner.stderr).toContain('Moved 2 messages');
    expect(isJsonOutput('')).toBe(false);
  });
});

describe('dlq redrive --json, native move task (SDK boundary)', () => {
  const cfn = mockClient(CloudFormationClient);
  const sqs = mockClient(SQSClient);
  const DLQ = { url: 'https://sqs.eu-west-1.amazonaws.com/123456789012/watchpoint-dev-QueuesDeadLetterQueueSharedAB12CD34-xyz', arn: 'arn:aws:sqs:eu-west-1:123456789012:watchpoint-dev-QueuesDeadLetterQueueSharedAB12CD34-xyz' };
  let dir: string;
  let depth = '2';
  beforeAll(async () => {
    dir = await tempDir();
    await writeConfig(dir, { dev: VALID_DEV });
  });
  beforeEach(() => {
    cfn.reset();
    sqs.reset();
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'watchpoint-dev', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'DeadLetterQueueUrl', OutputValue: DLQ.url }] }] });
    cfn.on(DescribeStackResourcesCommand).resolves({ StackResources: [{ LogicalResourceId: 'Dlq', PhysicalResourceId: DLQ.url, ResourceType: 'AWS::SQS::Queue', ResourceStatus: 'CREATE_COMPLETE', StackName: 'watchpoint-dev', Timestamp: new Date() }] });
    sqs.on(GetQueueAttributesCommand, { AttributeNames: ['QueueArn', 'RedrivePolicy'] }).resolves({ Attributes: { QueueArn: DLQ.arn } });
    sqs.on(GetQueueAttributesCommand, { AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] })
      .callsFake(() => ({ Attributes: { ApproximateNumberOfMessages: depth, ApproximateNumberOfMessagesNotVisible: '0', ApproximateNumberOfMessagesDelayed: '0' } }));
  });

  async function redrive(flags: DlqRedriveFlags, deps: DlqDeps = {}, answers: boolean[] = []) {
    const out: string[] = [];
    const io = answers.length > 0 ? new RecordingIo(answers, true) : new NonInteractiveIo({ stdout: { write: (s: string) => out.push(s) }, stderr: { write: () => undefined } }, true);
    const code = await redriveCommand({ io, options: { env: 'dev', yes: true }, env: {}, cwd: dir }, { json: true, ...flags }, { sleep: async () => {}, ...deps });
    return { code, stdout: io instanceof RecordingIo ? io.stdout : out.join('') };
  }

  const started = 1_700_000_000_000;
  // Bounded: a poll that never finds the task must fail the test, not spin.
  let rounds = 0;
  const sleep = async () => {
    if ((rounds += 1) > 50) throw new Error('still polling after 50 rounds');
  };

  it('an empty DLQ prints one JSON document', async () => {
    depth = '0';
    sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [] });
    expect(JSON.parse((await redrive({})).stdout)).toMatchObject({ empty: true, moved: 0 });
  });

  it('a dry run prints one JSON document', async () => {
    depth = '2';
    sqs.on(ListMessageMoveTasksCommand).resolves({ Results: [] });
    expect(JSON.parse((await redrive({ dryRun: true })).stdout)).toMatchObject({ dryRun: true });
  });

  it('a completed move task prints one JSON document', async () => {
    depth = '2';
    rounds = 0;
    sqs.on(ListMessageMoveTasksCommand)
      .resolvesOnce({ Results: [] })
      .resolvesOnce({ Results: [{ Status: 'RUNNING', TaskHandle: 'h', StartedTimestamp: started, ApproximateNumberOfMessagesMoved: 1 }] })
      .resolves({ Results: [{ Status: 'COMPLETED', StartedTimestamp: started, ApproximateNumberOfMessagesMoved: 2 }] });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h' });
    expect(JSON.parse((await redrive({}, { sleep })).stdout)).toMatchObject({ status: 'COMPLETED', moved: 2, complete: true });
  });

  it('a move task cancelled with Ctrl-C prints one JSON document', async () => {
    depth = '2';
    rounds = 0;
    let fire: () => void = () => {};
    let cancelled = false;
    let first = true;
    sqs.on(ListMessageMoveTasksCommand).callsFake(() => {
      if (first) return (first = false), { Results: [] };
      return { Results: cancelled ? [{ Status: 'CANCELLED', StartedTimestamp: started, ApproximateNumberOfMessagesMoved: 1 }] : [{ Status: 'RUNNING', TaskHandle: 'h2', StartedTimestamp: started, ApproximateNumberOfMessagesMoved: 1 }] };
    });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h2' });
    sqs.on(CancelMessageMoveTaskCommand).callsFake(() => ((cancelled = true), { ApproximateNumberOfMessagesMoved: 1 }));
    const stopped = await redrive({}, { onInterrupt: (listener) => ((fire = listener), () => {}), sleep: async () => { await sleep(); fire(); } }, [true, true]);
    expect(stopped.code).toBe(130);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ cancelled: true, status: 'CANCELLED' });
  });
});
