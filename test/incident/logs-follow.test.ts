// `watchpoint logs --follow`. The stack comes from moto's CloudFormation. Live Tail, which no local
// server has, is tested at the SDK boundary (aws-sdk-client-mock) with the event-stream shape AWS
// documents for StartLiveTail (sessionStart, sessionUpdate with sessionMetadata and sessionResults,
// SessionTimeoutException). The fallback, polling FilterLogEvents, runs against moto for real.
// The log lines are the Batcher's own: processRun() with its real Powertools logger.
import { CloudWatchLogsClient, SessionTimeoutException, StartLiveTailCommand, type StartLiveTailResponseStream } from '@aws-sdk/client-cloudwatch-logs';
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
import { pause, wireLogs } from './live-tail-server.ts';

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
          // As the SDK does: a modeled exception of the event stream is thrown from the iterator
          // (@smithy/core getUnmarshalledStream), never yielded as an item.
          throw new SessionTimeoutException({ message: 'Session timed out', $metadata: {} });
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
      expect(code).toBe(130);
      const calls = logs.commandCalls(StartLiveTailCommand);
      expect(calls).toHaveLength(3);
      const identifiers = calls[0]!.args[0].input.logGroupIdentifiers!;
      expect(identifiers).toHaveLength(9);
      expect(identifiers).toContain(arn(batcherGroup));
      expect(ctx.io.results).toHaveLength(3);
      // Dated when the lookback window (--since, 15 minutes by default) crosses midnight UTC: the renderer's rule.
      for (const result of ctx.io.results) expect(result).toMatch(/^(\d{4}-\d{2}-\d{2} )?\d\d:\d\d:\d\d\.\d{3} batcher\s+WARN  Ignored object/);
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
    expect(code).toBe(130);
    expect(ctx.io.stderr).toMatch(/Live Tail is not available here \(.*\); polling FilterLogEvents every 2 s instead \(at most 2 calls per second, under its quota of 5 per account and Region\)\./);
    expect(ctx.io.results).toHaveLength(2);
    expect(ctx.io.results.every((r) => /batcher\s+WARN  Ignored object/.test(r))).toBe(true);
    expect(ctx.io.stderr).toContain('Stopped following.');
  });
});


describe('--follow on the wire: a real event stream through the CLI\'s HTTP handler', () => {
  it('Ctrl-C while Live Tail keeps streaming: stops within a second, closes the stream (ending the billed session), says so, exit 130', async () => {
    const [line] = await batcherLines(['uploads/ctrl-c.txt']);
    const group = platform.groups.batcher!;
    // StartLiveTail API reference: "Every second, a LiveTailSessionUpdate object is sent", so the
    // stream never ends by itself; here one arrives every 50 ms, until the client hangs up (or 10 s).
    const { server, clients } = await wireLogs(() => ({
      stream: async (session) => {
        session.event('sessionStart', { requestId: 'r', sessionId: 'wire-1', logGroupIdentifiers: session.input.logGroupIdentifiers });
        for (let i = 0; i < 200 && !session.closed; i += 1) {
          session.event('sessionUpdate', { sessionMetadata: { sampled: false }, sessionResults: [{ logGroupIdentifier: `123456789012:${group}`, logStreamName: 'st', message: line, timestamp: Date.now(), ingestionTime: Date.now() }] });
          await pause(50);
        }
        session.end();
      },
    }));
    const ctx = { io: new RecordingIo([], false), options: { env: envName }, env: {}, cwd, functions: ['batcher'], flags: { limit: '1000', follow: true }, clients } as unknown as LogsContext & { io: RecordingIo };
    let interruptedAt = 0;
    let printedAtInterrupt = 0;
    const watcher = setInterval(() => {
      if (interruptedAt === 0 && ctx.io.results.length >= 3) {
        interruptedAt = Date.now();
        printedAtInterrupt = ctx.io.results.length;
        process.emit('SIGINT');
      }
    }, 10);
    try {
      const outcome = await Promise.race([logsCommand(ctx), pause(5000).then(() => 'still running 5 s later' as const)]);
      expect(outcome).toBe(130);
      const closedAt = await Promise.race([server.sessions[0]!.closedAt, pause(2000).then(() => Number.POSITIVE_INFINITY)]);
      expect(closedAt - interruptedAt).toBeLessThan(1000);
      // At most the update already on its way when Ctrl-C came.
      expect(ctx.io.results.length - printedAtInterrupt).toBeLessThanOrEqual(1);
      expect(ctx.io.stderr).toContain('Stopped. The Live Tail session is closed, so its billing has ended.');
    } finally {
      clearInterval(watcher);
      await server.stop();
    }
  });

  it('SessionTimeoutException (3 hours) renews the session with the timeout notice; SessionStreamingException before any update fails with a fix', async () => {
    const [line] = await batcherLines(['uploads/timeout.txt']);
    const group = platform.groups.batcher!;
    // StartLiveTailResponseStream (API reference): both are exceptions of the stream, sent as
    // event-stream frames with :message-type "exception"; the SDK throws them from the iterator.
    const { server, clients } = await wireLogs((input, index) => ({
      stream: async (session) => {
        session.event('sessionStart', { requestId: 'r', sessionId: `wire-${index + 1}`, logGroupIdentifiers: input.logGroupIdentifiers });
        if (index === 0) {
          session.event('sessionUpdate', { sessionMetadata: { sampled: false }, sessionResults: [{ logGroupIdentifier: `123456789012:${group}`, logStreamName: 'st', message: line, timestamp: Date.now(), ingestionTime: Date.now() }] });
          await pause(20);
          session.exception('SessionTimeoutException', 'Session timed out after 3 hours');
        } else {
          session.exception('SessionStreamingException', 'Internal failure');
        }
        session.end();
      },
    }));
    const ctx = { io: new RecordingIo([], false), options: { env: envName }, env: {}, cwd, functions: ['batcher'], flags: { limit: '1000', follow: true }, clients, stop: new AbortController().signal } as unknown as LogsContext & { io: RecordingIo };
    try {
      await expect(logsCommand(ctx)).rejects.toMatchObject({ code: 'LIVE_TAIL_STREAM_FAILED', message: expect.stringContaining('SessionStreamingException: Internal failure'), fix: expect.stringContaining('watchpoint logs --since 5m') });
      expect(server.sessions).toHaveLength(2);
      expect(ctx.io.results).toHaveLength(1);
      expect(ctx.io.stderr).toContain('The Live Tail session reached its 3-hour limit; starting a new one.');
      expect(ctx.io.stderr).not.toContain('The Live Tail stream broke');
    } finally {
      await server.stop();
    }
  });
});
