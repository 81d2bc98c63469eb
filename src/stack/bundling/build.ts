// One esbuild pass for the zip functions: every handler whose inputs changed is bundled in a single
// in-process esbuild build (esbuild bundles its entry points in parallel), with the options CDK's
// NodejsFunction used before (ESM, minified, source maps, node24, the AWS SDK bundled). Each output
// goes to a content-addressed directory (cache.ts) that the stack uses through Code.fromAsset, so an
// unchanged bundle keeps its asset hash and is never uploaded again. Handlers whose inputs did not
// change are not built at all.
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Message } from 'esbuild';
import { BUNDLE_FILES, BundleCache, Fingerprints, bundleInputs, makeDirectory, modulesReachedFrom, sha256 } from './cache.ts';
import { ZIP_HANDLERS, handlerEntry, type ZipHandler } from './handlers.ts';

/** The repository root (package.json, src/lambdas, package-lock.json), from this file. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where the bundles are kept between commands: $WATCHPOINT_BUNDLE_CACHE, else under node_modules/.cache. */
export function defaultBundleCacheDir(env: NodeJS.ProcessEnv = process.env, projectRoot = PROJECT_ROOT): string {
  return env.WATCHPOINT_BUNDLE_CACHE || join(projectRoot, 'node_modules', '.cache', 'watchpoint', 'bundles');
}

/**
 * What every zip bundle is built with. `require` is defined by the banner so CommonJS dependencies work
 * inside the ESM bundle; the AWS SDK is bundled too (not left to the runtime's copy), so the SDK version
 * is the one package-lock.json pins and the tests ran against, and one minified file loads about twice
 * as fast (issue 8).
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  sourcemap: true,
  mainFields: ['module', 'main'],
  outExtension: { '.js': '.mjs' },
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
} as const satisfies BuildOptions;

export interface ZipBundle {
  handler: ZipHandler;
  /** Directory holding index.mjs and index.mjs.map; its name is the hash of those bytes. */
  dir: string;
  /** Hash of the bundle's bytes (the directory's name): the asset hash. */
  hash: string;
  /** Size of index.mjs in bytes. */
  bytes: number;
  /** True when no input changed and the cached bundle was used without running esbuild. */
  reused: boolean;
}

export type ZipBundles = Record<ZipHandler, ZipBundle>;

export interface BundleReport {
  bundles: ZipBundles;
  /** Handlers esbuild built in this call (the rest were reused). */
  built: ZipHandler[];
  /** esbuild.build() calls made: 0 when everything was reused, else 1. */
  esbuildBuilds: number;
  /** esbuild's warnings, formatted (file:line), from this call's build. */
  warnings: string[];
  /** Wall time of the esbuild pass, 0 when it did not run. */
  buildMs: number;
  /** Wall time of the whole call, fingerprints included. */
  totalMs: number;
  cacheDir: string;
}

export interface BuildZipBundlesOptions {
  /** Default: this repository. */
  projectRoot?: string;
  /** Default: defaultBundleCacheDir(). */
  cacheDir?: string;
  /** Default: every zip handler. */
  handlers?: readonly ZipHandler[];
  /** Called just before esbuild runs, with the handlers it is about to build. */
  onBuildStart?: (handlers: ZipHandler[]) => void;
}

/** The esbuild build failed; `messages` are esbuild's own, formatted with file and line. */
export class BundleError extends Error {
  readonly messages: string[];
  constructor(handlers: readonly string[], messages: string[], cause?: unknown) {
    super(`esbuild could not bundle ${handlers.join(', ')}:\n${messages.join('\n')}`, { cause });
    this.name = 'BundleError';
    this.messages = messages;
  }
}

