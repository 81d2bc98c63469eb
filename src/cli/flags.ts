// The flag contract, modelled on the gh CLI's pkg/cmd/<cmd>/<sub> (an options struct, a run
// function, injected I/O, tests beside them):
//
//   <cmd>.define.ts   declares each flag once with commander, and exports `<Cmd>Flags`, the type of
//                     what commander hands over (raw strings and booleans).
//   <cmd>.ts          parse<Cmd>Options(flags, context): the one place those flags are validated
//                     (exit 2 naming the flag and the fix) and turned into `<Cmd>Options`, which
//                     also carries the run's I/O, clock, sleep and terminal (and clients, when
//                     injected). Pure: no AWS, no config file, so it is unit-tested without running
//                     the command.
//                     run<Cmd>(options): the flow. It never looks at raw flags again.
//
// The action in the define file is then always the same two lines:
//   const { parseXOptions, runX } = await import('./x.ts');
//   definer.exit(await runX(parseXOptions(flags, definer.context(flags))));
import type { CommandContext } from './context.ts';
import { abortableSleep } from './interrupt.ts';
import { userError, type WatchpointError } from './errors.ts';
import { DURATION_UNITS, parseDurationMs } from './output.ts';

/** What every command's options carry besides its flags: where to talk, the clock, the wait. */
export interface Runtime extends CommandContext {
  now: () => Date;
  /** Waits `ms`, or less when `signal` aborts. Method syntax: a test's sleep may require the signal. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Whether stdout is a terminal (colour, redrawing in place). */
  stdoutIsTty: boolean;
}

/** What a test (or run.ts) may inject; anything left out is the real thing. */
export interface Injectable {
  now?: () => Date;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  stdoutIsTty?: boolean;
}

/** The Runtime for a context: injected parts as given, the rest real. */
export function runtimeOf(context: CommandContext & Injectable): Runtime {
  return {
    io: context.io,
    options: context.options,
    env: context.env,
    cwd: context.cwd,
    ...(context.verbose !== undefined ? { verbose: context.verbose } : {}),
    ...(context.command !== undefined ? { command: context.command } : {}),
    now: context.now ?? (() => new Date()),
    sleep: (context.sleep as Runtime['sleep'] | undefined) ?? ((ms, signal) => abortableSleep(ms, signal)),
    stdoutIsTty: context.stdoutIsTty ?? Boolean(process.stdout.isTTY),
  };
}

/** A bad flag value: exit 2, the flag named first, then how to fix it. */
export function flagError(flag: string, problem: string, fix: string, code = 'FLAG_INVALID'): WatchpointError {
  return userError(code, `${flag} ${problem}`, fix);
}

/** A whole number in [min, max]. */
export function wholeNumberFlag(flag: string, raw: unknown, min: number, max: number): number {
  const text = String(raw).trim();
  if (!/^\d+$/.test(text)) throw flagError(flag, `"${String(raw)}" is not a whole number.`, `Give a whole number from ${min} to ${max}.`);
  const value = Number(text);
  if (value < min || value > max) throw flagError(flag, `${value} is out of range.`, `Give a whole number from ${min} to ${max}.`);
  return value;
}

/** A positive duration in the output kit's grammar ("90s", "30m", "2h", "1d", "1h30m"), in ms. */
export function durationFlag(flag: string, raw: string): number {
  const ms = parseDurationMs(raw);
  if (ms === undefined || raw.trim() === '') {
    throw flagError(flag, `"${raw}" is not a duration.`, `Use a number with a unit: ${DURATION_UNITS}, e.g. ${flag} 2h, 30m, 1d or 1h30m.`);
  }
  if (ms <= 0) throw flagError(flag, `"${raw}" must be longer than zero.`, `Give a positive duration, e.g. ${flag} 30m.`);
  return ms;
}
