// deploy's preflight against moto, end to end: credentials and account (STS), the secrets check
// (SSM), the CDK bootstrap stack (CloudFormation), and whether the eval-worker image is already in
// ECR (moto's ECR API, the image recorded with PutImage). The first cases run `run(argv)`
// in-process through the recording proxy; the last runs bin/watchpoint as a process with --dry-run,
// so the listr task titles reach stderr as an operator sees them.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BatchGetImageCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { evalWorkerInputs, imageTag } from '../../src/cli/deploy/image-tag.ts';
import { projectRoot } from '../../src/cli/deploy/support.ts';
import { runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import { MOTO_ACCOUNT, motoClient, motoProcessEnv, motoStage, startMotoRecorder, uniqueEnvName, useMotoCredentials, type MotoRecorder } from '../helpers/moto.ts';
import { createMotoRegistry } from '../helpers/moto-stack.ts';
import { VALUES } from '../secrets/helpers.ts';

useMotoCredentials();
const ssm = motoClient(SSMClient);
const ecr = motoClient(ECRClient);
const bin = fileURLToPath(new URL('../../bin/watchpoint', import.meta.url));

let recorder: MotoRecorder;
let env: string;
let cwd: string;
beforeAll(async () => {
  recorder = await startMotoRecorder();
});
afterAll(() => recorder.stop());
beforeEach(async () => {
  env = uniqueEnvName('p');
  cwd = await tempDir();
  await writeConfig(cwd, { [env]: motoStage({ awsEndpointUrl: recorder.endpoint }) });
  recorder.reset();
});

async function seedSecrets(values: Partial<Record<keyof typeof VALUES, string>> = VALUES): Promise<void> {
  for (const [name, value] of Object.entries(values)) await ssm.send(new PutParameterCommand({ Name: `/${env}/watchpoint/${name}`, Value: value!, Type: 'SecureString' }));
}

/** Records an image under `tag` in the registry stack's repository, as a push would. */
async function recordImage(tag: string): Promise<void> {
  const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 2 }, layers: [] };
  await ecr.send(new PutImageCommand({ repositoryName: `watchpoint-${env}-eval-worker`, imageTag: tag, imageManifest: JSON.stringify(manifest), imageManifestMediaType: manifest.mediaType }));
}

const deploy = (...args: string[]) => runCli(['deploy', '--env', env, '--skip-migrations', ...args], { cwd });

describe('deploy preflight on moto', () => {
  it('credentials for another account: exit 2 naming both, after one sts:GetCallerIdentity and nothing else', async () => {
    await writeConfig(cwd, { [env]: motoStage({ awsEndpointUrl: recorder.endpoint, account: '210987654321' }) });
    const result = await deploy('--skip-image', '--image-tag', 'v1', '--dry-run');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`These credentials are for account ${MOTO_ACCOUNT} (arn:aws:sts::${MOTO_ACCOUNT}:user/moto)`);
    expect(result.stderr).toContain('configured for account 210987654321');
    expect(recorder.actions()).toEqual(['GetCallerIdentity']);
  });

  it('secrets not ready: exit 1 naming each missing one, in ⌈entries/10⌉ GetParameters, before CloudFormation or ECR', async () => {
    await seedSecrets({ 'database/url': VALUES['database/url'], 'auth/session_key': VALUES['auth/session_key'] });
    const result = await deploy('--skip-image', '--image-tag', 'v1', '--dry-run');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`The secrets of "${env}" are not ready`);
    for (const name of ['billing/stripe_secret_key', 'billing/stripe_webhook_secret', 'forecast/runpod_api_key']) expect(result.stderr).toContain(name);
    expect(result.stderr).toContain(`watchpoint secrets set --env ${env}`);
    expect(recorder.actions()).toEqual(['GetCallerIdentity', 'GetParameters', 'GetParameters']);
    expect(result.stdout + result.stderr).not.toContain(VALUES['database/url']);
  });

  it('--skip-image with a tag ECR lacks: exit 2 in the preflight, after ecr:DescribeImages found nothing; nothing synthesized', async () => {
    await seedSecrets();
    await createMotoRegistry(env);
    recorder.reset();
    const result = await deploy('--skip-image', '--image-tag', 'v9.9.9', '--dry-run');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--skip-image, but ECR has no watchpoint-${env}-eval-worker:v9.9.9`);
    expect(result.stderr).toContain(`watchpoint image push --env ${env} --image-tag v9.9.9`);
    expect(recorder.actions()).toEqual(['GetCallerIdentity', 'GetParameters', 'GetParameters', 'DescribeStacks', 'DescribeImages']);
  });

  it('an image index under the tag is refused in the preflight (Lambda takes single manifests only)', async () => {
    await seedSecrets();
    await createMotoRegistry(env);
    const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
    await ecr.send(new PutImageCommand({ repositoryName: `watchpoint-${env}-eval-worker`, imageTag: 'v2', imageManifest: JSON.stringify(index), imageManifestMediaType: index.mediaType }));
    recorder.reset();
    const result = await deploy('--skip-image', '--image-tag', 'v2', '--dry-run');
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toMatch(/index/i);
    expect(recorder.actions()).not.toContain('CreateChangeSet');
  });
});

describe('deploy --dry-run through bin/watchpoint on moto', () => {
  it('credentials, secrets, bootstrap missing, the content-hash image already in ECR: nothing built or pushed, nothing changed', async () => {
    await seedSecrets();
    await createMotoRegistry(env);
    const { tag } = await imageTag(evalWorkerInputs(projectRoot()));
    await recordImage(tag);
    recorder.reset();
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, 'deploy', '--env', env, '--skip-migrations', '--dry-run', '--container-cli', 'buildah'], {
        cwd,
        env: motoProcessEnv({ CI: "true" }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`AWS account ${MOTO_ACCOUNT}`);
    expect(result.stderr).toContain('CDK bootstrap stack (CDKToolkit): missing');
    expect(result.stderr).toContain(`Eval-worker image watchpoint-${env}-eval-worker:${tag}: in ECR`);
    expect(result.stderr).toContain('already in ECR, nothing to build or push');
    const actions = recorder.actions();
    for (const write of ['PutImage', 'InitiateLayerUpload', 'CreateChangeSet', 'ExecuteChangeSet', 'CreateStack', 'UpdateStack', 'PutParameter']) expect(actions).not.toContain(write);
    // The recorded image is untouched.
    const { images } = await ecr.send(new BatchGetImageCommand({ repositoryName: `watchpoint-${env}-eval-worker`, imageIds: [{ imageTag: tag }] }));
    expect(images).toHaveLength(1);
  }, 180_000);
});
