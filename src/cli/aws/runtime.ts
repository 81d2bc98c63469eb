// The AWS side of one CLI run: the call ledger and handler every client shares, and the target
// (region + endpoint) once the command has resolved its stage. run() starts it and ends it.
import type { Io } from '../io.ts';
import { BudgetRetryStrategy, CallLedger, WatchedHttpHandler, awsTimeoutMs, type CallEvents } from './calls.ts';
import { applyTargetToProcessEnv, awsTarget, ignoredEndpointWarning, type AwsTarget } from './target.ts';

export interface AwsRuntime {
  ledger: CallLedger;
  handler: WatchedHttpHandler;
  retryStrategy: BudgetRetryStrategy;
  target: AwsTarget | undefined;
  io: Pick<Io, 'notify'> | undefined;
  /** Undoes the process.env changes made for the target. */
  restoreEnv: (() => void) | undefined;
  /** Set when the target is the `watchpoint dev` of this directory (--env local): its errors get local advice. */
  localPlatform?: LocalPlatform;
}

export interface LocalPlatform {
  endpoint: string;
  pid: number;
  cwd: string;
}

/** --env local: calls go to the platform `watchpoint dev` runs (context.ts sets it with the target). */
export function useLocalPlatform(platform: LocalPlatform): void {
  awsRuntime().localPlatform = platform;
}

let current: AwsRuntime | undefined;

/** Debug output is on with --verbose or WATCHPOINT_DEBUG=1. */
export function isVerbose(env: NodeJS.ProcessEnv, flag: boolean | undefined): boolean {
  return Boolean(flag) || env.WATCHPOINT_DEBUG === '1';
}

/** Starts the run's AWS runtime. Throws a user error (exit 2) when WATCHPOINT_AWS_TIMEOUT is bad. */
export function startAwsRuntime(input: { io: Pick<Io, 'notify'>; env: NodeJS.ProcessEnv; verbose: boolean }): AwsRuntime {
  endAwsRuntime();
  const events: CallEvents = { notify: (level, text) => input.io.notify(level, text), verbose: input.verbose };
  const ledger = new CallLedger({ timeoutMs: awsTimeoutMs(input.env), events });
  current = { ledger, handler: new WatchedHttpHandler(ledger), retryStrategy: new BudgetRetryStrategy(ledger.settings.timeoutMs), target: undefined, io: input.io, restoreEnv: undefined };
  return current;
}

/** The run's runtime; outside a run (benchmarks, direct calls) a quiet one with the default budget. */
export function awsRuntime(): AwsRuntime {
  if (!current) {
    const ledger = new CallLedger({ timeoutMs: awsTimeoutMs(process.env), events: { notify: () => undefined, verbose: false } });
    current = { ledger, handler: new WatchedHttpHandler(ledger), retryStrategy: new BudgetRetryStrategy(ledger.settings.timeoutMs), target: undefined, io: undefined, restoreEnv: undefined };
  }
  return current;
}

export function endAwsRuntime(): void {
  if (!current) return;
  current.restoreEnv?.();
  current.handler.destroy();
  current = undefined;
}

/**
 * Fixes where this run's AWS calls go, from the stage (resolveStage calls it). Warns once when the
 * shell's endpoint variables are being ignored, and makes process.env say the same for toolkit-lib.
 */
export function useStageTarget(stage: { region: string; awsEndpointUrl: string }, envName: string, shellEnv: NodeJS.ProcessEnv): AwsTarget {
  const runtime = awsRuntime();
  const target = awsTarget(stage);
  const same = runtime.target && runtime.target.region === target.region && runtime.target.endpoint === target.endpoint;
  if (same) return target;
  const warning = ignoredEndpointWarning(target, shellEnv, envName);
  if (warning) runtime.io?.notify('warn', warning);
  runtime.restoreEnv?.();
  runtime.restoreEnv = applyTargetToProcessEnv(target);
  runtime.target = target;
  return target;
}
