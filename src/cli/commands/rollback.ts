// `watchpoint rollback`: restores a recorded release. Reads through ../releases/collect.ts, changes
// through ../rollback/cloudformation.ts (change sets), decides in ../rollback/plan.ts.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { sdkClients } from '../aws.ts';
import { resolveStage, type CommandContext } from '../context.ts';
import { isBusy } from '../deploy/plan.ts';
import { describeState, isProduction } from '../deploy/policy.ts';
import { projectRoot, workPaths } from '../deploy/support.ts';
import { ExitCode, userError, WatchpointError } from '../errors.ts';
import { flagError, runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import { stopOnCtrlC } from '../interrupt.ts';
import type { Io } from '../io.ts';
import { templateUrl } from '../releases/ledger.ts';
import { checkRestorable, readLedger, type ReleaseClients } from '../releases/collect.ts';
import { createRecorder, type RecordRelease } from '../releases/recorder.ts';
import type { Outcome, ReleaseRecord, StackCapture } from '../releases/record.ts';
import { templateDiff } from '../releases/report.ts';
import { createRollbackCloud, TEMPLATE_BODY_LIMIT, unUpdatable, type PreparedChangeSet, type RollbackCloud } from '../rollback/cloudformation.ts';
import { changeSetName, describeChangeSet, migrationsSince, pickTarget, sameTemplate } from '../rollback/plan.ts';
import type { RollbackFlags } from './rollback.define.ts';
import { deploymentStyleFor } from '../../config/schema.ts';
import { stackNames } from '../context.ts';
import { createShiftWatch, type FunctionShift, type ShiftPort } from '../deploy/shift.ts';
import { followShifts } from '../deploy/shift-follow.ts';
import { rollbackSentence, runningShiftLines } from '../deploy/shift-report.ts';

export interface RollbackClients extends ReleaseClients {
  cloudformation: CloudFormationClient;
  /** Reads the `deploy --hotswap` marker; without it rollback cannot warn about hotswapped functions. */
  ssm?: SSMClient;
}

export interface RollbackOptions extends Runtime {
  to: number | undefined;
  dryRun: boolean;
  yes: boolean;
  clients: RollbackClients | undefined;
  /** Injected in tests; otherwise the SDK change-set path over `clients.cloudformation`. */
  cloud: RollbackCloud | undefined;
  recordRelease: RecordRelease | undefined;
  /** The migration names this checkout knows (db-migrations.ts); injected in tests. */
  migrationNames: (() => string[]) | undefined;
  /** Follows CodeDeploy's shifts in canary/linear stages (deploy/shift.ts); injected in tests. */
  shifts: ShiftPort | undefined;
}

type Context = CommandContext & Injectable & Partial<Pick<RollbackOptions, 'clients' | 'cloud' | 'recordRelease' | 'migrationNames' | 'shifts'>>;

export function parseRollbackOptions(flags: RollbackFlags, context: Context): RollbackOptions {
  let to: number | undefined;
  if (flags.to !== undefined) {
    const raw = String(flags.to).trim().replace(/^#/, '');
    if (!/^\d+$/.test(raw) || Number(raw) < 1) throw flagError('--to', `"${String(flags.to)}" is not a release number.`, 'Give the number from the # column of `watchpoint releases`, e.g. --to 41.');
    to = Number(raw);
  }
  return {
    ...runtimeOf(context),
    to,
    dryRun: Boolean(flags.dryRun),
    yes: Boolean(flags.yes ?? context.options.yes),
    clients: context.clients,
    cloud: context.cloud,
    recordRelease: context.recordRelease,
    migrationNames: context.migrationNames,
    shifts: context.shifts,
  };
}

interface StackPlan {
  stackName: string;
  templateKey: string;
  body: string;
  parameters: Record<string, string>;
  /** The template deployed now. */
  deployed: string | undefined;
  /** The deployed template already is the target's. */
  same: boolean;
  prepared?: PreparedChangeSet;
}

export async function runRollback(options: RollbackOptions): Promise<number> {
  const { io } = options;
  const { envName, stage } = await resolveStage(options);
  const prod = isProduction(envName);
  if (!io.interactive && !options.yes && !options.dryRun) {
    throw userError(
      'CONFIRMATION_REQUIRED',
      `Rolling back "${envName}" asks for confirmation before it changes anything, and there is no terminal to ask.`,
      `Re-run with --yes to confirm (\`watchpoint rollback --env ${envName} --dry-run\` shows what it would do), or run it in a terminal.`,
    );
  }
  const clients = options.clients ?? (await sdkClients(stage, ['sts', 's3', 'ecr', 'cloudformation', 'ssm']));
  const cloud = options.cloud ?? createRollbackCloud(clients.cloudformation, { sleep: (ms, signal) => options.sleep(ms, signal) });
  // Canary/linear stages: restoring older code on an aliased function is a CodeDeploy shift too.
  const shifts = options.shifts ?? (deploymentStyleFor(envName, stage) === 'all-at-once' ? undefined : await shiftPort(envName, stage));

  // 1. What is current, what goes back, and whether it can.
  const view = await readLedger(clients, envName, stage.region);
  const current = view.current;
  if (!current) {
    throw userError('NO_CURRENT_RELEASE', `"${envName}" has no succeeded release in its ledger, so there is nothing to roll back from.`, `See \`watchpoint releases --env ${envName}\`; deploy a working version with \`watchpoint deploy --env ${envName}\`.`);
  }
  const target = pickTarget(view.records, current, options.to, envName);
  io.notify('info', `Rolling back "${envName}" (account ${view.account}, ${stage.region}) from #${current.sequence} to #${target.sequence} (${target.description} of ${target.startedAt.slice(0, 16).replace('T', ' ')} UTC, image ${target.imageTag}, commit ${target.git.commit?.slice(0, 7) ?? 'unknown'}).`);

  // The stacks' states and the target's artifacts are independent reads: ask them together.
  const [statuses, restorableMap] = await Promise.all([
    Promise.all(target.stacks.map((stack) => cloud.stackStatus(stack.stackName))),
    checkRestorable(clients, view, [target]),
  ]);
  for (const [index, stack] of target.stacks.entries()) {
    const status = statuses[index];
    if (isBusy(status)) {
      throw userError('ROLLBACK_BUSY', `${stack.stackName} is ${status}: a deploy or rollback is in progress.`, `Wait for it to finish (\`watchpoint status --env ${envName}\`), then run rollback again.`);
    }
    const why = unUpdatable(stack.stackName, status, envName);
    if (why) throw userError('STACK_NOT_UPDATABLE', `Cannot roll back "${envName}": ${why.problem}`, why.whatToDo);
  }
  const restorable = restorableMap.get(target.sequence)!;
  if (!restorable.ok) {
    throw userError(
      'RELEASE_NOT_RESTORABLE',
      `Release #${target.sequence} cannot be restored:\n  ${restorable.reasons.join('\n  ')}`,
      `Pick a restorable release from \`watchpoint releases --env ${envName}\`, or check out commit ${target.git.commit ?? '(unknown)'} and run \`watchpoint deploy --env ${envName}\`, which rebuilds what is gone.`,
    );
  }

  // Each stack's recorded and deployed templates, all at once.
  const plans: StackPlan[] = await Promise.all(
    target.stacks.map(async (stack) => {
      const [body, deployed] = await Promise.all([view.ledger.getTemplate(stack.templateKey), cloud.currentTemplate(stack.stackName)]);
      if (body === undefined) throw userError('RELEASE_NOT_RESTORABLE', `${stack.stackName}'s template ${stack.templateKey} vanished from the ledger.`, `Pick another release from \`watchpoint releases --env ${envName}\`.`);
      return { stackName: stack.stackName, templateKey: stack.templateKey, body, parameters: stack.parameters, deployed, same: sameTemplate(deployed, body) };
    }),
  );

  // A function `deploy --hotswap` changed runs code no template describes. A change set restores it
  // only where the target's template changes that function's code; say so before anything runs.
  const hotswapped = await hotswapLeftovers(clients, io, envName, plans, view.account, stage.region);
  if (hotswapped && plans.every((plan) => plan.same)) {
    throw new WatchpointError(
      [
        `The stacks of "${envName}" already hold release #${target.sequence}'s templates, but ${hotswapped.what}: CloudFormation has nothing to change, so a rollback cannot restore that code. Each function goes back to its template's code with:`,
        hotswapped.commands,
      ].join('\n'),
      {
        code: 'ROLLBACK_HOTSWAPPED',
        fault: 'user',
        fix: `Run those aws lambda update-function-code commands (one per hotswapped function); \`watchpoint status --env ${envName}\` keeps showing the stack as hotswapped until the next \`watchpoint deploy --env ${envName}\` that changes it.`,
      },
    );
  }
  if (hotswapped) io.notify('warn', [`${hotswapped.what}: the rollback's change sets do not change these functions' code, so they keep their hotswapped code. To put them back on their template's code after the rollback:`, hotswapped.commands].join('\n'));

  // 2. The database: migrations are never reverted.
  const since = migrationsSince(target.migrationLevel, current.migrationLevel, options.migrationNames?.() ?? (await localMigrations()));
  if (since === undefined) {
    io.notify('warn', `The database level of #${target.sequence} or #${current.sequence} is not recorded (deployed with --skip-migrations): check \`watchpoint db migrate --env ${envName} --dry-run\`. Migrations are never reverted.`);
  } else if (since.length > 0) {
    io.notify('warn', [
      `${since.length} database migration(s) ran after #${target.sequence}; a rollback does NOT revert them, so #${target.sequence}'s code will run against the newer schema:`,
      ...since.map((name) => `  ${name}`),
      '  Migrations are meant to be expand-only (docs/deploy.md), so older code usually still works; check that these are.',
    ].join('\n'));
  }

  if (options.dryRun) {
    for (const line of dryRunLines(plans, target, envName, stage.region, view.ledger.bucket, stage.awsEndpointUrl || undefined, options.env)) io.result(line);
    return ExitCode.ok;
  }

  // 3. Change sets, shown, then one confirmation (plus the database one).
  const started = options.now();
  const toChange = plans.filter((plan) => !plan.same);
  try {
    for (const plan of toChange) {
      plan.prepared = await cloud.prepare({
        stackName: plan.stackName,
        changeSetName: changeSetName(target.sequence, started),
        template: Buffer.byteLength(plan.body) <= TEMPLATE_BODY_LIMIT ? { body: plan.body } : { url: templateUrl(view.ledger.bucket, plan.templateKey, stage.region, stage.awsEndpointUrl || undefined, options.env) },
        parameters: plan.parameters,
        description: `watchpoint rollback of ${envName} to release #${target.sequence}`,
      });
    }
  } catch (error) {
    await discardAll(cloud, toChange);
    throw new WatchpointError(`Preparing the rollback change sets failed; no stack was changed.`, { code: 'ROLLBACK_CHANGE_SET_FAILED', fault: 'system', fix: 'Fix what CloudFormation reported (for example s3:GetObject on the ledger bucket for the template, or the stack policy), then run rollback again.', cause: error });
  }
  const executing = toChange.filter((plan) => plan.prepared && !plan.prepared.empty);
  io.notify('info', ['What goes back (CloudFormation change sets):', ...plans.flatMap((plan) => (plan.prepared ? describeChangeSet(plan.prepared) : [`  ${plan.stackName}: already runs #${target.sequence}'s template`]))].join('\n'));
  if (executing.length === 0) {
    io.result(`Nothing to roll back: the stacks of "${envName}" already run release #${target.sequence}'s templates.`);
    return ExitCode.ok;
  }
  const confirmed = await confirm(options, envName, prod, target, since ?? []);
  if (!confirmed) {
    await discardAll(cloud, executing);
    io.notify('info', 'Not rolled back; the change sets were deleted and nothing was changed.');
    return ExitCode.ok;
  }

  // 4. Execute, stack by stack, in the recorded order (registry before platform).
  const stop = stopOnCtrlC();
  let outcome: Outcome = 'succeeded';
  let reason: string | undefined;
  let alarmStopped = false;
  try {
    for (const plan of executing) {
      await cloud.execute(plan.stackName, plan.prepared!.changeSetName);
      const following = shifts && plan.stackName === stackNames(envName).platform
        ? followShifts(shifts.watch(new Date()), { output: (line) => io.notify('info', line), intervalMs: shifts.intervalMs })
        : undefined;
      let final: string;
      try {
        final = await cloud.settle(plan.stackName, (status) => io.notify('info', `${plan.stackName}: ${status}`), stop.signal);
      } catch (error) {
        // The stack could not be read: stop following the shift too, or its polling keeps this process alive.
        following?.cancel();
        throw error;
      }
      if (stop.signal.aborted && final.endsWith('_IN_PROGRESS')) {
        const running = following && shifts ? runningShiftLines(following.latest(), shifts.region) : [];
        following?.cancel();
        const { state } = describeState(plan.stackName, final);
        io.notify('warn', [
          `Interrupted. CloudFormation keeps going without this command: ${state}`,
          `  watch it:  watchpoint status --env ${envName}   (or the CloudFormation console)`,
          ...(final === 'UPDATE_IN_PROGRESS' ? [`  stop it:   aws cloudformation cancel-update-stack --stack-name ${plan.stackName} (rolls this stack's update back)`] : []),
          ...(executing.indexOf(plan) < executing.length - 1 ? [`  not started: ${executing.slice(executing.indexOf(plan) + 1).map((p) => p.stackName).join(', ')} (its change set is left for you to delete or run again)`] : []),
          '  The rollback is not recorded in the ledger; run `watchpoint releases` after CloudFormation finishes and roll back again if needed.',
          ...running,
        ].join('\n'));
        return ExitCode.interrupted;
      }
      const seen: FunctionShift[] = following ? await following.stop() : [];
      if (final !== 'UPDATE_COMPLETE') {
        const stopped = seen.filter((shift) => shift.alarmRollback);
        alarmStopped = stopped.length > 0;
        outcome = alarmStopped ? 'rolled-back-by-alarm' : /ROLLBACK_COMPLETE$/.test(final) ? 'rolled-back-by-cloudformation' : 'failed';
        reason = `${plan.stackName}: ${final}${alarmStopped ? `; ${stopped.map(rollbackSentence).join('; ')}` : ''}`;
        break;
      }
    }
  } finally {
    stop.release();
  }

  const captures: StackCapture[] = plans.map((plan) => ({ stackName: plan.stackName, templateBody: plan.body, parameters: plan.parameters, zipAssets: target.stacks.find((s) => s.stackName === plan.stackName)!.zipAssets }));
  const record =
    options.recordRelease ?? createRecorder({ s3: clients.s3, io, spoolDir: workPaths(options.cwd, envName).ledgerSpoolDir, checkout: projectRoot() });
  await record({
    envName,
    region: stage.region,
    account: view.account,
    operator: await callerArn(clients),
    kind: 'rollback',
    rollbackTo: target.sequence,
    startedAt: started,
    endedAt: options.now(),
    outcome,
    ...(reason ? { reason } : {}),
    imageTag: target.imageTag,
    // Migrations are not reverted: the database stays where the current release left it.
    migrationLevel: current.migrationLevel,
    captures,
    stackNames: plans.map((plan) => plan.stackName),
    git: target.git,
    before: Object.fromEntries(plans.map((plan) => [plan.stackName, plan.deployed])),
  });
  if (outcome !== 'succeeded') {
    throw new WatchpointError(`The rollback to #${target.sequence} did not complete: ${reason}.`, {
      code: 'ROLLBACK_FAILED',
      fault: 'system',
      fix: alarmStopped
        ? `The restored version set off its alarm, so CodeDeploy put the newer one back: see \`watchpoint logs --env ${envName} --since 30m --level error\`, then roll back to another release (\`watchpoint releases --env ${envName}\`) or deploy a fix.`
        : `Read the stack's events (CloudFormation console, or \`watchpoint status --env ${envName}\`) for the failed resource, fix it, then run rollback again.`,
    });
  }
  io.result(`Rolled back "${envName}" to release #${target.sequence}: ${executing.map((plan) => plan.stackName).join(', ')} restored${plans.some((p) => p.same) ? ` (${plans.filter((p) => p.same).map((p) => p.stackName).join(', ')} already matched)` : ''}.`);
  return ExitCode.ok;
}

async function confirm(options: RollbackOptions, envName: string, prod: boolean, target: ReleaseRecord, since: string[]): Promise<boolean> {
  const { io } = options;
  if (since.length > 0) {
    const schema = await io.ask({ kind: 'confirm', message: `Run #${target.sequence}'s code against the database with ${since.length} newer migration(s) still applied (they are not reverted)?`, default: false, dangerous: true });
    if (!schema) return false;
  }
  if (prod && io.interactive) {
    await io.ask({
      kind: 'input',
      field: 'confirmation',
      message: `Type the environment name (${envName}) to roll it back to #${target.sequence}`,
      validate: (value) => (value.trim() === envName ? true : `does not match "${envName}"; press Ctrl-C to cancel`),
    });
    return true;
  }
  return io.ask({ kind: 'confirm', message: `Roll back "${envName}" to release #${target.sequence}?`, default: false, dangerous: true });
}

async function discardAll(cloud: RollbackCloud, plans: StackPlan[]): Promise<void> {
  for (const plan of plans) if (plan.prepared && !plan.prepared.empty) await cloud.discard(plan.stackName, plan.prepared.changeSetName).catch(() => undefined);
}

function dryRunLines(plans: StackPlan[], target: ReleaseRecord, envName: string, region: string, bucket: string, endpoint: string | undefined, env: NodeJS.ProcessEnv): string[] {
  const lines = [`Dry run: nothing was created or changed. rollback to #${target.sequence} would, in order (region ${region}${endpoint ? `, endpoint ${endpoint} (not AWS)` : ''}):`];
  let step = 1;
  for (const plan of plans) {
    if (plan.same) {
      lines.push(`  ${step++}. ${plan.stackName}: already runs #${target.sequence}'s template; nothing to do`);
      continue;
    }
    const source = Buffer.byteLength(plan.body) <= TEMPLATE_BODY_LIMIT ? 'TemplateBody from the ledger' : `TemplateURL ${templateUrl(bucket, plan.templateKey, region, endpoint, env)}`;
    lines.push(`  ${step++}. cloudformation:CreateChangeSet ${plan.stackName} (UPDATE, ${source}, parameters ${Object.entries(plan.parameters).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'}), show it, ask, ExecuteChangeSet, wait`);
  }
  lines.push(`  ${step}. record release "rollback to #${target.sequence}" in s3://${bucket}`);
  const diffs = plans.filter((plan) => !plan.same);
  if (diffs.length > 0) lines.push('', 'What would go back, against the deployed templates (the change sets add replacements):');
  for (const plan of diffs) {
    lines.push(`  ${plan.stackName}:`);
    for (const line of templateDiff(plan.deployed, plan.body)) lines.push(`    ${line.change === 'added' ? '+' : line.change === 'removed' ? '-' : '~'} ${line.logicalId} (${line.type})${line.fields.length ? `: ${line.fields.join(', ')}` : ''}`);
  }
  return lines;
}

async function localMigrations(): Promise<string[]> {
  try {
    const { migrationNames } = await import('../db/migrations.ts');
    return migrationNames();
  } catch {
    return [];
  }
}

async function callerArn(clients: ReleaseClients): Promise<string> {
  const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  return (await clients.sts.send(new GetCallerIdentityCommand({}))).Arn ?? '';
}

/** What `deploy --hotswap` left in the stacks being rolled back, and the commands that restore each function; undefined when nothing. */
async function hotswapLeftovers(clients: RollbackClients, io: Io, envName: string, plans: StackPlan[], account: string, region: string): Promise<{ what: string; commands: string } | undefined> {
  if (!clients.ssm) return undefined;
  const { hotswapMarkerName, readHotswapMarker, restoreCommand } = await import('../deploy/hotswap.ts');
  let marker: Awaited<ReturnType<typeof readHotswapMarker>>;
  try {
    marker = await readHotswapMarker(clients.ssm, envName);
  } catch (error) {
    // Not a reason to stop a rollback; say what is not known.
    io.notify('warn', `Whether a stack holds \`deploy --hotswap\` changes is not known: reading SSM ${hotswapMarkerName(envName)} failed (${error instanceof Error ? error.name : String(error)}). A change set does not restore a hotswapped function whose code it does not change.\n  fix: check that this identity may ssm:GetParameter on ${hotswapMarkerName(envName)}, then \`watchpoint status --env ${envName}\` shows it.`);
    return undefined;
  }
  // A function whose Code the change set changes is restored by it; the others keep hotswapped code.
  const codeOf = (body: string | undefined, logicalId: string) => JSON.stringify((body ? (JSON.parse(body) as { Resources?: Record<string, { Properties?: { Code?: unknown } }> }) : {}).Resources?.[logicalId]?.Properties?.Code ?? null);
  const left = (marker?.stacks ?? []).flatMap((stack) => {
    const plan = plans.find((p) => p.stackName === stack.stackName);
    if (!plan) return [];
    const kept = stack.resources.filter((r) => r.resourceType === 'AWS::Lambda::Function' && (plan.same || codeOf(plan.body, r.logicalId) === codeOf(plan.deployed, r.logicalId)));
    return kept.length > 0 || (plan.same && stack.resources.length === 0) ? [{ stack, plan, kept }] : [];
  });
  if (left.length === 0) return undefined;
  const what = left.map(({ stack, kept }) => `${stack.stackName} holds changes \`deploy --hotswap\` made (${kept.map((r) => r.logicalId).join(', ') || 'resources not recorded'}, ${marker!.at} by ${marker!.operator})`).join('; ');
  const commands = left.flatMap(({ stack, plan, kept }) =>
    kept.map((resource) => `    ${restoreCommand(plan.body, stack.stackName, resource, account, region) ?? `${resource.logicalId}: its template names no code to restore (see \`watchpoint releases show\`)`}`),
  );
  return { what, commands: commands.join('\n') || '    (no functions recorded)' };
}

/** The real shift port: CodeDeploy and CloudWatch clients of the stage (only built for canary/linear stages). */
async function shiftPort(envName: string, stage: Parameters<typeof sdkClients>[0]): Promise<ShiftPort> {
  const { codedeploy, cloudwatch } = await sdkClients(stage, ['codedeploy', 'cloudwatch']);
  return { watch: (since) => createShiftWatch({ envName, codedeploy, cloudwatch, since }), region: stage.region, intervalMs: 10_000 };
}
