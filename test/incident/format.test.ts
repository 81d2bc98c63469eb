// The pure parts of `logs`: time flags, the --level pattern and filter, and one line's rendering
// (colour on a terminal only, never with NO_COLOR), on a line the Batcher's real logger wrote.
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { formatEvent, levelFilter, levelPattern } from '../../src/cli/logs/format.ts';
import { parseTimeFlag, parseWindow } from '../../src/cli/logs/window.ts';
import { pickStyle } from '../../src/cli/status/report.ts';
import { processRun, type BatcherDeps } from '../../src/lambdas/batcher/batcher.ts';
import { captureLogs } from '../pipeline/logs.ts';

const now = new Date('2026-12-01T12:00:00Z');

describe('time flags', () => {
  it('durations back from now and ISO 8601 times', () => {
    expect(parseTimeFlag('15m', '--since', now).toISOString()).toBe('2026-12-01T11:45:00.000Z');
    expect(parseTimeFlag('2h', '--since', now).toISOString()).toBe('2026-12-01T10:00:00.000Z');
    expect(parseTimeFlag('3d', '--since', now).toISOString()).toBe('2026-11-28T12:00:00.000Z');
    expect(parseTimeFlag('2026-12-01T09:30:00Z', '--since', now).toISOString()).toBe('2026-12-01T09:30:00.000Z');
    expect(parseTimeFlag('2026-12-01T09:30:00+02:00', '--since', now).toISOString()).toBe('2026-12-01T07:30:00.000Z');
  });

  it('anything else is exit 2 naming the flag; --since must be before --until', () => {
    for (const bad of ['5', 'yesterday', '15 minutes', '2026-13-45T00:00:00Z', '']) expect(() => parseTimeFlag(bad, '--until', now)).toThrow(/--until ".*" is neither a duration nor an ISO 8601 time/);
    expect(() => parseWindow('1h', '2h', now, '15m')).toThrow('is not before --until');
  });
});

describe('--level', () => {
  it('a filter pattern for CloudWatch, and the exact check on the client', async () => {
    expect(levelPattern('warn')).toBe('?WARN ?WARNING ?ERROR ?CRITICAL ?FATAL ?"Task timed out" ?"Runtime exited" ?"Runtime.ExitError"');
    const lines = await batcherLines();
    const keep = levelFilter('warn');
    expect(lines.filter(keep)).toHaveLength(1);
    expect(keep('REPORT RequestId: 1 Duration: 2.00 ms')).toBe(false);
    expect(levelFilter('debug')(lines[0]!)).toBe(true);
  });

  it('counts crash lines as errors: a timeout, a handler that threw, a runtime that exited', () => {
    const keep = levelFilter('error');
    const crashes = [
      '2026-12-06T20:31:12.345Z 0b6f4c2e-1d0a-4c7e-9c5e-3a1f2b3c4d5e Task timed out after 30.00 seconds',
      '2026-12-06T20:31:12.345Z\t0b6f4c2e\tERROR\tInvoke Error \t{"errorType":"Error","errorMessage":"boom"}',
      'RequestId: 0b6f4c2e Error: Runtime exited with error: signal: killed',
      'Runtime.ExitError',
    ];
    for (const line of crashes) expect(keep(line), line).toBe(true);
    expect(keep('START RequestId: 0b6f4c2e Version: $LATEST')).toBe(false);
    expect(keep(JSON.stringify({ level: 'INFO', message: 'Task timed out after nothing' }))).toBe(false);
  });
});

async function batcherLines(): Promise<string[]> {
  const logs = captureLogs();
  try {
    await processRun('forecasts', 'uploads/readme.txt', { logger: new Logger({ serviceName: 'batcher' }) } as unknown as BatcherDeps);
  } finally {
    logs.restore();
  }
  return logs.lines();
}

describe('one line', () => {
  it('time, short name, level, message and reason; colour only on a terminal without NO_COLOR', async () => {
    const [message] = await batcherLines();
    const event = { alias: 'batcher', logGroupName: 'g', logStreamName: 's', timestamp: Date.parse('2026-12-01T11:59:58.123Z'), message: message!, eventId: '1' };
    const plain = formatEvent(event, { style: pickStyle(false, {}), withDate: false, aliasWidth: 11 });
    expect(plain).toMatch(/^11:59:58\.123 batcher {5}WARN  Ignored object {2}reason="not <nowcast\|medium_range>\/<run_id>\/_SUCCESS"$/);
    expect(formatEvent(event, { style: pickStyle(true, {}), withDate: false, aliasWidth: 7 })).toContain('\x1b[');
    expect(formatEvent(event, { style: pickStyle(true, { NO_COLOR: '1' }), withDate: false, aliasWidth: 7 })).not.toContain('\x1b[');
    expect(formatEvent(event, { style: pickStyle(false, {}), withDate: true, aliasWidth: 7 })).toMatch(/^2026-12-01 11:59:58\.123 batcher/);
    // Powertools Metrics' EMF lines: the metric and its dimensions, not the JSON blob.
    const emf = '{"_aws":{"Timestamp":1796155286714,"CloudWatchMetrics":[{"Namespace":"WatchPoint","Dimensions":[["service"]],"Metrics":[{"Name":"DeliveryAttempt","Unit":"Count"}]}]},"service":"webhook-worker","DeliveryAttempt":[1,1,1]}';
    expect(formatEvent({ ...event, message: emf }, { style: pickStyle(false, {}), withDate: false, aliasWidth: 7 })).toBe('11:59:58.123 batcher EMF   DeliveryAttempt=1,1,1 service=webhook-worker');
    expect(formatEvent({ ...event, message: 'START RequestId: abc Version: $LATEST' }, { style: pickStyle(false, {}), withDate: false, aliasWidth: 7 })).toBe('11:59:58.123 batcher START RequestId: abc Version: $LATEST');
  });
});
