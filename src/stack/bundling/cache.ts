// The reuse cache of the zip bundles: for each handler, the fingerprint of every input of its last
// build (the sources esbuild read, per its metafile, plus the lock file, tsconfig and the package.json
// of every package it read from) and the content-addressed directory of its output.
//
// Layout, under the cache directory (default node_modules/.cache/watchpoint/bundles):
//   <output hash>/index.mjs, index.mjs.map   one directory per distinct bundle, never rewritten
//   entries/<handler>.json                   what the handler's last build read, and its output hash
// Every write is a temp file or directory renamed into place, so an interrupted build leaves either
// the old entry or the new one. Deleting the whole directory only costs one cold build.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Bumped whenever the entry format or the meaning of a fingerprint changes (2: every module on the import graph, not only those with bytes in the output). */
const ENTRY_VERSION = 2;

/** Files that change what esbuild produces without being read as modules. */
export const GLOBAL_INPUTS = ['package-lock.json', 'tsconfig.json', 'package.json'];

/** Recorded for an input that may have changed while esbuild ran; no file hashes to it. */
const CHANGED_DURING_BUILD = 'changed-during-build';
/** Coarse file systems keep mtimes to the second or two. */
const MTIME_SLACK_MS = 2000;

export interface CacheEntry {
  version: number;
  /** Hash of the build options and the esbuild version. */
  optionsKey: string;
  /** Project-relative path -> sha256 of its bytes, or null for a path that is not a file. */
  inputs: Record<string, string | null>;
  /** The output directory's name: the hash of index.mjs and index.mjs.map. */
  output: string;
}

export const BUNDLE_FILES = ['index.mjs', 'index.mjs.map'] as const;

/** Hashes files of the project, each at most once per instance (several bundles share most inputs). */
export class Fingerprints {
  private readonly seen = new Map<string, string | null>();
  private readonly projectRoot: string;
  constructor(projectRoot: string) {
    this.projectRoot = projectRoot;
  }

  of(path: string): string | null {
    let hash = this.seen.get(path);
    if (hash === undefined) {
      try {
        hash = sha256(readFileSync(join(this.projectRoot, path)));
      } catch {
        hash = null;
      }
      this.seen.set(path, hash);
    }
    return hash;
  }

  /**
   * The fingerprint to record for an input of a build that started at `buildStarted` (epoch ms). A
   * file hashed before the build is recorded as it was then: if it changed since, the next lookup
   * misses. A file modified around or after the start may hold bytes esbuild did not read, so it is
   * recorded as unknown, which never matches: the next command rebuilds rather than trust it.
   */
  settled(path: string, buildStarted: number): string | null {
    const hashedBefore = this.seen.has(path);
    const hash = this.of(path);
    if (hashedBefore || hash === null) return hash;
    try {
      if (statSync(join(this.projectRoot, path)).mtimeMs >= buildStarted - MTIME_SLACK_MS) return CHANGED_DURING_BUILD;
    } catch {
      return CHANGED_DURING_BUILD;
    }
    return hash;
  }
}

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdir spins forever at full CPU on some paths
 * (WATCHPOINT_BUNDLE_CACHE=/proc/x), where this fails at once with the real error.
 */
