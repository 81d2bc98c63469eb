// The dev runtime's pieces: the plan read from the synthesized local template (so a stack change
// reaches `watchpoint dev` by itself), Lambda's partial-batch deletion rule, the gateway's routing,
// the network guard, the in-memory AWS layer, and the flags and --env local errors.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '@aws-sdk/client-sqs';
import { createPlatformApp } from '../../src/stack/app.ts';
import { stageConfigSchema } from '../../src/config/schema.ts';
import { readPlan, resolveValue, type DevPlan, type Template } from '../../src/dev/template.ts';
import { deletable, scheduleInterval } from '../../src/dev/triggers.ts';
import { serviceOf } from '../../src/dev/gateway.ts';
import { refusedHost } from '../../src/dev/network-guard.ts';
import { AwsLayer } from '../../src/dev/aws-layer.ts';
import { readMonitoring } from '../../src/dev/alarms.ts';
import { syntheticTiles, DEFAULT_GRID, tileArrays } from '../../src/dev/forecast.ts';
import { runCli, tempDir } from '../helpers/cli.ts';

let plan: DevPlan;
let template: Template;

beforeAll(() => {
  const stage = stageConfigSchema.parse({ region: 'us-east-1', alertEmail: 'oncall@example.com', runPodEndpointId: 'localdev', awsEndpointUrl: 'http://127.0.0.1:4566' });
  const { app, platformStack } = createPlatformApp({ envName: 'local', stage, imageTag: 'local', bundling: false, nag: false, pathMetadata: true });
  template = app.synth().getStackByName(platformStack.stackName).template as Template;
  plan = readPlan(template);
});

