// `watchpoint trace` against moto's CloudFormation, CloudWatch Logs (Logs Insights StartQuery /
// GetQueryResults) and SQS, over log lines the real handlers wrote (test/incident/pipeline-run.ts).
// moto 5.2.1's Insights parser ignores `filter` (it returns every line of the groups in the window),
// so these tests also prove that trace keeps only the lines that carry the id.
import { StartQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { RecordingIo } from '../../src/cli/io.ts';
import { traceCommand } from '../../src/cli/commands/trace.ts';
import { runCli } from '../helpers/cli.ts';
import { motoClient } from '../helpers/moto.ts';
import type { RunLogs } from './pipeline-run.ts';
import { incidentWorld, writeLogLines, type Platform } from './moto-world.ts';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SQSClient } from '@aws-sdk/client-sqs';

let run: RunLogs;
let cwd: string;
let envName: string;
let undeployed: string;
let platform: Platform;

beforeAll(async () => {
  ({ run, cwd, envName, undeployed, platform } = await incidentWorld());
});

const trace = (...args: string[]) => runCli(['trace', '--env', envName, ...args], { cwd });
const traceJson = async (...args: string[]) => {
  const result = await trace(...args, '--json');
  return { ...result, doc: JSON.parse(result.stdout) as Record<string, any> };
};

describe('watchpoint trace', () => {
  it('a forecast run: ForecastReady, its jobs, its deliveries with their outcomes, in one Insights query', async () => {
    const { code, stdout, stderr } = await trace(run.runId);
    expect(code).toBe(0);
    expect(stderr).toMatch(/Querying 9 log groups \(api, poller, batcher, .*\) from \S+Z to \S+Z with Logs Insights \(billed per GB scanned\)\./);
    expect(stdout).toContain(`forecast run ${run.runId}`);
    expect(stdout).toMatch(new RegExp(`batcher\\s+ForecastReady nowcast ${run.runId}: 3 tiles, 2 jobs enqueued on EvalQueueUrgent`));
    expect(stdout).toMatch(/eval-urgent\s+2 eval jobs: 2 done; 4 notifications enqueued/);
    expect(stdout).toMatch(/email\s+1 email delivery: 1 delivered/);
    expect(stdout).toMatch(/webhook\s+3 webhook deliveries: 2 delivered, 1 failed permanently \(1 delivered after a retry\)/);
    expect(stdout).toContain(`notification ${run.notifications.failed[0]} (webhook) failed permanently: receiver answered HTTP 404`);
    expect(stdout).toContain(`notification ${run.notifications.retriedThenDelivered[0]} (webhook) delivered on attempt 2 after 1 retry`);
    expect(stdout).toContain('1 message in the DLQ now.');
    expect(stdout).toContain('None of these messages was parked or reached its receive limit, by the logs.');
    expect(stdout).toContain('1 Logs Insights query,');
  });

  it('--json: the same as one document, every job and delivery', async () => {
    const { doc } = await traceJson(run.runId);
    expect(doc).toMatchObject({ schemaVersion: 1, kind: 'run', id: run.runId, run: { runId: run.runId, forecastType: 'nowcast', jobsEnqueued: 2, queue: 'EvalQueueUrgent' } });
    expect(doc.jobs.items.map((j: { jobId: string }) => j.jobId).sort()).toEqual([...run.jobIds].sort());
    expect(doc.jobs.byOutcome).toEqual({ done: 2, corrupt: 0, failed: 0, retrying: 0 });
    expect(doc.deliveries.byOutcome).toEqual({ delivered: 3, failed: 1, dropped: 0, retrying: 0, duplicate: 0 });
    expect(doc.deliveries.retried).toBe(1);
    expect(doc.logGroups).toHaveLength(9);
    expect(doc.insights.queries).toBe(1);
    expect(doc.deadLetter).toMatchObject({ depth: 1, suspects: [] });
  });

  it('a notification id: its deliveries, then (second query) the job and the run it came from', async () => {
    const id = run.notifications.retriedThenDelivered[0]!;
    const { code, doc } = await traceJson(id);
    expect(code).toBe(0);
    expect(doc.kind).toBe('notification');
    expect(doc.insights.queries).toBe(2);
    expect(doc.deliveries.items).toEqual([expect.objectContaining({ notificationId: id, channel: 'webhook', outcome: 'delivered', retries: 1, attempt: 2 })]);
    const jobId = doc.deliveries.items[0].jobId as string;
    expect(run.jobIds).toContain(jobId);
    expect(doc.jobs.items).toEqual([expect.objectContaining({ jobId, outcome: 'done' })]);
    expect(doc.run).toMatchObject({ runId: run.runId });
  });

  it('a job id is detected as a job: the job, its notifications, and its run', async () => {
    const { doc } = await traceJson(run.jobIds[0]!);
    expect(doc.kind).toBe('job');
    expect(doc.jobs.total).toBe(1);
    expect(doc.deliveries.items.length).toBeGreaterThan(0);
    expect(doc.deliveries.items.every((d: { jobId: string }) => d.jobId === run.jobIds[0])).toBe(true);
    expect(doc.run).toMatchObject({ runId: run.runId });
  });

  it('a watchpoint id finds that watchpoint\'s deliveries only', async () => {
    const { doc } = await traceJson(run.watchpointIds[0]!);
    expect(doc.kind).toBe('watchpoint');
    expect(doc.deliveries.items.map((d: { notificationId: string }) => d.notificationId).sort()).toEqual([...run.notifications.delivered].sort());
  });

  it('sends one StartQuery over all nine groups with the id in its filter, and stops when it is complete', async () => {
    const logs = motoClient(CloudWatchLogsClient);
    const sent: unknown[] = [];
    logs.middlewareStack.add((next) => async (args) => {
      sent.push(args.input);
      return next(args);
    });
    const io = new RecordingIo([], false);
    const clients = { cloudformation: motoClient(CloudFormationClient), logs, sqs: motoClient(SQSClient) };
    const code = await traceCommand({ io, options: { env: envName }, env: {}, cwd, id: run.runId, flags: { timeout: '60', since: '1h' }, clients, pollMs: 10 });
    expect(code).toBe(0);
    const start = sent.find((input) => (input as { queryString?: string }).queryString) as StartQueryCommand['input'];
    expect(start.logGroupNames).toHaveLength(9);
    expect(start.queryString).toContain(`run_id = "${run.runId}"`);
    expect(start.queryString).toMatch(/^filter .*\n\| fields @timestamp, @log, @message \n\| sort @timestamp asc \n\| limit 10000$/s);
  });
});

