// CloudPort through @aws-cdk/toolkit-lib, with an IoHost bridged to the CLI's own I/O. toolkit-lib
// takes ~570 ms to load, so this module imports it only when a port is created.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { IIoHost, IoMessage, IoRequest } from '@aws-cdk/toolkit-lib';
import { awsRuntime } from '../aws/runtime.ts';
import type { Level } from '../io.ts';
import type { CloudPort, HotswapOutcome, PermissionChange, ResourceActivity, StackDiff } from './ports.ts';
import { templateFingerprint } from './hotswap.ts';

const RANK: Record<PermissionChange, number> = { none: 0, 'non-broadening': 1, broadening: 2 };

/** Resource impacts that can lose data or break references. */
const DESTRUCTIVE = new Set(['WILL_REPLACE', 'MAY_REPLACE', 'WILL_DESTROY']);

export interface ToolkitCloudOptions {
  /** Where the bridge sends what the operator should see (warnings, progress). */
  notify: (level: Level, text: string) => void;
  /**
   * Diff against a local template instead of the deployed one (DiffMethod.LocalFile): offline diffs
   * and tests. Return undefined to diff against the deployed stack (DiffMethod.TemplateOnly).
   */
  localTemplateFor?: (stackName: string) => string | undefined;
  /** Forward every toolkit message (WATCHPOINT_DEBUG=1). */
  debug?: boolean;
  /** The stage's region: toolkit-lib's default region, so no lookup falls back to the shell's. */
  region?: string;
}

interface Capture {
  onActivity?: (activity: ResourceActivity) => void;
  diffs: Map<string, { formatted: string; permission: PermissionChange; destructive: StackDiff['destructive'] }>;
  noOp: Map<string, boolean>;
  /** Strongest permission change approved for the deploy in flight. */
  approved: PermissionChange;
  refused?: PermissionChange;
  /** toolkit-lib's hotswap plan (CDK_TOOLKIT_I5401) and result (I5410), by stack name. */
  hotswapPlans: Map<string, HotswapPlanMessage>;
  hotswapResults: Map<string, { hotswapped: boolean; hotswapFallback: boolean }>;
  /** Why toolkit-lib could not try a hotswap at all ("Could not perform a hotswap deployment, ..."). */
  hotswapSkipped?: string;
}

/** The parts of toolkit-lib's HotswapDeploymentDetails (payloads/hotswap.d.ts) the report uses. */
interface HotswapPlanMessage {
  hotswappableChanges: { resources: { logicalId: string; resourceType: string; physicalName?: string }[] }[];
  nonHotswappableChanges: { subject: { type: string; logicalId: string; resourceType?: string }; description: string }[];
}

