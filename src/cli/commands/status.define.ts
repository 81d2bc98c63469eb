import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands over: each flag declared once, below. */
export interface StatusFlags extends CommonOptions {
  json?: boolean;
  watch?: string;
}

export const defineStatus: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('status')
      .description("Show the stacks, every alarm, the dead man's switch and every queue (read-only).")
      .option('--json', 'print a stable JSON document (schemaVersion 1) on stdout and nothing else')
      .option('-w, --watch <seconds>', 'refresh every SECONDS (at least 10); Ctrl-C stops')
      .addHelpText(
        'after',
        `
Exit codes: 0 healthy; 3 an alarm is in ALARM or a forecast is late or never seen in 24 h;
1 error (AWS unreachable, expired credentials...); 2 bad usage, or the stack is not deployed.
INSUFFICIENT_DATA alone is shown first but does not make it exit 3.
With --watch, the exit code is that of the last completed poll.

Examples:
  watchpoint status --env prod
  watchpoint status --env prod --json | jq '.problems'
  watchpoint status --env prod --watch 30`,
      ),
  ).action(async (flags: StatusFlags) => {
    const { parseStatusOptions, runStatus } = await import('./status.ts');
    definer.exit(await runStatus(parseStatusOptions(flags, definer.context(flags))));
  });
};
