// The deploy orchestration: preflight, image + synth, diff, questions, deploy, outputs. It talks only
// to ports (ports.ts), so every path (order, skips, approvals, failures, Ctrl-C) is tested with fakes.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { StageConfig } from '../../config/schema.ts';
import { stackNames } from '../context.ts';
import { ExitCode, WatchpointError, userError } from '../errors.ts';
import type { Io } from '../io.ts';
import type { RendererChoice } from '../renderer.ts';
import type { Outcome } from '../releases/record.ts';
import type { RecordRelease } from '../releases/recorder.ts';
import { explainAwsError } from '../stack-resources.ts';
import { describeImageCommands, finishPush, planImage, startBuild, type ImagePlan, type StartedBuild } from './image.ts';
import type { ImageInputs } from './image-tag.ts';
import {
  approvalReason,
  describeState,
  diffSummary,
  failureReport,
  isProduction,
  strongest,
  type RequireApproval,
  type StackStatusRead,
} from './policy.ts';
import type { AwsPort, CallerIdentity, CloudPort, ContainerCli, HotswapOutcome, MigrationsPort, RegistryPort, ResourceActivity, SecretsPreflight, StackDeployResult, StackDiff } from './ports.ts';
import { assemblyTemplateFingerprint, hotswapMethod, hotswapReport, nextMarker, restoreCommand, type HotswapMarker, type HotswapMarkerPort, type MarkerOutcome } from './hotswap.ts';
import { deploymentStyleFor } from '../../config/schema.ts';
import type { FunctionShift, ShiftPort } from './shift.ts';
import { followShifts, type ShiftFollowing } from './shift-follow.ts';
import { rollbackSentence, runningShiftLines, shiftLines } from './shift-report.ts';
import { runPhase, type TaskHandle } from './tasks.ts';
import { ApprovalDriftError, HotswapFailedError } from './toolkit.ts';
import { BOOTSTRAP_VERSION_PARAMETER, MIN_BOOTSTRAP_VERSION } from './aws-ports.ts';

export interface DeployRequest {
  envName: string;
  stage: StageConfig;
  requireApproval: RequireApproval;
  /** --image-tag: deploy this tag instead of the content hash. */
  imageTag?: string;
  /** --skip-image: never build or push. */
  skipImage: boolean;
  /** --skip-migrations: never connect to the database (it may not be reachable yet). */
  skipMigrations: boolean;
  dryRun: boolean;
  /** --hotswap: Lambda code and environment changes go straight to Lambda (toolkit-lib's hotswap); refused for prod and protected stages before this runs. */
  hotswap?: boolean;
  /** --all-at-once: the synth already made every deployment group shift in one step; said in the confirmation. */
  allAtOnce?: boolean;
  /** Where synthesize() writes the cloud assembly. */
  assemblyDir: string;
  /** .watchpoint/outputs-<env>.json */
  outputsFile: string;
  /** The container build log (the build writes here, not to a pipe). */
  buildLogFile: string;
}

export interface InterruptWatch {
  /** Resolves on Ctrl-C. */
  interrupted: Promise<void>;
  dispose(): void;
}

export interface DeployDeps {
  io: Io;
  aws: AwsPort;
  registry: RegistryPort;
  /** toolkit-lib, loaded on first use (it is slow to import). */
  cloud: () => Promise<CloudPort>;
  /** The container CLI; throws a user error when none is available. Called only when a build is needed. */
  container: () => Promise<ContainerCli>;
  /** Name of the container CLI for --dry-run's command list, or undefined when none was found. */
  containerName: string | undefined;
  secrets: SecretsPreflight;
  /** `watchpoint db migrate`: listed in the preflight, applied after the questions, before any stack. */
  migrations: MigrationsPort;
  /** Writes the cloud assembly (both stacks, one synthesis) for this image tag into outdir; `progress` gets the bundling line. */
  synth: (input: { imageTag: string; outdir: string; progress?: (text: string) => void }) => Promise<void>;
  imageInputs: ImageInputs;
  renderer: RendererChoice;
  /** Starts listening for Ctrl-C while stacks deploy. */
  watchInterrupt?: () => InterruptWatch;
  /** Records the release in the ledger (src/cli/releases/recorder.ts); never throws. */
  recordRelease?: RecordRelease;
  /** The newest migration in this checkout: the database's level after a deploy that applied them. */
  latestMigration?: () => string | null;
  /** The marker `status` reads: set by a hotswap, cleared by the next CloudFormation deploy of the stack. */
  hotswapMarker?: HotswapMarkerPort;
  /** Gradual stages (canary, linear): follows CodeDeploy's shifts while the platform stack deploys (shift.ts). */
  shifts?: ShiftPort;
}

interface DeployState {
  identity?: CallerIdentity;
  bootstrap: 'present' | 'missing' | 'outdated';
  /** The bootstrap version found, when it is below MIN_BOOTSTRAP_VERSION (or unknown: undefined). */
  bootstrapVersion?: number | undefined;
  image?: ImagePlan;
  build?: StartedBuild;
  /** What the preflight found in the database (undefined with --skip-migrations). */
  migrations?: { database: string; pending: string[] };
  /** True while the migrations are being applied (for Ctrl-C). */
  migrating: boolean;
  diffs: StackDiff[];
  statuses: Map<string, string | undefined>;
  results: StackDeployResult[];
  /** The stack toolkit-lib is deploying right now (for Ctrl-C). */
  deploying?: string;
  /** How it is being deployed (Ctrl-C: a hotswap is not CloudFormation's to finish). */
  deployingMethod?: 'change-set' | 'hotswap';
  /** The hotswap marker as read before this deploy marked anything (the base of the final marker). */
  markerBefore?: { value: HotswapMarker | undefined };
  /** True once this deploy wrote a mark before a hotswap (the final marker must then be written). */
  markerWritten?: boolean;
  /** The stack whose deploy failed (the release is recorded as failed or rolled back). */
  failedStack?: string;
  /** The CodeDeploy shifts of the platform stack's deploy, while and after it runs. */
  following?: ShiftFollowing;
  shifts?: FunctionShift[];
  /** The shifts an alarm stopped (CodeDeploy moved their traffic back): the release is rolled back by an alarm. */
  alarmRollbacks?: FunctionShift[];
}

