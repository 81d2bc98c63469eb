// A small benchmark harness: runs commands as child processes, interleaved so that machine noise
// hits baseline and subject alike, and reports medians and their ratio.
import { spawnSync } from 'node:child_process';

export interface Command {
  label: string;
  argv: [string, ...string[]];
  env?: NodeJS.ProcessEnv;
  /** Runs before each timed run (not timed), e.g. to clear an output directory. */
  before?: () => void;
}

export interface Sample {
  label: string;
  runs: number[];
  median: number;
  min: number;
}

function timeOnce(command: Command): number {
  command.before?.();
  const started = process.hrtime.bigint();
  const result = spawnSync(command.argv[0], command.argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: command.env ?? process.env });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command.label} exited ${result.status}: ${result.stderr?.toString().slice(-2000)}`);
  return ms;
}

export function compare(baseline: Command, subject: Command, options: { runs: number; warmup: number }): [Sample, Sample] {
  for (let i = 0; i < options.warmup; i += 1) {
    timeOnce(baseline);
    timeOnce(subject);
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < options.runs; i += 1) {
    // Alternate the order so neither side always runs on a warmer machine.
    if (i % 2 === 0) {
      a.push(timeOnce(baseline));
      b.push(timeOnce(subject));
    } else {
      b.push(timeOnce(subject));
      a.push(timeOnce(baseline));
    }
  }
  return [summarize(baseline.label, a), summarize(subject.label, b)];
}

/** The median of a non-empty sample: the middle value, or the mean of the two middle values. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summarize(label: string, runs: number[]): Sample {
  return { label, runs, median: median(runs), min: Math.min(...runs) };
}

export function report(title: string, [baseline, subject]: [Sample, Sample], budget: number): boolean {
  const ratio = subject.median / baseline.median;
  const ok = ratio <= budget;
  const row = (s: Sample) => `  ${s.label.padEnd(44)} median ${s.median.toFixed(1).padStart(8)} ms   min ${s.min.toFixed(1).padStart(8)} ms   (n=${s.runs.length})`;
  console.log(`${title}`);
  console.log(row(baseline));
  console.log(row(subject));
  console.log(`  ratio ${ratio.toFixed(2)}x (budget ${budget}x): ${ok ? 'PASS' : 'OVER BUDGET'}\n`);
  return ok;
}
