// `watchpoint releases` and `releases show N` through run(argv) against moto: records written by the
// real recorder, artifacts (zip asset, image) present or gone, and the flag contract.
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { beforeAll, describe, expect, it } from 'vitest';
import { RecordingIo } from '../../src/cli/io.ts';
import { releaseLedgerBucketName } from '../../src/cli/releases/ledger.ts';
import { createRecorder } from '../../src/cli/releases/recorder.ts';
import type { StackCapture } from '../../src/cli/releases/record.ts';
import { runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import { MOTO_ACCOUNT, motoClient, motoClientConfig, motoStage, uniqueEnvName, useMotoCredentials } from '../helpers/moto.ts';

useMotoCredentials();
const s3 = new S3Client({ ...motoClientConfig(), forcePathStyle: true });
const env = uniqueEnvName('r');
const bare = uniqueEnvName('u');
let cwd: string;
const assets = `cdk-hnb659fds-assets-${MOTO_ACCOUNT}-eu-west-1`;

function capture(codeKey: string): StackCapture {
  const template = { Resources: { Api: { Type: 'AWS::Lambda::Function', Properties: { Code: { S3Bucket: assets, S3Key: codeKey }, Timeout: 10 } } } };
  return { stackName: `watchpoint-${env}`, templateBody: JSON.stringify(template), parameters: {}, zipAssets: [{ bucket: assets, key: codeKey }] };
}

beforeAll(async () => {
  cwd = await tempDir();
  await writeConfig(cwd, { [env]: motoStage(), [bare]: motoStage() });
  await s3.send(new CreateBucketCommand({ Bucket: releaseLedgerBucketName(env, MOTO_ACCOUNT, 'eu-west-1'), CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  await s3.send(new CreateBucketCommand({ Bucket: assets, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } })).catch(() => undefined);
  // Only the second release's code is still in the bootstrap bucket; both images are in ECR.
  await s3.send(new PutObjectCommand({ Bucket: assets, Key: `${env}-new.zip`, Body: 'zip' }));
  const ecr = motoClient(ECRClient);
  await ecr.send(new CreateRepositoryCommand({ repositoryName: `watchpoint-${env}-eval-worker` }));
  for (const tag of ['tag1', 'tag2']) {
    const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${tag === 'tag1' ? 'a'.repeat(64) : 'b'.repeat(64)}`, size: 2 }, layers: [] };
    await ecr.send(new PutImageCommand({ repositoryName: `watchpoint-${env}-eval-worker`, imageTag: tag, imageManifest: JSON.stringify(manifest), imageManifestMediaType: manifest.mediaType }));
  }
  const record = createRecorder({ s3, io: new RecordingIo(), spoolDir: join(cwd, 'spool'), checkout: process.cwd(), retryDelays: [] });
  const base = { envName: env, region: 'eu-west-1', account: MOTO_ACCOUNT, operator: 'arn:aws:sts::123456789012:assumed-role/ops/alice', kind: 'deploy' as const, outcome: 'succeeded' as const, migrationLevel: null, stackNames: [`watchpoint-${env}`] };
  await record({ ...base, startedAt: new Date(Date.now() - 3_600_000), endedAt: new Date(Date.now() - 3_540_000), imageTag: 'tag1', captures: [capture(`${env}-old.zip`)] });
  await record({ ...base, startedAt: new Date(Date.now() - 600_000), endedAt: new Date(Date.now() - 500_000), imageTag: 'tag2', captures: [capture(`${env}-new.zip`)] });
}, 60_000);

describe('watchpoint releases', () => {
  it('bad input exits 2 naming the flag (parsed before the config or any AWS call)', async () => {
    for (const argv of [['releases', '--limit', '0'], ['releases', '--limit', 'ten'], ['releases', 'show', 'abc'], ['releases', 'show', '0']]) {
      const result = await runCli([...argv, '--env', env], { cwd, env: { WATCHPOINT_AWS_TIMEOUT: '1' } });
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr).toMatch(argv[1] === 'show' ? /release number/ : /--limit/);
      expect(result.stderr).toMatch(/\n {2}fix: /);
      expect(result.stdout).toBe('');
    }
  });

  it('an environment without a ledger: exit 2 saying how to get one', async () => {
    const result = await runCli(['releases', '--env', bare], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`has no release ledger in account ${MOTO_ACCOUNT}`);
    expect(result.stderr).toContain(`fix: Deploy it with \`watchpoint deploy --env ${bare}\``);
  });

  it('lists both newest first, marks the current one and which can be restored; --json is the full records only', async () => {
    const human = await runCli(['releases', '--env', env], { cwd });
    expect(human.code, human.stderr).toBe(0);
    const rows = human.stdout.split('\n').filter((line) => /^\s+[* ]\d+\s/.test(line));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^\s+\*2\s+\d+m ago .* alice .* tag2 .* deploy .* \+0 ~1 -0 .* succeeded .* yes$/);
    expect(rows[1]).toMatch(/^\s+ 1\s+1h ago .* alice .* tag1 .* \+1 ~0 -0 .* succeeded .* 1m .* no: watchpoint-.*: 1 zip asset\(s\) gone/);

    const json = await runCli(['releases', '--env', env, '--limit', '1', '--json'], { cwd });
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, env, current: 2, releases: [{ sequence: 2, current: true, imageTag: 'tag2', restorable: { ok: true, reasons: [] } }] });
    expect(doc.releases).toHaveLength(1);
  });

  it('show N: the record and what restoring it would change against the current release', async () => {
    const result = await runCli(['releases', 'show', '1', '--env', env], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Release #1 of "${env}": deploy, succeeded`);
    expect(result.stdout).toContain('Rolling back to #1 from the current #2 would change:');
    expect(result.stdout).toMatch(/~ Api \(AWS::Lambda::Function\): Properties\.Code/);
    expect(result.stdout).toContain('restorable no:');
    const missing = await runCli(['releases', 'show', '9', '--env', env], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('has no release #9 (the newest is #2)');
  });
});
