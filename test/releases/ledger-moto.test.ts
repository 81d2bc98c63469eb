// The release ledger on moto's S3 (which honours If-None-Match: *): deploys through the real
// orchestration (plan.ts) with fake CloudFormation/ECR/DB ports and the real recorder, so what lands
// in the bucket is what `watchpoint deploy` writes.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { deploy, type DeployRequest } from '../../src/cli/deploy/plan.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { createLedger, releaseLedgerBucketName } from '../../src/cli/releases/ledger.ts';
import { createRecorder } from '../../src/cli/releases/recorder.ts';
import { releaseLedgerBucketName as stackBucketName } from '../../src/stack/registry-stack.ts';
import { diffOf, fakes, projectWithImageContext, request, type FakeOptions } from '../deploy/fakes.ts';
import { motoClientConfig, uniqueEnvName } from '../helpers/moto.ts';

const s3 = new S3Client({ ...motoClientConfig(), forcePathStyle: true });
const ACCOUNT = '123456789012';
let dir: string;
beforeEach(async () => {
  dir = await projectWithImageContext();
});

/** A platform template whose one function's code is `codeKey` in the bootstrap bucket. */
function templates(env: string, codeKey: string): Record<string, string> {
  const fn = { Type: 'AWS::Lambda::Function', Properties: { Code: { S3Bucket: { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' }, S3Key: codeKey } } };
  return {
    [`watchpoint-${env}-registry`]: JSON.stringify({ Resources: { Repo: { Type: 'AWS::ECR::Repository' } } }),
    [`watchpoint-${env}`]: JSON.stringify({ Parameters: { BootstrapVersion: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/cdk-bootstrap/hnb659fds/version' } }, Resources: { Api: fn, Queue: { Type: 'AWS::SQS::Queue' } } }),
  };
}

function deployOnce(env: string, codeKey: string, io: RecordingIo, extra: FakeOptions = {}, retryDelays: number[] = [], overrides: Partial<DeployRequest> = {}) {
  const f = fakes(io, dir, {
    imagePresent: true,
    statuses: { [`watchpoint-${env}-registry`]: 'UPDATE_COMPLETE', [`watchpoint-${env}`]: 'UPDATE_COMPLETE' },
    diffs: { [`watchpoint-${env}`]: diffOf(`watchpoint-${env}`, 1) },
    ...extra,
  });
  const assemblyDir = join(dir, `cdk.out-${codeKey}`);
  f.deps.synth = async ({ outdir }) => {
    await mkdir(outdir, { recursive: true });
    for (const [name, body] of Object.entries(templates(env, codeKey))) await writeFile(join(outdir, `${name}.template.json`), body);
  };
  f.deps.recordRelease = createRecorder({ s3, io, spoolDir: join(dir, '.watchpoint', `ledger-pending-${env}`), checkout: process.cwd(), retryDelays });
  f.deps.latestMigration = () => '1795770000000_api';
  return deploy(request(dir, { envName: env, assemblyDir, outputsFile: join(dir, `outputs-${codeKey}.json`), ...overrides }), f.deps);
}

describe('release ledger on moto S3', () => {
  it('the CLI and the registry stack agree on the bucket name', () => {
    expect(releaseLedgerBucketName('dev', ACCOUNT, 'eu-west-1')).toBe(stackBucketName('dev', ACCOUNT, 'eu-west-1'));
    expect(releaseLedgerBucketName('a123456789012345', ACCOUNT, 'ap-southeast-2').length).toBeLessThanOrEqual(63);
  });

  it('two concurrent deploys record two distinct releases and lose neither', async () => {
    const env = uniqueEnvName('l');
    const bucket = releaseLedgerBucketName(env, ACCOUNT, 'eu-west-1');
    await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    const io = new RecordingIo([], false);
    const codes = await Promise.all([deployOnce(env, 'aaa.zip', io), deployOnce(env, 'bbb.zip', io)]);
    expect(codes).toEqual([0, 0]);
    const records = (await createLedger(s3, bucket).list())!;
    expect(records.map((r) => r.sequence)).toEqual([2, 1]);
    expect(records.map((r) => r.stacks[1]!.zipAssets[0]!.key).sort()).toEqual(['aaa.zip', 'bbb.zip']);
    const record = records[0]!;
    expect(record).toMatchObject({
      env,
      kind: 'deploy',
      description: 'deploy',
      outcome: 'succeeded',
      operator: 'arn:aws:iam::123456789012:role/ops',
      account: ACCOUNT,
      cliVersion: expect.stringMatching(/^\d+\.\d+\.\d+/),
      migrationLevel: '1795770000000_api',
      imageTag: expect.stringMatching(/^[0-9a-f]{20}$/),
    });
    expect(record.git.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(record.stacks[1]).toMatchObject({
      stackName: `watchpoint-${env}`,
      parameters: { BootstrapVersion: '/cdk-bootstrap/hnb659fds/version' },
      zipAssets: [{ bucket: `cdk-hnb659fds-assets-${ACCOUNT}-eu-west-1` }],
    });
    // Content-addressed: the registry template is the same bytes in both, stored once under its hash.
    expect(records[0]!.stacks[0]!.templateKey).toBe(records[1]!.stacks[0]!.templateKey);
    expect(await createLedger(s3, bucket).getTemplate(records[0]!.stacks[1]!.templateKey)).toContain(records[0]!.stacks[1]!.zipAssets[0]!.key);
    expect(io.stderr).toContain('Recorded release #1');
    expect(io.stderr).toContain('Recorded release #2');
  });

  it('a rolled-back deploy is recorded as such, with what changed against the current release', async () => {
    const env = uniqueEnvName('l');
    const bucket = releaseLedgerBucketName(env, ACCOUNT, 'eu-west-1');
    await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    const io = new RecordingIo([], false);
    expect(await deployOnce(env, 'aaa.zip', io)).toBe(0);
    await expect(deployOnce(env, 'bbb.zip', io, { failDeploy: `watchpoint-${env}`, statusAfterFailure: 'UPDATE_ROLLBACK_COMPLETE' })).rejects.toThrow(/Deploying watchpoint-.* failed/);
    const [failed, first] = (await createLedger(s3, bucket).list())!;
    expect(first!.stacks[1]!.changes).toEqual({ added: ['Api', 'Queue'], modified: [], removed: [] });
    expect(failed).toMatchObject({ sequence: 2, outcome: 'rolled-back-by-cloudformation', reason: `watchpoint-${env}: UPDATE_ROLLBACK_COMPLETE` });
    expect(failed!.stacks[1]!.changes).toEqual({ added: [], modified: ['Api'], removed: [] });
  });

  it('a deploy --hotswap that hotswapped a function is recorded as kind "hotswap", with what changed against the current release', async () => {
    const env = uniqueEnvName('l');
    const bucket = releaseLedgerBucketName(env, ACCOUNT, 'eu-west-1');
    await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    const io = new RecordingIo([], false);
    expect(await deployOnce(env, 'aaa.zip', io)).toBe(0);
    const api = { logicalId: 'Api', resourceType: 'AWS::Lambda::Function' };
    const hotswapped = {
      diffs: { [`watchpoint-${env}`]: { ...diffOf(`watchpoint-${env}`, 1), resources: [api] } },
      hotswap: { [`watchpoint-${env}`]: { method: 'hotswap' as const, hotswapped: [api], viaCloudFormation: [] } },
    };
    expect(await deployOnce(env, 'bbb.zip', io, hotswapped, [], { hotswap: true })).toBe(0);
    const [hot, first] = (await createLedger(s3, bucket).list())!;
    expect(first).toMatchObject({ sequence: 1, kind: 'deploy', description: 'deploy' });
    expect(hot).toMatchObject({ sequence: 2, kind: 'hotswap', description: 'hotswap', outcome: 'succeeded' });
    expect(hot!.stacks[1]!.changes).toEqual({ added: [], modified: ['Api'], removed: [] });
  });

  it('a ledger failure never fails the deploy: retried, kept locally with a fix, backfilled by the next deploy', async () => {
    const env = uniqueEnvName('l');
    const bucket = releaseLedgerBucketName(env, ACCOUNT, 'eu-west-1');
    const io = new RecordingIo([], false);
    // No bucket yet: every attempt fails with NoSuchBucket.
    expect(await deployOnce(env, 'aaa.zip', io, {}, [0, 0])).toBe(0);
    const warning = io.messages.find((m) => m.level === 'warn' && m.text.includes('could not be recorded'))!.text;
    expect(warning).toContain(`s3://${bucket}`);
    expect(warning.split('\n').at(-1)).toMatch(/^ {2}fix: /);
    const spool = join(dir, '.watchpoint', `ledger-pending-${env}`);
    expect(await readdir(spool)).toHaveLength(1);

    await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    expect(await deployOnce(env, 'bbb.zip', io)).toBe(0);
    const records = (await createLedger(s3, bucket).list())!;
    expect(records.map((r) => [r.sequence, r.stacks[1]!.zipAssets[0]!.key, Boolean(r.backfilledAt)])).toEqual([
      [2, 'bbb.zip', false],
      [1, 'aaa.zip', true],
    ]);
    expect(await readdir(spool)).toEqual([]);
  });
});
