import type { Command } from 'commander';
import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands `image build|push`: each flag declared once, below. */
export interface ImageFlags extends CommonOptions {
  containerCli?: string;
  imageTag?: string;
}

export const defineImage: DefineCommand = (program, definer) => {
  const image = program.command('image').description('Build or push the eval-worker container image (tag = content hash of its inputs).');
  const common = (command: Command) =>
    stageOptions(command)
      .option('--container-cli <cli>', 'container CLI: docker, podman, finch or buildah (default: first of these on PATH)')
      .option('--image-tag <tag>', 'use this tag instead of the content hash');
  common(image.command('build').description('Build the image for linux/arm64 locally (no AWS calls).')).action(async (flags: ImageFlags) => {
    const { parseImageOptions, runImage } = await import('./image.ts');
    definer.exit(await runImage(parseImageOptions('build', flags, definer.context(flags))));
  });
  common(image.command('push').description('Push the image to the ECR repository; skips build and push when ECR has the tag.')).action(async (flags: ImageFlags) => {
    const { parseImageOptions, runImage } = await import('./image.ts');
    definer.exit(await runImage(parseImageOptions('push', flags, definer.context(flags))));
  });
};
