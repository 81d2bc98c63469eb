// How one log event looks: Powertools JSON lines as time, source, level, message and the keys that
// tie a line to a run, job, notification, watchpoint or request; EMF metric lines as their metrics;
// anything else (Lambda's START and REPORT lines, a runtime crash) as it came. --json prints the event as one NDJSON object instead.
import type { Style } from '../status/report.ts';
import type { LogEvent } from './fetch.ts';

/** The correlation keys, in the order shown. */
export const KEY_FIELDS = ['run_id', 'job_id', 'notification_id', 'watchpoint_id', 'request_id'] as const;
/** Shown after the keys when present: why something failed. */
const DETAIL_FIELDS = ['event', 'error', 'reason', 'receive_count'] as const;

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LevelName = (typeof LEVELS)[number];
const RANK: Record<string, number> = { DEBUG: 0, INFO: 1, WARN: 2, WARNING: 2, ERROR: 3, CRITICAL: 4, FATAL: 4 };

export interface PowertoolsLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

/** A Powertools JSON line, or undefined for any other text. */
export function parsePowertools(message: string): PowertoolsLine | undefined {
  if (!message.startsWith('{')) return undefined;
  try {
    const json = JSON.parse(message) as unknown;
    if (!json || typeof json !== 'object' || Array.isArray(json)) return undefined;
    const fields = json as Record<string, unknown>;
    if (typeof fields.level !== 'string' || typeof fields.message !== 'string') return undefined;
    return { level: fields.level, message: fields.message, fields };
  } catch {
    return undefined;
  }
}

/**
 * Lines the Lambda runtime writes when an invocation dies, not through Powertools: "Task timed out
 * after 30.00 seconds", the Node.js runtime's tab-separated ERROR lines ("Invoke Error",
 * "Unhandled Promise Rejection"), and "Runtime exited with error" / Runtime.ExitError. They are errors.
 */
const CRASH_LINE = /Task timed out after|\tERROR\t|Runtime exited with error|^Runtime\.[A-Za-z]+Error\b/;

export function isCrashLine(message: string): boolean {
  return parsePowertools(message) === undefined && CRASH_LINE.test(message);
}

/** --level: keeps Powertools lines at that level or above, and crash lines (errors); drops every other line. */
export function levelFilter(level: LevelName): (message: string) => boolean {
  const floor = RANK[level.toUpperCase()]!;
  return (message) => {
    const line = parsePowertools(message);
    if (line === undefined) return floor <= RANK.ERROR! && isCrashLine(message);
    return (RANK[line.level.toUpperCase()] ?? 0) >= floor;
  };
}

/**
 * The filter pattern that makes CloudWatch do most of the --level filtering, when no --filter is
 * given: any of the level names at or above it, or a crash line's words. A JSON pattern would be
 * tighter but can never match the runtime's plain-text crash lines; levelFilter() then keeps exactly
 * the lines wanted (a term can also match inside a message).
 */
export function levelPattern(level: LevelName): string {
  const names = Object.entries(RANK)
    .filter(([, rank]) => rank >= RANK[level.toUpperCase()]!)
    .map(([name]) => `?${name}`);
  return [...names, '?"Task timed out"', '?"Runtime exited"', '?"Runtime.ExitError"'].join(' ');
}

export interface LineFormat {
  style: Style;
  /** Show the date too (the window spans more than one UTC day). */
  withDate: boolean;
  /** Width to pad the source name to. */
  aliasWidth: number;
}

export function formatEvent(event: LogEvent, format: LineFormat): string {
  const iso = new Date(event.timestamp).toISOString();
  const time = format.withDate ? `${iso.slice(0, 10)} ${iso.slice(11, 23)}` : iso.slice(11, 23);
  const alias = format.style.dim(event.alias.padEnd(format.aliasWidth));
  const line = parsePowertools(event.message);
  if (!line) {
    const metrics = emfMetrics(event.message);
    if (metrics) return `${time} ${alias} ${format.style.dim(`EMF   ${metrics}`)}`;
    return `${time} ${alias} ${event.message.replace(/\s+$/, '')}`;
  }
  const level = line.level.toUpperCase().padEnd(5);
  const coloured = RANK[level.trim()]! >= 3 ? format.style.red(level) : level.trim() === 'WARN' ? format.style.yellow(level) : level;
  const keys = [...KEY_FIELDS, ...DETAIL_FIELDS]
    .filter((key) => line.fields[key] !== undefined && line.fields[key] !== null && line.fields[key] !== line.message)
    .map((key) => `${key}=${scalar(line.fields[key])}`);
  return `${time} ${alias} ${coloured} ${line.message}${keys.length ? `  ${format.style.dim(keys.join(' '))}` : ''}`;
}

/**
 * A Powertools Metrics (EMF) line as `Name=value ...` plus its dimensions, or undefined for any other
 * text: the JSON blob is a third of a busy window and says little to a reader.
 */
function emfMetrics(message: string): string | undefined {
  if (!message.startsWith('{"_aws"')) return undefined;
  try {
    const json = JSON.parse(message) as Record<string, unknown> & { _aws?: { CloudWatchMetrics?: { Dimensions?: string[][]; Metrics?: { Name?: string }[] }[] } };
    const directives = json._aws?.CloudWatchMetrics;
    if (!Array.isArray(directives)) return undefined;
    const names = directives.flatMap((d) => (d.Metrics ?? []).map((m) => m.Name)).filter((n): n is string => typeof n === 'string');
    const dimensions = [...new Set(directives.flatMap((d) => (d.Dimensions ?? []).flat()))];
    const value = (v: unknown) => (Array.isArray(v) ? v.join(',') : scalar(v));
    return [...names.map((n) => `${n}=${value(json[n])}`), ...dimensions.map((d) => `${d}=${value(json[d])}`)].join(' ');
  } catch {
    return undefined;
  }
}

/** --json: one object per event, the message exactly as CloudWatch holds it (`jq '.message | fromjson'`). */
export function eventJson(event: LogEvent): string {
  return JSON.stringify({
    timestamp: new Date(event.timestamp).toISOString(),
    function: event.alias,
    logGroup: event.logGroupName,
    logStream: event.logStreamName,
    eventId: event.eventId,
    message: event.message,
  });
}

function scalar(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /\s/.test(text) ? JSON.stringify(text) : text;
}
