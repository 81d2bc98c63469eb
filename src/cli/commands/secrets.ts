// `watchpoint secrets ...`: the platform's SSM secrets, entered safely, checked and versioned.
// Rule for every line below: a value reaches stdout only under --reveal, and never stderr or an error.
// This file is the flow of each subcommand: input in ../secrets/input.ts and file.ts, SSM calls in
// ssm.ts and check.ts, what is printed in report.ts.
import { resolve } from 'node:path';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { maskedValue, pathPrefix, secretPath } from '../../config/secrets-catalogue.ts';
import { sdkClients } from '../aws.ts';
import { resolveStage, type CommandContext, type ResolvedStage } from '../context.ts';
import { ExitCode, WatchpointError, userError } from '../errors.ts';
import { checkSecrets } from '../secrets/check.ts';
import { checkImportEntries, parseSecretsFile, readSecretsFile } from '../secrets/file.ts';
import { assertValid, confirmConversion, confirmOverwrite, entryFor, obtainValue, parseSetFlags, parseToVersion, refuseManaged, validateKmsKeyId } from '../secrets/input.ts';
import { checkTable, historyTable, listRows, listTable, notReadyFix, planLines, rollbackHint, unencryptedWarning } from '../secrets/report.ts';
import { convertToSecureString, describeAll, describeOne, explainSsmError, needsConversion, putAll, putInput, putValue, readCurrent, readHistory, type Metadata, type PutPlan } from '../secrets/ssm.ts';
import type { SecretEntry } from '../../config/secrets-catalogue.ts';
import { runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import type { ValueSource } from '../secrets/input.ts';
import type { SecretsAction, SecretsFlags } from './secrets.define.ts';

export { parseSecretsFile };

/** Raw action, name, flags and injections in one object (tests, the bench). */
export interface SecretsContext extends CommandContext, Injectable, SecretsInjections {
  action: SecretsAction;
  name: string | undefined;
  flags: SecretsFlags;
}

export interface SecretsInjections {
  /** Injected in tests; otherwise built from the stage with awsClientConfig. */
  ssm?: SSMClient;
  /** Reads all of stdin (tests inject it). */
  readStdin?: () => Promise<string>;
  randomBytes?: (size: number) => Buffer;
}

/** Everything a `secrets` subcommand runs on, validated. */
export interface SecretsOptions extends Runtime, ValueSource {
  action: SecretsAction;
  /** The catalogue entry named (get, set, history, rollback). */
  entry: SecretEntry | undefined;
  json: boolean;
  reveal: boolean;
  dryRun: boolean;
  /** set: no --stdin, --generate or --value, so the value is typed at a hidden prompt (asked last). */
  prompted: boolean;
  kmsKeyId: string | undefined;
  /** rollback --to-version. */
  toVersion: number | undefined;
  /** import --file, resolved against the cwd. */
  file: string | undefined;
  ssm: SSMClient | undefined;
}

/**
 * The flag contract: the name and every flag the subcommand takes, validated once, before the config
 * file or any AWS call (exit 2 naming the flag). A value itself is checked once it is read (run).
 */
export function parseSecretsOptions(action: SecretsAction, name: string | undefined, flags: SecretsFlags, context: CommandContext & Injectable & SecretsInjections): SecretsOptions {
  const named = action === 'get' || action === 'set' || action === 'history' || action === 'rollback';
  const entry = named ? entryFor(name) : undefined;
  if (entry && (action === 'set' || action === 'rollback')) refuseManaged(entry, action);
  let prompted = false;
  let kmsKeyId: string | undefined;
  let toVersion: number | undefined;
  let file: string | undefined;
  if (action === 'set') ({ prompted, kmsKeyId } = parseSetFlags(flags, entry!, context.io));
  if (action === 'rollback') {
    toVersion = parseToVersion(flags, entry!);
    kmsKeyId = validateKmsKeyId(flags);
  }
  if (action === 'import') {
    if (!flags.file || flags.file.trim() === '') throw userError('IMPORT_FILE_MISSING', '--file is empty.', 'Give a .env or .json file.');
    kmsKeyId = validateKmsKeyId(flags);
    file = resolve(context.cwd, flags.file);
  }
  return {
    ...runtimeOf(context),
    action,
    entry,
    json: Boolean(flags.json),
    reveal: Boolean(flags.reveal),
    force: Boolean(flags.force),
    dryRun: Boolean(flags.dryRun),
    overwrite: Boolean(flags.overwrite),
    yes: Boolean(flags.yes ?? context.options.yes),
    generate: Boolean(flags.generate),
    stdin: Boolean(flags.stdin),
    value: flags.value,
    prompted,
    kmsKeyId,
    toVersion,
    file,
    ssm: context.ssm,
    ...(context.readStdin ? { readStdin: context.readStdin } : {}),
    ...(context.randomBytes ? { randomBytes: context.randomBytes } : {}),
  };
}

/** Raw action, name, flags and injections (tests, the bench): parse, then run. */
export async function secretsCommand(context: SecretsContext): Promise<number> {
  return runSecrets(parseSecretsOptions(context.action, context.name, context.flags, context));
}

export async function runSecrets(options: SecretsOptions): Promise<number> {
  const actions: Record<SecretsAction, (options: SecretsOptions) => Promise<number>> = { list, check, get, set, history, rollback, import: importFile };
  return actions[options.action](options);
}

/** The stage, then the SSM client (injected, or built for the stage) and a way to explain its errors. */
async function open(context: SecretsOptions) {
  const resolved: ResolvedStage = await resolveStage(context);
  const ssm = context.ssm ?? (await sdkClients(resolved.stage, ['ssm'])).ssm;
  const ssmCall = async <T>(call: () => Promise<T>, detail: { action: string; path?: string; secrets?: string[] }): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw explainSsmError(error, { envName: resolved.envName, region: resolved.stage.region, ...detail });
    }
  };
  return { ...resolved, ssm, ssmCall };
}

