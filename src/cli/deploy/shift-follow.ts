// Polls a ShiftWatch while CloudFormation deploys the platform stack, hands each changed line to the
// task's output, and keeps the latest state for what deploy says afterwards (success, an alarm
// rollback, or Ctrl-C).
import { abortableSleep } from '../../sleep.ts';
import type { FunctionShift, ShiftWatch } from './shift.ts';
import { shiftLines } from './shift-report.ts';

export interface ShiftFollowing {
  /** Stops polling after one last read (so a rollback that just finished is seen); resolves with the latest state. */
  stop(): Promise<FunctionShift[]>;
  /** The state of the last read (Ctrl-C reads this without waiting). */
  latest(): FunctionShift[];
  /** Stops polling at once, with no last read (Ctrl-C: the shift goes on in AWS, this command does not). */
  cancel(): void;
}

export function followShifts(watch: ShiftWatch, options: { output: (line: string) => void; intervalMs: number; now?: () => Date }): ShiftFollowing {
  const now = options.now ?? (() => new Date());
  const stopping = new AbortController();
  let latest: FunctionShift[] = [];
  const shown = new Map<string, string>();
  let lastError = '';

  const pollOnce = async () => {
    try {
      latest = await watch.poll();
      lastError = '';
      for (const [index, line] of shiftLines(latest, now()).entries()) {
        const key = latest[index]!.fn;
        // Only what changed, so the task output is not flooded every few seconds; the countdown is
        // left out of the comparison and refreshed with any other change.
        const stable = line.replace(/; next step in [^;]+/, '');
        if (shown.get(key) !== stable) {
          shown.set(key, stable);
          options.output(`shift: ${line}`);
        }
      }
    } catch (error) {
      // Reading the shift never fails the deploy: CloudFormation, not this loop, decides the outcome.
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      if (text !== lastError) options.output(`shift: could not read CodeDeploy or the alarms (${text}); CloudFormation is still waiting for the shift`);
      lastError = text;
    }
  };

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      await pollOnce();
      await abortableSleep(options.intervalMs, stopping.signal);
    }
  })();

  return {
    async stop() {
      stopping.abort();
      await loop;
      await pollOnce();
      return latest;
    },
    latest: () => latest,
    cancel: () => stopping.abort(),
  };
}
