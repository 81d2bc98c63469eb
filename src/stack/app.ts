import { App, Tags, Validations } from 'aws-cdk-lib';
import type { Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { AppStage } from '../config/schema.ts';
import type { ZipBundles } from './bundling/build.ts';
import { appContext } from './context.ts';
import { PlatformStack } from './platform-stack.ts';
import { RegistryStack } from './registry-stack.ts';

export interface PlatformAppOptions {
  envName: string;
  stage: AppStage;
  /** Eval-worker image tag in the registry repository. */
  imageTag: string;
  outdir?: string;
  /**
   * The zip functions' bundles, from `await buildZipBundles()` (src/stack/bundling/build.ts), which
   * builds them in one esbuild pass and reuses unchanged ones. Required unless `bundling` is false.
   */
  bundles?: ZipBundles;
  /**
   * Default true. false skips bundling: each zip function points at its handler's source directory
   * (stack tests, destroy). The template is the same apart from the functions' asset hashes and paths.
   */
  bundling?: boolean;
  /** Default true: run the cdk-nag AwsSolutions pack at synth; open findings fail synthesis. */
  nag?: boolean;
  /** Write `aws:cdk:path` metadata on every resource, as the cdk CLI does (`watchpoint dev` reads it). */
  pathMetadata?: boolean;
}

export interface PlatformApp {
  app: App;
  registryStack: Stack;
  platformStack: Stack;
}

export function createPlatformApp(options: PlatformAppOptions): PlatformApp {
  const { envName, stage } = options;
  if (options.bundling !== false && !options.bundles) {
    throw new Error('createPlatformApp needs the zip bundles: pass `bundles: (await buildZipBundles()).bundles` (src/stack/bundling/build.ts), or `bundling: false`.');
  }
  const zipCode = options.bundles && options.bundling !== false ? { bundles: options.bundles } : { unbundled: true as const };
  const app = new App({
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
    context: appContext({ pathMetadata: options.pathMetadata }),
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
    zipCode,
    env,
    description: `WatchPoint ${envName}: API, workers, queues, storage and alarms`,
  });
  platformStack.addStackDependency(registryStack, 'eval workers pull their image from the registry repository');

  Tags.of(app).add('app', 'watchpoint');
  Tags.of(app).add('env', envName);
  return { app, registryStack, platformStack };
}