/** What the deploy of each stack did with respect to hotswapping (every deploy: a normal one clears the marker). */
function outcomeOf(result: StackDeployResult): HotswapOutcome {
  return result.hotswap ?? { method: result.noOp ? 'unchanged' : 'cloudformation', hotswapped: [], viaCloudFormation: [] };
}

/**
 * A stack mid-operation. REVIEW_IN_PROGRESS is not one: it is a stack whose first change set was
 * created (or interrupted) but never executed, with no resources and nothing running, and
 * toolkit-lib itself treats it as "not created yet" (CloudFormationStack.exists is false for it).
 */
const BUSY = /_IN_PROGRESS$/;
export function isBusy(status: string | undefined): boolean {
  return status !== undefined && status !== 'REVIEW_IN_PROGRESS' && BUSY.test(status);
}
function notCreatedYet(status: string | undefined): boolean {
  return status === undefined || status === 'REVIEW_IN_PROGRESS';
}

export async function deploy(request: DeployRequest, deps: DeployDeps): Promise<number> {
  const { io } = deps;
  const { envName, stage } = request;
  const names = stackNames(envName);
  const order = [names.registry, names.platform];
  const state: DeployState = { bootstrap: 'present', migrating: false, diffs: [], statuses: new Map(), results: [] };

  // 1. Preflight. The config was validated before this function was called.
  await runPhase(deps.renderer, [
    {
      title: `Config: environment "${envName}", region ${stage.region}${stage.awsEndpointUrl ? `, endpoint ${stage.awsEndpointUrl} (not AWS)` : ''}`,
      run: () => undefined,
    },
    {
      title: 'AWS credentials (sts:GetCallerIdentity)',
      run: async (task) => {
        const identity = await aws(() => deps.aws.callerIdentity(), envName);
        if (stage.account !== undefined && identity.account !== stage.account) {
          throw userError(
            'ACCOUNT_MISMATCH',
            `These credentials are for account ${identity.account} (${identity.arn}), but environment "${envName}" is configured for account ${stage.account}.`,
            `Switch to a profile for account ${stage.account} (e.g. export AWS_PROFILE=...), or fix "account" with \`watchpoint init --env ${envName}\`.`,
          );
        }
        state.identity = identity;
        task.title(`AWS account ${identity.account} (${identity.arn}), region ${stage.region}`);
      },
    },
    {
      title: 'Secrets (watchpoint secrets check)',
      run: async () => {
        const report = await deps.secrets({ envName, stage });
        if (!report.ok) {
          throw new WatchpointError(`The secrets of "${envName}" are not ready:\n  ${report.problems.join('\n  ')}`, {
            code: 'SECRETS_NOT_READY',
            fault: 'user',
            exitCode: ExitCode.failure,
            fix: report.fix ?? (await import('../secrets/report.ts')).notReadyFix(envName, []),
          });
        }
      },
    },
    // Migrations, part 1: after the secrets check (which vouches for database/url), only READ the
    // database: the URL, that it is reachable, and what is pending. An unreachable database (typical
    // on the first deploy of an environment) stops here, in seconds, before the synth and the build.
    // Applying waits until every question is answered (declining must change nothing), and then
    // goes before any stack, so new code never runs against an old schema.
    {
      title: request.skipMigrations ? 'Database migrations: skipped (--skip-migrations)' : 'Database migrations (pending, read-only)',
      run: async (task) => {
        if (request.skipMigrations) return;
        try {
          state.migrations = await deps.migrations.pending({ envName, stage });
        } catch (error) {
          throw migrationFailure(error, envName, false);
        }
        const { database, pending } = state.migrations;
        task.title(pending.length === 0 ? `Database ${database}: up to date` : `Database ${database}: ${pending.length} migration(s) to apply (${pending.join(', ')})`);
      },
    },
    {
      title: 'CDK bootstrap stack (CDKToolkit)',
      run: async (task) => {
        const status = await aws(() => deps.aws.bootstrapStatus(), envName);
        if (status === undefined) {
          // Missing is not a pass: the task is marked skipped (not ticked) and said as a warning below.
          state.bootstrap = 'missing';
          task.skip('CDK bootstrap stack (CDKToolkit): missing');
          return;
        }
        if (/FAILED$|^ROLLBACK_COMPLETE$/.test(status)) {
          throw new WatchpointError(`The CDK bootstrap stack CDKToolkit is in state ${status}.`, {
            code: 'BOOTSTRAP_BROKEN',
            fault: 'system',
            fix: 'Open CloudFormation in this region, fix or delete the CDKToolkit stack, then run deploy again (it offers to bootstrap).',
          });
        }
        // The version toolkit-lib needs for these templates and assets, not only the stack's status.
        if (deps.aws.bootstrapVersion) {
          const version = await aws(() => deps.aws.bootstrapVersion!(), envName);
          if (version === undefined || version < MIN_BOOTSTRAP_VERSION) {
            state.bootstrap = 'outdated';
            state.bootstrapVersion = version;
            task.skip(`CDK bootstrap stack (CDKToolkit): ${status}, version ${version ?? 'unknown'} (needs ${MIN_BOOTSTRAP_VERSION} or later)`);
            return;
          }
          task.title(`CDK bootstrap stack (CDKToolkit): ${status}, version ${version}`);
          return;
        }
        task.title(`CDK bootstrap stack (CDKToolkit): ${status}`);
      },
    },
    {
      // Read-only, so it belongs to the preflight: --skip-image on a tag ECR lacks, or a tag that is
      // an image index, stops here, before any question or change.
      title: 'Eval-worker image in ECR (ecr:DescribeImages)',
      run: async (task) => {
        const plan = await aws(
          () => planImage({ envName, inputs: deps.imageInputs, registry: deps.registry, ...(request.imageTag ? { tag: request.imageTag } : {}) }),
          envName,
        );
        state.image = plan;
        const ref = `${plan.repositoryName}:${plan.tag}`;
        if (!plan.present && request.skipImage) {
          throw userError(
            'IMAGE_NOT_IN_ECR',
            `--skip-image, but ECR has no ${ref}${plan.source === 'content-hash' ? ' (the content hash of the eval-worker sources)' : ''}: the eval-worker functions would fail to create, and a first deploy would roll back.`,
            `Push it first with \`watchpoint image push --env ${envName}${request.imageTag ? ` --image-tag ${request.imageTag}` : ''}\`, or drop --skip-image so deploy builds and pushes it${request.imageTag ? '' : ', or pass --image-tag with a tag that is in ECR'}.`,
          );
        }
        task.title(`Eval-worker image ${ref}: ${plan.present ? 'in ECR' : 'not in ECR yet'}`);
      },
    },
  ]);
  const identity = state.identity!;
  if (state.bootstrap === 'missing') {
    io.notify('warn', `aws://${identity.account}/${stage.region} is not bootstrapped for the CDK (no CDKToolkit stack)${request.dryRun ? ': a real deploy would ask to bootstrap it first' : ''}.`);
  }
  if (state.bootstrap === 'outdated') {
    io.notify('warn', `aws://${identity.account}/${stage.region} has CDK bootstrap version ${state.bootstrapVersion ?? 'unknown (no SSM parameter ' + BOOTSTRAP_VERSION_PARAMETER + ')'}; these templates need ${MIN_BOOTSTRAP_VERSION} or later${request.dryRun ? ': a real deploy would ask to upgrade it first' : ''}.`);
  }
  if (request.skipMigrations) {
    io.notify('warn', `--skip-migrations: the database was not checked or migrated. Run \`watchpoint db migrate --env ${envName}\` from a host that can reach it; the new code needs its schema.`);
  }
  const where = `account ${identity.account}, region ${stage.region}${stage.awsEndpointUrl ? `, endpoint ${stage.awsEndpointUrl} (not AWS)` : ''}`;
  io.notify('info', `Deploying "${envName}" to ${where}.`);

  // The one question that depends on the preflight: bootstrap a fresh account/region.
  const environment = `aws://${identity.account}/${stage.region}`;
  if (state.bootstrap !== 'present' && !request.dryRun) {
    const outdated = state.bootstrap === 'outdated';
    const bootstrap = await io.ask({
      kind: 'confirm',
      message: outdated
        ? `${environment}'s CDK bootstrap stack is version ${state.bootstrapVersion ?? 'unknown'}, older than the ${MIN_BOOTSTRAP_VERSION} these templates need. Upgrade it now (toolkit-lib bootstrap updates CDKToolkit in place)?`
        : `${environment} is not bootstrapped for the CDK (no CDKToolkit stack). Bootstrap it now?`,
      default: false,
      dangerous: true,
    });
    if (!bootstrap) {
      throw userError(
        'BOOTSTRAP_REQUIRED',
        outdated
          ? `${environment} needs CDK bootstrap version ${MIN_BOOTSTRAP_VERSION} or later before anything can be deployed; nothing was changed.`
          : `${environment} needs the CDK bootstrap stack before anything can be deployed.`,
        `Run deploy again and accept the ${outdated ? 'upgrade' : 'bootstrap'} (or pass --yes).`,
      );
    }
    await runPhase(deps.renderer, [
      { title: `Bootstrap ${environment} (toolkit-lib)`, run: async () => (await deps.cloud()).bootstrap(identity.account, stage.region) },
    ]);
  }

  // 2. Image (started first, and only once its process exists, so the build runs while the synth
  // holds this thread), synth, diff.
  await runPhase(deps.renderer, [
    {
      title: 'Eval-worker image',
      run: async (task) => {
        const plan = state.image!;
        const ref = `${plan.repositoryName}:${plan.tag}`;
        if (plan.present) return task.title(`Eval-worker image ${ref}: already in ECR, nothing to build or push`);
        if (request.dryRun) return task.title(`Eval-worker image ${ref}: not in ECR, would build and push`);
        const cli = await deps.container();
        const build = await aws(() => startBuild({ plan, inputs: deps.imageInputs, registry: deps.registry, cli, logFile: request.buildLogFile }), envName);
        state.build = build;
        // Said in the title, not as a notice: nothing prints under a running task list.
        task.title(`Eval-worker image ${ref}: building with ${cli.name}${build.note ? ' (no buildx plugin: legacy builder, no --provenance/--sbom)' : ''} (log: ${request.buildLogFile})`);
      },
    },
    {
      title: 'Synthesize both stacks',
      run: async (task) => {
        let bundles = '';
        await deps.synth({ imageTag: state.image!.tag, outdir: request.assemblyDir, progress: (text) => {
          task.output(text);
          if (text.startsWith('Bundles: ')) bundles = text;
        } });
        task.title(`Synthesized both stacks (image tag ${state.image!.tag})${bundles.startsWith('Bundles: ') ? `; ${bundles.slice('Bundles: '.length).replace(/\.$/, '')}` : ''}`);
      },
    },
    ...order.map((stackName) => ({
      title: `Diff ${stackName}`,
      run: async (task: TaskHandle) => {
        const status = await aws(() => deps.aws.stackStatus(stackName), envName);
        state.statuses.set(stackName, status);
        if (isBusy(status)) {
          throw userError(
            'STACK_BUSY',
            `${stackName} is busy (${status}): another deployment or rollback is running.`,
            `Wait for it to finish (watch it with \`watchpoint status --env ${envName}\` or the CloudFormation console), then deploy again.`,
          );
        }
        const cloud = await deps.cloud();
        const diff = { ...(await cloud.diff(request.assemblyDir, stackName)), isNew: notCreatedYet(status) };
        state.diffs.push(diff);
        task.title(`Diff ${diffSummary(diff)}`);
      },
    })),
  ]);
  // The build ran alongside the synth and the diffs; its result is known before any question or
  // change, so a failed build (a dead Docker daemon, a broken Dockerfile) changes nothing.
  if (state.build) {
    const build = state.build;
    await runPhase(deps.renderer, [
      {
        title: `Eval-worker build ${build.image}`,
        run: async (task) => {
          task.output(`waiting for the build (log: ${request.buildLogFile})`);
          await build.done;
          task.title(`Built ${build.image}`);
        },
      },
    ]);
  }

  for (const diff of state.diffs) if (diff.changes > 0 && diff.formatted.trim() !== '') io.notify('info', diff.formatted.trimEnd());
  for (const diff of state.diffs) io.notify('info', diffSummary(diff));

  const reasons = state.diffs.flatMap((diff) => {
    const reason = approvalReason(diff, request.requireApproval);
    return reason ? [`${diff.stackName}: ${reason}`] : [];
  });
  const pendingMigrations = state.migrations?.pending ?? [];
  if (request.requireApproval === 'any-change' && pendingMigrations.length > 0) {
    reasons.push(`database: ${pendingMigrations.length} migration(s) to apply`);
  }
  const prod = isProduction(envName);

  if (request.dryRun) {
    for (const line of dryRunSteps(request, deps, state, environment, reasons, prod)) io.result(line);
    await state.build?.done.catch(() => undefined);
    return ExitCode.ok;
  }

  // 3. The approvals the diff calls for, then nothing more is asked. A deploy that changes nothing
  // (no stack change, no image to push, no migration) asks nothing, even for prod.
  const changesSomething = state.diffs.some((diff) => diff.changes > 0 || diff.isNew) || state.build !== undefined || pendingMigrations.length > 0;
  if (!changesSomething && !request.hotswap) io.notify('info', `Nothing to change in "${envName}": no stack change, no image to push, no migration; no confirmation needed.`);
  if ((prod && changesSomething) || reasons.length > 0) {
    for (const reason of reasons) io.notify('warn', `Needs approval: ${reason}`);
    const summary = state.diffs.map(diffSummary).join('; ');
    const yes = await io.ask({
      kind: 'confirm',
      message: `Deploy "${envName}" to ${where} (${summary}${state.build ? `; push image ${state.image!.tag}` : ''}${pendingMigrations.length > 0 ? `; apply ${pendingMigrations.length} database migration(s)` : ''}${shiftNote(request)})?`,
      default: false,
      dangerous: true,
    });
    if (!yes) {
      await state.build?.done.catch(() => undefined);
      io.notify('info', 'Not deployed; nothing was changed.');
      return ExitCode.ok;
    }
  }
  const approved = request.requireApproval === 'never' ? 'broadening' : strongest(state.diffs.map((d) => d.permissionChange));

  // 4. Deploy: migrations, registry stack, image push, platform stack, outputs. Ctrl-C says where
  // things stand.
  const watch = deps.watchInterrupt?.();
  const interrupted = watch?.interrupted.then(() => 'interrupted' as const);
  const startedAt = new Date();
  const record = (outcome: Outcome, reason?: string) =>
    deps.recordRelease?.({
      envName,
      region: stage.region,
      account: identity.account,
      operator: identity.arn,
      // A hotswap is a release of its own kind: its templates are what runs, not what CloudFormation holds.
      kind: request.hotswap && (outcome !== 'succeeded' || state.results.some((r) => r.hotswap?.method === 'hotswap')) ? 'hotswap' : 'deploy',
      startedAt,
      endedAt: new Date(),
      outcome,
      ...(reason ? { reason } : {}),
      imageTag: state.image!.tag,
      migrationLevel: request.skipMigrations ? null : (deps.latestMigration?.() ?? null),
      assemblyDir: request.assemblyDir,
      stackNames: order,
    });
  try {
    const work = runPhase(deps.renderer, [
      {
        // Migrations, part 2: before any stack, so a failure leaves every stack as it was. They must
        // be expand-only (docs/deploy.md): the code deployed now still runs until the stacks update.
        title: `Apply ${pendingMigrations.length} database migration(s)`,
        enabled: pendingMigrations.length > 0,
        run: async (task: TaskHandle) => {
          state.migrating = true;
          try {
            const { database, applied } = await deps.migrations.apply({ envName, stage });
            task.title(applied.length === 0 ? `Database ${database}: already up to date` : `Applied ${applied.length} migration(s) to ${database}: ${applied.join(', ')}`);
          } catch (error) {
            throw migrationFailure(error, envName, true);
          } finally {
            state.migrating = false;
          }
        },
      },
      ...order.flatMap((stackName) => [
        {
          title: `Deploy ${stackName}`,
          run: async (task: TaskHandle) => {
            const diff = state.diffs.find((d) => d.stackName === stackName);
            const planned = request.hotswap ? hotswapMethod(diff ?? { stackName, isNew: false, changes: 0, permissionChange: 'none', destructive: [], formatted: '' }) : undefined;
            const baseline = planned?.method === 'hotswap' ? await markBeforeHotswap(deps, state, stackName, (diff?.resources ?? []).filter((r) => r.resourceType === 'AWS::Lambda::Function'), identity.arn, envName) : undefined;
            const result = await deployStack(stackName, request.assemblyDir, approved, deps, state, envName, task, planned?.method ?? 'change-set', baseline);
            // Sent to a change set by the Lambda-only rule (hotswap.ts): say which changes sent it.
            if (planned && planned.method === 'change-set') result.hotswap = { method: result.noOp ? 'unchanged' : 'cloudformation', hotswapped: [], viaCloudFormation: planned.reasons };
            state.results.push(result);
            const how = result.hotswap?.method === 'hotswap' ? ' (hotswapped)' : result.hotswap?.method === 'cloudformation' ? ' (through CloudFormation)' : '';
            task.title(`Deployed ${stackName}${result.noOp ? ' (no changes)' : how}`);
          },
        },
        ...(stackName === names.registry
          ? [
              {
                title: 'Push eval-worker image',
                enabled: state.build !== undefined,
                run: async (task: TaskHandle) => {
                  task.output(`pushing (log: ${request.buildLogFile})`);
                  await finishPush(state.build!, await deps.container(), deps.registry);
                  task.title(`Pushed ${state.build!.image}`);
                },
              },
            ]
          : []),
      ]),
      {
        title: `Save outputs to ${request.outputsFile}`,
        run: async () => {
          await writeOutputs(request.outputsFile, {
            env: envName,
            account: identity.account,
            region: stage.region,
            imageTag: state.image!.tag,
            deployedAt: new Date().toISOString(),
            stacks: Object.fromEntries(state.results.map((r) => [r.stackName, r.outputs])),
          });
        },
      },
    ]).then(() => 'done' as const);
    work.catch(() => undefined);
    let outcome: 'done' | 'interrupted';
    try {
      outcome = await (interrupted ? Promise.race([work, interrupted]) : work);
    } catch (error) {
      // A stack was touched: the attempt is a release too (failed, or rolled back by CloudFormation).
      if (state.failedStack && state.alarmRollbacks) {
        await record('rolled-back-by-alarm', `${state.failedStack}: ${state.alarmRollbacks.map(rollbackSentence).join('; ')}`);
      } else if (state.failedStack) {
        const status = await readStatus(deps, state.failedStack);
        const rolledBack = typeof status === 'string' && /ROLLBACK_(COMPLETE|IN_PROGRESS|COMPLETE_CLEANUP_IN_PROGRESS)$/.test(status) && !/FAILED/.test(status);
        await record(rolledBack ? 'rolled-back-by-cloudformation' : 'failed', `${state.failedStack}: ${typeof status === 'string' ? status : 'state unknown'}`);
      }
      throw error;
    }
    if (outcome === 'interrupted') return await reportInterrupt(deps, state, envName);
  } finally {
    watch?.dispose();
  }

  if (request.hotswap) for (const result of state.results) for (const line of hotswapReport(result.stackName, outcomeOf(result))) io.result(line);
  if (state.shifts && state.shifts.length > 0) io.notify('info', ['Traffic shifts (CodeDeploy):', ...shiftLines(state.shifts, new Date()).map((line) => `  ${line}`)].join('\n'));
  for (const result of state.results) {
    for (const [key, value] of Object.entries(result.outputs).sort(([a], [b]) => a.localeCompare(b))) io.result(`${result.stackName}.${key} = ${value}`);
  }
  await updateHotswapMarker(deps, state, request, identity);
  const platformOutputs = state.results.find((result) => result.stackName === names.platform)?.outputs ?? {};
  if (stage.domainName && platformOutputs.ApiDomainTarget) {
    io.notify('info', [
      `DNS for ${stage.domainName}: point it at ${platformOutputs.ApiDomainTarget}`,
      `  a CNAME record ${stage.domainName} → ${platformOutputs.ApiDomainTarget}, or a Route 53 alias (A/AAAA) to it with hosted zone ${platformOutputs.ApiDomainHostedZoneId ?? '(see ApiDomainHostedZoneId)'}.`,
    ].join('\n'));
  }
  io.notify('success', `${request.hotswap && state.results.some((r) => r.hotswap?.method === 'hotswap') ? 'Hotswapped' : 'Deployed'} "${envName}"; outputs saved to ${request.outputsFile}`);
  // A hotswap back to the code CloudFormation holds changes functions though no diff shows it.
  if (changesSomething || state.results.some((result) => result.hotswap?.method === 'hotswap')) await record('succeeded');
  return ExitCode.ok;
}

