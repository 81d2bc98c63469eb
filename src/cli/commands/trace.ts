// `watchpoint trace ID`: every line that carries an id, across every function, as one timeline.
import { sdkClients } from '../aws.ts';
import { resolveStage, type CommandContext } from '../context.ts';
import { ExitCode } from '../errors.ts';
import { flagError, runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import { handleCtrlC } from '../interrupt.ts';
import { pickStyle } from '../output.ts';
import { parseWindow } from '../logs/window.ts';
import { collectTrace, type TraceClients } from '../trace/collect.ts';
import { parseKind, parseTraceId, type TraceKind } from '../trace/ids.ts';
import { renderTrace, traceDocument } from '../trace/report.ts';
import type { TraceFlags } from './trace.define.ts';

/** Raw id, flags and injections in one object (tests). */
export interface TraceContext extends CommandContext, Injectable {
  id: string;
  flags: TraceFlags;
  clients?: TraceClients;
  /** Between GetQueryResults polls; tests make it short. */
  pollMs?: number;
}

/** Everything `trace` runs on, validated. */
export interface TraceOptions extends Runtime {
  id: string;
  kind: TraceKind | undefined;
  start: Date;
  end: Date;
  timeoutSeconds: number;
  json: boolean;
  pollMs: number;
  clients: TraceClients | undefined;
}

/** The flag contract: the id and every flag, validated once, before any AWS call (exit 2 naming it). */
export function parseTraceOptions(rawId: string, flags: TraceFlags, context: CommandContext & Injectable & { clients?: TraceClients; pollMs?: number }): TraceOptions {
  const runtime = runtimeOf(context);
  const id = parseTraceId(rawId);
  const kind = parseKind(flags.kind);
  const { start, end } = parseWindow(flags.since, flags.until, runtime.now(), '24h');
  const timeoutText = String(flags.timeout ?? '120').trim();
  if (!/^\d+$/.test(timeoutText) || Number(timeoutText) < 5 || Number(timeoutText) > 3600) {
    throw flagError('--timeout', `"${flags.timeout}" is not a whole number of seconds from 5 to 3600.`, 'Give e.g. --timeout 300.', 'TIMEOUT_INVALID');
  }
  return { ...runtime, id, kind, start, end, timeoutSeconds: Number(timeoutText), json: Boolean(flags.json), pollMs: context.pollMs ?? 1000, clients: context.clients };
}

/** Raw id, flags, context and injections (tests): parse, then run. */
export async function traceCommand(context: TraceContext): Promise<number> {
  return runTrace(parseTraceOptions(context.id, context.flags, context));
}

export async function runTrace(options: TraceOptions): Promise<number> {
  const { id, kind, start, end } = options;
  // Flags are valid (parseTraceOptions); the config next. No AWS call before both are.
  const { envName, stage } = await resolveStage(options);
  const clients = options.clients ?? (await sdkClients(stage, ['cloudformation', 'logs', 'sqs']));

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  // This command owns Ctrl-C while its query runs, so the query is stopped (it bills while it scans).
  const releaseCtrlC = handleCtrlC(onSignal);
  let lastProgress = 0;
  try {
    const result = await collectTrace(clients, {
      envName,
      id,
      kind,
      start,
      end,
      timeoutMs: options.timeoutSeconds * 1000,
      pollMs: options.pollMs,
      abortSignal: controller.signal,
      onQueryPlan: (groups) =>
        options.io.notify('info', `Querying ${groups.length} log groups (${groups.map((g) => g.source.alias).join(', ')}) from ${start.toISOString()} to ${end.toISOString()} with Logs Insights (billed per GB scanned).`),
      onWarning: (text) => options.io.notify('warn', text),
      onProgress: (text) => {
        // Every 5 s at most: enough to show it is alive, without a wall of lines.
        if (Date.now() - lastProgress < 5000) return;
        lastProgress = Date.now();
        options.io.notify('info', text);
      },
    });
    if (options.json) options.io.result(JSON.stringify(traceDocument(result, { start, end }), null, 2));
    else options.io.result(renderTrace(result, pickStyle(options.stdoutIsTty, options.env)));
    return ExitCode.ok;
  } catch (error) {
    if (controller.signal.aborted) {
      options.io.notify('warn', 'Interrupted: the Logs Insights query was stopped. Nothing was changed.');
      return ExitCode.interrupted;
    }
    throw error;
  } finally {
    releaseCtrlC();
  }
}
