// `watchpoint synth`: the stacks' CloudFormation templates, offline, through an in-process app.synth().
import { relative, resolve, isAbsolute } from 'node:path';
import { ExitCode, WatchpointError } from '../errors.ts';
import type { AppStage } from '../../config/schema.ts';
import type { BundleReport } from '../../stack/bundling/build.ts';
import { resolveStage, type CommandContext } from '../context.ts';
import { validateImageTag } from '../deploy/image-tag.ts';
import { flagError, runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import { prepareOutputDirectory } from '../out-dir.ts';
import type { SynthFlags } from './synth.define.ts';

/** Everything `synth` runs on, validated. */
export interface SynthOptions extends Runtime {
  /** --out as given (error messages quote it) and resolved against the cwd. */
  out: string;
  outdir: string;
  imageTag: string;
  json: boolean;
  /** One line per bundle (hash, size, built or reused) and esbuild's warnings. */
  verbose: boolean;
}

/** The flag contract: --image-tag and --out checked once, before the config file or any work (exit 2 naming the flag). */
export function parseSynthOptions(flags: SynthFlags, context: CommandContext & Injectable): SynthOptions {
  validateImageTag(flags.imageTag);
  if (flags.out.trim() === '') throw flagError('--out', 'is empty.', 'Give a directory, e.g. --out cdk.out.', 'OUT_INVALID');
  return {
    ...runtimeOf(context),
    out: flags.out,
    outdir: resolve(context.cwd, flags.out),
    imageTag: flags.imageTag,
    json: Boolean(flags.json),
    verbose: Boolean(flags.verbose || context.verbose),
  };
}

export interface SynthResult {
  env: string;
  region: string;
  outdir: string;
  stacks: { name: string; templatePath: string }[];
  /** The zip bundles the templates point at (empty when bundling was skipped). */
  bundles: { handler: string; hash: string; bytes: number; reused: boolean }[];
  /** Wall times in ms: the bundling step (0 when skipped) and app.synth() (cdk-nag included), or the copy of a cached assembly. */
  timings: { bundleMs: number; synthMs: number };
  /** "cached": nothing the assembly is built from changed, so the last one was copied; "synthesized": built now. */
  assembly: 'cached' | 'synthesized';
}

export async function runSynth(context: SynthOptions): Promise<number> {
  const { io, cwd, outdir } = context;
  // Flags are valid (parseSynthOptions); the config next.
  const { envName, stage } = await resolveStage(context);
  // Fails at once, exit 2, on a file, a read-only place or a path mkdir cannot make (/proc/...).
  prepareOutputDirectory('--out', context.out, outdir);

  io.notify('info', `Synthesizing environment "${envName}" (${stage.region}) into ${shown(cwd, outdir)} ...`);
  const result = await synthesize({
    envName,
    stage,
    imageTag: context.imageTag,
    outdir,
    progress: (text) => io.notify('info', text),
    verbose: context.verbose,
    bundleCacheDir: await bundleCacheDirFor(context.env),
    warn: (text) => io.notify('warn', text),
    env: context.env,
  });

  if (context.json) {
    io.result(JSON.stringify(result, null, 2));
  } else {
    const width = Math.max(...result.stacks.map((stack) => stack.name.length));
    for (const stack of result.stacks) io.result(`${stack.name.padEnd(width)}  ${shown(cwd, stack.templatePath)}`);
  }
  return ExitCode.ok;
}

export async function synthesize(input: {
  envName: string;
  stage: AppStage;
  imageTag: string;
  outdir: string;
  /** Default true; false skips esbuild bundling of the zip functions (tests, destroy). */
  bundling?: boolean;
  /** Where the bundling step reports, in one line (or one per bundle with `verbose`). */
  progress?: (text: string) => void;
  verbose?: boolean;
  /** The bundle cache; default $WATCHPOINT_BUNDLE_CACHE or node_modules/.cache/watchpoint/bundles. */
  bundleCacheDir?: string;
  /**
   * The assembly cache (src/stack/assembly/cache.ts); default $WATCHPOINT_SYNTH_CACHE or
   * node_modules/.cache/watchpoint/assemblies; false synthesizes every time.
   */
  assemblyCacheDir?: string | false;
  /** The environment the CDK would read (CDK_*, JSII_*); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where a cache that cannot be read or written is reported (it is then a miss, never a failure). */
  warn?: (text: string) => void;
}): Promise<SynthResult> {
  const bundled = input.bundling === false ? undefined : await bundle(input);
  const synthStarted = performance.now();
  const result = (stacks: SynthResult['stacks'], assembly: SynthResult['assembly']): SynthResult => ({
    env: input.envName,
    region: input.stage.region,
    outdir: input.outdir,
    stacks,
    bundles: Object.values(bundled?.bundles ?? {}).map(({ handler, hash, bytes, reused }) => ({ handler, hash, bytes, reused })),
    timings: { bundleMs: bundled?.totalMs ?? 0, synthMs: performance.now() - synthStarted },
    assembly,
  });
  const { openAssemblyCache } = await import('../../stack/assembly/session.ts');
  const cached = await openAssemblyCache({
    envName: input.envName,
    stage: input.stage,
    imageTag: input.imageTag,
    bundles: bundled ? Object.fromEntries(Object.values(bundled.bundles).map((b) => [b.handler, b.hash])) : null,
    nag: true,
    pathMetadata: false,
    env: input.env ?? process.env,
    ...(input.assemblyCacheDir === undefined ? {} : { dir: input.assemblyCacheDir }),
    ...(input.warn ? { warn: input.warn } : {}),
  });
  if (cached?.hit) {
    try {
      cached.restore(input.outdir);
      input.progress?.('Cloud assembly: nothing it is built from changed; reused from the cache (no synth).');
      return result(cached.hit.entry.stacks.map((stack) => ({ name: stack.name, templatePath: resolve(input.outdir, stack.templateFile) })), 'cached');
    } catch (error) {
      input.warn?.(`Could not copy the cached cloud assembly into ${input.outdir} (${error instanceof Error ? error.message : String(error)}); synthesizing instead.`);
    }
  }
  const { createPlatformApp } = await import('../../stack/app.ts');
  const { app, registryStack, platformStack } = createPlatformApp({
    envName: input.envName,
    stage: input.stage,
    imageTag: input.imageTag,
    outdir: input.outdir,
    ...(bundled ? { bundles: bundled.bundles } : { bundling: false }),
  });
  let assembly;
  try {
    assembly = app.synth();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/validation/i.test(message)) {
      throw new WatchpointError('The stack failed its policy validation (cdk-nag AwsSolutions).', {
        code: 'SYNTH_VALIDATION_FAILED',
        fault: 'system',
        fix: `Read ${resolve(input.outdir, 'validation-report.json')}, then fix the construct or acknowledge the finding with its reason.`,
        cause: error,
      });
    }
    throw new WatchpointError('Synthesis failed.', { code: 'SYNTH_FAILED', fault: 'system', cause: error });
  }
  const stacks = [registryStack, platformStack].map((stack) => ({
    name: stack.stackName,
    templatePath: assembly.getStackByName(stack.stackName).templateFullPath,
  }));
  // Only now: the synth passed cdk-nag (an open finding throws above), so the assembly may be reused.
  cached?.store(input.outdir, stacks.map((stack) => ({ name: stack.name, templateFile: relative(input.outdir, stack.templatePath) })));
  return result(stacks, 'synthesized');
}

