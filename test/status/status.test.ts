// `watchpoint status` end to end through the CLI core, against CloudFormation, CloudWatch and SQS
// mocked with aws-sdk-client-mock (test/status/fake-aws.ts holds the fake environment).
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RecordingIo } from '../../src/cli/io.ts';
import { statusCommand, type StatusContext } from '../../src/cli/commands/status.ts';
import { VALID_DEV, runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import { FakeEnvironment, callNames, queueUrl, type FakeMocks } from './fake-aws.ts';

let cwd: string;
let world: FakeEnvironment;
let mocks: FakeMocks;

beforeEach(async () => {
  cwd = await tempDir();
  await writeConfig(cwd, { dev: VALID_DEV });
  world = new FakeEnvironment();
  mocks = world.install();
});

afterEach(() => mocks.restore());

const status = (...args: string[]) => runCli(['status', ...args], { cwd });
const statusJson = async () => {
  const result = await status('--json');
  return { ...result, report: JSON.parse(result.stdout) as Record<string, any> };
};

/** Calls statusCommand directly, to control the terminal, the clock and the --watch loop. */
async function direct(overrides: Partial<StatusContext> & { env?: NodeJS.ProcessEnv } = {}) {
  const io = new RecordingIo([], false);
  const code = await statusCommand({ io, options: {}, env: {}, cwd, json: false, watch: undefined, now: () => world.now, ...overrides });
  return { code, io };
}

describe('a healthy environment', () => {
  it('exits 0 with every section, in exactly 10 read-only calls (the minimum)', async () => {
    const { code, stdout, stderr } = await status();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('HEALTHY');
    for (const section of ['Stacks', 'Alarms (10)', "Dead man's switch", 'Queues']) expect(stdout).toContain(section);
    expect(callNames(mocks)).toEqual({
      DescribeStacksCommand: 2,
      DescribeStackResourcesCommand: 1,
      DescribeAlarmsCommand: 1,
      GetMetricDataCommand: 1,
      GetQueueAttributesCommand: 5,
    });
  });

  it('asks DescribeAlarms only for this stack\'s alarm names, and GetMetricData for the exact series', async () => {
    await status();
    const alarmCall = mocks.cloudwatch.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input;
    expect([...alarmCall.AlarmNames!].sort()).toEqual(world.alarms.map((a) => a.name).sort());
    expect(alarmCall.MaxRecords).toBe(100);
    const metricCall = mocks.cloudwatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input;
    const dims = metricCall.MetricDataQueries!.map((q) => `${q.MetricStat!.Metric!.MetricName} ${JSON.stringify(q.MetricStat!.Metric!.Dimensions)}`);
    expect(dims).toContain('ForecastReady [{"Name":"ForecastType","Value":"nowcast"}]');
    expect(dims).toContain('ForecastReady [{"Name":"ForecastType","Value":"medium_range"}]');
    for (const queue of world.queues) expect(dims).toContain(`ApproximateAgeOfOldestMessage [{"Name":"QueueName","Value":"${queue.queueName}"}]`);
    expect(metricCall.EndTime!.getTime() - metricCall.StartTime!.getTime()).toBe(24 * 3600 * 1000);
  });

  it('pages DescribeAlarms by 100 names: 150 alarms take 2 calls', async () => {
    for (let i = 0; i < 140; i += 1) {
      world.alarms.push({ logicalId: `Extra${i}`, name: `watchpoint-dev-Extra${i}`, state: 'OK', since: world.ago(60), reason: 'ok' });
    }
    world.platform!.extraResources = 0;
    const { code, report } = await statusJson();
    expect(code).toBe(0);
    expect(report.alarms).toHaveLength(150);
    expect(mocks.cloudwatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(2);
    for (const call of mocks.cloudwatch.commandCalls(DescribeAlarmsCommand)) expect(call.args[0].input.AlarmNames!.length).toBeLessThanOrEqual(100);
  });
});

describe('alarm and dead-man states', () => {
  const alarmSets = {
    'all OK': [],
    'one ALARM': ['ALARM'],
    'one INSUFFICIENT_DATA': ['INSUFFICIENT_DATA'],
    'ALARM and INSUFFICIENT_DATA': ['ALARM', 'INSUFFICIENT_DATA'],
  } as const;
  const series = { on_time: 10 * 60, late: 3 * 3600, never_seen: undefined } as const;
  const cases: [string, readonly string[], keyof typeof series, keyof typeof series][] = [];
  for (const [label, states] of Object.entries(alarmSets)) {
    for (const nowcast of Object.keys(series) as (keyof typeof series)[]) {
      for (const medium of ['on_time', 'never_seen'] as const) cases.push([label, states, nowcast, medium]);
    }
  }

  it.each(cases)('alarms %s, nowcast %s, medium_range %s', async (_label, states, nowcast, medium) => {
    const ids = ['CorruptForecastAlarm', 'EvalQueueDepthAlarm'];
    states.forEach((state, i) => Object.assign(world.alarm(ids[i]!), { state, since: world.ago(2 * 3600 + 5 * 60), reason: `reason ${state}` }));
    world.lastForecast('nowcast', series[nowcast]);
    world.lastForecast('medium_range', medium === 'on_time' ? 3600 : undefined);

    const { code, report, stderr } = await statusJson();
    expect(stderr).toBe('');
    const unhealthy = states.includes('ALARM') || nowcast !== 'on_time' || medium !== 'on_time';
    expect(code).toBe(unhealthy ? 3 : 0);
    expect(report.exitCode).toBe(code);
    expect(report.healthy).toBe(!unhealthy);
    expect(report.deadMansSwitch.map((s: any) => s.verdict)).toEqual([nowcast, medium]);
    // ALARM first, then INSUFFICIENT_DATA, then OK.
    const order = report.alarms.map((a: any) => a.state);
    expect(order).toEqual([...order].sort((a: string, b: string) => rank(a) - rank(b)));
    expect(order.slice(0, states.length)).toEqual([...states]);
    if (states.includes('INSUFFICIENT_DATA')) expect(report.warnings.join('\n')).toContain('INSUFFICIENT_DATA');
  });

  const rank = (state: string) => ['ALARM', 'INSUFFICIENT_DATA', 'MISSING', 'OK'].indexOf(state);

  it('INSUFFICIENT_DATA alone is shown first but exits 0', async () => {
    world.alarm('NotificationSpikeAlarm').state = 'INSUFFICIENT_DATA';
    const { code, stdout } = await status();
    expect(code).toBe(0);
    const alarmLines = stdout.split('\n').filter((line) => /watchpoint-dev-\w+Alarm/.test(line) && /^\s+(OK|ALARM|INSUFFICIENT_DATA)\s/.test(line));
    expect(alarmLines).toHaveLength(10);
    expect(alarmLines[0]).toContain('INSUFFICIENT_DATA');
    expect(alarmLines[0]).toContain('NotificationSpikeAlarm');
  });

  it('shows how long an alarm has been in its state and why', async () => {
    Object.assign(world.alarm('DeadLetterQueueNotEmptyAlarm'), { state: 'ALARM', since: world.ago(2 * 3600 + 5 * 60), reason: 'Threshold Crossed: 1 datapoint [4.0] was greater than the threshold (0.0).' });
    const { code, stdout } = await status();
    expect(code).toBe(3);
    const line = stdout.split('\n').find((l) => l.includes('DeadLetterQueueNotEmptyAlarm') && /^\s+ALARM\s/.test(l))!;
    expect(line).toMatch(/for 2h 5m/);
    expect(line).toContain('[4.0] was greater');
    expect(stdout).toMatch(/UNHEALTHY/);
  });
});

describe("the dead man's switch", () => {
  it('on time: last seen, next due, verdict', async () => {
    world.lastForecast('nowcast', 12 * 60);
    const { report } = await statusJson();
    const nowcast = report.deadMansSwitch[0];
    expect(nowcast).toMatchObject({ forecastType: 'nowcast', expectedIntervalSeconds: 1800, verdict: 'on_time', lateBySeconds: null, lookbackSeconds: 86400, resolutionSeconds: 60 });
    const lastSeen = Date.parse(nowcast.lastSeenAt);
    // Stamped with the start of its minute.
    expect(world.now.getTime() - lastSeen).toBeGreaterThanOrEqual(12 * 60 * 1000);
    expect(world.now.getTime() - lastSeen).toBeLessThan(13 * 60 * 1000);
    expect(Date.parse(nowcast.nextExpectedAt) - lastSeen).toBe(1800 * 1000);
  });

  it('late: says by how much, and exits 3', async () => {
    world.lastForecast('nowcast', 2 * 3600);
    const direct_ = await direct({ now: () => world.now });
    expect(direct_.code).toBe(3);
    const text = direct_.io.stdout;
    expect(text).toMatch(/nowcast\s+every 30m\s+.*late by 1h 3\dm/);
    expect(text).toMatch(/nowcast: forecast late by 1h 3\dm/);
  });

  it('a datapoint just past its interval, within the 5-minute grace, is still on time', async () => {
    world.lastForecast('nowcast', 31 * 60);
    const { report, code } = await statusJson();
    expect(report.deadMansSwitch[0].verdict).toBe('on_time');
    expect(code).toBe(0);
  });

  it('past the interval plus the 5-minute grace, it is late', async () => {
    world.lastForecast('nowcast', 36 * 60);
    const { report, code } = await statusJson();
    expect(report.deadMansSwitch[0].verdict).toBe('late');
    expect(report.deadMansSwitch[0].lateBySeconds).toBeGreaterThanOrEqual(6 * 60);
    // Datapoints sit at the start of their 1-minute period, so "late by" can reach the full 7 minutes.
    expect(report.deadMansSwitch[0].lateBySeconds).toBeLessThanOrEqual(7 * 60);
    expect(code).toBe(3);
  });

  it('never seen in the lookback window: says so, and exits 3', async () => {
    world.lastForecast('medium_range', undefined);
    const { code, stdout } = await status();
    expect(code).toBe(3);
    expect(stdout).toMatch(/medium_range\s+every 8h\s+-\s+-\s+never seen in the last 24h/);
  });

  it('ignores ForecastReady series with other dimension sets (e.g. an added service dimension)', async () => {
    world.lastForecast('nowcast', undefined);
    world.forecastReady.push({ dimensions: { ForecastType: 'nowcast', service: 'batcher' }, at: world.ago(60) });
    const { report } = await statusJson();
    expect(report.deadMansSwitch[0].verdict).toBe('never_seen');
  });
});

describe('queues', () => {
  it('shows visible, in flight and the age of the oldest message; the DLQ with its sources and no receive', async () => {
    const dlq = world.queue('DeadLetterQueueShared');
    Object.assign(dlq, { visible: 12, inFlight: 0, ages: [{ at: world.ago(20 * 60), value: 7000 }, { at: world.ago(3 * 60), value: 7400 }] });
    Object.assign(world.queue('EvalQueueUrgent'), { visible: 40, inFlight: 7, ages: [{ at: world.ago(2 * 60), value: 95 }] });
    const { report, stdout } = await statusJson().then(async (json) => ({ ...json, stdout: (await status()).stdout }));

    const byName = Object.fromEntries(report.queues.map((q: any) => [q.name, q]));
    expect(Object.keys(byName)).toEqual(['DeadLetterQueue', 'EvalQueueUrgent', 'EvalQueueStandard', 'NotificationQueue', 'WebhookNotificationQueue']);
    expect(byName.DeadLetterQueue).toMatchObject({ isDeadLetterQueue: true, visible: 12, inFlight: 0, oldestMessageAgeSeconds: 7400, countsPerSource: null, deadLetterQueue: null });
    expect(byName.DeadLetterQueue.sourceQueues).toEqual(['EvalQueueUrgent', 'EvalQueueStandard', 'NotificationQueue', 'WebhookNotificationQueue']);
    expect(byName.EvalQueueUrgent).toMatchObject({ visible: 40, inFlight: 7, oldestMessageAgeSeconds: 95, deadLetterQueue: 'DeadLetterQueue', sourceQueues: null });
    expect(byName.EvalQueueStandard.oldestMessageAgeSeconds).toBeNull();

    expect(stdout).toMatch(/DeadLetterQueue \(DLQ\)\s+12\s+0\s+2h 3m/);
    expect(stdout).toMatch(/EvalQueueUrgent\s+40\s+7\s+1m 35s/);
    expect(stdout).toContain('watchpoint dlq inspect --env dev');
    const sent = mocks.sqs.calls().map((call) => (call.args[0] as object).constructor.name);
    expect(new Set(sent)).toEqual(new Set(['GetQueueAttributesCommand']));
  });

  it('a queue or alarm deleted outside CloudFormation is a warning, not an error', async () => {
    world.queue('NotificationQueue').deleted = true;
    world.alarm('CorruptForecastAlarm').deleted = true;
    const { code, report } = await statusJson();
    expect(code).toBe(0);
    expect(report.warnings.join('\n')).toMatch(/NotificationQueue .* does not exist/);
    expect(report.warnings.join('\n')).toMatch(/Alarm watchpoint-dev-CorruptForecastAlarm is in the stack but CloudWatch does not have it/);
    expect(report.alarms[0]).toMatchObject({ name: 'watchpoint-dev-CorruptForecastAlarm', state: 'MISSING' });
    expect(report.queues.find((q: any) => q.name === 'NotificationQueue')).toMatchObject({ exists: false, visible: null });
  });
});

describe('stacks', () => {
  it('shows status, last update and drift when known', async () => {
    world.platform!.drift = { status: 'DRIFTED', checkedAt: world.ago(3600) };
    world.platform!.status = 'UPDATE_ROLLBACK_COMPLETE';
    const { report, code } = await statusJson();
    expect(code).toBe(0);
    expect(report.stacks).toEqual([
      { name: 'watchpoint-dev-registry', role: 'registry', status: 'CREATE_COMPLETE', lastUpdatedAt: world.registry!.lastUpdated.toISOString(), drift: null },
      { name: 'watchpoint-dev', role: 'platform', status: 'UPDATE_ROLLBACK_COMPLETE', lastUpdatedAt: world.platform!.lastUpdated.toISOString(), drift: { status: 'DRIFTED', checkedAt: world.ago(3600).toISOString() } },
    ]);
    expect(report.warnings).toEqual(expect.arrayContaining(['stack watchpoint-dev is UPDATE_ROLLBACK_COMPLETE', 'stack watchpoint-dev has drifted from its template (checked 1h ago); `watchpoint drift --env dev` shows what changed']));
  });

  it('says how old the drift result is, and points to `watchpoint drift` when a stack was not checked in 24 h', async () => {
    world.registry!.drift = { status: 'IN_SYNC', checkedAt: world.ago(2 * 3600) };
    world.platform!.drift = { status: 'IN_SYNC', checkedAt: world.ago(3 * 86400) };
    const { stdout } = await status();
    expect(stdout).toMatch(/watchpoint-dev-registry\s+\S+\s+.*IN_SYNC \(checked 2h ago\)/);
    expect(stdout).toMatch(/watchpoint-dev\s+\S+\s+.*IN_SYNC \(checked 3d ago\)/);
    expect(stdout).toContain('Drift of watchpoint-dev is not checked in the last 24 h: `watchpoint drift --env dev` checks it now.');
    world.platform!.drift = { status: 'IN_SYNC', checkedAt: world.ago(60) };
    expect((await status()).stdout).not.toContain('watchpoint drift');
  });

  it('a platform stack with more than 100 resources still finds every alarm and queue (ListStackResources)', async () => {
    world.platform!.extraResources = 190;
    const { report, code } = await statusJson();
    expect(code).toBe(0);
    expect(report.alarms).toHaveLength(10);
    expect(report.queues).toHaveLength(5);
    expect(callNames(mocks).ListStackResourcesCommand).toBe(3);
  });
});

describe('--json', () => {
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
    world.alarm('NowcastStaleAlarm').state = 'ALARM';
    world.lastForecast('nowcast', 5 * 3600);
    const result = await status('--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(3);
    const parsed = schema.parse(JSON.parse(result.stdout));
    expect(parsed.problems).toHaveLength(2);
    expect(parsed.queues.find((q) => q.isDeadLetterQueue)!.url).toBe(queueUrl(world.queue('DeadLetterQueueShared').queueName));
    expect(result.stdout).not.toMatch(/\x1b\[/);
  });
});

describe('colour', () => {
  it('appears on a terminal', async () => {
    world.alarm('NowcastStaleAlarm').state = 'ALARM';
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
    world.platform = undefined;
    const { code, stderr, stdout } = await status();
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Stack watchpoint-dev does not exist');
    expect(stderr).toContain('watchpoint deploy --env dev');
  });

  it('a missing registry stack says the same', async () => {
    world.registry = undefined;
    const { code, stderr } = await status('--json');
    expect(code).toBe(2);
    expect(stderr).toContain('Stack watchpoint-dev-registry does not exist');
    expect(stderr).toContain('watchpoint deploy');
  });

  it('expired credentials: exit 1 with a clear message and how to renew', async () => {
    world.cloudformationError = Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredToken', $metadata: { httpStatusCode: 403 } });
    const { code, stderr, stdout } = await status();
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('AWS credentials are missing, expired or invalid.');
    expect(stderr).toContain('aws sso login');
  });

  it('credentials that expire between CloudFormation and CloudWatch get the same message', async () => {
    world.dataError = Object.assign(new Error(''), { name: 'ExpiredTokenException', $metadata: { httpStatusCode: 400 } });
    const { code, stderr } = await status('--json');
    expect(code).toBe(1);
    expect(stderr).toContain('AWS credentials are missing, expired or invalid.');
  });

  it('any other AWS failure exits 1', async () => {
    world.dataError = Object.assign(new Error('We encountered an internal error'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } });
    const { code, stderr } = await status();
    expect(code).toBe(1);
    expect(stderr).toContain('InternalFailure');
  });

  it.each([['3'], ['9'], ['abc'], ['10.5'], ['-20'], ['99999']])('--watch %s: exit 2 before any AWS call', async (value) => {
    const { code, stderr } = await status('--watch', value);
    expect(code).toBe(2);
    expect(stderr).toContain('--watch');
    expect(stderr).toContain('at least 10');
    expect(callNames(mocks)).toEqual({});
  });

  it('no config: exit 2 before any AWS call', async () => {
    const { code, stderr } = await runCli(['status'], { cwd: await tempDir() });
    expect(code).toBe(2);
    expect(stderr).toContain('watchpoint init');
    expect(callNames(mocks)).toEqual({});
  });
});

describe('--watch', () => {
  /** A sleep that records the waits and stops the loop after `polls` polls. */
  function scripted(polls: number, between: (poll: number) => void = () => {}) {
    const controller = new AbortController();
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
      between(waits.length);
      if (waits.length >= polls) controller.abort();
    };
    return { stop: controller.signal, sleep, waits };
  }

  it('without a terminal prints one block per interval, and exits with the last poll\'s code', async () => {
    world.alarm('NowcastStaleAlarm').state = 'ALARM';
    const loop = scripted(3, (poll) => {
      if (poll === 2) world.alarm('NowcastStaleAlarm').state = 'OK';
    });
    const { code, io } = await direct({ watch: '30', stdoutIsTty: false, ...loop });
    expect(code).toBe(0);
    expect(io.results).toHaveLength(3);
    expect(io.results[0]).toContain('UNHEALTHY');
    expect(io.results[2]).not.toContain('UNHEALTHY');
    expect(io.stdout).not.toContain('\x1b[');
    for (const wait of loop.waits) expect(wait).toBeLessThanOrEqual(30_000);
    expect(mocks.cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(3);
  });

  it('on a terminal redraws in place', async () => {
    const loop = scripted(2);
    const { io } = await direct({ watch: '10', stdoutIsTty: true, ...loop });
    expect(io.results).toHaveLength(2);
    for (const block of io.results) expect(block.startsWith('\x1b[H\x1b[2J')).toBe(true);
    expect(io.stderr).toContain('Refreshing every 10s. Ctrl-C to stop.');
  });

  it('with --json prints one JSON document per line', async () => {
    const loop = scripted(2);
    const { io } = await direct({ watch: '10', json: true, ...loop });
    expect(io.results).toHaveLength(2);
    for (const line of io.results) {
      expect(line).not.toContain('\n');
      expect(JSON.parse(line).schemaVersion).toBe(1);
    }
  });

  it('never starts a poll while one is in flight, and Ctrl-C during a poll stops cleanly', async () => {
    world.delayMs = 20;
    const controller = new AbortController();
    let polls = 0;
    const inFlightWhenSleeping: number[] = [];
    const sleep = async () => {
      polls += 1;
      inFlightWhenSleeping.push(world.inFlight);
      // Stop in the middle of the next poll.
      if (polls === 2) setTimeout(() => controller.abort(), 5);
    };
    const { code, io } = await direct({ watch: '10', stop: controller.signal, sleep });
    expect(code).toBe(0);
    expect(io.results).toHaveLength(2);
    // One poll at a time: nothing in flight while the loop waits, and at most one poll's second
    // round trip (DescribeAlarms, GetMetricData, 5 GetQueueAttributes) in flight together.
    expect(inFlightWhenSleeping).toEqual([0, 0]);
    expect(world.maxInFlight).toBe(7);
    expect(mocks.cloudformation.commandCalls(DescribeStacksCommand).length).toBeGreaterThanOrEqual(5);
  });

  it('a transient failure is shown and the watch goes on; its code stands if it was the last poll', async () => {
    const loop = scripted(2, (poll) => {
      if (poll === 1) world.dataError = Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
    });
    const { code, io } = await direct({ watch: '10', ...loop });
    expect(io.results).toHaveLength(1);
    expect(io.stderr).toContain('Throttling');
    expect(io.stderr).toContain('retrying in 10s');
    expect(code).toBe(1);
  });

  it('a missing stack stops the watch at once', async () => {
    world.platform = undefined;
    const loop = scripted(5);
    await expect(direct({ watch: '10', ...loop })).rejects.toThrow(/does not exist/);
    expect(loop.waits).toHaveLength(0);
  });
});
