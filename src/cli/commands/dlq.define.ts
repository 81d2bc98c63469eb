import { Option, type Command } from 'commander';
import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands each subcommand: each flag declared once, below; dlq.ts parses them. */
export interface DlqInspectFlags extends CommonOptions { limit?: string; json?: boolean }
export interface DlqExportFlags extends CommonOptions { out?: string; force?: boolean }
export interface DlqRedriveFlags extends CommonOptions {
  source?: string;
  match?: string;
  olderThan?: string;
  max?: string;
  maxPerSecond?: string;
  dryRun?: boolean;
  json?: boolean;
  yes?: boolean;
}
export interface DlqPurgeFlags extends CommonOptions { confirmName?: string; export?: string; force?: boolean; yes?: boolean }

export const defineDlq: DefineCommand = (program, definer) => {
  const dlq: Command = program
    .command('dlq')
    .description('Inspect, back up, redrive or purge the shared dead-letter queue (queues come from the deployed stack).')
    .addHelpText('after', `
Examples:
  watchpoint dlq inspect --env prod
  watchpoint dlq export --env prod --out dlq-backup.jsonl
  watchpoint dlq redrive --env prod --dry-run
  watchpoint dlq redrive --env prod --source WebhookNotificationQueue --match '"attempt":' --older-than 2h
  watchpoint dlq purge --env prod --export dlq-backup.jsonl`);

  stageOptions(
    dlq
      .command('inspect')
      .description('Counts per source queue and a sample of messages. Receiving hides them briefly and adds 1 to their receive count.')
      .option('--limit <n>', 'messages to sample, 1-100', '10')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (flags: DlqInspectFlags) => {
    const { parseInspectOptions, runInspect } = await import('./dlq.ts');
    definer.exit(await runInspect(parseInspectOptions(flags, definer.context(flags))));
  });

  stageOptions(
    dlq
      .command('export')
      .description('Write every message (body, attributes, source) to a JSON Lines file. Deletes nothing.')
      .requiredOption('-o, --out <file>', 'the .jsonl file to write')
      .option('--force', 'overwrite the file if it exists'),
  ).action(async (flags: DlqExportFlags) => {
    const { parseExportOptions, runExport } = await import('./dlq.ts');
    definer.exit(await runExport(parseExportOptions(flags, definer.context(flags))));
  });

  stageOptions(
    dlq
      .command('redrive')
      .description('Send messages back to the queues they came from: all of them with the native SQS move task (default), or a selection.')
      .option('--source <name>', 'only messages from this source queue (its name in the stack outputs, logical ID or queue name), or "all"', 'all')
      .option('--match <regex>', 'only messages whose body matches this regular expression')
      .option('--older-than <duration>', 'only messages sent longer ago than this, e.g. 30m, 2h, 1d')
      .option('--max <n>', 'move at most this many messages')
      .option('--max-per-second <n>', 'rate of the native move task, 1-500 (default: chosen by SQS)')
      .option('--dry-run', 'show what would move and where; move nothing')
      .option('--json', 'print the result as JSON on stdout')
      .addOption(new Option('-y, --yes', 'confirm without asking (required without a terminal)')),
  ).action(async (flags: DlqRedriveFlags) => {
    const { parseRedriveOptions, runRedrive } = await import('./dlq.ts');
    definer.exit(await runRedrive(parseRedriveOptions(flags, definer.context(flags))));
  });

  stageOptions(
    dlq
      .command('purge')
      .description('Delete the DLQ\'s messages after you type its name; with an export, only the messages written to the backup.')
      .option('--confirm-name <name>', "the DLQ's queue name, typed out (required with --yes)")
      .option('--export <file>', 'export to this .jsonl file, then delete exactly the exported messages (others stay)')
      .option('--force', 'let --export overwrite an existing file')
      .addOption(new Option('-y, --yes', 'do not ask (needs --confirm-name too)')),
  ).action(async (flags: DlqPurgeFlags) => {
    const { parsePurgeOptions, runPurge } = await import('./dlq.ts');
    definer.exit(await runPurge(parsePurgeOptions(flags, definer.context(flags))));
  });
};