describe('trace: an API request id', () => {
  it("finds the HTTP API's access log line (requestId), with method, path, status and latency, not the caller's IP", async () => {
    const requestId = `Rq${Date.now().toString(36)}xyz=`;
    // The shape API Gateway writes with the stack's ACCESS_LOG_FORMAT.
    const line = JSON.stringify({ requestId, ip: '203.0.113.9', requestTime: '01/Dec/2026:20:00:00 +0000', httpMethod: 'POST', routeKey: 'POST /v1/watchpoints', path: '/v1/watchpoints', status: '502', protocol: 'HTTP/1.1', responseLength: '120', responseLatency: '31', integrationLatency: '30', integrationError: 'The Lambda function returned an error', userAgent: 'curl/8' });
    await writeLogLines(platform.groups['api-access']!, [line]);
    const { code, stdout } = await trace(requestId, '--since', '1h');
    expect(code).toBe(0);
    expect(stdout).toContain('API request');
    expect(stdout).toMatch(/api-access ERROR POST \/v1\/watchpoints answered 502 in 31 ms; integration error: The Lambda function returned an error/);
    expect(stdout).not.toContain('203.0.113.9');
  });
});

describe('trace: nothing found and bad input', () => {
  it('an id that matches nothing in the window says so and suggests a wider --since (exit 1)', async () => {
    const { code, stderr } = await trace('run-that-never-was', '--since', '2h');
    expect(code).toBe(1);
    expect(stderr).toContain('No log line from');
    expect(stderr).toContain('carries run-that-never-was');
    expect(stderr).toContain('fix: Widen the window (e.g. --since 7d');
  });

  it('an id with a quote cannot reach the query (exit 2)', async () => {
    const { code, stderr } = await trace('run" or 1=1');
    expect(code).toBe(2);
    expect(stderr).toContain('is not a run, job, notification, watchpoint or request id');
  });

  it('an unparsable --since', async () => {
    const { code, stderr } = await trace(run.runId, '--since', 'last tuesday');
    expect(code).toBe(2);
    expect(stderr).toContain('--since "last tuesday" is neither a duration nor an ISO 8601 time.');
  });

  it('a stack that is not deployed', async () => {
    const { code, stderr } = await trace(run.runId, '--env', undeployed);
    expect(code).toBe(2);
    expect(stderr).toContain(`watchpoint deploy --env ${undeployed}`);
  });
});

describe('trace: what reached the DLQ', () => {
  it('a corrupt job (parked by the worker) and one that failed on its last allowed receive are named, with the DLQ depth', async () => {
    const { code, stdout } = await trace(run.failing.runId);
    expect(code).toBe(0);
    expect(stdout).toMatch(/eval-urgent\s+2 eval jobs: 1 corrupt, 1 failed; 0 notifications enqueued/);
    expect(stdout).toContain(`job ${run.failing.corruptJobId.slice(0, 12)}… (eval-urgent) corrupt tile:`);
    expect(stdout).toMatch(new RegExp(`job ${run.failing.failedJobId.slice(0, 12)}… \\(eval-urgent\\) failed 3×, last on receive 3: `));
    expect(stdout).toContain('1 message in the DLQ now.');
    expect(stdout).toContain(`probably there: job ${run.failing.corruptJobId} (corrupt tile: the eval worker parked the job in the DLQ)`);
    expect(stdout).toContain(`probably there: job ${run.failing.failedJobId} (failed on receive 3 of 3: SQS moves it to the DLQ)`);
    expect(stdout).toContain('`watchpoint dlq inspect` shows what it holds');
  });
});
