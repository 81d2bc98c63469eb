// `watchpoint db migrate`: apply the SQL migrations under migrations/ to the environment database.
// The URL (a secret: it holds the password) is read from SSM, stdin or the environment, is never in
// argv, and is masked in every message, including error causes.
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { StageConfig } from '../../config/schema.ts';
import { sdkClients } from '../aws.ts';
import { resolveStage, type CommandContext } from '../context.ts';
import { ExitCode, WatchpointError, userError } from '../errors.ts';
import type { Io } from '../io.ts';
import { readStdinText } from '../stdin.ts';
import { runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import type { DbMigrateFlags } from './db.define.ts';
import { explainAwsError } from '../stack-resources.ts';

/** What a run may inject: the SSM client (else built from the stage) and stdin (else process.stdin). */
interface DbMigrateInjected {
  ssm?: SSMClient;
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** Raw flags and context in one object (tests). */
export interface DbMigrateContext extends CommandContext, DbMigrateInjected {
  dryRun: boolean;
  urlFromStdin: boolean;
  json: boolean;
}

/** Everything `db migrate` runs on, validated. */
export interface DbMigrateOptions extends Runtime {
  ssm: SSMClient | undefined;
  stdin: (NodeJS.ReadableStream & { isTTY?: boolean }) | undefined;
  dryRun: boolean;
  urlFromStdin: boolean;
  json: boolean;
}

/** The flag contract: flags to options (they need no checks beyond their presence). */
export function parseDbMigrateOptions(flags: DbMigrateFlags, context: CommandContext & Injectable & DbMigrateInjected): DbMigrateOptions {
  return {
    ...runtimeOf(context),
    dryRun: Boolean(flags.dryRun),
    urlFromStdin: Boolean(flags.databaseUrlStdin),
    json: Boolean(flags.json),
    ssm: context.ssm,
    stdin: context.stdin,
  };
}

/** Raw flags and context in one object (tests): parse, then run. */
export function dbMigrateCommand(context: DbMigrateContext): Promise<number> {
  return runDbMigrate(parseDbMigrateOptions({ dryRun: context.dryRun, databaseUrlStdin: context.urlFromStdin, json: context.json }, context));
}

export interface MigrateResult {
  env: string | null;
  /** The URL with its password masked. */
  database: string;
  source: 'stdin' | 'env' | 'ssm';
  dryRun: boolean;
  applied: string[];
  pending: string[];
}

export const DATABASE_URL_ENV = 'WATCHPOINT_DATABASE_URL';

export function databaseUrlParameter(envName: string): string {
  return `/${envName}/watchpoint/database/url`;
}

/** postgres://user:****@host:port/db — the URL as it may be shown. */
export function maskDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '****';
    return parsed.href;
  } catch {
    return '<unparseable database URL>';
  }
}

/** Removes every form of the URL's password from a text (raw and percent-decoded). */
export function scrubSecret(text: string, url: string): string {
  let password = '';
  try {
    password = new URL(url).password;
  } catch {
    return text.split(url).join('<database URL>');
  }
  let out = text.split(url).join(maskDatabaseUrl(url));
  for (const form of new Set([password, safeDecode(password)])) if (form.length > 0) out = out.split(form).join('****');
  return out;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** An error chain rebuilt with the password scrubbed from every message (pg can echo connection strings). */
function scrubError(error: unknown, url: string, depth = 0): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const copy = new Error(scrubSecret(source.message, url), source.cause !== undefined && depth < 6 ? { cause: scrubError(source.cause, url, depth + 1) } : undefined);
  copy.name = source.name;
  return copy;
}

/** Checks the URL's shape; the message names its source and never contains it. */
export function validateDatabaseUrl(url: string, source: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw userError('DATABASE_URL_INVALID', `The database URL from ${source} is not a URL.`, 'Use postgres://USER:PASSWORD@HOST:5432/DBNAME (percent-encode special characters in the password).');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw userError('DATABASE_URL_INVALID', `The database URL from ${source} has scheme "${parsed.protocol}"; expected postgres: or postgresql:.`, 'Use postgres://USER:PASSWORD@HOST:5432/DBNAME.');
  }
  if (!parsed.hostname) throw userError('DATABASE_URL_INVALID', `The database URL from ${source} has no host.`, 'Use postgres://USER:PASSWORD@HOST:5432/DBNAME.');
  if (parsed.pathname.length <= 1) throw userError('DATABASE_URL_INVALID', `The database URL from ${source} names no database.`, 'Add the database name: postgres://USER:PASSWORD@HOST:5432/DBNAME.');
}

