// `watchpoint trace ID`: every line that carries an id, across every function, as one timeline.
import { sdkClients } from '../aws.ts';
import { resolveStage, type CommandContext } from '../context.ts';
import { ExitCode, userError } from '../errors.ts';
import { handleCtrlC } from '../interrupt.ts';
import { pickStyle } from '../output.ts';
import { parseWindow } from '../logs/window.ts';
import { collectTrace, type TraceClients } from '../trace/collect.ts';
import { parseKind, parseTraceId } from '../trace/ids.ts';
import { renderTrace, traceDocument } from '../trace/report.ts';
import type { TraceFlags } from './trace.define.ts';

export interface TraceContext extends CommandContext {
  id: string;
  flags: TraceFlags;
  clients?: TraceClients;
  stdoutIsTty?: boolean;
  now?: () => Date;
  /** Between GetQueryResults polls; tests make it short. */
  pollMs?: number;
}

/** The flag contract: the id and every flag, validated once, before any AWS call (exit 2 naming it). */
export function parseTraceRequest(rawId: string, flags: TraceFlags, now: Date) {
  const id = parseTraceId(rawId);
  const kind = parseKind(flags.kind);
  const { start, end } = parseWindow(flags.since, flags.until, now, '24h');
  const timeoutText = String(flags.timeout ?? '120').trim();
  if (!/^\d+$/.test(timeoutText) || Number(timeoutText) < 5 || Number(timeoutText) > 3600) {
    throw userError('TIMEOUT_INVALID', `--timeout "${flags.timeout}" is not a whole number of seconds from 5 to 3600.`, 'Give e.g. --timeout 300.');
  }
  return { id, kind, start, end, timeoutText };
}

export async function traceCommand(context: TraceContext): Promise<number> {
  const now = (context.now ?? (() => new Date()))();
  const { id, kind, start, end, timeoutText } = parseTraceRequest(context.id, context.flags, now);
  const { envName, stage } = await resolveStage(context);
  const clients = context.clients ?? (await sdkClients(stage, ['cloudformation', 'logs', 'sqs']));

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
      timeoutMs: Number(timeoutText) * 1000,
      pollMs: context.pollMs ?? 1000,
      abortSignal: controller.signal,
      onQueryPlan: (groups) =>
        context.io.notify('info', `Querying ${groups.length} log groups (${groups.map((g) => g.source.alias).join(', ')}) from ${start.toISOString()} to ${end.toISOString()} with Logs Insights (billed per GB scanned).`),
      onWarning: (text) => context.io.notify('warn', text),
      onProgress: (text) => {
        // Every 5 s at most: enough to show it is alive, without a wall of lines.
        if (Date.now() - lastProgress < 5000) return;
        lastProgress = Date.now();
        context.io.notify('info', text);
      },
    });
    if (context.flags.json) context.io.result(JSON.stringify(traceDocument(result, { start, end }), null, 2));
    else context.io.result(renderTrace(result, pickStyle(context.stdoutIsTty ?? Boolean(process.stdout.isTTY), context.env)));
    return ExitCode.ok;
  } catch (error) {
    if (controller.signal.aborted) {
      context.io.notify('warn', 'Interrupted: the Logs Insights query was stopped. Nothing was changed.');
      return ExitCode.interrupted;
    }
    throw error;
  } finally {
    releaseCtrlC();
  }
}