/**
 * Keeps the marker `status` reads true: stacks hotswapped now are added, stacks that went through
 * CloudFormation are cleared. The deploy already succeeded, so a failure here is a warning with a fix.
 */
async function updateHotswapMarker(deps: DeployDeps, state: DeployState, request: DeployRequest, identity: CallerIdentity): Promise<void> {
  const port = deps.hotswapMarker;
  if (!port) return;
  const { envName } = request;
  try {
    const previous = state.markerBefore ? state.markerBefore.value : await port.read();
    const outcomes: MarkerOutcome[] = [];
    for (const result of state.results) {
      const outcome = outcomeOf(result);
      const diff = state.diffs.find((d) => d.stackName === result.stackName);
      // A hotswap to the template CloudFormation holds (no diff against it) brought the stack back in line.
      const inLine = outcome.method === 'hotswap' && diff !== undefined && diff.changes === 0 && !diff.isNew;
      outcomes.push({
        stackName: result.stackName,
        method: inLine ? 'cloudformation' : outcome.method,
        resources: outcome.hotswapped,
        // Through a change set: only the resources it changed are back on their template.
        ...(outcome.method === 'cloudformation' ? { changed: (diff?.resources ?? []).map((r) => r.logicalId) } : {}),
        ...(outcome.method === 'hotswap' && !inLine ? { templateSha256: await assemblyTemplateFingerprint(request.assemblyDir, result.stackName) } : {}),
      });
    }
    const next = nextMarker(previous, outcomes, new Date(), identity.arn);
    // After a mark before a hotswap the stored marker differs from `previous`: always write then.
    if (state.markerWritten || JSON.stringify(next) !== JSON.stringify(previous)) await port.write(next);
    for (const stack of next?.stacks ?? []) {
      if (!state.results.some((result) => result.stackName === stack.stackName && outcomeOf(result).method === 'unchanged')) continue;
      // Nothing changed because this checkout's template is CloudFormation's: name the way back.
      const body = await readFile(join(request.assemblyDir, `${stack.stackName}.template.json`), 'utf8').catch(() => undefined);
      const commands = stack.resources
        .filter((r) => r.resourceType === 'AWS::Lambda::Function')
        .map((r) => (body ? restoreCommand(body, stack.stackName, r, identity.account, request.stage.region) : undefined) ?? `${r.logicalId}: see its Code in ${stack.stackName}'s template`);
      deps.io.notify('warn', [
        `${stack.stackName} still holds hotswapped changes (${stack.resources.map((r) => r.logicalId).join(', ') || 'resources not recorded'}): its template already is this checkout's, so ${request.hotswap ? 'a hotswap' : 'CloudFormation'} found nothing to change, and those functions may not run the code and environment the template says.`,
        `  fix: put each back on its template's code (\`watchpoint status --env ${envName}\` shows the stack as hotswapped until a deploy changes it):`,
        ...commands.map((command) => `    ${command}`),
      ].join('\n'));
    }
  } catch (error) {
    deps.io.notify('warn', [
      `The deploy succeeded, but the hotswap marker (SSM) could not be ${state.results.some((r) => r.hotswap?.method === 'hotswap') ? 'written' : 'read or cleared'}: ${errorText(error)}`,
      `  fix: check that this identity may ssm:GetParameter, ssm:PutParameter and ssm:DeleteParameter on /${envName}/watchpoint-deploy/*, then deploy again; until then \`watchpoint status --env ${envName}\` may not show whether the stack holds hotswapped changes.`,
    ].join('\n'));
  }
}

