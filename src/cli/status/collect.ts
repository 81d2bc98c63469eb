// What `watchpoint status` reads from AWS, in two round trips:
//   1. DescribeStacks (registry), DescribeStacks + DescribeStackResources (platform) and the
//      `deploy --hotswap` marker (one SSM GetParameter), in parallel;
//   2. DescribeAlarms (one page per 100 alarm names), GetQueueAttributes per queue and ONE
//      GetMetricData (dead-man series + queue ages), in parallel.
// Nothing here receives, deletes or changes anything: status is read-only.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchClient, MetricDataQuery, MetricDataResult } from '@aws-sdk/client-cloudwatch';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { hotswapMarkerName, readHotswapMarker, type HotswapMarker } from '../deploy/hotswap.ts';
import { explainAwsError, describeDeployedStack, type DeployedStack } from '../stack-resources.ts';
import { stackNames } from '../context.ts';
import { WatchpointError } from '../errors.ts';
import { deadLetterTarget, queueNameOf } from '../sqs-queues.ts';

export { queueNameOf };

export interface StatusClients {
  cloudformation: CloudFormationClient;
  cloudwatch: CloudWatchClient;
  sqs: SQSClient;
  /** Reads the `deploy --hotswap` marker (one GetParameter); without it, status cannot say whether a stack holds hotswapped changes. */
  ssm?: SSMClient;
}

/** The dead man's switch: how often each forecast type must become ready. */
export const FORECAST_TYPES = [
  { forecastType: 'nowcast', expectedIntervalSeconds: 30 * 60 },
  { forecastType: 'medium_range', expectedIntervalSeconds: 8 * 60 * 60 },
] as const;

/** One GetMetricData window serves every series: 3x the longest interval (24 h). */
export const LOOKBACK_SECONDS = 3 * Math.max(...FORECAST_TYPES.map((type) => type.expectedIntervalSeconds));
/**
 * ForecastReady in 1-minute periods: a Sum returns only the periods that have data (about 48
 * nowcast and 3 medium_range datapoints a day), so the time of the last one is known to the minute.
 */
export const READY_PERIOD_SECONDS = 60;
/** Queue ages in 5-minute periods: SQS publishes every minute, so at most 288 datapoints per queue. */
export const AGE_PERIOD_SECONDS = 300;
/** DescribeAlarms takes at most 100 names per call. */
export const ALARM_PAGE_SIZE = 100;

export interface StackSummary {
  name: string;
  role: 'registry' | 'platform';
  status: string;
  lastUpdated: Date | undefined;
  driftStatus: string | undefined;
  driftCheckedAt: Date | undefined;
}

export interface AlarmReading {
  name: string;
  logicalId: string;
  /** OK | ALARM | INSUFFICIENT_DATA, or MISSING when the stack names an alarm CloudWatch does not have. */
  state: string;
  since: Date | undefined;
  reason: string | undefined;
  description: string | undefined;
}

export interface QueueReading {
  /** The stack output's name without "Url" (e.g. EvalQueueUrgent), else the SQS queue name. */
  name: string;
  queueName: string;
  logicalId: string;
  url: string;
  arn: string | undefined;
  isDeadLetterQueue: boolean;
  /** Where this queue sends messages after maxReceiveCount failures. */
  deadLetterTargetArn: string | undefined;
  exists: boolean;
  visible: number | undefined;
  inFlight: number | undefined;
  delayed: number | undefined;
  /** Latest ApproximateAgeOfOldestMessage (Maximum over its 5-minute period) and its period's start. */
  oldestAgeSeconds: number | undefined;
  oldestAgeAt: Date | undefined;
}

export interface SeriesReading {
  forecastType: string;
  expectedIntervalSeconds: number;
  /** Start of the latest 1-minute period with at least one ForecastReady, within the lookback. */
  lastSeen: Date | undefined;
}

export interface RawStatus {
  envName: string;
  checkedAt: Date;
  stacks: StackSummary[];
  alarms: AlarmReading[];
  deadMan: SeriesReading[];
  queues: QueueReading[];
  /** Things the operator should know that are not failures (partial metric data, missing queues). */
  notes: string[];
  /** The stacks holding changes `deploy --hotswap` made, which their templates do not describe (undefined: none, or not read). */
  hotswap?: HotswapMarker | undefined;
}

