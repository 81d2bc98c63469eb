// `watchpoint drift` with CloudFormation at the SDK boundary (aws-sdk-client-mock): moto 5.2.1 has no
// drift detection. The responses have the shapes the CloudFormation API reference documents.
import {
  CloudFormationClient,
  DescribeStackDriftDetectionStatusCommand,
  DescribeStackResourceDriftsCommand,
  DetectStackDriftCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordingIo } from '../../src/cli/io.ts';
import { driftCommand } from '../../src/cli/commands/drift.ts';
import { VALID_DEV, runCli, tempDir, writeConfig } from '../helpers/cli.ts';

const cfn = mockClient(CloudFormationClient);
let cwd: string;
beforeEach(async () => {
  cwd = await tempDir();
  await writeConfig(cwd, { dev: VALID_DEV });
});
afterEach(() => cfn.reset());

const REGISTRY = 'watchpoint-dev-registry';
const PLATFORM = 'watchpoint-dev';
const checkedAt = new Date('2026-12-01T12:00:00Z');

function detection(stack: string, result: { status: 'IN_SYNC' | 'DRIFTED'; drifted?: number } | { failed: string } | 'running') {
  cfn.on(DetectStackDriftCommand, { StackName: stack }).resolves({ StackDriftDetectionId: `det-${stack}` });
  const base = { StackId: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${stack}/1`, StackDriftDetectionId: `det-${stack}`, Timestamp: checkedAt };
  const response =
    result === 'running' ? { ...base, DetectionStatus: 'DETECTION_IN_PROGRESS' as const }
    : 'failed' in result ? { ...base, DetectionStatus: 'DETECTION_FAILED' as const, StackDriftStatus: 'DRIFTED' as const, DetectionStatusReason: result.failed, DriftedStackResourceCount: 1 }
    : { ...base, DetectionStatus: 'DETECTION_COMPLETE' as const, StackDriftStatus: result.status, DriftedStackResourceCount: result.drifted ?? 0 };
  cfn.on(DescribeStackDriftDetectionStatusCommand, { StackDriftDetectionId: `det-${stack}` }).resolves(response);
}

const queueDrift = {
  StackId: 'x', LogicalResourceId: 'QueuesEvalQueueUrgent1A2B3C4D', PhysicalResourceId: 'https://sqs.eu-west-1.amazonaws.com/123456789012/eval-urgent',
  ResourceType: 'AWS::SQS::Queue', StackResourceDriftStatus: 'MODIFIED' as const, Timestamp: checkedAt,
  PropertyDifferences: [
    { PropertyPath: '/VisibilityTimeout', ExpectedValue: '5400', ActualValue: '30', DifferenceType: 'NOT_EQUAL' as const },
    { PropertyPath: '/Tags/0', ExpectedValue: '', ActualValue: '{"Key":"owner","Value":"someone"}', DifferenceType: 'ADD' as const },
  ],
};
const alarmDrift = {
  StackId: 'x', LogicalResourceId: 'AlarmsNowcastStaleAlarm99AA88BB', PhysicalResourceId: 'watchpoint-dev-NowcastStaleAlarm',
  ResourceType: 'AWS::CloudWatch::Alarm', StackResourceDriftStatus: 'DELETED' as const, Timestamp: checkedAt,
};

const drift = (...args: string[]) => runCli(['drift', ...args], { cwd });

describe('watchpoint drift', () => {
  it('IN_SYNC on both stacks: exit 0, even with --fail', async () => {
    detection(REGISTRY, { status: 'IN_SYNC' });
    detection(PLATFORM, { status: 'IN_SYNC' });
    cfn.on(DescribeStackResourceDriftsCommand).resolves({ StackResourceDrifts: [] });
    const { code, stdout } = await drift('--fail');
    expect(code).toBe(0);
    expect(stdout).toMatch(/watchpoint-dev-registry {2}IN_SYNC/);
    expect(stdout).toMatch(/watchpoint-dev {2}IN_SYNC/);
    expect(cfn.commandCalls(DetectStackDriftCommand).map((c) => c.args[0].input.StackName).sort()).toEqual([PLATFORM, REGISTRY]);
  });

  it('DRIFTED: a modified and a deleted resource, property by property, paginated; --fail exits 3', async () => {
    detection(REGISTRY, { status: 'IN_SYNC' });
    detection(PLATFORM, { status: 'DRIFTED', drifted: 2 });
    cfn.on(DescribeStackResourceDriftsCommand, { StackName: REGISTRY }).resolves({ StackResourceDrifts: [] });
    cfn.on(DescribeStackResourceDriftsCommand, { StackName: PLATFORM }).resolves({ StackResourceDrifts: [queueDrift], NextToken: 'page2' });
    cfn.on(DescribeStackResourceDriftsCommand, { StackName: PLATFORM, NextToken: 'page2' }).resolves({ StackResourceDrifts: [alarmDrift] });
    const { code, stdout } = await drift('--fail');
    expect(code).toBe(3);
    expect(stdout).toContain('watchpoint-dev  DRIFTED (2 resources)');
    expect(stdout).toContain('deleted  AlarmsNowcastStaleAlarm99AA88BB (AWS::CloudWatch::Alarm watchpoint-dev-NowcastStaleAlarm)');
    expect(stdout).toContain('modified QueuesEvalQueueUrgent1A2B3C4D (AWS::SQS::Queue');
    expect(stdout).toContain('~ /VisibilityTimeout: 5400 → 30');
    expect(stdout).toContain('+ /Tags/0:  → {"Key":"owner","Value":"someone"}');
    expect(cfn.commandCalls(DescribeStackResourceDriftsCommand)[0]!.args[0].input.StackResourceDriftStatusFilters).toEqual(['MODIFIED', 'DELETED', 'UNKNOWN']);
    // Without --fail, a drift is a result, not a failure.
    expect((await drift()).code).toBe(0);
  });

  // StackResourceDrift (CloudFormation API reference): "UNKNOWN: CloudFormation could not run drift
  // detection for the resource. See the DriftStatusReason for details."
  it('UNKNOWN resources: asked for, shown as "could not check" with the reason; --fail does not count them as drift but says they exist', async () => {
    detection(REGISTRY, { status: 'IN_SYNC' });
    detection(PLATFORM, { status: 'IN_SYNC' });
    cfn.on(DescribeStackResourceDriftsCommand).resolves({ StackResourceDrifts: [] });
    cfn.on(DescribeStackResourceDriftsCommand, { StackName: PLATFORM }).resolves({
      StackResourceDrifts: [{
        StackId: 'x', LogicalResourceId: 'QueuesDeadLetterQueue1A2B3C4D', PhysicalResourceId: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
        ResourceType: 'AWS::SQS::Queue', StackResourceDriftStatus: 'UNKNOWN', Timestamp: checkedAt,
        DriftStatusReason: 'Access denied for operation sqs:GetQueueAttributes',
      }],
    });
    const { code, stdout, stderr } = await drift('--fail');
    expect(code).toBe(0);
    expect(cfn.commandCalls(DescribeStackResourceDriftsCommand)[0]!.args[0].input.StackResourceDriftStatusFilters).toEqual(['MODIFIED', 'DELETED', 'UNKNOWN']);
    expect(stdout).toMatch(/watchpoint-dev {2}IN_SYNC/);
    expect(stdout).toContain('could not check QueuesDeadLetterQueue1A2B3C4D (AWS::SQS::Queue https://sqs.eu-west-1.amazonaws.com/123456789012/dlq): Access denied for operation sqs:GetQueueAttributes');
    expect(stdout).not.toContain('modified QueuesDeadLetterQueue');
    expect(stderr).toContain('CloudFormation could not check 1 resource (drift status UNKNOWN; the reason is shown with each); --fail does not count them as drift.');
    const json = JSON.parse((await drift('--json')).stdout);
    expect(json).toMatchObject({ drifted: false, unchecked: 1 });
    expect(json.stacks[1].unchecked[0]).toMatchObject({ logicalId: 'QueuesDeadLetterQueue1A2B3C4D', status: 'UNKNOWN', reason: 'Access denied for operation sqs:GetQueueAttributes' });
    expect(json.stacks[1].resources).toEqual([]);
  });

  it('--json: one document with every property difference', async () => {
    detection(REGISTRY, { status: 'IN_SYNC' });
    detection(PLATFORM, { status: 'DRIFTED', drifted: 1 });
    cfn.on(DescribeStackResourceDriftsCommand).resolves({ StackResourceDrifts: [] });
    cfn.on(DescribeStackResourceDriftsCommand, { StackName: PLATFORM }).resolves({ StackResourceDrifts: [queueDrift] });
    const { stdout, code } = await drift('--json');
    expect(code).toBe(0);
    const doc = JSON.parse(stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, drifted: true, complete: true });
    expect(doc.stacks[1]).toMatchObject({
      stackName: PLATFORM, status: 'DRIFTED', detection: 'COMPLETE', checkedAt: '2026-12-01T12:00:00.000Z',
      resources: [{ logicalId: 'QueuesEvalQueueUrgent1A2B3C4D', status: 'MODIFIED', properties: [{ path: '/VisibilityTimeout', change: 'NOT_EQUAL', expected: '5400', actual: '30' }, expect.anything()] }],
    });
  });

  it('a detection that fails: shows what it could check, says why, exits 1', async () => {
    detection(REGISTRY, { status: 'IN_SYNC' });
    detection(PLATFORM, { failed: 'Failed to detect drift on resource [QueuesDeadLetterQueue]: AccessDenied' });
    cfn.on(DescribeStackResourceDriftsCommand).resolves({ StackResourceDrifts: [] });
    cfn.on(DescribeStackResourceDriftsCommand, { StackName: PLATFORM }).resolves({ StackResourceDrifts: [alarmDrift] });
    const { code, stdout, stderr } = await drift();
    expect(code).toBe(1);
    expect(stdout).toContain('detection failed: Failed to detect drift on resource [QueuesDeadLetterQueue]: AccessDenied');
    expect(stdout).toContain('deleted  AlarmsNowcastStaleAlarm99AA88BB');
    expect(stderr).toContain('Drift detection on watchpoint-dev failed');
    expect(stderr).toContain('fix:');
  });

  it('a detection still running at --timeout: says it continues in CloudFormation, exits 1', async () => {
    detection(REGISTRY, { status: 'IN_SYNC' });
    detection(PLATFORM, 'running');
    cfn.on(DescribeStackResourceDriftsCommand).resolves({ StackResourceDrifts: [] });
    const io = new RecordingIo([], false);
    let clock = 0;
    const code = await driftCommand({
      io, options: {}, env: {}, cwd, flags: { timeout: '10' }, cloudformation: new CloudFormationClient({ region: 'eu-west-1' }), pollMs: 5000,
      now: () => clock,
      sleep: async (ms) => void (clock += ms),
    });
    expect(code).toBe(1);
    // 10 s at one poll per 5 s: the first status, two waits, then the deadline.
    expect(cfn.commandCalls(DescribeStackDriftDetectionStatusCommand, { StackDriftDetectionId: `det-${PLATFORM}` })).toHaveLength(3);
    expect(io.stdout).toContain('watchpoint-dev  STILL RUNNING');
    expect(io.stdout).toContain(`detection det-${PLATFORM} is still running in CloudFormation`);
    expect(io.stderr).toContain('Drift detection on watchpoint-dev did not finish within 10 s.');
    expect(io.stderr).toContain('fix: Wait and run `watchpoint status --env dev`');
  });

  it('a stack that is not deployed: exit 2 naming `watchpoint deploy`', async () => {
    const missing = Object.assign(new Error('Stack with id watchpoint-dev does not exist'), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
    cfn.on(DetectStackDriftCommand).rejects(missing);
    const { code, stderr } = await drift();
    expect(code).toBe(2);
    expect(stderr).toContain('watchpoint deploy --env dev');
  });

  it('--help makes no claim AWS does not document: no "one detection per stack at a time" (documented only for StackSets)', async () => {
    const { stdout } = await drift('--help');
    expect(stdout).toContain('DetectStackDrift');
    expect(stdout).not.toMatch(/one per stack at a time|one detection per stack/i);
    expect(stdout).not.toMatch(/takes from seconds to a few minutes/);
  });

  it('--timeout out of range: exit 2 before any AWS call', async () => {
    const { code, stderr } = await drift('--timeout', '5');
    expect(code).toBe(2);
    expect(stderr).toContain('--timeout "5" is not a whole number of seconds from 10 to 3600.');
    expect(cfn.calls()).toHaveLength(0);
  });
});
