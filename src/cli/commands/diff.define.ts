import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

export const defineDiff: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('diff')
      .description('Show what `watchpoint deploy` would change in both stacks (synthesizes, then diffs against the deployed templates).')
      .option('--image-tag <tag>', 'eval-worker image tag to diff with (default: the content hash deploy would use)')
      .option('--json', 'print a summary per stack as JSON on stdout'),
  ).action(async (options: CommonOptions & { imageTag?: string; json?: boolean }) => {
    const { diffCommand } = await import('./diff.ts');
    definer.exit(await diffCommand({ ...definer.context(options), imageTag: options.imageTag, json: Boolean(options.json) }));
  });
};