/** The bundle cache directory cannot be created or written. */
export class BundleCacheError extends Error {
  readonly dir: string;
  constructor(dir: string, cause: unknown) {
    super(`The bundle cache ${dir} cannot be written: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'BundleCacheError';
    this.dir = dir;
  }
}

export async function buildZipBundles(options: BuildZipBundlesOptions = {}): Promise<BundleReport> {
  const started = performance.now();
  const projectRoot = options.projectRoot ?? PROJECT_ROOT;
  const cache = new BundleCache(options.cacheDir ?? defaultBundleCacheDir(process.env, projectRoot));
  const handlers = [...(options.handlers ?? ZIP_HANDLERS)];
  try {
    makeDirectory(join(cache.dir, 'entries'));
  } catch (error) {
    throw new BundleCacheError(cache.dir, error);
  }
  const esbuild = await import('esbuild');
  // Anything that changes esbuild's output for the same sources: its version, our options, and where
  // the project lies from the cache (the source map's paths), so a cache shared by two checkouts
  // never hands one a bundle whose map points into the other.
  const optionsKey = sha256(JSON.stringify({ esbuild: esbuild.version, options: BUNDLE_OPTIONS, sources: relative(cache.dir, projectRoot) }));
  const fingerprints = new Fingerprints(projectRoot);

  const bundles: Partial<ZipBundles> = {};
  const stale: ZipHandler[] = [];
  for (const handler of handlers) {
    const hit = cache.lookup(handler, optionsKey, fingerprints);
    if (!hit) {
      stale.push(handler);
      continue;
    }
    const dir = cache.outputDir(hit.output);
    bundles[handler] = { handler, dir, hash: hit.output, bytes: fileSize(join(dir, 'index.mjs')), reused: true };
  }

  let buildMs = 0;
  const warnings: string[] = [];
  if (stale.length > 0) {
    options.onBuildStart?.(stale);
    const buildStarted = performance.now();
    const buildStartedAt = Date.now();
    let result;
    try {
      result = await esbuild.build({
        ...BUNDLE_OPTIONS,
        // <cache>/<handler>.build/index.mjs sits as deep as <cache>/<hash>/index.mjs, so the source
        // map's relative paths are right for the directory the bundle is stored in. Nothing is written here.
        entryPoints: Object.fromEntries(stale.map((handler) => [`${handler}.build/index`, handlerEntry(handler)])),
        outdir: cache.dir,
        absWorkingDir: projectRoot,
        write: false,
        metafile: true,
        logLevel: 'silent',
      });
    } catch (error) {
      const errors = (error as { errors?: Message[] }).errors ?? [];
      const text = errors.length > 0 ? await esbuild.formatMessages(errors, { kind: 'error', color: false }) : [String(error)];
      throw new BundleError(stale, text.map((line) => line.trimEnd()), error);
    }
    buildMs = performance.now() - buildStarted;
    warnings.push(...(await esbuild.formatMessages(result.warnings, { kind: 'warning', color: false })).map((text) => text.trimEnd()));
    for (const handler of stale) {
      const outputName = `${handler}.build/index.mjs`;
      const files = BUNDLE_FILES.map((file) => {
        const found = result.outputFiles.find((out) => out.path === join(cache.dir, `${handler}.build`, file));
        if (!found) throw new Error(`esbuild produced no ${handler}.build/${file}`);
        return found.contents;
      });
      const meta = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith(outputName))?.[1];
      if (!meta) throw new Error(`esbuild's metafile has no output for ${handler}`);
      if (!meta.entryPoint) throw new Error(`esbuild's metafile names no entry point for ${handler}`);
      const modules = modulesReachedFrom(result.metafile, meta.entryPoint);
      const inputs = Object.fromEntries(bundleInputs(projectRoot, modules).map((path) => [path, fingerprints.settled(path, buildStartedAt)]));
      const hash = cache.store(handler, optionsKey, files, inputs);
      bundles[handler] = {
        handler,
        dir: cache.outputDir(hash),
        hash,
        bytes: files[0]!.byteLength,
        reused: false,
      };
    }
    cache.prune();
  }
  return {
    bundles: bundles as ZipBundles,
    built: stale,
    esbuildBuilds: stale.length > 0 ? 1 : 0,
    warnings,
    buildMs,
    totalMs: performance.now() - started,
    cacheDir: cache.dir,
  };
}

function fileSize(path: string): number {
  return statSync(path).size;
}
