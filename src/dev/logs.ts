// The dev platform's one log stream: every function's Powertools JSON lines, pretty-printed with the
// function's name, and a summary per forecast cycle tallied from the handlers' own events
// (ForecastReady, EvalJobDone, DeliverySucceeded/DeliveryFailed).

const SKIP = new Set(['level', 'message', 'timestamp', 'service', 'sampling_rate', 'xray_trace_id', 'cold_start', 'function_arn', 'function_name', 'function_memory_size', 'function_request_id']);

/** `12:00:01.234 ApiFunction     INFO  API key created action=apikey.created ...`; non-JSON lines pass as they are. */
export function prettyLine(fn: string, line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
    if (typeof entry !== 'object' || entry === null) throw new Error('not an object');
  } catch {
    return `${fn.padEnd(20)} ${line}`;
  }
  // A Powertools EMF metrics blob: just the values.
  if (typeof entry._aws === 'object' && entry._aws !== null) {
    const metrics = Object.entries(entry).filter(([key, value]) => key !== '_aws' && typeof value === 'number');
    return `${new Date().toISOString().slice(11, 23)} ${fn.padEnd(20)} METRIC ${metrics.map(([key, value]) => `${key}=${String(value)}`).join(' ')}`;
  }
  const time = typeof entry.timestamp === 'string' ? entry.timestamp.slice(11, 23) : new Date().toISOString().slice(11, 23);
  const fields = Object.entries(entry)
    .filter(([key]) => !SKIP.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${time} ${fn.padEnd(20)} ${String(entry.level ?? 'INFO').padEnd(5)} ${String(entry.message ?? '')}${fields ? ` ${fields}` : ''}`;
}

export interface CycleSummary {
  runId: string;
  forecastType: string;
  tiles: number;
  jobs: number;
  jobsDone: number;
  notifications: number;
  delivered: number;
  failed: number;
  /** Delivery attempts that failed and will be retried (not final). */
  retries: number;
}

export class CycleTracker {
  readonly cycles = new Map<string, CycleSummary>();
  private readonly notificationRun = new Map<string, string>();
  private readonly onSettled: (cycle: CycleSummary) => void;
  private readonly reported = new Set<string>();

  constructor(onSettled: (cycle: CycleSummary) => void) {
    this.onSettled = onSettled;
  }

  /** Feeds one raw log line; returns the cycle it touched, if any. */
  observe(line: string): void {
    if (!line.startsWith('{')) return;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const runId = typeof entry.run_id === 'string' ? entry.run_id : undefined;
    const key = runId ? `${String(entry.forecast_type ?? '')}/${runId}` : undefined;
    const cycle = (k: string | undefined) => (k ? this.cycles.get(k) : undefined);
    switch (entry.event) {
      case 'ForecastReady': {
        if (!key || !runId) return;
        this.cycles.set(key, { runId, forecastType: String(entry.forecast_type), tiles: Number(entry.tiles), jobs: Number(entry.jobs), jobsDone: 0, notifications: 0, delivered: 0, failed: 0, retries: 0 });
        break;
      }
      case 'EvalJobDone': {
        const c = cycle(key);
        if (!c) return;
        c.jobsDone += 1;
        c.notifications += Number(entry.enqueued ?? 0);
        break;
      }
      case 'DeliverySucceeded':
      case 'DeliveryFailed': {
        const c = [...this.cycles.values()].find((x) => x.runId === runId);
        if (!c) return;
        if (entry.event === 'DeliverySucceeded') c.delivered += 1;
        else c.failed += 1;
        break;
      }
      case 'DeliveryRetry':
        for (const c of this.cycles.values()) if (c.jobsDone === c.jobs && c.delivered + c.failed < c.notifications) c.retries += 1;
        return;
      default:
        return;
    }
    for (const [k, c] of this.cycles) {
      if (!this.reported.has(k) && c.jobsDone >= c.jobs && c.delivered + c.failed >= c.notifications) {
        this.reported.add(k);
        this.onSettled(c);
      }
    }
  }
}

export function cycleLine(c: CycleSummary): string {
  return `cycle ${c.forecastType}/${c.runId}: ${c.tiles} tiles, ${c.jobs} jobs, ${c.notifications} notifications, ${c.delivered} delivered, ${c.failed} failed, ${c.retries} retried`;
}