describe('the plan from the local template', () => {
  it('has every queue with its visibility timeout and redrive to the shared DLQ after 3 receives', () => {
    const byId = Object.fromEntries(plan.queues.map((q) => [q.id, q]));
    expect(Object.keys(byId).sort()).toEqual(['DeadLetterQueueShared', 'EvalQueueStandard', 'EvalQueueUrgent', 'NotificationQueue', 'WebhookNotificationQueue']);
    expect(byId.EvalQueueUrgent!.visibilityTimeoutSeconds).toBe(1800);
    expect(byId.NotificationQueue!.visibilityTimeoutSeconds).toBe(180);
    for (const id of ['EvalQueueStandard', 'EvalQueueUrgent', 'NotificationQueue', 'WebhookNotificationQueue']) {
      expect(byId[id]!.redrive).toEqual({ deadLetterLogicalId: byId.DeadLetterQueueShared!.logicalId, maxReceiveCount: 3 });
    }
    expect(byId.DeadLetterQueueShared!.redrive).toBeUndefined();
  });

  it('maps each queue to its consumer with the batch size and partial batch failures, and the alias to its function', () => {
    const fn = (logicalId: string) => plan.functions.find((f) => f.logicalId === logicalId)!.id;
    const queue = (logicalId: string) => plan.queues.find((q) => q.logicalId === logicalId)!.id;
    const mappings = plan.eventSources.map((m) => [queue(m.queueLogicalId), fn(m.functionLogicalId), m.batchSize, m.reportBatchItemFailures]).sort();
    expect(mappings).toEqual([
      ['EvalQueueStandard', 'EvalWorkerStandard', 10, true],
      ['EvalQueueUrgent', 'EvalWorkerUrgent', 1, true],
      ['NotificationQueue', 'EmailWorkerFunction', 10, true],
      ['WebhookNotificationQueue', 'WebhookWorkerFunction', 10, true],
    ]);
  });

  it('gives each function the template\'s timeout and memory (the timeout ends its invocations)', () => {
    expect(Object.fromEntries(plan.functions.map((f) => [f.id, [f.timeoutSeconds, f.memoryMb]]))).toEqual({
      ApiFunction: [30, 256],
      BatcherFunction: [30, 256],
      DataPollerFunction: [60, 256],
      ArchiverFunction: [60, 256],
      EvalWorkerUrgent: [300, 1024],
      EvalWorkerStandard: [300, 1024],
      EmailWorkerFunction: [30, 256],
      WebhookWorkerFunction: [30, 256],
    });
  });

  it('sends the bucket\'s _SUCCESS objects to the Batcher, runs the schedules, routes the HTTP API to ApiFunction', () => {
    const fn = (logicalId: string) => plan.functions.find((f) => f.logicalId === logicalId)!;
    expect(plan.notifications).toHaveLength(1);
    expect(plan.notifications[0]).toMatchObject({ suffix: '_SUCCESS', events: ['s3:ObjectCreated:*'] });
    expect(fn(plan.notifications[0]!.functionLogicalId).handlerDir).toBe('batcher');
    expect(plan.schedules.map((s) => [fn(s.functionLogicalId).id, s.expression, s.input]).sort()).toEqual([
      ['ArchiverFunction', 'cron(0 0 * * ? *)', { task: 'billing_sync' }],
      ['ArchiverFunction', 'cron(0 2 * * ? *)', { task: 'cleanup' }],
      ['ArchiverFunction', 'rate(1 minute)', { task: 'digest_trigger' }],
      ['ArchiverFunction', 'rate(15 minutes)', { task: 'archive' }],
      ['DataPollerFunction', 'rate(15 minutes)', {}],
    ]);
    expect(plan.routes).toHaveLength(1);
    expect(plan.routes[0]).toMatchObject({ routeKey: 'ANY /{proxy+}', payloadFormatVersion: '2.0' });
    expect(fn(plan.routes[0]!.functionLogicalId).handlerDir).toBe('api');
    // The CDK's own bucket-notifications handler is not a WatchPoint function.
    expect(plan.functions.map((f) => f.id).sort()).toEqual(['ApiFunction', 'ArchiverFunction', 'BatcherFunction', 'DataPollerFunction', 'EmailWorkerFunction', 'EvalWorkerStandard', 'EvalWorkerUrgent', 'WebhookWorkerFunction']);
  });

  it('resolves each function\'s environment from the template, and fails loudly on what it cannot resolve', () => {
    const api = plan.functions.find((f) => f.id === 'ApiFunction')!;
    const physical = new Map(plan.resources.map((r) => [r.logicalId, { ref: `ref-of-${r.logicalId}`, arn: `arn-of-${r.logicalId}` }]));
    const env = Object.fromEntries(Object.entries(api.environment).map(([k, v]) => [k, resolveValue(v, physical, { 'AWS::Region': 'us-east-1', 'AWS::URLSuffix': 'amazonaws.com' }, k)]));
    const dlq = plan.queues.find((q) => q.id === 'DeadLetterQueueShared')!;
    expect(env.SQS_DLQ).toBe(`ref-of-${dlq.logicalId}`);
    expect(env.AWS_ENDPOINT_URL).toBe('http://127.0.0.1:4566');
    expect(env.DATABASE_URL_SSM_PARAM).toBe('/local/watchpoint/database/url');
    expect(() => resolveValue({ 'Fn::ImportValue': 'x' }, physical, {}, 'X')).toThrow(/cannot be resolved locally/);
  });
});

describe('the alarms from the local template', () => {
  it('reads every alarm with its settings, the four metric filters and the alert email', () => {
    const queueName = (logicalId: string) => `watchpoint-local-${plan.queues.find((q) => q.logicalId === logicalId)?.id}`;
    const monitoring = readMonitoring(template, (id) => `${id}-local`, queueName);
    expect(monitoring.alarms).toHaveLength(10);
    expect(monitoring.alarms.find((a) => a.name === 'watchpoint-local-DeadLetterQueueNotEmptyAlarm')).toMatchObject({
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: 'watchpoint-local-DeadLetterQueueShared' },
      periodSeconds: 300,
      statistic: 'Maximum',
      threshold: 0,
      comparison: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
    });
    expect(monitoring.alarms.find((a) => a.name === 'watchpoint-local-NowcastStaleAlarm')).toMatchObject({ periodSeconds: 1800, treatMissingData: 'breaching', dimensions: { ForecastType: 'nowcast' } });
    expect(monitoring.filters.map((f) => f.metricName).sort()).toEqual(['APIKeyCreated', 'CorruptForecast', 'CorruptForecast', 'ForecastReady']);
    expect([...monitoring.topicEmails.values()]).toEqual([['oncall@example.com']]);
  });
});

