// Baselines for the synth benchmarks: the same stacks through a bare in-process app.synth(), no CLI.
// Usage: node bench/bare-synth.ts OUTDIR [--skip-bundling] [--no-nag] [--esbuild-pass] [--cpu]
//   --skip-bundling  the zip functions point at their sources (no bundle is built or read)
//   --no-nag         without the cdk-nag AwsSolutions checks (to measure their share)
//   --esbuild-pass   first one plain esbuild build of the six entry points, written under OUTDIR
//                    (with --skip-bundling: the cold-synth baseline, esbuild pass + bare synth)
//   --cpu            print {"processCpuMs", "synthCpuMs"} on stdout: CPU time of the whole process and
//                    of app.synth() alone (less disturbed by other load on the machine than wall time)
// Without --skip-bundling the bundles come from buildZipBundles() and its cache.
import { join } from 'node:path';
import { stageConfigSchema } from '../src/config/schema.ts';
import { createPlatformApp } from '../src/stack/app.ts';
import { BUNDLE_OPTIONS, PROJECT_ROOT, buildZipBundles } from '../src/stack/bundling/build.ts';
import { ZIP_HANDLERS, handlerEntry } from '../src/stack/bundling/handlers.ts';
import { BENCH_ENV, BENCH_STAGE_INPUT } from './stage.ts';

const [outdir, ...flags] = process.argv.slice(2);
if (!outdir) throw new Error('usage: node bench/bare-synth.ts OUTDIR [--skip-bundling] [--no-nag] [--esbuild-pass]');
const skip = flags.includes('--skip-bundling');
if (flags.includes('--esbuild-pass')) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    ...BUNDLE_OPTIONS,
    entryPoints: Object.fromEntries(ZIP_HANDLERS.map((handler) => [`${handler}/index`, handlerEntry(handler)])),
    outdir: join(outdir, 'esbuild-pass'),
    absWorkingDir: PROJECT_ROOT,
    logLevel: 'silent',
  });
}
const { app } = createPlatformApp({
  envName: BENCH_ENV,
  stage: stageConfigSchema.parse(BENCH_STAGE_INPUT),
  imageTag: 'latest',
  outdir,
  nag: !flags.includes('--no-nag'),
  ...(skip ? { bundling: false } : { bundles: (await buildZipBundles()).bundles }),
});
const before = process.cpuUsage();
app.synth();
if (flags.includes('--cpu')) {
  const ms = ({ user, system }: NodeJS.CpuUsage) => (user + system) / 1000;
  process.stdout.write(`${JSON.stringify({ processCpuMs: ms(process.cpuUsage()), synthCpuMs: ms(process.cpuUsage(before)) })}\n`);
}
