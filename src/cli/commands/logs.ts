// `watchpoint logs`: a window of every function's log events, or a live tail of them (read-only).
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { sdkClients } from '../aws.ts';
import { resolveStage, stackNames, type CommandContext } from '../context.ts';
import { ExitCode, userError } from '../errors.ts';
import { flagError, runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import { stopOnCtrlC } from '../interrupt.ts';
import { describeDeployedStack, explainAwsError } from '../stack-resources.ts';
import { pickStyle } from '../output.ts';
import { fetchEvents, type LogEvent } from '../logs/fetch.ts';
import { eventJson, formatEvent, levelFilter, levelPattern, LEVELS, type LevelName } from '../logs/format.ts';
import { findLogGroups, resolveSources, type LogGroupTarget } from '../logs/groups.ts';
import { missingWarning, noLogGroupLeft } from '../logs/missing.ts';
import { parseWindow } from '../logs/window.ts';
import type { LogsFlags } from './logs.define.ts';

export interface LogsClients {
  cloudformation: CloudFormationClient;
  logs: CloudWatchLogsClient;
}

/** Raw functions, flags and injections in one object (tests). */
export interface LogsContext extends CommandContext, Injectable {
  functions: string[];
  flags: LogsFlags;
  /** Injected in tests; otherwise built from the stage. */
  clients?: LogsClients;
  /** Ends --follow (SIGINT in the CLI). */
  stop?: AbortSignal;
}

export const LIMIT_MAX = 100_000;

export interface LogsRequest {
  sources: ReturnType<typeof resolveSources>;
  start: Date;
  end: Date;
  filterPattern: string | undefined;
  level: LevelName | undefined;
  limit: number;
}

/** Everything `logs` runs on, validated. */
export interface LogsOptions extends Runtime {
  request: LogsRequest;
  /** --until was given (a truncated window's hint repeats it). */
  untilGiven: boolean;
  json: boolean;
  follow: boolean;
  clients: LogsClients | undefined;
  /** Ends --follow; Ctrl-C does too. */
  stop: AbortSignal | undefined;
}

/** The flag contract: the functions and every flag, checked once, before any AWS call (exit 2 naming the flag). */
export function parseLogsOptions(functions: readonly string[], flags: LogsFlags, context: CommandContext & Injectable & { clients?: LogsClients; stop?: AbortSignal }): LogsOptions {
  const runtime = runtimeOf(context);
  const sources = resolveSources(functions);
  const { start, end } = parseWindow(flags.since, flags.until, runtime.now(), '15m');
  const limitText = String(flags.limit ?? '1000').trim();
  if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > LIMIT_MAX) {
    throw flagError('--limit', `"${flags.limit}" is not a whole number from 1 to ${LIMIT_MAX}.`, 'Give e.g. --limit 5000, or narrow the window with --since/--until.', 'LIMIT_INVALID');
  }
  const level = flags.level;
  if (level !== undefined && !isLevel(level)) throw flagError('--level', `"${level}" is not one of ${LEVELS.join(', ')}.`, 'Give e.g. --level error.', 'LEVEL_INVALID');
  if (flags.follow && flags.until !== undefined) {
    throw userError('FOLLOW_UNTIL', '--follow and --until cannot be combined: --follow prints new events until Ctrl-C.', 'Drop --until to follow, or drop --follow to read a past window.');
  }
  const filterPattern = flags.filter !== undefined && flags.filter.trim() !== '' ? flags.filter : level ? levelPattern(level) : undefined;
  return {
    ...runtime,
    request: { sources, start, end, filterPattern, level, limit: Number(limitText) },
    untilGiven: flags.until !== undefined,
    json: Boolean(flags.json),
    follow: Boolean(flags.follow),
    clients: context.clients,
    stop: context.stop,
  };
}

function isLevel(value: string): value is LevelName {
  return (LEVELS as readonly string[]).includes(value);
}

/** Raw functions, flags, context and injections (tests): parse, then run. */
export async function logsCommand(context: LogsContext): Promise<number> {
  return runLogs(parseLogsOptions(context.functions, context.flags, context));
}

