// What one release record holds, and how it is built from a cloud assembly (deploy) or from another
// release (rollback). Pure apart from reading the assembly's template files: tested without AWS.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const RELEASE_SCHEMA_VERSION = 1;

export const OUTCOMES = ['succeeded', 'failed', 'rolled-back-by-cloudformation', 'rolled-back-by-alarm'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface ResourceChanges {
  added: string[];
  modified: string[];
  removed: string[];
}

export interface StackRelease {
  stackName: string;
  /** Key of the exact template in the ledger bucket: templates/<sha256>.json (content-addressed). */
  templateKey: string;
  templateSha256: string;
  /** The parameter values the stack was deployed with (CDK templates: BootstrapVersion's SSM name). */
  parameters: Record<string, string>;
  /** The zip functions' code in the CDK bootstrap bucket, as the template names it. */
  zipAssets: { bucket: string; key: string }[];
  /** Logical ids added, modified and removed against the release that was current before. */
  changes: ResourceChanges;
}

export interface ReleaseRecord {
  schemaVersion: typeof RELEASE_SCHEMA_VERSION;
  sequence: number;
  env: string;
  /** 'hotswap': `deploy --hotswap` changed Lambda code/environment directly; its templates are what runs, not what CloudFormation holds. */
  kind: 'deploy' | 'rollback' | 'hotswap';
  /** For a rollback: the release it restored. */
  rollbackTo?: number;
  /** "deploy", "hotswap", or "rollback to #N". */
  description: string;
  startedAt: string;
  endedAt: string;
  outcome: Outcome;
  /** Why it failed, in one line, when it did. */
  reason?: string;
  /** The STS caller ARN of the operator. */
  operator: string;
  account: string;
  region: string;
  git: { commit: string | null; dirty: boolean | null };
  cliVersion: string;
  imageTag: string;
  /** The newest database migration applied after the release, or null when it was not checked. */
  migrationLevel: string | null;
  stacks: StackRelease[];
  /** Set when the record was written by a later command because the ledger could not be written at the time. */
  backfilledAt?: string;
}

/** A record before it has a number (the ledger assigns it on write). */
export type ReleaseDraft = Omit<ReleaseRecord, 'sequence'>;

/** A stack as a release draft needs it: the template text (stored content-addressed) and what it yields. */
export interface StackCapture {
  stackName: string;
  templateBody: string;
  parameters: Record<string, string>;
  zipAssets: { bucket: string; key: string }[];
}

type Template = { Parameters?: Record<string, { Default?: unknown }>; Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }> };

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function templateKey(sha: string): string {
  return `templates/${sha}.json`;
}

/** Reads `<assemblyDir>/<stack>.template.json` as synth wrote it: the exact template deployed. */
export async function captureStack(assemblyDir: string, stackName: string, account: string, region: string): Promise<StackCapture> {
  const templateBody = await readFile(join(assemblyDir, `${stackName}.template.json`), 'utf8');
  const template = JSON.parse(templateBody) as Template;
  return { stackName, templateBody, parameters: parameterDefaults(template), zipAssets: zipAssets(template, account, region) };
}

/** A CDK template's parameters all have defaults (BootstrapVersion: its SSM parameter's name), which are what was deployed. */
export function parameterDefaults(template: Template): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, parameter] of Object.entries(template.Parameters ?? {})) {
    if (parameter.Default !== undefined) out[name] = String(parameter.Default);
  }
  return out;
}

/** Where each zip function's code lives: Code.S3Bucket (a Fn::Sub of account and region) and Code.S3Key. */
export function zipAssets(template: Template, account: string, region: string): { bucket: string; key: string }[] {
  const seen = new Map<string, { bucket: string; key: string }>();
  for (const resource of Object.values(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const code = resource.Properties?.Code as { S3Bucket?: unknown; S3Key?: unknown } | undefined;
    if (!code || typeof code.S3Key !== 'string') continue;
    const bucket = resolveSub(code.S3Bucket, account, region);
    if (bucket) seen.set(`${bucket}/${code.S3Key}`, { bucket, key: code.S3Key });
  }
  return [...seen.values()].sort((a, b) => a.key.localeCompare(b.key));
}

function resolveSub(value: unknown, account: string, region: string): string | undefined {
  const text = typeof value === 'string' ? value : (value as { 'Fn::Sub'?: unknown } | undefined)?.['Fn::Sub'];
  if (typeof text !== 'string') return undefined;
  const resolved = text.replaceAll('${AWS::AccountId}', account).replaceAll('${AWS::Region}', region).replaceAll('${AWS::URLSuffix}', 'amazonaws.com');
  return resolved.includes('${') ? undefined : resolved;
}

/** Resources added, modified and removed between two templates, by logical id. */
export function resourceChanges(before: string | undefined, after: string): ResourceChanges {
  const old = before ? ((JSON.parse(before) as Template).Resources ?? {}) : {};
  const now = (JSON.parse(after) as Template).Resources ?? {};
  const added = Object.keys(now).filter((id) => !(id in old));
  const removed = Object.keys(old).filter((id) => !(id in now));
  const modified = Object.keys(now).filter((id) => id in old && JSON.stringify(old[id]) !== JSON.stringify(now[id]));
  return { added: added.sort(), modified: modified.sort(), removed: removed.sort() };
}

export function stackRelease(capture: StackCapture, previousTemplate: string | undefined): StackRelease {
  const sha = sha256(capture.templateBody);
  return {
    stackName: capture.stackName,
    templateKey: templateKey(sha),
    templateSha256: sha,
    parameters: capture.parameters,
    zipAssets: capture.zipAssets,
    changes: resourceChanges(previousTemplate, capture.templateBody),
  };
}

/** The release a rollback restores to by default, and what `releases` marks as current: the newest that succeeded. */
export function currentRelease(records: readonly ReleaseRecord[]): ReleaseRecord | undefined {
  return [...records].sort((a, b) => b.sequence - a.sequence).find((record) => record.outcome === 'succeeded');
}

export function changeCounts(record: ReleaseRecord): { added: number; modified: number; removed: number } {
  const sum = { added: 0, modified: 0, removed: 0 };
  for (const stack of record.stacks) {
    sum.added += stack.changes.added.length;
    sum.modified += stack.changes.modified.length;
    sum.removed += stack.changes.removed.length;
  }
  return sum;
}