export async function createToolkitCloud(options: ToolkitCloudOptions): Promise<CloudPort> {
  const tk = await import('@aws-cdk/toolkit-lib');
  const capture: Capture = { diffs: new Map(), noOp: new Map(), approved: 'none', hotswapPlans: new Map(), hotswapResults: new Map() };
  const ioHost: IIoHost = {
    async notify(msg: IoMessage<unknown>) {
      bridgeNotify(msg, capture, options);
    },
    async requestResponse<T>(msg: IoRequest<unknown, T>): Promise<T> {
      // Every question was asked before toolkit-lib started: nothing prompts under a spinner.
      if (msg.code === 'CDK_TOOLKIT_I5060') {
        // The deploy-time diff (from the change set) must not go beyond what the operator approved.
        const change = (msg.data as { permissionChangeType?: PermissionChange }).permissionChangeType ?? 'none';
        if (RANK[change] > RANK[capture.approved]) {
          capture.refused = change;
          return false as T;
        }
        return true as T;
      }
      // The destroy confirmation was asked (environment name typed) before toolkit-lib ran.
      if (msg.code === 'CDK_TOOLKIT_I7010') return true as T;
      return msg.defaultResponse;
    },
  };
  const toolkit = new tk.Toolkit({ ioHost, color: false, emojis: false, sdkConfig: { baseCredentials: watchedCredentials(tk, options.region) } });
  const single = (stackName: string) => ({
    strategy: tk.StackSelectionStrategy.PATTERN_MUST_MATCH_SINGLE,
    patterns: [stackName],
    expand: tk.ExpandStackSelection.NONE,
  });

  return {
    async diff(assemblyDir, stackName) {
      const cx = await toolkit.fromAssemblyDirectory(assemblyDir);
      const local = options.localTemplateFor?.(stackName);
      capture.diffs.delete(stackName);
      const result = await toolkit.diff(cx, {
        stacks: single(stackName),
        method: local ? tk.DiffMethod.LocalFile(local) : tk.DiffMethod.TemplateOnly(),
      });
      const template = result[stackName] as unknown as TemplateDiffShape | undefined;
      const seen = capture.diffs.get(stackName);
      const permission: PermissionChange = seen?.permission ?? (template?.permissionsBroadened ? 'broadening' : template?.permissionsAnyChanges ? 'non-broadening' : 'none');
      return {
        stackName,
        isNew: false,
        changes: template?.differenceCount ?? 0,
        permissionChange: permission,
        destructive: seen?.destructive ?? [],
        formatted: seen?.formatted ?? '',
        resources: changedResources(template),
        outputs: Object.keys(template?.outputs?.changes ?? {}).sort(),
      };
    },
    async deploy(assemblyDir, stackName, { approved, onActivity, method = 'change-set', hotswapBaseline }) {
      await trustHotswapCache(assemblyDir, stackName, method === 'hotswap' ? hotswapBaseline : undefined);
      const cx = await toolkit.fromAssemblyDirectory(assemblyDir);
      capture.approved = approved;
      delete capture.refused;
      delete capture.hotswapSkipped;
      capture.onActivity = onActivity;
      capture.noOp.delete(stackName);
      capture.hotswapPlans.delete(stackName);
      capture.hotswapResults.delete(stackName);
      try {
        // Hotswap: toolkit-lib updates what it can through the Lambda API and, when anything else
        // changed, deploys the whole stack through a change set instead (its 'fall-back' mode).
        const deploymentMethod = method === 'hotswap' ? { method: 'hotswap' as const, fallback: { method: 'change-set' as const } } : { method: 'change-set' as const };
        const result = await toolkit.deploy(cx, { stacks: single(stackName), deploymentMethod });
        const stack = result.stacks.find((s) => s.stackName === stackName);
        const noOp = capture.noOp.get(stackName) ?? false;
        return {
          stackName,
          noOp,
          outputs: { ...(stack?.outputs ?? {}) },
          ...(method === 'hotswap' ? { hotswap: hotswapOutcome(capture, stackName, noOp) } : {}),
        };
      } catch (error) {
        if (capture.refused) {
          throw new ApprovalDriftError(stackName, capture.refused, approved, error);
        }
        // Failed while toolkit-lib was calling Lambda (not in a fallback change set).
        if (method === 'hotswap' && capture.hotswapPlans.has(stackName) && !capture.hotswapResults.get(stackName)?.hotswapFallback) {
          throw new HotswapFailedError(stackName, error);
        }
        throw error;
      } finally {
        delete capture.onActivity;
      }
    },
    async destroy(assemblyDir, stackName, onActivity) {
      const cx = await toolkit.fromAssemblyDirectory(assemblyDir);
      capture.onActivity = onActivity;
      try {
        await toolkit.destroy(cx, { stacks: single(stackName) });
      } finally {
        delete capture.onActivity;
      }
    },
    async bootstrap(account, region) {
      await toolkit.bootstrap(tk.BootstrapEnvironments.fromList([`aws://${account}/${region}`]));
    },
  };
}

/**
 * toolkit-lib's usual credential chain, with every SDK client it builds (credentials, STS,
 * CloudFormation, S3...) sent through the CLI's request handler: the same time budget per call,
 * waiting notice and --verbose log as the CLI's own clients. toolkit-lib hands this config's
 * requestHandler to each client it creates; its endpoint comes from process.env, which the CLI set
 * to the stage's target (aws/target.ts).
 */
function watchedCredentials(tk: typeof import('@aws-cdk/toolkit-lib'), region: string | undefined): import('@aws-cdk/toolkit-lib').IBaseCredentialsProvider {
  const inner = tk.BaseCredentials.awsCliCompatible(region ? { defaultRegion: region } : {});
  return {
    sdkBaseConfig(ioHost, clientConfig) {
      (clientConfig as { requestHandler?: unknown }).requestHandler = awsRuntime().handler;
      return inner.sdkBaseConfig(ioHost, clientConfig);
    },
  };
}

