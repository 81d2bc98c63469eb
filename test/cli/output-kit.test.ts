// The output kit (src/cli/output.ts) and the flag helpers (src/cli/flags.ts): colour decisions,
// tables, the duration grammar. Each command's parse<Cmd>Options is tested in flag-contract.test.ts.
import { describe, expect, it } from 'vitest';
import { COLOR, PLAIN, coarseAge, duration, parseDurationMs, pickStyle, table } from '../../src/cli/output.ts';
import { durationFlag, wholeNumberFlag } from '../../src/cli/flags.ts';

describe('style', () => {
  it('FORCE_COLOR wins over NO_COLOR and a pipe; "0" and "false" turn colour off', () => {
    expect(pickStyle(false, { FORCE_COLOR: '1' })).toBe(COLOR);
    expect(pickStyle(false, { FORCE_COLOR: '' })).toBe(COLOR);
    expect(pickStyle(true, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(COLOR);
    expect(pickStyle(true, { FORCE_COLOR: '0' })).toBe(PLAIN);
    expect(pickStyle(true, { FORCE_COLOR: 'false' })).toBe(PLAIN);
  });

  it('writes the SGR codes styleText writes, whatever the process environment says', () => {
    expect(COLOR.red('x')).toBe('\x1b[31mx\x1b[39m');
    expect(COLOR.bold('x')).toBe('\x1b[1mx\x1b[22m');
  });
});

describe('table', () => {
  it('aligns by what the eye sees, leaves the last column unpadded, right-aligns where asked', () => {
    const lines = table(['NAME', 'N', 'NOTE'], [[COLOR.red('a'), '10', ''], ['bbb', '2', 'x']], { rightAlign: [false, true, false] });
    expect(lines.map((line) => line.replace(/\x1b\[\d+m/g, ''))).toEqual(['  NAME   N  NOTE', '  a     10', '  bbb    2  x']);
    expect(table(['A', 'B'], [['1', '2']], { indent: '' })).toEqual(['A  B', '1  2']);
  });
});

describe('durations', () => {
  it('two units for reports, one coarse unit for narrow columns', () => {
    expect(duration(7500)).toBe('2h 5m');
    expect(duration(0)).toBe('0s');
    expect(coarseAge(new Date(0), new Date(3 * 86_400_000))).toBe('3d');
    expect(coarseAge(new Date(0), new Date(90 * 60_000))).toBe('1h');
  });

  it('one grammar for --since and --older-than: parts with units s m h d w', () => {
    expect(parseDurationMs('90s')).toBe(90_000);
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('1.5H')).toBe(5_400_000);
    expect(parseDurationMs('1w')).toBe(604_800_000);
    for (const bad of ['', '5', '2 weeks', '15 minutes', 'h']) expect(parseDurationMs(bad)).toBeUndefined();
    expect(durationFlag('--older-than', '2h')).toBe(7_200_000);
    expect(() => durationFlag('--older-than', '0m')).toThrow(/--older-than "0m" must be longer than zero/);
    expect(() => wholeNumberFlag('--max', '7', 1, 5)).toThrow(/--max 7 is out of range/);
  });
});
