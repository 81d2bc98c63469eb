import { App, Tags, Validations } from 'aws-cdk-lib';
import type { Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { StageConfig } from '../config/schema.ts';
import { PlatformStack } from './platform-stack.ts';
import { RegistryStack } from './registry-stack.ts';

export interface PlatformAppOptions {
  envName: string;
  stage: StageConfig;
  /** Eval-worker image tag in the registry repository. */
  imageTag: string;
  outdir?: string;
  /** Default true; false skips esbuild bundling (context 'aws:cdk:bundling-stacks': []). */
  bundling?: boolean;
  /** Default true: run the cdk-nag AwsSolutions pack at synth; open findings fail synthesis. */
  nag?: boolean;
}

export interface PlatformApp {
  app: App;
  registryStack: Stack;
  platformStack: Stack;
}

export function createPlatformApp(options: PlatformAppOptions): PlatformApp {
  const { envName, stage } = options;
  const app = new App({
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
    context: {
      // Grant S3 server access log delivery through a bucket policy instead of the legacy ACL.
      '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
      ...(options.bundling === false ? { 'aws:cdk:bundling-stacks': [] } : {}),
    },
  });
  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  }

  const env = { account: stage.account, region: stage.region };
  const registryStack = new RegistryStack(app, `watchpoint-${envName}-registry`, {
    envName,
    env,
    description: `WatchPoint ${envName}: eval-worker image repository`,
  });
  const platformStack = new PlatformStack(app, `watchpoint-${envName}`, {
    envName,
    stage,
    imageTag: options.imageTag,
    env,
    description: `WatchPoint ${envName}: API, workers, queues, storage and alarms`,
  });
  platformStack.addStackDependency(registryStack, 'eval workers pull their image from the registry repository');

  Tags.of(app).add('app', 'watchpoint');
  Tags.of(app).add('env', envName);
  return { app, registryStack, platformStack };
}
