// The dev platform's CloudWatch Logs: filter patterns as CloudWatch applies them, the Insights subset
// `trace` uses (and refusals of the rest, by name), and FilterLogEvents paging over the bounded store.
import { describe, expect, it } from 'vitest';
import { compilePattern } from '../../src/dev/filter-pattern.ts';
import { parseQuery, runQuery } from '../../src/dev/insights.ts';
import { LogStore } from '../../src/dev/log-store.ts';
import { LogsApi } from '../../src/dev/logs-api.ts';
import { queryString } from '../../src/cli/trace/insights.ts';
import { levelPattern } from '../../src/cli/logs/format.ts';

const json = (fields: Record<string, unknown>) => JSON.stringify(fields);
const ready = json({ level: 'INFO', message: 'Forecast ready', event: 'ForecastReady', forecast_type: 'nowcast', run_id: 'r1', tiles: 4 });
const failed = json({ level: 'ERROR', message: 'Job failed', event: 'EvalJobFailed', run_id: 'r1', job_id: 'j1', nested: { status: 503 } });
const timeout = '2026-12-06T20:31:12.345Z 0b6f Task timed out after 30.00 seconds';

describe('filter patterns', () => {
  it('matches terms, quoted phrases, ?any and -none, case-sensitively', () => {
    expect(compilePattern('')(timeout)).toBe(true);
    expect(compilePattern('Task timed')(timeout)).toBe(true);
    expect(compilePattern('task')(timeout)).toBe(false);
    expect(compilePattern('"timed out after"')(timeout)).toBe(true);
    expect(compilePattern('"out timed"')(timeout)).toBe(false);
    expect(compilePattern('?ZarrChecksumError ?"Task timed out"')(timeout)).toBe(true);
    expect(compilePattern('?ZarrChecksumError ?Nope')(timeout)).toBe(false);
    expect(compilePattern('Task -timed')(timeout)).toBe(false);
    expect(compilePattern('"ZarrChecksumError"')(json({ level: 'ERROR', message: 'bad tile', error: 'ZarrChecksumError: x' }))).toBe(true);
  });

  it('matches JSON patterns: =, !=, numbers, wildcards, && and || with parentheses; never a plain line', () => {
    expect(compilePattern('{ $.event = "ForecastReady" }')(ready)).toBe(true);
    expect(compilePattern('{ $.event = "ForecastReady" }')(failed)).toBe(false);
    expect(compilePattern('{ $.event = Forecast* }')(ready)).toBe(true);
    expect(compilePattern('{ $.tiles >= 4 && $.forecast_type != "medium_range" }')(ready)).toBe(true);
    expect(compilePattern('{ $.tiles > 4 }')(ready)).toBe(false);
    expect(compilePattern('{ $.nested.status = 503 }')(failed)).toBe(true);
    expect(compilePattern(levelPattern('error'))(failed)).toBe(true);
    expect(compilePattern('{ ($.level = "WARN") || ($.level = "ERROR") }')(failed)).toBe(true);
    expect(compilePattern('{ ($.level = "WARN") || ($.level = "ERROR") }')(ready)).toBe(false);
    expect(compilePattern('{ $.level = "ERROR" }')(timeout)).toBe(false);
  });

  it('refuses what it does not understand, by name', () => {
    expect(() => compilePattern('[ip, user, status = 500]')).toThrow(/Space-delimited filter patterns/);
    expect(() => compilePattern('%Task.*out%')).toThrow(/Regular expressions/);
    expect(() => compilePattern('{ $.error IS NULL }')).toThrow(/IS TRUE\/FALSE\/NULL/);
    expect(() => compilePattern('{ $.level = "ERROR" ')).toThrow(/does not end with/);
  });
});

