// `deploy --hotswap`: who may use it, which stacks may short-circuit CloudFormation, what the operator
// is told, and the marker that says a stack holds hotswapped changes. The hotswapping itself is
// toolkit-lib's (deploymentMethod 'hotswap' with a change-set fallback, in toolkit.ts); nothing here
// calls Lambda.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { StageConfig } from '../../config/schema.ts';
import { userError } from '../errors.ts';
import { isProduction } from './policy.ts';
import type { DeployMethod, HotswapOutcome, StackDiff } from './ports.ts';

/**
 * Refused before any AWS call for prod and for a stage marked `"protected": true`: a hotswap changes
 * functions behind CloudFormation's back, so the stack no longer matches its template.
 */
export function refuseHotswap(envName: string, stage: Pick<StageConfig, 'protected'>): void {
  const why = isProduction(envName) ? `"${envName}" is production` : stage.protected ? `"${envName}" is marked "protected": true in watchpoint.config.json` : undefined;
  if (!why) return;
  throw userError(
    'HOTSWAP_REFUSED',
    `--hotswap is refused: ${why}. A hotswap updates Lambda code and environment directly, so the stack drifts from its CloudFormation template (drift detection, rollback and the next change set no longer describe what runs).`,
    `Deploy it through CloudFormation: \`watchpoint deploy --env ${envName}\` (without --hotswap)${isProduction(envName) ? '' : `, or remove "protected" from environment "${envName}" in watchpoint.config.json if it is not one to protect`}.`,
  );
}

/** Resource types whose changes may go straight to Lambda (toolkit-lib publishes versions and moves aliases with the function). */
const LAMBDA_TYPES = new Set(['AWS::Lambda::Function', 'AWS::Lambda::Version', 'AWS::Lambda::Alias', 'AWS::CDK::Metadata']);

/**
 * How --hotswap deploys this stack. toolkit-lib would also hotswap queues, alarms, rules and APIs
 * through Cloud Control; here only Lambda changes skip CloudFormation, so a stack with any other
 * change goes through a change set whole, with the changes that sent it there.
 */
export function hotswapMethod(diff: StackDiff): { method: DeployMethod; reasons: HotswapOutcome['viaCloudFormation'] } {
  const reasons = (diff.resources ?? [])
    .filter((resource) => !LAMBDA_TYPES.has(resource.resourceType))
    .map((resource) => ({ ...resource, reason: 'not a Lambda change: goes through CloudFormation' }));
  if (diff.isNew) return { method: 'change-set', reasons: [{ logicalId: diff.stackName, resourceType: 'AWS::CloudFormation::Stack', reason: 'the stack does not exist yet' }] };
  return reasons.length > 0 ? { method: 'change-set', reasons } : { method: 'hotswap', reasons: [] };
}

/** The lines that say, per stack, what went straight to Lambda and what went through CloudFormation. */
export function hotswapReport(stackName: string, outcome: HotswapOutcome): string[] {
  if (outcome.method === 'unchanged') return [`${stackName}: nothing to deploy`];
  const lines: string[] = [];
  if (outcome.method === 'hotswap') {
    lines.push(`${stackName}: hotswapped ${outcome.hotswapped.length} resource(s) straight to Lambda; nothing went through CloudFormation`);
    for (const r of outcome.hotswapped) lines.push(`  hotswapped  ${r.logicalId} (${r.resourceType}${r.physicalName ? `, ${r.physicalName}` : ''})`);
    return lines;
  }
  lines.push(`${stackName}: deployed through CloudFormation (change set); nothing was hotswapped`);
  for (const r of outcome.viaCloudFormation) lines.push(`  cloudformation  ${r.logicalId} (${r.resourceType}): ${r.reason}`);
  return lines;
}

/** SSM parameter that marks an environment whose stacks hold hotswapped changes (outside /<env>/watchpoint/, which holds the secrets). */
export function hotswapMarkerName(envName: string): string {
  return `/${envName}/watchpoint-deploy/hotswapped`;
}

export interface HotswapMarker {
  /** When the latest hotswap ended. */
  at: string;
  /** STS caller ARN of the operator who ran it. */
  operator: string;
  /** Per stack, the resources hotswapped since its last CloudFormation deploy. */
  stacks: HotswappedStack[];
}