async function list(context: SecretsOptions): Promise<number> {
  const { envName, stage, ssm, ssmCall } = await open(context);
  const metadata = await ssmCall(() => describeAll(ssm, envName), { action: 'DescribeParameters' });
  const { rows, others } = listRows(envName, stage, metadata);
  for (const row of rows) if (row.set && row.type !== 'SecureString') context.io.notify('warn', unencryptedWarning(row));
  if (context.json) return result(context, JSON.stringify({ env: envName, prefix: pathPrefix(envName), secrets: rows, notInCatalogue: others }, null, 2));
  context.io.result(listTable(rows));
  if (others.length > 0) context.io.notify('info', `Also under ${pathPrefix(envName)} (not in the catalogue): ${others.join(', ')}`);
  return ExitCode.ok;
}

async function check(context: SecretsOptions): Promise<number> {
  const { envName, stage, ssm } = await open(context);
  const report = await checkSecrets({ ssm, envName, stage, allowStripeModeMismatch: context.force });
  for (const secret of report.secrets) for (const warning of secret.warnings) context.io.notify('warn', `${secret.name} ${warning}`);
  context.io.result(context.json ? JSON.stringify(report, null, 2) : checkTable(report));
  if (!report.ok) {
    context.io.notify('error', `Secrets of "${envName}" not ready: ${report.failing.join(', ')}.\n  fix: ${notReadyFix(envName, report.failing)}`);
    return ExitCode.failure;
  }
  context.io.notify('success', `All required secrets of "${envName}" are set and valid.`);
  return ExitCode.ok;
}

async function get(context: SecretsOptions): Promise<number> {
  const entry = context.entry!;
  const { envName, ssm, ssmCall } = await open(context);
  const path = secretPath(envName, entry.name);
  const { value, version } = await ssmCall(() => readCurrent(ssm, path), { action: 'GetParameter', path });
  if (context.reveal) return result(context, value);
  context.io.result(`${entry.name}: set, version ${version ?? '?'}, ${maskedValue(value)}`);
  context.io.notify('info', 'Masked. Pass --reveal to print the value (stdout only).');
  return ExitCode.ok;
}

async function set(context: SecretsOptions): Promise<number> {
  const { io, prompted, kmsKeyId } = context;
  const entry = context.entry!;
  const { envName, ssm, ssmCall } = await open(context);
  const warn = (text: string) => io.notify('warn', text);
  // A value from a flag or stdin is checked before any AWS call. One typed (pasted) at the prompt is
  // asked for last, after credentials, the parameter and every question, so it is never asked twice.
  let value = prompted ? undefined : await obtainValue(context, entry, envName);
  if (value !== undefined) assertValid(entry, value, envName, context.force, warn);
  const path = secretPath(envName, entry.name);
  const existing = await ssmCall(() => describeOne(ssm, path), { action: 'DescribeParameters', path, secrets: value === undefined ? [] : [value] });
  const converting = needsConversion(existing);
  if (!context.dryRun) {
    if (existing && !(await confirmOverwrite(context, [`${entry.name} (version ${existing.version ?? '?'})`]))) return nothingWritten(context);
    if (converting && !(await confirmConversion(io, entry, existing!))) return nothingWritten(context);
  }
  if (value === undefined) {
    value = await obtainValue(context, entry, envName);
    assertValid(entry, value, envName, context.force, warn);
  }
  const secret = value;
  const plan: PutPlan = { path, envName, existing, kmsKeyId, bytes: Buffer.byteLength(secret, 'utf8') };
  if (context.dryRun) {
    if (converting) io.result(`ssm:DeleteParameter ${JSON.stringify({ Name: path })}   (it is a ${existing!.type}; SSM cannot change the type in place)`);
    return dryRun(context, [converting ? { ...plan, existing: undefined } : plan]);
  }
  const put = { action: 'PutParameter', path, secrets: [secret] };
  if (converting) {
    const { version } = await ssmCall(() => convertToSecureString(ssm, plan, secret), put);
    return result(context, `Set ${entry.name} in "${envName}" as a SecureString: version ${version ?? '?'}, ${putInput({ ...plan, existing: undefined }).Tier} tier, ${plan.bytes} bytes (the ${existing!.type} parameter and its history were replaced).`);
  }
  const version = await ssmCall(() => putValue(ssm, plan, secret, warn), put);
  return result(context, `Set ${entry.name} in "${envName}": version ${version ?? '?'}, ${putInput(plan).Tier} tier, ${plan.bytes} bytes.${existing ? rollbackHint(entry, envName, existing.version) : ''}`);
}

