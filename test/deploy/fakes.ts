// Fakes for deploy's ports, recording every call in one shared log so tests can check the order.
import { join } from 'node:path';
import type { StageConfig } from '../../src/config/schema.ts';
import type { DeployDeps, DeployRequest } from '../../src/cli/deploy/plan.ts';
import type {
  AwsPort,
  CloudPort,
  ContainerCli,
  MigrationsPort,
  HotswapOutcome,
  PermissionChange,
  RegistryPort,
  StackDiff,
  StackEvent,
} from '../../src/cli/deploy/ports.ts';
import type { Io } from '../../src/cli/io.ts';
import { TEST_STAGE } from '../helpers/stage.ts';

export const STAGE: StageConfig = { ...TEST_STAGE, corsAllowedOrigins: ['*'] };

export function diffOf(stackName: string, changes: number, permissionChange: PermissionChange = 'none', formatted = ''): StackDiff {
  return { stackName, isNew: false, changes, permissionChange, destructive: [], formatted };
}

export interface FakeOptions {
  account?: string;
  bootstrap?: string | undefined;
  secretsOk?: boolean;
  /** Migrations the fake database has not run yet (default none). */
  pendingMigrations?: string[];
  /** Makes the migrations port throw: when listing (unreachable database) or when applying. */
  failMigrations?: 'pending' | 'apply';
  imagePresent?: boolean;
  diffs?: Record<string, StackDiff>;
  statuses?: Record<string, string | undefined>;
  /** Makes cloud.deploy throw for this stack. */
  failDeploy?: string;
  /** Makes a hotswap of this stack fail while calling Lambda (toolkit.ts HotswapFailedError). */
  failHotswap?: string;
  events?: StackEvent[];
  statusAfterFailure?: string;
  /** cloud.deploy of this stack never settles until released (for Ctrl-C tests). */
  hangDeploy?: string;
  outputs?: Record<string, Record<string, string>>;
  noOp?: string[];
  /** What toolkit-lib's hotswap reports for a stack deployed with method 'hotswap' (default: hotswapped nothing). */
  hotswap?: Record<string, HotswapOutcome>;
}

export interface Fakes {
  log: string[];
  deps: DeployDeps;
  approvedFor: Map<string, PermissionChange>;
  interrupt: () => void;
  interruptDisposed: () => boolean;
}

