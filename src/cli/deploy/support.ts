// What deploy, diff, image and destroy share: flag validation, the real ports from SDK clients, paths.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { STSClient } from '@aws-sdk/client-sts';
import type { StageConfig } from '../../config/schema.ts';
import { awsClientConfig } from '../aws.ts';
import type { CommandContext } from '../context.ts';
import { userError } from '../errors.ts';
import type { Io } from '../io.ts';
import { pickRenderer, type RendererChoice } from '../renderer.ts';
import { CONTAINER_CLIS, createContainerCli, detectContainerCli, isContainerCliName, type ContainerCliName } from './container.ts';
import type { ContainerCli, MigrationsPort, SecretsPreflight } from './ports.ts';

export interface AwsClients {
  sts: STSClient;
  cloudformation: CloudFormationClient;
  ecr: ECRClient;
  ssm: SSMClient;
  s3: S3Client;
  iam: IAMClient;
  codedeploy: CodeDeployClient;
  cloudwatch: CloudWatchClient;
}

/** The clients a command needs, for the stage's region (and LocalStack endpoint); any may be injected. */
export async function awsClients<K extends keyof AwsClients>(stage: StageConfig, injected: Partial<AwsClients>, wanted: readonly K[]): Promise<Pick<AwsClients, K>> {
  const config = awsClientConfig(stage);
  // Only the SDK modules a command uses are loaded: each costs tens of milliseconds.
  const loaders: { [N in keyof AwsClients]: () => Promise<AwsClients[N]> } = {
    sts: () => import('@aws-sdk/client-sts').then((m) => new m.STSClient(config)),
    cloudformation: () => import('@aws-sdk/client-cloudformation').then((m) => new m.CloudFormationClient(config)),
    ecr: () => import('@aws-sdk/client-ecr').then((m) => new m.ECRClient(config)),
    ssm: () => import('@aws-sdk/client-ssm').then((m) => new m.SSMClient(config)),
    s3: () => import('@aws-sdk/client-s3').then((m) => new m.S3Client(config)),
    iam: () => import('@aws-sdk/client-iam').then((m) => new m.IAMClient(config)),
    codedeploy: () => import('@aws-sdk/client-codedeploy').then((m) => new m.CodeDeployClient(config)),
    cloudwatch: () => import('@aws-sdk/client-cloudwatch').then((m) => new m.CloudWatchClient(config)),
  };
  const entries = await Promise.all(wanted.map(async (name) => [name, injected[name] ?? (await loaders[name]())] as const));
  return Object.fromEntries(entries) as Pick<AwsClients, K>;
}

export function validateContainerCli(name: string | undefined): ContainerCliName | undefined {
  if (name === undefined) return undefined;
  if (!isContainerCliName(name)) {
    throw userError('CONTAINER_CLI_INVALID', `--container-cli "${name}" is not supported.`, `Use one of ${CONTAINER_CLIS.join(', ')}.`);
  }
  return name;
}

/**
 * The container CLI to build with: --container-cli when given (it must be on PATH), else the first of
 * docker, podman, finch, buildah on PATH. Undefined when none is found.
 */
export async function chooseContainerCli(flag: ContainerCliName | undefined, env: NodeJS.ProcessEnv): Promise<ContainerCliName | undefined> {
  if (flag) {
    const found = await detectOne(flag, env.PATH);
    if (!found) throw userError('CONTAINER_CLI_MISSING', `--container-cli ${flag}: "${flag}" is not on PATH.`, `Install ${flag}, pick another with --container-cli, or pass --skip-image.`);
    return flag;
  }
  return detectContainerCli(env.PATH);
}

async function detectOne(name: ContainerCliName, path: string | undefined): Promise<boolean> {
  const { access } = await import('node:fs/promises');
  const { constants } = await import('node:fs');
  const { delimiter } = await import('node:path');
  for (const dir of (path ?? '').split(delimiter).filter(Boolean)) {
    try {
      await access(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

export function containerFactory(name: ContainerCliName | undefined, env: NodeJS.ProcessEnv): () => Promise<ContainerCli> {
  return async () => {
    if (!name) {
      throw userError(
        'CONTAINER_CLI_MISSING',
        'The eval-worker image must be built, and no container CLI (docker, podman, finch, buildah) is on PATH.',
        'Install one, or pass --skip-image (with --image-tag for an image already in ECR).',
      );
    }
    return createContainerCli(name, { env });
  };
}

/** `secrets check` (src/cli/secrets/check.ts) as deploy's preflight. Problems name secrets, never values. */
export function secretsPreflight(ssm: SSMClient): SecretsPreflight {
  return async ({ envName, stage }) => {
    const [{ checkSecrets }, { notReadyFix }] = await Promise.all([import('../secrets/check.ts'), import('../secrets/report.ts')]);
    const report = await checkSecrets({ ssm, envName, stage });
    return {
      ok: report.ok,
      fix: notReadyFix(envName, report.failing),
      problems: report.secrets
        .filter((secret) => secret.status === 'missing' || secret.status === 'invalid')
        .map((secret) => `${secret.name}: ${secret.status === 'missing' ? 'missing (required)' : secret.problems.join('; ')}`),
    };
  };
}

/**
 * `watchpoint db migrate` (src/cli/commands/db.ts) as deploy's migration step. The URL is read from
 * SSM once, validated, and kept in this closure: callers get it masked, and migrateDatabase scrubs the
 * password from every message and error cause.
 */
export function migrationsPort(ssm: SSMClient, io: Io): MigrationsPort {
  const urls = new Map<string, Promise<string>>();
  const urlFor = (envName: string, stage: StageConfig): Promise<string> => {
    let url = urls.get(envName);
    if (!url) {
      url = (async () => {
        const { databaseUrlFromSsm, databaseUrlParameter, validateDatabaseUrl } = await import('../commands/db.ts');
        const value = await databaseUrlFromSsm(envName, stage, ssm);
        validateDatabaseUrl(value, `SSM ${databaseUrlParameter(envName)}`);
        return value;
      })();
      url.catch(() => urls.delete(envName));
      urls.set(envName, url);
    }
    return url;
  };
  const run = async (envName: string, stage: StageConfig, dryRun: boolean) => {
    const { migrateDatabase } = await import('../commands/db.ts');
    return migrateDatabase({ url: await urlFor(envName, stage), source: 'ssm', envName, dryRun, io });
  };
  return {
    async pending({ envName, stage }) {
      const result = await run(envName, stage, true);
      return { database: result.database, pending: result.pending };
    },
    async apply({ envName, stage }) {
      const result = await run(envName, stage, false);
      return { database: result.database, applied: result.applied };
    },
  };
}

export function rendererFor(context: CommandContext): RendererChoice {
  return pickRenderer({ tty: context.io.interactive, ci: Boolean(context.env.CI), test: Boolean(process.env.VITEST) });
}

/** The WatchPoint checkout (where package.json, src/lambdas and docker/ live), from source or from the CLI bundle. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'watchpoint') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('Cannot find the watchpoint package root above the CLI.');
    dir = parent;
  }
}

export function workPaths(cwd: string, envName: string): { assemblyDir: string; outputsFile: string; buildLogFile: string; ledgerSpoolDir: string } {
  const base = join(cwd, '.watchpoint');
  return {
    ledgerSpoolDir: join(base, `ledger-pending-${envName}`),
    assemblyDir: join(base, `cdk.out-${envName}`),
    outputsFile: join(base, `outputs-${envName}.json`),
    buildLogFile: join(base, `image-build-${envName}.log`),
  };
}
