// deploy / diff / image / destroy through the CLI: every flag is validated before AWS is touched;
// destroy's guards, its confirmation and what it keeps.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DeleteRepositoryCommand, ECRClient, RepositoryNotEmptyException } from '@aws-sdk/client-ecr';
import { DeleteBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { IAMClient } from '@aws-sdk/client-iam';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { destroyCommand } from '../../src/cli/commands/destroy.ts';
import type { CloudPort } from '../../src/cli/deploy/ports.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { VALID_DEV, runCli, tempDir, writeConfig } from '../helpers/cli.ts';

describe('deploy, diff, image: bad input exits 2 before any AWS call', () => {
  let cwd: string;
  beforeEach(async () => {
    cwd = await tempDir();
    await writeConfig(cwd, { dev: VALID_DEV, prod: { ...VALID_DEV, alertEmail: 'nobody' } });
  });

  it.each([
    [['deploy', '--require-approval', 'sometimes'], '--require-approval'],
    [['deploy', '--container-cli', 'nerdctl'], '--container-cli'],
    [['deploy', '--image-tag', 'not a tag'], '--image-tag'],
    [['deploy', '--container-cli', 'podman'], 'not on PATH'],
    [['deploy', '--env', 'prod'], 'alertEmail'],
    [['deploy', '--env', 'Bad_Name'], '--env'],
    [['diff', '--image-tag', '-x'], '--image-tag'],
    [['image', 'push', '--container-cli', 'nerdctl'], '--container-cli'],
    [['destroy', '--env', 'prod'], 'alertEmail'],
  ])('%j', async (argv, named) => {
    const r = await runCli(argv, { cwd, env: { PATH: '/nonexistent' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(named);
    expect(existsSync(join(cwd, '.watchpoint'))).toBe(false);
  });

  it('lists the deploy flags in --help', async () => {
    const r = await runCli(['deploy', '--help'], { cwd });
    expect(r.code).toBe(0);
    for (const flag of ['--require-approval', '--image-tag', '--skip-image', '--container-cli', '--dry-run', '--yes', '--env']) expect(r.stdout).toContain(flag);
  });
});

describe('watchpoint destroy', () => {
  let cwd: string;
  const sts = new STSClient({ region: 'eu-west-1' });
  const cloudformation = new CloudFormationClient({ region: 'eu-west-1' });
  const s3 = new S3Client({ region: 'eu-west-1' });
  const ecr = new ECRClient({ region: 'eu-west-1' });
  const stsMock = mockClient(sts);
  const cfnMock = mockClient(cloudformation);
  const s3Mock = mockClient(s3);
  const ecrMock = mockClient(ecr);
  // No RunPod keys here (test/deploy/destroy-keys.test.ts covers them, on moto).
  const iam = new IAMClient({ region: 'eu-west-1' });
  const ssm = new SSMClient({ region: 'eu-west-1' });
  const iamMock = mockClient(iam);
  const ssmMock = mockClient(ssm);
  const destroyed: string[] = [];
  const cloud: CloudPort = {
    diff: async () => { throw new Error('unused'); },
    deploy: async () => { throw new Error('destroy must not deploy'); },
    bootstrap: async () => { throw new Error('unused'); },
    destroy: async (_dir, stackName) => {
      destroyed.push(stackName);
    },
  };

  beforeEach(async () => {
    cwd = await tempDir();
    await writeConfig(cwd, { dev: VALID_DEV, prod: VALID_DEV });
    destroyed.length = 0;
    for (const m of [stsMock, cfnMock, s3Mock, ecrMock, iamMock, ssmMock]) m.reset();
    ssmMock.on(GetParametersCommand).resolves({ Parameters: [], InvalidParameters: [] });
    stsMock.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:role/ops' });
    cfnMock.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => ({ Stacks: [{ StackName: input.StackName, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date() }] }));
    cfnMock.on(DescribeStackResourcesCommand, { StackName: 'watchpoint-dev' }).resolves({
      StackResources: [
        { LogicalResourceId: 'ForecastBucket', PhysicalResourceId: 'dev-forecast-bucket', ResourceType: 'AWS::S3::Bucket', ResourceStatus: 'CREATE_COMPLETE', Timestamp: new Date() },
        { LogicalResourceId: 'AccessLogsBucket', PhysicalResourceId: 'dev-access-logs', ResourceType: 'AWS::S3::Bucket', ResourceStatus: 'CREATE_COMPLETE', Timestamp: new Date() },
      ],
    });
    cfnMock.on(DescribeStackResourcesCommand, { StackName: 'watchpoint-dev-registry' }).resolves({
      StackResources: [{ LogicalResourceId: 'EvalWorkerRepository', PhysicalResourceId: 'watchpoint-dev-eval-worker', ResourceType: 'AWS::ECR::Repository', ResourceStatus: 'CREATE_COMPLETE', Timestamp: new Date() }],
    });
    s3Mock.on(DeleteBucketCommand, { Bucket: 'dev-forecast-bucket' }).rejects(new S3ServiceException({ name: 'BucketNotEmpty', $fault: 'client', $metadata: {}, message: 'The bucket you tried to delete is not empty' }));
    s3Mock.on(DeleteBucketCommand, { Bucket: 'dev-access-logs' }).resolves({});
    ecrMock.on(DeleteRepositoryCommand).rejects(new RepositoryNotEmptyException({ message: 'not empty', $metadata: {} }));
  });

  const run = (io: RecordingIo, envName: string, extra: { force?: boolean; yes?: boolean } = {}) =>
    destroyCommand(
      { io, options: { env: envName, ...(extra.yes ? { yes: true } : {}) }, env: {}, cwd, force: Boolean(extra.force) },
      { clients: { sts, cloudformation, s3, ecr, iam, ssm }, cloud },
    );

  it('asks to type the environment name, deletes the platform stack then the registry, and keeps what holds data', async () => {
    const io = new RecordingIo(['dev'], true);
    expect(await run(io, 'dev')).toBe(0);
    expect(io.questions[0]).toMatchObject({ kind: 'input', message: expect.stringContaining('Type the environment name (dev)') });
    expect(io.questions[0]!.kind === 'input' && io.questions[0]!.validate?.('prod')).toContain('does not match');
    expect(destroyed).toEqual(['watchpoint-dev', 'watchpoint-dev-registry']);
    expect(io.stdout).toContain('bucket dev-forecast-bucket (holds objects)');
    expect(io.stdout).toContain('repository watchpoint-dev-eval-worker (holds images)');
    expect(io.stderr).toContain('Deleted empty bucket dev-access-logs.');
    // Buckets are only removed after their stacks are gone.
    expect(s3Mock.commandCalls(DeleteBucketCommand)).toHaveLength(2);
  }, 60_000);

  it('refuses prod without --force (exit 2) before any AWS call', async () => {
    const io = new RecordingIo([], true);
    await expect(run(io, 'prod')).rejects.toMatchObject({ exitCode: 2, code: 'PROD_DESTROY_REFUSED', fix: expect.stringContaining('--force') });
    expect(stsMock.calls()).toHaveLength(0);
  });

  it('without a terminal needs --yes (exit 2), deleting nothing', async () => {
    const io = new RecordingIo([], false);
    await expect(run(io, 'dev')).rejects.toMatchObject({ exitCode: 2, fix: expect.stringContaining('--yes') });
    expect(destroyed).toEqual([]);
  });

  it('says so when there is nothing to destroy', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id watchpoint-dev does not exist'), { name: 'ValidationError' }));
    const io = new RecordingIo([], true);
    expect(await run(io, 'dev')).toBe(0);
    expect(io.stdout).toContain('Nothing to destroy');
    expect(destroyed).toEqual([]);
  });
});
