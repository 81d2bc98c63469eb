// Every SSM call the secrets commands make, and how their errors are told to the operator without
// ever carrying a secret value.
import type { ParameterMetadata, SSMClient } from '@aws-sdk/client-ssm';
import { isCredentialError } from '../aws.ts';
import { WatchpointError, userError } from '../errors.ts';
import { explainAwsError } from '../stack-resources.ts';
import { isAccessDenied } from '../aws/explain.ts';
import { STANDARD_TIER_MAX_BYTES, pathPrefix } from '../../config/secrets-catalogue.ts';

/** GetParameters takes at most 10 names a call. */
export const GET_PARAMETERS_BATCH = 10;

export interface StoredValue {
  value: string;
  version: number | undefined;
  lastModified: Date | undefined;
}

export interface Metadata {
  path: string;
  version: number | undefined;
  lastModified: Date | undefined;
  lastModifiedUser: string | undefined;
  keyId: string | undefined;
  tier: string | undefined;
  type: string | undefined;
}

/**
 * Decrypted values of the given parameter paths: GetParameters in batches of 10, all batches in
 * flight at once. Paths that do not exist come back in `missing`.
 */
export async function readValues(ssm: SSMClient, paths: readonly string[]): Promise<{ values: Map<string, StoredValue>; missing: string[] }> {
  const { GetParametersCommand } = await import('@aws-sdk/client-ssm');
  const batches: string[][] = [];
  for (let i = 0; i < paths.length; i += GET_PARAMETERS_BATCH) batches.push(paths.slice(i, i + GET_PARAMETERS_BATCH));
  const responses = await Promise.all(batches.map((names) => ssm.send(new GetParametersCommand({ Names: names, WithDecryption: true }))));
  const values = new Map<string, StoredValue>();
  const missing: string[] = [];
  for (const response of responses) {
    for (const parameter of response.Parameters ?? []) {
      if (parameter.Name && parameter.Value !== undefined) {
        values.set(parameter.Name, { value: parameter.Value, version: parameter.Version, lastModified: parameter.LastModifiedDate });
      }
    }
    missing.push(...(response.InvalidParameters ?? []));
  }
  return { values, missing };
}

/**
 * Metadata of every parameter under /<env>/watchpoint/, values never fetched. DescribeParameters is
 * the only call that returns LastModifiedUser (GetParametersByPath does not), and one page of 50
 * covers the whole catalogue.
 */
export async function describeAll(ssm: SSMClient, envName: string): Promise<Map<string, Metadata>> {
  const { DescribeParametersCommand } = await import('@aws-sdk/client-ssm');
  const result = new Map<string, Metadata>();
  let nextToken: string | undefined;
  do {
    const page = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: 'Path', Option: 'Recursive', Values: [pathPrefix(envName).replace(/\/$/, '')] }],
        MaxResults: 50,
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    for (const parameter of page.Parameters ?? []) if (parameter.Name) result.set(parameter.Name, metadataOf(parameter));
    nextToken = page.NextToken;
  } while (nextToken);
  return result;
}

/**
 * One parameter's metadata (version, key, tier), or undefined when it does not exist. Every page is
 * read until the parameter or the last page: "The number of items returned ... can be between zero
 * and the value of MaxResults. If the service reaches an internal limit while processing the results,
 * it stops the operation and returns the matching values up to that point and a NextToken"
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html), so
 * an empty first page with a token does not mean "not set".
 */
export async function describeOne(ssm: SSMClient, path: string): Promise<Metadata | undefined> {
  const { DescribeParametersCommand } = await import('@aws-sdk/client-ssm');
  let nextToken: string | undefined;
  do {
    const page = await ssm.send(new DescribeParametersCommand({
      ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [path] }],
      ...(nextToken ? { NextToken: nextToken } : {}),
    }));
    const parameter = (page.Parameters ?? []).find((p) => p.Name === path);
    if (parameter) return metadataOf(parameter);
    nextToken = page.NextToken;
  } while (nextToken);
  return undefined;
}

