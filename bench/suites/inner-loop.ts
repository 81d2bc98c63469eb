// Issue 23: seconds from an edit to running code. Each figure is a ratio against a COLD synth measured
// in the same run: `watchpoint synth` with the assembly cache emptied before every run (the bundle
// cache warm, so the baseline is today's "nothing changed" synth, which redoes the app and cdk-nag).
// - synth-cache-warm: `watchpoint synth` with nothing changed (assembly cache warm). Budget 0.15x.
// - synth-cache-dry-run: `deploy --dry-run` with nothing changed (bench/suites/deploy-child.ts: the
//   preflight and the diffs against AWS mocked, toolkit-lib loaded), assembly cache warm. Budget 0.3x.
// - synth-cache-dev-start: `watchpoint dev` start to ready (API answering), every cache warm. Budget 0.3x.
// - dev-watch-reload: save to serving under `dev --watch` vs one esbuild build of that bundle. Budget 2x.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compare, median, report, type Command } from '../harness.ts';
import { bin, node, root } from '../paths.ts';
import { BENCH_STAGE_FLAGS } from '../stage.ts';
import { devStartOnce } from './dev.ts';

function withWork<T>(body: (work: string) => Promise<T>): Promise<T> {
  const work = mkdtempSync(join(tmpdir(), 'watchpoint-bench-inner-'));
  return body(work).finally(() => rmSync(work, { recursive: true, force: true }));
}

function caches(work: string): NodeJS.ProcessEnv {
  return { ...process.env, CI: 'true', WATCHPOINT_BUNDLE_CACHE: join(work, 'bundles'), WATCHPOINT_SYNTH_CACHE: join(work, 'assemblies') };
}

function synthCommand(work: string, label: string, cold: boolean): Command {
  const out = join(work, cold ? 'cold-out' : 'warm-out');
  const env = caches(work);
  return {
    label,
    argv: [node, bin, 'synth', ...BENCH_STAGE_FLAGS, '--image-tag', 'bench', '--config', join(work, 'none.json'), '--out', out],
    env: cold ? { ...env, WATCHPOINT_SYNTH_CACHE: join(work, 'cold-assemblies') } : env,
    before: () => {
      rmSync(out, { recursive: true, force: true });
      if (cold) rmSync(join(work, 'cold-assemblies'), { recursive: true, force: true });
    },
  };
}

/** Fills the bundle cache and the assembly cache once: every warm run after finds nothing changed. */
function seed(work: string, out = join(work, 'seed')): void {
  const seeded = spawnSync(node, [bin, 'synth', ...BENCH_STAGE_FLAGS, '--image-tag', 'bench', '--config', join(work, 'none.json'), '--out', out], { stdio: ['ignore', 'ignore', 'pipe'], env: caches(work) });
  if (seeded.status !== 0) throw new Error(`seed synth failed: ${seeded.stderr}`);
}

export async function warm(): Promise<boolean> {
  return withWork(async (work) => {
    seed(work);
    return report(
      'warm watchpoint synth (nothing changed: the cached assembly) vs cold synth (assembly cache empty, bundles warm)',
      compare(synthCommand(work, 'watchpoint synth, cold (baseline)', true), synthCommand(work, 'watchpoint synth, warm assembly cache', false), { runs: 3, warmup: 1 }),
      0.15,
    );
  });
}

export async function dryRun(): Promise<boolean> {
  return withWork(async (work) => {
    // The "deployed" templates the offline diff compares with: the same stacks, so nothing changed.
    const deployed = join(work, 'deployed');
    seed(work, deployed);
    const cwd = join(work, 'cwd');
    mkdirSync(cwd);
    return report(
      'deploy --dry-run with nothing changed (assembly cache warm; AWS mocked) vs cold synth',
      compare(
        synthCommand(work, 'watchpoint synth, cold (baseline)', true),
        // NODE_COMPILE_CACHE: V8's code cache on disk, which bin/watchpoint turns on for every run
        // (the synth baseline has it); the child runs from source, so it is turned on here.
        { label: 'deploy --dry-run (bench/suites/deploy-child.ts)', argv: [node, join(root, 'bench', 'suites', 'deploy-child.ts'), cwd, deployed], env: { ...caches(work), NODE_COMPILE_CACHE: join(tmpdir(), 'node-compile-cache') }, before: () => rmSync(join(cwd, '.watchpoint'), { recursive: true, force: true }) },
        { runs: 3, warmup: 1 },
      ),
      0.3,
    );
  });
}

