import { Option } from 'commander';
import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands over: each flag declared once, below. */
export interface RollbackFlags extends CommonOptions {
  to?: string;
  dryRun?: boolean;
}

export const defineRollback: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('rollback')
      .description('Restore an earlier release: its recorded templates and parameters go back through CloudFormation change sets (no synth, no bundling, no image build).')
      .option('--to <n>', 'the release number to restore (default: the newest succeeded release before the current one)')
      .option('--dry-run', 'check everything and show what would go back; create and change nothing')
      .addOption(new Option('-y, --yes', 'confirm without asking (needed without a terminal)'))
      .addHelpText(
        'after',
        `
It shows each stack's change set and asks first; for prod you type the environment name. Database
migrations are NOT reverted: when some ran after the target release, it lists them and asks you to
confirm that the old code will run against the newer schema. It refuses (exit 2, before any change)
when a deploy or rollback is in progress, when the target's template, zip assets or image are gone,
when the target is the current release, and when a stack is in a state CloudFormation cannot update
from (the message says what to do). The rollback is recorded as a new release, "rollback to #N".
Exit codes: 0 restored (or nothing to do, or declined); 1 failed (the stack's state is shown);
2 bad input, a refusal, or a confirmation needed without a terminal (pass --yes); 130 interrupted
(CloudFormation keeps going; the state is shown).

Examples:
  watchpoint rollback --env prod --dry-run
  watchpoint rollback --env prod
  watchpoint rollback --env dev --to 41 --yes`,
      ),
  ).action(async (flags: RollbackFlags) => {
    const { parseRollbackOptions, runRollback } = await import('./rollback.ts');
    definer.exit(await runRollback(parseRollbackOptions(flags, definer.context(flags))));
  });
};
