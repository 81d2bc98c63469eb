// The CloudWatch calls `status` (and an operator) makes, answered from the local alarm evaluator and
// metric store: DescribeAlarms, DescribeAlarmHistory, GetMetricData (MetricStat queries; metric math
// is refused by name). GetMetricData answers in real time, with periods aligned to the minute as
// AWS does; the alarms evaluate in time compressed by --speed (alarms.ts).
import type { AlarmEvaluator } from './alarms.ts';
import { statistic, type MetricStore } from './alarms.ts';

export class CloudWatchApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const seconds = (date: Date) => date.getTime() / 1000;
/** JSON 1.0 timestamps arrive as epoch seconds (numbers) or ISO strings. */
const timeOf = (value: unknown): number | undefined => (typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : undefined);

export class CloudWatchApi {
  private readonly evaluator: AlarmEvaluator;
  private readonly metrics: MetricStore;
  private readonly arn: (name: string) => string;

  constructor(evaluator: AlarmEvaluator, metrics: MetricStore, alarmArn: (name: string) => string) {
    this.evaluator = evaluator;
    this.metrics = metrics;
    this.arn = alarmArn;
  }

  handle(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case 'DescribeAlarms':
        return this.describeAlarms(input);
      case 'DescribeAlarmHistory':
        return this.describeAlarmHistory(input);
      case 'GetMetricData':
        return this.getMetricData(input);
      default:
        throw new CloudWatchApiError('UnsupportedOperation', `CloudWatch ${operation} is not served by watchpoint dev (it serves DescribeAlarms, DescribeAlarmHistory and GetMetricData).`);
    }
  }

  private describeAlarms(input: Record<string, unknown>): unknown {
    const names = Array.isArray(input.AlarmNames) ? new Set(input.AlarmNames as string[]) : undefined;
    const prefix = typeof input.AlarmNamePrefix === 'string' ? input.AlarmNamePrefix : '';
    const state = typeof input.StateValue === 'string' ? input.StateValue : undefined;
    const types = Array.isArray(input.AlarmTypes) ? (input.AlarmTypes as string[]) : ['MetricAlarm'];
    const alarms = types.includes('MetricAlarm') ? this.evaluator.monitoring.alarms : [];
    return {
      MetricAlarms: alarms
        .filter((a) => (!names || names.has(a.name)) && a.name.startsWith(prefix))
        .map((a) => ({ alarm: a, status: this.evaluator.statuses.get(a.name)! }))
        .filter(({ status }) => !state || status.state === state)
        .map(({ alarm, status }) => ({
          AlarmName: alarm.name,
          AlarmArn: this.arn(alarm.name),
          ...(alarm.description ? { AlarmDescription: alarm.description } : {}),
          ActionsEnabled: true,
          AlarmActions: alarm.actions.ALARM.map((topic) => `arn:aws:sns:local:topic:${topic}`),
          OKActions: alarm.actions.OK.map((topic) => `arn:aws:sns:local:topic:${topic}`),
          InsufficientDataActions: alarm.actions.INSUFFICIENT_DATA.map((topic) => `arn:aws:sns:local:topic:${topic}`),
          StateValue: status.state,
          StateReason: status.reason,
          ...(status.reasonData ? { StateReasonData: status.reasonData } : {}),
          StateUpdatedTimestamp: seconds(status.updatedAt),
          StateTransitionedTimestamp: seconds(status.transitionedAt),
          MetricName: alarm.metricName,
          Namespace: alarm.namespace,
          Statistic: alarm.statistic,
          Dimensions: Object.entries(alarm.dimensions).map(([Name, Value]) => ({ Name, Value })),
          Period: alarm.periodSeconds,
          EvaluationPeriods: alarm.evaluationPeriods,
          DatapointsToAlarm: alarm.datapointsToAlarm,
          Threshold: alarm.threshold,
          ComparisonOperator: alarm.comparison,
          TreatMissingData: alarm.treatMissingData,
        })),
      CompositeAlarms: [],
    };
  }

  private describeAlarmHistory(input: Record<string, unknown>): unknown {
    const name = typeof input.AlarmName === 'string' ? input.AlarmName : undefined;
    const type = typeof input.HistoryItemType === 'string' ? input.HistoryItemType : undefined;
    const from = timeOf(input.StartDate) ?? 0;
    const to = timeOf(input.EndDate) ?? Number.MAX_SAFE_INTEGER;
    const max = typeof input.MaxRecords === 'number' ? input.MaxRecords : 100;
    const items = this.evaluator.history.filter((h) => (!name || h.alarmName === name) && (!type || h.type === type) && h.at.getTime() >= from && h.at.getTime() <= to);
    const ordered = input.ScanBy === 'TimestampAscending' ? items : [...items].reverse();
    return {
      AlarmHistoryItems: ordered.slice(0, max).map((h) => ({ AlarmName: h.alarmName, AlarmType: 'MetricAlarm', Timestamp: seconds(h.at), HistoryItemType: h.type, HistorySummary: h.summary, HistoryData: h.data })),
    };
  }

  private getMetricData(input: Record<string, unknown>): unknown {
    const start = timeOf(input.StartTime);
    const end = timeOf(input.EndTime);
    if (start === undefined || end === undefined) throw new CloudWatchApiError('InvalidParameterValue', 'GetMetricData needs StartTime and EndTime.');
    const descending = input.ScanBy !== 'TimestampAscending';
    const queries = (input.MetricDataQueries as Record<string, unknown>[] | undefined) ?? [];
    return {
      MetricDataResults: queries.map((query) => {
        if (query.Expression !== undefined) throw new CloudWatchApiError('UnsupportedOperation', `GetMetricData expressions (metric math, ${String(query.Id)}) are not served by watchpoint dev; it serves MetricStat queries.`);
        const stat = query.MetricStat as { Metric?: { Namespace?: string; MetricName?: string; Dimensions?: { Name: string; Value: string }[] }; Period?: number; Stat?: string } | undefined;
        if (!stat?.Metric) throw new CloudWatchApiError('InvalidParameterValue', `Query ${String(query.Id)} has no MetricStat.`);
        const periodMs = Number(stat.Period ?? 60) * 1000;
        const dimensions = Object.fromEntries((stat.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value]));
        // Periods that divide an hour start on the clock (:00, :05, ...), as AWS aligns them; others from StartTime.
        const onClock = periodMs <= 3_600_000 && 3_600_000 % periodMs === 0;
        const buckets = new Map<number, number[]>();
        for (const point of this.metrics.select(String(stat.Metric.Namespace), String(stat.Metric.MetricName), dimensions, start, end)) {
          const bucket = onClock ? Math.floor(point.at / periodMs) * periodMs : Math.floor((point.at - start) / periodMs) * periodMs + start;
          buckets.set(bucket, [...(buckets.get(bucket) ?? []), point.value]);
        }
        const times = [...buckets.keys()].sort((a, b) => (descending ? b - a : a - b));
        return {
          Id: query.Id,
          Label: query.Label ?? stat.Metric.MetricName,
          Timestamps: times.map((t) => t / 1000),
          Values: times.map((t) => statistic(String(stat.Stat ?? 'Average'), buckets.get(t)!)),
          StatusCode: 'Complete',
        };
      }),
      Messages: [],
    };
  }
}
