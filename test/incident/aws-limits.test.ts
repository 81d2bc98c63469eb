// `logs`, `--follow` and `trace` where real AWS differs from an emulator: a log group deleted by hand
// (ResourceNotFoundException, which moto answers as AWS does: HTTP 400, "The specified log group does
// not exist."), FilterLogEvents' quota of 5 calls per second per account and Region ("CloudWatch Logs
// quotas", CloudWatch Logs User Guide) with ThrottlingException over it, and Live Tail's
// LimitExceededException. moto has no quotas: throttling is answered by the recording proxy in front
// of moto (test/helpers/moto.ts startMotoRecorder) in the JSON 1.1 wire format, so the SDK parses it
// for real. StartLiveTail, which moto lacks, is the wire-level fake of live-tail-server.ts.
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQSClient } from '@aws-sdk/client-sqs';
import { logsCommand, type LogsContext } from '../../src/cli/commands/logs.ts';
import { traceCommand } from '../../src/cli/commands/trace.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { POLL_TPS, READ_CONCURRENCY } from '../../src/cli/logs/quota.ts';
import { runCli, tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';
import { MOTO_CREDENTIALS, motoClient, motoStage, startMotoRecorder, uniqueEnvName, useMotoCredentials, type MotoRecorder } from '../helpers/moto.ts';
import { deployPlatform, motoClients, writeLogLines, type Platform } from './moto-world.ts';
import { pause, wireLogs } from './live-tail-server.ts';

let platform: Platform;
let recorder: MotoRecorder;
let cwd: string;
const envName = uniqueEnvName();
const runId = `2026-12-01T${String(Date.now() % 24).padStart(2, '0')}Z-limits`;

/** Powertools lines as the Batcher writes them, stamped now. */
function batcherLine(message: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ level: 'INFO', message, timestamp: new Date().toISOString(), service: 'batcher', ...extra });
}

beforeAll(async () => {
  platform = await deployPlatform(envName);
  // The archiver's log group is deleted by hand: the stack still lists it.
  await motoClients().logs.send(new DeleteLogGroupCommand({ logGroupName: platform.groups.archiver! }));
  await writeLogLines(platform.groups.batcher!, [batcherLine('ForecastReady', { event: 'ForecastReady', run_id: runId, forecast_type: 'nowcast', jobs: 0 })]);
  recorder = await startMotoRecorder();
  useMotoCredentials();
  cwd = await tempDir();
  await writeConfig(cwd, { [envName]: motoStage() });
});
afterAll(async () => recorder?.stop());

describe('a log group deleted by hand (ResourceNotFoundException) is skipped, never fatal', () => {
  it('logs: warns naming it and reads the others (exit 0)', async () => {
    const { code, stdout, stderr } = await runCli(['logs', '--env', envName, '--since', '1h'], { cwd });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('ForecastReady');
    expect(stderr).toContain(`Log group ${platform.groups.archiver} (archiver) does not exist, though the stack lists it (deleted outside CloudFormation?); skipped.`);
    expect(stderr).toContain(`watchpoint drift --env ${envName}`);
  });

  it('trace: drops it and runs the query again over the others', async () => {
    const { code, stdout, stderr } = await runCli(['trace', runId, '--env', envName, '--since', '1h'], { cwd });
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`Log group ${platform.groups.archiver} (archiver) does not exist`);
    expect(stderr).toContain('Querying the other 8 again.');
    expect(stdout).toContain(`forecast run ${runId}`);
  });

  it('--follow with Live Tail: opens the session without it', async () => {
    const { server, clients } = await wireLogs((input) =>
      input.logGroupIdentifiers.some((arn) => arn.endsWith(`:log-group:${platform.groups.archiver}`))
        ? { error: { code: 'ResourceNotFoundException', message: 'The specified log group does not exist.' } }
        : { stream: async (session) => {
            session.event('sessionStart', { requestId: 'r', sessionId: 'without-archiver', logGroupIdentifiers: session.input.logGroupIdentifiers });
            session.event('sessionUpdate', { sessionMetadata: { sampled: false }, sessionResults: [] });
            await pause(20);
            stop.abort();
          } },
    );
    const stop = new AbortController();
    const ctx = followContext(clients, stop.signal);
    try {
      expect(await logsCommand(ctx)).toBe(130);
      expect(server.sessions).toHaveLength(2);
      expect(server.sessions[1]!.input.logGroupIdentifiers).toHaveLength(8);
      // Which group was gone came from DescribeLogGroups (moto, for real).
      expect(server.forwarded).toContain('DescribeLogGroups');
      expect(ctx.io.stderr).toContain(`Log group ${platform.groups.archiver} (archiver) does not exist`);
      expect(ctx.io.stderr).toContain('Live Tail session without-archiver started on 8 log groups');
    } finally {
      await server.stop();
    }
  });
});

