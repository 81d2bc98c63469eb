// --since / --until: a duration back from now (90s, 15m, 2h, 3d, 1w) or an ISO 8601 time.
import { userError } from '../errors.ts';
import { parseDurationMs } from '../output.ts';

export interface TimeWindow {
  start: Date;
  end: Date;
}

/** One flag's value -> a time; `flag` names it in the error. */
export function parseTimeFlag(raw: string, flag: string, now: Date): Date {
  const value = raw.trim();
  const back = parseDurationMs(value);
  if (back !== undefined) return new Date(now.getTime() - back);
  // ISO 8601 only (Date.parse accepts far more, e.g. "5"): a date, optionally a time and an offset.
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(value)) {
    const time = Date.parse(value);
    if (!Number.isNaN(time)) return new Date(time);
  }
  throw userError(
    'TIME_INVALID',
    `${flag} "${raw}" is neither a duration nor an ISO 8601 time.`,
    `Give a duration back from now such as ${flag} 15m, 2h or 3d, or a time such as ${flag} 2026-03-01T09:30:00Z.`,
  );
}

/** The window from --since (default `defaultSince`) to --until (default now), validated. */
export function parseWindow(since: string | undefined, until: string | undefined, now: Date, defaultSince: string): TimeWindow {
  const start = parseTimeFlag(since ?? defaultSince, '--since', now);
  const end = until === undefined ? now : parseTimeFlag(until, '--until', now);
  if (start.getTime() >= end.getTime()) {
    throw userError('TIME_WINDOW_EMPTY', `--since (${start.toISOString()}) is not before --until (${end.toISOString()}).`, 'Give a --since earlier than --until.');
  }
  return { start, end };
}
