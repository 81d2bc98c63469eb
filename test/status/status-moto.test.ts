// `watchpoint status` end to end against moto: each test gets a moto account of its own (CloudWatch
// metrics are account-wide), the registry and platform stacks created in moto's CloudFormation from
// the synthesized templates (reduced to what moto can create: test/helpers/moto-stack.ts; the alarms
// are the template's own), alarm states set with SetAlarmState, ForecastReady and queue-age
// datapoints put with PutMetricData, and real messages in the queues. The CLI reads it all through a
// recording proxy, which counts the calls and injects the failures moto cannot produce.
// test/status/status.test.ts keeps the cases moto cannot serve.
import { DeleteAlarmsCommand, PutMetricDataCommand, SetAlarmStateCommand, CloudWatchClient, type StateValue } from '@aws-sdk/client-cloudwatch';
import { DeleteQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { endAwsRuntime } from '../../src/cli/aws/runtime.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { statusCommand, type StatusContext } from '../../src/cli/commands/status.ts';
import { runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import { accountClient, isolatedAccount, motoStage, startMotoRecorder, uniqueEnvName, useMotoCredentials, type MotoAccount, type MotoRecorder } from '../helpers/moto.ts';
import { createMotoPlatform, createMotoRegistry, type MotoPlatform } from '../helpers/moto-stack.ts';

let recorder: MotoRecorder;
let account: MotoAccount;
let env: string;
let cwd: string;
let platform: MotoPlatform;
let cloudwatch: CloudWatchClient;
let sqs: SQSClient;

beforeAll(async () => {
  recorder = await startMotoRecorder();
});
afterAll(() => recorder.stop());

/** A new account and environment; the stacks are created unless a test says otherwise. */
async function world(options: { platform?: boolean; registry?: boolean; extraAlarms?: number } = {}): Promise<void> {
  account = await isolatedAccount();
  useMotoCredentials(account.credentials);
  env = uniqueEnvName('s');
  cwd = await tempDir();
  await writeConfig(cwd, { [env]: motoStage({ account: account.accountId, awsEndpointUrl: recorder.endpoint }) });
  cloudwatch = accountClient(CloudWatchClient, account);
  sqs = accountClient(SQSClient, account);
  const stackOptions = { credentials: account.credentials, account: account.accountId };
  if (options.registry !== false) await createMotoRegistry(env, stackOptions);
  if (options.platform !== false) {
    const extraResources: Record<string, { Type: string; Properties: Record<string, unknown> }> = {};
    for (let i = 0; i < (options.extraAlarms ?? 0); i += 1) {
      extraResources[`Extra${i}Alarm`] = {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: { AlarmName: `watchpoint-${env}-Extra${i}`, Namespace: 'WatchPoint', MetricName: 'Extra', ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, Period: 60, Threshold: 0, Statistic: 'Sum' },
      };
    }
    // What status reads (queues, alarms, and what the alarms refer to); the rest only costs time.
    const keep = (_id: string, type: string) => ['AWS::SQS::Queue', 'AWS::CloudWatch::Alarm', 'AWS::SNS::Topic', 'AWS::KMS::Key'].includes(type);
    platform = await createMotoPlatform(env, { ...stackOptions, keep, extraResources });
  }
  recorder.reset();
}

const alarmName = (id: string) => `watchpoint-${env}-${id}`;
async function setAlarm(id: string, state: StateValue, reason = `reason ${state}`): Promise<void> {
  await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarmName(id), StateValue: state, StateReason: reason }));
}
/** One ForecastReady datapoint `secondsAgo` before now (none when undefined), as the metric filter publishes it. */
async function lastForecast(forecastType: string, secondsAgo: number | undefined, dimensions: Record<string, string> = { ForecastType: forecastType }): Promise<void> {
  if (secondsAgo === undefined) return;
  await cloudwatch.send(
    new PutMetricDataCommand({
      Namespace: 'WatchPoint',
      MetricData: [{ MetricName: 'ForecastReady', Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })), Timestamp: new Date(Date.now() - secondsAgo * 1000), Value: 1, Unit: 'Count' }],
    }),
  );
}
async function onTime(): Promise<void> {
  await lastForecast('nowcast', 10 * 60);
  await lastForecast('medium_range', 3600);
}
const queueUrl = (prefix: string) => platform.physicalId(`Queues${prefix}`);
const queueName = (prefix: string) => queueUrl(prefix).split('/').pop()!;
async function send(prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 10) {
    const entries = Array.from({ length: Math.min(10, count - i) }, (_, j) => ({ Id: `m${i + j}`, MessageBody: `{"n":${i + j}}` }));
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl(prefix), Entries: entries }));
  }
}
async function ages(prefix: string, points: { secondsAgo: number; value: number }[]): Promise<void> {
  await cloudwatch.send(
    new PutMetricDataCommand({
      Namespace: 'AWS/SQS',
      MetricData: points.map((p) => ({ MetricName: 'ApproximateAgeOfOldestMessage', Dimensions: [{ Name: 'QueueName', Value: queueName(prefix) }], Timestamp: new Date(Date.now() - p.secondsAgo * 1000), Value: p.value, Unit: 'Seconds' })),
    }),
  );
}

