// The Insights polling loop at the SDK boundary (aws-sdk-client-mock): moto completes every query at
// once and cannot run slowly, time out, fill the 10,000-row limit in a test-sized time, page
// GetQueryResults, or refuse a query for the concurrent-query quota.
import { CloudWatchLogsClient, GetQueryResultsCommand, LimitExceededException, StartQueryCommand, StopQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CONCURRENCY_RETRY_MS, INSIGHTS_ROW_LIMIT, runInsights } from '../../src/cli/trace/insights.ts';

const logs = mockClient(CloudWatchLogsClient);
afterEach(() => logs.reset());

const base = {
  logGroupNames: ['/g/a', '/g/b'],
  start: new Date('2026-12-01T00:00:00Z'),
  end: new Date('2026-12-01T02:00:00Z'),
  filter: 'run_id = "r"',
  pollMs: 1,
  sleep: async () => undefined,
};
const row = (ms: number) => [
  { field: '@timestamp', value: new Date(ms).toISOString().replace('T', ' ').replace('Z', '') },
  { field: '@log', value: '123456789012:/g/a' },
  { field: '@message', value: '{"level":"INFO","message":"x"}' },
];

describe('runInsights', () => {
  it('polls until Complete, says what it waits on, and parses AWS timestamps and @log', async () => {
    logs.on(StartQueryCommand).resolves({ queryId: 'q1' });
    logs.on(GetQueryResultsCommand)
      .resolvesOnce({ status: 'Scheduled' })
      .resolvesOnce({ status: 'Running', statistics: { bytesScanned: 3 * 1024 * 1024, recordsMatched: 12 } })
      .resolves({ status: 'Complete', statistics: { bytesScanned: 4 * 1024 * 1024 }, results: [row(Date.parse('2026-12-01T01:00:00.123Z'))] });
    const progress: string[] = [];
    const result = await runInsights(new CloudWatchLogsClient({ region: 'eu-west-1' }), { ...base, timeoutMs: 60_000, onProgress: (t) => progress.push(t) });
    expect(result).toMatchObject({ queries: 1, polls: 3, bytesScanned: 4 * 1024 * 1024 });
    expect(result.rows).toEqual([{ timestamp: Date.parse('2026-12-01T01:00:00.123Z'), logGroupName: '/g/a', message: '{"level":"INFO","message":"x"}' }]);
    expect(progress).toContain('Waiting on the Logs Insights query (running, 3.0 MB scanned, 12 lines matched)...');
    expect(logs.commandCalls(StartQueryCommand)[0]!.args[0].input).toMatchObject({ startTime: Date.parse('2026-12-01T00:00:00Z') / 1000, endTime: Date.parse('2026-12-01T02:00:00Z') / 1000 });
  });

  it('a query still running at the deadline is stopped, and the error says how to fix it', async () => {
    logs.on(StartQueryCommand).resolves({ queryId: 'q2' });
    logs.on(GetQueryResultsCommand).resolves({ status: 'Running' });
    logs.on(StopQueryCommand).resolves({ success: true });
    await expect(runInsights(new CloudWatchLogsClient({ region: 'eu-west-1' }), { ...base, timeoutMs: 0 })).rejects.toMatchObject({
      code: 'INSIGHTS_TIMEOUT',
      fix: expect.stringContaining('--since/--until'),
    });
    expect(logs.commandCalls(StopQueryCommand)[0]!.args[0].input).toEqual({ queryId: 'q2' });
  });

  it('a failed query is an error naming its status', async () => {
    logs.on(StartQueryCommand).resolves({ queryId: 'q3' });
    logs.on(GetQueryResultsCommand).resolves({ status: 'Failed' });
    await expect(runInsights(new CloudWatchLogsClient({ region: 'eu-west-1' }), { ...base, timeoutMs: 60_000 })).rejects.toThrow('ended with status Failed');
  });

  it('a window that fills the 10,000-row limit is split in two, so nothing is cut silently', async () => {
    let n = 0;
    logs.on(StartQueryCommand).callsFake(() => ({ queryId: `q${(n += 1)}` }));
    const full = Array.from({ length: INSIGHTS_ROW_LIMIT }, (_, i) => row(Date.parse('2026-12-01T00:00:00Z') + i));
    logs.on(GetQueryResultsCommand, { queryId: 'q1' }).resolves({ status: 'Complete', results: full });
    logs.on(GetQueryResultsCommand, { queryId: 'q2' }).resolves({ status: 'Complete', results: full.slice(0, 6000) });
    logs.on(GetQueryResultsCommand, { queryId: 'q3' }).resolves({ status: 'Complete', results: full.slice(6000, 9000) });
    const result = await runInsights(new CloudWatchLogsClient({ region: 'eu-west-1' }), { ...base, timeoutMs: 60_000 });
    expect(result.queries).toBe(3);
    expect(result.rows).toHaveLength(9000);
    const windows = logs.commandCalls(StartQueryCommand).map((c) => [c.args[0].input.startTime, c.args[0].input.endTime]);
    const start = Date.parse('2026-12-01T00:00:00Z') / 1000;
    expect(windows).toEqual([[start, start + 7200], [start, start + 3600], [start + 3600, start + 7200]]);
  });
});

