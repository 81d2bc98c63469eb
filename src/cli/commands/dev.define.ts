import { Option } from 'commander';
import type { DefineCommand } from '../define.ts';
import { DRILLS } from '../../config/drills.ts';

/** What commander hands `dev`: each flag declared once, below; parseDevOptions (dev.ts) validates them. */
export interface DevFlags {
  once?: boolean;
  /** Default 1, or 180 with --drill. */
  speed?: string;
  drill?: string;
  databaseUrl?: string;
  allowLoopbackWebhooks?: boolean;
  hotPoint: string[];
  json?: boolean;
  watch?: boolean;
}

export const defineDev: DefineCommand = (program, definer) => {
  program
    .command('dev')
    .description('Run the whole platform on this machine (no AWS account, no Docker), from the same stack and handler code.')
    .option('--once', 'scripted end-to-end run: API key + watchpoint, one forecast cycle, email and signed webhook checked; then stop (exit 0, or 1 naming the failed step)')
    .option('--speed <n>', 'compress time by N (schedules, queue visibility timeouts, alarm periods), 1-3600 (default 1; 180 with --drill)')
    .option('--drill <name>', `run a scripted incident to practise on, then keep running: ${Object.keys(DRILLS).join(', ')}`)
    .addOption(new Option('--database-url <url>', 'use this PostgreSQL instead of the embedded one (prefer $WATCHPOINT_DEV_DATABASE_URL: argv is visible to other users)').env('WATCHPOINT_DEV_DATABASE_URL'))
    .option('--allow-loopback-webhooks', 'let the webhook worker POST to http:// and loopback URLs such as the local receiver (local mode only; --once turns it on)')
    .option('--hot-point <lat,lon[,variable=value]>', 'make the synthetic forecast read a value at the grid point nearest to a location (default temperature_2m=45), so a watchpoint there triggers; repeatable', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--json', 'with --once: print the summary as JSON on stdout')
    .option('--watch', 'reload a function when its handler code changes: only functions whose bundle changed get fresh containers (in-flight invocations finish on the old code); a build error is printed with file and line and the old code keeps serving. A src/stack change re-reads the template and restarts only functions whose settings changed; queue, bucket and trigger changes are named and need a restart')
    .addHelpText(
      'after',
      `
Everything listens on 127.0.0.1 only and stops on Ctrl-C, SIGTERM or the crash of any part. While it
runs, operator commands reach it with --env local (status, logs, trace, dlq, secrets, db migrate).

Drills (--drill NAME) break one thing, wait until the template's own alarm fires, say what was
broken, and list the commands that find the cause and fix it:
${Object.entries(DRILLS).map(([name, what]) => `  ${name.padEnd(16)} ${what}`).join('\n')}

Examples:
  watchpoint dev                          # run until Ctrl-C; prints the URLs and an admin key
  watchpoint dev --speed 60 --hot-point 40.4,-3.7
  watchpoint dev --once                   # the README's end-to-end check
  watchpoint dev --drill webhook-failing  # practise an incident (time x180)
  watchpoint dev --watch                  # edit a handler, save, invoke it (watchpoint invoke --env local)`,
    )
    .action(async (flags: DevFlags) => {
      const { parseDevOptions, runDev } = await import('./dev.ts');
      // dev has no --env or --config: the common options are empty.
      definer.exit(await runDev(parseDevOptions(flags, definer.context({}))));
    });
};