/**
 * Before any function is hotswapped, the marker already names the stack and the functions about to
 * change: an interrupted or failed hotswap still shows in `status`. The final marker is built from
 * the one read before (updateHotswapMarker). Nothing is hotswapped when the marker cannot be written.
 */
async function markBeforeHotswap(deps: DeployDeps, state: DeployState, stackName: string, resources: { logicalId: string; resourceType: string }[], operator: string, envName: string): Promise<string | undefined> {
  const port = deps.hotswapMarker;
  if (!port) return undefined;
  try {
    const current = state.markerBefore ? await port.read() : (state.markerBefore = { value: await port.read() }).value;
    // What the last completed hotswap of this stack applied: toolkit-lib's record of it is trusted only then.
    const baseline = state.markerBefore.value?.stacks.find((stack) => stack.stackName === stackName)?.templateSha256;
    if (resources.length > 0 || current?.stacks.some((stack) => stack.stackName === stackName)) {
      // Unset fingerprint while it runs: an interrupted hotswap leaves no record to trust.
      await port.write(nextMarker(current, [{ stackName, method: 'hotswap', resources }], new Date(), operator));
      state.markerWritten = true;
    }
    return baseline;
  } catch (error) {
    throw new WatchpointError(`The hotswap marker (SSM) could not be read or written, so nothing of ${stackName} was hotswapped: without it \`watchpoint status\` could not show that the stack drifts from its template.`, {
      code: 'HOTSWAP_MARKER_FAILED',
      fault: 'system',
      fix: `Check that this identity may ssm:GetParameter and ssm:PutParameter on /${envName}/watchpoint-deploy/*, or deploy without --hotswap (\`watchpoint deploy --env ${envName}\`).`,
      cause: error,
    });
  }
}

