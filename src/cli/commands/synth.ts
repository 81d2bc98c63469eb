// `watchpoint synth`: the stacks' CloudFormation templates, offline, through an in-process app.synth().
import { relative, resolve, isAbsolute } from 'node:path';
import { ExitCode, WatchpointError, userError } from '../errors.ts';
import type { StageConfig } from '../../config/schema.ts';
import { resolveStage, type CommandContext } from '../context.ts';

/** Docker's rule for a tag. */
const IMAGE_TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface SynthContext extends CommandContext {
  out: string;
  imageTag: string;
  json: boolean;
}

export interface SynthResult {
  env: string;
  region: string;
  outdir: string;
  stacks: { name: string; templatePath: string }[];
}

export async function synthCommand(context: SynthContext): Promise<number> {
  const { io, cwd } = context;
  if (!IMAGE_TAG_PATTERN.test(context.imageTag)) {
    throw userError('IMAGE_TAG_INVALID', `--image-tag "${context.imageTag}" is not a valid image tag.`,
      'Use up to 128 letters, digits, "_", "." and "-", not starting with "." or "-".');
  }
  if (context.out.trim() === '') throw userError('OUT_INVALID', '--out is empty.', 'Give a directory, e.g. --out cdk.out.');
  const { envName, stage } = await resolveStage(context);
  const outdir = resolve(cwd, context.out);

  io.notify('info', `Synthesizing environment "${envName}" (${stage.region}) into ${shown(cwd, outdir)} ...`);
  const result = await synthesize({ envName, stage, imageTag: context.imageTag, outdir });

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
  stage: StageConfig;
  imageTag: string;
  outdir: string;
  /** Default true; false skips esbuild bundling of the zip functions (tests, offline diffs). */
  bundling?: boolean;
}): Promise<SynthResult> {
  const { createPlatformApp } = await import('../../stack/app.ts');
  const { app, registryStack, platformStack } = createPlatformApp({
    envName: input.envName,
    stage: input.stage,
    imageTag: input.imageTag,
    outdir: input.outdir,
    ...(input.bundling === false ? { bundling: false } : {}),
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
  return {
    env: input.envName,
    region: input.stage.region,
    outdir: input.outdir,
    stacks: [registryStack, platformStack].map((stack) => ({
      name: stack.stackName,
      templatePath: assembly.getStackByName(stack.stackName).templateFullPath,
    })),
  };
}

function shown(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
