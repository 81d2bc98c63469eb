// `watchpoint status` against CloudFormation, CloudWatch and SQS mocked with aws-sdk-client-mock
// (test/status/fake-aws.ts), only for what moto cannot serve; everything else is in
// status-moto.test.ts. Stays here: stack drift and UPDATE_ROLLBACK_COMPLETE (moto has no drift
// detection and no failed updates), a stack of more than 100 resources (moto's DescribeStackResources
// never stops at 100, so the ListStackResources fallback is unreachable there), and the --watch loop's
// concurrency (counted in flight inside the fake, with a per-call delay).
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordingIo } from '../../src/cli/io.ts';
import { statusCommand, type StatusContext } from '../../src/cli/commands/status.ts';
import { VALID_DEV, runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import { FakeEnvironment, callNames, type FakeMocks } from './fake-aws.ts';

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

describe('stacks', () => {
  it('shows status, last update and drift when known', async () => {
    world.platform!.drift = { status: 'DRIFTED', checkedAt: world.ago(3600) };
    world.platform!.status = 'UPDATE_ROLLBACK_COMPLETE';
    const { report, code } = await statusJson();
    expect(code).toBe(0);
    expect(report.stacks).toEqual([
      { name: 'watchpoint-dev-registry', role: 'registry', status: 'CREATE_COMPLETE', lastUpdatedAt: world.registry!.lastUpdated.toISOString(), drift: null, hotswapped: null },
      { name: 'watchpoint-dev', role: 'platform', status: 'UPDATE_ROLLBACK_COMPLETE', lastUpdatedAt: world.platform!.lastUpdated.toISOString(), drift: { status: 'DRIFTED', checkedAt: world.ago(3600).toISOString() }, hotswapped: null },
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

describe('--watch', () => {
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

});