describe('partial batch failures (what the poller deletes after an invocation)', () => {
  const messages = ['a', 'b', 'c'].map((id) => ({ MessageId: id, ReceiptHandle: `h-${id}` }) as Message);
  it('deletes all but the reported failures', () => {
    expect(deletable(messages, { batchItemFailures: [{ itemIdentifier: 'b' }] }, true).map((m) => m.MessageId)).toEqual(['a', 'c']);
    expect(deletable(messages, { batchItemFailures: [] }, true)).toHaveLength(3);
  });
  it('keeps the whole batch when a failure names no message of the batch, as Lambda does', () => {
    expect(deletable(messages, { batchItemFailures: [{ itemIdentifier: 'zzz' }] }, true)).toEqual([]);
    expect(deletable(messages, { batchItemFailures: [{ itemIdentifier: '' }] }, true)).toEqual([]);
  });
  it('ignores a response without ReportBatchItemFailures', () => {
    expect(deletable(messages, { batchItemFailures: [{ itemIdentifier: 'b' }] }, false)).toHaveLength(3);
  });
});

describe('gateway, guard and schedules', () => {
  it('routes by the SigV4 credential scope, else X-Amz-Target', () => {
    const auth = (service: string) => ({ headers: { authorization: `AWS4-HMAC-SHA256 Credential=AK/20261201/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=x` }, url: '/' });
    expect(serviceOf(auth('sqs'))).toBe('sqs');
    expect(serviceOf(auth('ssm'))).toBe('ssm');
    expect(serviceOf(auth('ses'))).toBe('ses');
    expect(serviceOf({ headers: { 'x-amz-target': 'AmazonSSM.GetParameter' }, url: '/' })).toBe('ssm');
    expect(serviceOf({ headers: {}, url: '/' })).toBeUndefined();
  });
  it('refuses AWS and RunPod host names only', () => {
    for (const host of ['sqs.us-east-1.amazonaws.com', 's3.amazonaws.com.', 'ssm.eu-west-1.api.aws', 'api.runpod.ai', 'signin.aws.amazon.com']) expect(refusedHost(host), host).toBe(true);
    for (const host of ['localhost', '127.0.0.1', 'example.com', 'notamazonaws.com.evil']) expect(refusedHost(host), host).toBe(false);
  });
  it('refuses an AWS host by every way a client resolves it, and logs it', async () => {
    const dir = await tempDir();
    const logFile = join(dir, 'dns.log');
    const worker = new Worker(new URL('./fixtures/guard-probe.ts', import.meta.url), { workerData: { host: 'sqs.eu-west-1.amazonaws.com', logFile } });
    const [results] = (await once(worker, 'message')) as [Record<string, string>];
    await worker.terminate();
    for (const [way, result] of Object.entries(results)) expect(result, way).toContain('watchpoint dev refused to resolve sqs.eu-west-1.amazonaws.com');
    const lines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
    expect(lines[0]).toBe('# guard probe');
    expect(lines.filter((line) => line === 'sqs.eu-west-1.amazonaws.com').length).toBeGreaterThanOrEqual(Object.keys(results).length);
  });
  it('reads rate() and daily cron() schedules', () => {
    expect(scheduleInterval('rate(15 minutes)')).toEqual({ everyMs: 900_000 });
    expect(scheduleInterval('rate(1 minute)')).toEqual({ everyMs: 60_000 });
    expect(scheduleInterval('cron(0 2 * * ? *)')).toEqual({ everyMs: 86_400_000, offsetMs: 7_200_000 });
    expect(scheduleInterval('cron(0 12 ? * MON-FRI *)')).toBeUndefined();
  });
});

