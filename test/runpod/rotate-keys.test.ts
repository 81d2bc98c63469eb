// `watchpoint runpod rotate-keys` against the stateful fake (test/runpod/fake.ts), only where moto
// cannot serve: keys created or last used days ago (moto stamps both with the real time, and its time
// control is server-wide, which parallel test files cannot share). Everything else, crashes included,
// runs against moto in rotate-keys-moto.test.ts; the time rules themselves are in state.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VALID_DEV, runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import { FakeAws, USER } from './fake.ts';

let fake: FakeAws;
let restore: () => void;
let cwd: string;
const outputs: string[] = [];

beforeEach(async () => {
  fake = new FakeAws();
  restore = fake.install();
  cwd = await tempDir();
  await writeConfig(cwd, { dev: VALID_DEV });
  outputs.length = 0;
});

afterEach(() => restore());

async function rotate(args: string[], options: { interactive?: boolean; answers?: (string | boolean)[] } = {}) {
  const result = await runCli(['runpod', 'rotate-keys', ...args], { cwd, ...options });
  outputs.push(result.stdout, result.stderr);
  return result;
}

describe('keys of different ages', () => {
  it('shows the status with key ids cut to 4 characters and the stage', async () => {
    const old = fake.addKey({ ageDays: 90, lastUsedDaysAgo: 1, inSsm: true });
    const result = await rotate(['--status']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`key …${old.id.slice(-4)}  Active`);
    expect(result.stdout).toContain('age 90d');
    expect(result.stdout).toMatch(/last used 24h ago \(.*, s3, eu-west-1\)\s+<- in SSM/);
    expect(result.stdout).toContain('Stage: ready (next: create)');
    expect(result.stdout).not.toContain(old.id);
    expect(result.stdout).toContain(USER);
  });

  it('create deletes a long-unused inactive old key only with confirmation, never the SSM key', async () => {
    const old = fake.addKey({ ageDays: 200, lastUsedDaysAgo: 100, status: 'Inactive' });
    const current = fake.addKey({ ageDays: 100, lastUsedDaysAgo: 0.01, inSsm: true });
    const result = await rotate(['--stage', 'create', '--yes', '--show-secret']);
    expect(result.code, result.stderr).toBe(0);
    expect(fake.key(old.id)).toBeUndefined();
    expect(fake.key(current.id)).toBeDefined();
    const fresh = fake.keys.find((key) => key.id !== current.id)!;
    expect(result.stdout).toBe(`AWS_ACCESS_KEY_ID=${fresh.id}\nAWS_SECRET_ACCESS_KEY=${fresh.secret}\n`);
    expect(fake.violations).toEqual([]);
  });
});