export type Mode = 'parallel' | 'sequential';

export interface CollectOptions {
  envName: string;
  now: Date;
  /** 'sequential' awaits the same calls one by one; it exists only as the benchmark's baseline. */
  mode?: Mode;
  abortSignal?: AbortSignal;
}

type Thunks<T extends readonly unknown[]> = { [K in keyof T]: () => Promise<T[K]> };

/** Runs independent calls together, or one after another (the benchmark's baseline). */
async function together<T extends readonly unknown[]>(mode: Mode, ...tasks: Thunks<T>): Promise<T> {
  if (mode === 'parallel') return (await Promise.all(tasks.map((task) => task()))) as unknown as T;
  const results: unknown[] = [];
  for (const task of tasks) results.push(await task());
  return results as unknown as T;
}

async function eachOf<I, R>(mode: Mode, items: readonly I[], fn: (item: I) => Promise<R>): Promise<R[]> {
  return together(mode, ...items.map((item) => () => fn(item))) as Promise<R[]>;
}

export async function collectStatus(clients: StatusClients, options: CollectOptions): Promise<RawStatus> {
  const mode = options.mode ?? 'parallel';
  const names = stackNames(options.envName);
  const send = { abortSignal: options.abortSignal };
  const notes: string[] = [];

  const [registry, platform, hotswap] = await together<[StackSummary, DeployedStack, HotswapMarker | undefined]>(
    mode,
    () => describeStackOnly(clients.cloudformation, names.registry, options.envName, send),
    () => describeDeployedStack(clients.cloudformation, names.platform, options.envName),
    async () => {
      if (!clients.ssm) return undefined;
      try {
        return await readHotswapMarker(clients.ssm, options.envName, send);
      } catch (error) {
        notes.push(`Whether a stack holds hotswapped changes is not known: reading SSM ${hotswapMarkerName(options.envName)} failed (${error instanceof Error ? error.name : String(error)}).`);
        return undefined;
      }
    },
  );

  // The SDK aborts requests in flight; these checks also stop between round trips.
  options.abortSignal?.throwIfAborted();
  const alarmResources = platform.resources.filter((r) => ALARM_TYPES.has(r.type) && r.physicalId !== '');
  const queueResources = platform.resources.filter((r) => r.type === 'AWS::SQS::Queue' && r.physicalId !== '');
  const dlqUrl = platform.outputs['DeadLetterQueueUrl'];
  const queueTargets = queueResources.map((resource) => ({
    logicalId: resource.logicalId,
    url: resource.physicalId,
    queueName: queueNameOf(resource.physicalId),
    name: outputNameFor(platform.outputs, resource.physicalId) ?? queueNameOf(resource.physicalId),
    isDeadLetterQueue: resource.physicalId === dlqUrl,
  }));

  try {
    const [alarms, queues, metrics] = await together(
      mode,
      () => describeAlarms(clients.cloudwatch, alarmResources, mode, send),
      () => eachOf(mode, queueTargets, (target) => queueAttributes(clients.sqs, target, send)),
      () => metricData(clients.cloudwatch, queueTargets.map((q) => q.queueName), options.now, send),
    );
    options.abortSignal?.throwIfAborted();
    for (const message of metrics.notes) notes.push(message);
    const readings: QueueReading[] = queues.map((queue, index) => {
      const age = metrics.ages[index];
      return { ...queue, oldestAgeSeconds: age?.value, oldestAgeAt: age?.at };
    });
    for (const queue of readings) if (!queue.exists) notes.push(`Queue ${queue.name} (${queue.url}) is in the stack but SQS says it does not exist.`);
    const missingAlarms = alarms.filter((alarm) => alarm.state === 'MISSING');
    for (const alarm of missingAlarms) notes.push(`Alarm ${alarm.name} is in the stack but CloudWatch does not have it.`);
    return {
      envName: options.envName,
      checkedAt: options.now,
      stacks: [registry, { name: platform.name, role: 'platform', status: platform.status, lastUpdated: platform.lastUpdated, driftStatus: platform.driftStatus, driftCheckedAt: platform.driftCheckedAt }],
      alarms,
      deadMan: metrics.deadMan,
      queues: readings,
      notes,
      hotswap,
    };
  } catch (error) {
    throw explainAwsError(error, { envName: options.envName });
  }
}