export interface HotswappedStack {
  stackName: string;
  resources: { logicalId: string; resourceType: string; physicalName?: string }[];
  /**
   * templateFingerprint() of the template whose Lambda changes the last hotswap completed: toolkit-lib's
   * record of it (<assembly>/.hotswap-cache) is trusted only when it matches. Unset while a hotswap runs.
   */
  templateSha256?: string;
}

/** What toolkit-lib's hotswap cache compares: the template as JSON.stringify writes the parsed file. */
export function templateFingerprint(template: unknown): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex');
}

/** templateFingerprint() of `<assemblyDir>/<stack>.template.json`, or undefined when it cannot be read. */
export async function assemblyTemplateFingerprint(assemblyDir: string, stackName: string): Promise<string | undefined> {
  try {
    return templateFingerprint(JSON.parse(await readFile(join(assemblyDir, `${stackName}.template.json`), 'utf8')));
  } catch {
    return undefined;
  }
}

export interface HotswapMarkerPort {
  read(): Promise<HotswapMarker | undefined>;
  /** Writes the marker, or deletes it when no stack is left in it. */
  write(marker: HotswapMarker | undefined): Promise<void>;
}

/** One stack's part in the next marker. 'cloudformation': the stack matches its template again. */
export interface MarkerOutcome {
  stackName: string;
  method: 'hotswap' | 'cloudformation' | 'unchanged';
  resources: HotswappedStack['resources'];
  /** For 'hotswap': the fingerprint of the template hotswapped, or undefined while it runs. */
  templateSha256?: string | undefined;
  /**
   * For 'cloudformation': the logical ids the change set changed. CloudFormation puts back only what
   * it updates, so only those leave the marker; unset: the whole stack matches its template again.
   */
  changed?: string[];
}

/**
 * The marker after a deploy: stacks hotswapped now are added (with what was hotswapped before, still
 * not in their template); stacks that went through CloudFormation, or whose hotswap brought them back
 * to CloudFormation's template, are removed; unchanged ones stay.
 */
export function nextMarker(previous: HotswapMarker | undefined, outcomes: MarkerOutcome[], at: Date, operator: string): HotswapMarker | undefined {
  const stacks = new Map((previous?.stacks ?? []).map((stack) => [stack.stackName, stack]));
  let hotswapped = false;
  for (const outcome of outcomes) {
    if (outcome.method === 'cloudformation') {
      const entry = stacks.get(outcome.stackName);
      const changed = outcome.changed;
      const left = entry && changed ? entry.resources.filter((r) => !changed.includes(r.logicalId)) : [];
      if (entry && left.length > 0) stacks.set(outcome.stackName, { ...entry, resources: left });
      else stacks.delete(outcome.stackName);
    }
    // A hotswap that updated nothing of a stack not marked left no drift behind.
    const before = stacks.get(outcome.stackName);
    if (outcome.method === 'hotswap' && (outcome.resources.length > 0 || before)) {
      hotswapped = true;
      const merged = new Map((before?.resources ?? []).map((r) => [r.logicalId, r]));
      for (const resource of outcome.resources) merged.set(resource.logicalId, resource);
      const resources = [...merged.values()].sort((a, b) => a.logicalId.localeCompare(b.logicalId));
      stacks.set(outcome.stackName, { stackName: outcome.stackName, resources, ...(outcome.templateSha256 ? { templateSha256: outcome.templateSha256 } : {}) });
    }
  }
  if (stacks.size === 0) return undefined;
  return {
    at: hotswapped || !previous ? at.toISOString() : previous.at,
    operator: hotswapped || !previous ? operator : previous.operator,
    stacks: [...stacks.values()].sort((a, b) => a.stackName.localeCompare(b.stackName)),
  };
}

/**
 * The commands that put a hotswapped function back on the code its template names (what a change
 * set cannot do when CloudFormation already holds that template): lambda update-function-code with
 * the template's Code, resolved for this account and region; and, for a function behind an alias
 * (`live`: what its triggers invoke), lambda update-alias back to the version CloudFormation holds,
 * since a hotswap published a new version and moved the alias to it. Undefined when the template
 * does not say.
 */
