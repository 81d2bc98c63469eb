// `watchpoint deploy`: validates every flag, builds the real ports, and hands over to the
// orchestration in ../deploy/plan.ts.
import { awsRuntime } from '../aws/runtime.ts';
import { resolveStage, type CommandContext } from '../context.ts';
import { userError } from '../errors.ts';
import { exitWhenDone, handleCtrlC } from '../interrupt.ts';
import { noQuestions } from '../io.ts';
import { createAwsPort, createRegistryPort } from '../deploy/aws-ports.ts';
import { evalWorkerInputs, type ImageInputs } from '../deploy/image-tag.ts';
import { deploy, type DeployDeps, type InterruptWatch } from '../deploy/plan.ts';
import { REQUIRE_APPROVAL, isProduction, type RequireApproval } from '../deploy/policy.ts';
import { createToolkitCloud } from '../deploy/toolkit.ts';
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
  validateImageTag,
  workPaths,
  type AwsClients,
} from '../deploy/support.ts';

export interface DeployFlags {
  requireApproval?: string;
  imageTag?: string;
  skipImage?: boolean;
  skipMigrations?: boolean;
  containerCli?: string;
  dryRun?: boolean;
}

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
}

export async function deployCommand(context: CommandContext & { flags: DeployFlags }, injected: DeployInjections = {}): Promise<number> {
  const { flags, env, cwd, io } = context;
  // Every flag is checked before anything touches AWS.
  const requireApproval = (flags.requireApproval ?? 'broadening') as RequireApproval;
  if (!REQUIRE_APPROVAL.includes(requireApproval)) {
    throw userError('REQUIRE_APPROVAL_INVALID', `--require-approval "${flags.requireApproval}" is not valid.`, `Use one of ${REQUIRE_APPROVAL.join(', ')}.`);
  }
  validateImageTag(flags.imageTag);
  const cliFlag = validateContainerCli(flags.containerCli);
  const { envName, stage } = await resolveStage(context);
  // A production deploy that changes anything asks first, and whether it changes anything is known
  // only after the AWS preflight; without a terminal only --yes can answer, so say so now.
  if (isProduction(envName) && !io.interactive && !context.options.yes && !flags.dryRun) {
    throw userError(
      'CONFIRMATION_REQUIRED',
      `Deploying "${envName}" (production) asks for confirmation before it changes anything, and ${noQuestions(io).why}.`,
      `Re-run with --yes to confirm (\`watchpoint deploy --env ${envName} --dry-run\` shows what it would do), or ${noQuestions(io).instead}.`,
    );
  }
  const containerName = injected.container?.name ?? (flags.skipImage ? undefined : await chooseContainerCli(cliFlag, env));
  const paths = workPaths(cwd, envName);
  const clients = await awsClients(stage, injected.clients ?? {}, ['sts', 'cloudformation', 'ecr', 'ssm', 's3']);
  let cloud: Promise<CloudPort> | undefined;
  let interruptedForReal = false;

  const code = await deploy(
    {
      envName,
      stage,
      requireApproval,
      ...(flags.imageTag ? { imageTag: flags.imageTag } : {}),
      skipImage: Boolean(flags.skipImage),
      skipMigrations: Boolean(flags.skipMigrations),
      dryRun: Boolean(flags.dryRun),
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
          stage,
          imageTag,
          outdir,
          bundleCacheDir: await bundleCacheDirFor(env),
          env,
          warn: (text) => io.notify('warn', text),
          ...(progress ? { progress } : {}),
          verbose: Boolean(context.verbose),
          ...(injected.bundling === false ? { bundling: false } : {}),
        });
      }),
      imageInputs: injected.imageInputs ?? evalWorkerInputs(projectRoot()),
      recordRelease: createRecorder({ s3: clients.s3, io, spoolDir: paths.ledgerSpoolDir, checkout: projectRoot(), ...(injected.ledgerRetryDelays ? { retryDelays: injected.ledgerRetryDelays } : {}) }),
      latestMigration: () => migrationNames().at(-1) ?? null,
      renderer: rendererFor(context),
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
