// `watchpoint rollback`'s questions and refusals. The ledger, the zip assets and the image are real
// (moto S3 and ECR, records written by the real recorder); the CloudFormation side is a fake of the
// RollbackCloud port, because moto cannot put a stack in UPDATE_ROLLBACK_FAILED or mid-update.
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { STSClient } from '@aws-sdk/client-sts';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ShiftPort } from '../../src/cli/deploy/shift.ts';
import { parseRollbackOptions, runRollback, type RollbackClients } from '../../src/cli/commands/rollback.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { createLedger, releaseLedgerBucketName } from '../../src/cli/releases/ledger.ts';
import { createRecorder } from '../../src/cli/releases/recorder.ts';
import type { RollbackCloud } from '../../src/cli/rollback/cloudformation.ts';
import { migrationsSince, pickTarget } from '../../src/cli/rollback/plan.ts';
import type { ReleaseRecord } from '../../src/cli/releases/record.ts';
import { tempDir, writeConfig } from '../helpers/cli.ts';
import { MOTO_ACCOUNT, motoClient, motoClientConfig, motoStage, uniqueEnvName } from '../helpers/moto.ts';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import { createShiftWatch } from '../../src/cli/deploy/shift.ts';
import { shiftAlarmName } from '../../src/stack/deployment-names.ts';
import { createShiftAlarms, mockApiShift } from '../deploy/codedeploy-shapes.ts';

const s3 = new S3Client({ ...motoClientConfig(), forcePathStyle: true });
const assets = `cdk-hnb659fds-assets-${MOTO_ACCOUNT}-eu-west-1`;
const clients: RollbackClients = { s3, sts: motoClient(STSClient), ecr: motoClient(ECRClient), cloudformation: motoClient(CloudFormationClient) };

function template(env: string, code: string): string {
  return JSON.stringify({ Resources: { Api: { Type: 'AWS::Lambda::Function', Properties: { Code: { S3Bucket: assets, S3Key: `${env}-${code}.zip` } } } } });
}

