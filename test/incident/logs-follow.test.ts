// `watchpoint logs --follow`. The stack comes from moto's CloudFormation. Live Tail, which no local
// server has, is tested at the SDK boundary (aws-sdk-client-mock) with the event-stream shape AWS
// documents for StartLiveTail (sessionStart, sessionUpdate with sessionMetadata and sessionResults,
// SessionTimeoutException). The fallback, polling FilterLogEvents, runs against moto for real.
// The log lines are the Batcher's own: processRun() with its real Powertools logger.
import { CloudWatchLogsClient, StartLiveTailCommand, type StartLiveTailResponseStream } from '@aws-sdk/client-cloudwatch-logs';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { RecordingIo } from '../../src/cli/io.ts';
import { logsCommand, type LogsContext } from '../../src/cli/commands/logs.ts';
import { processRun, type BatcherDeps } from '../../src/lambdas/batcher/batcher.ts';
import { captureLogs } from '../pipeline/logs.ts';
import { VALID_DEV, tempDir, writeConfig } from '../helpers/cli.ts';
import { motoStage, uniqueEnvName, useMotoCredentials } from '../helpers/moto.ts';
import { deployPlatform, writeLogLines, type Platform } from './moto-world.ts';

let cwd: string;
let platform: Platform;
const envName = uniqueEnvName();

/** What the Batcher logs for an S3 key that is not a forecast run: one WARN line per key. */
async function batcherLines(keys: string[]): Promise<string[]> {
  const logs = captureLogs();
  try {
    const deps = { logger: new Logger({ serviceName: 'batcher' }) } as unknown as BatcherDeps;
    for (const key of keys) await processRun('forecasts', key, deps);
  } finally {
    logs.restore();
  }
  return logs.lines();
}

beforeAll(async () => {
  platform = await deployPlatform(envName);
  useMotoCredentials();
  cwd = await tempDir();
  await writeConfig(cwd, { [envName]: motoStage() });
});

function context(overrides: Partial<LogsContext> & { stop: AbortSignal }): LogsContext & { io: RecordingIo } {
  return { io: new RecordingIo([], false), options: { env: envName }, env: {}, cwd, functions: [], flags: { limit: '1000', follow: true }, ...overrides } as LogsContext & { io: RecordingIo };
}

describe('--follow with Live Tail (SDK boundary)', () => {
  it('one session over all nine groups by ARN, events printed with their short names, closed on stop; a 3-hour timeout or a broken stream opens the next session', async () => {
    const lines = await batcherLines(['uploads/a.txt', 'uploads/b.txt', 'nowcast/run-1/_SUCCESS.tmp']);
    const stop = new AbortController();
    const batcherGroup = platform.groups.batcher!;
    const arn = (name: string) => `arn:aws:logs:${VALID_DEV.region}:123456789012:log-group:${name}`;
    const logs = mockClient(CloudWatchLogsClient);
    let sessions = 0;
    logs.on(StartLiveTailCommand).callsFake(async (input: { logGroupIdentifiers: string[] }) => {
      sessions += 1;
      const session = sessions;
      async function* stream(): AsyncGenerator<StartLiveTailResponseStream> {
        yield { sessionStart: { requestId: 'r', sessionId: `s${session}`, logGroupIdentifiers: input.logGroupIdentifiers } };
        if (session === 1) {
          yield { sessionUpdate: { sessionMetadata: { sampled: false }, sessionResults: lines.slice(0, 2).map((message, i) => ({ logGroupIdentifier: arn(batcherGroup), logStreamName: 'st', message, timestamp: Date.now() + i, ingestionTime: Date.now() })) } };
          yield { SessionTimeoutException: { name: 'SessionTimeoutException', message: 'Session timed out', $fault: 'client', $metadata: {} } as never };
          return;
        }
        if (session === 2) {
          yield { sessionUpdate: { sessionMetadata: { sampled: true }, sessionResults: [{ logGroupIdentifier: `123456789012:${batcherGroup}`, logStreamName: 'st', message: lines[2]!, timestamp: Date.now(), ingestionTime: Date.now() }] } };
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        }
        // Every second AWS sends an update, empty when nothing was ingested.
        yield { sessionUpdate: { sessionMetadata: { sampled: false }, sessionResults: [] } };
        stop.abort();
      }
      return { responseStream: stream() };
    });
    try {
      const ctx = context({ stop: stop.signal });
      const code = await logsCommand(ctx);
      expect(code).toBe(0);
      const calls = logs.commandCalls(StartLiveTailCommand);
      expect(calls).toHaveLength(3);
      const identifiers = calls[0]!.args[0].input.logGroupIdentifiers!;
      expect(identifiers).toHaveLength(9);
      expect(identifiers).toContain(arn(batcherGroup));
      expect(ctx.io.results).toHaveLength(3);
      for (const result of ctx.io.results) expect(result).toMatch(/^\d\d:\d\d:\d\d\.\d{3} batcher\s+WARN  Ignored object/);
      expect(ctx.io.stderr).toContain('Live Tail session s1 started on 9 log groups (billed per minute while open).');
      expect(ctx.io.stderr).toContain('The Live Tail session reached its 3-hour limit; starting a new one.');
      expect(ctx.io.stderr).toContain('Live Tail is sampling');
      expect(ctx.io.stderr).toContain('The Live Tail stream broke (Error: socket hang up); opening a new session.');
      expect(ctx.io.stderr).toContain('Stopped. The Live Tail session is closed, so its billing has ended.');
    } finally {
      logs.restore();
    }
  });

  it('--follow with --until is bad usage', async () => {
    const ctx = context({ stop: new AbortController().signal, flags: { limit: '1000', follow: true, until: '5m' } });
    await expect(logsCommand(ctx)).rejects.toMatchObject({ code: 'FOLLOW_UNTIL', exitCode: 2 });
  });
});

describe('--follow where Live Tail is not available: polls FilterLogEvents (moto)', () => {
  it('says so, prints each new event once across overlapping polls, and stops cleanly', async () => {
    const lines = await batcherLines(['uploads/late-1.txt', 'uploads/late-2.txt']);
    const stop = new AbortController();
    let polls = 0;
    const ctx = context({
      stop: stop.signal,
      functions: ['batcher'],
      sleep: async () => {
        polls += 1;
        if (polls === 1) await writeLogLines(platform.groups.batcher!, lines, Date.now());
        // Three more polls re-read the overlap window; nothing may print twice.
        if (polls === 4) stop.abort();
      },
    });
    const code = await logsCommand(ctx);
    expect(code).toBe(0);
    expect(ctx.io.stderr).toMatch(/Live Tail is not available here \(.*\); polling FilterLogEvents every 2 s instead\./);
    expect(ctx.io.results).toHaveLength(2);
    expect(ctx.io.results.every((r) => /batcher\s+WARN  Ignored object/.test(r))).toBe(true);
    expect(ctx.io.stderr).toContain('Stopped following.');
  });
});