const ALARM_TYPES = new Set(['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm']);

interface SendOptions {
  abortSignal: AbortSignal | undefined;
}

/** DescribeStacks alone: status, last update and drift need no resource list. */
export async function describeStackOnly(cloudformation: CloudFormationClient, stackName: string, envName: string, send: SendOptions): Promise<StackSummary> {
  const { DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  try {
    const response = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }), send);
    const stack = response.Stacks?.[0];
    if (!stack) throw Object.assign(new Error(`Stack with id ${stackName} does not exist`), { name: 'ValidationError' });
    return {
      name: stackName,
      role: 'registry',
      status: stack.StackStatus ?? 'UNKNOWN',
      lastUpdated: stack.LastUpdatedTime ?? stack.CreationTime,
      driftStatus: stack.DriftInformation?.StackDriftStatus,
      driftCheckedAt: stack.DriftInformation?.LastCheckTimestamp,
    };
  } catch (error) {
    throw explainAwsError(error, { stackName, envName });
  }
}

/** ⌈alarms/100⌉ DescribeAlarms calls, each filtered to this stack's alarm names. */
export async function describeAlarms(
  cloudwatch: CloudWatchClient,
  resources: readonly { logicalId: string; physicalId: string }[],
  mode: Mode,
  send: SendOptions,
): Promise<AlarmReading[]> {
  if (resources.length === 0) return [];
  const { DescribeAlarmsCommand } = await import('@aws-sdk/client-cloudwatch');
  const pages: string[][] = [];
  for (let i = 0; i < resources.length; i += ALARM_PAGE_SIZE) pages.push(resources.slice(i, i + ALARM_PAGE_SIZE).map((r) => r.physicalId));
  const found = new Map<string, AlarmReading>();
  await eachOf(mode, pages, async (alarmNames) => {
    let nextToken: string | undefined;
    do {
      const response = await cloudwatch.send(
        new DescribeAlarmsCommand({ AlarmNames: alarmNames, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: ALARM_PAGE_SIZE, NextToken: nextToken }),
        send,
      );
      for (const alarm of [...(response.MetricAlarms ?? []), ...(response.CompositeAlarms ?? [])]) {
        if (!alarm.AlarmName) continue;
        found.set(alarm.AlarmName, {
          name: alarm.AlarmName,
          logicalId: '',
          state: alarm.StateValue ?? 'INSUFFICIENT_DATA',
          since: alarm.StateTransitionedTimestamp ?? alarm.StateUpdatedTimestamp,
          reason: alarm.StateReason,
          description: alarm.AlarmDescription,
        });
      }
      nextToken = response.NextToken;
    } while (nextToken);
  });
  return resources.map((resource) => {
    const alarm = found.get(resource.physicalId);
    return alarm
      ? { ...alarm, logicalId: resource.logicalId }
      : { name: resource.physicalId, logicalId: resource.logicalId, state: 'MISSING', since: undefined, reason: undefined, description: undefined };
  });
}

type QueueTarget = { logicalId: string; url: string; queueName: string; name: string; isDeadLetterQueue: boolean };

/** One GetQueueAttributes per queue. QueueArn and RedrivePolicy come free and tell which queues feed the DLQ. */
export async function queueAttributes(sqs: SQSClient, target: QueueTarget, send: SendOptions): Promise<Omit<QueueReading, 'oldestAgeSeconds' | 'oldestAgeAt'>> {
  const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
  try {
    const response = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: target.url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed', 'QueueArn', 'RedrivePolicy'],
      }),
      send,
    );
    const attributes = response.Attributes ?? {};
    return {
      ...target,
      exists: true,
      arn: attributes.QueueArn,
      deadLetterTargetArn: deadLetterTarget(attributes.RedrivePolicy),
      visible: count(attributes.ApproximateNumberOfMessages),
      inFlight: count(attributes.ApproximateNumberOfMessagesNotVisible),
      delayed: count(attributes.ApproximateNumberOfMessagesDelayed),
    };
  } catch (error) {
    if (error instanceof Error && /QueueDoesNotExist|NonExistentQueue/.test(error.name)) {
      return { ...target, exists: false, arn: undefined, deadLetterTargetArn: undefined, visible: undefined, inFlight: undefined, delayed: undefined };
    }
    throw error;
  }
}