describe('FilterLogEvents quota: 5 calls per second per account and Region', () => {
  it('logs: reads the groups in parallel, but never more than READ_CONCURRENCY calls at once', async () => {
    let inFlight = 0;
    let most = 0;
    recorder.intercept(async (call) => {
      if (call.action !== 'FilterLogEvents') return undefined;
      inFlight += 1;
      most = Math.max(most, inFlight);
      await pause(40);
      inFlight -= 1;
      return undefined;
    });
    const logs = new CloudWatchLogsClient({ region: VALID_DEV.region, endpoint: recorder.endpoint, credentials: { ...MOTO_CREDENTIALS }, maxAttempts: 1 });
    const ctx = followContext({ cloudformation: motoClient(CloudFormationClient), logs }, new AbortController().signal, {
      // The eight groups that exist (the deleted one is the test above's).
      functions: ['api', 'poller', 'batcher', 'eval-urgent', 'eval-standard', 'email', 'webhook', 'api-access'],
      flags: { limit: '1000', since: '1h' },
    });
    try {
      expect(await logsCommand(ctx)).toBe(0);
      expect(recorder.count('FilterLogEvents')).toBe(8);
      expect(most).toBeGreaterThan(1);
      expect(most).toBeLessThanOrEqual(READ_CONCURRENCY);
    } finally {
      recorder.reset();
    }
  });

  it('--follow polling: at most POLL_TPS calls per second; ThrottlingException backs off and goes on, never exits', async () => {
    const logs = new CloudWatchLogsClient({ region: VALID_DEV.region, endpoint: recorder.endpoint, credentials: { ...MOTO_CREDENTIALS }, maxAttempts: 1, requestHandler: { requestTimeout: 15_000 } });
    let clock = Date.now();
    const started = clock;
    const callTimes: number[] = [];
    logs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'FilterLogEventsCommand') callTimes.push(clock);
        return next(args);
      },
      { step: 'initialize', priority: 'high' },
    );
    // The SDK retries throttling itself first (5 attempts within the call's budget); here it does not
    // (maxAttempts 1), so what the poll does after the SDK gives up is what is seen.
    recorder.fail('FilterLogEvents', { code: 'ThrottlingException', message: 'Rate exceeded', status: 400 }, { times: 2, when: (body) => body.includes(platform.groups.batcher!) });
    const lines = [batcherLine('Ignored object', { event: 'Ignored', key: 'uploads/after-throttle.txt' })];
    const sleeps: number[] = [];
    const stop = new AbortController();
    let wrote = false;
    const ctx = followContext({ cloudformation: motoClient(CloudFormationClient), logs }, stop.signal, {
      functions: ['batcher', 'email', 'webhook', 'archiver'],
      now: () => new Date(clock),
      sleep: async (ms: number) => {
        sleeps.push(ms);
        clock += ms;
        if (!wrote) {
          wrote = true;
          await writeLogLines(platform.groups.batcher!, lines);
        }
        if (clock - started > 40_000) stop.abort();
      },
    });
    try {
      expect(await logsCommand(ctx)).toBe(130);
    } finally {
      recorder.reset();
    }
    expect(ctx.io.stderr).toContain('polling FilterLogEvents every 2 s instead (at most 2 calls per second, under its quota of 5 per account and Region).');
    // Throttled twice: told so each time, waited 4 s then 8 s, and went on.
    expect(ctx.io.stderr.match(/FilterLogEvents is being throttled \(ThrottlingException/g)).toHaveLength(2);
    expect(sleeps).toContain(4000);
    expect(sleeps).toContain(8000);
    expect(ctx.io.results.filter((r) => r.includes('Ignored object'))).toHaveLength(1);
    expect(ctx.io.stderr).toContain(`Log group ${platform.groups.archiver} (archiver) does not exist`);
    // Never more than POLL_TPS calls in any second (the old poll sent one per group at once).
    expect(callTimes.length).toBeGreaterThan(6);
    const busiest = Math.max(...callTimes.map((t) => callTimes.filter((u) => u >= t && u < t + 1000).length));
    expect(busiest).toBeLessThanOrEqual(POLL_TPS);
  });
});