async function deployStack(
  stackName: string,
  assemblyDir: string,
  approved: ReturnType<typeof strongest>,
  deps: DeployDeps,
  state: DeployState,
  envName: string,
  task: TaskHandle,
  method: 'change-set' | 'hotswap' = 'change-set',
  hotswapBaseline?: string,
): Promise<StackDeployResult> {
  const cloud = await deps.cloud();
  state.deploying = stackName;
  state.deployingMethod = method;
  const onActivity = (activity: ResourceActivity) =>
    task.output(`${activity.progress ? `${activity.progress} ` : ''}${activity.logicalId} ${activity.status}${activity.reason ? `: ${activity.reason}` : ''}`);
  // While CloudFormation waits for CodeDeploy, say how far each function's shift is.
  // Only a platform stack that changes can start a shift (and an unchanged one must not show a shift an
  // earlier deploy left within the clock-skew allowance).
  const changes = state.diffs.some((diff) => diff.stackName === stackName && (diff.changes > 0 || diff.isNew));
  const following =
    deps.shifts && changes && method !== 'hotswap' && stackName === stackNames(envName).platform
      ? (state.following = followShifts(deps.shifts.watch(new Date()), { output: (line) => task.output(line), intervalMs: deps.shifts.intervalMs }))
      : undefined;
  try {
    const result = await cloud.deploy(assemblyDir, stackName, { approved, onActivity, ...(method === 'hotswap' ? { method, hotswapBaseline } : {}) });
    if (following) state.shifts = await following.stop();
    return result;
  } catch (error) {
    if (following) {
      state.shifts = await following.stop();
      const stopped = state.shifts.filter((shift) => shift.alarmRollback);
      if (stopped.length > 0 && !(error instanceof ApprovalDriftError)) {
        state.failedStack = stackName;
        state.alarmRollbacks = stopped;
        throw await alarmRollbackError(stackName, stopped, error, deps, envName);
      }
    }
    if (error instanceof ApprovalDriftError) {
      throw new WatchpointError(error.message, {
        code: 'APPROVAL_DRIFT',
        fault: 'system',
        fix: 'The stack changed between the diff and the deploy; run deploy again to see and approve the new diff.',
        cause: error,
      });
    }
    state.failedStack = stackName;
    if (error instanceof HotswapFailedError) {
      // The stack events say nothing about Lambda calls; the cause does.
      throw new WatchpointError(`Hotswapping ${stackName} failed: a function may be partly updated (its code, its environment, or its \`live\` alias not yet moved to the new version), others not at all. CloudFormation was not involved; \`watchpoint status --env ${envName}\` shows the stack as holding hotswapped changes.`, {
        code: 'HOTSWAP_FAILED',
        fault: 'system',
        fix: `Fix the cause (the "caused by" line above), then run \`watchpoint deploy --env ${envName} --hotswap\` again (it sends every Lambda change again), or \`watchpoint deploy --env ${envName}\` to bring the stack back to its template.`,
        cause: error.cause,
      });
    }
    throw await explainFailure(stackName, error, deps, envName);
  } finally {
    delete state.deploying;
  }
}