/** The zip bundles for this synth: one esbuild pass over the handlers whose inputs changed, the rest reused. */
async function bundle(input: { progress?: (text: string) => void; verbose?: boolean; bundleCacheDir?: string }): Promise<BundleReport> {
  const { buildZipBundles, BundleCacheError, BundleError } = await import('../../stack/bundling/build.ts');
  const say = input.progress ?? (() => undefined);
  let report: BundleReport;
  try {
    report = await buildZipBundles({
      ...(input.bundleCacheDir ? { cacheDir: input.bundleCacheDir } : {}),
      onBuildStart: (handlers) => say(`Bundling ${handlers.join(', ')} (esbuild, one pass) ...`),
    });
  } catch (error) {
    if (error instanceof BundleError) {
      throw new WatchpointError(error.message, {
        code: 'BUNDLE_FAILED',
        fault: 'user',
        exitCode: ExitCode.failure,
        fix: 'Fix the source at the file and line esbuild names above (`npx tsc --noEmit -p tsconfig.json` shows type errors too), then run the command again.',
        cause: error,
      });
    }
    if (error instanceof BundleCacheError) {
      throw new WatchpointError(error.message, {
        code: 'BUNDLE_CACHE_UNWRITABLE',
        fault: 'user',
        exitCode: ExitCode.failure,
        fix: 'Point WATCHPOINT_BUNDLE_CACHE at a writable directory (e.g. export WATCHPOINT_BUNDLE_CACHE=$HOME/.cache/watchpoint-bundles), or fix the permissions of this one.',
        cause: error,
      });
    }
    throw error;
  }
  say(bundleSummary(report));
  if (input.verbose) {
    for (const b of Object.values(report.bundles)) {
      say(`  ${b.handler.padEnd(15)} ${kb(b.bytes).padStart(7)}  ${b.reused ? 'reused' : 'built '}  ${b.dir}`);
    }
    for (const warning of report.warnings) say(`esbuild: ${warning}`);
  } else if (report.warnings.length > 0) {
    say(`esbuild reported ${report.warnings.length} warning(s); --verbose shows them.`);
  }
  return report;
}

/** The bundle cache for a command's environment ($WATCHPOINT_BUNDLE_CACHE, else under node_modules/.cache). */
export async function bundleCacheDirFor(env: NodeJS.ProcessEnv): Promise<string> {
  const { defaultBundleCacheDir } = await import('../../stack/bundling/build.ts');
  return defaultBundleCacheDir(env);
}

/** One line for the whole bundling step. */
export function bundleSummary(report: BundleReport): string {
  const all = Object.values(report.bundles);
  const size = kb(all.reduce((sum, b) => sum + b.bytes, 0));
  const reused = all.length - report.built.length;
  if (report.built.length === 0) return `Bundles: all ${all.length} unchanged, reused from the cache (${size}).`;
  const seconds = (report.buildMs / 1000).toFixed(1);
  return `Bundles: built ${report.built.join(', ')} in ${seconds} s${reused > 0 ? `, reused ${reused} unchanged` : ''} (${size}).`;
}

function kb(bytes: number): string {
  return `${Math.round(bytes / 1024)} KB`;
}

function shown(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