export async function devStart(): Promise<boolean> {
  return withWork(async (work) => {
    const cwd = join(work, 'dev');
    mkdirSync(cwd);
    const cold = synthCommand(work, 'cold synth', true);
    const coldOnce = (): number => {
      cold.before?.();
      const started = performance.now();
      const result = spawnSync(cold.argv[0], cold.argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: cold.env });
      if (result.status !== 0) throw new Error(`cold synth exited ${result.status}: ${result.stderr?.toString().slice(-1500)}`);
      return performance.now() - started;
    };
    // `watchpoint dev` reads WATCHPOINT_SYNTH_CACHE from its environment: the bench's own, warmed by one start.
    const saved = process.env.WATCHPOINT_SYNTH_CACHE;
    process.env.WATCHPOINT_SYNTH_CACHE = join(work, 'assemblies');
    try {
      coldOnce();
      await devStartOnce(cwd);
      const synth: number[] = [];
      const dev: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        if (i % 2 === 0) {
          synth.push(coldOnce());
          dev.push(await devStartOnce(cwd));
        } else {
          dev.push(await devStartOnce(cwd));
          synth.push(coldOnce());
        }
      }
      const ratio = median(dev) / median(synth);
      const ok = ratio <= 0.3;
      console.log('watchpoint dev start to ready, every cache warm, vs cold synth (assembly cache empty, bundles warm)');
      console.log(`  watchpoint synth, cold (baseline)    median ${median(synth).toFixed(0).padStart(6)} ms   runs ${synth.map((v) => v.toFixed(0)).join(', ')}`);
      console.log(`  watchpoint dev, start to ready, warm median ${median(dev).toFixed(0).padStart(6)} ms   runs ${dev.map((v) => v.toFixed(0)).join(', ')}`);
      console.log(`  ratio ${ratio.toFixed(2)}x (budget 0.3x): ${ok ? 'PASS' : 'OVER BUDGET'}\n`);
      return ok;
    } finally {
      if (saved === undefined) delete process.env.WATCHPOINT_SYNTH_CACHE;
      else process.env.WATCHPOINT_SYNTH_CACHE = saved;
    }
  });
}

/**
 * dev-watch-reload: in a temp copy of src/lambdas, `watchpoint dev --watch`'s reload of the archiver
 * (one string edited in archiver/tasks.ts, as synth-rebuild edits it) from the file write to a fresh
 * container serving the new code, against one esbuild build of that one bundle with the deploy's
 * options (BUNDLE_OPTIONS). Budget 2x.
 */
export async function watchReload(): Promise<boolean> {
  const [{ FunctionHost }, { startHandlerWatch }, { BUNDLE_OPTIONS }, esbuild] = await Promise.all([
    import('../../src/dev/function-host.ts'),
    import('../../src/dev/watch.ts'),
    import('../../src/stack/bundling/build.ts'),
    import('esbuild'),
  ]);
  return withWork(async (work) => {
    const project = join(work, 'project');
    mkdirSync(join(project, 'src'), { recursive: true });
    cpSync(join(root, 'src', 'lambdas'), join(project, 'src', 'lambdas'), { recursive: true });
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json']) cpSync(join(root, file), join(project, file));
    symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'));
    const tasks = join(project, 'src', 'lambdas', 'archiver', 'tasks.ts');
    const original = readFileSync(tasks, 'utf8');
    if (!original.includes('Archiver event must be')) throw new Error(`the benchmark's edit no longer applies to ${tasks}`);
    const host = new FunctionHost({ name: 'ArchiverFunction', modulePath: join(project, 'src', 'lambdas', 'archiver', 'index.ts'), timeoutSeconds: 60, memoryMb: 256, concurrency: 1, arn: 'arn:aws:lambda:us-east-1:000000000000:function:archiver' }, () => undefined);
    host.configure({ PATH: process.env.PATH ?? '', POWERTOOLS_LOG_LEVEL: 'SILENT' });
    await host.start();
    let resolveReload: ((ms: number) => void) | undefined;
    const watcher = startHandlerWatch({ root: project, functions: [{ host, handlerDir: 'archiver' }], log: () => undefined, onReload: (event) => event.reloaded.length > 0 && resolveReload?.(event.totalMs) });
    try {
      await watcher.ready;
      const build = async (): Promise<number> => {
        const started = performance.now();
        await esbuild.build({ ...BUNDLE_OPTIONS, entryPoints: [join(project, 'src', 'lambdas', 'archiver', 'index.ts')], outdir: join(work, 'esbuild-out'), absWorkingDir: project, write: false, logLevel: 'silent' });
        return performance.now() - started;
      };
      const reload = async (i: number): Promise<number> => {
        const reloaded = new Promise<number>((resolve) => (resolveReload = resolve));
        const started = performance.now();
        writeFileSync(tasks, original.replace('Archiver event must be', `Archiver event (${i}) must be`));
        await reloaded;
        const ms = performance.now() - started;
        // The fresh container runs the edited code.
        const answer = await host.invoke({ task: 'bogus' }).then(() => '', (error: Error) => error.message);
        if (!answer.includes(`Archiver event (${i}) must be`)) throw new Error(`after reload ${i} the archiver answered: ${answer}`);
        return ms;
      };
      await build();
      await reload(0);
      const builds: number[] = [];
      const reloads: number[] = [];
      for (let i = 1; i <= 5; i += 1) {
        builds.push(await build());
        reloads.push(await reload(i));
      }
      const ratio = median(reloads) / median(builds);
      const ok = ratio <= 2;
      console.log('watchpoint dev --watch: save to the new code serving (archiver/tasks.ts edited) vs one esbuild build of that bundle');
      console.log(`  esbuild build of the archiver bundle   median ${median(builds).toFixed(0).padStart(6)} ms   runs ${builds.map((v) => v.toFixed(0)).join(', ')}`);
      console.log(`  save -> fresh container serving        median ${median(reloads).toFixed(0).padStart(6)} ms   runs ${reloads.map((v) => v.toFixed(0)).join(', ')}`);
      console.log(`  ratio ${ratio.toFixed(2)}x (budget 2x): ${ok ? 'PASS' : 'OVER BUDGET'}\n`);
      return ok;
    } finally {
      await watcher.close();
      await host.stop();
    }
  });
}