export function fakes(io: Io, dir: string, options: FakeOptions = {}): Fakes {
  const log: string[] = [];
  const approvedFor = new Map<string, PermissionChange>();
  /** repository:tag pushed by the fake container CLI, which the fake ECR then lists. */
  const pushed = new Set<string>();
  const bootstrap = 'bootstrap' in options ? options.bootstrap : 'UPDATE_COMPLETE';
  const statuses: Record<string, string | undefined> = options.statuses
    ? { ...options.statuses }
    : { 'watchpoint-dev-registry': 'UPDATE_COMPLETE', 'watchpoint-dev': 'UPDATE_COMPLETE', 'watchpoint-prod-registry': 'UPDATE_COMPLETE', 'watchpoint-prod': 'UPDATE_COMPLETE' };
  const aws: AwsPort = {
    async callerIdentity() {
      log.push('sts:GetCallerIdentity');
      return { account: options.account ?? '123456789012', arn: 'arn:aws:iam::123456789012:role/ops' };
    },
    async bootstrapStatus() {
      log.push('cfn:DescribeStacks CDKToolkit');
      return bootstrap;
    },
    async stackStatus(name) {
      log.push(`cfn:DescribeStacks ${name}`);
      return statuses[name];
    },
    async latestStackEvents(name) {
      log.push(`cfn:DescribeStackEvents ${name}`);
      return options.events ?? [];
    },
  };
  const registry: RegistryPort = {
    async hasImage(repo, tag) {
      log.push(`ecr:DescribeImages ${repo}:${tag}`);
      return (options.imagePresent ?? false) || pushed.has(`${repo}:${tag}`);
    },
    async authorization() {
      log.push('ecr:GetAuthorizationToken');
      return { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', username: 'AWS', password: 's3cret-token' };
    },
  };
  const cloud: CloudPort = {
    async diff(_dir, stackName) {
      log.push(`diff ${stackName}`);
      return options.diffs?.[stackName] ?? diffOf(stackName, 0);
    },
    async deploy(_dir, stackName, { approved, onActivity, method, hotswapBaseline }) {
      log.push(`deploy ${stackName}${method === 'hotswap' ? ` (hotswap${hotswapBaseline ? `, baseline ${hotswapBaseline}` : ''})` : ''}`);
      approvedFor.set(stackName, approved);
      onActivity({ stackName, logicalId: 'Thing', resourceType: 'AWS::SQS::Queue', status: 'UPDATE_IN_PROGRESS' });
      if (options.hangDeploy === stackName) {
        statuses[stackName] = 'UPDATE_IN_PROGRESS';
        await new Promise<void>(() => undefined);
      }
      if (options.failHotswap === stackName && method === 'hotswap') {
        const { HotswapFailedError } = await import('../../src/cli/deploy/toolkit.ts');
        throw new HotswapFailedError(stackName, Object.assign(new Error('An update is in progress for resource: arn:aws:lambda:eu-west-1:123456789012:function:watchpoint-dev-api'), { name: 'ResourceConflictException', $metadata: { httpStatusCode: 409 } }));
      }
      if (options.failDeploy === stackName) {
        statuses[stackName] = options.statusAfterFailure ?? 'UPDATE_ROLLBACK_COMPLETE';
        throw new Error(`The stack named ${stackName} failed to deploy: UPDATE_ROLLBACK_COMPLETE`);
      }
      const noOp = options.noOp?.includes(stackName) ?? false;
      const hotswap = method === 'hotswap' ? { hotswap: options.hotswap?.[stackName] ?? { method: 'unchanged' as const, hotswapped: [], viaCloudFormation: [] } } : {};
      return { stackName, noOp, outputs: options.outputs?.[stackName] ?? {}, ...hotswap };
    },
    async destroy(_dir, stackName) {
      log.push(`destroy ${stackName}`);
    },
    async bootstrap(account, region) {
      log.push(`bootstrap aws://${account}/${region}`);
    },
  };
  const container: ContainerCli = {
    name: 'fakecli',
    async build({ image }) {
      log.push(`build ${image}`);
    },
    async login({ registry: host, username }) {
      log.push(`login ${username}@${host}`);
    },
    async push(image) {
      log.push(`push ${image}`);
      pushed.add(image.slice(image.indexOf('/') + 1));
    },
  };
  /** The database as the port shows it: masked, as the real port (src/cli/commands/db.ts) does. */
  const database = 'postgres://ops:****@db.internal:5432/watchpoint';
  let pending = [...(options.pendingMigrations ?? [])];
  const migrations: MigrationsPort = {
    async pending() {
      log.push('db: list pending migrations');
      if (options.failMigrations === 'pending') throw new Error('connect ETIMEDOUT db.internal:5432');
      return { database, pending: [...pending] };
    },
    async apply() {
      log.push('db: apply migrations');
      if (options.failMigrations === 'apply') throw new Error('relation "watchpoints" already exists');
      const applied = pending;
      pending = [];
      return { database, applied };
    },
  };
  let fire: (() => void) | undefined;
  let disposed = false;
  const deps: DeployDeps = {
    io,
    aws,
    registry,
    cloud: async () => cloud,
    container: async () => container,
    containerName: 'fakecli',
    secrets: async () => {
      log.push('secrets check');
      return options.secretsOk === false ? { ok: false, problems: ['billing/stripe_secret_key: missing (required)'] } : { ok: true, problems: [] };
    },
    migrations,
    synth: async ({ imageTag }) => {
      log.push(`synth ${imageTag}`);
    },
    imageInputs: { contextDir: join(dir, 'ctx'), dockerfile: 'Dockerfile', include: ['.'], platform: 'linux/arm64' },
    renderer: 'silent',
    watchInterrupt: () => ({
      interrupted: new Promise<void>((resolve) => (fire = resolve)),
      dispose: () => (disposed = true),
    }),
  };
  return {
    log,
    deps,
    approvedFor,
    interrupt: () => {
      // The hung deploy stays pending, as toolkit-lib's polling would.
      fire?.();
    },
    interruptDisposed: () => disposed,
  };
}

export function request(dir: string, overrides: Partial<DeployRequest> = {}): DeployRequest {
  return {
    envName: 'dev',
    stage: STAGE,
    requireApproval: 'broadening',
    skipImage: false,
    skipMigrations: false,
    dryRun: false,
    assemblyDir: join(dir, 'cdk.out'),
    outputsFile: join(dir, '.watchpoint', 'outputs-dev.json'),
    buildLogFile: join(dir, '.watchpoint', 'build.log'),
    ...overrides,
  };
}

/** A temp project dir whose ctx/ is the tiny build context the fakes' imageInputs point at. */
export async function projectWithImageContext(): Promise<string> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { tempDir } = await import('../helpers/cli.ts');
  const dir = await tempDir();
  await mkdir(join(dir, 'ctx'));
  await writeFile(join(dir, 'ctx', 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
  await writeFile(join(dir, 'ctx', 'hello.txt'), 'hello\n');
  return dir;
}
