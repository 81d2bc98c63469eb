// `watchpoint invoke FUNCTION`: one function, one event, the result. The event (a file, stdin or a
// built-in sample) is checked against the function's trigger before any AWS call; the function and
// its alias come from the platform stack; one Lambda Invoke with the log tail. `--env local` goes to
// the running `watchpoint dev` through the same calls.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { sdkClients } from '../aws.ts';
import { resolveStage, type CommandContext } from '../context.ts';
import { ExitCode, WatchpointError, userError } from '../errors.ts';
import { flagError, runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import { pickStyle } from '../output.ts';
import { readStdinText } from '../stdin.ts';
import { explainAwsError } from '../stack-resources.ts';
import { FUNCTIONS, findFunction, type InvokableFunction } from '../invoke/catalogue.ts';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { InvokeFlags } from './invoke.define.ts';

export interface InvokeClients {
  cloudformation: CloudFormationClient;
  lambda: LambdaClient;
}

/** Lambda's limit for a synchronous invocation's payload. */
const MAX_EVENT_BYTES = 6 * 1024 * 1024;

export type EventSource = { kind: 'sample'; name: string } | { kind: 'file'; path: string } | { kind: 'stdin' };

export interface InvokeOptions extends Runtime {
  fn: InvokableFunction;
  source: EventSource;
  json: boolean;
  yes: boolean;
  clients: InvokeClients | undefined;
  /** The event text when --event - (tests); default: process.stdin. */
  readStdin: () => Promise<string>;
}

/** The flag contract: validated once, exit 2 naming the flag; no AWS, no config, no file read. */
export function parseInvokeOptions(name: string, flags: InvokeFlags, context: CommandContext & Injectable & { clients?: InvokeClients; readStdin?: () => Promise<string> }): InvokeOptions {
  const fn = findFunction(name ?? '');
  if (!fn) {
    throw userError('FUNCTION_UNKNOWN', `"${name}" is not a WatchPoint function.`, `Name one of ${FUNCTIONS.map((f) => f.name).join(', ')}.`);
  }
  if (flags.event !== undefined && flags.sample !== undefined) throw flagError('--event', 'and --sample both give the event.', 'Pass one of them: --event FILE (or - for stdin), or --sample NAME.');
  if (flags.event === undefined && flags.sample === undefined) throw flagError('--event', 'or --sample is needed: the function needs an event.', `Pass --event FILE (or - for stdin), or --sample NAME (for ${fn.name}: ${sampleNames(fn).join(', ')}).`);
  let source: EventSource;
  if (flags.sample !== undefined) {
    if (!sampleNames(fn).includes(flags.sample)) throw flagError('--sample', `"${flags.sample}" is not a sample for ${fn.name}.`, `Use one of: ${sampleNames(fn).join(', ')}.`);
    source = { kind: 'sample', name: flags.sample };
  } else {
    const path = String(flags.event).trim();
    if (path === '') throw flagError('--event', 'is empty.', "Give a JSON file, or - to read the event from stdin.");
    source = path === '-' ? { kind: 'stdin' } : { kind: 'file', path };
  }
  return {
    ...runtimeOf(context),
    fn,
    source,
    json: Boolean(flags.json),
    yes: Boolean(flags.yes),
    clients: context.clients,
    readStdin:
      context.readStdin ??
      (() =>
        readStdinText({
          onTerminal: () => flagError('--event', '- reads the event from stdin, which is a terminal here.', 'Pipe the event in (cat event.json | watchpoint invoke ... --event -), or pass --event FILE.'),
          maxBytes: MAX_EVENT_BYTES,
          onTooLarge: () => flagError('--event', 'on stdin is over 6 MB, the most a synchronous Lambda invoke accepts.', 'Send a smaller event (one batch of records).'),
        })),
  };
}

/** The sample names of a function, from the trigger table (no event is built). */
const SAMPLE_NAMES: Record<InvokableFunction['trigger']['kind'], (fn: InvokableFunction) => string[]> = {
  sqs: () => ['batch'],
  's3-success': () => ['success'],
  schedule: (fn) => (fn.trigger.kind === 'schedule' ? fn.trigger.rules.map((rule) => (rule === 'data-poller' ? 'schedule' : rule)) : []),
  api: () => ['health', 'list-watchpoints'],
};
export function sampleNames(fn: InvokableFunction): string[] {
  return SAMPLE_NAMES[fn.trigger.kind](fn);
}

export async function runInvoke(options: InvokeOptions): Promise<number> {
  const { io, fn } = options;
  const { envName, stage } = await resolveStage(options);
  const event = await loadEvent(options, { envName, region: stage.region, account: stage.account ?? '123456789012' });
  const { validateEvent } = await import('../invoke/validate.ts');
  const problems = validateEvent(fn, event);
  if (problems.length > 0) {
    throw userError(
      'EVENT_INVALID',
      `The event does not fit ${fn.name}'s trigger (${triggerName(fn)}):\n  ${problems.join('\n  ')}`,
      `Fix those fields${options.source.kind === 'sample' ? '' : ` in ${describeSource(options.source)}`}, or start from a built-in one: \`watchpoint invoke ${fn.name} --sample ${sampleNames(fn)[0]} --env ${envName}\`.`,
    );
  }
  const { isProduction } = await import('../deploy/policy.ts');
  if (fn.writes && isProduction(envName)) {
    const what = `${fn.name} writes in "${envName}" (it sends notifications or writes records)`;
    if (io.interactive) {
      await io.ask({
        kind: 'input',
        field: 'confirmation',
        message: `${what}. Type the environment name (${envName}) to invoke it`,
        validate: (value) => (value.trim() === envName ? true : `does not match "${envName}"; press Ctrl-C to cancel`),
      });
    } else if (!options.yes) {
      throw userError('CONFIRMATION_REQUIRED', `${what}, and there is no terminal to type its name.`, `Re-run with --yes to confirm, or run it in a terminal.`);
    }
  }

  const clients = options.clients ?? (await sdkClients(stage, ['cloudformation', 'lambda']));
  const { findTarget, invokeFunction } = await import('../invoke/lambda.ts');
  let target;
  let outcome;
  try {
    target = await findTarget(clients.cloudformation, envName, fn);
    io.notify('info', `Invoking ${fn.name} (${target.functionName}${target.qualifier ? `:${target.qualifier}` : ''}) with ${describeSource(options.source)} ...`);
    outcome = await invokeFunction(clients.lambda, target, event);
  } catch (error) {
    throw explainAwsError(error, { envName });
  }
  const { buildInvokeReport, renderInvoke } = await import('../invoke/report.ts');
  const report = buildInvokeReport({ env: envName, fn: fn.name, target, event: describeSource(options.source), outcome });
  if (options.json) {
    io.result(JSON.stringify(report, null, 2));
  } else {
    const { notes, result } = renderInvoke(report, pickStyle(options.stdoutIsTty, options.env));
    for (const line of notes) io.notify('info', line);
    io.result(result);
  }
  if (report.functionError) {
    throw new WatchpointError(`${fn.name} failed (${report.functionError}).`, {
      code: 'FUNCTION_ERROR',
      fault: 'system',
      exitCode: ExitCode.failure,
      fix: `Read the function error and the log tail (${options.json ? 'functionError and logTail in the JSON document' : 'printed before this error'}; \`watchpoint logs --env ${envName}\` shows more), fix the handler or the event, then invoke it again.`,
    });
  }
  return ExitCode.ok;
}

function triggerName(fn: InvokableFunction): string {
  const t = fn.trigger;
  return t.kind === 'sqs' ? `an SQS batch from the ${t.queue} queue` : t.kind === 's3-success' ? 'the S3 _SUCCESS notification' : t.kind === 'api' ? 'an API Gateway v2 request' : 'an EventBridge schedule';
}

function describeSource(source: EventSource): string {
  return source.kind === 'sample' ? `sample:${source.name}` : source.kind === 'stdin' ? 'stdin' : `file:${source.path}`;
}

async function loadEvent(options: InvokeOptions, context: { envName: string; region: string; account: string }): Promise<unknown> {
  const { source, fn } = options;
  if (source.kind === 'sample') {
    const { samplesFor } = await import('../invoke/samples.ts');
    const sample = samplesFor(fn).find((s) => s.name === source.name)!;
    return sample.event({ ...context, now: options.now() });
  }
  let raw: string;
  try {
    raw = source.kind === 'stdin' ? await options.readStdin() : await readFile(resolve(options.cwd, source.path), 'utf8');
  } catch (error) {
    throw flagError('--event', `${source.kind === 'stdin' ? 'stdin' : source.path} cannot be read (${(error as Error).message}).`, 'Give a readable JSON file, or - and pipe the event in.', 'EVENT_UNREADABLE');
  }
  if (raw.trim() === '') throw flagError('--event', `${source.kind === 'stdin' ? 'stdin' : source.path} is empty.`, source.kind === 'stdin' ? 'Pipe the event in: cat event.json | watchpoint invoke ... --event -' : 'Write the JSON event into the file.', 'EVENT_INVALID');
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw flagError('--event', `${source.kind === 'stdin' ? 'stdin' : source.path} is not JSON (${(error as Error).message}).`, `Fix the JSON, or use a built-in event instead: --sample ${sampleNames(fn).join(' | ')}.`, 'EVENT_INVALID');
  }
}
