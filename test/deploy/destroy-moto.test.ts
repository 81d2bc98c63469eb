// `watchpoint destroy` end to end through run(argv) against moto: the registry and platform stacks
// created in moto's CloudFormation from the synthesized templates (test/helpers/moto-stack.ts),
// deleted by toolkit-lib's own destroy, the RETAIN buckets and repository left by CloudFormation and
// then deleted by the CLI only when moto says they are empty, and the RunPod keys rotate-keys made
// outside the stack deleted before the stacks. test/deploy/destroy-keys.test.ts keeps IAM's refusal
// to delete a user that still has keys, which moto does not enforce.
import { DescribeStacksCommand, CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeRepositoriesCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { CreateAccessKeyCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import { motoClient, motoClientConfig, motoStage, startMotoRecorder, uniqueEnvName, useMotoCredentials, type MotoRecorder } from '../helpers/moto.ts';
import { createMotoPlatform, createMotoRegistry, type MotoPlatform } from '../helpers/moto-stack.ts';

useMotoCredentials();
const cloudformation = motoClient(CloudFormationClient);
const s3 = new S3Client({ ...motoClientConfig(), forcePathStyle: true });
const ecr = motoClient(ECRClient);
const iam = motoClient(IAMClient);
const ssm = motoClient(SSMClient);

let recorder: MotoRecorder;
let env: string;
let cwd: string;
beforeAll(async () => {
  recorder = await startMotoRecorder();
});
afterAll(() => recorder.stop());
beforeEach(async () => {
  env = uniqueEnvName('x');
  cwd = await tempDir();
  await writeConfig(cwd, { [env]: motoStage({ awsEndpointUrl: recorder.endpoint }), prod: motoStage({ awsEndpointUrl: recorder.endpoint }) });
  recorder.reset();
});

const destroy = (args: string[], options: { answers?: string[]; interactive?: boolean } = {}) => runCli(['destroy', '--env', env, ...args], { cwd, ...options });
const stackExists = (name: string) => cloudformation.send(new DescribeStacksCommand({ StackName: name })).then((r) => r.Stacks?.[0]?.StackStatus !== 'DELETE_COMPLETE', () => false);
const bucketExists = (name: string) => s3.send(new HeadBucketCommand({ Bucket: name })).then(() => true, () => false);

describe('watchpoint destroy on moto', () => {
  let platform: MotoPlatform;
  beforeEach(async () => {
    await createMotoRegistry(env);
    platform = await createMotoPlatform(env);
  });

  it('after the typed name: deletes the RunPod keys, the platform stack, then the registry; keeps what holds data, deletes what is empty', async () => {
    const forecast = platform.outputs.ForecastBucketName!;
    const archive = platform.outputs.ArchiveBucketName!;
    const accessLogs = platform.physicalId('StorageAccessLogsBucket');
    const repository = `watchpoint-${env}-eval-worker`;
    await s3.send(new PutObjectCommand({ Bucket: forecast, Key: 'nowcast/2026-12-01T00.zarr/zarr.json', Body: '{}' }));
    await ecr.send(new PutImageCommand({ repositoryName: repository, imageTag: 'v1.2.3', imageManifest: JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 2 }, layers: [] }) }));
    // What `runpod rotate-keys` leaves outside the stack: a key and the two parameters.
    const user = platform.outputs.RunPodUserArn!.split('/').pop()!;
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: user }));
    const params = [`/${env}/watchpoint/forecast/runpod_aws_access_key_id`, `/${env}/watchpoint/forecast/runpod_aws_secret_access_key`];
    await ssm.send(new PutParameterCommand({ Name: params[0], Value: AccessKey!.AccessKeyId!, Type: 'SecureString' }));
    await ssm.send(new PutParameterCommand({ Name: params[1], Value: AccessKey!.SecretAccessKey!, Type: 'SecureString' }));
    recorder.reset();

    const result = await destroy([], { interactive: true, answers: [env] });
    expect(result.code, result.stderr).toBe(0);
    const question = result.io.questions[0]!;
    expect(question).toMatchObject({ kind: 'input', message: expect.stringContaining(`Type the environment name (${env})`) });
    expect(question.kind === 'input' && question.validate?.('prod')).toContain('does not match');
    expect(result.stderr).toContain(`This deletes watchpoint-${env} and watchpoint-${env}-registry from account 123456789012, region eu-west-1.`);
    expect(await stackExists(`watchpoint-${env}`)).toBe(false);
    expect(await stackExists(`watchpoint-${env}-registry`)).toBe(false);
    // The platform stack goes first (its functions pull from the registry's repository).
    // toolkit-lib deletes by stack id (arn:...:stack/NAME/uuid).
    const deletes = recorder.inputs('DeleteStack').map((input) => String(input.StackName).replace(/^arn:.*:stack\/([^/]+)\/.*$/, '$1'));
    expect(deletes).toEqual([`watchpoint-${env}`, `watchpoint-${env}-registry`]);
    // The keys and their parameters go before any stack.
    expect(recorder.actions().indexOf('DeleteAccessKey')).toBeLessThan(recorder.actions().indexOf('DeleteStack'));
    expect(recorder.inputs('DeleteAccessKey').map((input) => input.AccessKeyId)).toEqual([AccessKey!.AccessKeyId]);
    expect(await iam.send(new ListAccessKeysCommand({ UserName: user })).then((r) => r.AccessKeyMetadata ?? [], () => [])).toEqual([]);
    const { InvalidParameters } = await ssm.send(new GetParametersCommand({ Names: params }));
    expect(InvalidParameters?.sort()).toEqual([...params].sort());
    // RETAIN: the bucket with objects and the repository with an image are kept and listed; the empty buckets are deleted.
    expect(await bucketExists(forecast)).toBe(true);
    expect(result.stdout).toContain(`bucket ${forecast} (holds objects)`);
    expect(result.stdout).toContain(`repository ${repository} (holds images)`);
    expect((await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repository] }))).repositories).toHaveLength(1);
    for (const empty of [archive, accessLogs]) {
      expect(await bucketExists(empty)).toBe(false);
      expect(result.stderr).toContain(`Deleted empty bucket ${empty}.`);
    }
    expect(result.stdout).toContain(`Destroyed "${env}"`);
  }, 120_000);

  it('without a terminal needs --yes (exit 2), deleting nothing', async () => {
    const result = await destroy([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--yes');
    expect(recorder.actions()).not.toContain('DeleteStack');
    expect(await stackExists(`watchpoint-${env}`)).toBe(true);
  });
});

describe('watchpoint destroy guards', () => {
  it('refuses prod without --force (exit 2) before any AWS call', async () => {
    const result = await runCli(['destroy', '--env', 'prod'], { cwd, interactive: true, answers: ['prod'] });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--force');
    expect(recorder.calls).toEqual([]);
  });

  it('says so when there is nothing to destroy', async () => {
    const result = await destroy([], { interactive: true, answers: [env] });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Nothing to destroy: neither watchpoint-${env} nor watchpoint-${env}-registry exists in account 123456789012, region eu-west-1.`);
    expect(recorder.actions()).not.toContain('DeleteStack');
  });

  it('credentials for another account: exit 2 naming both accounts, nothing deleted', async () => {
    await writeConfig(cwd, { [env]: motoStage({ awsEndpointUrl: recorder.endpoint, account: '210987654321' }) });
    const result = await destroy(['--yes']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('account 123456789012');
    expect(result.stderr).toContain('210987654321');
    expect(recorder.actions()).toEqual(['GetCallerIdentity']);
  });
});
