// One error type for everything the CLI reports, and one formatter for every error.

export { ExitCode, WatchpointError, isWatchpointError, userError, type Fault, type WatchpointErrorOptions } from '../errors.ts';
import { isWatchpointError } from '../errors.ts';

/** The user pressed Ctrl-C in a prompt (@inquirer/prompts throws ExitPromptError). */
export function isPromptCancel(error: unknown): boolean {
  return error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError');
}

/** Said when nothing in an error says how to fix it: every printed error ends with a fix. */
export const FALLBACK_FIX = 'Run the command again with --verbose (or WATCHPOINT_DEBUG=1) to see each step and AWS call; if it fails the same way, report it with that output.';

/**
 * Turns any error into lines an operator can act on: the message, each cause, then one `fix:` line,
 * always last: the outermost fix in the chain, or FALLBACK_FIX. AWS SDK errors often have an empty
 * message; their name and HTTP status still say something.
 */
export function formatError(error: unknown): string {
  const lines: string[] = [];
  let current: unknown = error;
  let depth = 0;
  let fix: string | undefined;
  const seen = new Set<unknown>();
  let previous: string | undefined;
  while (current !== undefined && current !== null && depth < 8 && !seen.has(current)) {
    seen.add(current);
    const prefix = depth === 0 ? 'Error: ' : '  caused by: ';
    const text = describe(current);
    // A wrapper that reuses its cause's message (e.g. esbuild's report, several lines) says it once.
    if (text !== previous) lines.push(prefix + text);
    previous = text;
    if (fix === undefined && isWatchpointError(current) && current.fix) fix = current.fix;
    current = current instanceof Error ? current.cause : undefined;
    depth += 1;
  }
  lines.push(`  fix: ${fix ?? FALLBACK_FIX}`);
  return lines.join('\n');
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const sdk = error as Error & { $metadata?: { httpStatusCode?: number; requestId?: string }; Code?: string };
  const message = error.message.trim();
  if (sdk.$metadata) {
    const status = sdk.$metadata.httpStatusCode ? ` (HTTP ${sdk.$metadata.httpStatusCode})` : '';
    const request = sdk.$metadata.requestId ? ` [request ${sdk.$metadata.requestId}]` : '';
    // Network failures surface as SDK errors named plain "Error": show the message alone.
    const name = error.name === 'Error' ? '' : error.name;
    const text = message && message !== name ? (name ? `${name}: ${message}` : message) : name || 'Unknown AWS error';
    return `${text}${status}${request}`;
  }
  if (isWatchpointError(error)) return message;
  return message || error.name;
}
