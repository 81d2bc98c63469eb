import { Option } from 'commander';
import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

export const defineInit: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('init')
      .description('Create or update one environment in watchpoint.config.json (asks for each setting on a terminal).')
      .addOption(new Option('-y, --yes', 'do not ask: take the flags and saved values, and confirm writing')),
    { listAll: true },
  ).action(async (options: CommonOptions) => {
    const { initCommand } = await import('./init.ts');
    definer.exit(await initCommand(definer.context(options)));
  });
};
