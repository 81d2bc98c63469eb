// A small CDK app for `deploy --hotswap` on moto: one zip function, one image function and one
// queue, deployed by toolkit-lib from a real cloud assembly. The platform stack itself cannot be used
// there: moto cannot read back a stack holding the resource types it skipped (DescribeStackResources
// and ListStackResources answer HTTP 500, see test/deploy/platform-on-moto.test.ts), and toolkit-lib's
// hotswap needs ListStackResources to find a function's physical name.
// Shared by test/deploy/hotswap-moto.test.ts and bench/suites/hotswap.ts (no vitest imports here).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { cheapBootstrap, recordImageTag, type ClientConfig } from './moto-fixtures.ts';

export { cheapBootstrap, type ClientConfig };

const require = createRequire(import.meta.url);

/** What one synthesis of the app holds; change one field to make a one-resource change. */
export interface AppVersion {
  /** The zip handler's source (its asset hash, and so Code.S3Key, follows it). */
  code: string;
  /** The zip function's environment. */
  greeting: string;
  /** The image function's tag in its ECR repository. */
  imageTag: string;
  /** The queue's visibility timeout: a change no Lambda API can make. */
  visibilitySeconds: number;
  /** The zip function's memory: a Lambda property toolkit-lib does not hotswap. */
  memorySize: number;
}

export const V0: AppVersion = { code: 'export const handler = async () => "v0";', greeting: 'hello', imageTag: 'img-0', visibilitySeconds: 60, memorySize: 128 };

/** The image function's repository, with a manifest recorded under each tag (moto has no registry). */
export async function recordImages(client: ClientConfig, repositoryName: string, tags: string[]): Promise<void> {
  const ecr = new ECRClient(client);
  await ecr.send(new CreateRepositoryCommand({ repositoryName })).catch((error: Error) => {
    if (error.name !== 'RepositoryAlreadyExistsException') throw error;
  });
  for (const imageTag of tags) await recordImageTag(ecr, repositoryName, imageTag);
}

/** Synthesizes the app into outdir (aws-cdk-lib through require: its lazy CommonJS exports load fast). */
export function synthHotswapApp(input: { outdir: string; stackName: string; account: string; region: string; repositoryName: string; version: AppVersion }): void {
  const cdk = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const lambda = require('aws-cdk-lib/aws-lambda') as typeof import('aws-cdk-lib/aws-lambda');
  const ecr = require('aws-cdk-lib/aws-ecr') as typeof import('aws-cdk-lib/aws-ecr');
  const sqs = require('aws-cdk-lib/aws-sqs') as typeof import('aws-cdk-lib/aws-sqs');
  const codeDir = join(input.outdir, '..', `code-${createHash('sha256').update(input.version.code).digest('hex').slice(0, 12)}`);
  mkdirSync(codeDir, { recursive: true });
  writeFileSync(join(codeDir, 'index.mjs'), input.version.code);
  const app = new cdk.App({ outdir: input.outdir, context: { 'aws:cdk:enable-path-metadata': true } });
  const stack = new cdk.Stack(app, input.stackName, { env: { account: input.account, region: input.region } });
  new lambda.Function(stack, 'ZipHandler', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(codeDir),
    environment: { GREETING: input.version.greeting },
    memorySize: input.version.memorySize,
  });
  const repository = ecr.Repository.fromRepositoryName(stack, 'Repository', input.repositoryName);
  new lambda.DockerImageFunction(stack, 'ImageHandler', { code: lambda.DockerImageCode.fromEcr(repository, { tagOrDigest: input.version.imageTag }) });
  new sqs.Queue(stack, 'Queue', { visibilityTimeout: cdk.Duration.seconds(input.version.visibilitySeconds) });
  app.synth();
}