/** toolkit-lib's hotswap failed while updating functions through the Lambda API; CloudFormation was not involved. */
export class HotswapFailedError extends Error {
  readonly stackName: string;
  constructor(stackName: string, cause: unknown) {
    super(`Hotswapping ${stackName} failed.`, { cause });
    this.name = 'HotswapFailedError';
    this.stackName = stackName;
  }
}

/** The change set showed a wider permission change than the diff the operator approved. */
export class ApprovalDriftError extends Error {
  readonly stackName: string;
  readonly found: PermissionChange;
  readonly approved: PermissionChange;
  constructor(stackName: string, found: PermissionChange, approved: PermissionChange, cause: unknown) {
    super(`${stackName}: the change set has ${found} permission changes, more than the approved diff (${approved}); nothing was deployed to it.`, { cause });
    this.name = 'ApprovalDriftError';
    this.stackName = stackName;
    this.found = found;
    this.approved = approved;
  }
}

/**
 * toolkit-lib keeps the template of its last hotswap in <assembly>/.hotswap-cache/<stack>.<env>.json
 * and diffs the next hotswap against it instead of the deployed template: that is how a hotswap back
 * to the code CloudFormation holds reverts the functions. The assembly directory outlives deploys made
 * from other checkouts, which make that record stale (it would hide a function needing an update), so
 * it is kept only when it is the template the marker says the last completed hotswap applied.
 */
async function trustHotswapCache(assemblyDir: string, stackName: string, baseline: string | undefined): Promise<void> {
  const dir = join(assemblyDir, '.hotswap-cache');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.startsWith(`${stackName}.`));
  } catch {
    return;
  }
  for (const name of names) {
    let trusted = false;
    if (baseline) {
      try {
        const cached = JSON.parse(await readFile(join(dir, name), 'utf8')) as { deployedRootTemplate?: unknown };
        trusted = templateFingerprint(cached.deployedRootTemplate) === baseline;
      } catch {
        trusted = false;
      }
    }
    if (!trusted) await rm(join(dir, name), { force: true });
  }
}

/** The parts of @aws-cdk/cloudformation-diff's TemplateDiff that deploy reads. */
interface TemplateDiffShape {
  differenceCount: number;
  permissionsBroadened: boolean;
  permissionsAnyChanges: boolean;
  resources?: { changes?: Record<string, { oldResourceType?: string; newResourceType?: string }> };
  outputs?: { changes?: Record<string, unknown> };
}

function changedResources(template: TemplateDiffShape | undefined): { logicalId: string; resourceType: string }[] {
  return Object.entries(template?.resources?.changes ?? {})
    .map(([logicalId, change]) => ({ logicalId, resourceType: change.newResourceType ?? change.oldResourceType ?? 'unknown' }))
    .sort((a, b) => a.logicalId.localeCompare(b.logicalId));
}

/** What toolkit-lib's hotswap did to one stack, in the words of its own plan and result messages. */
export function hotswapOutcome(capture: Pick<Capture, 'hotswapPlans' | 'hotswapResults' | 'hotswapSkipped'>, stackName: string, noOp: boolean): HotswapOutcome {
  const plan = capture.hotswapPlans.get(stackName);
  const result = capture.hotswapResults.get(stackName);
  const lambda = uniqueBy(
    (plan?.hotswappableChanges ?? []).flatMap((change) => change.resources.map(({ logicalId, resourceType, physicalName }) => ({ logicalId, resourceType, ...(physicalName ? { physicalName } : {}) }))),
  );
  if (result?.hotswapped) return { method: lambda.length > 0 ? 'hotswap' : 'unchanged', hotswapped: lambda, viaCloudFormation: [] };
  if (!plan && noOp) return { method: 'unchanged', hotswapped: [], viaCloudFormation: [] };
  const rejected = (plan?.nonHotswappableChanges ?? []).map((change) => ({
    logicalId: change.subject.logicalId,
    resourceType: change.subject.type === 'Output' ? 'Output' : (change.subject.resourceType ?? 'unknown'),
    reason: change.description,
  }));
  // Fell back: the Lambda changes went through the change set with everything else.
  const carried = lambda.map(({ logicalId, resourceType }) => ({ logicalId, resourceType, reason: 'deployed with the rest of the stack' }));
  const why = rejected.length > 0 ? rejected : capture.hotswapSkipped ? [{ logicalId: stackName, resourceType: 'AWS::CloudFormation::Stack', reason: capture.hotswapSkipped }] : [];
  return { method: noOp ? 'unchanged' : 'cloudformation', hotswapped: [], viaCloudFormation: [...why, ...carried] };
}

