// Every command that takes --json, through run(argv) against one deployed platform in moto: for each
// main path (a result, nothing to do, a failure that still prints its result) stdout parses as JSON
// (NDJSON, one object per line, for `logs --json`) and holds nothing else; a failure with no result
// leaves stdout empty. A result that is not JSON never reaches stdout (run()'s net sends it to
// stderr), so a path that prints prose instead of its JSON fails here with an empty stdout; anything
// written to process.stdout around the io port fails here too. The dlq redrive paths are in
// json-stdout.test.ts and json-stdout-dlq.test.ts; drift is at the SDK boundary at the end (moto
// 5.2.1 has no drift detection).
import { CloudFormationClient, DescribeStackDriftDetectionStatusCommand, DescribeStackResourceDriftsCommand, DetectStackDriftCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import { motoClient, motoStage, uniqueEnvName, useMotoCredentials } from '../helpers/moto.ts';
import { createMotoPlatform, createMotoRegistry, type MotoPlatform } from '../helpers/moto-stack.ts';

useMotoCredentials();
const env = uniqueEnvName('j');
const undeployed = uniqueEnvName('u');
let cwd: string;
let platform: MotoPlatform;
let db: TestDatabase;

/** stdout of a --json run: one JSON document, or with `ndjson` zero or more JSON lines. */
function expectJsonOnly(label: string, stdout: string, options: { ndjson?: boolean } = {}): unknown[] {
  if (options.ndjson) {
    const lines = stdout.split('\n').filter((line) => line !== '');
    return lines.map((line) => {
      expect(() => JSON.parse(line), `${label}: a stdout line is not JSON: ${line}`).not.toThrow();
      return JSON.parse(line) as unknown;
    });
  }
  expect(() => JSON.parse(stdout), `${label}: stdout is not one JSON document:\n${stdout}`).not.toThrow();
  return [JSON.parse(stdout) as unknown];
}

/** A failure with no result: nothing at all on stdout, the error on stderr. */
function expectNoResult(run: { code: number; stdout: string; stderr: string; label: string }): void {
  expect(run.code, run.label).not.toBe(0);
  expect(run.stdout, run.label).toBe('');
  expect(run.stderr, run.label).toMatch(/^Error: .*\n[^]*  fix: /m);
}

/** Runs `args --json`; anything written to process.stdout itself, around the io port, is stdout too. */
async function cli(args: string[], options: { env?: NodeJS.ProcessEnv } = {}) {
  const around: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (around.push(String(chunk)), true));
  let result: Awaited<ReturnType<typeof runCli>>;
  try {
    result = await runCli([...args, '--json'], { cwd, ...options });
  } finally {
    write.mockRestore();
  }
  const stdout = around.join('') + result.stdout;
  return { ...result, stdout, label: `${args.join(' ')} --json (exit ${result.code}, stderr: ${result.stderr.slice(0, 400)})` };
}