export async function runLogs(options: LogsOptions): Promise<number> {
  const { request } = options;
  // Flags are valid (parseLogsOptions); the config next. No AWS call before both are.
  const { envName, stage } = await resolveStage(options);
  const clients = options.clients ?? (await sdkClients(stage, ['cloudformation', 'logs']));
  const { targets, stackId } = await logGroupsOf(clients.cloudformation, envName, request.sources, options);

  const style = pickStyle(options.stdoutIsTty, options.env);
  const format = {
    style,
    withDate: request.start.toISOString().slice(0, 10) !== request.end.toISOString().slice(0, 10),
    aliasWidth: Math.max(...targets.map((t) => t.source.alias.length)),
  };
  const print = (event: Parameters<typeof formatEvent>[0]) => options.io.result(options.json ? eventJson(event) : formatEvent(event, format));

  if (options.follow) return followCommand(options, envName, clients, targets, stackId, print);

  options.io.notify('info', `Reading ${describeTargets(targets)} from ${request.start.toISOString()} to ${request.end.toISOString()}${request.filterPattern ? ` matching ${request.filterPattern}` : ''}.`);
  let result;
  try {
    result = await fetchEvents(clients.logs, targets, {
      start: request.start,
      end: request.end,
      limit: request.limit,
      ...(request.filterPattern ? { filterPattern: request.filterPattern } : {}),
      ...(request.level ? { keep: levelFilter(request.level) } : {}),
    });
  } catch (error) {
    throw explainAwsError(error, { envName });
  }
  if (result.missing.length > 0) options.io.notify('warn', missingWarning(result.missing, envName));
  if (result.missing.length === targets.length) throw noLogGroupLeft(envName);
  for (const event of result.events) print(event);
  if (result.events.length === 0) {
    options.io.notify('info', `No events in this window. Widen it with --since (e.g. --since 2h)${request.filterPattern ? ' or loosen --filter/--level' : ''}.`);
  } else if (result.truncated && result.resumeAt !== undefined) {
    const crowded = result.crowded ? ` More than ${request.limit} events share ${new Date(result.resumeAt - 1).toISOString()}; those past the limit are skipped unless you raise --limit.` : '';
    options.io.notify(
      'warn',
      `Stopped at --limit ${request.limit}: the window holds more events. Continue with --since ${new Date(result.resumeAt).toISOString()}${options.untilGiven ? ` --until ${request.end.toISOString()}` : ''}, or raise --limit.${crowded}`,
    );
  }
  return ExitCode.ok;
}

async function followCommand(
  options: LogsOptions,
  envName: string,
  clients: LogsClients,
  targets: LogGroupTarget[],
  stackId: string | undefined,
  print: (event: LogEvent) => void,
): Promise<number> {
  const { request } = options;
  const { follow } = await import('../logs/tail.ts');
  // Ctrl-C is how --follow ends: this command owns it, so the session is closed and said so.
  const stop = stopOnCtrlC(options.stop);
  options.io.notify('info', `Following ${describeTargets(targets)}${request.filterPattern ? ` matching ${request.filterPattern}` : ''}. Ctrl-C to stop.`);
  try {
    const mode = await follow(clients.logs, targets, {
      stackId,
      ...(request.filterPattern ? { filterPattern: request.filterPattern } : {}),
      ...(request.level ? { keep: levelFilter(request.level) } : {}),
      envName,
      now: () => options.now().getTime(),
      signal: stop.signal,
      onEvent: print,
      notify: (level, text) => options.io.notify(level, text),
      sleep: (ms, signal) => options.sleep(ms, signal),
    });
    // follow() returns only once Ctrl-C (or SIGTERM) has aborted it.
    options.io.notify('info', mode === 'live-tail' ? 'Stopped. The Live Tail session is closed, so its billing has ended.' : 'Stopped following.');
    return ExitCode.interrupted;
  } catch (error) {
    throw explainAwsError(error, { envName });
  } finally {
    stop.release();
  }
}

/** The platform stack's log groups for these sources; a source the stack lacks is a warning. */
async function logGroupsOf(
  cloudformation: CloudFormationClient,
  envName: string,
  sources: LogsRequest['sources'],
  context: CommandContext,
): Promise<{ targets: LogGroupTarget[]; stackId: string | undefined }> {
  const stack = await describeDeployedStack(cloudformation, stackNames(envName).platform, envName);
  const { targets, missing } = findLogGroups(stack, sources);
  if (targets.length === 0) {
    throw userError(
      'LOG_GROUPS_NOT_FOUND',
      `Stack ${stack.name} has no log group for ${sources.map((s) => s.name).join(', ')}.`,
      `Deploy the current stack with \`watchpoint deploy --env ${envName}\`; older deployments wrote to Lambda's default log groups.`,
    );
  }
  if (missing.length > 0) context.io.notify('warn', `Stack ${stack.name} has no log group for ${missing.map((s) => s.name).join(', ')}; showing the others.`);
  return { targets, stackId: stack.stackId };
}

function describeTargets(targets: readonly LogGroupTarget[]): string {
  return targets.length === 1 ? `${targets[0]!.source.alias} (${targets[0]!.logGroupName})` : `${targets.length} log groups (${targets.map((t) => t.source.alias).join(', ')})`;
}
