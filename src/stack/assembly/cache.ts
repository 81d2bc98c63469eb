// The reuse cache of the synthesized cloud assembly (issue 23): a synth whose every input is unchanged
// copies the cloud assembly the last one wrote instead of loading aws-cdk-lib and building the app.
//
// The key has two halves:
// - the fixed half, known before anything is loaded: the env name, the stage config values, the image
//   tag and the synth flags (bundling, cdk-nag, path metadata); the zip bundles' hashes; the CDK
//   context and feature flags; the lockfile; the environment variables the CDK reads (CDK_*, JSII_*,
//   NODE_ENV); the aws-cdk-lib, cdk-nag and constructs versions; and the project's directory (the
//   assembly's metadata holds creation stacks with absolute paths into it);
// - the sources half: every project file the app imports, found by esbuild's import graph from
//   src/stack/app.ts and src/config when the entry was stored, each with its sha256. A lookup
//   re-hashes exactly those files; an edit that adds an import edits a file on the list.
//
// Layout, under the cache directory (default node_modules/.cache/watchpoint/assemblies):
//   entries/<fixed key>.json   the sources' hashes, the stacks and the assembly directory's name
//   <assembly>/                the files of one cloud assembly (manifest, templates, assets)
// Same rules as the bundle cache (bundling/cache.ts): every write is a temp file or directory renamed
// into place; an unreadable or unwritable cache is a miss and a warning, never a failure; directories
// no entry uses are pruned once old; two checkouts may share one directory (each gets its own entries,
// since the project directory is in the key).
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { atomicWrite, makeDirectory, safeReaddir, sha256, touch } from '../bundling/cache.ts';

/** Bumped whenever the entry format or the meaning of a key part changes. */
export const ASSEMBLY_ENTRY_VERSION = 1;

/** Environment variables that change what app.synth() writes: the CDK's own and jsii's, and NODE_ENV. The app reads no others. */
export const APP_ENV_PATTERN = /^(CDK_|JSII_)|^NODE_ENV$/;

/** Packages whose version changes the templates (the lockfile covers the rest). */
export const SYNTH_PACKAGES = ['aws-cdk-lib', 'cdk-nag', 'constructs'] as const;

/** Where esbuild starts the import graph of the sources the app is built from. */
export const SOURCE_ROOTS = ['src/stack/app.ts'];
/** Directories whose every module is a source too (the stage config's schema and defaults). */
export const SOURCE_DIRS = ['src/config'];

/** Where assemblies are kept between commands: $WATCHPOINT_SYNTH_CACHE, else under node_modules/.cache. */
export function defaultAssemblyCacheDir(env: NodeJS.ProcessEnv, projectRoot: string): string {
  return env.WATCHPOINT_SYNTH_CACHE || join(projectRoot, 'node_modules', '.cache', 'watchpoint', 'assemblies');
}

/** Kept at most this long unused, and at most this many assemblies. */
const MAX_AGE_MS = 7 * 24 * 3600_000;
const MAX_ASSEMBLIES = 24;
/** Never pruned younger than this: another command may be copying it. */
const IN_USE_MS = 10 * 60_000;

/** What the caller knows about one synth before it starts. */
export interface AssemblyRequest {
  envName: string;
  /** The validated stage config, as the app receives it. */
  stage: unknown;
  imageTag: string;
  bundling: boolean;
  nag: boolean;
  pathMetadata: boolean;
  /** handler -> the zip bundle's asset hash; null when bundling is skipped. */
  bundles: Record<string, string> | null;
  /** The context given to `new App()`, feature flags included (src/stack/context.ts). */
  context: Record<string, unknown>;
}

/** Every part of the fixed half of the key, each one of the kinds of input. */
export interface KeyParts {
  version: number;
  app: { envName: string; stage: unknown; imageTag: string; bundling: boolean; nag: boolean; pathMetadata: boolean };
  bundles: Record<string, string> | null;
  context: Record<string, unknown>;
  lockfile: string | null;
  env: Record<string, string>;
  versions: Record<string, string>;
  project: string;
}

export interface AssemblyEntry {
  version: number;
  /** Project-relative path -> sha256 of its bytes. */
  sources: Record<string, string>;
  /** The assembly directory's name under the cache. */
  assembly: string;
  stacks: { name: string; templateFile: string }[];
}

export interface AssemblyHit {
  dir: string;
  entry: AssemblyEntry;
}

/** The sources' hashes taken before the app was loaded, to store with its assembly. */
export interface SourceSnapshot {
  sources: Record<string, string>;
}

/** Thrown for a cache that cannot be read or written; callers warn and carry on without it. */
export class AssemblyCacheError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'AssemblyCacheError';
  }
}

