// `watchpoint runpod rotate-keys` end to end through run(argv) against moto (test/runpod/moto-world.ts):
// whole rotations, a crash played at every mutating step (before and after it takes effect), re-runs
// until convergence, the invariants watched on every mutating call. IAM's 2-key limit, key status
// and last use, the SSM parameters and the stack are moto's. What moto cannot do (backdate a key's
// creation or last use by days) stays in rotate-keys.test.ts on the fake.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rotateKeysCommand } from '../../src/cli/commands/runpod.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { runCli } from '../helpers/cli.ts';
import { startMotoRecorder, useMotoCredentials, type MotoRecorder } from '../helpers/moto.ts';
import { RotationWorld, type CrashMode } from './moto-world.ts';

useMotoCredentials();
let recorder: MotoRecorder;
let world: RotationWorld;
const outputs: string[] = [];

beforeAll(async () => {
  recorder = await startMotoRecorder();
});
afterAll(() => recorder.stop());
beforeEach(async () => {
  world = new RotationWorld(recorder);
  await world.setup();
  outputs.length = 0;
});

async function rotate(args: string[], options: { interactive?: boolean; answers?: (string | boolean)[] } = {}) {
  const result = await runCli(['runpod', 'rotate-keys', '--env', world.env, ...args], { cwd: world.cwd, ...options });
  outputs.push(result.stdout, result.stderr);
  return result;
}

function expectNoSecretPrinted(): void {
  const all = outputs.join('\n');
  for (const secret of world.secrets.values()) expect(all).not.toContain(secret);
}

/**
 * An operator who re-runs whatever stage --status names (with --yes), pastes SSM's credentials into
 * RunPod whenever SSM holds a valid pair, and deactivates once verify has passed. RunPod uploads once
 * between runs. Stops when `done` holds.
 */
