import { Option } from 'commander';
import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

export const defineDestroy: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('destroy')
      .description('Delete an environment\'s stacks (for dev environments). Asks you to type the environment name.')
      .addOption(new Option('-y, --yes', 'do not ask (needed without a terminal)'))
      .option('--force', 'allow destroying a production environment'),
  )
    .addHelpText('after', '\nBuckets and the image repository are retained by the stack; empty ones are deleted after the stacks, ones holding data are kept and listed.')
    .action(async (options: CommonOptions & { force?: boolean }) => {
      const { destroyCommand } = await import('./destroy.ts');
      definer.exit(await destroyCommand({ ...definer.context(options), force: Boolean(options.force) }));
    });
};