export function makeDirectory(path: string): void {
  const parent = dirname(path);
  if (parent !== path && !existsSync(parent)) makeDirectory(parent);
  try {
    mkdirSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The inputs of one bundle to fingerprint: what esbuild read, the package.json files it resolved through, and the global inputs. */
export function bundleInputs(projectRoot: string, moduleInputs: readonly string[]): string[] {
  const inputs = new Set<string>(GLOBAL_INPUTS);
  for (const input of moduleInputs) {
    inputs.add(input);
    const manifest = packageManifestOf(input);
    if (manifest) inputs.add(manifest);
  }
  // esbuild reports paths relative to its working directory; keep them relative to the project.
  return [...inputs].map((path) => relative(projectRoot, join(projectRoot, path))).sort();
}

/** The part of esbuild's metafile this module reads. */
export interface MetafileInputs {
  inputs: Record<string, { imports: readonly { path: string; external?: boolean }[] }>;
}

/**
 * Every module an entry point's bundle was built from: all that esbuild parsed on the import graph from
 * the entry. Not the metafile's per-output `inputs`: those omit a module that contributes no bytes of
 * its own, such as one whose constants minification inlined into their users, though editing it
 * changes the bundle.
 */
export function modulesReachedFrom(metafile: MetafileInputs, entryPoint: string): string[] {
  const reached = new Set<string>();
  const pending = [entryPoint];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    if (reached.has(path)) continue;
    const input = metafile.inputs[path];
    if (!input) continue;
    reached.add(path);
    for (const imported of input.imports) if (!imported.external) pending.push(imported.path);
  }
  return [...reached];
}

/** node_modules/@scope/name/lib/x.js -> node_modules/@scope/name/package.json (the innermost package). */
function packageManifestOf(input: string): string | undefined {
  const parts = input.split(/[\\/]/);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return undefined;
  const scoped = parts[at + 1]!.startsWith('@');
  const end = at + (scoped ? 3 : 2);
  if (end > parts.length - 1) return undefined;
  return [...parts.slice(0, end), 'package.json'].join('/');
}

export class BundleCache {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  private entryFile(handler: string): string {
    return join(this.dir, 'entries', `${handler}.json`);
  }

  outputDir(output: string): string {
    return join(this.dir, output);
  }

  /** The cached output of a handler when every input it recorded is unchanged, else undefined. */
  lookup(handler: string, optionsKey: string, fingerprints: Fingerprints): { output: string; entry: CacheEntry } | undefined {
    let entry: CacheEntry;
    try {
      entry = JSON.parse(readFileSync(this.entryFile(handler), 'utf8')) as CacheEntry;
    } catch {
      return undefined;
    }
    if (entry.version !== ENTRY_VERSION || entry.optionsKey !== optionsKey || typeof entry.inputs !== 'object') return undefined;
    for (const [path, hash] of Object.entries(entry.inputs)) {
      if (fingerprints.of(path) !== hash) return undefined;
    }
    // The directory must still hold exactly the bytes its name promises.
    if (this.hashOutput(entry.output) !== entry.output) return undefined;
    // In use: prune() leaves it alone for a while even if another command's build replaces the entry.
    touch(this.outputDir(entry.output));
    return { output: entry.output, entry };
  }

  /** Hash of a stored bundle directory, or undefined when a file is missing. */
  private hashOutput(output: string): string | undefined {
    try {
      return outputHash(BUNDLE_FILES.map((file) => readFileSync(join(this.outputDir(output), file))));
    } catch {
      return undefined;
    }
  }

  /** Stores a freshly built bundle under its content hash and records what it was built from. */
  store(handler: string, optionsKey: string, files: readonly Uint8Array[], inputs: Record<string, string | null>): string {
    const output = outputHash(files);
    const target = this.outputDir(output);
    if (!existsSync(target)) {
      const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      mkdirSync(temp, { recursive: true });
      BUNDLE_FILES.forEach((file, i) => writeFileSync(join(temp, file), files[i]!));
      try {
        renameSync(temp, target);
      } catch (error) {
        rmSync(temp, { recursive: true, force: true });
        // Another process stored the same bytes first.
        if (!existsSync(target)) throw error;
      }
    }
    const entry: CacheEntry = { version: ENTRY_VERSION, optionsKey, inputs, output };
    atomicWrite(this.entryFile(handler), `${JSON.stringify(entry)}\n`);
    return output;
  }

  /**
   * Removes bundle directories no entry points at, once they are old enough that no other command can
   * still be copying them into its cloud assembly.
   */
  prune(minAgeMs = 10 * 60_000): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    const live = new Set<string>();
    for (const file of safeReaddir(join(this.dir, 'entries'))) {
      try {
        live.add((JSON.parse(readFileSync(join(this.dir, 'entries', file), 'utf8')) as CacheEntry).output);
      } catch {
        // an unreadable entry protects nothing
      }
    }
    const now = Date.now();
    for (const name of names) {
      if (name === 'entries' || live.has(name)) continue;
      const path = join(this.dir, name);
      try {
        if (now - statSync(path).mtimeMs > minAgeMs) rmSync(path, { recursive: true, force: true });
      } catch {
        // gone already
      }
    }
  }
}

/** The name of a bundle directory: 32 hex digits of the sha256 over its files' hashes. */
export function outputHash(files: readonly Uint8Array[]): string {
  return sha256(files.map((file) => sha256(file)).join('\n')).slice(0, 32);
}

export function touch(path: string): void {
  const now = new Date();
  try {
    utimesSync(path, now, now);
  } catch {
    // read-only: pruning is only tidiness
  }
}

export function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export function atomicWrite(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

