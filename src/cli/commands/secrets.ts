// `watchpoint secrets ...`: the platform's SSM secrets, entered safely, checked and versioned.
// Rule for every line below: a value reaches stdout only under --reveal, and never stderr or an error.
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { SSMClient } from '@aws-sdk/client-ssm';
import {
  ADVANCED_TIER_MAX_BYTES,
  SECRET_CATALOGUE,
  closestSecretName,
  findSecretByNameOrAlias,
  generateSecretValue,
  KMS_KEY_ID_PATTERN,
  maskedValue,
  pathPrefix,
  secretPath,
  valueProblems,
  type SecretEntry,
} from '../../config/secrets-catalogue.ts';
import { awsClientConfig } from '../aws.ts';
import { resolveStage, type CommandContext, type ResolvedStage } from '../context.ts';
import { ExitCode, WatchpointError, userError } from '../errors.ts';
import { checkSecrets } from '../secrets/check.ts';
import { convertToSecureString, describeAll, describeOne, explainSsmError, needsConversion, putInput, putValue, type Metadata, type PutPlan } from '../secrets/ssm.ts';
import type { SecretsAction, SecretsOptions } from './secrets.define.ts';

export interface SecretsContext extends CommandContext {
  action: SecretsAction;
  name: string | undefined;
  flags: SecretsOptions;
  /** Injected in tests; otherwise built from the stage with awsClientConfig. */
  ssm?: SSMClient;
  /** Reads all of stdin (tests inject it). */
  readStdin?: () => Promise<string>;
  randomBytes?: (size: number) => Buffer;
}

export async function secretsCommand(context: SecretsContext): Promise<number> {
  switch (context.action) {
    case 'list':
      return listCommand(context);
    case 'check':
      return checkCommand(context);
    case 'get':
      return getCommand(context);
    case 'set':
      return setCommand(context);
    case 'history':
      return historyCommand(context);
    case 'rollback':
      return rollbackCommand(context);
    case 'import':
      return importCommand(context);
  }
}

// ---------- shared ----------

async function ssmFor(context: SecretsContext, resolved: ResolvedStage): Promise<SSMClient> {
  if (context.ssm) return context.ssm;
  const { SSMClient } = await import('@aws-sdk/client-ssm');
  return new SSMClient(awsClientConfig(resolved.stage));
}

/** A name is echoed back only when it looks like a name, so a value pasted by mistake is not. */
function shownName(input: string): string {
  const looksLikeName = /^[A-Za-z0-9_./-]{1,64}$/.test(input) && !/^(sk|pk|rk)_(live|test)_|^whsec_|^postgres/.test(input) && input.length <= 48;
  return looksLikeName ? `"${input}"` : 'the name given (not shown: it looks like a value)';
}

function entryFor(name: string | undefined): SecretEntry {
  const entry = name === undefined ? undefined : findSecretByNameOrAlias(name);
  if (!entry) {
    throw userError(
      'SECRET_UNKNOWN',
      `${shownName(name ?? '')} is not a WatchPoint secret. Did you mean ${closestSecretName(name ?? '')}?`,
      `Use one of: ${SECRET_CATALOGUE.map((e) => e.name).join(', ')}.`,
    );
  }
  return entry;
}

function refuseManaged(entry: SecretEntry, what: string): void {
  if (entry.managedBy) {
    throw userError('SECRET_MANAGED', `${entry.name} is managed by \`${entry.managedBy}\`; \`secrets ${what}\` does not write it.`, entry.name === 'forecast/runpod_aws_secret_access_key'
      ? `To store the secret of the key SSM names, pipe it into \`${entry.managedBy} --store-secret --stdin\` (it is checked against IAM first).`
      : `Run \`${entry.managedBy}\` instead.`);
  }
}

function validateKmsKeyId(flags: SecretsOptions): string | undefined {
  if (flags.kmsKeyId === undefined) return undefined;
  if (!KMS_KEY_ID_PATTERN.test(flags.kmsKeyId)) {
    throw userError(
      'KMS_KEY_ID_INVALID',
      `--kms-key-id "${flags.kmsKeyId}" is not a KMS key ID, alias or ARN.`,
      'Give a key ID (1234abcd-12ab-34cd-56ef-1234567890ab), an alias (alias/watchpoint), or a key/alias ARN.',
    );
  }
  return flags.kmsKeyId;
}

