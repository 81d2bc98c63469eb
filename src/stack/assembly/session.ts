// One synth's use of the assembly cache (cache.ts): the key for its inputs, then either a hit to copy
// or, on a miss, the sources' hashes taken before the app loads and a store() for once it passed.
// Used by `synth`/`diff`/`deploy`/`destroy` (src/cli/commands/synth.ts) and the start of `watchpoint dev`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StageConfig } from '../../config/schema.ts';
import { PROJECT_ROOT } from '../bundling/build.ts';
import { appContext } from '../context.ts';
import { AssemblyCache, AssemblyCacheError, defaultAssemblyCacheDir, fixedKey, keyParts, type AssemblyEntry, type AssemblyHit } from './cache.ts';

export interface AssemblyCacheRequest {
  envName: string;
  /** The stage config values the app is given. */
  stage: unknown;
  imageTag: string;
  /** handler -> bundle hash, or null when the functions point at their sources (bundling skipped). */
  bundles: Record<string, string> | null;
  nag: boolean;
  pathMetadata: boolean;
  /** The environment the CDK reads. */
  env: NodeJS.ProcessEnv;
  /** Default $WATCHPOINT_SYNTH_CACHE or node_modules/.cache/watchpoint/assemblies; false: no cache. */
  dir?: string | false;
  projectRoot?: string;
  /** A cache that cannot be read or written is said here, and is then a miss. */
  warn?: (text: string) => void;
}

export interface AssemblyCacheSession {
  /** Set when nothing the assembly is built from changed. */
  hit?: AssemblyHit;
  /** Copies the hit into outdir. */
  restore(outdir: string): void;
  /** After a synth into outdir that passed (cdk-nag included): keeps it for the next command. */
  store(outdir: string, stacks: AssemblyEntry['stacks']): void;
}

export async function openAssemblyCache(request: AssemblyCacheRequest): Promise<AssemblyCacheSession | undefined> {
  if (request.dir === false) return undefined;
  const projectRoot = request.projectRoot ?? PROJECT_ROOT;
  const dir = request.dir ?? defaultAssemblyCacheDir(request.env, projectRoot);
  const warn = (what: string, error: unknown) =>
    request.warn?.(`The synth cache ${dir} ${what} (${error instanceof Error ? error.message : String(error)}); synthesizing without it. Set WATCHPOINT_SYNTH_CACHE to a writable directory to get it back.`);
  const cache = new AssemblyCache(dir, projectRoot);
  let key: string;
  let hit: AssemblyHit | undefined;
  try {
    key = fixedKey(
      keyParts(
        {
          envName: request.envName,
          stage: request.stage,
          imageTag: request.imageTag,
          bundling: request.bundles !== null,
          nag: request.nag,
          pathMetadata: request.pathMetadata,
          bundles: request.bundles,
          context: appContext({ pathMetadata: request.pathMetadata }),
        },
        { projectRoot, env: request.env, cacheDir: dir },
      ),
    );
    hit = cache.lookup(key);
  } catch (error) {
    if (!(error instanceof AssemblyCacheError)) throw error;
    warn('cannot be read', error);
    return undefined;
  }
  if (hit) {
    const found = hit;
    return { hit: found, restore: (outdir) => cache.restore(found, outdir), store: () => undefined };
  }
  // A source esbuild cannot parse fails the synth itself with the real error; nothing is stored then.
  const snapshot = await cache.snapshot().catch(() => undefined);
  if (!snapshot) return undefined;
  return {
    restore: () => undefined,
    store: (outdir, stacks) => {
      try {
        cache.store(key, snapshot, outdir, stacks);
      } catch (error) {
        if (!(error instanceof AssemblyCacheError)) throw error;
        warn('cannot be written', error);
      }
    },
  };
}

/**
 * The templates of an offline synth with no bundling and no cdk-nag, for commands that only read
 * them (the start of `watchpoint dev`, `capacity`), through the assembly cache: a hit reads the
 * cached templates; a miss (or a hit that cannot be read) synthesizes into a temp dir, stores the
 * assembly for the next run and reads it there.
 */
export async function readTemplatesThroughCache<T>(input: {
  envName: string;
  /** The stage as the key sees it. */
  stage: unknown;
  /** The stage the app is built with; default `stage` parsed by the stage schema (only on a miss). */
  appStage?: StageConfig;
  imageTag: string;
  env: NodeJS.ProcessEnv;
  warn?: (text: string) => void;
  read: (dir: string, stacks: AssemblyEntry['stacks']) => T;
}): Promise<T & { cached: boolean }> {
  const cached = await openAssemblyCache({ envName: input.envName, stage: input.stage, imageTag: input.imageTag, bundles: null, nag: false, pathMetadata: true, env: input.env, ...(input.warn ? { warn: input.warn } : {}) });
  if (cached?.hit) {
    try {
      return { ...input.read(cached.hit.dir, cached.hit.entry.stacks), cached: true };
    } catch (error) {
      input.warn?.(`The cached templates of ${input.envName} could not be read (${(error as Error).message}); synthesizing.`);
    }
  }
  const [{ createPlatformApp }, { stageConfigSchema }] = await Promise.all([import('../app.ts'), import('../../config/schema.ts')]);
  const stage = input.appStage ?? stageConfigSchema.parse(input.stage);
  const outdir = mkdtempSync(join(tmpdir(), `watchpoint-${input.envName}-cdk-`));
  try {
    const { app, platformStack, registryStack } = createPlatformApp({ envName: input.envName, stage, imageTag: input.imageTag, bundling: false, nag: false, pathMetadata: true, outdir });
    app.synth();
    const stacks = [registryStack, platformStack].map((stack) => ({ name: stack.stackName, templateFile: stack.templateFile }));
    cached?.store(outdir, stacks);
    return { ...input.read(outdir, stacks), cached: false };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
