// Issue 16: synth, diff and deploy in seconds. Every figure is a ratio against a baseline run in the
// same session (interleaved by the harness), with the bundle cache in a temp directory.
// - synth-cold: `watchpoint synth` with an empty bundle cache vs one plain esbuild pass over the six
//   entry points + a bare app.synth() with bundling skipped (one process, bench/bare-synth.ts).
// - synth-warm: `watchpoint synth` with nothing changed vs a bare app.synth() with bundling skipped.
// - synth-rebuild: after an edit to one handler, the esbuild builds made and the handlers rebuilt.
// - synth-nag: cdk-nag's share of a bare synth, in CPU time (measured, no budget: it runs on every synth).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildZipBundles } from '../../src/stack/bundling/build.ts';
import { ZIP_HANDLERS } from '../../src/stack/bundling/handlers.ts';
import { compare, median, report } from '../harness.ts';
import { bin, node, root } from '../paths.ts';
import { BENCH_STAGE_FLAGS } from '../stage.ts';

const bare = join(root, 'bench', 'bare-synth.ts');

function withWork<T>(body: (work: string) => T): T {
  const work = mkdtempSync(join(tmpdir(), 'watchpoint-bench-synth-'));
  try {
    return body(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function cliSynth(work: string, label: string, cache: string, before?: () => void) {
  const out = join(work, 'cli');
  return {
    label,
    argv: [node, bin, 'synth', ...BENCH_STAGE_FLAGS, '--config', join(work, 'none.json'), '--out', out] as [string, ...string[]],
    env: { ...process.env, WATCHPOINT_BUNDLE_CACHE: cache },
    before: () => {
      rmSync(out, { recursive: true, force: true });
      before?.();
    },
  };
}

function bareSynth(work: string, label: string, flags: string[]) {
  const out = join(work, `bare${flags.join('')}`);
  return { label, argv: [node, bare, out, ...flags] as [string, ...string[]], before: () => rmSync(out, { recursive: true, force: true }) };
}

export async function cold(): Promise<boolean> {
  return withWork((work) => {
    const cache = join(work, 'cache');
    return report(
      'cold watchpoint synth (empty bundle cache) vs one esbuild pass + bare app.synth() with bundling skipped',
      compare(
        bareSynth(work, 'esbuild pass + bare synth (bundling skipped)', ['--skip-bundling', '--esbuild-pass']),
        cliSynth(work, 'watchpoint synth, empty cache', cache, () => rmSync(cache, { recursive: true, force: true })),
        { runs: 5, warmup: 1 },
      ),
      1.3,
    );
  });
}

export async function warm(): Promise<boolean> {
  return withWork((work) => {
    const cache = join(work, 'cache');
    // Fill the cache once; every timed run then finds nothing changed.
    const seeded = spawnSync(node, [bin, 'synth', ...BENCH_STAGE_FLAGS, '--config', join(work, 'none.json'), '--out', join(work, 'seed')], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WATCHPOINT_BUNDLE_CACHE: cache } });
    if (seeded.status !== 0) throw new Error(`seed synth failed: ${seeded.stderr}`);
    return report(
      'warm watchpoint synth (nothing changed) vs bare app.synth() with bundling skipped',
      compare(bareSynth(work, 'bare synth (bundling skipped)', ['--skip-bundling']), cliSynth(work, 'watchpoint synth, warm cache', cache), { runs: 5, warmup: 1 }),
      1.3,
    );
  });
}

export async function rebuild(): Promise<boolean> {
  const work = mkdtempSync(join(tmpdir(), 'watchpoint-bench-rebuild-'));
  try {
    // A copy of the sources (node_modules linked) that can be edited; timestamps kept, as a checkout's are.
    const project = join(work, 'project');
    mkdirSync(join(project, 'src'), { recursive: true });
    cpSync(join(root, 'src', 'lambdas'), join(project, 'src', 'lambdas'), { recursive: true, preserveTimestamps: true });
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json']) cpSync(join(root, file), join(project, file), { preserveTimestamps: true });
    symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'));
    const cacheDir = join(work, 'cache');
    const coldRun = await buildZipBundles({ projectRoot: project, cacheDir });
    const warmRun = await buildZipBundles({ projectRoot: project, cacheDir });
    // One handler changes: a string the bundle keeps (the archiver's unknown-task message).
    const file = join(project, 'src', 'lambdas', 'archiver', 'tasks.ts');
    const source = readFileSync(file, 'utf8');
    const edited = source.replace('Archiver event must be', 'Archiver events must be');
    if (edited === source) throw new Error(`the benchmark's edit no longer applies to ${file}`);
    writeFileSync(file, edited);
    const changed = await buildZipBundles({ projectRoot: project, cacheDir });
    const ok = warmRun.esbuildBuilds === 0 && changed.esbuildBuilds === 1 && changed.built.length === 1 && changed.built[0] === 'archiver' && !changed.bundles.archiver.reused;
    const row = (label: string, r: typeof coldRun) =>
      `  ${label.padEnd(38)} esbuild builds ${r.esbuildBuilds}   rebuilt ${String(r.built.length).padStart(1)} of ${ZIP_HANDLERS.length} (${r.built.join(', ') || 'none'})   ${r.totalMs.toFixed(0).padStart(5)} ms`;
    console.log('bundles rebuilt after one handler changes (buildZipBundles on a copy of src/lambdas)');
    console.log(row('cold (empty cache)', coldRun));
    console.log(row('nothing changed', warmRun));
    console.log(row('archiver/tasks.ts edited', changed));
    console.log(`  only the archiver rebuilt, in one esbuild build; nothing built when nothing changed: ${ok ? 'PASS' : 'FAIL'}\n`);
    return ok;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function nag(): Promise<boolean> {
  return withWork((work) => {
    // CPU time, read by each child itself: a share of work, which other load on the machine moves far
    // less than wall time. Alternating runs, medians.
    const sample = (flags: string[]) => {
      const out = join(work, 'nag-out');
      rmSync(out, { recursive: true, force: true });
      const result = spawnSync(node, [bare, out, '--skip-bundling', '--cpu', ...flags], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`bare synth failed: ${result.stderr}`);
      return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { processCpuMs: number; synthCpuMs: number };
    };
    sample([]);
    const withNag: { processCpuMs: number; synthCpuMs: number }[] = [];
    const without: typeof withNag = [];
    for (let i = 0; i < 6; i += 1) {
      if (i % 2 === 0) {
        withNag.push(sample([]));
        without.push(sample(['--no-nag']));
      } else {
        without.push(sample(['--no-nag']));
        withNag.push(sample([]));
      }
    }
    const m = (runs: typeof withNag, key: 'processCpuMs' | 'synthCpuMs') => median(runs.map((r) => r[key]));
    const nagMs = m(withNag, 'synthCpuMs') - m(without, 'synthCpuMs');
    console.log("cdk-nag's share of a synth (it runs on every synth; CPU time, measured, no budget)");
    for (const [label, runs] of [['bare synth, no cdk-nag (bundling skipped)', without], ['bare synth with cdk-nag (bundling skipped)', withNag]] as const) {
      console.log(`  ${label.padEnd(44)} app.synth() ${m(runs, 'synthCpuMs').toFixed(0).padStart(6)} ms CPU   whole process ${m(runs, 'processCpuMs').toFixed(0).padStart(6)} ms CPU   (n=${runs.length})`);
    }
    console.log(`  cdk-nag: ${nagMs.toFixed(0)} ms CPU, ${((nagMs / m(withNag, 'synthCpuMs')) * 100).toFixed(0)}% of app.synth(), ${((nagMs / m(withNag, 'processCpuMs')) * 100).toFixed(0)}% of the bare synth process\n`);
    return true;
  });
}
