// The output kit: every report's colour, tables, durations and ages, and the one duration grammar
// that flags use (logs --since/--until, dlq --older-than). Pure: no I/O, no AWS, cheap to import.
import { styleText, stripVTControlCharacters } from 'node:util';

// --- Style ------------------------------------------------------------------------------------------

export interface Style {
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

// The decision (TTY, NO_COLOR, FORCE_COLOR) is taken once by pickStyle against the command's own
// environment; styleText only writes the codes, so validateStream is off.
const styled = (format: Parameters<typeof styleText>[0]) => (text: string) => styleText(format, text, { validateStream: false });
export const COLOR: Style = { red: styled('red'), yellow: styled('yellow'), green: styled('green'), bold: styled('bold'), dim: styled('dim') };
export const PLAIN: Style = { red: (t) => t, yellow: (t) => t, green: (t) => t, bold: (t) => t, dim: (t) => t };

/**
 * Whether to colour, as Node decides for its own output: FORCE_COLOR wins ("0" or "false" turns
 * colour off, any other value on, even when not on a terminal); otherwise no colour when NO_COLOR is
 * set to anything but "" (no-color.org); otherwise colour only on a terminal.
 */
export function wantsColor(isTty: boolean, env: NodeJS.ProcessEnv): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTty;
}

export function pickStyle(isTty: boolean, env: NodeJS.ProcessEnv): Style {
  return wantsColor(isTty, env) ? COLOR : PLAIN;
}

/** The width the eye sees: colour codes do not count. */
export function visibleWidth(text: string): number {
  return stripVTControlCharacters(text).length;
}

// --- Tables -----------------------------------------------------------------------------------------

export interface TableOptions {
  /** Put before every line; two spaces (under a heading) unless given. */
  indent?: string;
  /** Per column: pad on the left (numbers). */
  rightAlign?: readonly boolean[];
}

/**
 * A header and rows in aligned columns two spaces apart, one string per line. The last column is
 * not padded (unless right-aligned) and trailing spaces are trimmed, so nothing wraps needlessly.
 * Colour codes in cells do not count towards widths.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], options: TableOptions = {}): string[] {
  const indent = options.indent ?? '  ';
  const rightAlign = options.rightAlign ?? [];
  const widths = header.map((title, column) => Math.max(visibleWidth(title), ...rows.map((row) => visibleWidth(row[column] ?? ''))));
  const format = (row: readonly string[]) =>
    indent +
    row
      .map((cell, column) => {
        const pad = ' '.repeat(Math.max(0, (widths[column] ?? 0) - visibleWidth(cell)));
        if (rightAlign[column]) return pad + cell;
        return column === row.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return [format(header), ...rows.map(format)];
}

// --- Durations and ages -----------------------------------------------------------------------------

/** 2h 5m, 3d 4h, 45s: the two largest units, for a person at 3 a.m. */
export function duration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.round(totalSeconds));
  const units: [string, number][] = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of units) {
    const value = Math.floor(rest / size);
    rest -= value * size;
    if (value > 0 || parts.length > 0) parts.push(`${value}${unit}`);
    if (parts.length === 2) break;
  }
  const shown = parts.filter((part, index) => index === 0 || !part.startsWith('0'));
  return shown.length ? shown.join(' ') : '0s';
}

/** How long ago `at` was, in the two largest units: "2h 5m ago". */
export function ago(at: Date, now: Date): string {
  return `${duration((now.getTime() - at.getTime()) / 1000)} ago`;
}

/** One coarse unit, for narrow columns: 45m, 30h (under two days), 12d. */
export function coarseAge(from: Date, now: Date): string {
  const minutes = Math.floor(Math.max(0, now.getTime() - from.getTime()) / 60_000);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

/** "2026-03-01 09:30 UTC" from an ISO time: the minute is what an operator compares. */
export function clock(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** An ISO time to the second ("2026-03-01T09:30:00Z"), or "-" when there is none. */
export function isoSeconds(value: Date | undefined): string {
  return value ? value.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

// --- The duration grammar ---------------------------------------------------------------------------

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The units the grammar accepts, for help and error text. */
export const DURATION_UNITS = 's, m, h, d or w';

/**
 * A duration as flags take it: one or more number-unit parts, units s m h d w (any case), e.g.
 * "90s", "15m", "1.5h", "3d", "1w", "1h30m". Milliseconds, or undefined when it is not one. Zero is
 * a duration; callers that need more say so.
 */
export function parseDurationMs(raw: string): number | undefined {
  const text = raw.trim();
  if (!/^(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+$/i.test(text)) return undefined;
  let ms = 0;
  for (const [, value, unit] of text.matchAll(/(\d+(?:\.\d+)?)\s*([smhdw])/gi)) ms += Number(value) * UNIT_MS[unit!.toLowerCase()]!;
  return ms;
}
