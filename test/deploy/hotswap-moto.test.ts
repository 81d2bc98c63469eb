// `deploy --hotswap` through the CLI's own CloudPort (toolkit-lib) on moto, which serves Lambda's
// UpdateFunctionCode, UpdateFunctionConfiguration and GetFunction: a small app (one zip function,
// one image function, one queue; test/helpers/hotswap-app.ts says why not the platform stack) is
// created through a change set, then changed one way at a time.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyTargetToProcessEnv, awsTarget } from '../../src/cli/aws/target.ts';
import { assemblyTemplateFingerprint, hotswapMethod } from '../../src/cli/deploy/hotswap.ts';
import type { CloudPort } from '../../src/cli/deploy/ports.ts';
import { createToolkitCloud } from '../../src/cli/deploy/toolkit.ts';
import { cheapBootstrap, recordImages, synthHotswapApp, V0, type AppVersion } from '../helpers/hotswap-app.ts';
import { accountClient, isolatedAccount, motoEndpoint, uniqueName, useMotoCredentials, type MotoAccount } from '../helpers/moto.ts';
import { TEST_STAGE } from '../helpers/stage.ts';

const REGION = TEST_STAGE.region;
let work: string;
let account: MotoAccount;
let cloud: CloudPort;
let undo: () => void;
let round = 0;
let v0Sha: string | undefined;
const stackName = uniqueName('hotswap');
const repositoryName = uniqueName('hotswap-img');

async function synth(version: AppVersion): Promise<string> {
  const outdir = join(work, `cdk.out-${(round += 1)}`);
  synthHotswapApp({ outdir, stackName, account: account.accountId, region: REGION, repositoryName, version });
  return outdir;
}

async function fn(logicalPrefix: string) {
  const lambda = accountClient(LambdaClient, account);
  const { CloudFormationClient, ListStackResourcesCommand } = await import('@aws-sdk/client-cloudformation');
  const resources = await accountClient(CloudFormationClient, account).send(new ListStackResourcesCommand({ StackName: stackName }));
  const physical = resources.StackResourceSummaries?.find((r) => r.LogicalResourceId?.startsWith(logicalPrefix) && r.ResourceType === 'AWS::Lambda::Function')?.PhysicalResourceId;
  return lambda.send(new GetFunctionCommand({ FunctionName: physical! }));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'watchpoint-hotswap-'));
  account = await isolatedAccount();
  useMotoCredentials(account.credentials);
  undo = applyTargetToProcessEnv(awsTarget({ region: REGION, awsEndpointUrl: motoEndpoint() }));
  process.env.AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION = motoEndpoint().replace('127.0.0.1', 'localhost');
  const client = { region: REGION, endpoint: motoEndpoint(), credentials: account.credentials };
  await cheapBootstrap(client, account.accountId);
  await recordImages(client, repositoryName, ['img-0', 'img-1']);
  cloud = await createToolkitCloud({ notify: () => undefined, region: REGION });
  const first = await synth(V0);
  await cloud.deploy(first, stackName, { approved: 'broadening', onActivity: () => undefined });
  v0Sha = (await fn('ZipHandler')).Configuration?.CodeSha256;
}, 120_000);

afterAll(async () => {
  undo?.();
  delete process.env.AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION;
  await rm(work, { recursive: true, force: true });
});