/** Stable JSON: object keys sorted at every level, so equal values always hash alike. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** The fixed half of the key for a request, in this project and environment. Throws AssemblyCacheError when a version cannot be read. */
export function keyParts(request: AssemblyRequest, options: { projectRoot: string; env: NodeJS.ProcessEnv; cacheDir: string }): KeyParts {
  const { projectRoot, env } = options;
  const versions: Record<string, string> = {};
  for (const name of SYNTH_PACKAGES) {
    try {
      versions[name] = String((JSON.parse(readFileSync(join(projectRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: unknown }).version);
    } catch (error) {
      throw new AssemblyCacheError(`cannot read the version of ${name}`, error);
    }
  }
  let lockfile: string | null;
  try {
    lockfile = sha256(readFileSync(join(projectRoot, 'package-lock.json')));
  } catch {
    lockfile = null;
  }
  return {
    version: ASSEMBLY_ENTRY_VERSION,
    app: { envName: request.envName, stage: request.stage, imageTag: request.imageTag, bundling: request.bundling, nag: request.nag, pathMetadata: request.pathMetadata },
    bundles: request.bundles,
    context: request.context,
    lockfile,
    env: Object.fromEntries(Object.entries(env).filter((pair): pair is [string, string] => APP_ENV_PATTERN.test(pair[0]) && pair[1] !== undefined)),
    versions,
    // Where the project lies from the cache, as the bundle cache keys it.
    project: relative(options.cacheDir, projectRoot),
  };
}

export function fixedKey(parts: KeyParts): string {
  return sha256(canonicalJson(parts)).slice(0, 32);
}

/** The project files the app is built from: esbuild's import graph from SOURCE_ROOTS, and SOURCE_DIRS. */
export async function sourceFiles(projectRoot: string): Promise<string[]> {
  const esbuild = await import('esbuild');
  const entryPoints = [...SOURCE_ROOTS];
  for (const dir of SOURCE_DIRS) {
    for (const name of safeReaddir(join(projectRoot, dir))) if (/\.[cm]?[jt]s$/.test(name)) entryPoints.push(`${dir}/${name}`);
  }
  const result = await esbuild.build({
    entryPoints,
    absWorkingDir: projectRoot,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outdir: join(projectRoot, '.assembly-graph'),
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs)
    .map((path) => relative(projectRoot, join(projectRoot, path)).split(sep).join('/'))
    .filter((path) => !path.startsWith('..') && !path.includes('node_modules/'))
    .sort();
}

function hashFile(projectRoot: string, path: string): string | null {
  try {
    return sha256(readFileSync(join(projectRoot, path)));
  } catch {
    return null;
  }
}

export class AssemblyCache {
  readonly dir: string;
  readonly projectRoot: string;
  constructor(dir: string, projectRoot: string) {
    this.dir = dir;
    this.projectRoot = projectRoot;
  }

  private entryFile(key: string): string {
    return join(this.dir, 'entries', `${key}.json`);
  }

  /**
   * The cached assembly for this key when every source it recorded is unchanged; undefined on a miss.
   * Throws AssemblyCacheError when the entry exists but cannot be read.
   */
  lookup(key: string): AssemblyHit | undefined {
    let text: string;
    try {
      text = readFileSync(this.entryFile(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw new AssemblyCacheError(`cannot read ${this.entryFile(key)}: ${(error as Error).message}`, error);
    }
    let entry: AssemblyEntry;
    try {
      entry = JSON.parse(text) as AssemblyEntry;
    } catch {
      return undefined;
    }
    if (entry.version !== ASSEMBLY_ENTRY_VERSION || typeof entry.sources !== 'object' || !Array.isArray(entry.stacks)) return undefined;
    for (const [path, hash] of Object.entries(entry.sources)) {
      if (hashFile(this.projectRoot, path) !== hash) return undefined;
    }
    const dir = join(this.dir, entry.assembly);
    if (!existsSync(join(dir, 'manifest.json'))) return undefined;
    touch(dir);
    return { dir, entry };
  }

  /** Hashes the sources before the app is loaded; store() stores only if they still match afterwards. */
  async snapshot(): Promise<SourceSnapshot> {
    const sources: Record<string, string> = {};
    for (const path of await sourceFiles(this.projectRoot)) {
      const hash = hashFile(this.projectRoot, path);
      if (hash !== null) sources[path] = hash;
    }
    return { sources };
  }

  /**
   * Copies the assembly just synthesized in `outdir` into the cache under `key`. Returns false (and
   * stores nothing) when a source changed while the app was built: the assembly may hold either version.
   * Throws AssemblyCacheError when the cache cannot be written.
   */
  store(key: string, snapshot: SourceSnapshot, outdir: string, stacks: AssemblyEntry['stacks']): boolean {
    for (const [path, hash] of Object.entries(snapshot.sources)) {
      if (hashFile(this.projectRoot, path) !== hash) return false;
    }
    const assembly = sha256(`${key}\n${canonicalJson(snapshot.sources)}`).slice(0, 32);
    const target = join(this.dir, assembly);
    try {
      makeDirectory(join(this.dir, 'entries'));
      if (!existsSync(join(target, 'manifest.json'))) {
        const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
        try {
          copyAssembly(outdir, temp);
          rmSync(target, { recursive: true, force: true });
          renameSync(temp, target);
        } catch (error) {
          rmSync(temp, { recursive: true, force: true });
          // Another process stored the same assembly first.
          if (!existsSync(join(target, 'manifest.json'))) throw error;
        }
      }
      const entry: AssemblyEntry = { version: ASSEMBLY_ENTRY_VERSION, sources: snapshot.sources, assembly, stacks };
      atomicWrite(this.entryFile(key), `${JSON.stringify(entry)}\n`);
    } catch (error) {
      if (error instanceof AssemblyCacheError) throw error;
      throw new AssemblyCacheError(`cannot write ${this.dir}: ${(error as Error).message}`, error);
    }
    this.prune();
    return true;
  }

  /** Copies a cached assembly into outdir, as app.synth() would have written it. */
  restore(hit: AssemblyHit, outdir: string): void {
    copyAssembly(hit.dir, outdir);
  }

  /** Removes assemblies unused for a week, and the oldest beyond MAX_ASSEMBLIES; never one used in the last minutes. */
  prune(now = Date.now()): void {
    const assemblies = safeReaddir(this.dir)
      .filter((name) => /^[0-9a-f]{32}$/.test(name))
      .map((name) => ({ name, mtime: mtimeOf(join(this.dir, name)) }))
      .sort((a, b) => b.mtime - a.mtime);
    assemblies.forEach(({ name, mtime }, index) => {
      const age = now - mtime;
      if (age > IN_USE_MS && (age > MAX_AGE_MS || index >= MAX_ASSEMBLIES)) rmSync(join(this.dir, name), { recursive: true, force: true });
    });
    // Temp directories left by an interrupted store, and entries whose assembly is gone.
    for (const name of safeReaddir(this.dir)) {
      if (name.endsWith('.tmp') && now - mtimeOf(join(this.dir, name)) > IN_USE_MS) rmSync(join(this.dir, name), { recursive: true, force: true });
    }
    for (const name of safeReaddir(join(this.dir, 'entries'))) {
      const file = join(this.dir, 'entries', name);
      if (now - mtimeOf(file) <= IN_USE_MS) continue;
      try {
        const entry = JSON.parse(readFileSync(file, 'utf8')) as AssemblyEntry;
        if (existsSync(join(this.dir, entry.assembly))) continue;
      } catch {
        // unreadable: remove
      }
      rmSync(file, { force: true });
    }
  }
}

/**
 * The files of the assembly in `from` (manifest.json names them: templates, asset manifests, metadata,
 * tree, and the asset directories those manifests point at), copied into `to`. Anything else an older
 * synth left in the directory is not part of this assembly and is not copied.
 */
export function copyAssembly(from: string, to: string): void {
  const manifest = JSON.parse(readFileSync(join(from, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { type?: string; properties?: { file?: string; templateFile?: string }; additionalMetadataFile?: string }>;
  };
  const files = new Set<string>(['manifest.json']);
  for (const name of ['cdk.out', 'validation-report.json']) if (existsSync(join(from, name))) files.add(name);
  for (const artifact of Object.values(manifest.artifacts ?? {})) {
    for (const file of [artifact.properties?.file, artifact.properties?.templateFile, artifact.additionalMetadataFile]) if (file) files.add(file);
    if (artifact.type === 'cdk:asset-manifest' && artifact.properties?.file) {
      const assets = JSON.parse(readFileSync(join(from, artifact.properties.file), 'utf8')) as { files?: Record<string, { source?: { path?: string } }> };
      for (const asset of Object.values(assets.files ?? {})) if (asset.source?.path) files.add(asset.source.path);
    }
  }
  makeDirectory(to);
  for (const file of files) {
    if (file.includes('..') || file.startsWith('/')) throw new AssemblyCacheError(`the assembly names a file outside itself: ${file}`);
    const source = join(from, file);
    if (!existsSync(source)) continue;
    const target = join(to, file);
    if (statSync(source).isDirectory()) rmSync(target, { recursive: true, force: true });
    cpSync(source, target, { recursive: true });
  }
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