describe('the AWS layer', () => {
  const layer = new AwsLayer('us-east-1', () => [{ name: 'watchpoint-local', resources: [{ logicalId: 'Q', physicalId: 'http://q', type: 'AWS::SQS::Queue' }], outputs: { DeadLetterQueueUrl: 'http://q' }, createdAt: new Date(0) }]);
  const ssm = (op: string, body: unknown) => JSON.parse(layer.handle({ service: 'ssm', target: `AmazonSSM.${op}`, body: JSON.stringify(body) }).body);
  it('keeps SSM versions, refuses an overwrite without Overwrite, and names a missing parameter', () => {
    expect(ssm('PutParameter', { Name: '/local/x', Value: 'one', Type: 'SecureString' }).Version).toBe(1);
    expect(ssm('PutParameter', { Name: '/local/x', Value: 'two' }).__type).toBe('ParameterAlreadyExists');
    expect(ssm('PutParameter', { Name: '/local/x', Value: 'two', Overwrite: true }).Version).toBe(2);
    expect(ssm('GetParameter', { Name: '/local/x' }).Parameter.Value).toBe('two');
    expect(ssm('GetParameter', { Name: '/local/x:1' }).Parameter.Value).toBe('one');
    expect(ssm('GetParameter', { Name: '/local/nope' }).__type).toBe('ParameterNotFound');
    expect(ssm('GetParameterHistory', { Name: '/local/x' }).Parameters).toHaveLength(2);
  });
  it('answers CloudFormation reads from the template and refuses anything else', () => {
    const describe = layer.handle({ service: 'cloudformation', target: undefined, body: 'Action=DescribeStacks&StackName=watchpoint-local&Version=2010-05-15' });
    expect(describe.body).toContain('<OutputKey>DeadLetterQueueUrl</OutputKey>');
    const missing = layer.handle({ service: 'cloudformation', target: undefined, body: 'Action=DescribeStacks&StackName=watchpoint-other' });
    expect(missing.status).toBe(400);
    expect(missing.body).toContain('does not exist');
    const write = layer.handle({ service: 'cloudformation', target: undefined, body: 'Action=CreateStack&StackName=x' });
    expect(write.body).toContain('is not served by watchpoint dev');
  });
});

describe('the synthetic forecast', () => {
  it('is deterministic, and a hot point changes only its nearest grid point', () => {
    const plain = syntheticTiles('nowcast', DEFAULT_GRID, []);
    const again = syntheticTiles('nowcast', DEFAULT_GRID, []);
    const hot = syntheticTiles('nowcast', DEFAULT_GRID, [{ latitude: 40.4, longitude: -3.7, variable: 'temperature_2m', value: 41.5 }]);
    const values = (tiles: typeof plain) => tiles.map((t) => Array.from(tileArrays(t).find((a) => a.name === 'temperature_2m')!.data as Float32Array));
    const base = values(plain);
    expect(values(again)).toEqual(base);
    const changed = values(hot).flatMap((tile, i) => tile.filter((v, j) => v !== base[i]![j]));
    // One grid point, at every lead time.
    expect(changed).toEqual(new Array(plain[0]!.leadHours.length).fill(41.5));
    expect(Math.max(...base.flat())).toBeLessThan(35);
  });
});

describe('flags and --env local', () => {
  it('rejects bad flags with exit 2 before starting anything', async () => {
    const cwd = await tempDir();
    for (const [args, text] of [
      [['--speed', '0'], '--speed must be a number from 1 to 3600'],
      [['--hot-point', '40.4'], 'is not LAT,LON[,VARIABLE=VALUE]'],
      [['--hot-point', '40.4,-3.7,snow=3'], 'unknown variable snow'],
      [['--database-url', 'mysql://x'], 'must be a postgres:// URL'],
      [['--json'], '--json only applies to --once'],
      [['--drill', 'flood'], '--drill "flood" is not a drill'],
      [['--drill', 'corrupt-tile', '--once'], '--drill and --once cannot be combined'],
    ] as const) {
      const { code, stderr } = await runCli(['dev', ...args], { cwd });
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toContain(text);
      expect(stderr).toContain('fix:');
    }
  });
  it('says how to start the platform when an operator command targets --env local and none runs', async () => {
    const cwd = await tempDir();
    for (const argv of [['secrets', 'list'], ['dlq', 'inspect'], ['status'], ['db', 'migrate']]) {
      const { code, stderr } = await runCli([...argv, '--env', 'local'], { cwd });
      expect(code, argv.join(' ')).toBe(2);
      expect(stderr).toContain('it is not running in');
      expect(stderr).toContain('npx watchpoint dev');
    }
  });
});