/** Every reason a value is refused, with the Stripe mode rule and --force applied; never the value. */
function assertValid(entry: SecretEntry, value: string, envName: string, force: boolean, warn: (text: string) => void, label = `The value for ${entry.name}`): void {
  const { errors, modeMismatch } = valueProblems(entry, value, envName);
  if (modeMismatch) {
    if (force) warn(`${entry.name} ${modeMismatch.replace(/ \(.*\)$/, '')}; writing it anyway (--force).`);
    else errors.push(modeMismatch);
  }
  if (errors.length > 0) {
    throw userError('SECRET_INVALID', `${label} is not valid (value not shown):\n${errors.map((e) => `  - ${e}`).join('\n')}`, `Expected: ${entry.description}.`);
  }
}

function date(value: Date | undefined): string {
  return value ? value.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

function rollbackHint(entry: SecretEntry, envName: string, version: number | undefined): string {
  return version === undefined ? '' : ` The previous value is kept as version ${version}: \`watchpoint secrets rollback ${entry.name} --to-version ${version} --env ${envName}\` restores it.`;
}

// ---------- list ----------

async function listCommand(context: SecretsContext): Promise<number> {
  const resolved = await resolveStage(context);
  const { envName, stage } = resolved;
  const ssm = await ssmFor(context, resolved);
  let metadata: Map<string, Metadata>;
  try {
    metadata = await describeAll(ssm, envName);
  } catch (error) {
    throw explainSsmError(error, { envName, action: 'DescribeParameters', region: stage.region });
  }
  const rows = SECRET_CATALOGUE.map((entry) => {
    const path = secretPath(envName, entry.name);
    const meta = metadata.get(path);
    return {
      name: entry.name,
      path,
      required: entry.required(stage),
      set: meta !== undefined,
      version: meta?.version ?? null,
      lastModified: meta?.lastModified?.toISOString() ?? null,
      lastModifiedBy: meta?.lastModifiedUser ?? null,
      type: meta?.type ?? null,
      ...(entry.managedBy ? { managedBy: entry.managedBy } : {}),
    };
  });
  const known = new Set(rows.map((row) => row.path));
  const others = [...metadata.keys()].filter((path) => !known.has(path)).sort();
  for (const row of rows) if (row.set && row.type !== 'SecureString') context.io.notify('warn', `${row.name} is stored as ${row.type}, not SecureString: it is not encrypted. Convert it with \`watchpoint secrets set ${row.name} --overwrite\` (after a confirmation it is deleted and created again as a SecureString; its version history is lost).`);
  if (context.flags.json) {
    context.io.result(JSON.stringify({ env: envName, prefix: pathPrefix(envName), secrets: rows, notInCatalogue: others }, null, 2));
  } else {
    context.io.result(
      table([
        ['NAME', 'STATUS', 'VERSION', 'LAST MODIFIED', 'MODIFIED BY'],
        ...rows.map((row) => [
          row.name,
          row.set ? 'set' : row.required ? 'MISSING (required)' : row.managedBy ? `missing (by ${row.managedBy})` : 'missing (optional)',
          row.version === null ? '-' : String(row.version),
          row.lastModified === null ? '-' : date(new Date(row.lastModified)),
          row.lastModifiedBy ?? '-',
        ]),
      ]),
    );
    if (others.length > 0) context.io.notify('info', `Also under ${pathPrefix(envName)} (not in the catalogue): ${others.join(', ')}`);
  }
  return ExitCode.ok;
}

// ---------- check ----------

async function checkCommand(context: SecretsContext): Promise<number> {
  const resolved = await resolveStage(context);
  const ssm = await ssmFor(context, resolved);
  const report = await checkSecrets({ ssm, envName: resolved.envName, stage: resolved.stage, allowStripeModeMismatch: Boolean(context.flags.force) });
  for (const secret of report.secrets) for (const warning of secret.warnings) context.io.notify('warn', `${secret.name} ${warning}`);
  if (context.flags.json) {
    context.io.result(JSON.stringify(report, null, 2));
  } else {
    context.io.result(
      table([
        ['NAME', 'STATUS', 'VERSION', 'PROBLEM'],
        ...report.secrets.map((s) => [s.name, s.status, s.version === undefined ? '-' : String(s.version), s.problems.join('; ') || (s.status === 'missing' ? 'required but not set' : '')]),
      ]),
    );
  }
  if (!report.ok) {
    context.io.notify('error', `Secrets of "${resolved.envName}" not ready: ${report.failing.join(', ')}.\n  fix: Set each with \`watchpoint secrets set <name> --env ${resolved.envName}\`, then run \`watchpoint secrets check --env ${resolved.envName}\` again.`);
    return ExitCode.failure;
  }
  context.io.notify('success', `All required secrets of "${resolved.envName}" are set and valid.`);
  return ExitCode.ok;
}

// ---------- get ----------

async function getCommand(context: SecretsContext): Promise<number> {
  const entry = entryFor(context.name);
  const resolved = await resolveStage(context);
  const ssm = await ssmFor(context, resolved);
  const path = secretPath(resolved.envName, entry.name);
  const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
  let parameter;
  try {
    parameter = (await ssm.send(new GetParameterCommand({ Name: path, WithDecryption: true }))).Parameter;
  } catch (error) {
    throw explainSsmError(error, { envName: resolved.envName, action: 'GetParameter', path, region: resolved.stage.region });
  }
  const value = parameter?.Value ?? '';
  if (context.flags.reveal) {
    context.io.result(value);
  } else {
    context.io.result(`${entry.name}: set, version ${parameter?.Version ?? '?'}, ${maskedValue(value)}`);
    context.io.notify('info', 'Masked. Pass --reveal to print the value (stdout only).');
  }
  return ExitCode.ok;
}

// ---------- set ----------

async function setCommand(context: SecretsContext): Promise<number> {
  const { io, flags } = context;
  const entry = entryFor(context.name);
  refuseManaged(entry, 'set');
  const sources = (['stdin', 'generate', 'value'] as const).filter((flag) => flags[flag] !== undefined && flags[flag] !== false);
  if (sources.length > 1) throw userError('SECRET_SOURCE_CONFLICT', `--${sources.join(' and --')} cannot be used together.`, 'Give the value one way: --stdin, --generate, --value, or the hidden prompt.');
  if (flags.generate && !entry.generatable) {
    throw userError('SECRET_NOT_GENERATABLE', `${entry.name} cannot be generated: it comes from ${entry.name.startsWith('billing/') ? 'Stripe' : 'its provider'}.`, 'Pipe it with --stdin, or run in a terminal to type it at a hidden prompt.');
  }
  if (sources.length === 0 && !io.interactive) {
    throw userError('SECRET_NO_TERMINAL', `No value for ${entry.name}: there is no terminal for a hidden prompt.`, `Pass --stdin (pipe the value in)${entry.generatable ? ', --generate' : ''} or --value.`);
  }
  const kmsKeyId = validateKmsKeyId(flags);
  const resolved = await resolveStage(context);
  const { envName } = resolved;
  // A value from a flag or stdin is checked before any AWS call. One typed (pasted) at the prompt is
  // asked for last, after credentials, the parameter and every question, so it is never asked twice.
  const prompted = sources.length === 0;
  let value = prompted ? undefined : await obtainValue(context, entry, envName);
  if (value !== undefined) assertValid(entry, value, envName, Boolean(flags.force), (text) => io.notify('warn', text));

  const ssm = await ssmFor(context, resolved);
  const path = secretPath(envName, entry.name);
  let existing: Metadata | undefined;
  try {
    existing = await describeOne(ssm, path);
  } catch (error) {
    throw explainSsmError(error, { envName, path, region: resolved.stage.region, secrets: value === undefined ? [] : [value], action: 'DescribeParameters' });
  }
  const converting = needsConversion(existing);
  if (!flags.dryRun) {
    if (existing && !(await confirmOverwrite(context, [`${entry.name} (version ${existing.version ?? '?'})`]))) {
      io.notify('info', 'Nothing written.');
      return ExitCode.ok;
    }
    if (converting) {
      io.notify('warn', `${entry.name} is stored as ${existing!.type}, not encrypted. SSM cannot change a parameter's type in place, so it is deleted and created again as a SecureString: its ${existing!.version ?? 'earlier'} version(s) of history and any labels are lost, and for a moment it does not exist. If the create fails, the old value is put back.`);
      const go = await io.ask({ kind: 'confirm', message: `Delete ${entry.name} (${existing!.type}, version ${existing!.version ?? '?'}) and create it again as a SecureString? Its version history is lost.`, default: false, dangerous: true });
      if (!go) {
        io.notify('info', 'Nothing written.');
        return ExitCode.ok;
      }
    }
  }
  if (value === undefined) {
    value = await obtainValue(context, entry, envName);
    assertValid(entry, value, envName, Boolean(flags.force), (text) => io.notify('warn', text));
  }
  const errorContext = { envName, path, region: resolved.stage.region, secrets: [value] };
  const plan: PutPlan = { path, envName, existing, kmsKeyId, bytes: Buffer.byteLength(value, 'utf8') };
  if (flags.dryRun) {
    if (converting) context.io.result(`ssm:DeleteParameter ${JSON.stringify({ Name: path })}   (it is a ${existing!.type}; SSM cannot change the type in place)`);
    printPlan(context, [converting ? { ...plan, existing: undefined } : plan]);
    return ExitCode.ok;
  }
  let version: number | undefined;
  if (converting) {
    try {
      version = (await convertToSecureString(ssm, plan, value)).version;
    } catch (error) {
      throw explainSsmError(error, { ...errorContext, action: 'PutParameter' });
    }
    io.result(`Set ${entry.name} in "${envName}" as a SecureString: version ${version ?? '?'}, ${putInput({ ...plan, existing: undefined }).Tier} tier, ${plan.bytes} bytes (the ${existing!.type} parameter and its history were replaced).`);
    return ExitCode.ok;
  }
  try {
    version = await putValue(ssm, plan, value, (text) => io.notify('warn', text));
  } catch (error) {
    throw explainSsmError(error, { ...errorContext, action: 'PutParameter' });
  }
  const tier = putInput(plan).Tier;
  io.result(`Set ${entry.name} in "${envName}": version ${version ?? '?'}, ${tier} tier, ${plan.bytes} bytes.${existing ? rollbackHint(entry, envName, existing.version) : ''}`);
  return ExitCode.ok;
}

async function obtainValue(context: SecretsContext, entry: SecretEntry, envName: string): Promise<string> {
  const { io, flags } = context;
  if (flags.generate) {
    io.notify('info', `Generating ${entry.name} from ${48} random bytes (not shown).`);
    return generateSecretValue(context.randomBytes ?? nodeRandomBytes);
  }
  if (flags.value !== undefined) {
    io.notify('warn', '--value puts the secret in your shell history and the process list; prefer --stdin or the hidden prompt.');
    if (flags.value === '') throw userError('SECRET_EMPTY', `The value for ${entry.name} is empty.`, 'Give the value, or use --stdin / the hidden prompt.');
    return flags.value;
  }
  if (flags.stdin) {
    const raw = await (context.readStdin ?? readProcessStdin)();
    const trimmed = raw.replace(/\r?\n$/, '');
    if (trimmed !== raw) io.notify('info', 'Removed one trailing newline from stdin.');
    if (trimmed === '') throw userError('SECRET_EMPTY', `stdin was empty: no value for ${entry.name}.`, `Pipe the value in, e.g. \`pbpaste | watchpoint secrets set ${entry.name} --stdin\`.`);
    return trimmed;
  }
  return io.ask({
    kind: 'secret',
    field: `The value for ${entry.name}`,
    message: `${entry.name} for "${envName}" (${entry.description}; input hidden)`,
    noTerminalFix: `Pass --stdin${entry.generatable ? ', --generate' : ''} or --value.`,
    validate: (candidate) => {
      const { errors, modeMismatch } = valueProblems(entry, candidate, envName);
      if (modeMismatch && !flags.force) errors.push(modeMismatch);
      return errors.length === 0 ? true : `The value ${errors.join('; ')}`;
    },
  });
}

async function readProcessStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw userError('SECRET_STDIN_TTY', '--stdin reads a pipe, but stdin is a terminal (what you type would be echoed).', 'Pipe the value in, or omit --stdin to be asked at a hidden prompt.');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > ADVANCED_TIER_MAX_BYTES * 4) throw userError('SECRET_TOO_LARGE', `stdin is over ${ADVANCED_TIER_MAX_BYTES * 4} bytes; SSM holds at most ${ADVANCED_TIER_MAX_BYTES}.`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function confirmOverwrite(context: SecretsContext, what: string[]): Promise<boolean> {
  if (context.flags.overwrite || context.flags.yes) return true;
  if (!context.io.interactive) {
    throw userError('SECRET_EXISTS', `Already set: ${what.join(', ')}. Replacing needs confirmation, and there is no terminal to ask.`, 'Re-run with --overwrite or --yes (the old value stays as a previous version).');
  }
  return context.io.ask({ kind: 'confirm', message: `Replace ${what.join(', ')}? The old value stays as a previous version.`, default: false, dangerous: true });
}

/** --dry-run: the exact SSM calls, with the value withheld. */
function printPlan(context: SecretsContext, plans: PutPlan[]): void {
  const lines: string[] = [];
  for (const plan of plans) {
    lines.push(`ssm:PutParameter ${JSON.stringify({ ...putInput(plan), Value: `<${plan.bytes} bytes, withheld>` })}`);
    if (plan.existing) lines.push(`ssm:AddTagsToResource ${JSON.stringify({ ResourceType: 'Parameter', ResourceId: plan.path, Tags: [{ Key: 'app', Value: 'watchpoint' }, { Key: 'env', Value: plan.envName }] })}`);
  }
  context.io.result(lines.join('\n'));
  context.io.notify('info', 'Dry run: nothing written.');
}

// ---------- history ----------

async function historyCommand(context: SecretsContext): Promise<number> {
  const entry = entryFor(context.name);
  const resolved = await resolveStage(context);
  const ssm = await ssmFor(context, resolved);
  const path = secretPath(resolved.envName, entry.name);
  const reveal = Boolean(context.flags.reveal);
  const { GetParameterHistoryCommand } = await import('@aws-sdk/client-ssm');
  const versions: { version: number | null; lastModified: string | null; lastModifiedBy: string | null; keyId: string | null; tier: string | null; labels: string[]; value?: string }[] = [];
  try {
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
  } catch (error) {
    throw explainSsmError(error, { envName: resolved.envName, action: 'GetParameterHistory', path, region: resolved.stage.region });
  }
  versions.sort((a, b) => (b.version ?? 0) - (a.version ?? 0));
  if (context.flags.json) {
    context.io.result(JSON.stringify({ name: entry.name, path, versions }, null, 2));
  } else {
    context.io.result(
      table([
        ['VERSION', 'LAST MODIFIED', 'MODIFIED BY', 'KEY', 'TIER', 'LABELS', ...(reveal ? ['VALUE'] : [])],
        ...versions.map((v) => [String(v.version ?? '?'), v.lastModified ? date(new Date(v.lastModified)) : '-', v.lastModifiedBy ?? '-', v.keyId ?? '-', v.tier ?? '-', v.labels.join(',') || '-', ...(reveal ? [v.value ?? ''] : [])]),
      ]),
    );
  }
  return ExitCode.ok;
}

// ---------- rollback ----------

async function rollbackCommand(context: SecretsContext): Promise<number> {
  const { io, flags } = context;
  const entry = entryFor(context.name);
  refuseManaged(entry, 'rollback');
  const target = Number(flags.toVersion);
  if (!/^\d+$/.test(String(flags.toVersion ?? '')) || !Number.isSafeInteger(target) || target < 1) {
    throw userError('SECRET_VERSION_INVALID', `--to-version "${flags.toVersion ?? ''}" is not a version number.`, `Give a positive integer from \`watchpoint secrets history ${entry.name}\`.`);
  }
  const kmsKeyId = validateKmsKeyId(flags);
  const resolved = await resolveStage(context);
  const { envName } = resolved;
  const ssm = await ssmFor(context, resolved);
  const path = secretPath(envName, entry.name);
  const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
  let existing: Metadata | undefined;
  let value: string;
  try {
    existing = await describeOne(ssm, path);
    if (!existing) throw new WatchpointError(`${entry.name} is not set in "${envName}"; there is nothing to roll back.`, { code: 'SECRET_NOT_SET', fault: 'user', exitCode: 1, fix: `Set it with \`watchpoint secrets set ${entry.name} --env ${envName}\`.` });
    value = (await ssm.send(new GetParameterCommand({ Name: `${path}:${target}`, WithDecryption: true }))).Parameter?.Value ?? '';
  } catch (error) {
    throw explainSsmError(error, { envName, action: 'GetParameter', path: `${path}:${target}`, region: resolved.stage.region });
  }
  if (existing.version === target) {
    io.result(`${entry.name} is already at version ${target}; nothing written.`);
    return ExitCode.ok;
  }
  assertValid(entry, value, envName, Boolean(flags.force), (text) => io.notify('warn', text), `Version ${target} of ${entry.name}`);
  const plan: PutPlan = { path, envName, existing, kmsKeyId, bytes: Buffer.byteLength(value, 'utf8') };
  if (flags.dryRun) {
    printPlan(context, [plan]);
    return ExitCode.ok;
  }
  const confirmed = await io.ask({
    kind: 'confirm',
    message: `Replace ${entry.name} in "${envName}" (version ${existing.version ?? '?'}) with the value of version ${target}?`,
    default: false,
    dangerous: true,
  });
  if (!confirmed) {
    io.notify('info', 'Nothing written.');
    return ExitCode.ok;
  }
  let version: number | undefined;
  try {
    version = await putValue(ssm, plan, value, (text) => io.notify('warn', text));
  } catch (error) {
    throw explainSsmError(error, { envName, action: 'PutParameter', path, region: resolved.stage.region, secrets: [value] });
  }
  io.result(`Rolled back ${entry.name} in "${envName}" to the value of version ${target}, written as version ${version ?? '?'}.${rollbackHint(entry, envName, existing.version)}`);
  return ExitCode.ok;
}

// ---------- import ----------

interface FileEntry {
  key: string;
  value: string;
  /** "line 3" or "key \"database/url\"": where it came from, for messages. */
  where: string;
}

async function importCommand(context: SecretsContext): Promise<number> {
  const { io, flags } = context;
  if (!flags.file || flags.file.trim() === '') throw userError('IMPORT_FILE_MISSING', '--file is empty.', 'Give a .env or .json file.');
  const kmsKeyId = validateKmsKeyId(flags);
  const file = resolve(context.cwd, flags.file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw userError('IMPORT_FILE_UNREADABLE', `Cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, 'Check the path and its permissions.');
  }
  const entries = parseSecretsFile(file, text);
  if (entries.length === 0) throw userError('IMPORT_FILE_EMPTY', `${file} has no entries.`, 'Write one NAME=value per line (.env) or {"name": "value"} (.json).');
  const resolved = await resolveStage(context);
  const { envName } = resolved;

  // Every entry is checked before anything is written.
  const problems: string[] = [];
  const accepted: { entry: SecretEntry; value: string }[] = [];
  const seen = new Map<string, string>();
  for (const item of entries) {
    const entry = findSecretByNameOrAlias(item.key);
    if (!entry) {
      problems.push(`${item.where}: ${shownName(item.key)} is not a WatchPoint secret; did you mean ${closestSecretName(item.key)}?`);
      continue;
    }
    if (entry.managedBy) {
      problems.push(`${item.where}: ${entry.name} is managed by \`${entry.managedBy}\`, not imported`);
      continue;
    }
    const earlier = seen.get(entry.name);
    if (earlier) {
      problems.push(`${item.where}: ${entry.name} appears twice (also ${earlier})`);
      continue;
    }
    seen.set(entry.name, item.where);
    const { errors, modeMismatch } = valueProblems(entry, item.value, envName);
    if (modeMismatch) {
      if (flags.force) io.notify('warn', `${entry.name} ${modeMismatch.replace(/ \(.*\)$/, '')}; importing it anyway (--force).`);
      else errors.push(modeMismatch);
    }
    for (const error of errors) problems.push(`${item.where}: ${entry.name} ${error}`);
    if (errors.length === 0) accepted.push({ entry, value: item.value });
  }
  if (problems.length > 0) {
    throw userError('IMPORT_INVALID', `${file} has ${problems.length} problem(s); nothing was written (values not shown):\n${problems.map((p) => `  - ${p}`).join('\n')}`, 'Fix those entries and run the import again.');
  }

  const ssm = await ssmFor(context, resolved);
  const secrets = accepted.map((a) => a.value);
  let metadata: Map<string, Metadata>;
  try {
    metadata = await describeAll(ssm, envName);
  } catch (error) {
    throw explainSsmError(error, { envName, action: 'DescribeParameters', region: resolved.stage.region, secrets });
  }
  const plans = accepted.map(({ entry, value }) => {
    const path = secretPath(envName, entry.name);
    const plan: PutPlan = { path, envName, existing: metadata.get(path), kmsKeyId, bytes: Buffer.byteLength(value, 'utf8') };
    return { entry, value, plan };
  });
  if (flags.dryRun) {
    printPlan(context, plans.map((p) => p.plan));
    return ExitCode.ok;
  }
  const replacing = plans.filter((p) => p.plan.existing);
  if (replacing.length > 0 && !(await confirmOverwrite(context, replacing.map((p) => `${p.entry.name} (version ${p.plan.existing?.version ?? '?'})`)))) {
    io.notify('info', 'Nothing written.');
    return ExitCode.ok;
  }
  const written: string[] = [];
  for (const { entry, value, plan } of plans) {
    let version: number | undefined;
    try {
      version = await putValue(ssm, plan, value, (text) => io.notify('warn', text));
    } catch (error) {
      const left = plans.slice(written.length).map((p) => p.entry.name);
      const cause = explainSsmError(error, { envName, action: 'PutParameter', path: plan.path, region: resolved.stage.region, secrets });
      throw new WatchpointError(
        `Import stopped at ${entry.name}. Written: ${written.length > 0 ? written.join(', ') : 'none'}. Not written: ${left.join(', ')}.`,
        { code: 'IMPORT_INCOMPLETE', fault: 'system', fix: `Fix the cause below, then re-run the import with --overwrite (entries already written get a new version; old ones are kept).`, cause },
      );
    }
    const previous = plan.existing?.version;
    written.push(entry.name);
    io.notify('info', `  ${entry.name}: version ${version ?? '?'}${previous !== undefined ? ` (previous version ${previous} kept)` : ' (new)'}`);
  }
  io.result(`Imported ${written.length} secret(s) into "${envName}": ${written.join(', ')}.`);
  return ExitCode.ok;
}

