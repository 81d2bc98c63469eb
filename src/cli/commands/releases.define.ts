import type { Command } from 'commander';
import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands over: each flag declared once, below. */
export interface ReleasesFlags extends CommonOptions {
  limit?: string;
  json?: boolean;
}

export interface ReleasesShowFlags extends CommonOptions {
  json?: boolean;
}

export const defineReleases: DefineCommand = (program, definer) => {
  const releases = stageOptions(
    program
      .command('releases')
      .description('List the environment\'s recorded releases (every deploy and rollback), newest first, and which can be restored (read-only).')
      .option('-n, --limit <n>', 'show the newest N releases (1-1000, default 20)')
      .option('--json', 'print the full records as one JSON document (schemaVersion 1) on stdout and nothing else')
      .addHelpText(
        'after',
        `
The ledger is the S3 bucket watchpoint-<env>-ledger-<account>-<region> in the registry stack
(docs/releases.md). "*" marks the current release (the newest that succeeded); a release is
restorable while its templates, its zip assets (CDK bootstrap bucket) and its image (ECR) exist.
Exit codes: 0 listed; 1 AWS error; 2 bad flag, or the environment has no ledger yet.

Examples:
  watchpoint releases --env prod
  watchpoint releases --env prod --limit 5 --json | jq '.releases[] | {sequence, outcome}'
  watchpoint releases show 41 --env prod`,
      ),
  ).action(async (flags: ReleasesFlags) => {
    const { parseReleasesOptions, runReleases } = await import('./releases.ts');
    definer.exit(await runReleases(parseReleasesOptions(flags, definer.context(flags))));
  });
  stageOptions(
    releases
      .command('show')
      .argument('<number>', 'the release number (the # column of `watchpoint releases`)')
      .description('One release in full, and what restoring it would change against the current release.')
      .option('--json', 'print the record and the diff as JSON on stdout and nothing else'),
  ).action(async (number: string, _flags: ReleasesShowFlags, command: Command) => {
    // `releases` declares the same stage flags, and commander gives them to it wherever they appear.
    const flags = command.optsWithGlobals<ReleasesShowFlags>();
    const { parseReleasesShowOptions, runReleasesShow } = await import('./releases.ts');
    definer.exit(await runReleasesShow(parseReleasesShowOptions(number, flags, definer.context(flags))));
  });
};