async function operate(done: () => Promise<boolean>, maxRuns = 30): Promise<number> {
  const verified = new Set<string>();
  for (let run = 0; run < maxRuns; run += 1) {
    world.restart();
    if (await world.operatorConfiguresRunPodFromSsm()) await world.runpodUpload();
    if (await done()) return run;
    const status = await rotate(['--status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const state = JSON.parse(status.stdout) as { state: string; next: string | null };
    expect(state.next, `stuck in ${state.state}: ${status.stdout}`).not.toBeNull();
    let stage = state.next!;
    const ssmKey = (await world.param(world.idParam)) ?? '';
    if (state.state === 'verify' && verified.has(ssmKey)) stage = 'deactivate';
    const result = await rotate(['--stage', stage, '--yes']);
    if (!world.crashed) expect(result.code, `${stage}: ${result.stderr}`).toBe(0);
    if (stage === 'verify' && result.code === 0) verified.add(ssmKey);
    world.restart();
    await world.runpodUpload();
  }
  throw new Error(`no convergence after ${maxRuns} runs; calls: ${recorder.actions().join(' ')}`);
}

/** One active key, not the old one, that SSM holds (as a pair) and RunPod uses. */
async function rotated(oldKeyId?: string): Promise<boolean> {
  const keys = await world.keys();
  return keys.length === 1 && keys[0]!.AccessKeyId !== oldKeyId && (await world.ssmConsistent()) && world.runpodKey === keys[0]!.AccessKeyId;
}

async function expectConverged(oldKeyId?: string): Promise<void> {
  expect(world.violations).toEqual([]);
  expect(world.runpodFailures).toBe(0);
  const keys = await world.keys();
  expect(keys).toHaveLength(1);
  expect(keys[0]!.Status).toBe('Active');
  if (oldKeyId) expect(keys[0]!.AccessKeyId).not.toBe(oldKeyId);
  expect(await world.ssmConsistent()).toBe(true);
  expect(world.runpodKey).toBe(keys[0]!.AccessKeyId);
  expect(await world.paramType(world.idParam)).toBe('SecureString');
  expect(await world.paramType(world.secretParam)).toBe('SecureString');
  expectNoSecretPrinted();
}

describe('a whole rotation', () => {
  it('creates, verifies, deactivates and deletes, one stage per run, with the invariants intact', async () => {
    const old = await world.addKey({ used: true, inSsm: true });
    world.runpodKey = old.id;
    const runs = await operate(() => rotated(old.id));
    expect(runs).toBe(4);
    await expectConverged(old.id);
    expect(recorder.count('CreateAccessKey')).toBe(1);
  });

  it('creates the first key of a fresh stack', async () => {
    const runs = await operate(() => rotated());
    expect(runs).toBe(1);
    await expectConverged();
  });

  it('shows the status with key ids cut to 4 characters, the last use as IAM records it, and the stage', async () => {
    const old = await world.addKey({ used: true, inSsm: true });
    const result = await rotate(['--status']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`key …${old.id.slice(-4)}  Active`);
    expect(result.stdout).toContain('age 0m');
    expect(result.stdout).toMatch(/last used 0m ago \(\d{4}-\d\d-\d\dT[\d:.]+Z, s3, eu-west-1\)\s+<- in SSM/);
    expect(result.stdout).toContain('Stage: ready (next: create)');
    expect(result.stdout).not.toContain(old.id);
    expect(result.stdout).toContain(world.user);
  });
});

describe('a crash at every step converges', () => {
  const modes: CrashMode[] = ['before', 'after'];
  for (const mode of modes) {
    // Steps 1-3 are create's CreateAccessKey and two PutParameters, 4 is deactivate, 5 is delete.
    for (const step of [1, 2, 3, 4, 5]) {
      it(`rotation: crash ${mode} mutating step ${step}`, async () => {
        const old = await world.addKey({ used: true, inSsm: true });
        world.runpodKey = old.id;
        world.crashAt(step, mode);
        await operate(() => rotated(old.id));
        expect(world.mutations).toBeGreaterThanOrEqual(step);
        await expectConverged(old.id);
        // The old key was deleted; only the final one is left.
        expect(await world.key(old.id)).toBeUndefined();
      });
    }
    for (const step of [1, 2, 3]) {
      it(`fresh stack: crash ${mode} mutating step ${step}`, async () => {
        world.crashAt(step, mode);
        await operate(() => rotated());
        await expectConverged();
      });
    }
  }

  it('recovers a create interrupted between the id and the secret writes', async () => {
    const old = await world.addKey({ used: true, inSsm: true });
    world.runpodKey = old.id;
    world.crashAt(2, 'after');
    const crashed = await rotate(['--stage', 'create', '--yes']);
    expect(crashed.code).toBe(1);
    world.restart();
    const stray = (await world.keys()).find((key) => key.AccessKeyId !== old.id)!;
    expect(await world.param(world.idParam)).toBe(stray.AccessKeyId);
    const status = await rotate(['--status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'interrupted-create', next: 'create' });
    const again = await rotate(['--stage', 'create', '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(await world.key(stray.AccessKeyId)).toBeUndefined();
    expect(world.violations).toEqual([]);
    expect(await world.ssmConsistent()).toBe(true);
    expect(await world.keys()).toHaveLength(2);
  });

  it('an orphan key (crash right after CreateAccessKey) needs confirmation before it is deleted', async () => {
    const old = await world.addKey({ used: true, inSsm: true });
    world.crashAt(1, 'after');
    await rotate(['--stage', 'create', '--yes']);
    world.restart();
    expect(await world.keys()).toHaveLength(2);
    const refused = await rotate(['--stage', 'create']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes');
    expect(await world.keys()).toHaveLength(2);
    const status = await rotate(['--status', '--json']);
    expect(JSON.parse(status.stdout).state).toBe('orphan-key');
    const ok = await rotate(['--stage', 'create', '--yes']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await world.key(old.id)).toBeDefined();
    expect(await world.keys()).toHaveLength(2);
    expect(await world.ssmConsistent()).toBe(true);
  });
});

describe('safety rules', () => {
  it('refuses to deactivate without evidence that RunPod switched; --force goes ahead and reactivate undoes it', async () => {
    const old = await world.addKey({ used: true, inSsm: true });
    world.runpodKey = old.id;
    expect((await rotate(['--stage', 'create', '--yes'])).code).toBe(0);
    await world.runpodUpload(); // RunPod still on the old key
    const verify = await rotate(['--stage', 'verify']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('no evidence yet');
    const refused = await rotate(['--stage', 'deactivate', '--yes']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('No evidence that RunPod has switched');
    expect(refused.stderr).toContain('--force');
    expect((await world.key(old.id))!.Status).toBe('Active');

    const forced = await rotate(['--stage', 'deactivate', '--yes', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('Going ahead because of --force');
    expect((await world.key(old.id))!.Status).toBe('Inactive');
    await world.runpodUpload();
    expect(world.runpodFailures).toBe(1); // the outage the warning described

    // Deleting now would delete the only key RunPod used recently: never, even with --force.
    const del = await rotate(['--stage', 'delete', '--yes', '--force']);
    expect(del.code).toBe(2);
    expect(del.stderr).toContain('only key used in the last 7 days');
    expect(await world.key(old.id)).toBeDefined();

    const back = await rotate(['--stage', 'reactivate']);
    expect(back.code).toBe(0);
    expect((await world.key(old.id))!.Status).toBe('Active');
    expect(world.violations).toEqual([]);
    expectNoSecretPrinted();
  });

  it("does not count verify's own STS call as RunPod switching (moto records that call's service: sts)", async () => {
    const old = await world.addKey({ used: true, inSsm: true });
    world.runpodKey = old.id;
    await rotate(['--stage', 'create', '--yes']);
    const verify = await rotate(['--stage', 'verify']);
    expect(verify.code).toBe(0);
    const status = JSON.parse((await rotate(['--status', '--json'])).stdout) as { keys: { id: string; lastService: string | null }[] };
    const fresh = (await world.keys()).find((key) => key.AccessKeyId !== old.id)!;
    expect(status.keys.find((key) => fresh.AccessKeyId!.endsWith(key.id.replace(/^…/, '')))?.lastService).toBe('sts');
    expect((await rotate(['--stage', 'deactivate', '--yes'])).code).toBe(2);
  });

  it('never deactivates the only key', async () => {
    const only = await world.addKey({ used: true, inSsm: true });
    const result = await rotate(['--stage', 'deactivate', '--yes', '--force']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Nothing to deactivate');
    expect((await world.key(only.id))!.Status).toBe('Active');
  });

  it('refuses to create while a rotation is in progress (2 active keys)', async () => {
    await world.addKey({ used: true });
    await world.addKey({ used: true, inSsm: true });
    const result = await rotate(['--stage', 'create', '--yes']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('A rotation is in progress');
    expect(recorder.actions()).not.toContain('CreateAccessKey');
    expect(recorder.actions()).not.toContain('DeleteAccessKey');
  });

  it('create will not delete an inactive key used in the last 7 days', async () => {
    const old = await world.addKey({ used: true, status: 'Inactive' });
    await world.addKey({ used: true, inSsm: true });
    const result = await rotate(['--stage', 'create', '--yes']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('used in the last 7 days');
    expect(await world.key(old.id)).toBeDefined();
  });

  it("IAM's own 2-key limit: a third CreateAccessKey is refused by moto, not by the test", async () => {
    await world.addKey();
    await world.addKey();
    await expect(world.addKey()).rejects.toThrow(/LimitExceeded|quota/i);
  });

  it('--show-secret prints the new pair on stdout and nothing else there', async () => {
    const current = await world.addKey({ used: true, inSsm: true });
    const result = await rotate(['--stage', 'create', '--yes', '--show-secret']);
    expect(result.code, result.stderr).toBe(0);
    const fresh = (await world.keys()).find((key) => key.AccessKeyId !== current.id)!;
    expect(result.stdout).toBe(`AWS_ACCESS_KEY_ID=${fresh.AccessKeyId}\nAWS_SECRET_ACCESS_KEY=${world.secrets.get(fresh.AccessKeyId!)}\n`);
    expect(await world.ssmConsistent()).toBe(true);
    expect(world.violations).toEqual([]);
  });

  it('warns loudly that the secret is in SSM only, without --show-secret and without a TTY', async () => {
    await world.addKey({ used: true, inSsm: true });
    const result = await rotate(['--stage', 'create']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('THE SECRET WAS NOT SHOWN');
    expect(result.stderr).toContain('watchpoint secrets get forecast/runpod_aws_secret_access_key --reveal');
    expectNoSecretPrinted();
  });

  it('--dry-run prints the calls and changes nothing', async () => {
    await world.addKey({ used: true, inSsm: true });
    const before = JSON.stringify(await world.keys());
    const result = await rotate(['--stage', 'create', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`would call iam:CreateAccessKey ${world.user}`);
    expect(result.stdout).toContain(`would call ssm:PutParameter ${world.secretParam}`);
    expect(JSON.stringify(await world.keys())).toBe(before);
    expect(world.mutations).toBe(0);
  });
});

describe('bad input', () => {
  it('a user that does not exist: exit 2 naming the user and watchpoint deploy', async () => {
    const { DeleteUserCommand } = await import('@aws-sdk/client-iam');
    await world.iam.send(new DeleteUserCommand({ UserName: world.user }));
    const result = await rotate(['--status']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`IAM user ${world.user}`);
    expect(result.stderr).toContain('does not exist');
    expect(result.stderr).toContain(`watchpoint deploy --env ${world.env}`);
  });

  it('2 active keys and SSM tracking neither: no stage, guidance instead', async () => {
    await world.addKey({ used: true });
    await world.addKey({ used: true });
    const status = await rotate(['--status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'untracked', next: null });
    for (const stage of ['create', 'deactivate', 'delete']) {
      const result = await rotate(['--stage', stage, '--yes', '--force']);
      expect(result.code, stage).toBe(2);
    }
    expect(world.mutations).toBe(0);
  });

  const denied = (name: string) => ({ code: 'AccessDeniedException', message: `User: arn:aws:iam::123456789012:user/operator is not authorized to perform: ssm:PutParameter on resource: ${name}` });

  it('missing SSM permission (injected: moto enforces no IAM): the new key is deleted again and the error says so', async () => {
    const old = await world.addKey({ used: true, inSsm: true });
    recorder.fail('PutParameter', denied('*'));
    const result = await rotate(['--stage', 'create', '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('deleting the new key');
    expect(result.stderr).toMatch(/Deleted the new key …\w{4}/);
    expect(result.stderr).toContain('AccessDeniedException');
    expect(result.stderr).toContain('ssm:PutParameter');
    expect((await world.keys()).map((key) => key.AccessKeyId)).toEqual([old.id]);
    expect(await world.ssmConsistent()).toBe(true);
    expectNoSecretPrinted();
  });

  it('SSM denies only the secret: the id is restored, the new key deleted', async () => {
    const old = await world.addKey({ used: true, inSsm: true });
    recorder.fail('PutParameter', denied(world.secretParam), { when: (body) => body.includes(world.secretParam) });
    const result = await rotate(['--stage', 'create', '--yes']);
    expect(result.code).toBe(1);
    expect((await world.keys()).map((key) => key.AccessKeyId)).toEqual([old.id]);
    expect(await world.param(world.idParam)).toBe(old.id);
    expect(world.violations).toEqual([]);
  });

  it('a failed id write that landed (moto applied it, the answer was a 500): the old id is written back before the new key is deleted', async () => {
    const old = await world.addKey({ used: true, inSsm: true });
    // The SDK retries a 500 (5 attempts): every attempt lands in moto and every answer is lost.
    recorder.fail('PutParameter', { code: 'InternalServerError', message: 'We encountered an internal error.', status: 500 }, {
      afterForward: true,
      when: (body) => body.includes(world.idParam) && !body.includes(old.id),
    });
    const result = await rotate(['--stage', 'create', '--yes']);
    expect(result.code).toBe(1);
    expect((await world.keys()).map((key) => key.AccessKeyId)).toEqual([old.id]);
    expect(await world.param(world.idParam)).toBe(old.id);
    expect(await world.ssmConsistent()).toBe(true);
    expect(world.violations).toEqual([]);
  });

  it('when even the cleanup fails, prints the last 4 of the key and how to delete it', async () => {
    const old = await world.addKey({ used: true, inSsm: true });
    recorder.fail('PutParameter', denied('*'));
    recorder.fail('DeleteAccessKey', { code: 'AccessDenied', message: 'denied', status: 403 });
    const result = await rotate(['--stage', 'create', '--yes']);
    expect(result.code).toBe(1);
    const stray = (await world.keys()).find((key) => key.AccessKeyId !== old.id)!;
    expect(result.stderr).toContain('could NOT be deleted');
    expect(result.stderr).toContain(`ending in ${stray.AccessKeyId!.slice(-4)}`);
    expect(result.stderr).toContain(`aws iam delete-access-key --user-name ${world.user}`);
    expect(result.stderr).not.toContain(stray.AccessKeyId);
  });

  it('no TTY and no --stage: exit 2 naming --stage, before any AWS call', async () => {
    const result = await rotate([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--stage');
    expect(recorder.calls).toEqual([]);
  });

  it('rejects bad flags before touching AWS', async () => {
    for (const args of [['--stage', 'rotate'], ['--stage', 'verify', '--timeout', '0'], ['--stage', 'verify', '--show-secret'], ['--status', '--stage', 'create'], ['--json', '--stage', 'create']]) {
      const result = await rotate(args);
      expect(result.code, args.join(' ')).toBe(2);
    }
    expect(recorder.calls).toEqual([]);
  });
});

describe('interactive and verify backoff', () => {
  it('walks through the stages on a terminal, stopping until RunPod uses the new key', async () => {
    const old = await world.addKey({ used: true, inSsm: true });
    world.runpodKey = old.id;
    // create? yes; verify? yes -> not switched yet -> stops.
    const first = await rotate([], { interactive: true, answers: [true, true] });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('Stopping here');
    expect(await world.keys()).toHaveLength(2);
    await world.operatorConfiguresRunPodFromSsm();
    await world.runpodUpload();
    // verify? yes; deactivate? yes (and its confirmation); delete? yes (and its confirmation).
    const second = await rotate([], { interactive: true, answers: [true, true, true, true, true] });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('Rotation complete');
    await expectConverged(old.id);
  });

  it('verify backs off while the new key does not authenticate yet, within --timeout', async () => {
    await world.addKey({ used: true, inSsm: true });
    await rotate(['--stage', 'create']);
    world.rejectSts(3);
    const sleeps: number[] = [];
    const io = new RecordingIo([], false);
    const context = { io, cwd: world.cwd, env: {}, options: { env: world.env } };
    const code = await rotateKeysCommand({ ...context, rotate: { stage: 'verify', timeout: '60' } }, { sleep: async (ms) => void sleeps.push(ms) });
    expect(code).toBe(0);
    expect(sleeps).toEqual([1000, 2000, 4000]);
    expect(io.stderr).toContain('authenticates');

    world.rejectSts(100);
    const io2 = new RecordingIo([], false);
    const failed = await rotateKeysCommand({ ...context, io: io2, rotate: { stage: 'verify', timeout: '20' } }, { sleep: async () => undefined });
    expect(failed).toBe(1);
    expect(io2.stderr).toContain('still does not authenticate after 20 s');
  });
});
