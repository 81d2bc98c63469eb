import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands `diff`: each flag declared once, below. */
export interface DiffFlags extends CommonOptions {
  imageTag?: string;
  json?: boolean;
}

export const defineDiff: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('diff')
      .description('Show what `watchpoint deploy` would change in both stacks (synthesizes, then diffs against the deployed templates).')
      .option('--image-tag <tag>', 'eval-worker image tag to diff with (default: the content hash deploy would use)')
      .option('--json', 'print a summary per stack as JSON on stdout'),
  ).action(async (flags: DiffFlags) => {
    const { parseDiffOptions, runDiff } = await import('./diff.ts');
    definer.exit(await runDiff(parseDiffOptions(flags, definer.context(flags))));
  });
};