const status = (...args: string[]) => runCli(['status', '--env', env, ...args], { cwd });
const statusJson = async () => {
  const result = await status('--json');
  return { ...result, report: JSON.parse(result.stdout) as Record<string, any> };
};
/** Calls statusCommand directly, to control the terminal, the clock and the --watch loop. */
async function direct(overrides: Partial<StatusContext> & { env?: NodeJS.ProcessEnv } = {}) {
  const io = new RecordingIo([], false);
  const code = await statusCommand({ io, options: { env }, env: {}, cwd, json: false, watch: undefined, ...overrides });
  return { code, io };
}
const counts = () => {
  const result: Record<string, number> = {};
  for (const action of recorder.actions()) result[action] = (result[action] ?? 0) + 1;
  return result;
};

const ALARM_IDS = ['MediumRangeStaleAlarm', 'NowcastStaleAlarm', 'EvalQueueDepthAlarm', 'EvalQueueUrgentDepthAlarm', 'NotificationQueueDepthAlarm', 'WebhookNotificationQueueDepthAlarm', 'DeadLetterQueueNotEmptyAlarm', 'NotificationSpikeAlarm', 'SuspiciousKeyCreationAlarm', 'CorruptForecastAlarm'];

describe('a healthy environment', () => {
  beforeEach(() => world());

  it('exits 0 with every section, in exactly 11 read-only calls (the minimum: 10, and the deploy --hotswap marker)', async () => {
    await onTime();
    const { code, stdout, stderr } = await status();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('HEALTHY');
    for (const section of ['Stacks', 'Alarms (10)', "Dead man's switch", 'Queues']) expect(stdout).toContain(section);
    expect(counts()).toEqual({ DescribeStacks: 2, DescribeStackResources: 1, GetParameter: 1, DescribeAlarms: 1, GetMetricData: 1, GetQueueAttributes: 5 });
  });

  it("asks DescribeAlarms only for this stack's alarm names, and GetMetricData for the exact series", async () => {
    await status();
    const alarmCall = recorder.inputs('DescribeAlarms')[0]!;
    expect([...alarmCall.AlarmNames].sort()).toEqual(ALARM_IDS.map(alarmName).sort());
    expect(alarmCall.MaxRecords).toBe(100);
    const metricCall = recorder.inputs('GetMetricData')[0]!;
    const dims = metricCall.MetricDataQueries.map((q: any) => `${q.MetricStat.Metric.MetricName} ${JSON.stringify(q.MetricStat.Metric.Dimensions)}`);
    expect(dims).toContain('ForecastReady [{"Name":"ForecastType","Value":"nowcast"}]');
    expect(dims).toContain('ForecastReady [{"Name":"ForecastType","Value":"medium_range"}]');
    for (const prefix of ['DeadLetterQueueShared', 'EvalQueueUrgent', 'EvalQueueStandard', 'NotificationQueue', 'WebhookNotificationQueue']) {
      expect(dims).toContain(`ApproximateAgeOfOldestMessage [{"Name":"QueueName","Value":"${queueName(prefix)}"}]`);
    }
    expect((metricCall.EndTime - metricCall.StartTime) * 1000).toBe(24 * 3600 * 1000);
  });
});

