// The dlq flag with its own rules (--match); durations and counts use the flag contract (../flags.ts).
// Parsing and checking the `watchpoint dlq` flags. Everything here runs before any AWS call, and
// every failure is a user error (exit 2) that names the flag and says how to fix it.
import { userError } from '../errors.ts';

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
