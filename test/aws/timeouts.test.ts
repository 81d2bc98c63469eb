// Issue 14 item 1: against an endpoint that accepts connections and never answers, every command
// gives up within its budget (WATCHPOINT_AWS_TIMEOUT), exits 1, and names the call, the endpoint and
// the fix; a call that waits more than ~2 s says what it waits on. Real sockets on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingIo } from '../../src/cli/io.ts';
import { run } from '../../src/cli/run.ts';
import { startBlackHole, type BlackHole } from '../helpers/aws-fake.ts';
import { runCli, tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';

let hole: BlackHole;
let cwd: string;
const BUDGET = '0.5';

beforeAll(async () => {
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' });
  hole = await startBlackHole();
  cwd = await tempDir();
  await writeConfig(cwd, { dev: { ...VALID_DEV, awsEndpointUrl: hole.url } });
});
afterAll(async () => hole.close());

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

describe('a black-hole endpoint', () => {
  it.each([
    [['status', '--env', 'dev'], 'cloudformation:Describe'],
    [['dlq', 'inspect', '--env', 'dev'], 'cloudformation:Describe'],
    [['secrets', 'list', '--env', 'dev'], 'ssm:DescribeParameters'],
    [['deploy', '--env', 'dev', '--dry-run', '--skip-image', '--skip-migrations'], 'sts:GetCallerIdentity'],
  ])('%j gives up within the budget, exit 1, naming the call, the endpoint and the fix', async (argv, call) => {
    const started = Date.now();
    const result = await runCli(argv, { cwd, env: { WATCHPOINT_AWS_TIMEOUT: BUDGET } });
    const elapsed = Date.now() - started;
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(call);
    expect(result.stderr).toContain(`at ${hole.url}`);
    expect(result.stderr).toMatch(/did not answer within 0\.5 s/);
    expect(lastLine(result.stderr)).toMatch(/^ {2}fix: .*WATCHPOINT_AWS_TIMEOUT/);
    // Bounded: a few budgets at most (the SDK's retry back-off comes on top of the budget).
    expect(elapsed).toBeLessThan(Number(BUDGET) * 1000 * 10);
  });

  it('db migrate gives up on a database that never answers, naming it', async () => {
    const port = new URL(hole.url).port;
    const result = await runCli(['db', 'migrate', '--dry-run'], { cwd, env: { WATCHPOINT_AWS_TIMEOUT: BUDGET, WATCHPOINT_DATABASE_URL: `postgres://u:secret-pw@127.0.0.1:${port}/db` } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/timeout/i);
    expect(result.stderr).not.toContain('secret-pw');
    // Item 10: a dry run that fails says it changed nothing, not that "no migration was kept".
    expect(result.stderr).toContain('nothing was changed (a dry run only reads)');
    expect(result.stderr).not.toContain('no migration of this run was kept');
    expect(lastLine(result.stderr)).toMatch(/^ {2}fix: /);
  });

  it('says which call it waits on after about 2 s', async () => {
    const result = await runCli(['secrets', 'list', '--env', 'dev'], { cwd, env: { WATCHPOINT_AWS_TIMEOUT: '2.6' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`waiting on ssm:DescribeParameters at ${hole.url} (2 s; gives up after 2.6 s, WATCHPOINT_AWS_TIMEOUT changes that)`);
  });

  it('--verbose shows each call as it starts and ends', async () => {
    const io = new RecordingIo([], false);
    const code = await run(['--verbose', 'secrets', 'list', '--env', 'dev'], { io, cwd, env: { WATCHPOINT_AWS_TIMEOUT: BUDGET }, streams: { stdout: { write: () => true }, stderr: { write: () => true } } });
    expect(code).toBe(1);
    expect(io.stderr).toContain(`aws → ssm:DescribeParameters ${hole.url}`);
    expect(io.stderr).toMatch(/aws ← ssm:DescribeParameters failed: AwsCallTimeoutError in \d+ ms/);
  });

  it('refuses a WATCHPOINT_AWS_TIMEOUT that is not a number of seconds, exit 2, before any call', async () => {
    const before = hole.accepted();
    const result = await runCli(['secrets', 'list', '--env', 'dev'], { cwd, env: { WATCHPOINT_AWS_TIMEOUT: 'soon' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('WATCHPOINT_AWS_TIMEOUT="soon"');
    expect(hole.accepted()).toBe(before);
  });
});