it('shows a stack that holds `deploy --hotswap` changes (the SSM marker), in the warnings and --json, without changing the exit code', async () => {
  await world();
  await onTime();
  const { SSMClient } = await import('@aws-sdk/client-ssm');
  const { ssmHotswapMarker } = await import('../../src/cli/deploy/hotswap.ts');
  const at = new Date(Date.now() - 20 * 60_000).toISOString();
  await ssmHotswapMarker(accountClient(SSMClient, account), env).write({ at, operator: 'arn:aws:sts::123456789012:assumed-role/ops/me', stacks: [{ stackName: `watchpoint-${env}`, resources: [{ logicalId: 'FunctionsApiHandler1A2B3C4D', resourceType: 'AWS::Lambda::Function' }] }] });
  const { code, report } = await statusJson();
  expect(code).toBe(0);
  expect(report.stacks.map((s: any) => s.hotswapped)).toEqual([null, { at, operator: 'arn:aws:sts::123456789012:assumed-role/ops/me', resources: ['FunctionsApiHandler1A2B3C4D'] }]);
  const human = await status();
  expect(human.stdout).toContain(`stack watchpoint-${env} holds hotswapped changes its template does not describe (FunctionsApiHandler1A2B3C4D; \`deploy --hotswap\` 20m ago by arn:aws:sts::123456789012:assumed-role/ops/me); a \`watchpoint deploy --env ${env}\` whose change set updates them clears this`);
  await ssmHotswapMarker(accountClient(SSMClient, account), env).write(undefined);
  expect((await statusJson()).report.stacks.map((s: any) => s.hotswapped)).toEqual([null, null]);
});

it('pages DescribeAlarms by 100 names: 150 alarms take 2 calls', async () => {
  await world({ extraAlarms: 140 });
  await onTime();
  const { code, report } = await statusJson();
  expect(code).toBe(0);
  expect(report.alarms).toHaveLength(150);
  expect(recorder.count('DescribeAlarms')).toBe(2);
  for (const input of recorder.inputs('DescribeAlarms')) expect(input.AlarmNames.length).toBeLessThanOrEqual(100);
});

describe('alarm and dead-man states', () => {
  beforeEach(() => world());
  const alarmSets = {
    'all OK': [],
    'one ALARM': ['ALARM'],
    'one INSUFFICIENT_DATA': ['INSUFFICIENT_DATA'],
    'ALARM and INSUFFICIENT_DATA': ['ALARM', 'INSUFFICIENT_DATA'],
  } as const;
  const series = { on_time: 10 * 60, late: 3 * 3600, never_seen: undefined } as const;
  const cases: [string, readonly StateValue[], keyof typeof series, keyof typeof series][] = [];
  for (const [label, states] of Object.entries(alarmSets)) {
    for (const nowcast of Object.keys(series) as (keyof typeof series)[]) {
      for (const medium of ['on_time', 'never_seen'] as const) cases.push([label, states, nowcast, medium]);
    }
  }
  const rank = (state: string) => ['ALARM', 'INSUFFICIENT_DATA', 'MISSING', 'OK'].indexOf(state);

  it.each(cases)('alarms %s (%s), nowcast %s, medium_range %s', async (_label, states, nowcast, medium) => {
    const ids = ['CorruptForecastAlarm', 'EvalQueueDepthAlarm'];
    for (const [i, state] of states.entries()) await setAlarm(ids[i]!, state);
    await lastForecast('nowcast', series[nowcast]);
    await lastForecast('medium_range', medium === 'on_time' ? 3600 : undefined);

    const { code, report, stderr } = await statusJson();
    expect(stderr).toBe('');
    const unhealthy = states.includes('ALARM') || nowcast !== 'on_time' || medium !== 'on_time';
    expect(code).toBe(unhealthy ? 3 : 0);
    expect(report.exitCode).toBe(code);
    expect(report.healthy).toBe(!unhealthy);
    expect(report.deadMansSwitch.map((s: any) => s.verdict)).toEqual([nowcast, medium]);
    const order = report.alarms.map((a: any) => a.state);
    expect(order).toEqual([...order].sort((a: string, b: string) => rank(a) - rank(b)));
    expect(order.slice(0, states.length)).toEqual([...states]);
    if (states.includes('INSUFFICIENT_DATA')) expect(report.warnings.join('\n')).toContain('INSUFFICIENT_DATA');
  });

  it('INSUFFICIENT_DATA alone is shown first but exits 0', async () => {
    await onTime();
    await setAlarm('NotificationSpikeAlarm', 'INSUFFICIENT_DATA');
    const { code, stdout } = await status();
    expect(code).toBe(0);
    const alarmLines = stdout.split('\n').filter((line) => new RegExp(`watchpoint-${env}-\\w+Alarm`).test(line) && /^\s+(OK|ALARM|INSUFFICIENT_DATA)\s/.test(line));
    expect(alarmLines).toHaveLength(10);
    expect(alarmLines[0]).toContain('INSUFFICIENT_DATA');
    expect(alarmLines[0]).toContain('NotificationSpikeAlarm');
  });

  it('shows how long an alarm has been in its state and why', async () => {
    await onTime();
    await setAlarm('DeadLetterQueueNotEmptyAlarm', 'ALARM', 'Threshold Crossed: 1 datapoint [4.0] was greater than the threshold (0.0).');
    // Two hours and five minutes later (the clock is the CLI's; moto keeps the transition time).
    const later = new Date(Date.now() + (2 * 3600 + 5 * 60) * 1000);
    const { code, io } = await direct({ now: () => later });
    expect(code).toBe(3);
    const line = io.stdout.split('\n').find((l) => l.includes('DeadLetterQueueNotEmptyAlarm') && /^\s+ALARM\s/.test(l))!;
    expect(line).toMatch(/for 2h 5m/);
    expect(line).toContain('[4.0] was greater');
    expect(io.stdout).toMatch(/UNHEALTHY/);
  });
});

