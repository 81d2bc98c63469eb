// What `watchpoint invoke` prints: the JSON document (--json) or the human view (the response payload
// on stdout; the target, function error and log tail on stderr, so `| jq` sees only the payload).
import type { Style } from '../output.ts';
import type { FunctionTarget, InvokeOutcome } from './lambda.ts';

export interface InvokeReport {
  env: string;
  function: string;
  target: FunctionTarget;
  /** Where the event came from: "sample:<name>", "file:<path>" or "stdin". */
  event: string;
  statusCode: number | null;
  executedVersion: string | null;
  functionError: string | null;
  payload: unknown;
  logTail: string[];
}

export function buildInvokeReport(input: { env: string; fn: string; target: FunctionTarget; event: string; outcome: InvokeOutcome }): InvokeReport {
  const { outcome } = input;
  return {
    env: input.env,
    function: input.fn,
    target: input.target,
    event: input.event,
    statusCode: outcome.statusCode ?? null,
    executedVersion: outcome.executedVersion ?? null,
    functionError: outcome.functionError ?? null,
    payload: outcome.payload,
    logTail: outcome.logTail,
  };
}

/** The lines for stderr (context, log tail, error) and stdout (the payload). */
export function renderInvoke(report: InvokeReport, style: Style): { notes: string[]; result: string } {
  const target = `${report.target.functionName}${report.target.qualifier ? `:${report.target.qualifier}` : ''}`;
  const notes = [`${style.bold(report.function)} (${target}) in "${report.env}", event from ${report.event}: status ${report.statusCode ?? '?'}${report.executedVersion ? `, version ${report.executedVersion}` : ''}`];
  if (report.logTail.length > 0) {
    notes.push(style.dim('--- log tail (last 4 KB) ---'));
    for (const line of report.logTail) notes.push(`  ${line}`);
    notes.push(style.dim('---'));
  }
  if (report.functionError) {
    const payload = report.payload as { errorType?: unknown; errorMessage?: unknown } | null;
    const what = payload && typeof payload === 'object' ? `${String(payload.errorType ?? 'Error')}: ${String(payload.errorMessage ?? '')}` : String(report.payload);
    notes.push(style.red(`Function error (${report.functionError}): ${what}`));
  }
  const result = typeof report.payload === 'string' ? report.payload : JSON.stringify(report.payload, null, 2);
  return { notes, result };
}
