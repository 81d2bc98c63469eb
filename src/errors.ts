// The error type every part of WatchPoint raises (CLI, config, the local platform) and the exit codes
// it maps to. It lives outside src/cli so that src/config and src/dev can raise errors with a fix
// without depending on the CLI; src/cli/errors.ts formats them.

/** Exit codes are part of the interface: scripts and cron act on them. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** `status`: an alarm is firing or a dead-man series is late; `drift --fail`: a stack drifted. */
  unhealthy: 3,
  /** Ctrl-C, as shells report SIGINT. */
  interrupted: 130,
} as const;

export type Fault = 'user' | 'system';

export interface WatchpointErrorOptions {
  /** Stable, greppable code, e.g. CONFIG_INVALID. */
  code: string;
  /** Who has to act: the operator (bad input, exit 2) or the system (exit 1). */
  fault: Fault;
  /** How to fix it, as one sentence the operator can follow. */
  fix?: string;
  cause?: unknown;
  exitCode?: number;
}

/**
 * Marks a WatchpointError across copies of this module: the CLI runs from a bundle that holds one
 * copy, while src/dev (loaded from source) imports another, and `instanceof` must see both.
 */
const BRAND = Symbol.for('watchpoint.WatchpointError');

export class WatchpointError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    // Subclasses (TemplateError...) keep the ordinary prototype check.
    if (this !== WatchpointError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  readonly code: string;
  readonly fault: Fault;
  readonly fix: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: WatchpointErrorOptions) {
    super(message, { cause: options.cause });
    Object.defineProperty(this, BRAND, { value: true });
    this.name = 'WatchpointError';
    this.code = options.code;
    this.fault = options.fault;
    this.fix = options.fix;
    this.exitCode = options.exitCode ?? (options.fault === 'user' ? ExitCode.usage : ExitCode.failure);
  }
}

/** Bad input from the operator: exit 2. */
export function userError(code: string, message: string, fix?: string, cause?: unknown): WatchpointError {
  return new WatchpointError(message, { code, fault: 'user', fix, cause });
}

export function isWatchpointError(error: unknown): error is WatchpointError {
  return error instanceof WatchpointError;
}
