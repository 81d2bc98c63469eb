// `watchpoint status`: alarm health, dead-man's-switch freshness and queue depths, read-only.
import { formatError, ExitCode, userError } from '../errors.ts';
import { LOCAL_ENV_NAME, resolveStage, type CommandContext } from '../context.ts';
import { stopOnCtrlC } from '../interrupt.ts';
import { sdkClients } from '../aws.ts';
import { runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import { pickStyle } from '../output.ts';
import { collectStatus, isUserFault, type StatusClients } from '../status/collect.ts';
import { buildReport, renderHuman } from '../status/report.ts';
import type { StatusFlags } from './status.define.ts';

/**
 * The shortest --watch interval. One poll is about ten API calls (3 CloudFormation, 2 CloudWatch,
 * one SQS call per queue); every 10 s that is under one call per second in total and 0.3
 * DescribeStacks per second, far below the account's throttling limits even with a few operators
 * watching at once. Faster would show nothing new: CloudWatch alarms and SQS metrics change at most
 * once a minute.
 */
export const WATCH_FLOOR_SECONDS = 10;
export const WATCH_CEILING_SECONDS = 3600;

/** The raw flags with a context: what tests hand to statusCommand. */
export interface StatusContext extends CommandContext, Injectable {
  json: boolean;
  /** The raw --watch value, validated by parseStatusOptions. */
  watch: string | undefined;
  /** Injected in tests; otherwise built from the stage's region and endpoint. */
  clients?: StatusClients;
  /** Aborts a --watch loop (SIGINT in the CLI). */
  stop?: AbortSignal;
}

/** Everything `status` runs on, validated. */
export interface StatusOptions extends Runtime {
  json: boolean;
  /** Seconds between polls; undefined: poll once. */
  watchSeconds: number | undefined;
  clients: StatusClients | undefined;
  stop: AbortSignal | undefined;
}

/** The flag contract: flags to options, validated once (exit 2 naming the flag); no AWS, no config. */
export function parseStatusOptions(flags: StatusFlags, context: CommandContext & Injectable & { clients?: StatusClients; stop?: AbortSignal }): StatusOptions {
  return {
    ...runtimeOf(context),
    json: Boolean(flags.json),
    watchSeconds: parseWatch(flags.watch),
    clients: context.clients,
    stop: context.stop,
  };
}

export function parseWatch(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (!/^\d+$/.test(value) || Number(value) < WATCH_FLOOR_SECONDS || Number(value) > WATCH_CEILING_SECONDS) {
    throw userError(
      'WATCH_INVALID',
      `--watch "${raw}" is not a whole number of seconds between ${WATCH_FLOOR_SECONDS} and ${WATCH_CEILING_SECONDS}.`,
      `Give the refresh interval in seconds, e.g. --watch 30 (at least ${WATCH_FLOOR_SECONDS}, so the AWS APIs are never flooded).`,
    );
  }
  return Number(value);
}

/** Raw flags and context in one object (tests): parse, then run. */
export function statusCommand(context: StatusContext): Promise<number> {
  return runStatus(parseStatusOptions({ json: context.json, ...(context.watch !== undefined ? { watch: context.watch } : {}) }, context));
}

export async function runStatus(options: StatusOptions): Promise<number> {
  // Flags are valid (parseStatusOptions); the config next. No AWS call before both are.
  const { watchSeconds } = options;
  const { envName, stage } = await resolveStage(options);
  const clients = options.clients ?? (await sdkClients(stage, ['cloudformation', 'cloudwatch', 'sqs', 'ssm']));
  const tty = options.stdoutIsTty;
  const style = pickStyle(tty, options.env);

  const poll = async (abortSignal?: AbortSignal): Promise<number> => {
    const raw = await collectStatus(clients, { envName, now: options.now(), ...(abortSignal ? { abortSignal } : {}) });
    const report = buildReport(raw, stage.region, { local: envName === LOCAL_ENV_NAME });
    if (options.json) options.io.result(JSON.stringify(report, null, watchSeconds === undefined ? 2 : undefined));
    else options.io.result(`${watchSeconds !== undefined && tty ? CLEAR_SCREEN : ''}${renderHuman(report, style)}${watchSeconds !== undefined && !tty ? '\n' : ''}`);
    return report.exitCode;
  };

  if (watchSeconds === undefined) return poll();
  return watchLoop(options, poll, watchSeconds, tty);
}

/** Cursor home, clear the screen: the next block replaces the previous one. */
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

/**
 * Polls, waits, polls again; a poll never starts while another is in flight. The next poll starts
 * `interval` after the previous one started, or right after it ended if it took longer. Ctrl-C stops
 * cleanly (aborting a poll in flight) and the exit code is that of the last completed poll.
 */
async function watchLoop(context: StatusOptions, poll: (signal: AbortSignal) => Promise<number>, seconds: number, tty: boolean): Promise<number> {
  const stop = stopOnCtrlC(context.stop);
  let last: number | undefined;
  try {
    while (!stop.signal.aborted) {
      const started = Date.now();
      try {
        // Ctrl-C must not wait for a request still retrying inside the SDK.
        last = await Promise.race([poll(stop.signal), rejectOnAbort(stop.signal)]);
      } catch (error) {
        if (stop.signal.aborted) break;
        // Missing stack, expired credentials, bad config: polling again will not fix them.
        if (isUserFault(error)) throw error;
        last = ExitCode.failure;
        context.io.notify('error', `(retrying in ${seconds}s) ${formatError(error).replace(/^Error: /, '')}`);
      }
      if (context.json === false && tty) context.io.notify('info', `Refreshing every ${seconds}s. Ctrl-C to stop.`);
      const wait = Math.max(0, seconds * 1000 - (Date.now() - started));
      await context.sleep(wait, stop.signal);
    }
  } finally {
    stop.release();
  }
  return last ?? ExitCode.interrupted;
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(signal.reason ?? new Error('aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