async function explainFailure(stackName: string, error: unknown, deps: DeployDeps, envName: string): Promise<unknown> {
  const explained = explainAwsError(error, { envName });
  if (explained instanceof WatchpointError) return explained;
  const status = await readStatus(deps, stackName);
  const events = await deps.aws.latestStackEvents(stackName).then((list) => ({ list }), (readError: unknown) => ({ list: [], readError }));
  const report = failureReport(stackName, status, events.list);
  const lines = [`Deploying ${stackName} failed. ${report.state}`];
  if (report.failed.length > 0) {
    lines.push('Failed resources (CloudFormation stack events):');
    for (const failed of report.failed) lines.push(`  ${failed.logicalId} (${failed.resourceType}) ${failed.status}: ${failed.reason}`);
  } else if ('readError' in events) {
    lines.push(`Its stack events could not be read (${errorText(events.readError)}), so the failed resources are not known here.`);
  }
  // "The cause above" only when something above names one: a failed resource, else the error itself.
  const cause = report.failed.length > 0 ? 'the cause above (the first failed resource)' : 'the cause (the "caused by" line above, and the stack events in the CloudFormation console)';
  return new WatchpointError(lines.join('\n'), {
    code: 'DEPLOY_FAILED',
    fault: 'system',
    fix: report.rollingBack
      ? `Wait for the rollback (\`watchpoint status --env ${envName}\`), fix ${cause}, then deploy again.`
      : `Fix ${cause}, then deploy again.`,
    cause: error,
  });
}