describe("the dead man's switch", () => {
  beforeEach(() => world());

  it('on time: last seen, next due, verdict', async () => {
    await lastForecast('nowcast', 12 * 60);
    const started = Date.now();
    const { report } = await statusJson();
    const nowcast = report.deadMansSwitch[0];
    expect(nowcast).toMatchObject({ forecastType: 'nowcast', expectedIntervalSeconds: 1800, verdict: 'on_time', lateBySeconds: null, lookbackSeconds: 86400, resolutionSeconds: 60 });
    const lastSeen = Date.parse(nowcast.lastSeenAt);
    // Stamped with the start of its 1-minute period.
    expect(started - lastSeen).toBeGreaterThanOrEqual(12 * 60 * 1000);
    expect(started - lastSeen).toBeLessThan(13 * 60 * 1000 + 5_000);
    expect(Date.parse(nowcast.nextExpectedAt) - lastSeen).toBe(1800 * 1000);
  });

  it('late: says by how much, and exits 3', async () => {
    await lastForecast('nowcast', 2 * 3600);
    await lastForecast('medium_range', 3600);
    const { code, io } = await direct();
    expect(code).toBe(3);
    expect(io.stdout).toMatch(/nowcast\s+every 30m\s+.*late by 1h 3\dm/);
    expect(io.stdout).toMatch(/nowcast: forecast late by 1h 3\dm/);
  });

  it('a datapoint just past its interval, within the 5-minute grace, is still on time', async () => {
    await lastForecast('nowcast', 31 * 60);
    await lastForecast('medium_range', 3600);
    const { report, code } = await statusJson();
    expect(report.deadMansSwitch[0].verdict).toBe('on_time');
    expect(code).toBe(0);
  });

  it('past the interval plus the 5-minute grace, it is late', async () => {
    await lastForecast('nowcast', 36 * 60);
    const { report, code } = await statusJson();
    expect(report.deadMansSwitch[0].verdict).toBe('late');
    expect(report.deadMansSwitch[0].lateBySeconds).toBeGreaterThanOrEqual(6 * 60);
    expect(report.deadMansSwitch[0].lateBySeconds).toBeLessThanOrEqual(7 * 60);
    expect(code).toBe(3);
  });

  it('never seen in the lookback window: says so, and exits 3', async () => {
    await lastForecast('nowcast', 10 * 60);
    const { code, stdout } = await status();
    expect(code).toBe(3);
    expect(stdout).toMatch(/medium_range\s+every 8h\s+-\s+-\s+never seen in the last 24h/);
  });

  it('ignores ForecastReady series with other dimension sets (e.g. an added service dimension)', async () => {
    await lastForecast('nowcast', 60, { ForecastType: 'nowcast', service: 'batcher' });
    const { report } = await statusJson();
    expect(report.deadMansSwitch[0].verdict).toBe('never_seen');
  });
});