describe('deploy --hotswap on moto (toolkit-lib hotswap)', () => {
  it('a zip handler change goes straight to Lambda (UpdateFunctionCode), and the output names the function', async () => {
    const before = (await fn('ZipHandler')).Configuration?.CodeSha256;
    const dir = await synth({ ...V0, code: 'export const handler = async () => "v1";' });
    const diff = await cloud.diff(dir, stackName);
    expect(diff.resources?.map((r) => r.resourceType)).toEqual(['AWS::Lambda::Function']);
    expect(hotswapMethod({ ...diff, isNew: false }).method).toBe('hotswap');
    const result = await cloud.deploy(dir, stackName, { approved: 'none', onActivity: () => undefined, method: 'hotswap' });
    expect(result.hotswap?.method).toBe('hotswap');
    expect(result.hotswap?.hotswapped.map((r) => r.logicalId)).toEqual([diff.resources![0]!.logicalId]);
    expect(result.hotswap?.hotswapped[0]?.physicalName).toBeTruthy();
    const after = (await fn('ZipHandler')).Configuration?.CodeSha256;
    expect(after).not.toBe(before);
  }, 60_000);

  it('an environment change and an image tag change are hotswapped too (UpdateFunctionConfiguration, UpdateFunctionCode ImageUri)', async () => {
    const dir = await synth({ ...V0, code: 'export const handler = async () => "v1";', greeting: 'bonjour', imageTag: 'img-1' });
    const result = await cloud.deploy(dir, stackName, { approved: 'none', onActivity: () => undefined, method: 'hotswap' });
    expect(result.hotswap?.method).toBe('hotswap');
    expect(result.hotswap?.hotswapped.map((r) => r.logicalId.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['ImageHandler', 'ZipHandler']);
    expect((await fn('ZipHandler')).Configuration?.Environment?.Variables?.GREETING).toBe('bonjour');
    expect((await fn('ImageHandler')).Code?.ImageUri).toMatch(/:img-1$/);
  }, 60_000);

  it('hotswapping the same assembly again updates the function again: a hotswap diffs against the deployed template, never a cache that another deploy could have made stale', async () => {
    const dir = await synth({ ...V0, code: 'export const handler = async () => "again";' });
    const first = await cloud.deploy(dir, stackName, { approved: 'none', onActivity: () => undefined, method: 'hotswap' });
    const again = await cloud.deploy(dir, stackName, { approved: 'none', onActivity: () => undefined, method: 'hotswap' });
    expect([first.hotswap?.method, again.hotswap?.method]).toEqual(['hotswap', 'hotswap']);
    expect(again.hotswap?.hotswapped.map((r) => r.logicalId)).toEqual(first.hotswap?.hotswapped.map((r) => r.logicalId));
  }, 60_000);

  it('hotswapping back to the code CloudFormation holds reverts the function, from the assembly directory that hotswapped it, when the marker vouches for its record', async () => {
    const dir = join(work, 'cdk.out-revert');
    const version = (v: AppVersion) => synthHotswapApp({ outdir: dir, stackName, account: account.accountId, region: REGION, repositoryName, version: v });
    version({ ...V0, code: 'export const handler = async () => "to revert";' });
    const hot = await cloud.deploy(dir, stackName, { approved: 'none', onActivity: () => undefined, method: 'hotswap' });
    expect(hot.hotswap?.method).toBe('hotswap');
    expect((await fn('ZipHandler')).Configuration?.CodeSha256).not.toBe(v0Sha);
    const applied = await assemblyTemplateFingerprint(dir, stackName);

    // Back to V0, the template CloudFormation holds, in the same directory (as .watchpoint/cdk.out-<env>).
    version(V0);
    // A baseline that is not what was hotswapped: toolkit-lib's record is dropped, and against the
    // deployed template there is nothing to do (this is what a stale record must never hide).
    const stale = await cloud.deploy(dir, stackName, { approved: 'none', onActivity: () => undefined, method: 'hotswap', hotswapBaseline: 'f'.repeat(64) });
    expect(stale.hotswap?.method).toBe('unchanged');
    expect((await fn('ZipHandler')).Configuration?.CodeSha256).not.toBe(v0Sha);

    // Hotswap again, then back with the marker's fingerprint of what it applied: the function reverts.
    version({ ...V0, code: 'export const handler = async () => "to revert";' });
    await cloud.deploy(dir, stackName, { approved: 'none', onActivity: () => undefined, method: 'hotswap' });
    version(V0);
    const back = await cloud.deploy(dir, stackName, { approved: 'none', onActivity: () => undefined, method: 'hotswap', hotswapBaseline: applied });
    expect(back.hotswap?.method).toBe('hotswap');
    expect((await fn('ZipHandler')).Configuration?.CodeSha256).toBe(v0Sha);
  }, 60_000);

  it('a Lambda property toolkit-lib cannot hotswap (MemorySize) sends the stack through CloudFormation, and says which and why', async () => {
    const dir = await synth({ ...V0, code: 'export const handler = async () => "v2";', memorySize: 256 });
    const result = await cloud.deploy(dir, stackName, { approved: 'none', onActivity: () => undefined, method: 'hotswap' });
    expect(result.hotswap?.method).toBe('cloudformation');
    expect(result.hotswap?.hotswapped).toEqual([]);
    expect(result.hotswap?.viaCloudFormation.find((r) => /MemorySize/.test(r.reason))?.logicalId).toMatch(/^ZipHandler/);
  }, 60_000);

  it('a queue change is not left to toolkit-lib (it would hotswap it through Cloud Control): the stack goes through a change set', async () => {
    const dir = await synth({ ...V0, visibilitySeconds: 90 });
    const diff = await cloud.diff(dir, stackName);
    const planned = hotswapMethod({ ...diff, isNew: false });
    expect(planned.method).toBe('change-set');
    expect(planned.reasons.map((r) => r.resourceType)).toContain('AWS::SQS::Queue');
  }, 60_000);
});
