// A deployed environment held in memory, served through aws-sdk-client-mock with the semantics
// `status` relies on: DescribeStacks of a missing stack fails, DescribeAlarms filters by name and
// honours MaxRecords, GetMetricData matches dimension sets exactly and buckets by period, and
// GetQueueAttributes returns only the attributes asked for. Also used by bench/suites/status.ts.
import {
  CloudFormationClient,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type StackResource,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand, type Dimension, type MetricAlarm, type MetricDataQuery, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

export interface FakeQueue {
  logicalId: string;
  outputKey: string;
  queueName: string;
  visible: number;
  inFlight: number;
  isDlq: boolean;
  /** ApproximateAgeOfOldestMessage datapoints (per minute, like SQS publishes them). */
  ages: { at: Date; value: number }[];
  /** When true, SQS says the queue does not exist (deleted outside CloudFormation). */
  deleted?: boolean;
}

export interface FakeAlarm {
  logicalId: string;
  name: string;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  since: Date;
  reason: string;
  /** When true, the stack names it but CloudWatch does not have it. */
  deleted?: boolean;
}

export interface FakeStack {
  name: string;
  status: string;
  lastUpdated: Date;
  drift?: { status: string; checkedAt?: Date };
  outputs: Record<string, string>;
  extraResources: number;
}

export function queueUrl(queueName: string): string {
  return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${queueName}`;
}

export function queueArn(queueName: string): string {
  return `arn:aws:sqs:${REGION}:${ACCOUNT}:${queueName}`;
}

const ALARM_IDS = [
  'MediumRangeStaleAlarm',
  'NowcastStaleAlarm',
  'EvalQueueDepthAlarm',
  'EvalQueueUrgentDepthAlarm',
  'NotificationQueueDepthAlarm',
  'WebhookNotificationQueueDepthAlarm',
  'DeadLetterQueueNotEmptyAlarm',
  'NotificationSpikeAlarm',
  'SuspiciousKeyCreationAlarm',
  'CorruptForecastAlarm',
];

/** The platform as src/stack deploys it: 10 alarms, 5 queues (one DLQ), healthy, at `now`. */
export class FakeEnvironment {
  readonly envName: string;
  readonly now: Date;
  registry: FakeStack | undefined;
  platform: FakeStack | undefined;
  alarms: FakeAlarm[];
  queues: FakeQueue[];
  /** ForecastReady events (one datapoint of 1 each) per ForecastType, and stray series with other dimension sets. */
  forecastReady: { dimensions: Record<string, string>; at: Date }[];
  /** Added to every call (the benchmark's round trip). */
  delayMs = 0;
  /** Thrown by every CloudFormation call when set. */
  cloudformationError: Error | undefined;
  /** Thrown by every CloudWatch and SQS call when set. */
  dataError: Error | undefined;
  inFlight = 0;
  maxInFlight = 0;

  constructor(options: { envName?: string; now?: Date } = {}) {
    this.envName = options.envName ?? 'dev';
    this.now = options.now ?? new Date();
    const ago = (seconds: number) => new Date(this.now.getTime() - seconds * 1000);
    const platformName = `watchpoint-${this.envName}`;
    const queue = (logicalId: string, outputKey: string, isDlq = false): FakeQueue => ({
      logicalId: `Queues${logicalId}1234ABCD`,
      outputKey,
      queueName: `${platformName}-Queues${logicalId}1234ABCD-XyZ${logicalId.length}`,
      visible: 0,
      inFlight: 0,
      isDlq,
      ages: [],
    });
    this.queues = [
      queue('DeadLetterQueueShared', 'DeadLetterQueueUrl', true),
      queue('EvalQueueUrgent', 'EvalQueueUrgentUrl'),
      queue('EvalQueueStandard', 'EvalQueueStandardUrl'),
      queue('NotificationQueue', 'NotificationQueueUrl'),
      queue('WebhookNotificationQueue', 'WebhookNotificationQueueUrl'),
    ];
    this.alarms = ALARM_IDS.map((id) => ({
      logicalId: `Alarms${id}ABCD1234`,
      name: `${platformName}-${id}`,
      state: 'OK',
      since: ago(3 * 86400),
      reason: 'Threshold Crossed: 1 datapoint [0.0] was not greater than the threshold (0.0).',
    }));
    this.registry = { name: `${platformName}-registry`, status: 'CREATE_COMPLETE', lastUpdated: ago(10 * 86400), outputs: {}, extraResources: 1 };
    this.platform = {
      name: platformName,
      status: 'UPDATE_COMPLETE',
      lastUpdated: ago(2 * 86400),
      drift: { status: 'NOT_CHECKED' },
      outputs: {
        ApiEndpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com',
        AlertTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:alerts`,
        ...Object.fromEntries(this.queues.map((q) => [q.outputKey, queueUrl(q.queueName)])),
      },
      extraResources: 80,
    };
    this.forecastReady = [];
    // On time: a nowcast every 30 min (last 10 min ago), a medium_range every 8 h (last 2 h ago).
    for (let s = 10 * 60; s < 86400; s += 1800) this.forecastReady.push({ dimensions: { ForecastType: 'nowcast' }, at: ago(s) });
    for (let s = 2 * 3600; s < 86400; s += 8 * 3600) this.forecastReady.push({ dimensions: { ForecastType: 'medium_range' }, at: ago(s) });
  }

  ago(seconds: number): Date {
    return new Date(this.now.getTime() - seconds * 1000);
  }

  alarm(id: string): FakeAlarm {
    const alarm = this.alarms.find((a) => a.name.endsWith(`-${id}`));
    if (!alarm) throw new Error(`no alarm ${id}`);
    return alarm;
  }

  queue(logicalPart: string): FakeQueue {
    const queue = this.queues.find((q) => q.logicalId.includes(logicalPart));
    if (!queue) throw new Error(`no queue ${logicalPart}`);
    return queue;
  }

  /** Replaces a forecast type's events with one at `secondsAgo`, or none. */
  lastForecast(forecastType: string, secondsAgo: number | undefined): void {
    this.forecastReady = this.forecastReady.filter((e) => e.dimensions.ForecastType !== forecastType);
    if (secondsAgo !== undefined) this.forecastReady.push({ dimensions: { ForecastType: forecastType }, at: this.ago(secondsAgo) });
  }

  private platformResources(): StackResource[] {
    const platform = this.platform!;
    const resources: StackResource[] = [
      ...this.queues.map((q) => ({ LogicalResourceId: q.logicalId, PhysicalResourceId: queueUrl(q.queueName), ResourceType: 'AWS::SQS::Queue', ResourceStatus: 'CREATE_COMPLETE' as const, StackName: platform.name, Timestamp: this.now })),
      ...this.alarms.map((a) => ({ LogicalResourceId: a.logicalId, PhysicalResourceId: a.name, ResourceType: 'AWS::CloudWatch::Alarm', ResourceStatus: 'CREATE_COMPLETE' as const, StackName: platform.name, Timestamp: this.now })),
    ];
    for (let i = 0; i < platform.extraResources; i += 1) {
      resources.push({ LogicalResourceId: `Function${i}`, PhysicalResourceId: `fn-${i}`, ResourceType: 'AWS::Lambda::Function', ResourceStatus: 'CREATE_COMPLETE' as const, StackName: platform.name, Timestamp: this.now });
    }
    return resources;
  }

  private stack(name: string | undefined): FakeStack {
    const stack = [this.registry, this.platform].find((s) => s && s.name === name);
    if (!stack) throw Object.assign(new Error(`Stack with id ${name} does not exist`), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
    return stack;
  }

  private async call<T>(fn: () => T, error: Error | undefined): Promise<T> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      if (error) throw error;
      return fn();
    } finally {
      this.inFlight -= 1;
    }
  }

  install(): FakeMocks {
    const cloudformation = mockClient(CloudFormationClient);
    const cloudwatch = mockClient(CloudWatchClient);
    const sqs = mockClient(SQSClient);

    cloudformation.on(DescribeStacksCommand).callsFake((input) =>
      this.call(() => {
        const stack = this.stack(input.StackName);
        return {
          Stacks: [
            {
              StackName: stack.name,
              StackStatus: stack.status as never,
              CreationTime: this.ago(30 * 86400),
              LastUpdatedTime: stack.lastUpdated,
              ...(stack.drift ? { DriftInformation: { StackDriftStatus: stack.drift.status as never, LastCheckTimestamp: stack.drift.checkedAt } } : {}),
              Outputs: Object.entries(stack.outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
            },
          ],
        };
      }, this.cloudformationError),
    );
    cloudformation.on(DescribeStackResourcesCommand).callsFake((input) =>
      this.call(() => {
        this.stack(input.StackName);
        // The real API silently stops at 100.
        return { StackResources: this.platformResources().slice(0, 100) };
      }, this.cloudformationError),
    );
    cloudformation.on(ListStackResourcesCommand).callsFake((input) =>
      this.call(() => {
        this.stack(input.StackName);
        const all = this.platformResources();
        const start = input.NextToken ? Number(input.NextToken) : 0;
        const page = all.slice(start, start + 100);
        return {
          StackResourceSummaries: page.map((r) => ({ LogicalResourceId: r.LogicalResourceId, PhysicalResourceId: r.PhysicalResourceId, ResourceType: r.ResourceType, ResourceStatus: r.ResourceStatus, LastUpdatedTimestamp: this.now })),
          ...(start + 100 < all.length ? { NextToken: String(start + 100) } : {}),
        };
      }, this.cloudformationError),
    );

    cloudwatch.on(DescribeAlarmsCommand).callsFake((input) =>
      this.call(() => {
        if ((input.AlarmNames?.length ?? 0) > 100) throw Object.assign(new Error('AlarmNames has more than 100 members'), { name: 'ValidationError' });
        const max = input.MaxRecords ?? 50;
        const wanted = new Set(input.AlarmNames ?? []);
        const matching = this.alarms.filter((a) => !a.deleted && (wanted.size === 0 || wanted.has(a.name)));
        const start = input.NextToken ? Number(input.NextToken) : 0;
        const metricAlarms: MetricAlarm[] = matching.slice(start, start + max).map((a) => ({
          AlarmName: a.name,
          StateValue: a.state,
          StateReason: a.reason,
          StateUpdatedTimestamp: a.since,
          StateTransitionedTimestamp: a.since,
          AlarmDescription: `Description of ${a.name}`,
        }));
        return { MetricAlarms: metricAlarms, ...(start + max < matching.length ? { NextToken: String(start + max) } : {}) };
      }, this.dataError),
    );
    cloudwatch.on(GetMetricDataCommand).callsFake((input) =>
      this.call(() => {
        const start = input.StartTime!.getTime();
        const end = input.EndTime!.getTime();
        const results: MetricDataResult[] = ((input.MetricDataQueries ?? []) as MetricDataQuery[]).map((query) => {
          const stat = query.MetricStat!;
          const period = stat.Period! * 1000;
          const dims = Object.fromEntries((stat.Metric?.Dimensions ?? []).map((d: Dimension) => [d.Name!, d.Value!]));
          let points: { at: Date; value: number }[] = [];
          if (stat.Metric?.Namespace === 'WatchPoint' && stat.Metric.MetricName === 'ForecastReady') {
            points = this.forecastReady.filter((e) => sameDimensions(e.dimensions, dims)).map((e) => ({ at: e.at, value: 1 }));
          } else if (stat.Metric?.Namespace === 'AWS/SQS' && stat.Metric.MetricName === 'ApproximateAgeOfOldestMessage' && Object.keys(dims).length === 1) {
            points = this.queues.find((q) => q.queueName === dims.QueueName)?.ages ?? [];
          }
          const buckets = new Map<number, number[]>();
          for (const point of points) {
            const t = point.at.getTime();
            if (t < start || t >= end) continue;
            const bucket = Math.floor(t / period) * period;
            buckets.set(bucket, [...(buckets.get(bucket) ?? []), point.value]);
          }
          const ordered = [...buckets.entries()].sort((a, b) => (input.ScanBy === 'TimestampAscending' ? a[0] - b[0] : b[0] - a[0]));
          const aggregate = (values: number[]) => (stat.Stat === 'Sum' ? values.reduce((x, y) => x + y, 0) : stat.Stat === 'Maximum' ? Math.max(...values) : NaN);
          return { Id: query.Id, Label: query.Label, StatusCode: 'Complete', Timestamps: ordered.map(([t]) => new Date(t)), Values: ordered.map(([, v]) => aggregate(v)) };
        });
        return { MetricDataResults: results };
      }, this.dataError),
    );

    sqs.on(GetQueueAttributesCommand).callsFake((input) =>
      this.call(() => {
        const queue = this.queues.find((q) => queueUrl(q.queueName) === input.QueueUrl);
        if (!queue || queue.deleted) throw Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' });
        const dlq = this.queues.find((q) => q.isDlq)!;
        const all: Record<string, string> = {
          ApproximateNumberOfMessages: String(queue.visible),
          ApproximateNumberOfMessagesNotVisible: String(queue.inFlight),
          ApproximateNumberOfMessagesDelayed: '0',
          QueueArn: queueArn(queue.queueName),
          ...(queue.isDlq ? {} : { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: queueArn(dlq.queueName), maxReceiveCount: 3 }) }),
        };
        const names = input.AttributeNames ?? [];
        return { Attributes: Object.fromEntries(Object.entries(all).filter(([key]) => names.includes(key as never) || names.includes('All' as never))) };
      }, this.dataError),
    );

    return { cloudformation, cloudwatch, sqs, restore: () => [cloudformation, cloudwatch, sqs].forEach((m) => m.restore()) };
  }
}

export interface FakeMocks {
  cloudformation: AwsStub<any, any, any>;
  cloudwatch: AwsStub<any, any, any>;
  sqs: AwsStub<any, any, any>;
  restore(): void;
}

function sameDimensions(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** Names of every command sent, for exact call counts. */
export function callNames(mocks: FakeMocks): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const mock of [mocks.cloudformation, mocks.cloudwatch, mocks.sqs]) {
    for (const call of mock.calls()) {
      const name = (call.args[0] as { constructor: { name: string } }).constructor.name;
      counts[name] = (counts[name] ?? 0) + 1;
    }
  }
  return counts;
}