export function restoreCommand(templateBody: string, stackName: string, resource: { logicalId: string; physicalName?: string }, account: string, region: string): string | undefined {
  type TemplateResource = { Type?: string; Properties?: { Code?: Record<string, unknown>; FunctionName?: unknown; FunctionVersion?: unknown; Name?: unknown } };
  const template = JSON.parse(templateBody) as { Resources?: Record<string, TemplateResource> };
  const code = template.Resources?.[resource.logicalId]?.Properties?.Code;
  if (!code) return undefined;
  const value = (v: unknown) => resolvePseudo(v, account, region);
  const physicalId = (logicalId: string) => `aws cloudformation describe-stack-resource --region ${region} --stack-name ${stackName} --logical-resource-id ${logicalId} --query StackResourceDetail.PhysicalResourceId --output text`;
  const name = resource.physicalName ?? `"$(${physicalId(resource.logicalId)})"`;
  const where = code.ImageUri !== undefined ? (value(code.ImageUri) ? `--image-uri ${value(code.ImageUri)}` : undefined) : value(code.S3Bucket) && value(code.S3Key) ? `--s3-bucket ${value(code.S3Bucket)} --s3-key ${value(code.S3Key)}` : undefined;
  if (!where) return undefined;
  const commands = [`aws lambda update-function-code --region ${region} --function-name ${name} ${where}`];
  for (const alias of Object.values(template.Resources ?? {})) {
    const props = alias.Properties;
    if (alias.Type !== 'AWS::Lambda::Alias' || (props?.FunctionName as { Ref?: string } | undefined)?.Ref !== resource.logicalId || typeof props?.Name !== 'string') continue;
    const version = (props.FunctionVersion as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
    // The Version resource's physical id is the version's ARN; its last field is the number.
    if (version) commands.push(`aws lambda update-alias --region ${region} --function-name ${name} --name ${props.Name} --function-version "$(${physicalId(version)} | sed 's/.*://')"`);
  }
  return commands.join(' && ');
}

/** A template value made of strings, Fn::Sub and Fn::Join over the pseudo parameters account, region and URL suffix. */
function resolvePseudo(value: unknown, account: string, region: string): string | undefined {
  const pseudo: Record<string, string> = { 'AWS::AccountId': account, 'AWS::Region': region, 'AWS::URLSuffix': 'amazonaws.com', 'AWS::Partition': 'aws' };
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.Ref === 'string') return pseudo[object.Ref];
    if (typeof object['Fn::Sub'] === 'string') {
      const text = (object['Fn::Sub'] as string).replace(/\$\{([^}]+)\}/g, (match, name: string) => pseudo[name] ?? match);
      return text.includes('${') ? undefined : text;
    }
    const join = object['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      const parts = (join[1] as unknown[]).map((part) => resolvePseudo(part, account, region));
      return parts.every((part) => part !== undefined) ? parts.join(join[0]) : undefined;
    }
  }
  return undefined;
}

/** The marker in SSM: GetParameter, PutParameter (String, overwrite) and DeleteParameter. */
export function ssmHotswapMarker(ssm: SSMClient, envName: string): HotswapMarkerPort {
  const name = hotswapMarkerName(envName);
  return {
    read: () => readHotswapMarker(ssm, envName),
    async write(marker) {
      const { DeleteParameterCommand, PutParameterCommand } = await import('@aws-sdk/client-ssm');
      if (marker) {
        await ssm.send(new PutParameterCommand({ Name: name, Type: 'String', Overwrite: true, Value: JSON.stringify(marker), Description: 'watchpoint deploy --hotswap: stacks holding changes their template does not describe' }));
        return;
      }
      try {
        await ssm.send(new DeleteParameterCommand({ Name: name }));
      } catch (error) {
        if (!(error instanceof Error && error.name === 'ParameterNotFound')) throw error;
      }
    },
  };
}

/** The marker, or undefined when the environment holds no hotswapped changes. A value this CLI cannot read counts as present. */
export async function readHotswapMarker(ssm: SSMClient, envName: string, send: { abortSignal?: AbortSignal | undefined } = {}): Promise<HotswapMarker | undefined> {
  const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
  let value: string | undefined;
  try {
    value = (await ssm.send(new GetParameterCommand({ Name: hotswapMarkerName(envName) }), send)).Parameter?.Value;
  } catch (error) {
    if (error instanceof Error && error.name === 'ParameterNotFound') return undefined;
    throw error;
  }
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as HotswapMarker;
    if (typeof parsed.at === 'string' && Array.isArray(parsed.stacks)) return parsed;
  } catch {
    // fall through
  }
  return { at: 'unknown', operator: 'unknown', stacks: [{ stackName: `(unreadable marker ${hotswapMarkerName(envName)})`, resources: [] }] };
}
