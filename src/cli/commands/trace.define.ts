import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands `trace`: each flag declared once, below; parseTraceOptions (trace.ts) validates them. */
export interface TraceFlags extends CommonOptions {
  kind?: string;
  since?: string;
  until?: string;
  timeout: string;
  json?: boolean;
}

// Every claim about AWS in this help has a source (issue 26 item 10):
// - Logs Insights is billed per GB scanned: the CloudWatch pricing page.
// - Its concurrent-query quota counts queries on dashboards: StartQuery (CloudWatch Logs API reference).
export const defineTrace: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('trace')
      .description('Follow one forecast run, eval job, notification, watchpoint or API request through every function (read-only).')
      .argument('<id>', 'a run id, eval job id, notification id, watchpoint id or API request id')
      .option('--kind <kind>', 'what the id is: run, job, notification, watchpoint or request (default: detected from the log lines)')
      .option('--since <when>', 'start of the window: a duration back from now (24h, 3d) or an ISO 8601 time', '24h')
      .option('--until <when>', 'end of the window, same forms (default: now)')
      .option('--timeout <seconds>', 'give up on a Logs Insights query after this long (it is then stopped)', '120')
      .option('--json', 'print the whole trace as one JSON document on stdout')
      .addHelpText(
        'after',
        `
It runs one CloudWatch Logs Insights query over all nine log groups for the lines that carry the id,
and for a job or a notification a second one for the job and run it came from. It prints the window
and the log groups queried before it starts. The DLQ is read with GetQueueAttributes only (its depth);
which of the messages it holds is inferred from the logs. Ids taken from log lines for the second
query are checked like the id you give. A log group deleted by hand is named and left out.

Logs Insights runs a limited number of queries at once per account and Region, and queries on
CloudWatch dashboards count towards it: a query refused for that is tried once more after 10 s.

Billing: Logs Insights is billed per GB of log data scanned, over every log group in the window:
a wide --since over busy groups costs more. The summary says how much was scanned.

Exit codes: 0 found; 1 nothing in the window carries the id, or an AWS error; 2 bad usage.

Examples:
  watchpoint trace 2026-03-01T06Z --env prod
  watchpoint trace 5f0c1e2a-9d3b-8c1e-a1b2-c3d4e5f60718 --env prod --since 3d
  watchpoint trace 2026-03-01T06Z --env prod --json | jq '.deliveries.byOutcome'`,
      ),
  ).action(async (id: string, flags: TraceFlags) => {
    const { parseTraceOptions, runTrace } = await import('./trace.ts');
    definer.exit(await runTrace(parseTraceOptions(id, flags, definer.context(flags))));
  });
};
