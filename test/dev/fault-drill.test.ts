// The fault drill on the local platform: a webhook receiver that fails, the notification retried by
// SQS until maxReceiveCount (3) parks it in the shared DLQ, then `watchpoint dlq redrive --env local`
// (the command's normal code path, against the running platform) sends it back and it is delivered.
// --speed 180 turns the notification queue's 180 s visibility timeout into 1 s.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, startDevPlatform, type DevPlatform } from '../../src/dev/platform.ts';
import { sesStore, waitUntil } from '../../src/dev/once.ts';
import { drillSummary, runDrill } from '../../src/dev/drills.ts';
import { runCli, tempDir } from '../helpers/cli.ts';

const HOOK = '/hooks/drill';
let platform: DevPlatform;
let cwd: string;
let sqs: SQSClient;
const lines: string[] = [];

async function depth(logicalIdPart: string): Promise<number> {
  const [, url] = Object.entries(platform.queueUrls).find(([id]) => id.includes(logicalIdPart))!;
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
}

beforeAll(async () => {
  cwd = await tempDir();
  platform = await startDevPlatform({ cwd, speed: 180, allowLoopbackWebhooks: true, runSchedulesAtStart: false, pollerSchedule: false, log: (line) => lines.push(line) });
  sqs = new SQSClient({ region: platform.state.region, endpoint: platform.state.endpoint, credentials: LOCAL_CREDENTIALS });
}, 120_000);

afterAll(async () => {
  sqs?.destroy();
  await platform?.stop();
});

