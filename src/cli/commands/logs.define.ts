import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';
import { LOG_SOURCES } from '../logs/groups.ts';

/** What commander hands `logs`: each flag declared once, below; parseLogsOptions (logs.ts) validates them. */
export interface LogsFlags extends CommonOptions {
  since?: string;
  until?: string;
  filter?: string;
  level?: string;
  limit: string;
  json?: boolean;
  follow?: boolean;
}

// Every claim about AWS in this help has a source (issue 26 item 10):
// - one Live Tail session takes at most 10 log groups: StartLiveTail, logGroupIdentifiers (CloudWatch
//   Logs API reference); sessions are billed per minute: the same page and the AWS CLI's start-live-tail;
//   LimitExceededException when too many are open: StartLiveTail, Errors.
// - FilterLogEvents' 5 calls per second per account and Region: "CloudWatch Logs quotas" (User Guide).
// - FilterLogEvents has no per-GB scan charge, Logs Insights has one: the CloudWatch pricing page.
export const defineLogs: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('logs')
      .description("Show what the functions logged, interleaved by time (log groups come from the deployed stack; read-only).")
      .argument('[function...]', 'functions by spec name or short name (default: all)')
      .option('--since <when>', 'start of the window: a duration back from now (15m, 2h, 3d) or an ISO 8601 time', '15m')
      .option('--until <when>', 'end of the window, same forms (default: now)')
      .option('--filter <pattern>', `CloudWatch filter pattern, e.g. '"Task timed out"' or '{ $.run_id = "r-1" }'`)
      .option('--level <level>', 'only Powertools lines at this level or above (error, warn, info or debug), and crash lines (errors)')
      .option('--limit <n>', 'stop after this many events, 1-100000', '1000')
      .option('--json', 'one JSON object per event on stdout (NDJSON), the message untouched')
      .option('-f, --follow', 'print new events as they arrive (CloudWatch Logs Live Tail) until Ctrl-C')
      .addHelpText(
        'after',
        `
Functions: ${LOG_SOURCES.map((s) => `${s.alias} (${s.name})`).join(', ')}.

Crash lines count as errors: "Task timed out", the runtime's tab-separated ERROR lines (Invoke
Error) and "Runtime exited with error" pass every --level. Lambda's START/END/REPORT lines have no
level, so --level drops them.

--follow prints new events only (--since, --until and --limit do not apply) and ends with Ctrl-C
(exit 130), which closes the Live Tail session. It uses one Live Tail session per 10 log groups; where
Live Tail is not available, not allowed, or refused (too many sessions on the account) it polls
FilterLogEvents every 2 s instead (every 5 s for all nine groups, at 2 calls per second), and says so.

FilterLogEvents is limited to 5 calls per second per account and Region: a window is read at most
5 calls at once, polling sends at most 2 per second, and throttling while polling waits and goes on.
A log group the stack lists but that was deleted by hand is named and skipped.

Billing: FilterLogEvents has no per-GB scan charge (Logs Insights, which trace uses, has one).
Live Tail is billed per minute a session is open; the session ends when the command does.

Examples:
  watchpoint logs --env prod --since 30m --level error
  watchpoint logs batcher eval-urgent --env prod --since 2026-03-01T09:00:00Z --until 2026-03-01T10:00:00Z
  watchpoint logs api --env prod --filter '{ $.request_id = "Hk3Ab-xyz=" }' --json | jq .
  watchpoint logs email webhook --env prod --follow`,
      ),
  ).action(async (functions: string[], flags: LogsFlags) => {
    const { parseLogsOptions, runLogs } = await import('./logs.ts');
    definer.exit(await runLogs(parseLogsOptions(functions, flags, definer.context(flags))));
  });
};
