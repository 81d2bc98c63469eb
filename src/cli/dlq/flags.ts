// Parsing and checking the `watchpoint dlq` flags. Everything here runs before any AWS call, and
// every failure is a user error (exit 2) that names the flag and says how to fix it.
import { userError } from '../errors.ts';

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "2h", "1d", or combinations such as "1h30m". */
export function parseDuration(flag: string, raw: string): number {
  const text = raw.trim();
  const pattern = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
  const parts = pattern.exec(text);
  if (!parts || text === '') {
    throw userError('FLAG_INVALID', `${flag} "${raw}" is not a duration.`, `Use a number with a unit: s, m, h or d, e.g. ${flag} 2h, 30m, 1d or 1h30m.`);
  }
  const [, d, h, m, s] = parts;
  const ms = Number(d ?? 0) * UNIT_MS.d! + Number(h ?? 0) * UNIT_MS.h! + Number(m ?? 0) * UNIT_MS.m! + Number(s ?? 0) * UNIT_MS.s!;
  if (ms <= 0) throw userError('FLAG_INVALID', `${flag} "${raw}" must be longer than zero.`, `Give a positive duration, e.g. ${flag} 30m.`);
  return ms;
}

/** A whole number in [min, max]. */
export function parseIntegerFlag(flag: string, raw: unknown, min: number, max: number): number {
  const text = String(raw).trim();
  if (!/^\d+$/.test(text)) throw userError('FLAG_INVALID', `${flag} "${String(raw)}" is not a whole number.`, `Give a whole number from ${min} to ${max}.`);
  const value = Number(text);
  if (value < min || value > max) throw userError('FLAG_INVALID', `${flag} ${value} is out of range.`, `Give a whole number from ${min} to ${max}.`);
  return value;
}

/** The body filter. Invalid patterns are caught here, with the engine's own explanation. */
export function parseMatch(raw: string): RegExp {
  if (raw === '') throw userError('FLAG_INVALID', '--match is empty.', 'Give a regular expression that the message body must contain, e.g. --match \'"type":"webhook"\'.');
  try {
    return new RegExp(raw, 'u');
  } catch (error) {
    throw userError(
      'MATCH_INVALID',
      `--match "${raw}" is not a valid regular expression: ${error instanceof Error ? error.message : String(error)}.`,
      'Fix the pattern (JavaScript syntax, unicode mode); quote it for the shell, e.g. --match \'order-[0-9]+\'.',
    );
  }
}