async function history(context: SecretsOptions): Promise<number> {
  const entry = context.entry!;
  const { envName, ssm, ssmCall } = await open(context);
  const path = secretPath(envName, entry.name);
  const reveal = context.reveal;
  const versions = await ssmCall(() => readHistory(ssm, path, reveal), { action: 'GetParameterHistory', path });
  return result(context, context.json ? JSON.stringify({ name: entry.name, path, versions }, null, 2) : historyTable(versions, reveal));
}

async function rollback(context: SecretsOptions): Promise<number> {
  const { io, kmsKeyId } = context;
  const entry = context.entry!;
  const target = context.toVersion!;
  const { envName, ssm, ssmCall } = await open(context);
  const path = secretPath(envName, entry.name);
  const { existing, value } = await ssmCall(async () => {
    const current = await describeOne(ssm, path);
    if (!current) throw new WatchpointError(`${entry.name} is not set in "${envName}"; there is nothing to roll back.`, { code: 'SECRET_NOT_SET', fault: 'user', exitCode: 1, fix: `Set it with \`watchpoint secrets set ${entry.name} --env ${envName}\`.` });
    return { existing: current, value: (await readCurrent(ssm, `${path}:${target}`)).value };
  }, { action: 'GetParameter', path: `${path}:${target}` });
  if (existing.version === target) return result(context, `${entry.name} is already at version ${target}; nothing written.`);
  assertValid(entry, value, envName, context.force, (text) => io.notify('warn', text), `Version ${target} of ${entry.name}`);
  const plan: PutPlan = { path, envName, existing, kmsKeyId, bytes: Buffer.byteLength(value, 'utf8') };
  if (context.dryRun) return dryRun(context, [plan]);
  const confirmed = await io.ask({ kind: 'confirm', message: `Replace ${entry.name} in "${envName}" (version ${existing.version ?? '?'}) with the value of version ${target}?`, default: false, dangerous: true });
  if (!confirmed) return nothingWritten(context);
  const version = await ssmCall(() => putValue(ssm, plan, value, (text) => io.notify('warn', text)), { action: 'PutParameter', path, secrets: [value] });
  return result(context, `Rolled back ${entry.name} in "${envName}" to the value of version ${target}, written as version ${version ?? '?'}.${rollbackHint(entry, envName, existing.version)}`);
}

async function importFile(context: SecretsOptions): Promise<number> {
  const { io, kmsKeyId } = context;
  const { file, entries } = await readSecretsFile(context.file!);
  const { envName, stage, ssm, ssmCall } = await open(context);
  // Every entry is checked before anything is written.
  const { accepted, problems } = checkImportEntries(entries, envName, context.force, (text) => io.notify('warn', text));
  if (problems.length > 0) {
    throw userError('IMPORT_INVALID', `${file} has ${problems.length} problem(s); nothing was written (values not shown):\n${problems.map((p) => `  - ${p}`).join('\n')}`, 'Fix those entries and run the import again.');
  }
  const secrets = accepted.map((a) => a.value);
  const metadata: Map<string, Metadata> = await ssmCall(() => describeAll(ssm, envName), { action: 'DescribeParameters', secrets });
  const plans = accepted.map(({ entry, value }) => {
    const path = secretPath(envName, entry.name);
    return { entry, value, plan: { path, envName, existing: metadata.get(path), kmsKeyId, bytes: Buffer.byteLength(value, 'utf8') } as PutPlan };
  });
  if (context.dryRun) return dryRun(context, plans.map((p) => p.plan));
  const replacing = plans.filter((p) => p.plan.existing);
  if (replacing.length > 0 && !(await confirmOverwrite(context, replacing.map((p) => `${p.entry.name} (version ${p.plan.existing?.version ?? '?'})`)))) return nothingWritten(context);
  const written = await putAll(ssm, plans.map((p) => ({ name: p.entry.name, value: p.value, plan: p.plan })), {
    envName, region: stage.region, warn: (text) => io.notify('warn', text),
    onWritten: (name, version, previous) => io.notify('info', `  ${name}: version ${version ?? '?'}${previous !== undefined ? ` (previous version ${previous} kept)` : ' (new)'}`),
  });
  return result(context, `Imported ${written.length} secret(s) into "${envName}": ${written.join(', ')}.`);
}

function result(context: SecretsOptions, text: string): number {
  context.io.result(text);
  return ExitCode.ok;
}

function nothingWritten(context: SecretsOptions): number {
  context.io.notify('info', 'Nothing written.');
  return ExitCode.ok;
}

function dryRun(context: SecretsOptions, plans: PutPlan[]): number {
  context.io.result(planLines(plans));
  context.io.notify('info', 'Dry run: nothing written.');
  return ExitCode.ok;
}