/** The stack's status, or why it could not be read: never "does not exist" for a failed read. */
async function readStatus(deps: DeployDeps, stackName: string): Promise<StackStatusRead> {
  try {
    return await deps.aws.stackStatus(stackName);
  } catch (error) {
    return { unreadable: errorText(error) };
  }
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.message.trim() !== '' ? `${error.name}: ${error.message}` : error.name;
}

async function reportInterrupt(deps: DeployDeps, state: DeployState, envName: string): Promise<number> {
  const { io } = deps;
  const stackName = state.deploying;
  if (state.migrating) {
    io.notify('warn', [
      'Interrupted while applying the database migrations; no stack was changed.',
      '  They run in one transaction: either all of them were committed or none was (the connection closing rolls back an open one).',
      `  check:  watchpoint db migrate --env ${envName} --dry-run`,
    ].join('\n'));
    return ExitCode.interrupted;
  }
  if (!stackName) {
    io.notify('warn', 'Interrupted between steps; no stack was being changed.');
    return ExitCode.interrupted;
  }
  const status = await readStatus(deps, stackName);
  const { state: words } = describeState(stackName, status);
  if (state.deployingMethod === 'hotswap') {
    io.notify('warn', [
      `Interrupted while hotswapping ${stackName}: a function may be partly updated (its code, its environment, or its \`live\` alias not yet moved to the new version); the Lambda updates not sent yet were not made. CloudFormation: ${words}`,
      `  status:  watchpoint status --env ${envName}   (shows the stack as holding hotswapped changes; recorded before the hotswap started)`,
      `  next:    watchpoint deploy --env ${envName} --hotswap sends every Lambda change again; without --hotswap the stack goes back to its template`,
    ].join('\n'));
    return ExitCode.interrupted;
  }
  io.notify('warn', [
    `Interrupted. CloudFormation keeps going without this command: ${words}`,
    `  watch it:  watchpoint status --env ${envName}   (or the CloudFormation console)`,
    // CancelUpdateStack is valid only in UPDATE_IN_PROGRESS; anything else it refuses.
    ...(status === 'UPDATE_IN_PROGRESS' ? [`  stop it:   CancelUpdateStack (aws cloudformation cancel-update-stack --stack-name ${stackName}), which rolls the update back`] : []),
    ...(deps.shifts && state.following ? runningShiftLines(state.following.latest(), deps.shifts.region) : []),
  ].join('\n'));
  state.following?.cancel();
  return ExitCode.interrupted;
}

/** How new function versions will take traffic, for the confirmation. */
function shiftNote(request: DeployRequest): string {
  const style = deploymentStyleFor(request.envName, request.stage);
  // Production all at once, from its config or from a --deployment flag on this command line: the
  // operator confirms it knowing that no canary and no alarm check stands between them and users.
  if (style === 'all-at-once') return isProduction(request.envName) ? '; deployment all-at-once: new function versions take ALL traffic at once, no CodeDeploy shift and no alarm check' : '';
  if (request.allAtOnce) return `; --all-at-once: new function versions take ALL traffic at once, no ${style} shift and no alarm check`;
  return `; new function versions shift ${style === 'canary' ? 'canary 10% for 5 minutes' : 'linear 10% every minute'}, rolled back by CodeDeploy if an alarm fires`;
}

/** The deploy failed because CodeDeploy stopped shifts on alarms: which alarm, which function, where traffic is, and the stack's state. */
async function alarmRollbackError(stackName: string, stopped: FunctionShift[], cause: unknown, deps: DeployDeps, envName: string): Promise<WatchpointError> {
  const status = await readStatus(deps, stackName);
  const { state: words } = describeState(stackName, status);
  return new WatchpointError(
    [
      `Deploying ${stackName} failed: CodeDeploy stopped the gradual deployment because an alarm fired.`,
      ...stopped.map((shift) => `  ${rollbackSentence(shift)}`),
      `CloudFormation then rolled the stack update back: ${words}`,
    ].join('\n'),
    {
      code: 'DEPLOY_ROLLED_BACK_BY_ALARM',
      fault: 'system',
      exitCode: ExitCode.failure,
      fix: `Find why the new version failed (\`watchpoint logs ${[...new Set(stopped.map((shift) => shift.fn))].join(' ')} --env ${envName} --since 30m --level error\`, and the alarm's metric in CloudWatch), fix it, then deploy again; for an urgent fix that must skip the shift, \`watchpoint deploy --env ${envName} --all-at-once\`.`,
      cause,
    },
  );
}

