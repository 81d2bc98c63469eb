// `watchpoint dlq inspect | export | redrive | purge`: the shared dead-letter queue, without losing a
// message. Queues come from the deployed stack. See docs/dlq.md. This file is the flow of each
// subcommand; the walks and the move task live in ../dlq/, what is printed in ../dlq/report.ts.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_ENV_NAME, type CommandContext } from '../context.ts';
import { ExitCode, userError } from '../errors.ts';
import { durationFlag, flagError, runtimeOf, wholeNumberFlag, type Injectable, type Runtime } from '../flags.ts';
import { handleCtrlC } from '../interrupt.ts';
import { parseMatch } from '../dlq/flags.ts';
import { checkOutFile, exportToFile, hiddenNote, incompleteExport, purgeExported, type OnInterrupt } from '../dlq/export.ts';
import { connect, describeSource, explained, findSource } from '../dlq/queues.ts';
import { runMoveTask, runSelective, type RedriveFilter } from '../dlq/redrive.ts';
import { emptyExport, emptyInspect, inspectJson, inspectText, sampleRow } from '../dlq/report.ts';
import { queueDepth, sample } from '../dlq/walk.ts';
import type { DlqExportFlags, DlqInspectFlags, DlqPurgeFlags, DlqRedriveFlags } from './dlq.define.ts';

/** Seams for tests: SDK clients, time, and Ctrl-C. */
export interface DlqDeps {
  sqs?: SQSClient;
  cloudformation?: CloudFormationClient;
  sleep?: (ms: number) => Promise<void>;
  /** Calls `listener` on each Ctrl-C until the returned function is called. Default: SIGINT. */
  onInterrupt?: OnInterrupt;
}

const INSPECT_VISIBILITY_SECONDS = 20;

/** What every dlq subcommand runs on besides its flags. */
interface DlqRuntime extends Runtime {
  clients: { sqs?: SQSClient; cloudformation?: CloudFormationClient };
  onInterrupt: OnInterrupt;
}

type DlqContext = CommandContext & Injectable;

function dlqRuntime(context: DlqContext, deps: DlqDeps): DlqRuntime {
  const { sleep } = deps;
  return {
    ...runtimeOf({ ...context, ...(sleep ? { sleep: (ms: number) => sleep(ms) } : {}) }),
    clients: { ...(deps.sqs ? { sqs: deps.sqs } : {}), ...(deps.cloudformation ? { cloudformation: deps.cloudformation } : {}) },
    onInterrupt: deps.onInterrupt ?? handleCtrlC,
  };
}

export interface InspectOptions extends DlqRuntime {
  limit: number;
  json: boolean;
}

/** The flag contract for `dlq inspect`: --limit checked once, before any AWS call. */
export function parseInspectOptions(flags: DlqInspectFlags, context: DlqContext, deps: DlqDeps = {}): InspectOptions {
  return { ...dlqRuntime(context, deps), limit: flags.limit === undefined ? 10 : wholeNumberFlag('--limit', flags.limit, 1, 100), json: Boolean(flags.json) };
}

/** Raw flags (tests): parse, then run. */
export async function inspectCommand(context: DlqContext, flags: DlqInspectFlags, deps: DlqDeps = {}): Promise<number> {
  return runInspect(parseInspectOptions(flags, context, deps));
}

export async function runInspect(options: InspectOptions): Promise<number> {
  const { io, limit } = options;
  const { setup, sqs, envName } = await connect(options, options.clients);
  const depth = await explained(() => queueDepth(sqs, setup.dlq.url), envName);
  if (depth.visible === 0) {
    io.result(emptyInspect(setup, depth, options.json));
    return ExitCode.ok;
  }
  io.notify('warn', `Inspecting receives up to ${limit} messages: they are hidden for a moment (at most ${INSPECT_VISIBILITY_SECONDS} s, made visible again right after) and each receive adds 1 to their ApproximateReceiveCount.`);
  const taken = await explained(() => sample({ sqs, dlqUrl: setup.dlq.url, visibilityTimeout: INSPECT_VISIBILITY_SECONDS, limit, waitTimeSeconds: 1 }), envName);
  if (taken.releaseFailed > 0) io.notify('warn', `${taken.releaseFailed} messages could not be made visible at once; they reappear within ${INSPECT_VISIBILITY_SECONDS} s.`);
  const bySource: Record<string, number> = {};
  for (const message of taken.messages) {
    const label = describeSource(setup, message.Attributes?.DeadLetterQueueSourceArn);
    bySource[label] = (bySource[label] ?? 0) + 1;
  }
  const result = { setup, approximate: depth.visible + depth.inFlight + depth.delayed, inFlight: depth.inFlight, sampled: taken.messages.length, bySource, rows: taken.messages.map((message) => sampleRow(setup, message)) };
  io.result(options.json ? inspectJson(result) : inspectText(result));
  return ExitCode.ok;
}

export interface ExportOptions extends DlqRuntime {
  /** The file to write, absolute; checked (directory exists, not overwritten without --force). */
  out: string;
}