function metadataOf(parameter: ParameterMetadata): Metadata {
  return {
    path: parameter.Name ?? '',
    version: parameter.Version,
    lastModified: parameter.LastModifiedDate,
    lastModifiedUser: parameter.LastModifiedUser,
    keyId: parameter.KeyId,
    tier: parameter.Tier,
    type: parameter.Type,
  };
}

export interface PutPlan {
  path: string;
  envName: string;
  /** The existing parameter, when this replaces a value. */
  existing: Metadata | undefined;
  kmsKeyId: string | undefined;
  bytes: number;
  /** The parameter's description (PutParameter keeps the old one when this is omitted). */
  description?: string;
}

/**
 * The PutParameter input, without the value, for --dry-run and for the write itself. PutParameter
 * refuses Tags together with Overwrite, so tags go on at creation (they stay on the parameter
 * through every later version); an overwrite re-applies them with AddTagsToResource.
 */
export function putInput(plan: PutPlan): {
  Name: string;
  Type: 'SecureString';
  Overwrite: boolean;
  KeyId?: string;
  Tier?: 'Standard' | 'Advanced';
  Tags?: { Key: string; Value: string }[];
  Description?: string;
} {
  // An Advanced parameter cannot go back to Standard; keep its tier.
  const advanced = plan.bytes > STANDARD_TIER_MAX_BYTES || plan.existing?.tier === 'Advanced';
  // Keep the key an existing parameter uses unless --kms-key-id says otherwise.
  const keyId = plan.kmsKeyId ?? (plan.existing?.keyId && plan.existing.keyId !== 'alias/aws/ssm' ? plan.existing.keyId : undefined);
  return {
    Name: plan.path,
    Type: 'SecureString',
    Overwrite: plan.existing !== undefined,
    ...(keyId ? { KeyId: keyId } : {}),
    Tier: advanced ? 'Advanced' : 'Standard',
    ...(plan.existing ? {} : { Tags: tagsFor(plan.envName) }),
    ...(plan.description ? { Description: plan.description } : {}),
  };
}

export function tagsFor(envName: string): { Key: string; Value: string }[] {
  return [
    { Key: 'app', Value: 'watchpoint' },
    { Key: 'env', Value: envName },
  ];
}

/** Writes one value; returns the new version. Tagging failures after an overwrite only warn. */
export async function putValue(
  ssm: SSMClient,
  plan: PutPlan,
  value: string,
  warn: (text: string) => void,
): Promise<number | undefined> {
  const { PutParameterCommand, AddTagsToResourceCommand } = await import('@aws-sdk/client-ssm');
  const response = await ssm.send(new PutParameterCommand({ ...putInput(plan), Value: value }));
  if (plan.existing) {
    try {
      await ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: plan.path, Tags: tagsFor(plan.envName) }));
    } catch (error) {
      warn(`${plan.path} was written, but re-applying its tags failed (${error instanceof Error ? error.name : 'error'}); the value is safe.`);
    }
  }
  return response.Version;
}

/** True when the parameter exists with a type other than SecureString (String, StringList). */
export function needsConversion(existing: Metadata | undefined): boolean {
  return existing !== undefined && existing.type !== undefined && existing.type !== 'SecureString';
}

/**
 * Replaces a String (or StringList) parameter with a SecureString of the new value. SSM refuses to
 * change a parameter's type in place ("Parameter Store does not support changing a parameter type in
 * a hierarchy. For example, you can't change a parameter from a String type to a SecureString type.
 * You must create a new, unique parameter", HierarchyTypeMismatchException;
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html), so it is
 * deleted and created again, losing its version history and labels. The old value is read first
 * and, if the create fails, put back as it was, so a failed conversion leaves the old parameter.
 */