describe('runInsights as the CloudWatch Logs API reference documents it', () => {
  // GetQueryResults: maxItems (at most 10,000 per request) and nextToken page a finished query's rows.
  it('sends maxItems and follows nextToken once the query is Complete, so no row is lost', async () => {
    logs.on(StartQueryCommand).resolves({ queryId: 'qp' });
    logs.on(GetQueryResultsCommand)
      .resolvesOnce({ status: 'Running' })
      .resolvesOnce({ status: 'Complete', statistics: { bytesScanned: 1024 }, results: [row(Date.parse('2026-12-01T00:00:01Z')), row(Date.parse('2026-12-01T00:00:02Z'))], nextToken: 'page-2' })
      .resolvesOnce({ status: 'Complete', results: [row(Date.parse('2026-12-01T00:00:03Z'))], nextToken: 'page-3' })
      .resolvesOnce({ status: 'Complete', results: [row(Date.parse('2026-12-01T00:00:04Z'))] });
    const result = await runInsights(new CloudWatchLogsClient({ region: 'eu-west-1' }), { ...base, timeoutMs: 60_000 });
    expect(result.rows).toHaveLength(4);
    const inputs = logs.commandCalls(GetQueryResultsCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { queryId: 'qp', maxItems: 10_000 },
      { queryId: 'qp', maxItems: 10_000 },
      { queryId: 'qp', maxItems: 10_000, nextToken: 'page-2' },
      { queryId: 'qp', maxItems: 10_000, nextToken: 'page-3' },
    ]);
  });

  // StartQuery: "You can have up to 30 concurrent CloudWatch Logs insights queries, including queries
  // that have been added to dashboards"; over it, LimitExceededException (HTTP 400).
  const limitExceeded = () => new LimitExceededException({ message: 'You have reached the maximum number of resources that can be created.', $metadata: { httpStatusCode: 400 } });

  it('LimitExceededException from StartQuery: one retry after a back-off, then it runs', async () => {
    logs.on(StartQueryCommand).rejectsOnce(limitExceeded()).resolves({ queryId: 'ql' });
    logs.on(GetQueryResultsCommand).resolves({ status: 'Complete', results: [] });
    const slept: number[] = [];
    const progress: string[] = [];
    const result = await runInsights(new CloudWatchLogsClient({ region: 'eu-west-1' }), { ...base, timeoutMs: 60_000, sleep: async (ms) => void slept.push(ms), onProgress: (t) => progress.push(t) });
    expect(result.queries).toBe(1);
    expect(logs.commandCalls(StartQueryCommand)).toHaveLength(2);
    expect(slept[0]).toBe(CONCURRENCY_RETRY_MS);
    expect(progress[0]).toContain('concurrent-query quota (LimitExceededException); trying once more in 10 s');
  });

  it('LimitExceededException twice: its own message, naming the quota and that dashboards count towards it, with a fix', async () => {
    logs.on(StartQueryCommand).rejects(limitExceeded());
    await expect(runInsights(new CloudWatchLogsClient({ region: 'eu-west-1' }), { ...base, timeoutMs: 60_000 })).rejects.toMatchObject({
      code: 'INSIGHTS_CONCURRENCY',
      message: expect.stringMatching(/as many Logs Insights queries at once as its quota allows, and queries on CloudWatch dashboards count towards it/),
      fix: expect.stringContaining('Run it again in a minute'),
    });
    expect(logs.commandCalls(StartQueryCommand)).toHaveLength(2);
  });
});

describe('runInsights interrupted', () => {
  it('Ctrl-C while the query runs stops it (StopQuery), so it does not keep scanning and billing', async () => {
    logs.on(StartQueryCommand).resolves({ queryId: 'q9' });
    logs.on(GetQueryResultsCommand).resolves({ status: 'Running' });
    logs.on(StopQueryCommand).resolves({ success: true });
    const controller = new AbortController();
    const run = runInsights(new CloudWatchLogsClient({ region: 'eu-west-1' }), {
      ...base,
      timeoutMs: 60_000,
      abortSignal: controller.signal,
      sleep: async () => controller.abort(),
    });
    await expect(run).rejects.toThrow();
    expect(logs.commandCalls(StopQueryCommand).map((c) => c.args[0].input)).toEqual([{ queryId: 'q9' }]);
  });
});
