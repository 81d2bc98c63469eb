// `watchpoint logs` against moto's CloudFormation and CloudWatch Logs, reading log events that the
// real handlers wrote with their real Powertools loggers (test/incident/pipeline-run.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import type { RunLogs } from './pipeline-run.ts';
import { deployPlatform, incidentWorld, writeLogLines } from './moto-world.ts';
import { motoStage, uniqueEnvName } from '../helpers/moto.ts';

let run: RunLogs;
let cwd: string;
let envName: string;
let undeployed: string;

beforeAll(async () => {
  ({ run, cwd, envName, undeployed } = await incidentWorld());
});

// A later --env overrides this one (commander keeps the last value).
const logs = (...args: string[]) => runCli(['logs', '--env', envName, ...args], { cwd });
const jsonLines = (stdout: string) => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { timestamp: string; function: string; message: string });

/** A platform of its own whose batcher group holds these lines, and a config naming it. */
async function batcherLogging(lines: string[]): Promise<{ env: string; config: string }> {
  const env = uniqueEnvName();
  const platform = await deployPlatform(env, { only: ['batcher'] });
  await writeLogLines(platform.groups.batcher!, lines);
  const config = await tempDir();
  await writeConfig(config, { [env]: motoStage() });
  return { env, config };
}

describe('watchpoint logs', () => {
  it('every function by default: one line per event, interleaved by time, prefixed with the short name', async () => {
    const { code, stdout, stderr } = await logs('--since', '1h');
    expect(code).toBe(0);
    expect(stderr).toContain('Reading 9 log groups');
    const lines = stdout.split('\n').filter((l) => l !== '');
    const written = Object.values(run.lines).flat().length;
    expect(lines).toHaveLength(written);
    // A window that crosses midnight UTC (a run between 00:00 and 01:00 with --since 1h) dates every line.
    const undated = lines.map((l) => l.replace(/^\d{4}-\d{2}-\d{2} /, ''));
    const prefixes = new Set(undated.map((l) => l.split(/\s+/)[1]));
    expect(prefixes).toEqual(new Set(['batcher', 'eval-urgent', 'email', 'webhook']));
    const times = lines.map((l) => /^(\d{4}-\d{2}-\d{2} )?\d\d:\d\d:\d\d\.\d{3}/.exec(l)![0]);
    expect([...times].sort()).toEqual(times);
    const ready = undated.find((l) => l.includes('ForecastReady'))!;
    expect(ready).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} batcher\\s+INFO  ForecastReady  .*run_id=${run.runId}`));
    // No colour without a terminal.
    expect(stdout).not.toContain('\x1b[');
  });

  it('FUNCTION arguments by short or spec name; --level keeps that level and above', async () => {
    const { code, stdout } = await logs('webhook', 'EmailWorkerFunction', '--since', '1h', '--level', 'warn');
    expect(code).toBe(0);
    const lines = stdout.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^(\d{4}-\d{2}-\d{2} )?\S+ (webhook|email)\s+WARN /);
    // The retried webhook and the permanently failed one, with their notification ids.
    expect(lines.some((l) => l.includes('event=DeliveryRetry') && l.includes(`notification_id=${run.notifications.retriedThenDelivered[0]}`))).toBe(true);
    expect(lines.some((l) => l.includes('event=DeliveryFailed') && l.includes(`notification_id=${run.notifications.failed[0]}`))).toBe(true);
  });

  it('--filter passes a CloudWatch filter pattern through', async () => {
    const { stdout } = await logs('--since', '1h', '--filter', '"DeliverySucceeded"');
    const lines = stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(run.notifications.delivered.length + run.notifications.retriedThenDelivered.length);
    for (const line of lines) expect(line).toContain('Notification delivered');
  });

  it('--json: one object per event (NDJSON), the message exactly as the handler wrote it', async () => {
    const { stdout } = await logs('batcher', 'eval-urgent', '--since', '1h', '--json');
    const events = jsonLines(stdout);
    expect(events.map((e) => e.message).sort()).toEqual([...run.lines.batcher!, ...run.lines['eval-urgent']!].sort());
    expect(new Set(events.map((e) => e.function))).toEqual(new Set(['batcher', 'eval-urgent']));
  });

  it('--limit stops there and says how to continue', async () => {
    const { code, stdout, stderr } = await logs('--since', '1h', '--limit', '3');
    expect(code).toBe(0);
    // At most 3: events sharing the last shown millisecond are held back for the next read.
    const shown = stdout.split('\n').filter((l) => l !== '').length;
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThanOrEqual(3);
    expect(stderr).toMatch(/Stopped at --limit 3: the window holds more events\. Continue with --since \d{4}-\d\d-\d\dT[\d:.]+Z, or raise --limit\./);
  });

  it('reading on with the --since that --limit suggests loses and repeats nothing, even where events share a millisecond', async () => {
    // The handlers' own lines share milliseconds (a Powertools line and its EMF line), but not
    // reliably; these four, written as one Lambda stream would, make the boundary certain.
    const at = Date.parse('2026-11-30T10:00:00.000Z');
    const line = (n: number, ms: number) => JSON.stringify({ level: 'INFO', message: `line ${n}`, timestamp: new Date(at + ms).toISOString(), service: 'batcher' });
    const written = [line(1, 0), line(2, 5), line(3, 9), line(4, 9), line(5, 9), line(6, 20)];
    const { env, config } = await batcherLogging(written);
    const seen: string[] = [];
    let since = '2026-11-30T09:59:00Z';
    for (let page = 0; page < 6; page += 1) {
      const { code, stdout, stderr } = await runCli(['logs', '--env', env, '--since', since, '--until', '2026-11-30T10:01:00Z', '--limit', '4', '--json'], { cwd: config });
      expect(code).toBe(0);
      seen.push(...jsonLines(stdout).map((e) => e.message));
      const next = /Continue with --since (\S+) --until 2026-11-30T10:01:00\.000Z/.exec(stderr);
      if (!next) break;
      since = next[1]!;
    }
    expect(seen).toEqual(written);
  });

  it('more than --limit events in one millisecond: says that the rest of it is skipped', async () => {
    const at = '2026-11-30T11:00:00.000Z';
    const { env, config } = await batcherLogging([1, 2, 3].map((n) => JSON.stringify({ level: 'INFO', message: `line ${n}`, timestamp: at, service: 'batcher' })));
    const { code, stdout, stderr } = await runCli(['logs', '--env', env, '--since', '2026-11-30T10:59:00Z', '--until', '2026-11-30T11:01:00Z', '--limit', '2'], { cwd: config });
    expect(code).toBe(0);
    expect(stdout.split('\n').filter((l) => l !== '')).toHaveLength(2);
    expect(stderr).toContain('Continue with --since 2026-11-30T11:00:00.001Z --until 2026-11-30T11:01:00.000Z, or raise --limit. More than 2 events share 2026-11-30T11:00:00.000Z');
  });

  it('a window with nothing in it says so and suggests a wider --since', async () => {
    const { code, stdout, stderr } = await logs('--since', '2020-01-01T00:00:00Z', '--until', '2020-01-01T01:00:00Z');
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toContain('No events in this window. Widen it with --since');
  });
});

describe('bad input: exit 2 before any AWS call', () => {
  it('an unknown function name lists the known ones', async () => {
    const { code, stderr } = await logs('batchr');
    expect(code).toBe(2);
    expect(stderr).toContain('"batchr" is not a WatchPoint function or log group.');
    expect(stderr).toContain('fix: Use one of: api (ApiFunction), poller (DataPollerFunction), batcher (BatcherFunction)');
  });

  it('an unparsable --since names the forms it accepts', async () => {
    const { code, stderr } = await logs('--since', 'yesterday');
    expect(code).toBe(2);
    expect(stderr).toContain('--since "yesterday" is neither a duration nor an ISO 8601 time.');
    expect(stderr).toContain('fix: Give a duration back from now such as --since 15m, 2h or 3d');
  });

  it('--limit out of range', async () => {
    const { code, stderr } = await logs('--limit', '0');
    expect(code).toBe(2);
    expect(stderr).toContain('--limit "0" is not a whole number');
  });

  it('a stack that is not deployed names `watchpoint deploy`', async () => {
    const { code, stderr } = await logs('--env', undeployed);
    expect(code).toBe(2);
    expect(stderr).toContain(`Stack watchpoint-${undeployed} does not exist`);
    expect(stderr).toContain(`watchpoint deploy --env ${undeployed}`);
  });
});
