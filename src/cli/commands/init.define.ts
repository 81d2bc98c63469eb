import { Option } from 'commander';
import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands `init`: --yes (the Io answers with it) and the stage flags from stageOptions. */
export interface InitFlags extends CommonOptions {
  yes?: boolean;
}

export const defineInit: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('init')
      .description('Create or update one environment in watchpoint.config.json (asks for each setting on a terminal).')
      .addOption(new Option('-y, --yes', 'do not ask: take the flags and saved values, and confirm writing')),
    { listAll: true },
  ).action(async (flags: InitFlags) => {
    const { parseInitOptions, runInit } = await import('./init.ts');
    definer.exit(await runInit(parseInitOptions(flags, definer.context(flags))));
  });
};
