// `watchpoint status`: alarm health, dead-man's-switch freshness and queue depths, read-only.
import { formatError, ExitCode, userError } from '../errors.ts';
import { LOCAL_ENV_NAME, resolveStage, type CommandContext } from '../context.ts';
import { abortableSleep, stopOnCtrlC } from '../interrupt.ts';
import { awsClientConfig } from '../aws.ts';
import { collectStatus, isUserFault, type StatusClients } from '../status/collect.ts';
import { buildReport, pickStyle, renderHuman } from '../status/report.ts';

/**
 * The shortest --watch interval. One poll is about ten API calls (3 CloudFormation, 2 CloudWatch,
 * one SQS call per queue); every 10 s that is under one call per second in total and 0.3
 * DescribeStacks per second, far below the account's throttling limits even with a few operators
 * watching at once. Faster would show nothing new: CloudWatch alarms and SQS metrics change at most
 * once a minute.
 */
export const WATCH_FLOOR_SECONDS = 10;
export const WATCH_CEILING_SECONDS = 3600;

export interface StatusContext extends CommandContext {
  json: boolean;
  /** The raw --watch value, validated here. */
  watch: string | undefined;
  /** Injected in tests; otherwise built from the stage's region and endpoint. */
  clients?: StatusClients;
  /** Whether stdout is a terminal (colour, redraw in place). */
  stdoutIsTty?: boolean;
  now?: () => Date;
  /** Aborts a --watch loop (SIGINT in the CLI). */
  stop?: AbortSignal;
  /** Waits between polls; injected in tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
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

export async function statusCommand(context: StatusContext): Promise<number> {
  // All input first: flags, then the config. No AWS call before both are valid.
  const watchSeconds = parseWatch(context.watch);
  const { envName, stage } = await resolveStage(context);
  const clients = context.clients ?? (await buildClients(stage));
  const now = context.now ?? (() => new Date());
  const tty = context.stdoutIsTty ?? Boolean(process.stdout.isTTY);
  const style = pickStyle(tty, context.env);

  const poll = async (abortSignal?: AbortSignal): Promise<number> => {
    const raw = await collectStatus(clients, { envName, now: now(), ...(abortSignal ? { abortSignal } : {}) });
    const report = buildReport(raw, stage.region, { local: envName === LOCAL_ENV_NAME });
    if (context.json) context.io.result(JSON.stringify(report, null, watchSeconds === undefined ? 2 : undefined));
    else context.io.result(`${watchSeconds !== undefined && tty ? CLEAR_SCREEN : ''}${renderHuman(report, style)}${watchSeconds !== undefined && !tty ? '\n' : ''}`);
    return report.exitCode;
  };

  if (watchSeconds === undefined) return poll();
  return watchLoop(context, poll, watchSeconds, tty);
}

/** Cursor home, clear the screen: the next block replaces the previous one. */
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

/**
 * Polls, waits, polls again; a poll never starts while another is in flight. The next poll starts
 * `interval` after the previous one started, or right after it ended if it took longer. Ctrl-C stops
 * cleanly (aborting a poll in flight) and the exit code is that of the last completed poll.
 */
async function watchLoop(context: StatusContext, poll: (signal: AbortSignal) => Promise<number>, seconds: number, tty: boolean): Promise<number> {
  const stop = stopOnCtrlC(context.stop);
  const sleep = context.sleep ?? abortableSleep;
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
      await sleep(wait, stop.signal);
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


async function buildClients(stage: Parameters<typeof awsClientConfig>[0]): Promise<StatusClients> {
  const [{ CloudFormationClient }, { CloudWatchClient }, { SQSClient }] = await Promise.all([
    import('@aws-sdk/client-cloudformation'),
    import('@aws-sdk/client-cloudwatch'),
    import('@aws-sdk/client-sqs'),
  ]);
  const config = awsClientConfig(stage);
  return { cloudformation: new CloudFormationClient(config), cloudwatch: new CloudWatchClient(config), sqs: new SQSClient(config) };
}
