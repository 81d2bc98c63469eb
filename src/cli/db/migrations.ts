// Applies the SQL migrations under migrations/ with node-pg-migrate, and lists the pending ones
// without writing anything (for --dry-run). Used by `watchpoint db migrate`, `deploy` and the tests.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { awsRuntime } from '../aws/runtime.ts';

/** node-pg-migrate's bookkeeping table (its default name). */
export const MIGRATIONS_TABLE = 'pgmigrations';

export interface MigrationLog {
  info(text: string): void;
  warn(text: string): void;
}

/**
 * The migrations/ directory at the repository root. The CLI may run from a bundle under
 * node_modules/.cache, so walk up from this module (or the launcher) to the package root.
 */
export function migrationsDir(): string {
  const starts = [dirname(fileURLToPath(import.meta.url))];
  if (process.argv[1]) starts.push(dirname(process.argv[1]));
  for (const start of starts) {
    let dir = start;
    for (;;) {
      if (existsSync(join(dir, 'migrations')) && isWatchpointPackage(join(dir, 'package.json'))) return join(dir, 'migrations');
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error('Cannot find the migrations/ directory of the watchpoint package.');
}

function isWatchpointPackage(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: string }).name === 'watchpoint';
  } catch {
    return false;
  }
}

/** Migration names (file names without .sql), in the order they apply. */
export function migrationNames(dir: string = migrationsDir()): string[] {
  return readdirSync(dir)
    .filter((name) => /^\d+_[A-Za-z0-9_-]+\.sql$/.test(name))
    .map((name) => name.slice(0, -'.sql'.length))
    .sort((a, b) => Number(a.split('_')[0]) - Number(b.split('_')[0]) || a.localeCompare(b));
}

/** Reads which migrations have run; never creates or changes anything. */
export async function pendingMigrations(databaseUrl: string, dir: string = migrationsDir()): Promise<{ applied: string[]; pending: string[] }> {
  const { default: pg } = await import('pg');
  // Connecting and reading get the same budget as an AWS call, and say what they wait on after 2 s.
  const { ledger } = awsRuntime();
  const budget = ledger.settings.timeoutMs;
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: budget, query_timeout: budget });
  const done = ledger.waitingOn(`PostgreSQL at ${databaseHost(databaseUrl)}`);
  try {
    await client.connect();
  } finally {
    done();
  }
  try {
    const exists = await client.query<{ table: string | null }>('SELECT to_regclass($1)::text AS table', [`public.${MIGRATIONS_TABLE}`]);
    const applied = exists.rows[0]?.table
      ? (await client.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY run_on, id`)).rows.map((row) => row.name)
      : [];
    const done = new Set(applied);
    return { applied, pending: migrationNames(dir).filter((name) => !done.has(name)) };
  } finally {
    await client.end();
  }
}

/**
 * Applies every pending migration in one transaction under node-pg-migrate's advisory lock, so two
 * concurrent runs cannot interleave and an interrupted run leaves the schema as it was.
 */
export async function applyMigrations(databaseUrl: string, log: MigrationLog, dir: string = migrationsDir()): Promise<string[]> {
  const { runner } = await import('node-pg-migrate');
  // The connection is bounded; the migrations themselves may legitimately take long.
  const applied = await runner({
    databaseUrl: { connectionString: databaseUrl, connectionTimeoutMillis: awsRuntime().ledger.settings.timeoutMs },
    dir,
    migrationsTable: MIGRATIONS_TABLE,
    direction: 'up',
    singleTransaction: true,
    checkOrder: true,
    advisoryLockMode: 'wait',
    logger: { info: () => undefined, warn: (text) => log.warn(text), error: (text) => log.warn(text), debug: () => undefined },
  });
  return applied.map((migration) => migration.name);
}

/** host:port of a database URL, for messages (never the user or password). */
function databaseHost(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}`;
  } catch {
    return 'the database';
  }
}