/** The flag contract for `dlq export`: --out checked once, before any AWS call. */
export function parseExportOptions(flags: DlqExportFlags, context: DlqContext, deps: DlqDeps = {}): ExportOptions {
  return { ...dlqRuntime(context, deps), out: checkOutFile('--out', flags.out, context.cwd, Boolean(flags.force)) };
}

/** Raw flags (tests): parse, then run. */
export async function exportCommand(context: DlqContext, flags: DlqExportFlags, deps: DlqDeps = {}): Promise<number> {
  return runExport(parseExportOptions(flags, context, deps));
}

export async function runExport(options: ExportOptions): Promise<number> {
  const { io, out } = options;
  const { setup, sqs, envName } = await connect(options, options.clients);
  const depth = await explained(() => queueDepth(sqs, setup.dlq.url), envName);
  if (depth.visible === 0) {
    io.result(emptyExport(setup, hiddenNote(depth)));
    return ExitCode.ok;
  }
  const exported = await exportToFile({ io, sqs, setup, out, depth, hold: false, onInterrupt: options.onInterrupt });
  if (exported.code !== ExitCode.ok) return exported.code;
  const { result } = exported;
  if (result.releaseFailed > 0) io.notify('warn', `${result.releaseFailed} messages could not be made visible at once; they reappear within ${exported.visibilityTimeout} s.`);
  const missing = incompleteExport(result, depth);
  if (missing) {
    io.result(`PARTIAL export: wrote ${result.exported} messages from ${setup.dlq.name} to ${out}, but ${missing}. All were made visible again, none deleted.`);
    return ExitCode.failure;
  }
  io.result(`Exported ${result.exported} messages from ${setup.dlq.name} to ${out}; all were made visible again, none deleted.`);
  return ExitCode.ok;
}

export interface RedriveOptions extends DlqRuntime {
  /** --source: one source queue; undefined is all of them. */
  source: string | undefined;
  match: RegExp | undefined;
  olderThanMs: number | undefined;
  max: number | undefined;
  maxPerSecond: number | undefined;
  /** Any of --source, --match, --older-than, --max: the selective redrive, not the native move task. */
  selective: boolean;
  dryRun: boolean;
  json: boolean;
  yes: boolean;
}

/** The flag contract for `dlq redrive`: every flag validated once, before any AWS call. */
export function parseRedriveOptions(flags: DlqRedriveFlags, context: DlqContext, deps: DlqDeps = {}): RedriveOptions {
  const raw = flags.source?.trim();
  if (raw === '') throw flagError('--source', 'is empty.', 'Give a source queue name, or "all".');
  const source = raw !== undefined && raw.toLowerCase() !== 'all' ? raw : undefined;
  const match = flags.match !== undefined ? parseMatch(flags.match) : undefined;
  const olderThanMs = flags.olderThan !== undefined ? durationFlag('--older-than', flags.olderThan) : undefined;
  const max = flags.max !== undefined ? wholeNumberFlag('--max', flags.max, 1, 10_000_000) : undefined;
  const maxPerSecond = flags.maxPerSecond !== undefined ? wholeNumberFlag('--max-per-second', flags.maxPerSecond, 1, 500) : undefined;
  const selective = source !== undefined || match !== undefined || olderThanMs !== undefined || max !== undefined;
  if (selective && maxPerSecond !== undefined) {
    throw userError('FLAG_CONFLICT', '--max-per-second applies to the native move task (a redrive of everything), not to a selective redrive.',
      'Drop --max-per-second, or drop --source/--match/--older-than/--max to move everything with the native task.');
  }
  return {
    ...dlqRuntime(context, deps),
    source, match, olderThanMs, max, maxPerSecond, selective,
    dryRun: Boolean(flags.dryRun),
    json: Boolean(flags.json),
    yes: Boolean(flags.yes ?? context.options.yes),
  };
}

/** Raw flags (tests): parse, then run. */
export async function redriveCommand(context: DlqContext, flags: DlqRedriveFlags, deps: DlqDeps = {}): Promise<number> {
  return runRedrive(parseRedriveOptions(flags, context, deps));
}

export async function runRedrive(options: RedriveOptions): Promise<number> {
  const { io } = options;
  // A redrive always asks; without a terminal only --yes answers, so say so before any AWS call.
  if (!io.interactive && !options.yes && !options.dryRun) {
    throw userError('CONFIRMATION_REQUIRED', 'A redrive moves messages and asks first, and there is no terminal to ask.', 'Re-run with --yes to confirm (see what would move with --dry-run), or run it in a terminal.');
  }
  const { setup, sqs, envName, region } = await connect(options, options.clients);
  if (envName === LOCAL_ENV_NAME && options.maxPerSecond !== undefined) {
    throw userError('FLAG_CONFLICT', '--max-per-second applies to the native SQS move task, which watchpoint dev does not have.', 'Drop --max-per-second: locally every redrive is selective.');
  }
  const sourceRef = options.source !== undefined ? findSource(setup, options.source) : undefined;
  const depth = await explained(() => queueDepth(sqs, setup.dlq.url), envName);
  const run = { io, sqs, setup, envName, depth, dryRun: options.dryRun, json: options.json, onInterrupt: options.onInterrupt };
  if (options.selective) {
    const filter: RedriveFilter = { ...(sourceRef ? { sourceArn: sourceRef.arn } : {}), ...(options.match ? { match: options.match } : {}), ...(options.olderThanMs !== undefined ? { olderThanMs: options.olderThanMs } : {}) };
    return runSelective({ ...run, filter, max: options.max });
  }
  if (envName === LOCAL_ENV_NAME) {
    // fauxqs has no StartMessageMoveTask: move every message the selective way (send to its source, then delete).
    io.notify('warn', 'The native SQS move task is not available locally (watchpoint dev): moving every message with the selective redrive instead.');
    return runSelective({ ...run, filter: {}, max: options.max });
  }
  return runMoveTask({ ...run, region, maxPerSecond: options.maxPerSecond, sleep: (ms) => options.sleep(ms) });
}