describe('trace: ids read from log lines are checked before they go into the second query', () => {
  it('a malformed job_id in a line is left out (and said), the well-formed run id is queried', async () => {
    const notificationId = '7d0c1e2a-9d3b-4c1e-a1b2-c3d4e5f60718';
    const hostile = 'j" or level = "ERROR';
    await writeLogLines(platform.groups.email!, [
      JSON.stringify({ level: 'INFO', message: 'Notification delivered', timestamp: new Date().toISOString(), service: 'email-worker', event: 'DeliverySucceeded', channel: 'email', attempt: 1, notification_id: notificationId, job_id: hostile, run_id: runId }),
    ]);
    const logs = new CloudWatchLogsClient({ region: VALID_DEV.region, endpoint: recorder.endpoint, credentials: { ...MOTO_CREDENTIALS }, maxAttempts: 1 });
    const io = new RecordingIo([], false);
    try {
      const code = await traceCommand({ io, options: { env: envName }, env: {}, cwd, id: notificationId, flags: { since: '1h', kind: 'notification', timeout: '60' }, clients: { cloudformation: motoClient(CloudFormationClient), logs, sqs: motoClient(SQSClient) }, pollMs: 1 } as never);
      expect(code, io.stderr).toBe(0);
      const queries = recorder.inputs('StartQuery').map((input) => String(input.queryString));
      const second = queries[queries.length - 1]!;
      expect(second).toContain(`run_id = "${runId}"`);
      expect(second).not.toContain('level = "ERROR"');
      expect(queries.every((q) => !q.includes(hostile))).toBe(true);
      expect(io.stderr).toContain('A log line gives job_id "j\\" or level = \\"ERROR", which is not an id; it is left out of the second query.');
    } finally {
      recorder.reset();
    }
  });
});

describe('Live Tail: LimitExceededException (too many concurrent sessions)', () => {
  it('falls back to polling and says why', async () => {
    const { server, clients } = await wireLogs(() => ({ error: { code: 'LimitExceededException', message: 'You have reached the maximum number of resources that can be created.' } }));
    const stop = new AbortController();
    const ctx = followContext(clients, stop.signal, {
      functions: ['batcher'],
      sleep: async () => stop.abort(),
    });
    try {
      expect(await logsCommand(ctx)).toBe(130);
      expect(ctx.io.stderr).toContain('Live Tail refused a new session: the account already has as many concurrent Live Tail sessions as it allows (LimitExceededException: You have reached the maximum number of resources that can be created.); polling FilterLogEvents every 2 s instead');
      expect(server.forwarded).toContain('FilterLogEvents');
      expect(ctx.io.stderr).toContain('Stopped following.');
    } finally {
      await server.stop();
    }
  });
});


function followContext(clients: LogsContext['clients'], stop: AbortSignal, overrides: Partial<LogsContext> = {}): LogsContext & { io: RecordingIo } {
  return { io: new RecordingIo([], false), options: { env: envName }, env: {}, cwd, functions: [], flags: { limit: '1000', follow: true }, clients, stop, ...overrides } as LogsContext & { io: RecordingIo };
}