beforeAll(async () => {
  cwd = await tempDir();
  await writeConfig(cwd, { [env]: motoStage(), [undeployed]: motoStage() });
  // What the commands here read: queues (status, dlq), alarms and their topic and key (status), the
  // log groups (logs, trace) and the RunPod user (rotate-keys --status).
  const keep = (_id: string, type: string) => ['AWS::SQS::Queue', 'AWS::CloudWatch::Alarm', 'AWS::SNS::Topic', 'AWS::KMS::Key', 'AWS::Logs::LogGroup', 'AWS::IAM::User'].includes(type);
  [platform, db] = await Promise.all([createMotoPlatform(env, { keep }), createTestDatabase(inject('databaseUrl'), { migrate: false }), createMotoRegistry(env)]);
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

describe('--json: stdout holds only JSON', () => {
  it('status: a deployed platform with no data yet, an alarm firing (exit 3), a stack that is not deployed', async () => {
    const ok = await cli(['status', '--env', env]);
    expectJsonOnly(ok.label, ok.stdout);
    const alarm = platform.resources.find((r) => r.ResourceType === 'AWS::CloudWatch::Alarm')!.PhysicalResourceId!;
    await motoClient(CloudWatchClient).send(new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'ALARM', StateReason: 'test' }));
    const firing = await cli(['status', '--env', env]);
    expect(firing.code, firing.label).toBe(3);
    expectJsonOnly(firing.label, firing.stdout);
    expectNoResult(await cli(['status', '--env', undeployed]));
  });

  it('dlq inspect: an empty DLQ and one with a message', async () => {
    const empty = await cli(['dlq', 'inspect', '--env', env]);
    expect(empty.code, empty.label).toBe(0);
    expectJsonOnly(empty.label, empty.stdout);
    await motoClient(SQSClient).send(new SendMessageCommand({ QueueUrl: platform.physicalId('QueuesDeadLetterQueue'), MessageBody: '{"job":"x"}' }));
    const full = await cli(['dlq', 'inspect', '--env', env]);
    expect(full.code, full.label).toBe(0);
    expectJsonOnly(full.label, full.stdout);
  });

  it('logs: events (NDJSON), no events, a stack that is not deployed', async () => {
    const logs = motoClient(CloudWatchLogsClient);
    const group = platform.resources.find((r) => r.ResourceType === 'AWS::Logs::LogGroup')!.PhysicalResourceId!;
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: 's1' }));
    await logs.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: 's1', logEvents: [{ timestamp: Date.now() - 1000, message: '{"level":"INFO","message":"one"}' }, { timestamp: Date.now() - 500, message: 'plain text line' }] }));
    const some = await cli(['logs', '--env', env, '--since', '1h']);
    expect(some.code, some.label).toBe(0);
    expect(expectJsonOnly(some.label, some.stdout, { ndjson: true }).length, some.label).toBe(2);
    const none = await cli(['logs', '--env', env, '--since', '1h', '--filter', '"no-such-text"']);
    expect(none.code, none.label).toBe(0);
    expectJsonOnly(none.label, none.stdout, { ndjson: true });
    expectNoResult(await cli(['logs', '--env', undeployed]));
  });

  it('trace: an id in the logs, an id in none (an error, no result), a stack that is not deployed', async () => {
    const logs = motoClient(CloudWatchLogsClient);
    const group = platform.resources.find((r) => r.ResourceType === 'AWS::Logs::LogGroup')!.PhysicalResourceId!;
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: 's2' }));
    const line = { level: 'INFO', message: 'ForecastReady', run_id: 'r-json-1', timestamp: new Date(Date.now() - 2000).toISOString() };
    await logs.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: 's2', logEvents: [{ timestamp: Date.now() - 2000, message: JSON.stringify(line) }] }));
    const found = await cli(['trace', 'r-json-1', '--env', env, '--since', '1h']);
    expect(found.code, found.label).toBe(0);
    expectJsonOnly(found.label, found.stdout);
    expectNoResult(await cli(['trace', 'r-nothing-here', '--env', env, '--since', '1h']));
    expectNoResult(await cli(['trace', 'r-nothing-here', '--env', undeployed]));
  });

  // Their results are covered elsewhere (a synth bundles, a diff synthesizes, dev --once runs the
  // whole platform: test/cli/synth.test.ts and test/dev/once.test.ts parse their --json stdout);
  // here the refusals before any work leave stdout empty.
  it('synth, diff and dev: bad input, refused before any work, leaves stdout empty', async () => {
    expectNoResult(await cli(['synth', '--env', env, '--out', '/proc/nope']));
    expectNoResult(await cli(['diff', '--env', env, '--image-tag', 'not a tag!']));
    expectNoResult(await cli(['dev']));
  });

  it('secrets list, check and history: nothing set (check fails with its report), one set', async () => {
    const list = await cli(['secrets', 'list', '--env', env]);
    expect(list.code, list.label).toBe(0);
    expectJsonOnly(list.label, list.stdout);
    const check = await cli(['secrets', 'check', '--env', env]);
    expect(check.code, check.label).toBe(1);
    expectJsonOnly(check.label, check.stdout);
    expectNoResult(await cli(['secrets', 'history', 'auth/session_key', '--env', env]));
    await motoClient(SSMClient).send(new PutParameterCommand({ Name: `/${env}/watchpoint/auth/session_key`, Value: 'k'.repeat(64), Type: 'SecureString' }));
    for (const args of [['list'], ['check'], ['history', 'auth/session_key']]) {
      const r = await cli(['secrets', ...args, '--env', env]);
      expectJsonOnly(r.label, r.stdout);
    }
  });

  it('runpod rotate-keys --status: a user without keys, a stack that is not deployed', async () => {
    const ok = await cli(['runpod', 'rotate-keys', '--status', '--env', env]);
    expectJsonOnly(ok.label, ok.stdout);
    expectNoResult(await cli(['runpod', 'rotate-keys', '--status', '--env', undeployed]));
  });

  it('db migrate: a dry run, applied, then up to date', async () => {
    const dbEnv = { WATCHPOINT_DATABASE_URL: db.url };
    for (const args of [['--dry-run'], [], []]) {
      const r = await cli(['db', 'migrate', ...args], { env: dbEnv });
      expect(r.code, r.label).toBe(0);
      expectJsonOnly(r.label, r.stdout);
    }
  });
});