/** Reads the URL from SSM (SecureString, decrypted). */
export async function databaseUrlFromSsm(envName: string, stage: StageConfig, injected?: SSMClient): Promise<string> {
  const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
  const ssm = injected ?? (await sdkClients(stage, ['ssm'])).ssm;
  const name = databaseUrlParameter(envName);
  try {
    const response = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    const value = response.Parameter?.Value ?? '';
    if (value === '') throw userError('DATABASE_URL_MISSING', `SSM parameter ${name} is empty.`, `Set it: \`watchpoint secrets set database/url --env ${envName}\`.`);
    return value;
  } catch (error) {
    if (error instanceof Error && error.name === 'ParameterNotFound') {
      throw userError('DATABASE_URL_MISSING', `SSM parameter ${name} does not exist.`, `Set it: \`watchpoint secrets set database/url --env ${envName}\`, or pass --database-url-stdin for a local database.`);
    }
    throw explainAwsError(error, { envName });
  }
}

export interface MigrateOptions {
  url: string;
  source: MigrateResult['source'];
  envName: string | null;
  dryRun: boolean;
  io: Io;
}

/** Lists or applies the pending migrations. Used by `db migrate` and by `deploy` after its preflight. */
export async function migrateDatabase(options: MigrateOptions): Promise<MigrateResult> {
  const { url, io } = options;
  const { applyMigrations, pendingMigrations } = await import('../db/migrations.ts');
  const shown = maskDatabaseUrl(url);
  const base = { env: options.envName, database: shown, source: options.source, dryRun: options.dryRun };
  try {
    const { pending } = await pendingMigrations(url);
    if (options.dryRun || pending.length === 0) return { ...base, applied: [], pending };
    io.notify('info', `Applying ${pending.length} migration(s) to ${shown} ...`);
    const applied = await applyMigrations(url, { info: (text) => io.notify('info', scrubSecret(text, url)), warn: (text) => io.notify('warn', scrubSecret(text, url)) });
    return { ...base, applied, pending: pending.filter((name) => !applied.includes(name)) };
  } catch (error) {
    if (options.dryRun) {
      throw new WatchpointError(`Listing the pending migrations of ${shown} failed; nothing was changed (a dry run only reads).`, {
        code: 'DB_MIGRATE_FAILED',
        fault: 'system',
        fix: 'Check that the database is reachable from here (VPN, security group) and that the user may read it; then run `watchpoint db migrate --dry-run` again.',
        cause: scrubError(error, url),
      });
    }
    throw new WatchpointError(`Migrating ${shown} failed; no migration of this run was kept (they run in one transaction).`, {
      code: 'DB_MIGRATE_FAILED',
      fault: 'system',
      fix: 'Check that the database is reachable from here (VPN, security group) and that the user may create tables; then run `watchpoint db migrate` again.',
      cause: scrubError(error, url),
    });
  }
}

export async function runDbMigrate(context: DbMigrateOptions): Promise<number> {
  const { io } = context;
  let url: string;
  let source: MigrateResult['source'];
  let envName: string | null = null;
  if (context.urlFromStdin) {
    const stdin = context.stdin ?? process.stdin;
    if (stdin.isTTY) {
      url = await io.ask({
        kind: 'secret',
        field: 'the database URL',
        message: 'Database URL (postgres://USER:PASSWORD@HOST:5432/DBNAME):',
        noTerminalFix: 'Pipe the URL into --database-url-stdin, or set WATCHPOINT_DATABASE_URL.',
      });
    } else {
      url = (await readStdinText({ stream: stdin })).split(/\r?\n/)[0]?.trim() ?? '';
    }
    if (url === '') throw userError('DATABASE_URL_MISSING', '--database-url-stdin read nothing from stdin.', 'Pipe the URL in, e.g. `pass show db | watchpoint db migrate --database-url-stdin`.');
    source = 'stdin';
    validateDatabaseUrl(url, 'stdin');
  } else if (context.env[DATABASE_URL_ENV]) {
    url = context.env[DATABASE_URL_ENV]!;
    source = 'env';
    validateDatabaseUrl(url, `$${DATABASE_URL_ENV}`);
  } else {
    const resolved = await resolveStage(context);
    envName = resolved.envName;
    source = 'ssm';
    io.notify('info', `Reading ${databaseUrlParameter(envName)} from SSM (${resolved.stage.region}) ...`);
    url = await databaseUrlFromSsm(envName, resolved.stage, context.ssm);
    validateDatabaseUrl(url, `SSM ${databaseUrlParameter(envName)}`);
  }

  const result = await migrateDatabase({ url, source, envName, dryRun: context.dryRun, io });
  if (context.json) {
    io.result(JSON.stringify(result, null, 2));
    return ExitCode.ok;
  }
  if (context.dryRun) {
    if (result.pending.length === 0) io.result(`${result.database}: up to date; nothing would be applied.`);
    else io.result([`${result.database}: would apply ${result.pending.length} migration(s), in this order:`, ...result.pending.map((name) => `  ${name}`)].join('\n'));
  } else if (result.applied.length === 0) {
    io.result(`${result.database}: up to date.`);
  } else {
    io.result([`${result.database}: applied ${result.applied.length} migration(s):`, ...result.applied.map((name) => `  ${name}`)].join('\n'));
  }
  return ExitCode.ok;
}
