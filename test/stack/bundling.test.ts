// The one place the stack tests pay for real bundling: buildZipBundles() (one esbuild pass, a reuse
// cache), the templates that point at its output, and each bundle imported and run in a fresh process.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlatformApp } from '../../src/stack/app.ts';
import { buildZipBundles, PROJECT_ROOT, type BundleReport, type ZipBundles } from '../../src/stack/bundling/build.ts';
import { sha256 } from '../../src/stack/bundling/cache.ts';
import { ZIP_HANDLERS, type ZipHandler } from '../../src/stack/bundling/handlers.ts';
import { STAGE, tempOutdir, removeOutdirs, type CfnResourceJson } from './fixture.ts';

const run = promisify(execFile);
const work = mkdtempSync(path.join(tmpdir(), 'watchpoint-bundling-test-'));
afterAll(() => {
  removeOutdirs();
  rmSync(work, { recursive: true, force: true });
});

type Resources = Record<string, CfnResourceJson & { Metadata?: Record<string, unknown> }>;

function templateOf(bundles: ZipBundles | undefined): { outdir: string; resources: Resources } {
  const outdir = tempOutdir();
  const { app, platformStack } = createPlatformApp({ envName: 'dev', stage: STAGE, imageTag: 'v1', outdir, nag: false, ...(bundles ? { bundles } : { bundling: false }) });
  const assembly = app.synth();
  return { outdir, resources: (assembly.getStackByName(platformStack.stackName).template as { Resources: Resources }).Resources };
}

const zipFunctions = (resources: Resources) =>
  Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Runtime === 'nodejs24.x');

/** The asset hash CDK gives a custom-hashed asset: sha256 of the custom hash. */
const cdkAssetHash = (bundleHash: string) => sha256(bundleHash);