describe('queues', () => {
  beforeEach(() => world());

  it('shows visible, in flight and the age of the oldest message; the DLQ with its sources and no receive', async () => {
    await onTime();
    await send('DeadLetterQueueShared', 12);
    await ages('DeadLetterQueueShared', [{ secondsAgo: 20 * 60, value: 7000 }, { secondsAgo: 3 * 60, value: 7400 }]);
    await send('EvalQueueUrgent', 47);
    // Seven messages taken by a worker and not yet deleted: in flight.
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl('EvalQueueUrgent'), MaxNumberOfMessages: 7, VisibilityTimeout: 600 }));
    await ages('EvalQueueUrgent', [{ secondsAgo: 2 * 60, value: 95 }]);
    const json = await statusJson();
    const text = await status();
    const byName = Object.fromEntries(json.report.queues.map((q: any) => [q.name, q]));
    expect(Object.keys(byName)).toEqual(['DeadLetterQueue', 'EvalQueueUrgent', 'EvalQueueStandard', 'NotificationQueue', 'WebhookNotificationQueue']);
    expect(byName.DeadLetterQueue).toMatchObject({ isDeadLetterQueue: true, visible: 12, inFlight: 0, oldestMessageAgeSeconds: 7400, countsPerSource: null, deadLetterQueue: null });
    expect(byName.DeadLetterQueue.sourceQueues).toEqual(['EvalQueueUrgent', 'EvalQueueStandard', 'NotificationQueue', 'WebhookNotificationQueue']);
    expect(byName.EvalQueueUrgent).toMatchObject({ visible: 40, inFlight: 7, oldestMessageAgeSeconds: 95, deadLetterQueue: 'DeadLetterQueue', sourceQueues: null });
    expect(byName.EvalQueueStandard.oldestMessageAgeSeconds).toBeNull();
    expect(text.stdout).toMatch(/DeadLetterQueue \(DLQ\)\s+12\s+0\s+2h 3m/);
    expect(text.stdout).toMatch(/EvalQueueUrgent\s+40\s+7\s+1m 35s/);
    expect(text.stdout).toContain(`watchpoint dlq inspect --env ${env}`);
    expect(new Set(recorder.actions('sqs'))).toEqual(new Set(['GetQueueAttributes']));
  });

  it('a queue or alarm deleted outside CloudFormation is a warning, not an error', async () => {
    await onTime();
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl('NotificationQueue') }));
    await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: [alarmName('CorruptForecastAlarm')] }));
    const { code, report } = await statusJson();
    expect(code).toBe(0);
    expect(report.warnings.join('\n')).toMatch(/NotificationQueue .* does not exist/);
    expect(report.warnings.join('\n')).toContain(`Alarm ${alarmName('CorruptForecastAlarm')} is in the stack but CloudWatch does not have it`);
    expect(report.alarms[0]).toMatchObject({ name: alarmName('CorruptForecastAlarm'), state: 'MISSING' });
    expect(report.queues.find((q: any) => q.name === 'NotificationQueue')).toMatchObject({ exists: false, visible: null });
  });
});

