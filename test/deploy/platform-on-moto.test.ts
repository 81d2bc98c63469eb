// The real stacks, deployed to moto through toolkit-lib (the CLI's own CloudPort): bootstrap with
// toolkit-lib's bootstrap, the registry stack, the eval-worker image recorded in its repository, then
// the platform stack exactly as `watchpoint synth` writes it (bundled), in an account of its own.
// What moto cannot do is asserted as such below, so this test notices the day it can.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { DescribeRepositoriesCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { afterAll, describe, expect, it } from 'vitest';
import { applyTargetToProcessEnv, awsTarget } from '../../src/cli/aws/target.ts';
import { synthesize } from '../../src/cli/commands/synth.ts';
import { createToolkitCloud } from '../../src/cli/deploy/toolkit.ts';
import type { ResourceActivity } from '../../src/cli/deploy/ports.ts';
import { accountClient, isolatedAccount, motoEndpoint, uniqueEnvName, useMotoCredentials } from '../helpers/moto.ts';
import { TEST_STAGE } from '../helpers/stage.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('the platform on moto through toolkit-lib', () => {
  it('bootstraps and deploys the registry for real; the platform stack "completes" but cannot be read back (moto gaps)', async () => {
    const account = await isolatedAccount();
    useMotoCredentials(account.credentials);
    const env = uniqueEnvName('t');
    const stage = { ...TEST_STAGE, account: account.accountId, awsEndpointUrl: motoEndpoint() };
    const undo = applyTargetToProcessEnv(awsTarget(stage));
    // toolkit-lib builds the TemplateURL from AWS_ENDPOINT_URL as http://127.0.0.1:PORT/bucket/key, which
    // moto cannot parse as a bucket; its own override for that URL fixes it (../shared/NOTES.md).
    process.env.AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION = motoEndpoint().replace('127.0.0.1', 'localhost');
    const outdir = await mkdtemp(join(tmpdir(), 'watchpoint-moto-deploy-'));
    dirs.push(outdir);
    const notes: string[] = [];
    const activity: ResourceActivity[] = [];
    try {
      await synthesize({ envName: env, stage, imageTag: 'v1.2.3', outdir });
      const cloud = await createToolkitCloud({ notify: (level, text) => void notes.push(`${level}: ${text}`), region: stage.region });
      const cfn = accountClient(CloudFormationClient, account);
      const status = (name: string) => cfn.send(new DescribeStacksCommand({ StackName: name })).then((r) => r.Stacks?.[0]);

      // 1. toolkit-lib's own bootstrap creates CDKToolkit.
      await cloud.bootstrap(account.accountId, stage.region);
      expect((await status('CDKToolkit'))?.StackStatus).toBe('CREATE_COMPLETE');

      // 2. The registry stack deploys for real: the repository exists and takes an image.
      await cloud.deploy(outdir, `watchpoint-${env}-registry`, { approved: 'broadening', onActivity: (a) => void activity.push(a) });
      const repositoryName = `watchpoint-${env}-eval-worker`;
      const ecr = accountClient(ECRClient, account);
      expect((await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }))).repositories?.[0]?.repositoryUri).toBe(`${account.accountId}.dkr.ecr.eu-west-1.amazonaws.com/${repositoryName}`);
      const manifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 2 }, layers: [] };
      await ecr.send(new PutImageCommand({ repositoryName, imageTag: 'v1.2.3', imageManifest: JSON.stringify(manifest), imageManifestMediaType: manifest.mediaType }));
      // moto 5.2.1 gap: a stack made by executing a change set (toolkit-lib's way) gets no Outputs.
      expect((await status(`watchpoint-${env}-registry`))?.Outputs ?? []).toEqual([]);

      // 3. The platform stack: toolkit-lib reports success and moto says CREATE_COMPLETE, but that is
      // not a deployed platform. moto skips AWS::ApiGatewayV2::*, AWS::Lambda::Alias,
      // AWS::Logs::MetricFilter, the bucket/queue/topic policies and the SNS subscription, cannot run
      // Custom::S3BucketNotifications (it would invoke a Lambda, which needs Docker), and the stack
      // cannot be read back: DescribeStackResources and ListStackResources fail with HTTP 500. So
      // status, dlq, rotate-keys and destroy are tested on the reduced template instead
      // (test/helpers/moto-stack.ts). This block fails the day moto can do it: then switch them over.
      await cloud.deploy(outdir, `watchpoint-${env}`, { approved: 'broadening', onActivity: (a) => void activity.push(a) });
      expect((await status(`watchpoint-${env}`))?.StackStatus).toBe('CREATE_COMPLETE');
      const listed = await cfn.send(new ListStackResourcesCommand({ StackName: `watchpoint-${env}` })).then(() => 'listed', (error: Error & { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode);
      expect(listed).toBe(500);
      const described = await cfn.send(new DescribeStackResourcesCommand({ StackName: `watchpoint-${env}` })).then(() => 'described', (error: Error & { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode);
      expect(described).toBe(500);
    } finally {
      undo();
      delete process.env.AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION;
    }
  }, 300_000);
});
