// The trace as text (a timeline an operator reads top to bottom) or as one JSON document.
import { duration, type Style } from '../output.ts';
import { KIND_LABEL } from './ids.ts';
import { formatBytes } from './insights.ts';
import type { TraceResult } from './collect.ts';

/** Problem rows shown in full in the text view; --json has every job and delivery. */
const SHOWN = 20;

export function traceDocument(result: TraceResult, window: { start: Date; end: Date }) {
  return {
    ...result.timeline,
    window: { start: window.start.toISOString(), end: window.end.toISOString() },
    logGroups: result.logGroups,
    insights: result.insights,
  };
}

export function renderTrace(result: TraceResult, style: Style): string {
  const t = result.timeline;
  const out: string[] = [];
  out.push(style.bold(`${KIND_LABEL[t.kind]} ${t.id}`) + `  ${t.lines} log line${t.lines === 1 ? '' : 's'}`);
  out.push('');
  if (t.steps.length > 0) {
    const width = Math.max(...t.steps.map((s) => s.function.length));
    for (const step of t.steps) {
      const gap = step.sincePreviousMs === null ? '' : style.dim(`  (+${ms(step.sincePreviousMs)})`);
      out.push(`${step.at.slice(11, 23)}  ${step.function.padEnd(width)}  ${step.text}${gap}`);
    }
  }
  const d = t.durations;
  const parts = [
    d.readyToLastJobMs !== null ? `ready → last job ${ms(d.readyToLastJobMs)}` : '',
    d.lastJobToLastDeliveryMs !== null ? `last job → last delivery ${ms(d.lastJobToLastDeliveryMs)}` : '',
    d.totalMs !== null ? `first to last line ${ms(d.totalMs)}` : '',
  ].filter(Boolean);
  if (parts.length > 0) out.push('', `Durations: ${parts.join('; ')}.`);

  const problems: string[] = [];
  for (const job of t.jobs.items) {
    if (job.outcome === 'done' && job.failedAttempts === 0) continue;
    const what =
      job.outcome === 'done' ? `done after ${job.failedAttempts} failed attempt${job.failedAttempts === 1 ? '' : 's'}`
      : job.outcome === 'corrupt' ? style.red(`corrupt tile${job.error ? `: ${job.error}` : ''}`)
      : job.outcome === 'failed' ? style.red(`failed ${job.failedAttempts}×, last on receive ${job.lastReceiveCount}${job.error ? `: ${job.error}` : ''}`)
      : style.yellow(`failed ${job.failedAttempts}×, will be retried${job.error ? `: ${job.error}` : ''}`);
    problems.push(`job ${job.jobId.slice(0, 12)}… (${job.worker}) ${what}`);
  }
  for (const story of t.deliveries.items) {
    if (story.outcome === 'delivered' && story.retries === 0) continue;
    if (story.outcome === 'duplicate') continue;
    const what =
      story.outcome === 'delivered' ? `delivered on attempt ${story.attempt ?? story.retries + 1} after ${story.retries} retr${story.retries === 1 ? 'y' : 'ies'}`
      : story.outcome === 'failed' ? style.red(`failed permanently${story.reason ? `: ${story.reason}` : ''}`)
      : story.outcome === 'dropped' ? style.yellow(`dropped: ${story.reason}`)
      : style.yellow(`retrying (receive ${story.lastReceiveCount ?? '?'})${story.reason ? `: ${story.reason}` : ''}`);
    problems.push(`notification ${story.notificationId} (${story.channel}) ${what}`);
  }
  if (problems.length > 0) {
    out.push('', style.bold('Needs a look'));
    for (const line of problems.slice(0, SHOWN)) out.push(`  ${line}`);
    if (problems.length > SHOWN) out.push(`  … and ${problems.length - SHOWN} more (--json lists every job and delivery)`);
  }

  if (t.kind !== 'run' && t.kind !== 'job' && t.kind !== 'notification' && t.other.length > 0) {
    out.push('', style.bold('Lines'));
    for (const line of t.other.slice(0, SHOWN)) out.push(`  ${line.at.slice(11, 23)} ${line.function} ${line.level} ${line.message}`);
  } else {
    const errors = t.other.filter((line) => line.level === 'ERROR' || line.level === 'CRITICAL');
    if (errors.length > 0) {
      out.push('', style.bold('Errors'));
      for (const line of errors.slice(0, SHOWN)) out.push(`  ${line.at.slice(11, 23)} ${line.function} ${style.red(line.message)}`);
    }
  }

  const dlq = t.deadLetter;
  out.push('', style.bold('Dead-letter queue'));
  out.push(`  ${dlq.depth === undefined ? 'depth not read' : `${dlq.depth} message${dlq.depth === 1 ? '' : 's'} in the DLQ now`}.`);
  if (dlq.suspects.length === 0) out.push('  None of these messages was parked or reached its receive limit, by the logs.');
  for (const suspect of dlq.suspects.slice(0, SHOWN)) out.push(`  ${style.red('probably there:')} ${suspect.kind} ${suspect.id} (${suspect.why})`);
  if (dlq.suspects.length > 0 || (dlq.depth ?? 0) > 0) out.push('  `watchpoint dlq inspect` shows what it holds (receiving hides messages briefly and adds 1 to their receive count).');
  out.push('', style.dim(`${result.insights.queries} Logs Insights quer${result.insights.queries === 1 ? 'y' : 'ies'}, ${formatBytes(result.insights.bytesScanned)} scanned.`));
  return out.join('\n');
}

function ms(value: number): string {
  return value < 1000 ? `${value} ms` : value < 60_000 ? `${(value / 1000).toFixed(1)} s` : duration(value / 1000);
}