export async function convertToSecureString(ssm: SSMClient, plan: PutPlan, value: string): Promise<{ version: number | undefined }> {
  const { DeleteParameterCommand, GetParameterCommand, PutParameterCommand } = await import('@aws-sdk/client-ssm');
  const old = (await ssm.send(new GetParameterCommand({ Name: plan.path, WithDecryption: true }))).Parameter;
  if (old?.Value === undefined) throw new WatchpointError(`${plan.path} could not be read before converting it; nothing was changed.`, { code: 'SECRET_CONVERT_FAILED', fault: 'system', fix: 'Run the command again.' });
  await ssm.send(new DeleteParameterCommand({ Name: plan.path }));
  try {
    const created = await ssm.send(new PutParameterCommand({ ...putInput({ ...plan, existing: undefined }), Value: value }));
    return { version: created.Version };
  } catch (error) {
    try {
      await ssm.send(new PutParameterCommand({
        Name: plan.path, Value: old.Value, Type: (old.Type ?? 'String') as 'String' | 'StringList',
        ...(plan.existing?.tier === 'Advanced' ? { Tier: 'Advanced' as const } : {}),
        Tags: tagsFor(plan.envName),
      }));
    } catch {
      throw new WatchpointError(`Converting ${plan.path} failed after it was deleted, and its old value could not be put back: the parameter does not exist now.`, {
        code: 'SECRET_CONVERT_LOST', fault: 'system', cause: redactedError(error, [value, old.Value]),
        fix: `Set it again now with \`watchpoint secrets set\` (the old value is not kept anywhere by this command).`,
      });
    }
    throw new WatchpointError(`Creating ${plan.path} as a SecureString failed; the old ${old.Type ?? 'String'} value was put back (as version 1: its history is gone).`, {
      code: 'SECRET_CONVERT_FAILED', fault: 'system', cause: redactedError(error, [value, old.Value]),
      fix: 'Fix the cause in the "caused by" line above (often the KMS key: check --kms-key-id and kms:Encrypt), then run the command again.',
    });
  }
}

const withheld = '[value withheld]';

/**
 * A copy of an AWS error that cannot carry a secret: the value (and AWS's "Value '...' at 'value'"
 * echo) is cut from the message; if any 8-character piece of a value survives, the whole message
 * goes. Only name, message and $metadata are kept, never the raw response.
 */
export function redactedError(error: unknown, secrets: readonly string[]): Error {
  const name = error instanceof Error ? error.name : 'Error';
  let message = error instanceof Error ? error.message : String(error);
  message = message.replace(/Value '[\s\S]*?' at '[^']*'/g, `Value ${withheld} at 'value'`);
  for (const secret of secrets) if (secret) message = message.split(secret).join(withheld);
  if (secrets.some((secret) => containsPiece(message, secret))) message = '(message withheld: it may contain the value)';
  const copy = new Error(message);
  copy.name = name;
  const metadata = (error as { $metadata?: unknown } | undefined)?.$metadata;
  if (metadata !== undefined) Object.assign(copy, { $metadata: metadata });
  return copy;
}

function containsPiece(text: string, secret: string): boolean {
  if (secret.length < 8) return secret.length > 0 && text.includes(secret);
  for (let i = 0; i + 8 <= secret.length; i += 1) if (text.includes(secret.slice(i, i + 8))) return true;
  return false;
}

/**
 * "Grant ssm:GetParameter on arn:aws:ssm:eu-west-1:123456789012:parameter/prod/watchpoint/* to
 * arn:aws:iam::123456789012:user/ops": real names only (the account and principal come from AWS's
 * own message when it gives them). ssm:DescribeParameters is granted on "*": SSM does not scope that
 * action to parameters.
 */
export function ssmGrant(actions: readonly string[], envName: string, region: string | undefined, awsMessage = ''): string {
  const principal = /User:\s+(arn:(aws[a-z-]*):[a-z]+::(\d{12}):\S+)/.exec(awsMessage);
  const partition = principal?.[2] ?? (region?.startsWith('cn-') ? 'aws-cn' : region?.startsWith('us-gov-') ? 'aws-us-gov' : 'aws');
  const account = principal?.[3];
  const to = principal ? ` to ${principal[1]}` : ' to the role you use';
  const onPath = actions.filter((action) => action !== 'ssm:DescribeParameters');
  const parameters = account && region
    ? `arn:${partition}:ssm:${region}:${account}:parameter${pathPrefix(envName)}*`
    : `the parameters ${pathPrefix(envName)}*${region ? ` in ${region}` : ''}`;
  const grants = [
    ...(onPath.length > 0 ? [`${onPath.join(', ')} on ${parameters}`] : []),
    ...(actions.includes('ssm:DescribeParameters') ? ['ssm:DescribeParameters on resource "*" (SSM does not scope it to parameters)'] : []),
  ];
  return `Grant ${grants.join(', and ')}${to}`;
}