export interface PurgeOptions extends DlqRuntime {
  /** --export: the backup file, absolute and checked; undefined: no backup unless the prompt gives one. */
  exportPath: string | undefined;
  /** --force: the backup may overwrite a file (also for a path typed at the prompt). */
  force: boolean;
  confirmName: string | undefined;
  yes: boolean;
}

/** The flag contract for `dlq purge`: --export checked once, before any AWS call. */
export function parsePurgeOptions(flags: DlqPurgeFlags, context: DlqContext, deps: DlqDeps = {}): PurgeOptions {
  const force = Boolean(flags.force);
  return {
    ...dlqRuntime(context, deps),
    exportPath: flags.export !== undefined ? checkOutFile('--export', flags.export, context.cwd, force) : undefined,
    force,
    confirmName: flags.confirmName,
    yes: Boolean(flags.yes ?? context.options.yes),
  };
}

/** Raw flags (tests): parse, then run. */
export async function purgeCommand(context: DlqContext, flags: DlqPurgeFlags, deps: DlqDeps = {}): Promise<number> {
  return runPurge(parsePurgeOptions(flags, context, deps));
}

export async function runPurge(options: PurgeOptions): Promise<number> {
  const { io, confirmName } = options;
  const outFile = (raw: string) => checkOutFile('--export', raw, options.cwd, options.force);
  let { exportPath } = options;
  if (!io.interactive && (!options.yes || confirmName === undefined)) {
    throw userError('CONFIRMATION_REQUIRED', 'Purging the DLQ deletes every message in it, and there is no terminal to ask.',
      'Re-run with --yes --confirm-name <the DLQ\'s queue name> (shown by `watchpoint dlq inspect`); add --export FILE to back it up first.');
  }
  const { setup, sqs, envName } = await connect(options, options.clients);
  if (confirmName !== undefined && confirmName !== setup.dlq.name) {
    throw userError('CONFIRM_NAME_MISMATCH', `--confirm-name "${confirmName}" is not the DLQ's name.`, `The DLQ of ${setup.stackName} is ${setup.dlq.name}; pass exactly that.`);
  }
  const depth = await explained(() => queueDepth(sqs, setup.dlq.url), envName);
  if (depth.visible + depth.inFlight + depth.delayed === 0) {
    io.result(`The DLQ ${setup.dlq.name} is already empty; nothing purged.`);
    return ExitCode.ok;
  }
  io.notify('warn', exportPath
    ? `Purging with --export deletes only the messages written to the backup: about ${depth.visible} visible in ${setup.dlq.name}${depth.inFlight + depth.delayed > 0 ? `; ${depth.inFlight} in flight and ${depth.delayed} delayed cannot be exported and are not deleted` : ''}. It cannot be undone.`
    : `Purging deletes all ${depth.visible + depth.inFlight + depth.delayed} messages (about) in ${setup.dlq.name}, including ${depth.inFlight} in flight, with no backup. It cannot be undone.`);
  if (io.interactive) {
    if (!exportPath && (await io.ask({ kind: 'confirm', message: 'Export the messages to a file first (`watchpoint dlq export`)?', default: true }))) {
      const suggested = `dlq-${envName}-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`;
      const check = (value: string) => {
        try {
          outFile(value);
          return true as const;
        } catch (error) {
          return error instanceof Error ? error.message : String(error);
        }
      };
      exportPath = outFile(await io.ask({ kind: 'input', field: 'export file (--export)', message: 'Export to', default: suggested, validate: check }));
    }
    if (confirmName === undefined) {
      await io.ask({
        kind: 'input', field: 'queue name (--confirm-name)', message: `Type the queue's name, ${setup.dlq.name}, to purge it`,
        validate: (value) => (value.trim() === setup.dlq.name ? true : `does not match ${setup.dlq.name}`),
      });
    }
  }
  if (exportPath) return purgeExported({ io, sqs, setup, envName, out: exportPath, depth, onInterrupt: options.onInterrupt });
  const { PurgeQueueCommand } = await import('@aws-sdk/client-sqs');
  await explained(() => sqs.send(new PurgeQueueCommand({ QueueUrl: setup.dlq.url })), envName);
  io.result(`Purged ${setup.dlq.name}. SQS deletes the messages within 60 seconds; no backup was made.`);
  return ExitCode.ok;
}
