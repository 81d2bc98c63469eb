// A throwaway PostgreSQL 15 cluster for tests and benchmarks: Debian's binaries, a temp data dir, on
// 127.0.0.1 and a free port, with durability off (fsync, full_page_writes) because nothing here must
// survive a crash. Started once per vitest run by test/global-setup.ts (`inject('databaseUrl')`);
// each test file then takes its own database with `createTestDatabase()`, migrated to the latest schema.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freeLoopbackPort } from './net.ts';
import { applyMigrations } from '../../src/cli/db/migrations.ts';

const BIN = process.env.WATCHPOINT_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface TestPostgres {
  /** Superuser URL of the `postgres` database (no password; trust auth on 127.0.0.1 only). */
  url: string;
  stop(): Promise<void>;
}

/** runuser lives in sbin, which a minimal PATH (cron, env -i) leaves out. */
const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser'].find((path) => existsSync(path)) ?? 'runuser';

/** Postgres refuses to run as root; run its binaries as the `postgres` user when we are root. */
function runAs(command: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot ? [RUNUSER, ['-u', 'postgres', '--', command, ...args]] : [command, args];
  execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function startPostgres(): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'watchpoint-pg-'));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  runAs(join(BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions']);
  let port = 0;
  for (let attempt = 1; ; attempt += 1) {
    port = await freeLoopbackPort();
    const options = `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    try {
      runAs(join(BIN, 'pg_ctl'), ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '30', 'start']);
      break;
    } catch (error) {
      // Another process took the port between our probe and postgres' bind: try another one.
      if (attempt >= 5) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  // pg_ctl detaches the server, so nothing else ends it when this process does. If the process exits
  // before stop() runs (a teardown cut short by its timeout, an uncaught error), stop it on 'exit'.
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', stopNow);
    try {
      runAs(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  process.once('exit', stopNow);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => stopNow(),
  };
}

export interface TestDatabase {
  /** URL of a fresh database that only this caller uses, migrated to the latest schema. */
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** Creates a new database on the shared cluster (admin URL from `inject('databaseUrl')`). */
export async function createTestDatabase(adminUrl: string, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  if (options.migrate !== false) await applyMigrations(url.href, { info: () => undefined, warn: () => undefined });
  const pool = new pg.Pool({ connectionString: url.href, max: 4 });
  // DROP DATABASE ... WITH (FORCE) ends the connections still open; that is expected, not an error.
  pool.on('error', () => undefined);
  return {
    url: url.href,
    pool,
    drop: async () => {
      await pool.end();
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