/** .json (an object of strings) or dotenv, by extension, else by content. Errors never quote a value. */
export function parseSecretsFile(file: string, text: string): FileEntry[] {
  const extension = extname(file).toLowerCase();
  const json = extension === '.json' || (extension !== '.env' && text.trimStart().startsWith('{'));
  return json ? parseJson(file, text) : parseDotenv(file, text);
}

function parseJson(file: string, text: string): FileEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    // JSON.parse quotes the text around the error; report only the position.
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    throw userError('IMPORT_FILE_INVALID', `${file} is not valid JSON${position ? ` (near character ${position})` : ''}.`, 'Write {"database/url": "postgres://...", ...}.');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw userError('IMPORT_FILE_INVALID', `${file} must hold one JSON object of name: value pairs.`, 'Write {"database/url": "postgres://...", ...}.');
  }
  const entries: FileEntry[] = [];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string') problems.push(`key ${shownName(key)} must be a string, not ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
    else entries.push({ key, value, where: `key ${shownName(key)}` });
  }
  if (problems.length > 0) throw userError('IMPORT_FILE_INVALID', `${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, 'Give every value as a JSON string.');
  return entries;
}

function parseDotenv(file: string, text: string): FileEntry[] {
  const entries: FileEntry[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    const where = `line ${index + 1}`;
    if (line === '' || line.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_./-]*)\s*=\s?(.*)$/.exec(line);
    if (!match) {
      problems.push(`${where}: expected NAME=value`);
      return;
    }
    const key = match[1]!;
    let value = match[2]!.trim();
    const quote = value[0];
    if (quote === '"' || quote === "'") {
      const end = value.lastIndexOf(quote);
      if (end === 0) {
        problems.push(`${where}: the quoted value is not closed (values cannot span lines)`);
        return;
      }
      const after = value.slice(end + 1).trim();
      if (after !== '' && !after.startsWith('#')) {
        problems.push(`${where}: unexpected text after the closing quote`);
        return;
      }
      value = value.slice(1, end);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    entries.push({ key, value, where });
  });
  if (problems.length > 0) throw userError('IMPORT_FILE_INVALID', `${file} is not a valid dotenv file (values not shown):\n${problems.map((p) => `  - ${p}`).join('\n')}`, 'Write one NAME=value per line; quote values that contain spaces or "#".');
  return entries;
}

