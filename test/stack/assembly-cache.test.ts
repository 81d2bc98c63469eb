// The cloud-assembly cache (issue 23): each kind of input in the key invalidates it (each test changes
// only that input, so it fails if that input is taken out of the key), the sources half follows the
// import graph, and the bundle cache's safety rules hold. One real synth pair shows a hit serves the
// same templates without building the app.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { AssemblyCache, AssemblyCacheError, fixedKey, keyParts, type AssemblyRequest } from '../../src/stack/assembly/cache.ts';
import { appContext } from '../../src/stack/context.ts';
import { synthesize } from '../../src/cli/commands/synth.ts';
import { STAGE } from './fixture.ts';

const work = mkdtempSync(join(tmpdir(), 'watchpoint-assembly-cache-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A small project: the app imports a construct, which imports a module outside src/stack; src/config holds the schema. */
function project(name: string): string {
  const root = join(work, name);
  rmSync(root, { recursive: true, force: true });
  const files: Record<string, string> = {
    'src/stack/app.ts': "import { queue } from './constructs/queues.ts';\nexport const app = () => queue();\n",
    'src/stack/constructs/queues.ts': "import { retention } from '../../shared/limits.ts';\nexport const queue = () => ({ retention });\n",
    'src/shared/limits.ts': 'export const retention = 14;\n',
    'src/config/schema.ts': "export const defaults = { region: 'eu-west-1' };\n",
    'src/unrelated.ts': 'export const x = 1;\n',
    'package-lock.json': '{"lockfileVersion":3}\n',
    'node_modules/aws-cdk-lib/package.json': '{"version":"2.276.0"}\n',
    'node_modules/cdk-nag/package.json': '{"version":"3.0.2"}\n',
    'node_modules/constructs/package.json': '{"version":"10.8.1"}\n',
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** An assembly as app.synth() lays it out: manifest, template, asset manifest and one asset directory. */
function fakeAssembly(dir: string, body = 'v1'): void {
  mkdirSync(join(dir, 'asset.abc'), { recursive: true });
  writeFileSync(join(dir, 'asset.abc', 'index.mjs'), `export const body = '${body}';\n`);
  writeFileSync(join(dir, 's.template.json'), JSON.stringify({ Resources: { body } }));
  writeFileSync(join(dir, 's.assets.json'), JSON.stringify({ files: { abc: { source: { path: 'asset.abc' } } } }));
  writeFileSync(join(dir, 'cdk.out'), '{"version":"55.0.0"}');
  writeFileSync(join(dir, 'left-over-from-an-older-synth.json'), '{}');
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({ artifacts: { 's.assets': { type: 'cdk:asset-manifest', properties: { file: 's.assets.json' } }, s: { type: 'aws:cloudformation:stack', properties: { templateFile: 's.template.json' } } } }),
  );
}

const request: AssemblyRequest = {
  envName: 'dev',
  stage: { region: 'eu-west-1', alertEmail: 'oncall@example.com', runPodEndpointId: 'abc' },
  imageTag: 'v1',
  bundling: true,
  nag: true,
  pathMetadata: false,
  bundles: { api: 'aaaa', batcher: 'bbbb' },
  context: appContext({ pathMetadata: false }),
};

describe('assembly cache key: every kind of input changes it', () => {
  let root: string;
  const cacheDir = join(work, 'key-cache');
  const keyOf = (req: AssemblyRequest = request, env: NodeJS.ProcessEnv = {}, projectRoot = root) => fixedKey(keyParts(req, { projectRoot, env, cacheDir }));
  beforeEach(() => {
    root = project('key');
  });

  it('is stable: the same inputs give the same key, whatever the order of the stage config keys', () => {
    const reordered = { ...request, stage: { runPodEndpointId: 'abc', alertEmail: 'oncall@example.com', region: 'eu-west-1' } };
    expect(keyOf(reordered)).toBe(keyOf());
  });

  it.each([
    ['a stage config value', { stage: { ...(request.stage as object), alertEmail: 'other@example.com' } }],
    ['the env name', { envName: 'prod' }],
    ['the image tag', { imageTag: 'v2' }],
    ['the bundling flag', { bundling: false, bundles: null }],
    ['the cdk-nag flag', { nag: false }],
    ['the path-metadata flag', { pathMetadata: true }],
    ['a zip bundle hash', { bundles: { api: 'aaaa', batcher: 'cccc' } }],
    ['a CDK feature flag', { context: { ...request.context, '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': false } }],
    ['a new CDK context value', { context: { ...request.context, '@aws-cdk/core:newStyleStackSynthesis': true } }],
  ] as const)('%s', (_what, change) => {
    expect(keyOf({ ...request, ...change } as AssemblyRequest)).not.toBe(keyOf());
  });

  it('the lockfile', () => {
    const before = keyOf();
    writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n');
    expect(keyOf()).not.toBe(before);
  });

  it.each(['aws-cdk-lib', 'cdk-nag', 'constructs'])('the %s version', (name) => {
    const before = keyOf();
    writeFileSync(join(root, 'node_modules', name, 'package.json'), '{"version":"9.9.9"}\n');
    expect(keyOf()).not.toBe(before);
  });

  it('the environment variables the CDK reads (CDK_CONTEXT_JSON, CDK_DISABLE_STACK_TRACE), and not others', () => {
    const before = keyOf(request, { HOME: '/root' });
    expect(keyOf(request, { HOME: '/root', CDK_CONTEXT_JSON: '{"x":1}' })).not.toBe(before);
    expect(keyOf(request, { HOME: '/root', CDK_DISABLE_STACK_TRACE: '1' })).not.toBe(before);
    expect(keyOf(request, { HOME: '/elsewhere', PATH: '/bin' })).toBe(before);
  });

  it('the project directory (the assembly metadata holds paths into it), so two checkouts never swap assemblies', () => {
    const other = project('key-other-checkout');
    expect(keyOf(request, {}, other)).not.toBe(keyOf());
  });

  it('a version that cannot be read is a cache error (a miss and a warning), not a key without it', () => {
    rmSync(join(root, 'node_modules', 'cdk-nag'), { recursive: true });
    expect(() => keyOf()).toThrow(AssemblyCacheError);
  });
});

describe('assembly cache: sources, store and lookup', () => {
  let root: string;
  let cacheDir: string;
  let cache: AssemblyCache;
  const key = 'k'.repeat(32);
  const outdir = () => {
    const dir = mkdtempSync(join(work, 'out-'));
    fakeAssembly(dir);
    return dir;
  };
  beforeEach(() => {
    root = project('sources');
    cacheDir = join(work, `cache-${Math.random().toString(36).slice(2)}`);
    cache = new AssemblyCache(cacheDir, root);
  });

  it('records the import graph from src/stack/app.ts (transitive, outside src/stack too) and src/config, nothing else', async () => {
    const snapshot = await cache.snapshot();
    expect(Object.keys(snapshot.sources)).toEqual(['src/config/schema.ts', 'src/shared/limits.ts', 'src/stack/app.ts', 'src/stack/constructs/queues.ts']);
  });

  it('hits when nothing changed and restores only the assembly\'s own files', async () => {
    expect(cache.store(key, await cache.snapshot(), outdir(), [{ name: 's', templateFile: 's.template.json' }])).toBe(true);
    const hit = cache.lookup(key);
    expect(hit?.entry.stacks).toEqual([{ name: 's', templateFile: 's.template.json' }]);
    const target = join(work, `restored-${Math.random()}`);
    cache.restore(hit!, target);
    expect(readFileSync(join(target, 's.template.json'), 'utf8')).toContain('v1');
    expect(readFileSync(join(target, 'asset.abc', 'index.mjs'), 'utf8')).toContain('v1');
    expect(existsSync(join(target, 'left-over-from-an-older-synth.json'))).toBe(false);
  });

  it.each([
    ['the app module', 'src/stack/app.ts'],
    ['a construct it imports', 'src/stack/constructs/queues.ts'],
    ['a module outside src/stack the construct imports', 'src/shared/limits.ts'],
    ['a src/config module', 'src/config/schema.ts'],
  ])('misses when %s changes', async (_what, file) => {
    cache.store(key, await cache.snapshot(), outdir(), []);
    writeFileSync(join(root, file), `${readFileSync(join(root, file), 'utf8')}// edited\n`);
    expect(cache.lookup(key)).toBeUndefined();
  });

  it('still hits when a file the app does not import changes', async () => {
    cache.store(key, await cache.snapshot(), outdir(), []);
    writeFileSync(join(root, 'src/unrelated.ts'), 'export const x = 2;\n');
    expect(cache.lookup(key)).toBeDefined();
  });

  it('stores nothing when a source changed while the app was being built', async () => {
    const snapshot = await cache.snapshot();
    writeFileSync(join(root, 'src/shared/limits.ts'), 'export const retention = 7;\n');
    expect(cache.store(key, snapshot, outdir(), [])).toBe(false);
    expect(cache.lookup(key)).toBeUndefined();
  });

  it('an unreadable entry is a cache error (the caller warns and synthesizes), a missing one a plain miss', () => {
    expect(cache.lookup(key)).toBeUndefined();
    mkdirSync(join(cacheDir, 'entries', `${key}.json`), { recursive: true });
    expect(() => cache.lookup(key)).toThrow(AssemblyCacheError);
  });

  it('an unwritable cache is a cache error, and leaves no half-written entry', async () => {
    writeFileSync(join(work, 'a-file'), '');
    const blocked = new AssemblyCache(join(work, 'a-file', 'cache'), root);
    await expect(async () => blocked.store(key, await blocked.snapshot(), outdir(), [])).rejects.toThrow(AssemblyCacheError);
    expect(blocked.lookup(key)).toBeUndefined();
  });

  it('a store interrupted before its rename is never served, and its temp directory is pruned once old', async () => {
    const snapshot = await cache.snapshot();
    cache.store(key, snapshot, outdir(), []);
    const stale = join(cacheDir, 'f'.repeat(32) + '.123.abcd.tmp');
    cpSync(outdir(), stale, { recursive: true });
    const old = new Date(Date.now() - 3600_000);
    utimesSync(stale, old, old);
    cache.prune();
    expect(existsSync(stale)).toBe(false);
    expect(cache.lookup(key)).toBeDefined();
  });

  it('prunes assemblies unused for a week and entries left pointing at nothing; keeps recent ones', async () => {
    cache.store(key, await cache.snapshot(), outdir(), []);
    const assembly = cache.lookup(key)!.dir;
    const young = join(cacheDir, '0'.repeat(32));
    cpSync(assembly, young, { recursive: true });
    const weekOld = new Date(Date.now() - 8 * 24 * 3600_000);
    utimesSync(assembly, weekOld, weekOld);
    utimesSync(join(cacheDir, 'entries', `${key}.json`), weekOld, weekOld);
    cache.prune();
    expect(existsSync(assembly)).toBe(false);
    expect(existsSync(join(cacheDir, 'entries', `${key}.json`))).toBe(false);
    expect(existsSync(young)).toBe(true);
  });

  it('two checkouts share one cache directory: each stores and hits its own assembly', async () => {
    const otherRoot = project('sources-other');
    writeFileSync(join(otherRoot, 'src/shared/limits.ts'), 'export const retention = 3;\n');
    const other = new AssemblyCache(cacheDir, otherRoot);
    const keyA = fixedKey(keyParts(request, { projectRoot: root, env: {}, cacheDir }));
    const keyB = fixedKey(keyParts(request, { projectRoot: otherRoot, env: {}, cacheDir }));
    const outB = mkdtempSync(join(work, 'out-'));
    fakeAssembly(outB, 'v2');
    cache.store(keyA, await cache.snapshot(), outdir(), []);
    other.store(keyB, await other.snapshot(), outB, []);
    expect(readFileSync(join(cache.lookup(keyA)!.dir, 's.template.json'), 'utf8')).toContain('v1');
    expect(readFileSync(join(other.lookup(keyB)!.dir, 's.template.json'), 'utf8')).toContain('v2');
  });
});

describe('synthesize() with the assembly cache (one real synth, then a hit)', () => {
  it('the second synth with nothing changed copies the same templates without building the app; a bad cache warns and synthesizes', async () => {
    const cacheDir = join(work, 'real-cache');
    const run = async (out: string, dir: string | false = cacheDir) => {
      const warnings: string[] = [];
      const result = await synthesize({ envName: 'cachetest', stage: STAGE, imageTag: 'v1', outdir: join(work, out), bundling: false, assemblyCacheDir: dir, env: {}, warn: (text) => warnings.push(text) });
      return { result, warnings };
    };
    const first = await run('first');
    expect(first.result.assembly).toBe('synthesized');
    const second = await run('second');
    expect(second.result.assembly).toBe('cached');
    expect(second.warnings).toEqual([]);
    for (const [a, b] of first.result.stacks.map((stack, i) => [stack.templatePath, second.result.stacks[i]!.templatePath])) {
      expect(readFileSync(b!, 'utf8')).toBe(readFileSync(a!, 'utf8'));
    }
    // A cache that cannot be written: a warning naming the cache and the setting, and a real synth.
    rmSync(join(cacheDir, 'entries'), { recursive: true });
    writeFileSync(join(cacheDir, 'entries'), 'not a directory');
    const third = await run('third');
    expect(third.result.assembly).toBe('synthesized');
    expect(third.warnings.join('\n')).toMatch(/synth cache .* cannot be written .*WATCHPOINT_SYNTH_CACHE/s);
  }, 120_000);
});
