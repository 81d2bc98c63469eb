// `watchpoint runpod rotate-keys` end to end through the CLI core, against the stateful fake: whole
// rotations, a crash injected at every mutating step (before and after it takes effect), re-runs
// until convergence, and the invariants checked throughout.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rotateKeysCommand } from '../../src/cli/commands/runpod.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { VALID_DEV, runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import { FakeAws, ID_PARAM, SECRET_PARAM, USER, type CrashMode } from './fake.ts';

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

function ssmConsistent(): boolean {
  const key = fake.key(fake.params.get(ID_PARAM)?.value);
  return key !== undefined && fake.params.get(SECRET_PARAM)?.value === key.secret;
}

function expectNoSecretPrinted(): void {
  const all = outputs.join('\n');
  for (const secret of fake.secretsIssued) expect(all).not.toContain(secret);
}

/**
 * An operator who re-runs whatever stage --status names (with --yes), pastes SSM's credentials into
 * RunPod whenever SSM holds a valid pair, and deactivates once verify has passed. RunPod uploads once
 * between runs. Stops when `done` holds.
 */
async function operate(done: () => boolean, maxRuns = 30): Promise<number> {
  const verified = new Set<string>();
  for (let run = 0; run < maxRuns; run += 1) {
    fake.restart();
    if (fake.operatorConfiguresRunPodFromSsm()) fake.runpodUpload();
    if (done()) return run;
    const status = await rotate(['--status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const state = JSON.parse(status.stdout) as { state: string; next: string | null };
    expect(state.next, `stuck in ${state.state}: ${status.stdout}`).not.toBeNull();
    let stage = state.next!;
    const ssmKey = fake.params.get(ID_PARAM)?.value ?? '';
    if (state.state === 'verify' && verified.has(ssmKey)) stage = 'deactivate';
    const result = await rotate(['--stage', stage, '--yes']);
    if (!fake.crashed) expect(result.code, `${stage}: ${result.stderr}`).toBe(0);
    if (stage === 'verify' && result.code === 0) verified.add(ssmKey);
    fake.runpodUpload();
  }
  throw new Error(`no convergence after ${maxRuns} runs; calls: ${fake.calls.join(' ')}`);
}

function expectConverged(oldKeyId?: string): void {
  expect(fake.violations).toEqual([]);
  expect(fake.runpodFailures).toBe(0);
  expect(fake.keys).toHaveLength(1);
  const [key] = fake.keys;
  expect(key!.status).toBe('Active');
  if (oldKeyId) expect(key!.id).not.toBe(oldKeyId);
  expect(ssmConsistent()).toBe(true);
  expect(fake.runpodKey).toBe(key!.id);
  expect(fake.params.get(ID_PARAM)!.type).toBe('SecureString');
  expect(fake.params.get(SECRET_PARAM)!.type).toBe('SecureString');
  expectNoSecretPrinted();
}

describe('a whole rotation', () => {
  it('creates, verifies, deactivates and deletes, one stage per run, with the invariants intact', async () => {
    const old = fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
    fake.runpodKey = old.id;
    const runs = await operate(() => !fake.key(old.id) && fake.keys.length === 1 && ssmConsistent() && fake.runpodKey === fake.keys[0]!.id);
    expect(runs).toBe(4);
    expectConverged(old.id);
    expect(fake.calls.filter((call) => call === 'CreateAccessKey')).toHaveLength(1);
  });

  it('creates the first key of a fresh stack', async () => {
    const runs = await operate(() => fake.keys.length === 1 && ssmConsistent() && fake.runpodKey === fake.keys[0]!.id);
    expect(runs).toBe(1);
    expectConverged();
  });

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
});

describe('a crash at every step converges', () => {
  const modes: CrashMode[] = ['before', 'after'];
  for (const mode of modes) {
    // Steps 1-3 are create's CreateAccessKey and two PutParameters, 4 is deactivate, 5 is delete.
    for (const step of [1, 2, 3, 4, 5]) {
      it(`rotation: crash ${mode} mutating step ${step}`, async () => {
        const old = fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
        fake.runpodKey = old.id;
        fake.crashAt(step, mode);
        await operate(() => !fake.key(old.id) && fake.keys.length === 1 && ssmConsistent() && fake.runpodKey === fake.keys[0]!.id);
        expect(fake.calls.some((call) => call.includes('process already dead')) || fake.mutations >= step).toBe(true);
        expectConverged(old.id);
        // Every key created along the way was deleted except the final one.
        expect(fake.deletedKeys).toContain(old.id);
      });
    }
    for (const step of [1, 2, 3]) {
      it(`fresh stack: crash ${mode} mutating step ${step}`, async () => {
        fake.crashAt(step, mode);
        await operate(() => fake.keys.length === 1 && ssmConsistent() && fake.runpodKey === fake.keys[0]!.id);
        expectConverged();
      });
    }
  }

  it('recovers a create interrupted between the id and the secret writes', async () => {
    const old = fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
    fake.runpodKey = old.id;
    fake.crashAt(2, 'after');
    const crashed = await rotate(['--stage', 'create', '--yes']);
    expect(crashed.code).toBe(1);
    fake.restart();
    const stray = fake.keys.find((key) => key.id !== old.id)!;
    expect(fake.params.get(ID_PARAM)!.value).toBe(stray.id);
    const status = await rotate(['--status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'interrupted-create', next: 'create' });
    const again = await rotate(['--stage', 'create', '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(fake.key(stray.id)).toBeUndefined();
    expect(fake.violations).toEqual([]);
    expect(ssmConsistent()).toBe(true);
    expect(fake.keys).toHaveLength(2);
  });

  it('an orphan key (crash right after CreateAccessKey) needs confirmation before it is deleted', async () => {
    const old = fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
    fake.crashAt(1, 'after');
    await rotate(['--stage', 'create', '--yes']);
    fake.restart();
    expect(fake.keys).toHaveLength(2);
    const refused = await rotate(['--stage', 'create']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes');
    expect(fake.keys).toHaveLength(2);
    const status = await rotate(['--status', '--json']);
    expect(JSON.parse(status.stdout).state).toBe('orphan-key');
    const ok = await rotate(['--stage', 'create', '--yes']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(fake.key(old.id)).toBeDefined();
    expect(fake.keys).toHaveLength(2);
    expect(ssmConsistent()).toBe(true);
  });
});

describe('safety rules', () => {
  it('refuses to deactivate without evidence that RunPod switched; --force goes ahead and reactivate undoes it', async () => {
    const old = fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
    fake.runpodKey = old.id;
    expect((await rotate(['--stage', 'create', '--yes'])).code).toBe(0);
    fake.runpodUpload(); // RunPod still on the old key
    const verify = await rotate(['--stage', 'verify']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('no evidence yet');
    const refused = await rotate(['--stage', 'deactivate', '--yes']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('No evidence that RunPod has switched');
    expect(refused.stderr).toContain('--force');
    expect(fake.key(old.id)!.status).toBe('Active');

    const forced = await rotate(['--stage', 'deactivate', '--yes', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('Going ahead because of --force');
    expect(fake.key(old.id)!.status).toBe('Inactive');
    fake.runpodUpload();
    expect(fake.runpodFailures).toBe(1); // the outage the warning described

    // Deleting now would delete the only key RunPod used recently: never, even with --force.
    const del = await rotate(['--stage', 'delete', '--yes', '--force']);
    expect(del.code).toBe(2);
    expect(del.stderr).toContain('only key used in the last 7 days');
    expect(fake.key(old.id)).toBeDefined();

    const back = await rotate(['--stage', 'reactivate']);
    expect(back.code).toBe(0);
    expect(fake.key(old.id)!.status).toBe('Active');
    expect(fake.violations).toEqual([]);
    expectNoSecretPrinted();
  });

  it('does not count verify\'s own STS call as RunPod switching', async () => {
    const old = fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
    fake.runpodKey = old.id;
    await rotate(['--stage', 'create', '--yes']);
    const verify = await rotate(['--stage', 'verify']);
    expect(verify.code).toBe(0);
    const fresh = fake.keys.find((key) => key.id !== old.id)!;
    expect(fresh.service).toBe('sts');
    expect((await rotate(['--stage', 'deactivate', '--yes'])).code).toBe(2);
  });

  it('never deactivates the only key', async () => {
    const only = fake.addKey({ ageDays: 10, lastUsedDaysAgo: 0.01, inSsm: true });
    const result = await rotate(['--stage', 'deactivate', '--yes', '--force']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Nothing to deactivate');
    expect(fake.key(only.id)!.status).toBe('Active');
  });

  it('refuses to create while a rotation is in progress (2 active keys)', async () => {
    fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01 });
    fake.addKey({ ageDays: 1, lastUsedDaysAgo: 0.01, inSsm: true });
    const result = await rotate(['--stage', 'create', '--yes']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('A rotation is in progress');
    expect(fake.calls).not.toContain('CreateAccessKey');
    expect(fake.calls).not.toContain('DeleteAccessKey');
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

  it('create will not delete an inactive key used in the last 7 days', async () => {
    const old = fake.addKey({ ageDays: 100, lastUsedDaysAgo: 2, status: 'Inactive' });
    fake.addKey({ ageDays: 3, lastUsedDaysAgo: 0.01, inSsm: true });
    const result = await rotate(['--stage', 'create', '--yes']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('used in the last 7 days');
    expect(fake.key(old.id)).toBeDefined();
  });

  it('warns loudly that the secret is in SSM only, without --show-secret and without a TTY', async () => {
    fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
    const result = await rotate(['--stage', 'create']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('THE SECRET WAS NOT SHOWN');
    expect(result.stderr).toContain('watchpoint secrets get forecast/runpod_aws_secret_access_key --reveal');
    expectNoSecretPrinted();
  });

  it('--dry-run prints the calls and changes nothing', async () => {
    fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
    const before = JSON.stringify(fake.keys);
    const result = await rotate(['--stage', 'create', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`would call iam:CreateAccessKey ${USER}`);
    expect(result.stdout).toContain(`would call ssm:PutParameter ${SECRET_PARAM}`);
    expect(JSON.stringify(fake.keys)).toBe(before);
    expect(fake.mutations).toBe(0);
  });
});

describe('bad input', () => {
  it('a user that does not exist: exit 2 naming the user and watchpoint deploy', async () => {
    fake.userExists = false;
    const result = await rotate(['--status']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`IAM user ${USER}`);
    expect(result.stderr).toContain('does not exist');
    expect(result.stderr).toContain('watchpoint deploy --env dev');
  });

  it('2 active keys and SSM tracking neither: no stage, guidance instead', async () => {
    fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01 });
    fake.addKey({ ageDays: 30, lastUsedDaysAgo: 0.02 });
    const status = await rotate(['--status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'untracked', next: null });
    for (const stage of ['create', 'deactivate', 'delete']) {
      const result = await rotate(['--stage', stage, '--yes', '--force']);
      expect(result.code, stage).toBe(2);
    }
    expect(fake.mutations).toBe(0);
  });

  it('missing SSM permission: the new key is deleted again and the error says so', async () => {
    const old = fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
    fake.denied.add('PutParameter');
    const result = await rotate(['--stage', 'create', '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('deleting the new key');
    expect(result.stderr).toMatch(/Deleted the new key …\w{4}/);
    expect(result.stderr).toContain('AccessDeniedException');
    expect(result.stderr).toContain('ssm:PutParameter');
    expect(fake.keys.map((key) => key.id)).toEqual([old.id]);
    expect(ssmConsistent()).toBe(true);
    expectNoSecretPrinted();
  });

  it('SSM denies only the secret: the id is restored, the new key deleted', async () => {
    const old = fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
    fake.denied.add(`PutParameter:${SECRET_PARAM}`);
    const result = await rotate(['--stage', 'create', '--yes']);
    expect(result.code).toBe(1);
    expect(fake.keys.map((key) => key.id)).toEqual([old.id]);
    expect(fake.params.get(ID_PARAM)!.value).toBe(old.id);
    expect(fake.violations).toEqual([]);
  });

  it('a failed id write that may have landed: the old id is written back before the new key is deleted', async () => {
    const old = fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
    const put = fake.putParameter.bind(fake);
    let failed = false;
    fake.putParameter = (input) => {
      const result = put(input);
      if (!failed && input.Name === ID_PARAM && input.Value !== old.id) {
        failed = true;
        throw Object.assign(new Error('We encountered an internal error.'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
      }
      return result;
    };
    const result = await rotate(['--stage', 'create', '--yes']);
    expect(result.code).toBe(1);
    expect(fake.keys.map((key) => key.id)).toEqual([old.id]);
    expect(fake.params.get(ID_PARAM)!.value).toBe(old.id);
    expect(ssmConsistent()).toBe(true);
    expect(fake.violations).toEqual([]);
  });

  it('when even the cleanup fails, prints the last 4 of the key and how to delete it', async () => {
    const old = fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
    fake.denied.add('PutParameter');
    const deleteKey = fake.deleteAccessKey.bind(fake);
    fake.deleteAccessKey = () => {
      throw Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: {} });
    };
    const result = await rotate(['--stage', 'create', '--yes']);
    fake.deleteAccessKey = deleteKey;
    expect(result.code).toBe(1);
    const stray = fake.keys.find((key) => key.id !== old.id)!;
    expect(result.stderr).toContain(`could NOT be deleted`);
    expect(result.stderr).toContain(`ending in ${stray.id.slice(-4)}`);
    expect(result.stderr).toContain(`aws iam delete-access-key --user-name ${USER}`);
    expect(result.stderr).not.toContain(stray.id);
  });

  it('no TTY and no --stage: exit 2 naming --stage, before any AWS call', async () => {
    const result = await rotate([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--stage');
    expect(fake.calls).toEqual([]);
  });

  it('rejects bad flags before touching AWS', async () => {
    for (const args of [['--stage', 'rotate'], ['--stage', 'verify', '--timeout', '0'], ['--stage', 'verify', '--show-secret'], ['--status', '--stage', 'create'], ['--json', '--stage', 'create']]) {
      const result = await rotate(args);
      expect(result.code, args.join(' ')).toBe(2);
    }
    expect(fake.calls).toEqual([]);
  });
});

describe('interactive and verify backoff', () => {
  it('walks through the stages on a terminal, stopping until RunPod uses the new key', async () => {
    const old = fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
    fake.runpodKey = old.id;
    // create? yes; verify? yes -> not switched yet -> stops.
    const first = await rotate([], { interactive: true, answers: [true, true] });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('Stopping here');
    expect(fake.keys).toHaveLength(2);
    fake.operatorConfiguresRunPodFromSsm();
    fake.runpodUpload();
    // verify? yes; deactivate? yes (and its confirmation); delete? yes (and its confirmation).
    const second = await rotate([], { interactive: true, answers: [true, true, true, true, true] });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('Rotation complete');
    expectConverged(old.id);
  });

  it('verify backs off while the new key does not authenticate yet, within --timeout', async () => {
    fake.addKey({ ageDays: 90, lastUsedDaysAgo: 0.01, inSsm: true });
    await rotate(['--stage', 'create']);
    fake.stsRejections = 3;
    const sleeps: number[] = [];
    const io = new RecordingIo([], false);
    const code = await rotateKeysCommand(
      { io, cwd, env: {}, options: {}, rotate: { stage: 'verify', timeout: '60' } },
      { sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(code).toBe(0);
    expect(sleeps).toEqual([1000, 2000, 4000]);
    expect(io.stderr).toContain('authenticates');

    fake.stsRejections = 100;
    const io2 = new RecordingIo([], false);
    const failed = await rotateKeysCommand(
      { io: io2, cwd, env: {}, options: {}, rotate: { stage: 'verify', timeout: '20' } },
      { sleep: async () => undefined },
    );
    expect(failed).toBe(1);
    expect(io2.stderr).toContain('still does not authenticate after 20 s');
  });
});