function count(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}


export interface MetricReadings {
  deadMan: SeriesReading[];
  /** Same order as the queue names given. */
  ages: ({ value: number; at: Date } | undefined)[];
  notes: string[];
}

/** The GetMetricData queries of one status: each ForecastReady series, then each queue's age. */
export function metricQueries(queueNames: readonly string[]): MetricDataQuery[] {
  return [
    ...FORECAST_TYPES.map(({ forecastType }) => ({
      Id: `ready_${forecastType}`,
      Label: `ForecastReady ${forecastType}`,
      ReturnData: true,
      MetricStat: {
        // The exact dimension set the metric filter publishes: ForecastType and nothing else.
        Metric: { Namespace: 'WatchPoint', MetricName: 'ForecastReady', Dimensions: [{ Name: 'ForecastType', Value: forecastType }] },
        Period: READY_PERIOD_SECONDS,
        Stat: 'Sum',
      },
    })),
    ...queueNames.map((queueName, index) => ({
      Id: `age_${index}`,
      Label: `ApproximateAgeOfOldestMessage ${queueName}`,
      ReturnData: true,
      MetricStat: {
        Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Dimensions: [{ Name: 'QueueName', Value: queueName }] },
        Period: AGE_PERIOD_SECONDS,
        Stat: 'Maximum',
      },
    })),
  ];
}

/** ONE GetMetricData for every series (it follows NextToken, which a few thousand datapoints never need). */
export async function metricData(cloudwatch: CloudWatchClient, queueNames: readonly string[], now: Date, send: SendOptions): Promise<MetricReadings> {
  const { GetMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
  const results = new Map<string, { timestamps: Date[]; values: number[]; status: string | undefined; messages: string[] }>();
  let nextToken: string | undefined;
  do {
    const response = await cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: metricQueries(queueNames),
        StartTime: new Date(now.getTime() - LOOKBACK_SECONDS * 1000),
        EndTime: now,
        ScanBy: 'TimestampDescending',
        NextToken: nextToken,
      }),
      send,
    );
    for (const result of response.MetricDataResults ?? []) merge(results, result);
    nextToken = response.NextToken;
  } while (nextToken);

  const notes: string[] = [];
  const latest = (id: string, positive: boolean): { value: number; at: Date } | undefined => {
    const series = results.get(id);
    if (!series) return undefined;
    let best: { value: number; at: Date } | undefined;
    series.timestamps.forEach((at, i) => {
      const value = series.values[i];
      if (value === undefined || (positive && value <= 0)) return;
      if (!best || at.getTime() > best.at.getTime()) best = { value, at };
    });
    return best;
  };
  for (const [id, series] of results) {
    if (series.status && series.status !== 'Complete') {
      notes.push(`CloudWatch returned ${series.status} for ${id}${series.messages.length ? ` (${series.messages.join('; ')})` : ''}; that series may be incomplete.`);
    }
  }
  return {
    deadMan: FORECAST_TYPES.map(({ forecastType, expectedIntervalSeconds }) => ({
      forecastType,
      expectedIntervalSeconds,
      lastSeen: latest(`ready_${forecastType}`, true)?.at,
    })),
    ages: queueNames.map((_, index) => latest(`age_${index}`, false)),
    notes,
  };
}

function merge(results: Map<string, { timestamps: Date[]; values: number[]; status: string | undefined; messages: string[] }>, result: MetricDataResult): void {
  if (!result.Id) return;
  const entry = results.get(result.Id) ?? { timestamps: [], values: [], status: undefined, messages: [] };
  entry.timestamps.push(...(result.Timestamps ?? []));
  entry.values.push(...(result.Values ?? []));
  entry.status = result.StatusCode ?? entry.status;
  for (const message of result.Messages ?? []) if (message.Value) entry.messages.push(message.Value);
  results.set(result.Id, entry);
}

function outputNameFor(outputs: Record<string, string>, url: string): string | undefined {
  for (const [key, value] of Object.entries(outputs)) if (value === url && key.endsWith('Url')) return key.slice(0, -'Url'.length);
  return undefined;
}

/** Thrown as is: tests and the watch loop tell user faults (stop) from system faults (retry). */
export function isUserFault(error: unknown): boolean {
  return error instanceof WatchpointError && error.fault === 'user';
}
