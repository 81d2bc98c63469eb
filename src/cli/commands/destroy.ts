// `watchpoint destroy`: delete an environment's stacks, platform first. The buckets and the image
// repository are RETAIN in the stacks, so CloudFormation leaves them; afterwards the empty ones are
// deleted and the ones still holding data are kept and listed.
import { resolveStage, stackNames, type CommandContext } from '../context.ts';
import { ExitCode, WatchpointError, userError } from '../errors.ts';
import { noQuestions } from '../io.ts';
import { describeDeployedStack, explainAwsError } from '../stack-resources.ts';
import { createAwsPort } from '../deploy/aws-ports.ts';
import { isProduction } from '../deploy/policy.ts';
import type { CloudPort } from '../deploy/ports.ts';
import { awsClients, rendererFor, workPaths, type AwsClients } from '../deploy/support.ts';
import { runPhase, type TaskHandle } from '../deploy/tasks.ts';
import { cleanupKeys, describeKeyCleanup, isEmptyPlan, planKeyCleanup, type KeyCleanupPlan } from '../runpod/cleanup.ts';
import { createToolkitCloud } from '../deploy/toolkit.ts';
import { runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import type { DestroyFlags } from './destroy.define.ts';

export interface DestroyInjections {
  clients?: Partial<AwsClients>;
  cloud?: CloudPort;
}

/** Everything `destroy` runs on. */
export interface DestroyOptions extends Runtime {
  yes: boolean;
  /** --force: a production environment may be destroyed (the name is still typed). */
  force: boolean;
  injected: DestroyInjections;
}

/** The flag contract: two switches, nothing to refuse; the refusals need the environment (runDestroy). */
export function parseDestroyOptions(flags: DestroyFlags, context: CommandContext & Injectable, injected: DestroyInjections = {}): DestroyOptions {
  return { ...runtimeOf(context), yes: Boolean(flags.yes ?? context.options.yes), force: Boolean(flags.force), injected };
}

/** Raw flags in the context's options (tests): parse, then run. */
export async function destroyCommand(context: CommandContext & { force: boolean }, injected: DestroyInjections = {}): Promise<number> {
  return runDestroy(parseDestroyOptions({ ...context.options, force: context.force }, context, injected));
}

interface Retained {
  kind: 'bucket' | 'repository';
  logicalId: string;
  name: string;
}

export async function runDestroy(options: DestroyOptions): Promise<number> {
  const { io, cwd, injected } = options;
  const { envName, stage } = await resolveStage(options);
  if (isProduction(envName) && !options.force) {
    throw userError('PROD_DESTROY_REFUSED', `"${envName}" is a production environment; destroy refuses it.`, 'If you really mean it, pass --force (you will still type the name).');
  }
  // Without a terminal only --yes can confirm: say so before any AWS call, not after reading the stacks.
  if (!io.interactive && !options.yes) {
    throw userError('CONFIRMATION_REQUIRED', `Destroying "${envName}" needs confirmation, and ${noQuestions(io).why}.`, `Re-run with --yes to confirm, or ${noQuestions(io).instead}.`);
  }
  const clients = await awsClients(stage, injected.clients ?? {}, ['sts', 'cloudformation', 's3', 'ecr', 'iam', 'ssm']);
  const aws = createAwsPort(clients);
  const names = stackNames(envName);
  let account: string;
  const existing: string[] = [];
  const retained: Retained[] = [];
  const users: string[] = [];
  let keyCleanup: KeyCleanupPlan = { users: [], parameters: [] };
  try {
    const identity = await aws.callerIdentity();
    account = identity.account;
    if (stage.account !== undefined && stage.account !== account) {
      throw userError('ACCOUNT_MISMATCH', `These credentials are for account ${account}, but "${envName}" is configured for account ${stage.account}.`, `Switch to a profile for account ${stage.account}.`);
    }
    for (const stackName of [names.platform, names.registry]) {
      const status = await aws.stackStatus(stackName);
      if (status === undefined) continue;
      existing.push(stackName);
      const stack = await describeDeployedStack(clients.cloudformation, stackName, envName);
      for (const resource of stack.resources) {
        if (resource.type === 'AWS::S3::Bucket' && resource.physicalId) retained.push({ kind: 'bucket', logicalId: resource.logicalId, name: resource.physicalId });
        if (resource.type === 'AWS::ECR::Repository' && resource.physicalId) retained.push({ kind: 'repository', logicalId: resource.logicalId, name: resource.physicalId });
        if (resource.type === 'AWS::IAM::User' && resource.physicalId) users.push(resource.physicalId);
      }
    }
    if (existing.includes(names.platform)) keyCleanup = await planKeyCleanup({ iam: clients.iam, ssm: clients.ssm, envName, userNames: users });
  } catch (error) {
    throw explainAwsError(error, { envName });
  }
  if (existing.length === 0) {
    io.result(`Nothing to destroy: neither ${names.platform} nor ${names.registry} exists in account ${account}, region ${stage.region}.`);
    return ExitCode.ok;
  }

  io.notify('warn', `This deletes ${existing.join(' and ')} from account ${account}, region ${stage.region}.`);
  if (!isEmptyPlan(keyCleanup)) {
    io.notify('warn', [
      'Before the stacks, it deletes what `runpod rotate-keys` made outside CloudFormation (IAM cannot delete a user that still has keys):',
      ...describeKeyCleanup(keyCleanup).map((line) => `  ${line}`),
    ].join('\n'));
  }
  if (retained.length > 0) io.notify('info', `Kept by the stacks (RETAIN), deleted afterwards only if empty: ${retained.map((r) => r.name).join(', ')}`);
  if (io.interactive) {
    await io.ask({
      kind: 'input',
      field: 'confirmation',
      message: `Type the environment name (${envName}) to destroy it`,
      validate: (value) => (value.trim() === envName ? true : `does not match "${envName}"; press Ctrl-C to cancel`),
    });
  } else if (!options.yes) {
    throw userError('CONFIRMATION_REQUIRED', `Destroying "${envName}" needs confirmation, and ${noQuestions(io).why}.`, `Re-run with --yes to confirm, or ${noQuestions(io).instead}.`);
  }

  const { assemblyDir } = workPaths(cwd, envName);
  const { synthesize } = await import('./synth.ts');
  // The templates only identify the stacks here; bundling the functions would be wasted time.
  await synthesize({ envName, stage, imageTag: 'destroy', outdir: assemblyDir, bundling: false, env: options.env, warn: (text) => io.notify('warn', text) });
  const cloud = injected.cloud ?? (await createToolkitCloud({ notify: (level, text) => io.notify(level, text), region: stage.region }));
  try {
    await runPhase(
      rendererFor(options),
      [
        ...(isEmptyPlan(keyCleanup) ? [] : [{
          title: 'Delete the RunPod access keys and their SSM parameters',
          run: async (task: TaskHandle) => {
            const done = await cleanupKeys({ iam: clients.iam, ssm: clients.ssm, plan: keyCleanup });
            task.title(`Deleted ${done.keys} RunPod access key(s) and ${done.parameters} SSM parameter(s)`);
          },
        }]),
        ...existing.map((stackName) => ({
          title: `Delete ${stackName}`,
          run: async (task: TaskHandle) => {
            await cloud.destroy(assemblyDir, stackName, (a) => task.output(`${a.logicalId} ${a.status}${a.reason ? `: ${a.reason}` : ''}`));
            task.title(`Deleted ${stackName}`);
          },
        })),
      ],
    );
  } catch (error) {
    throw new WatchpointError(`Destroying "${envName}" failed.`, {
      code: 'DESTROY_FAILED',
      fault: 'system',
      fix: `See the stack events in the CloudFormation console, fix the cause, then run \`watchpoint destroy --env ${envName}\` again.`,
      cause: explainAwsError(error, { envName }),
    });
  }

  const kept: string[] = [];
  for (const item of retained) {
    const outcome = await deleteIfEmpty(item, clients);
    if (outcome === 'deleted') io.notify('info', `Deleted empty ${item.kind} ${item.name}.`);
    else kept.push(`${item.kind} ${item.name} (${outcome})`);
  }
  io.result(`Destroyed "${envName}" (${existing.join(', ')}).`);
  if (kept.length > 0) {
    io.result(`Kept, because they still hold data:\n  ${kept.join('\n  ')}`);
    io.notify('info', 'Empty them yourself (S3 console or `aws s3 rb --force`, `aws ecr delete-repository --force`) if the data can go.');
  }
  return ExitCode.ok;
}

async function deleteIfEmpty(item: Retained, clients: Pick<AwsClients, 's3' | 'ecr'>): Promise<'deleted' | string> {
  try {
    if (item.kind === 'bucket') {
      const { DeleteBucketCommand } = await import('@aws-sdk/client-s3');
      await clients.s3.send(new DeleteBucketCommand({ Bucket: item.name }));
    } else {
      const { DeleteRepositoryCommand } = await import('@aws-sdk/client-ecr');
      // Without force, ECR refuses a repository that holds images.
      await clients.ecr.send(new DeleteRepositoryCommand({ repositoryName: item.name }));
    }
    return 'deleted';
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'BucketNotEmpty') return 'holds objects';
    if (name === 'RepositoryNotEmptyException') return 'holds images';
    if (name === 'NoSuchBucket' || name === 'RepositoryNotFoundException') return 'deleted';
    return `not deleted: ${name || String(error)}`;
  }
}