describe('Logs Insights, locally', () => {
  const store = new LogStore();
  const group = 'FunctionsBatcherFunctionLogGroup-local';
  store.put(group, 's1', 'START RequestId: a Version: $LATEST', 1_000);
  store.put(group, 's1', ready, 2_000);
  store.put('FunctionsEvalWorkerUrgentLogGroup-local', 's2', failed, 3_000);
  store.put('FunctionsEvalWorkerUrgentLogGroup-local', 's2', json({ level: 'INFO', message: 'other', run_id: 'r2' }), 4_000);
  const all = new Set([group, 'FunctionsEvalWorkerUrgentLogGroup-local']);

  it("answers trace's own query exactly: filter, fields, sort, limit", () => {
    const query = parseQuery(queryString('(run_id = "r1" and event in ["ForecastReady", "EvalJobFailed"]) or job_id = "zzz"'));
    const { results, recordsMatched } = runQuery(query, store.scan(all), 10_000);
    expect(recordsMatched).toBe(2);
    expect(results.map((row) => row.map((f) => f.field))).toEqual([
      ['@timestamp', '@log', '@message', '@ptr'],
      ['@timestamp', '@log', '@message', '@ptr'],
    ]);
    expect(results[0]![0]!.value).toBe('1970-01-01 00:00:02.000');
    expect(results[0]![1]!.value).toBe(`000000000000:${group}`);
    expect(results[1]![2]!.value).toBe(failed);
  });

  it('sorts descending by default and applies the smaller of the two limits', () => {
    const { results } = runQuery(parseQuery('fields @message | limit 3'), store.scan(all), 2);
    expect(results).toHaveLength(2);
    expect(results[0]![0]!.value).toContain('"run_id":"r2"');
  });

  it('refuses other commands, functions and operators by name', () => {
    expect(() => parseQuery('stats count(*) by bin(5m)')).toThrow(/"stats" is not served by watchpoint dev/);
    expect(() => parseQuery('filter @message like /timed out/')).toThrow(/"like" operator/);
    expect(() => parseQuery('filter @message =~ /x/')).toThrow(/=~ is not served/);
    expect(() => parseQuery('filter ispresent(job_id)')).toThrow(/function ispresent\(\)/);
    expect(() => parseQuery('fields concat(a, b) as c')).toThrow(/plain field names only/);
  });
});

describe('FilterLogEvents over the bounded store', () => {
  it('pages with nextToken, filters by time and pattern, and names an unknown group', () => {
    const store = new LogStore(100);
    for (let i = 0; i < 150; i += 1) store.put('g', 's', json({ level: i % 10 === 0 ? 'ERROR' : 'INFO', message: `line ${i}` }), 10_000 + i);
    // Bounded: at most the capacity plus 10% awaiting eviction, oldest first.
    expect(store.dropped).toBeGreaterThan(0);
    expect(store.size).toBe(100);
    const api = new LogsApi(store, () => ['g']);
    const first = api.handle('FilterLogEvents', { logGroupName: 'g', limit: 40 }) as { events: { message: string }[]; nextToken?: string };
    expect(first.events).toHaveLength(40);
    const second = api.handle('FilterLogEvents', { logGroupName: 'g', limit: 1000, nextToken: first.nextToken }) as { events: unknown[]; nextToken?: string };
    expect(first.events.length + second.events.length).toBe(150 - store.dropped);
    expect(second.nextToken).toBeUndefined();
    const errors = api.handle('FilterLogEvents', { logGroupName: 'g', filterPattern: '{ $.level = "ERROR" }', startTime: 10_100, endTime: 10_149 }) as { events: { message: string }[] };
    expect(errors.events.map((e) => JSON.parse(e.message).message)).toEqual(['line 100', 'line 110', 'line 120', 'line 130', 'line 140']);
    expect(() => api.handle('FilterLogEvents', { logGroupName: 'nope' })).toThrow(/log group does not exist: nope/);
    expect(() => api.handle('StartLiveTail', {})).toThrow(/polls FilterLogEvents instead/);
  });
});