describe('fault drill on watchpoint dev', () => {
  it('retries a failing webhook, parks it in the DLQ after 3 receives, and delivers it after dlq redrive --env local', { timeout: 120_000 }, async () => {
    const call = async (path: string, token: string, body: unknown) => {
      const response = await fetch(`${platform.state.api}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return (await response.json()) as Record<string, string>;
    };
    const { key } = await call('/v1/api-keys', platform.adminKey, { name: 'drill' });
    const watchpoint = await call('/v1/watchpoints', key!, {
      name: 'drill',
      latitude: 45.1,
      longitude: 7.6,
      variable: 'wind_speed_10m',
      condition: 'gte',
      threshold: 30,
      // Nowcast leads only (0-6 h), so medium_range's 0 h and 6 h leads trigger it too: one notification per run.
      window_end_hours: 6,
      channels: [{ type: 'webhook', url: `${platform.receiver.url}${HOOK}` }],
    });
    platform.receiver.expect(HOOK, watchpoint.webhook_secret!);
    platform.receiver.answer(HOOK, 503);
    platform.runpod.hotPoints.push({ latitude: 45.1, longitude: 7.6, variable: 'wind_speed_10m', value: 33 });

    // The DataPoller's schedule (every 15 min / 180 = 5 s) may have polled first on a loaded machine:
    // the runs are counted in its table, whichever poll started them.
    await platform.pollNow();
    const db = new pg.Client({ connectionString: platform.databaseUrl });
    await db.connect();
    const runs = (await db.query<{ run_id: string; forecast_type: string }>('SELECT run_id, forecast_type FROM forecast_runs ORDER BY forecast_type DESC')).rows;
    await db.end();
    expect(runs.map((run) => run.forecast_type)).toEqual(['nowcast', 'medium_range']);
    const notifications = runs.length;

    // 3 receives of each, every one refused by the receiver, then SQS moves them to the DLQ.
    await waitUntil('both notifications in the DLQ', 60_000, async () => ((await depth('DeadLetterQueue')) === notifications ? true : undefined), 250);
    const refused = platform.receiver.received.filter((hook) => hook.path === HOOK);
    expect(refused).toHaveLength(3 * notifications);
    expect(refused.every((hook) => hook.status === 503 && hook.verification?.ok)).toBe(true);
    expect(await depth('WebhookNotificationQueue')).toBe(0);

    // The incident commands see it: the ForecastReady line, the failed deliveries, the run's trace.
    const logs = await runCli(['logs', 'batcher', '--env', 'local', '--since', '10m'], { cwd });
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/batcher\s+INFO\s+ForecastReady\s+run_id=/);
    expect(logs.stdout).toMatch(/START RequestId: [0-9a-f-]{36} Version: \$LATEST/);
    expect(logs.stdout).toMatch(/REPORT RequestId: [0-9a-f-]{36}\tDuration: /);
    const warnings = await runCli(['logs', 'webhook', '--env', 'local', '--since', '10m', '--level', 'warn', '--json'], { cwd });
    expect(warnings.code, warnings.stderr).toBe(0);
    const warningLines = warnings.stdout.trim().split('\n').map((line) => JSON.parse(line) as { message: string });
    expect(warningLines.filter((line) => line.message.includes('"event":"DeliveryRetry"'))).toHaveLength(3 * notifications);
    expect(warningLines.length).toBeGreaterThanOrEqual(3 * notifications);
    expect(warningLines.every((line) => !line.message.startsWith('START') && !line.message.startsWith('REPORT'))).toBe(true);
    // The HTTP API stage's access log, in the template's format and log group; trace follows its request id.
    const access = await runCli(['logs', 'api-access', '--env', 'local', '--since', '10m', '--json'], { cwd });
    expect(access.code, access.stderr).toBe(0);
    const requests = access.stdout.trim().split('\n').map((line) => JSON.parse((JSON.parse(line) as { message: string }).message) as Record<string, string>);
    const created = requests.find((r) => r.httpMethod === 'POST' && r.path === '/v1/watchpoints');
    expect(created).toMatchObject({ routeKey: 'ANY /{proxy+}', status: expect.stringMatching(/^2\d\d$/), ip: '127.0.0.1', integrationError: '-' });
    const request = await runCli(['trace', created!.requestId!, '--env', 'local', '--since', '10m', '--json'], { cwd });
    expect(request.code, request.stderr).toBe(0);
    expect(JSON.parse(request.stdout)).toMatchObject({ kind: 'request', id: created!.requestId });

    const runId = runs[0]!.run_id;
    const trace = await runCli(['trace', runId, '--env', 'local', '--since', '10m', '--json'], { cwd });
    expect(trace.code, trace.stderr).toBe(0);
    const timeline = JSON.parse(trace.stdout) as { id: string; kind: string; jobs: { items: unknown[] }; deliveries: { items: { outcome: string }[] } };
    expect(timeline).toMatchObject({ id: runId, kind: 'run' });
    expect(timeline.jobs.items.length).toBeGreaterThan(0);
    expect(timeline.deliveries.items.length).toBeGreaterThan(0);

    // The DLQ alarm, evaluated locally from the template's definition (300 s Maximum > 0, 1.7 s at --speed 180), fires.
    const dlqAlarm = 'watchpoint-local-DeadLetterQueueNotEmptyAlarm';
    await waitUntil('the DLQ alarm in ALARM', 20_000, async () => (platform.alarms.statuses.get(dlqAlarm)?.state === 'ALARM' ? true : undefined));
    const firing = await runCli(['status', '--env', 'local', '--json'], { cwd });
    expect(firing.code, firing.stderr).toBe(3);
    const report = JSON.parse(firing.stdout) as { alarms: { name: string; state: string; reason: string }[]; problems: string[]; deadMansSwitch: { forecastType: string; lastSeenAt: string | null }[]; queues: { name: string; isDeadLetterQueue: boolean; visible: number; oldestMessageAgeSeconds: number | null }[] };
    expect(report.alarms).toHaveLength(10);
    // Queue ages, which fauxqs does not compute, sampled locally: the DLQ's oldest message has an age, an empty queue 0.
    const dlq = report.queues.find((queue) => queue.isDeadLetterQueue)!;
    expect(dlq.visible).toBeGreaterThan(0);
    expect(dlq.oldestMessageAgeSeconds).toEqual(expect.any(Number));
    expect(dlq.oldestMessageAgeSeconds!).toBeGreaterThanOrEqual(0);
    expect(report.queues.filter((queue) => queue.visible === 0 && queue.oldestMessageAgeSeconds === 0).length).toBeGreaterThan(0);
    expect(report.queues.every((queue) => queue.oldestMessageAgeSeconds !== null)).toBe(true);
    expect(report.alarms.find((a) => a.name === dlqAlarm)).toMatchObject({ state: 'ALARM', reason: expect.stringContaining('greater than the threshold (0)') });
    expect(report.alarms.every((a) => !a.reason.includes('not evaluated'))).toBe(true);
    expect(report.problems).toContainEqual(expect.stringContaining(`alarm ${dlqAlarm} is in ALARM`));
    // The dead man's switch shows the run's ForecastReady, read through the template's metric filter.
    expect(report.deadMansSwitch.length).toBeGreaterThan(0);
    expect(report.deadMansSwitch.every((series) => series.lastSeenAt !== null)).toBe(true);
    // The alarm action: the alert topic's email subscription, in the local mail store.
    const alert = await waitUntil('the alarm email', 10_000, async () => (await sesStore(platform.state.mail)).find((mail) => mail.subject.startsWith(`ALARM: "${dlqAlarm}"`)));
    expect(alert.destination.to).toContain('oncall@example.com');

    // An operator inspects, then redrives after the receiver is fixed.
    const inspect = await runCli(['dlq', 'inspect', '--env', 'local'], { cwd });
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toContain('WebhookNotificationQueue');

    const backup = join(cwd, 'dlq-backup.jsonl');
    const exported = await runCli(['dlq', 'export', '--env', 'local', '--out', backup], { cwd });
    expect(exported.code, exported.stderr).toBe(0);
    const records = readFileSync(backup, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(records).toHaveLength(notifications);
    // The source queue is known, as SQS would report it (fauxqs alone does not: src/dev/dlq-source.ts).
    expect(records.every((r: { SourceQueueArn: string }) => r.SourceQueueArn.endsWith(':watchpoint-local-WebhookNotificationQueue'))).toBe(true);

    platform.receiver.answer(HOOK, 200);
    const redrive = await runCli(['dlq', 'redrive', '--env', 'local', '--yes'], { cwd });
    expect(redrive.code, redrive.stderr).toBe(0);
    expect(redrive.stderr).toContain('The native SQS move task is not available locally');

    await waitUntil('both notifications delivered', 60_000, async () => {
      const delivered = platform.receiver.received.filter((hook) => hook.path === HOOK && hook.status === 200 && hook.verification?.ok);
      return delivered.length === notifications ? delivered : undefined;
    });
    expect(await depth('DeadLetterQueue')).toBe(0);
    await waitUntil('the DLQ alarm back to OK', 20_000, async () => (platform.alarms.statuses.get(dlqAlarm)?.state === 'OK' ? true : undefined));
    const cleared = await runCli(['status', '--env', 'local', '--json'], { cwd });
    expect(JSON.parse(cleared.stdout).alarms.find((a: { name: string }) => a.name === dlqAlarm).state).toBe('OK');
    // The attempt count carried across the redrive: the 4th attempt delivered each.
    const succeeded = lines.filter((line) => line.includes('event=DeliverySucceeded'));
    expect(succeeded).toHaveLength(notifications);
    expect(succeeded.every((line) => line.includes('attempt=4'))).toBe(true);
  });

  it('serves secrets, db migrate and status with --env local through their normal code paths', { timeout: 60_000 }, async () => {
    const list = await runCli(['secrets', 'list', '--env', 'local'], { cwd });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/database\/url\s+set/);
    expect(list.stdout).toMatch(/billing\/stripe_secret_key\s+MISSING/);
    const set = await runCli(['secrets', 'set', 'billing/stripe_secret_key', '--value', 'sk_test_0123456789abcdefghij', '--env', 'local', '--yes'], { cwd });
    expect(set.code, set.stderr).toBe(0);
    const get = await runCli(['secrets', 'get', 'billing/stripe_secret_key', '--env', 'local'], { cwd });
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).not.toContain('sk_test_0123456789abcdefghij');
    const migrate = await runCli(['db', 'migrate', '--env', 'local'], { cwd });
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout + migrate.stderr).toContain('up to date');
    const status = await runCli(['status', '--env', 'local', '--json'], { cwd });
    const report = JSON.parse(status.stdout);
    // Exit 3 exactly when an alarm fires (at --speed 180 the nowcast stale alarm's 30 minutes are 10 s).
    expect(status.code, status.stderr).toBe(report.alarms.some((alarm: { state: string }) => alarm.state === 'ALARM') ? 3 : 0);
    expect(report.stacks.map((stack: { status: string }) => stack.status)).toEqual(['CREATE_COMPLETE', 'CREATE_COMPLETE']);
    expect(report.queues.find((queue: { isDeadLetterQueue: boolean }) => queue.isDeadLetterQueue)?.visible).toBe(0);
    expect(report.alarms).toHaveLength(10);
    expect(report.alarms.every((alarm: { state: string }) => ['OK', 'ALARM'].includes(alarm.state))).toBe(true);
    expect(report.warnings.join(' ')).toContain('alarms are evaluated by watchpoint dev');
    // Nothing drifts locally, and `drift --env local` is refused: status does not send the operator there.
    const human = await runCli(['status', '--env', 'local'], { cwd });
    expect(human.stdout).toContain('n/a (local)');
    expect(human.stdout + human.stderr).not.toContain('watchpoint drift');
  });

  it('logs --follow --env local polls the local store: a new request appears, and Ctrl-C stops it (exit 130)', { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, [new URL('../../bin/watchpoint', import.meta.url).pathname, 'logs', 'api-access', '--env', 'local', '--follow', '--json'], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // Live Tail is not served locally: it says it polls instead.
      await waitUntil('logs --follow to start polling', 30_000, async () => (/Following[\s\S]*Live Tail is not available here.*poll/.test(stderr) ? true : undefined), 50);
      const marker = `/v1/follow-${Date.now()}`;
      await fetch(`${platform.state.api}${marker}`, { headers: { authorization: 'Bearer none' } });
      await waitUntil('the new request in the followed log', 30_000, async () => (stdout.includes(marker) ? true : undefined), 100);
      const line = stdout.trim().split('\n').map((text) => JSON.parse(text) as { message: string }).find((event) => event.message.includes(marker));
      expect(JSON.parse(line!.message)).toMatchObject({ path: marker, ip: '127.0.0.1' });
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(130);
    expect(stderr).toContain('Stopped following.');
  });

  it('runs each drill (watchpoint dev --drill NAME): the commands see it, and the listed fix works', { timeout: 240_000 }, async () => {
    const notes: string[] = [];
    const status = async () => {
      const result = await runCli(['status', '--env', 'local', '--json'], { cwd });
      return { code: result.code, alarms: new Map((JSON.parse(result.stdout) as { alarms: { name: string; state: string }[] }).alarms.map((a) => [a.name, a.state])) };
    };

    // A failing webhook receiver: the DLQ alarm fires; the listed redrive empties the DLQ.
    const webhook = await runDrill(platform, 'webhook-failing', { speed: 180, notify: (line) => notes.push(line) });
    expect(webhook.fix.join('\n')).toContain('watchpoint dlq redrive --env local --yes');
    let seen = await status();
    expect(seen.code).toBe(3);
    expect(seen.alarms.get(webhook.alarm)).toBe('ALARM');
    expect(await depth('DeadLetterQueue')).toBeGreaterThan(0);
    const redrive = await runCli(['dlq', 'redrive', '--env', 'local', '--yes'], { cwd });
    expect(redrive.code, redrive.stderr).toBe(0);
    await waitUntil('the DLQ empty and its alarm OK', 60_000, async () => ((await depth('DeadLetterQueue')) === 0 && platform.alarms.statuses.get(webhook.alarm)?.state === 'OK' ? true : undefined), 250);

    // A corrupt tile: CorruptForecast fires, and trace shows the failed job.
    const corrupt = await runDrill(platform, 'corrupt-tile', { speed: 180, notify: (line) => notes.push(line) });
    expect(corrupt.alarm).toBe('watchpoint-local-CorruptForecastAlarm');
    expect(drillSummary(corrupt)).toMatch(/What was broken: .*checksum[\s\S]*Find the cause:[\s\S]*watchpoint trace drill-corrupt-tile-[\s\S]*Fix it:/);
    seen = await status();
    expect(seen.code).toBe(3);
    expect(seen.alarms.get(corrupt.alarm)).toBe('ALARM');
    const trace = await runCli(['trace', corrupt.runId!, '--env', 'local', '--since', '10m', '--json'], { cwd });
    expect(trace.code, trace.stderr).toBe(0);
    const jobs = (JSON.parse(trace.stdout) as { jobs: { items: { outcome: string }[] } }).jobs.items;
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs.every((job) => job.outcome === 'corrupt')).toBe(true);

    // Forecasts stop: the dead man's switch fires.
    const stopped = await runDrill(platform, 'forecasts-stop', { speed: 180, notify: (line) => notes.push(line) });
    expect(stopped.alarm).toBe('watchpoint-local-NowcastStaleAlarm');
    seen = await status();
    expect(seen.code).toBe(3);
    expect(seen.alarms.get(stopped.alarm)).toBe('ALARM');
    expect(notes.filter((line) => line.startsWith('BROKEN: '))).toHaveLength(3);
  });

  it('a stack change is applied in place (watch): a queue\'s settings and a mapping\'s batch size; the queue, its URL and its messages stay', { timeout: 60_000 }, async () => {
    const next = structuredClone(platform.plan);
    const dlq = next.queues.find((queue) => queue.id === 'DeadLetterQueueShared')!;
    const webhookQueue = next.queues.find((queue) => queue.id === 'WebhookNotificationQueue')!;
    const mapping = next.eventSources.find((source) => source.queueLogicalId === webhookQueue.logicalId)!;
    // A message waiting in the DLQ (no consumer), sent before the change.
    const { SendMessageCommand, GetQueueAttributesCommand: Attributes } = await import('@aws-sdk/client-sqs');
    const before = await depth('DeadLetterQueue');
    await sqs.send(new SendMessageCommand({ QueueUrl: platform.queueUrls[dlq.logicalId]!, MessageBody: 'kept across the change' }));
    dlq.visibilityTimeoutSeconds += 60;
    webhookQueue.visibilityTimeoutSeconds += 60;
    mapping.batchSize = 1;
    const result = await platform.applyPlan(next);
    expect(result.restarted).toEqual([]);
    expect(result.needRestart).toEqual([]);
    expect(result.applied.sort()).toEqual([`event source mapping ${mapping.logicalId}`, 'queue DeadLetterQueueShared', 'queue WebhookNotificationQueue'].sort());
    expect(lines.at(-1)).toContain('updated in place; queues, buckets and their data untouched.');
    // Same queue (same URL), new settings, its redrive policy kept, its message still there.
    const { Attributes: webhookAttributes = {} } = await sqs.send(new Attributes({ QueueUrl: platform.queueUrls[webhookQueue.logicalId]!, AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'] }));
    expect(webhookAttributes.VisibilityTimeout).toBe(String(webhookQueue.visibilityTimeoutSeconds));
    expect(JSON.parse(webhookAttributes.RedrivePolicy!)).toMatchObject({ maxReceiveCount: webhookQueue.redrive!.maxReceiveCount });
    expect(await depth('DeadLetterQueue')).toBe(before + 1);
    // The restarted mapping consumes the webhook queue: a message put there reaches the worker.
    const invoked = new Promise<void>((resolve) => {
      const stop = platform.logStore.subscribe((event) => {
        if (event.message.startsWith('START RequestId') && event.logGroupName.includes('WebhookWorker')) (stop(), resolve());
      });
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: platform.queueUrls[webhookQueue.logicalId]!, MessageBody: '{}' }));
    await Promise.race([invoked, new Promise((_, reject) => setTimeout(() => reject(new Error('the webhook worker was not invoked from its queue after the change')), 20_000))]);
    // Applying the same plan again changes nothing.
    expect(await platform.applyPlan(next)).toEqual({ restarted: [], applied: [], needRestart: [] });
  });
});
