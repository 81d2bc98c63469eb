// The deploy orchestration against fakes of every port: order, skips, approvals, the prod guard,
// failure reports, no TTY, --dry-run and Ctrl-C.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { deploy } from '../../src/cli/deploy/plan.ts';
import { ApprovalDriftError } from '../../src/cli/deploy/toolkit.ts';
import { NonInteractiveIo, RecordingIo } from '../../src/cli/io.ts';
import { STAGE, diffOf, fakes, request, projectWithImageContext } from './fakes.ts';

let dir: string;
beforeEach(async () => {
  dir = await projectWithImageContext();
});

function nonInteractive(yes: boolean) {
  const err: string[] = [];
  const out: string[] = [];
  const io = new NonInteractiveIo({ stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } }, yes);
  return { io, stderr: () => err.join(''), stdout: () => out.join('') };
}

describe('deploy orchestration', () => {
  it('runs preflight, image build alongside synth, diffs, then registry, push, platform, outputs, in that order', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { outputs: { 'watchpoint-dev': { ApiEndpoint: 'https://api.example.com' } } });
    const code = await deploy(request(dir), f.deps);
    expect(code).toBe(0);
    const tag = f.log.find((l) => l.startsWith('synth '))!.slice('synth '.length);
    expect(tag).toMatch(/^[0-9a-f]{20}$/);
    const image = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/watchpoint-dev-eval-worker:${tag}`;
    expect(f.log).toEqual([
      'sts:GetCallerIdentity',
      'secrets check',
      'db: list pending migrations',
      'cfn:DescribeStacks CDKToolkit',
      `ecr:DescribeImages watchpoint-dev-eval-worker:${tag}`,
      'ecr:GetAuthorizationToken',
      `build ${image}`,
      `synth ${tag}`,
      'cfn:DescribeStacks watchpoint-dev-registry',
      'diff watchpoint-dev-registry',
      'cfn:DescribeStacks watchpoint-dev',
      'diff watchpoint-dev',
      'deploy watchpoint-dev-registry',
      'login AWS@123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      `push ${image}`,
      `ecr:DescribeImages watchpoint-dev-eval-worker:${tag}`,
      'deploy watchpoint-dev',
    ]);
    expect(io.questions).toEqual([]);
    expect(io.stdout).toContain('watchpoint-dev.ApiEndpoint = https://api.example.com');
    expect(io.stderr).toContain('account 123456789012, region eu-west-1');
    const saved = JSON.parse(await readFile(join(dir, '.watchpoint', 'outputs-dev.json'), 'utf8'));
    expect(saved).toMatchObject({ env: 'dev', account: '123456789012', region: 'eu-west-1', imageTag: tag, stacks: { 'watchpoint-dev': { ApiEndpoint: 'https://api.example.com' } } });
    // The ECR password went to the container CLI port only, never to the operator's screen.
    expect(io.stderr + io.stdout).not.toContain('s3cret-token');
  });

  it('skips build, login and push when ECR already has the content-hash tag', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true });
    expect(await deploy(request(dir), f.deps)).toBe(0);
    expect(f.log.filter((l) => /^(build|login|push) |GetAuthorizationToken/.test(l))).toEqual([]);
    expect(f.log).toContain('deploy watchpoint-dev');
  });

  it('gives the same tag for the same inputs and a new one when an input changes', async () => {
    const first = fakes(new RecordingIo([], true), dir, { imagePresent: true });
    await deploy(request(dir), first.deps);
    const second = fakes(new RecordingIo([], true), dir, { imagePresent: true });
    await deploy(request(dir), second.deps);
    const synthOf = (log: string[]) => log.find((l) => l.startsWith('synth '));
    expect(synthOf(second.log)).toBe(synthOf(first.log));
    await writeFile(join(dir, 'ctx', 'hello.txt'), 'changed\n');
    const third = fakes(new RecordingIo([], true), dir, { imagePresent: true });
    await deploy(request(dir), third.deps);
    expect(synthOf(third.log)).not.toBe(synthOf(first.log));
  });

  it('--image-tag deploys that tag; --skip-image never builds', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true });
    expect(await deploy(request(dir, { imageTag: 'v1.2.3', skipImage: true }), f.deps)).toBe(0);
    expect(f.log).toContain('synth v1.2.3');
    expect(f.log.filter((l) => /^(build|push) /.test(l))).toEqual([]);
  });

  it('--skip-image on a tag ECR lacks refuses up front (exit 2), naming the tag and how to push it', async () => {
    for (const extra of [{ imageTag: 'v1.2.3' }, {}]) {
      const io = new RecordingIo([], true);
      const f = fakes(io, dir, { imagePresent: false, bootstrap: undefined });
      const error = await deploy(request(dir, { skipImage: true, ...extra }), f.deps).then(() => undefined, (e: unknown) => e as { exitCode: number; code: string; message: string; fix: string });
      expect(error).toMatchObject({ exitCode: 2, code: 'IMAGE_NOT_IN_ECR' });
      expect(error!.message).toMatch(/ECR has no watchpoint-dev-eval-worker:[0-9a-z.]+/);
      expect(error!.fix).toContain('watchpoint image push --env dev');
      // Before the bootstrap question, the synth, the build and any change.
      expect(io.questions).toEqual([]);
      expect(f.log.filter((l) => /^(synth|build|deploy|bootstrap|db: apply)/.test(l))).toEqual([]);
    }
  });

  describe('approvals', () => {
    const broadening = { 'watchpoint-dev': diffOf('watchpoint-dev', 3, 'broadening', 'IAM Statement Changes\n+ sqs:SendMessage') };

    it('asks before a security-broadening change (default policy), after the diff is shown, and passes the approval on', async () => {
      const io = new RecordingIo([true], true);
      const f = fakes(io, dir, { diffs: broadening, imagePresent: true });
      expect(await deploy(request(dir), f.deps)).toBe(0);
      expect(io.questions).toHaveLength(1);
      expect(io.questions[0]).toMatchObject({ kind: 'confirm', dangerous: true, default: false });
      expect(io.questions[0]!.message).toContain('account 123456789012, region eu-west-1');
      expect(io.stderr).toContain('IAM Statement Changes');
      expect(io.stderr).toContain('Needs approval: watchpoint-dev: it widens IAM');
      expect(f.approvedFor.get('watchpoint-dev')).toBe('broadening');
    });

    it('deploys nothing when the operator declines', async () => {
      const io = new RecordingIo([false], true);
      const f = fakes(io, dir, { diffs: broadening, imagePresent: false });
      expect(await deploy(request(dir), f.deps)).toBe(0);
      expect(f.log.filter((l) => /^(deploy|push) /.test(l))).toEqual([]);
      expect(io.stderr).toContain('Not deployed; nothing was changed.');
    });

    it('does not ask for a non-broadening change by default, and approves only up to what the diff showed', async () => {
      const io = new RecordingIo([], true);
      const f = fakes(io, dir, { diffs: { 'watchpoint-dev': diffOf('watchpoint-dev', 2, 'non-broadening') }, imagePresent: true });
      expect(await deploy(request(dir), f.deps)).toBe(0);
      expect(io.questions).toEqual([]);
      expect(f.approvedFor.get('watchpoint-dev')).toBe('non-broadening');
    });

    it('--require-approval any-change asks for any change; never asks for nothing', async () => {
      const any = new RecordingIo([true], true);
      const f1 = fakes(any, dir, { diffs: { 'watchpoint-dev': diffOf('watchpoint-dev', 1) }, imagePresent: true });
      await deploy(request(dir, { requireApproval: 'any-change' }), f1.deps);
      expect(any.questions).toHaveLength(1);

      const never = new RecordingIo([], true);
      const f2 = fakes(never, dir, { diffs: broadening, imagePresent: true });
      await deploy(request(dir, { requireApproval: 'never' }), f2.deps);
      expect(never.questions).toEqual([]);
      expect(f2.approvedFor.get('watchpoint-dev')).toBe('broadening');
    });

    it('without a terminal, a needed approval exits 2 naming --yes, before anything is deployed', async () => {
      const { io } = nonInteractive(false);
      const f = fakes(io, dir, { diffs: broadening, imagePresent: true });
      await expect(deploy(request(dir), f.deps)).rejects.toMatchObject({ exitCode: 2, code: 'CONFIRMATION_REQUIRED', fix: expect.stringContaining('--yes') });
      expect(f.log.filter((l) => l.startsWith('deploy '))).toEqual([]);
    });

    it('refuses a deploy whose change set widens permissions beyond the approved diff', async () => {
      const io = new RecordingIo([], true);
      const f = fakes(io, dir, { imagePresent: true });
      const cloud = await f.deps.cloud();
      f.deps.cloud = async () => ({ ...cloud, deploy: async (_d, stackName) => { throw new ApprovalDriftError(stackName, 'broadening', 'none', new Error('DeployAborted')); } });
      await expect(deploy(request(dir), f.deps)).rejects.toMatchObject({ code: 'APPROVAL_DRIFT', exitCode: 1 });
    });
  });

  describe('prod', () => {
    const prod = (overrides = {}) => request(dir, { envName: 'prod', outputsFile: join(dir, '.watchpoint', 'outputs-prod.json'), ...overrides });

    const changed = { 'watchpoint-prod': diffOf('watchpoint-prod', 2) };

    it('confirms any change, showing account, region and the diff summary', async () => {
      const io = new RecordingIo([true], true);
      const f = fakes(io, dir, { imagePresent: true, diffs: changed });
      expect(await deploy(prod(), f.deps)).toBe(0);
      expect(io.questions).toHaveLength(1);
      expect(io.questions[0]!.message).toMatch(/Deploy "prod" to account 123456789012, region eu-west-1 \(watchpoint-prod-registry: no changes; watchpoint-prod: 2 changes?/);
    });

    it('asks nothing when nothing would change (no stack change, no image, no migration), even for prod', async () => {
      const io = new RecordingIo([], true);
      const f = fakes(io, dir, { imagePresent: true });
      expect(await deploy(prod(), f.deps)).toBe(0);
      expect(io.questions).toEqual([]);
      expect(io.stderr).toContain('Nothing to change in "prod"');
    });

    it('without a terminal a change needs --yes (exit 2), and goes ahead with it', async () => {
      const refused = nonInteractive(false);
      const f1 = fakes(refused.io, dir, { imagePresent: true, diffs: changed });
      await expect(deploy(prod(), f1.deps)).rejects.toMatchObject({ exitCode: 2, fix: expect.stringContaining('--yes') });
      expect(f1.log.filter((l) => l.startsWith('deploy '))).toEqual([]);

      const yes = nonInteractive(true);
      const f2 = fakes(yes.io, dir, { imagePresent: true, diffs: changed });
      expect(await deploy(prod(), f2.deps)).toBe(0);
      expect(f2.log).toContain('deploy watchpoint-prod');
    });
  });

  describe('preflight', () => {
    it('refuses credentials for another account (exit 2) before anything else', async () => {
      const io = new RecordingIo([], true);
      const f = fakes(io, dir, { account: '999999999999' });
      await expect(deploy(request(dir), f.deps)).rejects.toMatchObject({ exitCode: 2, code: 'ACCOUNT_MISMATCH', message: expect.stringContaining('999999999999') });
      expect(f.log).toEqual(['sts:GetCallerIdentity']);
    });

    it('stops when the secrets check fails, naming the secret', async () => {
      const io = new RecordingIo([], true);
      const f = fakes(io, dir, { secretsOk: false });
      await expect(deploy(request(dir), f.deps)).rejects.toMatchObject({ exitCode: 1, code: 'SECRETS_NOT_READY', message: expect.stringContaining('billing/stripe_secret_key') });
      expect(f.log.some((l) => l.startsWith('synth') || l.startsWith('deploy'))).toBe(false);
    });

    it('offers to bootstrap a fresh account/region, and bootstraps before anything else when accepted', async () => {
      const io = new RecordingIo([true], true);
      const f = fakes(io, dir, { bootstrap: undefined, imagePresent: true });
      expect(await deploy(request(dir), f.deps)).toBe(0);
      expect(io.questions[0]!.message).toContain('aws://123456789012/eu-west-1 is not bootstrapped');
      expect(f.log.indexOf('bootstrap aws://123456789012/eu-west-1')).toBeLessThan(f.log.findIndex((l) => l.startsWith('synth')));
    });

    it('stops with exit 2 when the bootstrap is declined', async () => {
      const io = new RecordingIo([false], true);
      const f = fakes(io, dir, { bootstrap: undefined });
      await expect(deploy(request(dir), f.deps)).rejects.toMatchObject({ exitCode: 2, code: 'BOOTSTRAP_REQUIRED' });
      expect(f.log.some((l) => l.startsWith('bootstrap '))).toBe(false);
    });

    it('refuses to deploy over a stack that is busy', async () => {
      const io = new RecordingIo([], true);
      const f = fakes(io, dir, { statuses: { 'watchpoint-dev-registry': 'UPDATE_COMPLETE', 'watchpoint-dev': 'UPDATE_ROLLBACK_IN_PROGRESS' }, imagePresent: true });
      await expect(deploy(request(dir), f.deps)).rejects.toMatchObject({ exitCode: 2, code: 'STACK_BUSY' });
      expect(f.log.some((l) => l.startsWith('deploy '))).toBe(false);
    });
  });

  it('reports the failed resources with CloudFormation reasons, root cause first, and the rollback state (exit 1)', async () => {
    const io = new RecordingIo([], true);
    const at = new Date();
    const f = fakes(io, dir, {
      imagePresent: true,
      failDeploy: 'watchpoint-dev',
      statusAfterFailure: 'UPDATE_ROLLBACK_IN_PROGRESS',
      events: [
        { logicalId: 'ApiFunction', resourceType: 'AWS::Lambda::Function', status: 'UPDATE_FAILED', reason: 'Resource update cancelled', timestamp: at },
        { logicalId: 'EvalWorkerUrgent', resourceType: 'AWS::Lambda::Function', status: 'UPDATE_FAILED', reason: 'Source image 1234.dkr.ecr/x:abc does not exist', timestamp: at },
        { logicalId: 'watchpoint-dev', resourceType: 'AWS::CloudFormation::Stack', status: 'UPDATE_IN_PROGRESS', reason: 'User Initiated', timestamp: at },
      ],
    });
    const error = await deploy(request(dir), f.deps).then(
      () => undefined,
      (e: unknown) => e as Error & { exitCode: number; code: string; fix: string },
    );
    if (!error) throw new Error('deploy should have failed');
    expect(error).toMatchObject({ exitCode: 1, code: 'DEPLOY_FAILED' });
    const lines = error.message.split('\n');
    expect(lines[0]).toContain('watchpoint-dev is rolling back (UPDATE_ROLLBACK_IN_PROGRESS)');
    expect(lines[2]).toContain('EvalWorkerUrgent (AWS::Lambda::Function) UPDATE_FAILED: Source image 1234.dkr.ecr/x:abc does not exist');
    expect(lines[3]).toContain('ApiFunction');
    expect(error.fix).toContain('Wait for the rollback');
    expect(f.log).toContain('cfn:DescribeStackEvents watchpoint-dev');
  });

  it('--dry-run runs preflight and diff, prints every step with the exact commands, and changes nothing', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { bootstrap: undefined, diffs: { 'watchpoint-prod': diffOf('watchpoint-prod', 4, 'broadening') } });
    expect(await deploy(request(dir, { dryRun: true, envName: 'prod' }), f.deps)).toBe(0);
    expect(io.questions).toEqual([]);
    expect(f.log.filter((l) => /^(deploy|build|push|login|bootstrap) /.test(l))).toEqual([]);
    expect(f.log).toContain('diff watchpoint-prod');
    const out = io.stdout;
    expect(out).toContain('Dry run: nothing was changed');
    expect(out).toContain('toolkit-lib bootstrap aws://123456789012/eu-west-1');
    expect(out).toMatch(/fakecli build --platform linux\/arm64 -f .*Dockerfile -t 123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/watchpoint-prod-eval-worker:[0-9a-f]{20}/);
    expect(out).toContain('fakecli login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com');
    expect(out).toContain('toolkit-lib deploy watchpoint-prod (cloudformation:CreateChangeSet');
    expect(out).toContain('ask for confirmation: watchpoint-prod: it widens IAM');
    expect(out).toContain('no changes (toolkit-lib skips it');
  });

  it('on Ctrl-C during a stack deploy, says what state the stack is in and how to watch or cancel it (exit 130)', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, hangDeploy: 'watchpoint-dev' });
    const running = deploy(request(dir), f.deps);
    while (!f.log.includes('deploy watchpoint-dev')) await new Promise((resolve) => setTimeout(resolve, 5));
    f.interrupt();
    expect(await running).toBe(130);
    expect(io.stderr).toContain('watchpoint-dev is still changing (UPDATE_IN_PROGRESS)');
    expect(io.stderr).toContain('watchpoint status --env dev');
    expect(io.stderr).toContain('cancel-update-stack --stack-name watchpoint-dev');
    expect(f.interruptDisposed()).toBe(true);
  });

  it('Ctrl-C during a first deploy (CREATE_IN_PROGRESS) does not suggest cancel-update-stack, which only works on an update', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, hangDeploy: 'watchpoint-dev', statuses: { 'watchpoint-dev-registry': 'UPDATE_COMPLETE', 'watchpoint-dev': undefined } });
    const stackStatus = f.deps.aws.stackStatus;
    f.deps.aws.stackStatus = async (name) => (f.log.includes('deploy watchpoint-dev') && name === 'watchpoint-dev' ? 'CREATE_IN_PROGRESS' : stackStatus(name));
    const running = deploy(request(dir), f.deps);
    while (!f.log.includes('deploy watchpoint-dev')) await new Promise((resolve) => setTimeout(resolve, 5));
    f.interrupt();
    expect(await running).toBe(130);
    expect(io.stderr).toContain('watchpoint-dev is still changing (CREATE_IN_PROGRESS)');
    expect(io.stderr).not.toContain('cancel-update-stack');
  });

  it('REVIEW_IN_PROGRESS (a first deploy interrupted during change-set creation) is a stack not created yet, not a busy one', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, statuses: { 'watchpoint-dev-registry': 'UPDATE_COMPLETE', 'watchpoint-dev': 'REVIEW_IN_PROGRESS' }, diffs: { 'watchpoint-dev': diffOf('watchpoint-dev', 40) } });
    expect(await deploy(request(dir), f.deps)).toBe(0);
    expect(f.log).toContain('deploy watchpoint-dev');
    expect(io.stderr).toContain('watchpoint-dev: 40 changes (new stack)');
  });

  it('a failure whose stack cannot be read says its state is not known, never "does not exist", and points at no "cause above" when none is shown', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, failDeploy: 'watchpoint-dev' });
    const stackStatus = f.deps.aws.stackStatus;
    f.deps.aws.stackStatus = async (name) => {
      if (f.log.includes('deploy watchpoint-dev')) throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
      return stackStatus(name);
    };
    f.deps.aws.latestStackEvents = async () => { throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }); };
    const error = await deploy(request(dir), f.deps).then(() => undefined, (e: unknown) => e as Error & { fix: string });
    expect(error!.message).toContain('The state of watchpoint-dev is not known: reading it failed (Throttling: Rate exceeded)');
    expect(error!.message).not.toContain('does not exist');
    expect(error!.message).toContain('Its stack events could not be read');
    expect(error!.fix).not.toContain('the cause above');
  });

  it('passes the stage unchanged to the secrets check', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true });
    let seen: unknown;
    f.deps.secrets = async (input) => {
      seen = input;
      return { ok: true, problems: [] };
    };
    await deploy(request(dir), f.deps);
    expect(seen).toEqual({ envName: 'dev', stage: STAGE });
  });
});

describe('deploy orchestration: image failures stop early', () => {
  it('a missing Dockerfile stops the deploy before any stack changes (exit 2)', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, {});
    f.deps.imageInputs = { ...f.deps.imageInputs, dockerfile: 'docker/eval-worker/Dockerfile' };
    await expect(deploy(request(dir), f.deps)).rejects.toMatchObject({ exitCode: 2, code: 'DOCKERFILE_MISSING', fix: expect.stringContaining('--skip-image') });
    expect(f.log.some((l) => l.startsWith('deploy ') || l.startsWith('synth'))).toBe(false);
  });

  it('a build that fails while the synth runs stops before the questions and deploys', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, {});
    const container = await f.deps.container();
    f.deps.container = async () => ({ ...container, build: async () => { throw new Error('build exploded'); } });
    await expect(deploy(request(dir), f.deps)).rejects.toThrow('build exploded');
    expect(f.log.some((l) => l.startsWith('deploy '))).toBe(false);
  });
});
