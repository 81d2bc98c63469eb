// `watchpoint deploy`: parseDeployOptions validates every flag; runDeploy builds the real ports and
// hands over to the orchestration in ../deploy/plan.ts.
import { awsRuntime } from '../aws/runtime.ts';
import { resolveStage, type CommandContext } from '../context.ts';
import { userError } from '../errors.ts';
import { exitWhenDone, handleCtrlC } from '../interrupt.ts';
import { flagError, runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import { noQuestions } from '../io.ts';
import { createAwsPort, createRegistryPort } from '../deploy/aws-ports.ts';
import { evalWorkerInputs, validateImageTag, type ImageInputs } from '../deploy/image-tag.ts';
import { deploy, type DeployDeps, type InterruptWatch } from '../deploy/plan.ts';
import { REQUIRE_APPROVAL, isProduction, type RequireApproval } from '../deploy/policy.ts';
import type { ContainerCliName } from '../deploy/container.ts';
import { createToolkitCloud } from '../deploy/toolkit.ts';
import { refuseHotswap, ssmHotswapMarker } from '../deploy/hotswap.ts';
import { createRecorder } from '../releases/recorder.ts';
import { migrationNames } from '../db/migrations.ts';
import type { CloudPort, ContainerCli, MigrationsPort, SecretsPreflight } from '../deploy/ports.ts';
import {
  awsClients,
  chooseContainerCli,
  containerFactory,
  migrationsPort,
  projectRoot,
  rendererFor,
  secretsPreflight,
  validateContainerCli,
  workPaths,
  type AwsClients,
} from '../deploy/support.ts';
import type { DeployFlags } from './deploy.define.ts';
import { createShiftWatch } from '../deploy/shift.ts';
import { deploymentStyleFor, type AppStage } from '../../config/schema.ts';

/** Replaceable parts, for tests and benchmarks. Anything not given is the real thing. */
export interface DeployInjections {
  clients?: Partial<AwsClients>;
  cloud?: CloudPort;
  container?: ContainerCli;
  secrets?: SecretsPreflight;
  migrations?: MigrationsPort;
  imageInputs?: ImageInputs;
  /** false skips esbuild bundling of the zip functions (tests). */
  bundling?: boolean;
  /** Replaces synthesize() (tests that deploy hand-made bundles through the real stack code). */
  synth?: DeployDeps['synth'];
  /** The waits between ledger write attempts (tests: none). */
  ledgerRetryDelays?: number[];
  /** How often a gradual deployment's shift is read while the platform stack deploys (default 10 s). */
  shiftIntervalMs?: number;
}

/** Everything `deploy` runs on, validated. */
export interface DeployOptions extends Runtime {
  yes: boolean;
  requireApproval: RequireApproval;
  imageTag: string | undefined;
  skipImage: boolean;
  skipMigrations: boolean;
  containerCli: ContainerCliName | undefined;
  dryRun: boolean;
  /** --hotswap: toolkit-lib's hotswap for Lambda changes (refused for prod and protected stages). */
  hotswap: boolean;
  /** --all-at-once: an emergency fix; canary/linear stages shift in one step, alarms not checked, for this deploy. */
  allAtOnce: boolean;
  injected: DeployInjections;
}

/** The flag contract: every deploy flag checked once, before the config file or any AWS call (exit 2 naming the flag). */
export function parseDeployOptions(flags: DeployFlags, context: CommandContext & Injectable, injected: DeployInjections = {}): DeployOptions {
  const requireApproval = flags.requireApproval ?? 'broadening';
  if (!isRequireApproval(requireApproval)) {
    throw flagError('--require-approval', `"${requireApproval}" is not valid.`, `Use one of ${REQUIRE_APPROVAL.join(', ')}.`, 'REQUIRE_APPROVAL_INVALID');
  }
  validateImageTag(flags.imageTag);
  if (flags.allAtOnce && flags.hotswap) {
    throw flagError('--all-at-once', 'cannot be combined with --hotswap: --hotswap sends Lambda-only changes straight to Lambda, outside CloudFormation, and --all-at-once is a CloudFormation deploy without the CodeDeploy shift.', 'Drop one of them: --hotswap for a dev stage, --all-at-once for an urgent fix through CloudFormation.', 'ALL_AT_ONCE_WITH_HOTSWAP');
  }
  return {
    ...runtimeOf(context),
    yes: Boolean(flags.yes ?? context.options.yes),
    requireApproval,
    imageTag: flags.imageTag,
    skipImage: Boolean(flags.skipImage),
    skipMigrations: Boolean(flags.skipMigrations),
    containerCli: validateContainerCli(flags.containerCli),
    dryRun: Boolean(flags.dryRun),
    hotswap: Boolean(flags.hotswap),
    allAtOnce: Boolean(flags.allAtOnce),
    injected,
  };
}

function isRequireApproval(value: string): value is RequireApproval {
  return (REQUIRE_APPROVAL as readonly string[]).includes(value);
}

/** Raw flags, context and injections (tests, benchmarks): parse, then run. */
export async function deployCommand(context: CommandContext & { flags: DeployFlags }, injected: DeployInjections = {}): Promise<number> {
  return runDeploy(parseDeployOptions(context.flags, context, injected));
}

export async function runDeploy(options: DeployOptions): Promise<number> {
  const { env, cwd, io, injected } = options;
  // Flags are valid (parseDeployOptions); the config next. No AWS call before both are.
  const { envName, stage } = await resolveStage(options);
  if (options.hotswap) refuseHotswap(envName, stage);
  // A production deploy that changes anything asks first, and whether it changes anything is known
  // only after the AWS preflight; without a terminal only --yes can answer, so say so now.
  if (isProduction(envName) && !io.interactive && !options.yes && !options.dryRun) {
    throw userError(
      'CONFIRMATION_REQUIRED',
      `Deploying "${envName}" (production) asks for confirmation before it changes anything, and ${noQuestions(io).why}.`,
      `Re-run with --yes to confirm (\`watchpoint deploy --env ${envName} --dry-run\` shows what it would do), or ${noQuestions(io).instead}.`,
    );
  }
  const containerName = injected.container?.name ?? (options.skipImage ? undefined : await chooseContainerCli(options.containerCli, env));
  const paths = workPaths(cwd, envName);
  const clients = await awsClients(stage, injected.clients ?? {}, ['sts', 'cloudformation', 'ecr', 'ssm', 's3']);
  // Canary and linear stages: CodeDeploy shifts the aliased functions, and deploy follows it.
  const gradual = deploymentStyleFor(envName, stage) !== 'all-at-once';
  if (options.allAtOnce && !gradual) io.notify('info', `--all-at-once: "${envName}" is an all-at-once stage already (no CodeDeploy shift); nothing changes.`);
  const allAtOnce = options.allAtOnce && gradual;
  const appStage: AppStage = allAtOnce ? { ...stage, allAtOnce: true } : stage;
  const shiftClients = gradual ? await awsClients(stage, injected.clients ?? {}, ['codedeploy', 'cloudwatch']) : undefined;
  let cloud: Promise<CloudPort> | undefined;
  let interruptedForReal = false;

  const code = await deploy(
    {
      envName,
      stage,
      requireApproval: options.requireApproval,
      ...(options.imageTag ? { imageTag: options.imageTag } : {}),
      skipImage: options.skipImage,
      skipMigrations: options.skipMigrations,
      dryRun: options.dryRun,
      hotswap: options.hotswap,
      allAtOnce,
      ...paths,
    },
    {
      io,
      aws: createAwsPort(clients),
      registry: createRegistryPort(clients.ecr),
      cloud: () => (cloud ??= injected.cloud ? Promise.resolve(injected.cloud) : createToolkitCloud({ notify: (level, text) => io.notify(level, text), debug: awsRuntime().ledger.settings.events.verbose, region: stage.region })),
      container: injected.container ? async () => injected.container! : containerFactory(containerName as never, env),
      containerName,
      secrets: injected.secrets ?? secretsPreflight(clients.ssm),
      migrations: injected.migrations ?? migrationsPort(clients.ssm, io),
      synth: injected.synth ?? (async ({ imageTag, outdir, progress }) => {
        const { synthesize, bundleCacheDirFor } = await import('./synth.ts');
        await synthesize({
          envName,
          stage: appStage,
          imageTag,
          outdir,
          bundleCacheDir: await bundleCacheDirFor(env),
          env,
          warn: (text) => io.notify('warn', text),
          ...(progress ? { progress } : {}),
          verbose: Boolean(options.verbose),
          ...(injected.bundling === false ? { bundling: false } : {}),
        });
      }),
      imageInputs: injected.imageInputs ?? evalWorkerInputs(projectRoot()),
      recordRelease: createRecorder({ s3: clients.s3, io, spoolDir: paths.ledgerSpoolDir, checkout: projectRoot(), ...(injected.ledgerRetryDelays ? { retryDelays: injected.ledgerRetryDelays } : {}) }),
      latestMigration: () => migrationNames().at(-1) ?? null,
      hotswapMarker: ssmHotswapMarker(clients.ssm, envName),
      renderer: rendererFor(options),
      ...(shiftClients
        ? { shifts: { watch: (since: Date) => createShiftWatch({ envName, ...shiftClients, since }), region: stage.region, intervalMs: injected.shiftIntervalMs ?? 10_000 } }
        : {}),
      watchInterrupt: (): InterruptWatch => {
        let fire!: () => void;
        const interrupted = new Promise<void>((resolve) => (fire = resolve));
        const handler = () => {
          interruptedForReal = true;
          fire();
        };
        const release = handleCtrlC(() => {
          release();
          handler();
        });
        return { interrupted, dispose: release };
      },
    },
  );
  if (interruptedForReal) {
    // toolkit-lib is still polling the stack and would keep the process alive; end it once the
    // operator has been told where things stand.
    exitWhenDone();
  }
  return code;
}