// Last: from here on every CloudFormationClient of this worker is mocked.
describe('--json: drift (CloudFormation at the SDK boundary)', () => {
  let cfn: ReturnType<typeof mockClient>;
  beforeAll(() => {
    cfn = mockClient(CloudFormationClient);
  });
  afterAll(() => cfn.restore());

  function detection(outcome: 'IN_SYNC' | 'DRIFTED' | 'FAILED'): void {
    cfn.reset();
    const at = new Date();
    for (const stack of [`watchpoint-${env}-registry`, `watchpoint-${env}`]) {
      const base = { StackId: `arn:aws:cloudformation:eu-west-1:123456789012:stack/${stack}/1`, StackDriftDetectionId: `det-${stack}`, Timestamp: at };
      const platformOutcome = stack === `watchpoint-${env}` ? outcome : 'IN_SYNC';
      cfn.on(DetectStackDriftCommand, { StackName: stack }).resolves({ StackDriftDetectionId: `det-${stack}` });
      cfn.on(DescribeStackDriftDetectionStatusCommand, { StackDriftDetectionId: `det-${stack}` }).resolves(
        platformOutcome === 'FAILED'
          ? { ...base, DetectionStatus: 'DETECTION_FAILED', StackDriftStatus: 'DRIFTED', DetectionStatusReason: 'Failed to detect drift on resource [Dlq]: AccessDenied', DriftedStackResourceCount: 1 }
          : { ...base, DetectionStatus: 'DETECTION_COMPLETE', StackDriftStatus: platformOutcome, DriftedStackResourceCount: platformOutcome === 'DRIFTED' ? 1 : 0 },
      );
    }
    const deleted = { StackId: 'x', LogicalResourceId: 'AlarmsNowcastStaleAlarm99AA88BB', PhysicalResourceId: 'a', ResourceType: 'AWS::CloudWatch::Alarm', StackResourceDriftStatus: 'DELETED' as const, Timestamp: at };
    cfn.on(DescribeStackResourceDriftsCommand).resolves({ StackResourceDrifts: [] });
    if (outcome !== 'IN_SYNC') cfn.on(DescribeStackResourceDriftsCommand, { StackName: `watchpoint-${env}` }).resolves({ StackResourceDrifts: [deleted] });
  }

  it('in sync, drifted with --fail (exit 3), and a detection that failed (exit 1): one document each', async () => {
    for (const [outcome, args, code] of [['IN_SYNC', [], 0], ['DRIFTED', ['--fail'], 3], ['FAILED', [], 1]] as const) {
      detection(outcome);
      const r = await cli(['drift', '--env', env, ...args]);
      expect(r.code, r.label).toBe(code);
      expectJsonOnly(r.label, r.stdout);
    }
  });
});