/** An environment with releases #1 (v1, migration 0001) and #2 (v2, migrations 0002 and 0003). */
async function environment(name: string, exact = false): Promise<{ env: string; cwd: string }> {
  const env = exact ? name : uniqueEnvName(name);
  const cwd = await tempDir();
  await writeConfig(cwd, { [env]: motoStage() });
  await s3.send(new CreateBucketCommand({ Bucket: releaseLedgerBucketName(env, MOTO_ACCOUNT, 'eu-west-1'), CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  for (const code of ['v1', 'v2']) await s3.send(new PutObjectCommand({ Bucket: assets, Key: `${env}-${code}.zip`, Body: 'zip' }));
  const ecr = motoClient(ECRClient);
  await ecr.send(new CreateRepositoryCommand({ repositoryName: `watchpoint-${env}-eval-worker` }));
  for (const tag of ['t1', 't2']) {
    const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${(tag === 't1' ? 'd' : 'e').repeat(64)}`, size: 2 }, layers: [] };
    await ecr.send(new PutImageCommand({ repositoryName: `watchpoint-${env}-eval-worker`, imageTag: tag, imageManifest: JSON.stringify(manifest), imageManifestMediaType: manifest.mediaType }));
  }
  const record = createRecorder({ s3, io: new RecordingIo(), spoolDir: join(cwd, 'spool'), checkout: cwd, retryDelays: [] });
  const base = { envName: env, region: 'eu-west-1', account: MOTO_ACCOUNT, operator: 'arn:aws:iam::123456789012:user/ops', kind: 'deploy' as const, outcome: 'succeeded' as const, stackNames: [`watchpoint-${env}`], startedAt: new Date(), endedAt: new Date() };
  const capture = (code: string) => [{ stackName: `watchpoint-${env}`, templateBody: template(env, code), parameters: { BootstrapVersion: '/cdk-bootstrap/hnb659fds/version' }, zipAssets: [{ bucket: assets, key: `${env}-${code}.zip` }] }];
  await record({ ...base, imageTag: 't1', migrationLevel: '0001_a', captures: capture('v1') });
  await record({ ...base, imageTag: 't2', migrationLevel: '0003_c', captures: capture('v2') });
  return { env, cwd };
}

/** CloudFormation as the rollback sees it: one stack, its status and template, every call logged. */
function fakeCloud(env: string, status: string | undefined = 'UPDATE_COMPLETE', deployed = template(env, 'v2')) {
  const log: string[] = [];
  let current = deployed;
  const cloud: RollbackCloud = {
    async stackStatus() {
      log.push('DescribeStacks');
      return status;
    },
    async currentTemplate() {
      log.push('GetTemplate');
      return current;
    },
    async prepare({ stackName, changeSetName, template: source, parameters }) {
      log.push(`CreateChangeSet ${stackName} ${'body' in source ? 'body' : 'url'} ${JSON.stringify(parameters)}`);
      return { stackName, changeSetName, empty: false, changes: [{ action: 'Modify', logicalId: 'Api', resourceType: 'AWS::Lambda::Function', replacement: 'False' }] };
    },
    async execute(stackName) {
      log.push(`ExecuteChangeSet ${stackName}`);
      current = template(env, 'v1');
    },
    async settle(_stackName, onStatus) {
      onStatus('UPDATE_COMPLETE');
      return 'UPDATE_COMPLETE';
    },
    async discard(stackName) {
      log.push(`DeleteChangeSet ${stackName}`);
    },
  };
  return { cloud, log };
}

function options(cwd: string, env: string, io: RecordingIo, cloud: RollbackCloud, flags: Record<string, unknown> = {}) {
  return parseRollbackOptions(flags, { io, env: { WATCHPOINT_ENV: env }, cwd, options: { env, ...(flags.yes ? { yes: true } : {}) }, clients, cloud, migrationNames: () => ['0001_a', '0002_b', '0003_c'], now: () => new Date() });
}

describe('rollback: choosing the target', () => {
  const rec = (sequence: number, outcome: ReleaseRecord['outcome'], sha: string) => ({ sequence, outcome, stacks: [{ stackName: 's', templateSha256: sha, parameters: {} }] }) as unknown as ReleaseRecord;
  it('defaults to the newest succeeded release before the current one with other templates', () => {
    const records = [rec(4, 'succeeded', 'd'), rec(3, 'failed', 'c'), rec(2, 'succeeded', 'd'), rec(1, 'succeeded', 'a')];
    expect(pickTarget(records, records[0]!, undefined, 'dev').sequence).toBe(1);
    expect(() => pickTarget(records, records[0]!, 3, 'dev')).toThrow(/did not succeed/);
    expect(() => pickTarget(records, records[0]!, 2, 'dev')).toThrow(/changes nothing/);
    expect(() => pickTarget(records, records[0]!, 9, 'dev')).toThrow(/no release #9/);
  });
  it('names the migrations applied since the target, even one this checkout does not know', () => {
    expect(migrationsSince('0001_a', '0003_c', ['0001_a', '0002_b', '0003_c'])).toEqual(['0002_b', '0003_c']);
    expect(migrationsSince('0001_a', '0004_d', ['0001_a', '0002_b'])).toEqual(['0002_b', '0004_d']);
    expect(migrationsSince('0003_c', '0003_c', [])).toEqual([]);
    expect(migrationsSince(null, '0003_c', [])).toBeUndefined();
  });
});

describe('rollback on a ledger in moto, CloudFormation faked at the port', () => {
  let envs: { env: string; cwd: string }[];
  beforeAll(async () => {
    // The CDK bootstrap bucket of moto's default account (another test file may have made it).
    await s3.send(new CreateBucketCommand({ Bucket: assets, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })).catch(() => undefined);
    envs = await Promise.all(['ra', 'rb', 'rc', 'rd'].map((name) => environment(name)));
    // isProduction() names: "prod-" plus a suffix no other test uses.
    envs.push(await environment(`prod-${uniqueEnvName('p')}`, true));
  }, 60_000);

  it('--to must be a release number; without a terminal --yes is required, before any AWS call', async () => {
    const { env, cwd } = envs[0]!;
    const io = new RecordingIo([], true);
    expect(() => options(cwd, env, io, fakeCloud(env).cloud, { to: 'latest' })).toThrow(/--to "latest" is not a release number/);
    const { cloud, log } = fakeCloud(env);
    await expect(runRollback(options(cwd, env, new RecordingIo([], false), cloud))).rejects.toMatchObject({ code: 'CONFIRMATION_REQUIRED', exitCode: 2 });
    expect(log).toEqual([]);
  });

  it('refuses a stack that is busy or cannot be updated, saying what to do, before any change', async () => {
    const { env, cwd } = envs[0]!;
    const busy = fakeCloud(env, 'UPDATE_IN_PROGRESS');
    await expect(runRollback(options(cwd, env, new RecordingIo([], true), busy.cloud))).rejects.toMatchObject({ code: 'ROLLBACK_BUSY', exitCode: 2 });
    const failed = fakeCloud(env, 'UPDATE_ROLLBACK_FAILED');
    const error = await runRollback(options(cwd, env, new RecordingIo([], true), failed.cloud)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STACK_NOT_UPDATABLE', exitCode: 2 });
    expect((error as { fix: string }).fix).toContain(`continue-update-rollback --stack-name watchpoint-${env}`);
    for (const log of [busy.log, failed.log]) expect(log.filter((line) => !['DescribeStacks', 'GetTemplate'].includes(line))).toEqual([]);
  });

  it('after deploy --hotswap: refuses a rollback whose templates CloudFormation already holds (it cannot restore hotswapped code), with the commands that do', async () => {
    const env = uniqueEnvName('rh');
    const made = await environment(env, true);
    const { SSMClient } = await import('@aws-sdk/client-ssm');
    const { ssmHotswapMarker } = await import('../../src/cli/deploy/hotswap.ts');
    const ssm = motoClient(SSMClient);
    // v2 was hotswapped: CloudFormation still holds v1's template, the function runs v2.
    await ssmHotswapMarker(ssm, env).write({ at: '2026-12-06T23:00:00.000Z', operator: 'arn:aws:iam::123456789012:user/ops', stacks: [{ stackName: `watchpoint-${env}`, resources: [{ logicalId: 'Api', resourceType: 'AWS::Lambda::Function', physicalName: `watchpoint-${env}-api` }] }] });
    const { cloud, log } = fakeCloud(env, 'UPDATE_COMPLETE', template(env, 'v1'));
    const io = new RecordingIo([], true);
    const withSsm = parseRollbackOptions({ yes: true }, { io, env: { WATCHPOINT_ENV: env }, cwd: made.cwd, options: { env, yes: true }, clients: { ...clients, ssm }, cloud, migrationNames: () => ['0001_a', '0002_b', '0003_c'], now: () => new Date() });
    const error = await runRollback(withSsm).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ROLLBACK_HOTSWAPPED', exitCode: 2 });
    const { message, fix } = error as { message: string; fix: string };
    expect(message).toContain(`watchpoint-${env} holds changes \`deploy --hotswap\` made (Api,`);
    expect(message).toContain(`aws lambda update-function-code --region eu-west-1 --function-name watchpoint-${env}-api --s3-bucket ${assets} --s3-key ${env}-v1.zip`);
    expect(fix).toContain('update-function-code');
    expect(log.filter((line) => !['DescribeStacks', 'GetTemplate'].includes(line))).toEqual([]);
  });

  it('after deploy --hotswap, a rollback whose change sets do run warns about the hotswapped functions they leave alone (not those they restore), with the command for each', async () => {
    const env = uniqueEnvName('rw');
    const made = await environment(env, true);
    const { SSMClient } = await import('@aws-sdk/client-ssm');
    const { ssmHotswapMarker } = await import('../../src/cli/deploy/hotswap.ts');
    const ssm = motoClient(SSMClient);
    await ssmHotswapMarker(ssm, env).write({ at: '2026-12-06T23:00:00.000Z', operator: 'arn:aws:iam::123456789012:user/ops', stacks: [{ stackName: `watchpoint-${env}`, resources: [{ logicalId: 'Api', resourceType: 'AWS::Lambda::Function', physicalName: `watchpoint-${env}-api` }] }] });
    // CloudFormation holds v1's code for Api (it was hotswapped to v2) and one more resource: the
    // change set removes that resource and leaves Api's code alone.
    const deployed = JSON.stringify({ Resources: { ...JSON.parse(template(env, 'v1')).Resources, Extra: { Type: 'AWS::SQS::Queue' } } });
    const { cloud, log } = fakeCloud(env, 'UPDATE_COMPLETE', deployed);
    const io = new RecordingIo([true, true], true);
    const withSsm = parseRollbackOptions({}, { io, env: { WATCHPOINT_ENV: env }, cwd: made.cwd, options: { env }, clients: { ...clients, ssm }, cloud, migrationNames: () => ['0001_a', '0002_b', '0003_c'], now: () => new Date() });
    expect(await runRollback(withSsm)).toBe(0);
    expect(log).toContain(`ExecuteChangeSet watchpoint-${env}`);
    expect(io.stderr).toContain("the rollback's change sets do not change these functions' code, so they keep their hotswapped code");
    expect(io.stderr).toContain(`aws lambda update-function-code --region eu-west-1 --function-name watchpoint-${env}-api --s3-bucket ${assets} --s3-key ${env}-v1.zip`);
    // The marker stays: only a deploy that changes the stack clears it.
    expect((await ssmHotswapMarker(ssm, env).read())?.stacks.map((s) => s.stackName)).toEqual([`watchpoint-${env}`]);

    // A change set that changes Api's code (CloudFormation holds v2's, the target is v1) restores it: no warning.
    const other = uniqueEnvName('rx');
    const fresh = await environment(other, true);
    await ssmHotswapMarker(ssm, other).write({ at: '2026-12-06T23:00:00.000Z', operator: 'arn:aws:iam::123456789012:user/ops', stacks: [{ stackName: `watchpoint-${other}`, resources: [{ logicalId: 'Api', resourceType: 'AWS::Lambda::Function' }] }] });
    const quiet = new RecordingIo([true, true], true);
    expect(await runRollback(parseRollbackOptions({}, { io: quiet, env: { WATCHPOINT_ENV: other }, cwd: fresh.cwd, options: { env: other }, clients: { ...clients, ssm }, cloud: fakeCloud(other).cloud, migrationNames: () => ['0001_a', '0002_b', '0003_c'], now: () => new Date() }))).toBe(0);
    expect(quiet.stderr).not.toContain('hotswapped code');
  });

  it('a hotswap marker that cannot be read does not stop a rollback: it warns, with a fix', async () => {
    const env = uniqueEnvName('ry');
    const made = await environment(env, true);
    const { SSMClient } = await import('@aws-sdk/client-ssm');
    // Nothing listens there: the read fails at once.
    const unreachable = new SSMClient({ ...motoClientConfig(), endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const io = new RecordingIo([true, true], true);
    expect(await runRollback(parseRollbackOptions({}, { io, env: { WATCHPOINT_ENV: env }, cwd: made.cwd, options: { env }, clients: { ...clients, ssm: unreachable }, cloud: fakeCloud(env).cloud, migrationNames: () => ['0001_a', '0002_b', '0003_c'], now: () => new Date() }))).toBe(0);
    expect(io.stderr).toContain(`reading SSM /${env}/watchpoint-deploy/hotswapped failed`);
    expect(io.stderr).toContain(`fix: check that this identity may ssm:GetParameter on /${env}/watchpoint-deploy/hotswapped`);
  });

  it('refuses a target whose zip asset is gone, naming it', async () => {
    const { env, cwd } = envs[1]!;
    await s3.send(new DeleteObjectCommand({ Bucket: assets, Key: `${env}-v1.zip` }));
    const { cloud, log } = fakeCloud(env);
    const error = await runRollback(options(cwd, env, new RecordingIo([], true), cloud)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RELEASE_NOT_RESTORABLE', exitCode: 2 });
    expect((error as Error).message).toContain(`${env}-v1.zip`);
    expect(log.some((line) => line.startsWith('CreateChangeSet'))).toBe(false);
  });

  it('warns about the migrations, asks for them and for the rollback; declining deletes the change set', async () => {
    const { env, cwd } = envs[2]!;
    const { cloud, log } = fakeCloud(env);
    const io = new RecordingIo([true, false], true);
    expect(await runRollback(options(cwd, env, io, cloud))).toBe(0);
    expect(io.stderr).toContain('2 database migration(s) ran after #1; a rollback does NOT revert them');
    expect(io.stderr).toMatch(/0002_b\n {2}0003_c/);
    expect(io.stderr).toContain('Modify Api (AWS::Lambda::Function)');
    expect(io.questions.map((q) => q.message)).toEqual([
      "Run #1's code against the database with 2 newer migration(s) still applied (they are not reverted)?",
      `Roll back "${env}" to release #1?`,
    ]);
    expect(log.filter((line) => !['DescribeStacks', 'GetTemplate'].includes(line))).toEqual([
      `CreateChangeSet watchpoint-${env} body {"BootstrapVersion":"/cdk-bootstrap/hnb659fds/version"}`,
      `DeleteChangeSet watchpoint-${env}`,
    ]);
    expect((await createLedger(s3, releaseLedgerBucketName(env, MOTO_ACCOUNT, 'eu-west-1')).list())!).toHaveLength(2);
  });

  it('prod: the operator types the environment name before anything runs', async () => {
    const { env, cwd } = envs[4]!;
    const { cloud, log } = fakeCloud(env);
    const io = new RecordingIo([true, env], true);
    expect(await runRollback(options(cwd, env, io, cloud))).toBe(0);
    const typed = io.questions[1]!;
    expect(typed).toMatchObject({ kind: 'input', message: `Type the environment name (${env}) to roll it back to #1` });
    expect(typed.kind === 'input' && typed.validate?.('prod')).toMatch(/does not match/);
    expect(log).toContain(`ExecuteChangeSet watchpoint-${env}`);
  });

  it('executes after yes and records "rollback to #1" with the current database level', async () => {
    const { env, cwd } = envs[3]!;
    const { cloud, log } = fakeCloud(env);
    const io = new RecordingIo([true, true], true);
    expect(await runRollback(options(cwd, env, io, cloud))).toBe(0);
    expect(log).toContain(`ExecuteChangeSet watchpoint-${env}`);
    const [latest] = (await createLedger(s3, releaseLedgerBucketName(env, MOTO_ACCOUNT, 'eu-west-1')).list(1))!;
    expect(latest).toMatchObject({ sequence: 3, kind: 'rollback', rollbackTo: 1, description: 'rollback to #1', imageTag: 't1', migrationLevel: '0003_c', outcome: 'succeeded' });
    expect(latest!.stacks[0]!.changes).toEqual({ added: [], modified: ['Api'], removed: [] });
  });

  it('a canary stage: the restored version trips its alarm, CodeDeploy puts the newer one back; the rollback says so and is recorded rolled-back-by-alarm', async () => {
    // CodeDeploy through aws-sdk-client-mock (test/deploy/codedeploy-shapes.ts says why); the alarms are on moto.
    const codedeploy = mockClient(CodeDeployClient);
    const cloudwatch = motoClient(CloudWatchClient);
    try {
      const { env, cwd } = await environment('re');
      const errors = shiftAlarmName(env, 'ApiFunction', 'Errors');
      await createShiftAlarms(cloudwatch, env, ['ApiFunction']);
      mockApiShift(codedeploy, env, { status: 'Stopped', errorInformation: { code: 'ALARM_ACTIVE', message: `Activated alarms: <${errors}>` }, rollbackInfo: { rollbackDeploymentId: 'd-RB1' } }, { rollbacks: ['d-RB1'] });
      await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: errors, StateValue: 'ALARM', StateReason: 'test: the restored version throws' }));
      const { cloud } = fakeCloud(env);
      cloud.settle = async (_stackName, onStatus) => {
        onStatus('UPDATE_ROLLBACK_COMPLETE');
        return 'UPDATE_ROLLBACK_COMPLETE';
      };
      const shifts = { watch: (since: Date) => createShiftWatch({ envName: env, codedeploy: new CodeDeployClient({ region: 'eu-west-1' }), cloudwatch, since }), region: 'eu-west-1', intervalMs: 5 };
      const io = new RecordingIo([true, true], true);
      const error = await runRollback({ ...options(cwd, env, io, cloud), shifts }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ROLLBACK_FAILED', exitCode: 1 });
      expect((error as Error).message).toContain(`alarm ${errors} fired on ApiFunction (version 8); CodeDeploy stopped the shift: version 7 now serves 100% again`);
      expect((error as { fix: string }).fix).toContain('The restored version set off its alarm');
      const [latest] = (await createLedger(s3, releaseLedgerBucketName(env, MOTO_ACCOUNT, 'eu-west-1')).list(1))!;
      expect(latest).toMatchObject({ kind: 'rollback', rollbackTo: 1, outcome: 'rolled-back-by-alarm' });
    } finally {
      codedeploy.restore();
    }
  });

  it('a canary stage: when the stack cannot be read while a shift is followed, rollback fails and stops following (nothing keeps polling)', async () => {
    const { env, cwd } = await environment('rf');
    const { cloud } = fakeCloud(env);
    cloud.settle = async () => {
      throw new Error('DescribeStacks: the security token included in the request is expired');
    };
    let polls = 0;
    const shifts = { watch: () => ({ poll: async () => ((polls += 1), []) }), region: 'eu-west-1', intervalMs: 5 } as unknown as ShiftPort;
    const io = new RecordingIo([true, true], true);
    const error = await runRollback({ ...options(cwd, env, io, cloud), shifts }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('the security token included in the request is expired');
    const after = polls;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(polls).toBe(after);
  });
});
