// Done-when of issue 21, on moto: a deploy, a second deploy with a changed handler, `releases` lists
// both, `rollback` restores the first. The deploys are `watchpoint deploy` (deployCommand) with the
// real toolkit-lib deploy, the real stack code and the real ledger; the zip bundles are written here
// (one handler's bytes change between the deploys) instead of by esbuild, and the image "push" records
// the image in moto's ECR. The rollback runs through run(argv) with nothing injected.
// moto 5.2.1 applies an UPDATE change set's template (GetTemplate returns it) but does not update the
// Lambda function's code, so "restored" is checked on the stack's template, as CloudFormation holds it.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudFormationClient, CreateStackCommand, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { ECRClient } from '@aws-sdk/client-ecr';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deployCommand } from '../../src/cli/commands/deploy.ts';
import { NonInteractiveIo, RecordingIo } from '../../src/cli/io.ts';
import { createLedger, releaseLedgerBucketName } from '../../src/cli/releases/ledger.ts';
import type { ContainerCli } from '../../src/cli/deploy/ports.ts';
import { ZIP_HANDLERS } from '../../src/stack/bundling/handlers.ts';
import type { ZipBundles } from '../../src/stack/bundling/build.ts';
import { runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import { recordPushedImage } from '../helpers/moto-fixtures.ts';
import { accountClient, isolatedAccount, motoEndpoint, motoStage, uniqueEnvName, useMotoCredentials, type MotoAccount } from '../helpers/moto.ts';

// What a rollback must never run: counted here, around the real modules.
const counts = vi.hoisted(() => ({ synthesize: 0, esbuild: 0, container: 0 }));
vi.mock('../../src/cli/commands/synth.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/cli/commands/synth.ts')>();
  return { ...real, synthesize: (...args: Parameters<typeof real.synthesize>) => ((counts.synthesize += 1), real.synthesize(...args)) };
});
vi.mock('esbuild', async (importOriginal) => {
  const real = await importOriginal<typeof import('esbuild')>();
  return { ...real, build: (...args: Parameters<typeof real.build>) => ((counts.esbuild += 1), real.build(...args)) };
});
vi.mock('../../src/cli/deploy/container.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/cli/deploy/container.ts')>();
  return { ...real, createContainerCli: (...args: Parameters<typeof real.createContainerCli>) => ((counts.container += 1), real.createContainerCli(...args)) };
});

let account: MotoAccount;
let cwd: string;
const env = uniqueEnvName('rb');
const platform = `watchpoint-${env}`;

/** Six bundles written by hand; `api` says `apiVersion`. Hash = the bytes' hash, as the bundler names them. */
async function bundles(apiVersion: string): Promise<ZipBundles> {
  const out: Partial<ZipBundles> = {};
  for (const handler of ZIP_HANDLERS) {
    const code = `export const handler = async () => ${JSON.stringify(handler === 'api' ? apiVersion : handler)};\n`;
    const hash = createHash('sha256').update(code).digest('hex').slice(0, 32);
    const dir = join(cwd, 'bundles', hash);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'index.mjs'), code);
    out[handler] = { handler, dir, hash, bytes: code.length, reused: false };
  }
  return out as ZipBundles;
}

async function deployWith(apiVersion: string): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  // As `deploy --yes` without a terminal: the bootstrap question is answered yes.
  const io = new NonInteractiveIo({ stdout: { write: () => true }, stderr: { write: (text: string) => err.push(text) } }, true);
  const ecr = accountClient(ECRClient, account);
  const container: ContainerCli = {
    name: 'test-push',
    async build() {},
    async login() {},
    // The push, as ECR sees it: the tag now names one image manifest.
    push: (image) => recordPushedImage(ecr, image),
  };
  const made = await bundles(apiVersion);
  // As run() does for each command: the run's AWS runtime (time budget, --verbose log).
  const { startAwsRuntime, endAwsRuntime } = await import('../../src/cli/aws/runtime.ts');
  startAwsRuntime({ io, env: {}, verbose: false });
  const code = await deployCommand(
    { flags: { imageTag: `img-${apiVersion}`, requireApproval: 'never' }, env: { WATCHPOINT_ENV: env }, cwd, io, options: { env, yes: true } },
    {
      container,
      secrets: async () => ({ ok: true, problems: [] }),
      migrations: { pending: async () => ({ database: 'postgres://test@db/watchpoint', pending: [] }), apply: async () => ({ database: 'postgres://test@db/watchpoint', applied: [] }) },
      synth: async ({ imageTag, outdir }) => {
        const { createPlatformApp } = await import('../../src/stack/app.ts');
        const { loadStage } = await stageFor();
        createPlatformApp({ envName: env, stage: loadStage, imageTag, outdir, bundles: made, nag: false }).app.synth();
      },
      ledgerRetryDelays: [],
    },
  );
  endAwsRuntime();
  return { code, stderr: err.join('') };
}