describe('--json', () => {
  beforeEach(() => world());
  const iso = z.iso.datetime();
  const schema = z.strictObject({
    schemaVersion: z.literal(1),
    env: z.string(),
    region: z.string(),
    checkedAt: iso,
    healthy: z.boolean(),
    exitCode: z.union([z.literal(0), z.literal(3)]),
    problems: z.array(z.string()),
    warnings: z.array(z.string()),
    stacks: z.array(
      z.strictObject({
        name: z.string(),
        role: z.enum(['registry', 'platform']),
        status: z.string(),
        lastUpdatedAt: iso.nullable(),
        drift: z.strictObject({ status: z.string(), checkedAt: iso.nullable() }).nullable(),
        hotswapped: z.strictObject({ at: z.string(), operator: z.string(), resources: z.array(z.string()) }).nullable(),
      }),
    ),
    alarms: z.array(
      z.strictObject({
        name: z.string(),
        logicalId: z.string(),
        state: z.enum(['ALARM', 'INSUFFICIENT_DATA', 'OK', 'MISSING']),
        since: iso.nullable(),
        forSeconds: z.number().int().nonnegative().nullable(),
        reason: z.string().nullable(),
        description: z.string().nullable(),
      }),
    ),
    deadMansSwitch: z.array(
      z.strictObject({
        forecastType: z.enum(['nowcast', 'medium_range']),
        expectedIntervalSeconds: z.number().int(),
        lastSeenAt: iso.nullable(),
        nextExpectedAt: iso.nullable(),
        verdict: z.enum(['on_time', 'late', 'never_seen']),
        lateBySeconds: z.number().int().nullable(),
        lookbackSeconds: z.number().int(),
        resolutionSeconds: z.number().int(),
      }),
    ),
    queues: z.array(
      z.strictObject({
        name: z.string(),
        queueName: z.string(),
        url: z.string(),
        exists: z.boolean(),
        isDeadLetterQueue: z.boolean(),
        visible: z.number().int().nullable(),
        inFlight: z.number().int().nullable(),
        delayed: z.number().int().nullable(),
        oldestMessageAgeSeconds: z.number().nullable(),
        oldestMessageAgeAt: iso.nullable(),
        deadLetterQueue: z.string().nullable(),
        sourceQueues: z.array(z.string()).nullable(),
        countsPerSource: z.null(),
      }),
    ),
  });

  it('writes one document that matches the documented schema, and nothing else', async () => {
    await setAlarm('NowcastStaleAlarm', 'ALARM');
    await lastForecast('nowcast', 5 * 3600);
    await lastForecast('medium_range', 3600);
    const result = await status('--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(3);
    const parsed = schema.parse(JSON.parse(result.stdout));
    expect(parsed.problems).toHaveLength(2);
    expect(parsed.queues.find((q) => q.isDeadLetterQueue)!.url).toBe(platform.outputs.DeadLetterQueueUrl);
    expect(parsed.stacks.map((s) => [s.name, s.status])).toEqual([[`watchpoint-${env}-registry`, 'CREATE_COMPLETE'], [`watchpoint-${env}`, 'CREATE_COMPLETE']]);
    expect(result.stdout).not.toMatch(/\x1b\[/);
  });
});

describe('colour', () => {
  beforeEach(() => world());
  it('appears on a terminal', async () => {
    await setAlarm('NowcastStaleAlarm', 'ALARM');
    const { io } = await direct({ stdoutIsTty: true });
    expect(io.stdout).toContain('\x1b[31mALARM\x1b[39m');
  });
  it('never without a terminal, and never with NO_COLOR', async () => {
    expect((await direct({ stdoutIsTty: false })).io.stdout).not.toMatch(/\x1b\[/);
    expect((await direct({ stdoutIsTty: true, env: { NO_COLOR: '1' } })).io.stdout).not.toMatch(/\x1b\[/);
  });
});

describe('errors and bad usage', () => {
  it('a stack that does not exist: exit 2 naming `watchpoint deploy`', async () => {
    await world({ platform: false });
    const { code, stderr, stdout } = await status();
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`Stack watchpoint-${env} does not exist`);
    expect(stderr).toContain(`watchpoint deploy --env ${env}`);
  });

  it('a missing registry stack says the same', async () => {
    await world({ registry: false });
    const { code, stderr } = await status('--json');
    expect(code).toBe(2);
    expect(stderr).toContain(`Stack watchpoint-${env}-registry does not exist`);
    expect(stderr).toContain('watchpoint deploy');
  });

  it('expired credentials (injected: moto checks none): exit 1 with a clear message and how to renew', async () => {
    await world();
    recorder.fail('DescribeStacks', { code: 'ExpiredToken', message: 'The security token included in the request is expired', status: 403 });
    const { code, stderr, stdout } = await status();
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('AWS credentials are missing, expired or invalid.');
    expect(stderr).toContain('aws sso login');
  });

  it('credentials that expire between CloudFormation and CloudWatch get the same message', async () => {
    await world();
    recorder.fail('GetMetricData', { code: 'ExpiredTokenException', message: '' });
    const { code, stderr } = await status('--json');
    expect(code).toBe(1);
    expect(stderr).toContain('AWS credentials are missing, expired or invalid.');
  });

  it('any other AWS failure exits 1', async () => {
    await world();
    recorder.fail('DescribeAlarms', { code: 'InternalFailure', message: 'We encountered an internal error', status: 500 });
    const { code, stderr } = await status();
    expect(code).toBe(1);
    expect(stderr).toContain('InternalFailure');
  });

  it.each([['3'], ['9'], ['abc'], ['10.5'], ['-20'], ['99999']])('--watch %s: exit 2 before any AWS call', async (value) => {
    await world({ platform: false, registry: false });
    const { code, stderr } = await status('--watch', value);
    expect(code).toBe(2);
    expect(stderr).toContain('--watch');
    expect(stderr).toContain('at least 10');
    expect(recorder.calls).toEqual([]);
  });

  it('no config: exit 2 before any AWS call', async () => {
    await world({ platform: false, registry: false });
    const { code, stderr } = await runCli(['status'], { cwd: await tempDir() });
    expect(code).toBe(2);
    expect(stderr).toContain('watchpoint init');
    expect(recorder.calls).toEqual([]);
  });
});

describe('--watch', () => {
  /** A sleep that records the waits and stops the loop after `polls` polls. */
  function scripted(polls: number, between: (poll: number) => Promise<void> | void = () => {}) {
    const controller = new AbortController();
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
      await between(waits.length);
      if (waits.length >= polls) controller.abort();
    };
    return { stop: controller.signal, sleep, waits };
  }

  it("without a terminal prints one block per interval, and exits with the last poll's code", async () => {
    await world();
    await onTime();
    await setAlarm('NowcastStaleAlarm', 'ALARM');
    const loop = scripted(3, async (poll) => {
      if (poll === 2) await setAlarm('NowcastStaleAlarm', 'OK');
    });
    const { code, io } = await direct({ watch: '30', stdoutIsTty: false, ...loop });
    expect(code).toBe(0);
    expect(io.results).toHaveLength(3);
    expect(io.results[0]).toContain('UNHEALTHY');
    expect(io.results[2]).not.toContain('UNHEALTHY');
    expect(io.stdout).not.toContain('\x1b[');
    for (const wait of loop.waits) expect(wait).toBeLessThanOrEqual(30_000);
    expect(recorder.count('GetMetricData')).toBe(3);
  });

  it('on a terminal redraws in place', async () => {
    await world();
    const loop = scripted(2);
    const { io } = await direct({ watch: '10', stdoutIsTty: true, ...loop });
    expect(io.results).toHaveLength(2);
    for (const block of io.results) expect(block.startsWith('\x1b[H\x1b[2J')).toBe(true);
    expect(io.stderr).toContain('Refreshing every 10s. Ctrl-C to stop.');
  });

  it('with --json prints one JSON document per line', async () => {
    await world();
    const loop = scripted(2);
    const { io } = await direct({ watch: '10', json: true, ...loop });
    expect(io.results).toHaveLength(2);
    for (const line of io.results) {
      expect(line).not.toContain('\n');
      expect(JSON.parse(line).schemaVersion).toBe(1);
    }
  });

  it('a transient failure is shown and the watch goes on; its code stands if it was the last poll', async () => {
    await world();
    const loop = scripted(2, (poll) => {
      if (poll === 1) recorder.fail('GetMetricData', { code: 'Throttling', message: 'Rate exceeded' });
    });
    // The SDK retries throttling with backoff; a 2 s budget per call keeps the test short.
    process.env.WATCHPOINT_AWS_TIMEOUT = '2';
    endAwsRuntime();
    const { code, io } = await direct({ watch: '10', ...loop }).finally(() => {
      delete process.env.WATCHPOINT_AWS_TIMEOUT;
      endAwsRuntime();
    });
    expect(io.results).toHaveLength(1);
    expect(io.stderr).toContain('Throttling');
    expect(io.stderr).toContain('retrying in 10s');
    expect(code).toBe(1);
  });

  it('a missing stack stops the watch at once', async () => {
    await world({ platform: false });
    const loop = scripted(5);
    await expect(direct({ watch: '10', ...loop })).rejects.toThrow(/does not exist/);
    expect(loop.waits).toHaveLength(0);
  });
});
