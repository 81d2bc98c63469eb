import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands over: each flag declared once, below. */
export interface CapacityFlags extends CommonOptions {
  watchpoints?: string;
  triggerShare?: string;
  tiles?: string;
  json?: boolean;
}

export const defineCapacity: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('capacity')
      .description("Predict a forecast cycle's time, limits and monthly cost on AWS for a number of watchpoints (offline).")
      .option('-n, --watchpoints <count>', 'active watchpoints, 1 to 100,000,000 (default 100000)')
      .option('-p, --trigger-share <share>', 'share of watchpoints that trigger in a cycle: 0-1 or a percentage, e.g. 0.1 or 10% (default 10%)')
      .option('--tiles <count>', 'tiles in a forecast run, 1 to 1,000,000 (default 2000)')
      .option('--json', 'print the whole model as JSON (schemaVersion 1) on stdout and nothing else')
      .addHelpText(
        'after',
        `
Offline: the environment's stack is synthesized in-process (no AWS call, no credentials) and its
concurrency, batch sizes, timeouts, visibility timeouts and alarm thresholds are read from the
template. The unit costs come from \`npm run bench capacity\` (src/cli/capacity/measured.json); the CPU
scaling to Lambda, latencies and prices are named assumptions (docs/capacity.md).

Examples:
  watchpoint capacity --env prod
  watchpoint capacity --env prod --watchpoints 1000000 --trigger-share 1%
  watchpoint capacity --env prod --json | jq '.firstLimit'`,
      ),
  ).action(async (flags: CapacityFlags) => {
    const { parseCapacityOptions, runCapacity } = await import('./capacity.ts');
    definer.exit(await runCapacity(parseCapacityOptions(flags, definer.context(flags))));
  });
};
