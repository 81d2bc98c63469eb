import { Option } from 'commander';
import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands `destroy`: each flag declared once, below. */
export interface DestroyFlags extends CommonOptions {
  yes?: boolean;
  force?: boolean;
}

export const defineDestroy: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('destroy')
      .description('Delete an environment\'s stacks (for dev environments). Asks you to type the environment name.')
      .addOption(new Option('-y, --yes', 'do not ask (needed without a terminal)'))
      .option('--force', 'allow destroying a production environment'),
  )
    .addHelpText('after', '\nBuckets and the image repository are retained by the stack; empty ones are deleted after the stacks, ones holding data are kept and listed.')
    .action(async (flags: DestroyFlags) => {
      const { parseDestroyOptions, runDestroy } = await import('./destroy.ts');
      definer.exit(await runDestroy(parseDestroyOptions(flags, definer.context(flags))));
    });
};