/** Maps an SSM failure to a message that says what to do, never carrying a value. */
export function explainSsmError(
  error: unknown,
  context: { envName: string; action: string; path?: string; region?: string; secrets?: readonly string[] },
): WatchpointError {
  if (error instanceof WatchpointError) return error;
  const cause = redactedError(error, context.secrets ?? []);
  const what = context.path ?? `${pathPrefix(context.envName)}*`;
  if (isCredentialError(error)) {
    const explained = explainAwsError(cause, { envName: context.envName, action: `ssm:${context.action}` });
    if (explained instanceof WatchpointError) return explained;
  }
  const name = cause.name;
  const text = cause.message;
  if (isAccessDenied(cause)) {
    const kms = /kms|key/i.test(text);
    return new WatchpointError(`AWS denied ${context.action} on ${what}${kms ? ' (the KMS key refused the request)' : ''}.`, {
      code: 'SSM_ACCESS_DENIED',
      fault: 'system',
      fix: kms
        ? 'Your role needs kms:Decrypt/kms:Encrypt on the parameter\'s KMS key (check the key policy), or pick another key with --kms-key-id.'
        : `${ssmGrant([`ssm:${context.action}`], context.envName, context.region, text)}, or switch AWS_PROFILE to a role that has ${context.action === 'DescribeParameters' ? 'it' : 'them'}.`,
      cause,
    });
  }
  if (name === 'ParameterNotFound') {
    return new WatchpointError(`${what} is not set.`, { code: 'SECRET_NOT_SET', fault: 'user', exitCode: 1, fix: 'Set it with `watchpoint secrets set`.', cause });
  }
  if (name === 'ParameterVersionNotFound') {
    return userError('SECRET_VERSION_NOT_FOUND', `${what} has no such version.`, 'List its versions with `watchpoint secrets history`.', cause);
  }
  if (name === 'ThrottlingException' || name === 'TooManyUpdates' || /rate exceeded/i.test(text)) {
    return new WatchpointError(`SSM kept throttling ${context.action} after the SDK's adaptive retries.`, {
      code: 'SSM_THROTTLED', fault: 'system', fix: 'Wait a minute and run the command again; another process may be calling SSM heavily.', cause,
    });
  }
  if (name === 'InvalidKeyId' || /^KMS/.test(name)) {
    return new WatchpointError(`The KMS key for ${what} is not usable (${name}).`, {
      code: 'SSM_KMS_KEY', fault: 'user', exitCode: 1,
      fix: 'Check --kms-key-id (it must exist in this region and be enabled), or omit it to use the account\'s default key (alias/aws/ssm).', cause,
    });
  }
  if (name === 'ParameterAlreadyExists') {
    return new WatchpointError(`${what} was created by someone else while this command ran; nothing was overwritten.`, {
      code: 'SECRET_CREATED_MEANWHILE', fault: 'system', fix: 'Look at it with `watchpoint secrets list`, then re-run with --overwrite if you mean to replace it.', cause,
    });
  }
  if (name === 'HierarchyTypeMismatchException') {
    return new WatchpointError(`SSM cannot change the type of ${what} in place (it is not a SecureString, and PutParameter cannot convert it).`, {
      code: 'SECRET_TYPE_MISMATCH', fault: 'system',
      fix: 'Convert it with `watchpoint secrets set <name> --overwrite`: after a confirmation it deletes the parameter and creates it again as a SecureString (its version history is lost).', cause,
    });
  }
  if (name === 'ParameterMaxVersionLimitExceeded') {
    return new WatchpointError(`${what} has 100 versions and the oldest carries a label, so SSM will not add another.`, {
      code: 'SECRET_VERSION_LIMIT', fault: 'system', fix: 'Remove the label from the oldest version (aws ssm unlabel-parameter-version), then retry.', cause,
    });
  }
  // Everything else (timeout, unreachable, wrong endpoint, region...) reads as for every command; the
  // explainer sees the original error (it knows the call), the operator only the redacted copy.
  const explained = explainAwsError(error, { envName: context.envName, action: `ssm:${context.action}`, resource: what });
  if (explained instanceof WatchpointError) {
    return new WatchpointError(explained.message, { code: explained.code, fault: explained.fault, exitCode: explained.exitCode, ...(explained.fix ? { fix: explained.fix } : {}), cause });
  }
  return new WatchpointError(`SSM ${context.action} failed for ${what}.`, {
    code: 'SSM_FAILED',
    fault: 'system',
    fix: 'Read the AWS message in the "caused by" line above; run again with --verbose to see every AWS call.',
    cause,
  });
}