function uniqueBy<T extends { logicalId: string }>(items: T[]): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(item.logicalId)) seen.set(item.logicalId, item);
  return [...seen.values()];
}

function bridgeNotify(msg: IoMessage<unknown>, capture: Capture, options: ToolkitCloudOptions): void {
  const data = msg.data as Record<string, unknown> | undefined;
  if (typeof msg.message === 'string' && /Could not perform a hotswap deployment/.test(msg.message)) {
    capture.hotswapSkipped = stripAnsi(msg.message).trim();
  }
  switch (msg.code) {
    case 'CDK_TOOLKIT_I5401': {
      const plan = data as (HotswapPlanMessage & { stack?: { stackName?: string } }) | undefined;
      if (plan?.stack?.stackName) capture.hotswapPlans.set(plan.stack.stackName, { hotswappableChanges: plan.hotswappableChanges ?? [], nonHotswappableChanges: plan.nonHotswappableChanges ?? [] });
      break;
    }
    case 'CDK_TOOLKIT_I5410': {
      const result = data as { stack?: { stackName?: string }; hotswapped?: boolean; hotswapFallback?: boolean } | undefined;
      if (result?.stack?.stackName) capture.hotswapResults.set(result.stack.stackName, { hotswapped: Boolean(result.hotswapped), hotswapFallback: Boolean(result.hotswapFallback) });
      break;
    }
    case 'CDK_TOOLKIT_I5502': {
      // Stack activity: one CloudFormation event per resource change.
      const activity = data as { event?: Record<string, unknown>; progress?: { formatted?: string } } | undefined;
      const event = activity?.event ?? {};
      capture.onActivity?.({
        stackName: String(event.StackName ?? ''),
        logicalId: String(event.LogicalResourceId ?? ''),
        resourceType: String(event.ResourceType ?? ''),
        status: String(event.ResourceStatus ?? ''),
        ...(event.ResourceStatusReason ? { reason: String(event.ResourceStatusReason) } : {}),
        ...(activity?.progress?.formatted ? { progress: activity.progress.formatted.trim() } : {}),
      });
      return;
    }
    case 'CDK_TOOLKIT_I4002': {
      const diff = data as {
        stack?: { stackName?: string };
        formattedDiff?: { diff?: string; security?: string };
        permissionChanges?: PermissionChange;
        destructiveChanges?: { logicalId: string; resourceType?: string; impact: string }[];
      };
      const name = diff.stack?.stackName;
      if (name) {
        capture.diffs.set(name, {
          formatted: stripAnsi(diff.formattedDiff?.diff ?? ''),
          permission: diff.permissionChanges ?? 'none',
          destructive: (diff.destructiveChanges ?? [])
            .filter((change) => DESTRUCTIVE.has(String(change.impact)))
            .map((change) => ({ logicalId: change.logicalId, resourceType: change.resourceType ?? '', impact: String(change.impact) })),
        });
      }
      return;
    }
    case 'CDK_TOOLKIT_I5900': {
      const result = data as { noOp?: boolean; stackArn?: string } | undefined;
      const name = result?.stackArn?.split('/')[1];
      if (name) capture.noOp.set(name, Boolean(result?.noOp));
      return;
    }
    // The child app's stderr and construct warnings arrive as "error"; they are not failures.
    case 'CDK_ASSEMBLY_E1002':
    case 'CDK_TOOLKIT_E9600':
      options.notify('warn', stripAnsi(msg.message));
      return;
    default:
      break;
  }
  if (options.debug) {
    options.notify('info', `[${msg.level} ${msg.code ?? ''}] ${stripAnsi(msg.message)}`);
    return;
  }
  if (msg.level === 'warn' && !/security approval/i.test(msg.message)) options.notify('warn', stripAnsi(msg.message));
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}