async function stageFor() {
  const { resolveStage } = await import('../../src/cli/context.ts');
  const { stage } = await resolveStage({ env: { WATCHPOINT_ENV: env }, cwd, io: new RecordingIo(), options: { env } });
  return { loadStage: stage };
}

async function apiCodeKey(): Promise<string> {
  const cfn = accountClient(CloudFormationClient, account);
  const body = (await cfn.send(new GetTemplateCommand({ StackName: platform }))).TemplateBody!;
  const template = JSON.parse(body) as { Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string }; Handler?: string; Environment?: unknown } }> };
  const keys = Object.entries(template.Resources).filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && /^FunctionsApiFunction/.test(id)).map(([, r]) => r.Properties.Code?.S3Key);
  expect(keys).toHaveLength(1);
  return keys[0]!;
}

beforeAll(async () => {
  account = await isolatedAccount();
  useMotoCredentials(account.credentials);
  cwd = await tempDir();
  await writeConfig(cwd, { [env]: motoStage({ account: account.accountId }) });
  // toolkit-lib's template URL for moto (../shared/NOTES.md); the rollback honours the same override.
  process.env.AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION = motoEndpoint().replace('127.0.0.1', 'localhost');
  // What toolkit-lib needs of a bootstrap, made with one CreateStack: the assets bucket and the
  // version parameter (toolkit-lib's own bootstrap takes over a minute on moto; it is exercised in
  // test/deploy/platform-on-moto.test.ts).
  const bucket = `cdk-hnb659fds-assets-${account.accountId}-eu-west-1`;
  await accountClient(CloudFormationClient, account).send(
    new CreateStackCommand({
      StackName: 'CDKToolkit',
      TemplateBody: JSON.stringify({
        Resources: {
          StagingBucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: bucket } },
          CdkBootstrapVersion: { Type: 'AWS::SSM::Parameter', Properties: { Name: '/cdk-bootstrap/hnb659fds/version', Type: 'String', Value: '30' } },
        },
        Outputs: { BucketName: { Value: bucket }, BootstrapVersion: { Value: '30' } },
      }),
    }),
  );
}, 60_000);
afterAll(() => {
  delete process.env.AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION;
});

describe('releases and rollback on moto (issue 21, done when)', () => {
  it('deploy, deploy a changed handler, releases lists both, rollback restores the first without any build', async () => {
    const first = await deployWith('v1');
    expect(first.code, first.stderr).toBe(0);
    const v1Key = await apiCodeKey();
    const second = await deployWith('v2');
    expect(second.code, second.stderr).toBe(0);
    const v2Key = await apiCodeKey();
    expect(v2Key).not.toBe(v1Key);

    const listed = await runCli(['releases', '--env', env, '--json'], { cwd });
    expect(listed.code, listed.stderr).toBe(0);
    const doc = JSON.parse(listed.stdout);
    expect(doc.releases.map((r: { sequence: number; imageTag: string; current: boolean }) => [r.sequence, r.imageTag, r.current])).toEqual([
      [2, 'img-v2', true],
      [1, 'img-v1', false],
    ]);
    expect(doc.releases[0].stacks.find((s: { stackName: string }) => s.stackName === platform).changes.modified.some((id: string) => /^FunctionsApiFunction/.test(id))).toBe(true);

    // No terminal and no --yes: exit 2 before any AWS call.
    const refused = await runCli(['rollback', '--env', env], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('fix: Re-run with --yes');

    const dry = await runCli(['rollback', '--env', env, '--dry-run'], { cwd });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('rollback to #1 would');
    expect(dry.stdout).toMatch(/~ FunctionsApiFunction\w* \(AWS::Lambda::Function\): Properties\.Code/);
    expect(await apiCodeKey()).toBe(v2Key);

    const before = { ...counts };
    // The CLI's environment, as a shell would set it for an emulator (what toolkit-lib reads too).
    const rolled = await runCli(['rollback', '--env', env, '--yes'], { cwd, env: { AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION: process.env.AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION! } });
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toContain(`Rolled back "${env}" to release #1`);
    expect(counts).toEqual(before);
    expect(await apiCodeKey()).toBe(v1Key);

    const ledger = createLedger(new S3Client({ region: 'eu-west-1', endpoint: motoEndpoint(), forcePathStyle: true, credentials: account.credentials }), releaseLedgerBucketName(env, account.accountId, 'eu-west-1'));
    const [latest] = (await ledger.list(1))!;
    expect(latest).toMatchObject({ sequence: 3, kind: 'rollback', rollbackTo: 1, description: 'rollback to #1', outcome: 'succeeded', imageTag: 'img-v1' });

    // Now #1 is what runs: rolling back to it again is refused, before any change.
    const again = await runCli(['rollback', '--env', env, '--to', '1', '--yes'], { cwd });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('rolling back to it changes nothing');
  }, 480_000);
});
