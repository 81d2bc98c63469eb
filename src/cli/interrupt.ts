// Ctrl-C. Commands that know better (deploy while stacks change, dlq walks, status --watch) own it
// while they run those parts; everywhere else run.ts handles it: it aborts the AWS calls in flight,
// and says what state things are left in from what this run's calls did.
import { callName, type AwsCall, type CallLedger } from './aws/calls.ts';

let owners = 0;

/** A command handles Ctrl-C itself until the returned function is called. */
export function handleCtrlC(listener: () => void): () => void {
  process.on('SIGINT', listener);
  owners += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    process.off('SIGINT', listener);
    owners -= 1;
  };
}

export function ctrlCOwned(): boolean {
  return owners > 0;
}

let exitRequested = false;

/** The run should end the process when it returns (work left behind, e.g. toolkit-lib polling). */
export function exitWhenDone(): void {
  exitRequested = true;
}

/** Reads and clears the request. */
export function takeExitRequest(): boolean {
  const requested = exitRequested;
  exitRequested = false;
  return requested;
}

/** What an interrupted run did, from its own AWS calls: never more than it did. */
export function interruptState(ledger: CallLedger, inFlight: readonly AwsCall[]): string {
  const lines: string[] = [];
  const waiting = inFlight.length > 0 ? ` while waiting on ${inFlight.map((call) => `${callName(call)} at ${call.endpoint}`).join(', ')}` : '';
  lines.push(`Interrupted (Ctrl-C)${waiting}.`);
  const changes = count(ledger.completedChanges);
  const unsure = inFlight.filter((call) => ledger.isChanging(call));
  if (changes.length === 0 && unsure.length === 0) {
    lines.push('  Nothing was changed: no call of this run that changes anything had been made.');
  } else {
    lines.push(`  Done before the interrupt: ${changes.length > 0 ? changes.join(', ') : 'no change'}.`);
    if (unsure.length > 0) lines.push(`  In flight, so it may or may not have taken effect: ${unsure.map(callName).join(', ')}.`);
    lines.push('  Check where things stand with the read-only view (e.g. `watchpoint status`, `watchpoint secrets list`) before running it again.');
  }
  return lines.join('\n');
}

function count(names: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name));
}

export interface StopSignal {
  signal: AbortSignal;
  /** Gives Ctrl-C back (or stops listening to the injected signal). */
  release(): void;
}

/**
 * For a command that runs until the operator stops it (status --watch, logs --follow): a signal
 * aborted by Ctrl-C or SIGTERM, with this command owning Ctrl-C meanwhile, or, in tests, by the
 * injected `external` signal alone.
 */
export function stopOnCtrlC(external?: AbortSignal): StopSignal {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  if (external) {
    if (external.aborted) controller.abort();
    else external.addEventListener('abort', onSignal, { once: true });
    return { signal: controller.signal, release: () => external.removeEventListener('abort', onSignal) };
  }
  const releaseCtrlC = handleCtrlC(onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    release: () => {
      releaseCtrlC();
      process.off('SIGTERM', onSignal);
    },
  };
}

/** The one sleep (src/sleep.ts), here for the CLI's modules. */
export { abortableSleep } from '../sleep.ts';