describe('zip bundles: one esbuild pass, used by the stack', () => {
  let report: BundleReport;
  let real: ReturnType<typeof templateOf>;
  const cacheDir = path.join(work, 'cache');

  beforeAll(async () => {
    report = await buildZipBundles({ cacheDir });
    real = templateOf(report.bundles);
  }, 120_000);

  it('builds all six handlers in one esbuild build, into content-addressed directories', () => {
    expect(report.esbuildBuilds).toBe(1);
    expect(report.built.sort()).toEqual([...ZIP_HANDLERS].sort());
    for (const handler of ZIP_HANDLERS) {
      const bundle = report.bundles[handler];
      expect(path.basename(bundle.dir)).toBe(bundle.hash);
      expect(readdirSync(bundle.dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      const code = readFileSync(path.join(bundle.dir, 'index.mjs'), 'utf8');
      expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
      // The AWS SDK is bundled, not loaded from the runtime's node_modules.
      expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
      expect(code).toContain('//# sourceMappingURL=index.mjs.map');
    }
  });

  it('points every zip function at its bundle, with the asset hash derived from the bundle bytes', () => {
    const functions = zipFunctions(real.resources);
    expect(functions).toHaveLength(6);
    const byHash = new Map(Object.values(report.bundles).map((b) => [cdkAssetHash(b.hash), b]));
    for (const [, fn] of functions) {
      const key = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
      const bundle = byHash.get(key);
      expect(bundle, `no bundle for asset ${key}`).toBeDefined();
      expect(fn.Properties.Handler).toBe('index.handler');
      // The staged asset is exactly the bundle.
      const staged = path.join(real.outdir, `asset.${key}`);
      for (const file of ['index.mjs', 'index.mjs.map']) expect(readFileSync(path.join(staged, file)).equals(readFileSync(path.join(bundle!.dir, file)))).toBe(true);
    }
  });

  it('synthesizes the same resources as with bundling skipped, apart from the functions\' asset keys (and the ids of their versions, which hash the code)', () => {
    // A `live` alias's version (CDK's currentVersion) has a logical id ending in a hash of the function's code.
    const withoutCodeHash = (resources: Record<string, any>): Record<string, any> => JSON.parse(JSON.stringify(resources).replace(/(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}/g, '$1'));
    const skipped = withoutCodeHash(templateOf(undefined).resources);
    const bundled = withoutCodeHash(real.resources);
    expect(JSON.stringify(real.resources)).toMatch(/CurrentVersion[0-9A-F]{8}[0-9a-f]{32}/);
    expect(Object.keys(bundled).sort()).toEqual(Object.keys(skipped).sort());
    for (const [id, resource] of Object.entries(bundled)) {
      const other = skipped[id]!;
      if (resource.Type === 'AWS::Lambda::Function' && resource.Properties.Runtime === 'nodejs24.x') {
        const { Code: code, ...props } = resource.Properties;
        const { Code: otherCode, ...otherProps } = other.Properties;
        expect(props, id).toEqual(otherProps);
        expect(code.S3Bucket, id).toEqual(otherCode.S3Bucket);
        expect(Object.keys(code).sort(), id).toEqual(['S3Bucket', 'S3Key']);
        expect(code.S3Key, id).not.toEqual(otherCode.S3Key);
        // Only the asset's path and hash differ in the metadata.
        expect(Object.keys(resource.Metadata ?? {}).sort(), id).toEqual(Object.keys(other.Metadata ?? {}).sort());
      } else {
        expect(resource, id).toEqual(other);
      }
    }
  });

  it('imports each bundle in a fresh Node process and runs its handler', async () => {
    const closed = 'http://127.0.0.1:9';
    const env = {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL: closed,
      AWS_MAX_ATTEMPTS: '1',
      APP_ENV: 'test',
      DATABASE_URL_SSM_PARAM: '/test/watchpoint/database/url',
      ADMIN_API_KEY_SSM_PARAM: '/test/watchpoint/security/admin_api_key',
      RUNPOD_API_KEY_SSM_PARAM: '/test/watchpoint/forecast/runpod_api_key',
      RUNPOD_ENDPOINT_ID: 'abc123xyz',
      FORECAST_BUCKET: 'forecasts',
      ARCHIVE_BUCKET: 'archive',
      EMAIL_SENDER_SSM_PARAM: '/test/watchpoint/email/sender',
      METRIC_NAMESPACE: 'WatchPoint',
      ...Object.fromEntries(['SQS_EVAL_URGENT', 'SQS_EVAL_STANDARD', 'SQS_NOTIFICATIONS', 'SQS_NOTIFICATIONS_EMAIL', 'SQS_NOTIFICATIONS_WEBHOOK', 'SQS_DLQ'].map((name) => [name, `${closed}/123456789012/q`])),
    };
    const health = { version: '2.0', rawPath: '/health', headers: {}, requestContext: { requestId: 'r1', http: { method: 'GET', path: '/health', sourceIp: '127.0.0.1' } } };
    // Events that exercise each handler without a database or AWS: what it answers shows its code ran.
    const cases: Record<ZipHandler, { event: unknown; expect: (line: Record<string, any>) => void }> = {
      api: {
        event: health,
        // The health route answers without a database, and reports the unreachable one (through the bundled SSM client).
        expect: (line) => {
          expect(line.ok).toBe(true);
          expect(line.result.statusCode).toBe(503);
          expect(JSON.parse(line.result.body)).toMatchObject({ status: 'unavailable', checks: { config: { status: 'ok' }, database: { status: 'failed' } } });
        },
      },
      batcher: { event: { Records: [] }, expect: (line) => expect(line).toEqual({ ok: true, result: null }) },
      'data-poller': {
        event: {},
        // The poll reads the database URL from SSM first: the bundled client tried the (closed) endpoint.
        expect: (line) => {
          expect(line.ok).toBe(false);
          expect(line.message).toMatch(/ECONNREFUSED|database/i);
        },
      },
      archiver: {
        event: { task: 'nope' },
        expect: (line) => expect(line).toMatchObject({ ok: false, name: 'UnknownTaskError', message: expect.stringContaining('"nope"') }),
      },
      'email-worker': { event: { Records: [] }, expect: (line) => expect(line).toEqual({ ok: true, result: { batchItemFailures: [] } }) },
      'webhook-worker': { event: { Records: [] }, expect: (line) => expect(line).toEqual({ ok: true, result: { batchItemFailures: [] } }) },
    };
    const fixture = path.join(PROJECT_ROOT, 'test', 'fixtures', 'invoke-bundle.mjs');
    await Promise.all(
      ZIP_HANDLERS.map(async (handler) => {
        const bundle = path.join(report.bundles[handler].dir, 'index.mjs');
        const { stdout } = await run(process.execPath, ['--enable-source-maps', fixture, bundle, JSON.stringify(cases[handler].event)], { env, timeout: 60_000 });
        const last = stdout.trim().split('\n').at(-1)!;
        cases[handler].expect(JSON.parse(last));
      }),
    );
  }, 120_000);

  it('reuses every bundle when nothing changed: no esbuild build, same directories', async () => {
    const again = await buildZipBundles({ cacheDir });
    expect(again.esbuildBuilds).toBe(0);
    expect(again.built).toEqual([]);
    for (const handler of ZIP_HANDLERS) {
      expect(again.bundles[handler]).toMatchObject({ reused: true, hash: report.bundles[handler].hash, dir: report.bundles[handler].dir });
    }
  });
});

describe('the reuse cache never serves a bundle built from changed source', () => {
  // A copy of the project's sources (node_modules linked), so the test can edit them.
  const project = path.join(work, 'project');
  const cacheDir = path.join(work, 'project-cache');
  const sign = path.join(project, 'src', 'lambdas', 'webhook-worker', 'sign.ts');

  beforeAll(() => {
    mkdirSync(path.join(project, 'src'), { recursive: true });
    // Timestamps kept: a file modified just before a build is (rightly) not trusted by the next one.
    // All of src/: the handlers also import modules outside src/lambdas (src/sleep.ts).
    cpSync(path.join(PROJECT_ROOT, 'src'), path.join(project, 'src'), { recursive: true, preserveTimestamps: true });
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json']) cpSync(path.join(PROJECT_ROOT, file), path.join(project, file), { preserveTimestamps: true });
    symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(project, 'node_modules'));
  });

  it('rebuilds only the handler whose import two levels deep changed, even with size and mtime kept', async () => {
    const first = await buildZipBundles({ projectRoot: project, cacheDir });
    expect(first.built).toHaveLength(6);
    const before = readFileSync(path.join(first.bundles['webhook-worker'].dir, 'index.mjs'), 'utf8');
    expect(before).toContain('WatchPoint-Signature');

    // webhook-worker/index.ts -> worker.ts -> sign.ts. A same-length edit with the old mtime put back,
    // so neither size nor time gives it away: only the content does.
    const { mtime, atime } = statSync(sign);
    const source = readFileSync(sign, 'utf8');
    writeFileSync(sign, source.replace("'WatchPoint-Signature'", "'WatchPoint-Signaturx'"));
    utimesSync(sign, atime, mtime);

    const second = await buildZipBundles({ projectRoot: project, cacheDir });
    expect(second.esbuildBuilds).toBe(1);
    expect(second.built).toEqual(['webhook-worker']);
    const changed = second.bundles['webhook-worker'];
    expect(changed.reused).toBe(false);
    expect(changed.hash).not.toBe(first.bundles['webhook-worker'].hash);
    const after = readFileSync(path.join(changed.dir, 'index.mjs'), 'utf8');
    expect(after).toContain('WatchPoint-Signaturx');
    expect(after).not.toContain('WatchPoint-Signature');
    for (const handler of ZIP_HANDLERS.filter((h) => h !== 'webhook-worker')) {
      expect(second.bundles[handler]).toMatchObject({ reused: true, hash: first.bundles[handler].hash });
    }

    // The stack uses the new bundle: a new asset key for the webhook worker only.
    const { resources, outdir } = templateOf(second.bundles);
    const keys = zipFunctions(resources).map(([, fn]) => String(fn.Properties.Code.S3Key).replace(/\.zip$/, ''));
    expect(keys).toContain(cdkAssetHash(changed.hash));
    expect(keys).not.toContain(cdkAssetHash(first.bundles['webhook-worker'].hash));
    expect(readFileSync(path.join(outdir, `asset.${cdkAssetHash(changed.hash)}`, 'index.mjs'), 'utf8')).toContain('WatchPoint-Signaturx');

    // Putting the old source back serves the old bundle again, from the cache's content-addressed directory.
    writeFileSync(sign, source);
    const third = await buildZipBundles({ projectRoot: project, cacheDir });
    expect(third.bundles['webhook-worker'].hash).toBe(first.bundles['webhook-worker'].hash);
  }, 120_000);

  it('rebuilds when a module whose constant minification inlined changes (a module the output lists no bytes of)', async () => {
    // esbuild inlines short constants (numbers, booleans, short strings) across modules, and its
    // per-output `inputs` then leave out the module they came from: only the import graph says the
    // bundle was built from it.
    const entry = path.join(project, 'src', 'lambdas', 'webhook-worker', 'index.ts');
    const marker = path.join(project, 'src', 'lambdas', 'webhook-worker', 'review-marker.ts');
    const source = readFileSync(entry, 'utf8');
    const { atime, mtime } = statSync(entry);
    const hourAgo = new Date(Date.now() - 3_600_000);
    writeFileSync(marker, "export const REVIEW_LIMIT = 1234;\n");
    writeFileSync(entry, `import { REVIEW_LIMIT } from './review-marker.ts';\nexport const reviewLimit = (): number => REVIEW_LIMIT;\n${source}`);
    // Old mtimes, so the next build trusts them and only their content can say they changed.
    for (const file of [marker, entry]) utimesSync(file, hourAgo, hourAgo);
    try {
      const first = await buildZipBundles({ projectRoot: project, cacheDir });
      expect(readFileSync(path.join(first.bundles['webhook-worker'].dir, 'index.mjs'), 'utf8')).toMatch(/\(\)=>1234\b/);

      writeFileSync(marker, "export const REVIEW_LIMIT = 5678;\n");
      utimesSync(marker, hourAgo, hourAgo);
      const second = await buildZipBundles({ projectRoot: project, cacheDir });
      expect(second.built).toEqual(['webhook-worker']);
      expect(readFileSync(path.join(second.bundles['webhook-worker'].dir, 'index.mjs'), 'utf8')).toMatch(/\(\)=>5678\b/);
    } finally {
      // Its old mtime too, so the next test's builds trust it as before.
      writeFileSync(entry, source);
      utimesSync(entry, atime, mtime);
      rmSync(marker, { force: true });
    }
  }, 120_000);

  it('reports a syntax error with esbuild\'s file and line, and keeps the last good bundle in the cache', async () => {
    const good = await buildZipBundles({ projectRoot: project, cacheDir });
    const file = path.join(project, 'src', 'lambdas', 'archiver', 'tasks.ts');
    const source = readFileSync(file, 'utf8');
    writeFileSync(file, `${source}\nexport const broken = ;\n`);
    try {
      await expect(buildZipBundles({ projectRoot: project, cacheDir })).rejects.toMatchObject({
        name: 'BundleError',
        message: expect.stringMatching(/esbuild could not bundle (?:[a-z-]+, )*archiver(?:, [a-z-]+)*:[\s\S]*src\/lambdas\/archiver\/tasks\.ts:\d+:\d+/),
      });
    } finally {
      writeFileSync(file, source);
    }
    const again = await buildZipBundles({ projectRoot: project, cacheDir });
    expect(again.bundles.archiver.hash).toBe(good.bundles.archiver.hash);
  }, 120_000);

  it('survives deleting a bundle directory or the whole cache: the missing bundles are rebuilt, byte for byte', async () => {
    const warm = await buildZipBundles({ projectRoot: project, cacheDir });
    rmSync(warm.bundles.api.dir, { recursive: true, force: true });
    // Bundles no entry points at: an old one is pruned after a build, a recent one is kept.
    const stale = path.join(cacheDir, '0'.repeat(32));
    const recent = path.join(cacheDir, '1'.repeat(32));
    for (const dir of [stale, recent]) mkdirSync(dir);
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(stale, hourAgo, hourAgo);
    const partial = await buildZipBundles({ projectRoot: project, cacheDir });
    expect(partial.built).toEqual(['api']);
    expect(partial.bundles.api.hash).toBe(warm.bundles.api.hash);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    for (const handler of ZIP_HANDLERS) expect(existsSync(partial.bundles[handler].dir)).toBe(true);

    rmSync(cacheDir, { recursive: true, force: true });
    const cold = await buildZipBundles({ projectRoot: project, cacheDir });
    expect(cold.built).toHaveLength(6);
    for (const handler of ZIP_HANDLERS) expect(cold.bundles[handler].hash).toBe(warm.bundles[handler].hash);
    expect(existsSync(path.join(cacheDir, 'entries', 'api.json'))).toBe(true);
  }, 120_000);

  it('does not reuse what another checkout built into a shared cache: the source map points into this one', async () => {
    // The first suite built this repository's bundles into `shared`; the copy has the same sources.
    const shared = path.join(work, 'cache');
    await buildZipBundles({ cacheDir: shared, handlers: ['api'] });
    const copy = await buildZipBundles({ projectRoot: project, cacheDir: shared, handlers: ['api'] });
    expect(copy.built).toEqual(['api']);
    const map = JSON.parse(readFileSync(path.join(copy.bundles.api.dir, 'index.mjs.map'), 'utf8')) as { sources: string[] };
    const own = map.sources.filter((source) => source.includes('src/lambdas/')).map((source) => path.resolve(copy.bundles.api.dir, source));
    expect(own.length).toBeGreaterThan(0);
    for (const source of own) expect(source.startsWith(path.join(project, 'src', 'lambdas'))).toBe(true);
  }, 120_000);
});