function dryRunSteps(request: DeployRequest, deps: DeployDeps, state: DeployState, environment: string, reasons: string[], prod: boolean): string[] {
  const steps: string[] = [];
  if (state.bootstrap === 'missing') steps.push(`toolkit-lib bootstrap ${environment} (asks first; creates the CDKToolkit stack)`);
  if (state.bootstrap === 'outdated') steps.push(`toolkit-lib bootstrap ${environment} (asks first; upgrades the CDKToolkit stack to version ${MIN_BOOTSTRAP_VERSION} or later)`);
  const changesSomething = state.diffs.some((diff) => diff.changes > 0 || diff.isNew) || (!state.image?.present && !request.skipImage) || (state.migrations?.pending.length ?? 0) > 0;
  if ((prod && changesSomething) || reasons.length > 0) steps.push(`ask for confirmation${reasons.length ? `: ${reasons.join('; ')}` : ' (production)'}`);
  else if (prod) steps.push('no confirmation: nothing would change');
  const migrations = state.migrations;
  if (request.skipMigrations) steps.push(`database migrations: not checked, not applied (--skip-migrations); run \`watchpoint db migrate --env ${request.envName}\` when the database is reachable`);
  else if (migrations && migrations.pending.length === 0) steps.push(`database ${migrations.database}: up to date, no migration to apply`);
  else if (migrations) steps.push([`apply ${migrations.pending.length} database migration(s) to ${migrations.database} (node-pg-migrate, one transaction), in this order:`, ...migrations.pending.map((name) => `       ${name}`)].join('\n'));
  const image = state.image!;
  for (const diff of state.diffs) {
    const hotswap = request.hotswap && (diff.changes > 0 || diff.isNew) ? hotswapMethod(diff) : undefined;
    steps.push(
      diff.changes === 0 && !diff.isNew
        ? `toolkit-lib deploy ${diff.stackName}: no changes (toolkit-lib skips it without a change set)`
        : hotswap?.method === 'hotswap'
          ? `toolkit-lib hotswap ${diff.stackName} (lambda:UpdateFunctionCode / UpdateFunctionConfiguration for ${diff.resources?.filter((r) => r.resourceType === 'AWS::Lambda::Function').map((r) => r.logicalId).join(', ') || 'the changed functions'}; a change set instead if toolkit-lib finds a change it cannot hotswap)`
          : `toolkit-lib deploy ${diff.stackName} (cloudformation:CreateChangeSet + ExecuteChangeSet, ${diffSummary(diff).replace(`${diff.stackName}: `, '')})${hotswap ? `; not hotswapped: ${hotswap.reasons.map((r) => `${r.logicalId} (${r.resourceType}): ${r.reason}`).join('; ')}` : ''}`,
    );
    if (diff.stackName.endsWith('-registry')) {
      if (image.present) steps.push(`image ${image.repositoryName}:${image.tag}: in ECR (ecr:DescribeImages), no build and no push`);
      else steps.push(...describeImageCommands(deps.containerName ?? '<container-cli>', image, deps.imageInputs, `${state.identity!.account}.dkr.ecr.${request.stage.region}.amazonaws.com`));
    }
  }
  const shift = shiftNote(request);
  if (shift && state.diffs.some((diff) => !diff.stackName.endsWith('-registry') && (diff.changes > 0 || diff.isNew))) {
    steps.push(`while CloudFormation waits: ${shift.slice(2)}; deploy follows each shift (codedeploy:ListDeployments, BatchGetDeployments, cloudwatch:DescribeAlarms)`);
  }
  steps.push(`write ${request.outputsFile}`);
  const target = request.stage.awsEndpointUrl ? `, every call to endpoint ${request.stage.awsEndpointUrl} (not AWS)` : '';
  return [`Dry run: nothing was changed. deploy would run, in order (region ${request.stage.region}${target}):`, ...steps.map((step, i) => `  ${i + 1}. ${step}`)];
}

/**
 * Why the migrations stopped the deploy, and the way out: on a first deploy the database is often not
 * reachable from the operator's machine yet (still being created, outside AWS, behind a VPN).
 * Bad input (a missing or malformed database/url) keeps its exit 2; anything else is exit 1.
 */
function migrationFailure(error: unknown, envName: string, applying: boolean): WatchpointError {
  const inner = error instanceof WatchpointError ? error : undefined;
  const what = applying
    ? 'Applying the database migrations failed'
    : 'The database migrations could not be checked';
  return new WatchpointError(`${what}, so deploy stopped before changing any stack.`, {
    code: 'DEPLOY_MIGRATIONS_FAILED',
    fault: inner?.fault ?? 'system',
    exitCode: inner?.exitCode ?? ExitCode.failure,
    fix: [
      inner?.fix,
      `If the database cannot be reached from here yet (first deploy, a database outside AWS or behind a VPN), deploy with --skip-migrations and run \`watchpoint db migrate --env ${envName}\` from a host that can reach it.`,
    ]
      .filter(Boolean)
      .join(' '),
    cause: error,
  });
}

/** Atomic: a temp file in the same directory, then a rename. */
export async function writeOutputs(path: string, data: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, `${JSON.stringify(data, null, 2)}\n`, { flag: 'wx' });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function aws<T>(call: () => Promise<T>, envName: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explainAwsError(error, { envName });
  }
}