/** One version of a parameter, as `secrets history` shows it; `value` only when asked to decrypt. */
export interface HistoryVersion {
  version: number | null;
  lastModified: string | null;
  lastModifiedBy: string | null;
  keyId: string | null;
  tier: string | null;
  labels: string[];
  value?: string;
}

/** The parameter's current value (decrypted) and version; SSM's own error when it does not exist. */
export async function readCurrent(ssm: SSMClient, name: string): Promise<{ value: string; version: number | undefined }> {
  const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
  const parameter = (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter;
  return { value: parameter?.Value ?? '', version: parameter?.Version };
}

/** Every version, newest first, following NextToken; values only with `reveal`. */
export async function readHistory(ssm: SSMClient, path: string, reveal: boolean): Promise<HistoryVersion[]> {
  const { GetParameterHistoryCommand } = await import('@aws-sdk/client-ssm');
  const versions: HistoryVersion[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ssm.send(new GetParameterHistoryCommand({ Name: path, WithDecryption: reveal, MaxResults: 50, ...(nextToken ? { NextToken: nextToken } : {}) }));
    for (const item of page.Parameters ?? []) {
      versions.push({
        version: item.Version ?? null,
        lastModified: item.LastModifiedDate?.toISOString() ?? null,
        lastModifiedBy: item.LastModifiedUser ?? null,
        keyId: item.KeyId ?? null,
        tier: item.Tier ?? null,
        labels: item.Labels ?? [],
        ...(reveal && item.Value !== undefined ? { value: item.Value } : {}),
      });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return versions.sort((a, b) => (b.version ?? 0) - (a.version ?? 0));
}

/**
 * Writes each plan in order (`secrets import`). On the first failure it stops and says what was
 * written and what was not; SSM's error is explained with every value of the import redacted.
 */
export async function putAll(
  ssm: SSMClient,
  plans: readonly { name: string; value: string; plan: PutPlan }[],
  context: { envName: string; region: string; warn: (text: string) => void; onWritten: (name: string, version: number | undefined, previous: number | undefined) => void },
): Promise<string[]> {
  const written: string[] = [];
  const secrets = plans.map((p) => p.value);
  for (const { name, value, plan } of plans) {
    let version: number | undefined;
    try {
      version = await putValue(ssm, plan, value, context.warn);
    } catch (error) {
      const left = plans.slice(written.length).map((p) => p.name);
      const cause = explainSsmError(error, { envName: context.envName, action: 'PutParameter', path: plan.path, region: context.region, secrets });
      throw new WatchpointError(
        `Import stopped at ${name}. Written: ${written.length > 0 ? written.join(', ') : 'none'}. Not written: ${left.join(', ')}.`,
        { code: 'IMPORT_INCOMPLETE', fault: 'system', fix: `Fix the cause in the "caused by" line above, then re-run the import with --overwrite (entries already written get a new version; old ones are kept).`, cause },
      );
    }
    written.push(name);
    context.onWritten(name, version, plan.existing?.version);
  }
  return written;
}
