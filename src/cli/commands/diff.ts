// `watchpoint diff`: synthesize once, then toolkit-lib's diff of each stack against what is deployed.
import { resolveStage, stackNames, type CommandContext } from '../context.ts';
import { ExitCode } from '../errors.ts';
import { explainAwsError } from '../stack-resources.ts';
import { imageTag, evalWorkerInputs, validateImageTag, type ImageInputs } from '../deploy/image-tag.ts';
import { diffSummary } from '../deploy/policy.ts';
import type { CloudPort } from '../deploy/ports.ts';
import { projectRoot, workPaths } from '../deploy/support.ts';
import { createToolkitCloud } from '../deploy/toolkit.ts';
import { runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import type { DiffFlags } from './diff.define.ts';

export interface DiffContext extends CommandContext {
  imageTag?: string | undefined;
  json: boolean;
}

export interface DiffInjections {
  cloud?: CloudPort;
  imageInputs?: ImageInputs;
  bundling?: boolean;
}

/** Everything `diff` runs on, validated. */
export interface DiffOptions extends Runtime {
  cloud: CloudPort | undefined;
  imageInputs: ImageInputs | undefined;
  /** false skips esbuild bundling of the zip functions (tests). */
  bundling: boolean | undefined;
  imageTag: string | undefined;
  json: boolean;
}

/** The flag contract: --image-tag checked once, before any synth or AWS call (exit 2 naming it). */
export function parseDiffOptions(flags: DiffFlags, context: CommandContext & Injectable & DiffInjections): DiffOptions {
  validateImageTag(flags.imageTag);
  return {
    ...runtimeOf(context),
    imageTag: flags.imageTag,
    json: Boolean(flags.json),
    cloud: context.cloud,
    imageInputs: context.imageInputs,
    bundling: context.bundling,
  };
}

/** Raw flags, context and injections (tests): parse, then run. */
export function diffCommand(context: DiffContext, injected: DiffInjections = {}): Promise<number> {
  return runDiff(parseDiffOptions({ imageTag: context.imageTag, json: context.json }, { ...context, ...injected }));
}

export async function runDiff(context: DiffOptions): Promise<number> {
  const { io, cwd } = context;
  const injected = context;
  const { envName, stage } = await resolveStage(context);
  const tag = context.imageTag ?? (await imageTag(injected.imageInputs ?? evalWorkerInputs(projectRoot()))).tag;
  const { assemblyDir } = workPaths(cwd, envName);
  io.notify('info', `Synthesizing "${envName}" (${stage.region}) with image tag ${tag} ...`);
  const { synthesize, bundleCacheDirFor } = await import('./synth.ts');
  // One synthesis writes both stacks; both diffs read that one cloud assembly.
  await synthesize({
    envName,
    stage,
    imageTag: tag,
    outdir: assemblyDir,
    progress: (text) => io.notify('info', text),
    verbose: Boolean(context.verbose),
    bundleCacheDir: await bundleCacheDirFor(context.env),
    env: context.env,
    warn: (text) => io.notify('warn', text),
    ...(injected.bundling === false ? { bundling: false } : {}),
  });
  const cloud = injected.cloud ?? (await createToolkitCloud({ notify: (level, text) => io.notify(level, text), region: stage.region }));
  const names = stackNames(envName);
  const diffs = [];
  for (const stackName of [names.registry, names.platform]) {
    try {
      diffs.push(await cloud.diff(assemblyDir, stackName));
    } catch (error) {
      throw explainAwsError(error, { envName });
    }
  }
  if (context.json) {
    io.result(JSON.stringify(diffs.map(({ formatted: _formatted, ...rest }) => rest), null, 2));
  } else {
    for (const diff of diffs) if (diff.changes > 0 && diff.formatted.trim() !== '') io.result(diff.formatted.trimEnd());
    for (const diff of diffs) io.result(diffSummary(diff));
  }
  return ExitCode.ok;
}
