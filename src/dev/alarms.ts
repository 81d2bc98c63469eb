// CloudWatch, locally: the template's own metric filters, alarms and alert topic, evaluated over the
// platform's data. Metrics come from three places, as on AWS: the metric filters applied to each new
// log line (ForecastReady, APIKeyCreated, CorruptForecast), the handlers' Powertools EMF lines, and
// the SQS queue depths, sampled from the local queues once a (compressed) minute. Each alarm keeps
// its period, statistic, threshold, comparison, evaluation periods, datapoints to alarm and
// TreatMissingData; periods are divided by --speed, like the schedules. A state change is recorded
// in the alarm's history and its actions notify the topic's email subscriptions, whose mail goes to
// the local SES store (the mail page), as the SNS email subscription would send it.
import { compilePattern, jsonPath, type Matcher } from './filter-pattern.ts';
import type { StoredEvent } from './log-store.ts';
import type { Template } from './template.ts';
import { WatchpointError } from '../errors.ts';

type Json = unknown;
const isRecord = (value: Json): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);

export type Comparison = 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold';
export type TreatMissing = 'breaching' | 'notBreaching' | 'ignore' | 'missing';
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmDefinition {
  logicalId: string;
  name: string;
  description: string | undefined;
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  periodSeconds: number;
  statistic: string;
  threshold: number;
  comparison: Comparison;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  treatMissingData: TreatMissing;
  /** Topic logical ids per state. */
  actions: Record<AlarmState, string[]>;
}

export interface MetricFilterDefinition {
  logicalId: string;
  logGroupName: string;
  pattern: string;
  matches: Matcher;
  namespace: string;
  metricName: string;
  /** "1", or a JSON selector such as $.duration. */
  value: string;
  /** Dimension name -> "$.field" or a literal. */
  dimensions: Record<string, string>;
  defaultValue: number | undefined;
}

export interface Monitoring {
  alarms: AlarmDefinition[];
  filters: MetricFilterDefinition[];
  /** Topic logical id -> the email endpoints subscribed to it. */
  topicEmails: Map<string, string[]>;
}

const COMPARISONS = new Set(['GreaterThanThreshold', 'GreaterThanOrEqualToThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold']);
const STATISTICS = new Set(['Sum', 'Maximum', 'Minimum', 'Average', 'SampleCount']);

export class MonitoringError extends WatchpointError {
  constructor(message: string) {
    super(message, {
      code: 'DEV_ALARM_UNSUPPORTED',
      fault: 'system',
      fix: 'The local alarm evaluator (src/dev/alarms.ts) must learn it before watchpoint dev can run this template; report it with this output.',
    });
    this.name = 'MonitoringError';
  }
}

/**
 * The template's alarms, metric filters and email subscriptions, with physical names resolved:
 * `physicalName(logicalId)` for log groups, `queueName(logicalId)` for Fn::GetAtt QueueName.
 */
export function readMonitoring(template: Template, physicalName: (logicalId: string) => string, queueName: (logicalId: string) => string | undefined): Monitoring {
  const resources = Object.entries(template.Resources);
  const refOf = (value: Json): string | undefined => (isRecord(value) && typeof value.Ref === 'string' ? value.Ref : undefined);
  const scalar = (value: Json, where: string): string => {
    if (typeof value === 'string' || typeof value === 'number') return String(value);
    if (isRecord(value) && Array.isArray(value['Fn::GetAtt']) && value['Fn::GetAtt'][1] === 'QueueName') {
      const name = queueName(String(value['Fn::GetAtt'][0]));
      if (name) return name;
    }
    throw new MonitoringError(`${where}: ${JSON.stringify(value).slice(0, 100)} has no local value.`);
  };

  const alarms: AlarmDefinition[] = [];
  const filters: MetricFilterDefinition[] = [];
  const topicEmails = new Map<string, string[]>();
  for (const [logicalId, resource] of resources) {
    const props = (resource.Properties ?? {}) as Record<string, Json>;
    if (resource.Type === 'AWS::CloudWatch::Alarm') {
      if (props.Metrics !== undefined || props.ExtendedStatistic !== undefined) throw new MonitoringError(`Alarm ${logicalId} uses metric math or an extended statistic.`);
      const comparison = String(props.ComparisonOperator);
      const statistic = String(props.Statistic);
      if (!COMPARISONS.has(comparison)) throw new MonitoringError(`Alarm ${logicalId} compares with ${comparison}.`);
      if (!STATISTICS.has(statistic)) throw new MonitoringError(`Alarm ${logicalId} uses the statistic ${statistic}.`);
      const evaluationPeriods = Number(props.EvaluationPeriods ?? 1);
      const topics = (key: string) => (Array.isArray(props[key]) ? (props[key] as Json[]).map(refOf).filter((id): id is string => id !== undefined) : []);
      alarms.push({
        logicalId,
        name: typeof props.AlarmName === 'string' ? props.AlarmName : `${logicalId}-local`,
        description: typeof props.AlarmDescription === 'string' ? props.AlarmDescription : undefined,
        namespace: String(props.Namespace),
        metricName: String(props.MetricName),
        dimensions: Object.fromEntries(((props.Dimensions as Json[] | undefined) ?? []).filter(isRecord).map((d) => [String(d.Name), scalar(d.Value, `Alarm ${logicalId} dimension ${String(d.Name)}`)])),
        periodSeconds: Number(props.Period ?? 60),
        statistic,
        threshold: Number(props.Threshold),
        comparison: comparison as Comparison,
        evaluationPeriods,
        datapointsToAlarm: Number(props.DatapointsToAlarm ?? evaluationPeriods),
        treatMissingData: (props.TreatMissingData ?? 'missing') as TreatMissing,
        actions: { ALARM: topics('AlarmActions'), OK: topics('OKActions'), INSUFFICIENT_DATA: topics('InsufficientDataActions') },
      });
    } else if (resource.Type === 'AWS::Logs::MetricFilter') {
      const group = refOf(props.LogGroupName);
      const [transformation] = (props.MetricTransformations as Json[] | undefined) ?? [];
      if (!group || !isRecord(transformation)) throw new MonitoringError(`Metric filter ${logicalId} names no log group or metric.`);
      const pattern = String(props.FilterPattern ?? '');
      filters.push({
        logicalId,
        logGroupName: physicalName(group),
        pattern,
        matches: compilePattern(pattern),
        namespace: String(transformation.MetricNamespace),
        metricName: String(transformation.MetricName),
        value: String(transformation.MetricValue ?? '1'),
        dimensions: Object.fromEntries(((transformation.Dimensions as Json[] | undefined) ?? []).filter(isRecord).map((d) => [String(d.Key), String(d.Value)])),
        defaultValue: transformation.DefaultValue === undefined ? undefined : Number(transformation.DefaultValue),
      });
    } else if (resource.Type === 'AWS::SNS::Subscription' && props.Protocol === 'email') {
      const topic = refOf(props.TopicArn);
      if (topic) topicEmails.set(topic, [...(topicEmails.get(topic) ?? []), String(props.Endpoint)]);
    }
  }
  return { alarms, filters, topicEmails };
}

// --- metrics ------------------------------------------------------------------------------------

/** Datapoints kept over all series; the oldest go first (a dev run of days stays bounded). */
export const METRIC_STORE_CAPACITY = 200_000;

interface Datapoint {
  at: number;
  value: number;
}

/** `Namespace|MetricName|k=v,k=v`: CloudWatch matches a series by its exact dimension set. */
export function seriesKey(namespace: string, metricName: string, dimensions: Record<string, string>): string {
  return `${namespace}|${metricName}|${Object.entries(dimensions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}`;
}

export class MetricStore {
  private readonly series = new Map<string, Datapoint[]>();
  private count = 0;

  put(namespace: string, metricName: string, dimensions: Record<string, string>, value: number, at = Date.now()): void {
    if (!Number.isFinite(value)) return;
    const key = seriesKey(namespace, metricName, dimensions);
    const points = this.series.get(key) ?? [];
    points.push({ at, value });
    this.series.set(key, points);
    this.count += 1;
    if (this.count > METRIC_STORE_CAPACITY) this.evict();
  }

  private evict(): void {
    // Drop the oldest tenth, series by series.
    const all = [...this.series.values()].flatMap((points) => points.map((p) => p.at)).sort((a, b) => a - b);
    const cutoff = all[Math.floor(all.length / 10)] ?? 0;
    this.count = 0;
    for (const [key, points] of this.series) {
      const kept = points.filter((p) => p.at > cutoff);
      this.count += kept.length;
      if (kept.length === 0) this.series.delete(key);
      else this.series.set(key, kept);
    }
  }

  /** Datapoints of one series in [from, to). */
  select(namespace: string, metricName: string, dimensions: Record<string, string>, from: number, to: number): Datapoint[] {
    return (this.series.get(seriesKey(namespace, metricName, dimensions)) ?? []).filter((p) => p.at >= from && p.at < to);
  }
}

export function statistic(name: string, values: readonly number[]): number {
  switch (name) {
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Maximum':
      return Math.max(...values);
    case 'Minimum':
      return Math.min(...values);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'SampleCount':
      return values.length;
    default:
      throw new Error(`The statistic ${name} is not served by watchpoint dev (it serves Sum, Maximum, Minimum, Average, SampleCount).`);
  }
}

/** The metrics one log line publishes: through the metric filters of its group, and as EMF. */
export function metricsOfLine(event: StoredEvent, filters: readonly MetricFilterDefinition[], store: MetricStore): void {
  let json: unknown;
  let parsed = false;
  const line = () => {
    if (!parsed) {
      parsed = true;
      try {
        json = event.message.startsWith('{') ? JSON.parse(event.message) : undefined;
      } catch {
        json = undefined;
      }
    }
    return json;
  };
  const select = (selector: string): unknown => (selector.startsWith('$.') ? jsonPath(line(), selector.slice(2).split('.')) : selector);
  for (const filter of filters) {
    if (filter.logGroupName !== event.logGroupName) continue;
    if (!filter.matches(event.message)) {
      if (filter.defaultValue !== undefined) store.put(filter.namespace, filter.metricName, {}, filter.defaultValue, event.timestamp);
      continue;
    }
    const value = Number(select(filter.value));
    const dimensions: Record<string, string> = {};
    let complete = true;
    for (const [name, selector] of Object.entries(filter.dimensions)) {
      const dimension = select(selector);
      // CloudWatch publishes nothing for a line whose dimension field is missing.
      if (dimension === undefined || dimension === null || typeof dimension === 'object') complete = false;
      else dimensions[name] = String(dimension);
    }
    if (complete) store.put(filter.namespace, filter.metricName, dimensions, value, event.timestamp);
  }
  // Powertools Metrics: {"_aws":{"CloudWatchMetrics":[{"Namespace","Dimensions":[[...]],"Metrics":[{"Name"}]}]}, "<Name>": value, "<dim>": "..."}
  if (!event.message.includes('"_aws"')) return;
  const root = line();
  if (!isRecord(root) || !isRecord(root._aws) || !Array.isArray(root._aws.CloudWatchMetrics)) return;
  for (const directive of root._aws.CloudWatchMetrics) {
    if (!isRecord(directive) || !Array.isArray(directive.Metrics)) continue;
    const sets = Array.isArray(directive.Dimensions) && directive.Dimensions.length > 0 ? (directive.Dimensions as Json[]) : [[]];
    for (const set of sets) {
      const dimensions = Object.fromEntries((Array.isArray(set) ? set : []).map((name) => [String(name), String(root[String(name)] ?? '')]));
      for (const metric of directive.Metrics) {
        if (!isRecord(metric)) continue;
        const raw = root[String(metric.Name)];
        for (const value of Array.isArray(raw) ? raw : [raw]) store.put(String(directive.Namespace), String(metric.Name), dimensions, Number(value), event.timestamp);
      }
    }
  }
}

// --- evaluation ---------------------------------------------------------------------------------

export interface AlarmStatus {
  state: AlarmState;
  reason: string;
  reasonData: string | undefined;
  /** When the state was last evaluated and when it last changed. */
  updatedAt: Date;
  transitionedAt: Date;
}

export interface HistoryItem {
  alarmName: string;
  at: Date;
  type: 'StateUpdate' | 'Action';
  summary: string;
  data: string;
}

const COMPARE: Record<Comparison, (value: number, threshold: number) => boolean> = {
  GreaterThanThreshold: (v, t) => v > t,
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

const WORDS: Record<Comparison, string> = {
  GreaterThanThreshold: 'greater than',
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

/** One evaluation: the state the alarm's last `evaluationPeriods` (compressed) periods give, and why. */
export function evaluateAlarm(alarm: AlarmDefinition, store: MetricStore, now: number, speed: number, current: AlarmState): { state: AlarmState; reason: string; values: (number | undefined)[] } {
  const periodMs = (alarm.periodSeconds * 1000) / speed;
  const values: (number | undefined)[] = [];
  for (let i = 0; i < alarm.evaluationPeriods; i += 1) {
    const to = now - i * periodMs;
    const points = store.select(alarm.namespace, alarm.metricName, alarm.dimensions, to - periodMs, to);
    values.push(points.length === 0 ? undefined : statistic(alarm.statistic, points.map((p) => p.value)));
  }
  const present = values.filter((v): v is number => v !== undefined);
  let breaching = present.filter((v) => COMPARE[alarm.comparison](v, alarm.threshold)).length;
  const missing = values.length - present.length;
  if (alarm.treatMissingData === 'breaching') breaching += missing;
  const shown = present.length > 0 ? `[${present.map((v) => String(Math.round(v * 1000) / 1000)).join(', ')}]` : 'no datapoints';
  const periods = `${alarm.evaluationPeriods} period${alarm.evaluationPeriods === 1 ? '' : 's'} of ${alarm.periodSeconds} s`;
  const compressed = speed === 1 ? '' : ` (${(periodMs / 1000).toFixed(1)} s at --speed ${speed})`;
  if (breaching >= alarm.datapointsToAlarm) {
    return {
      state: 'ALARM',
      reason:
        present.length === 0
          ? `Threshold Crossed: no datapoints in the last ${periods}${compressed}, treated as breaching.`
          : `Threshold Crossed: ${breaching} datapoint${breaching === 1 ? '' : 's'} ${shown} ${breaching === 1 ? 'was' : 'were'} ${WORDS[alarm.comparison]} the threshold (${alarm.threshold}) in the last ${periods}${compressed}.`,
      values,
    };
  }
  if (present.length === 0 && alarm.treatMissingData === 'missing') return { state: 'INSUFFICIENT_DATA', reason: `Insufficient Data: no datapoints in the last ${periods}${compressed}.`, values };
  if (present.length === 0 && alarm.treatMissingData === 'ignore') return { state: current, reason: `No datapoints in the last ${periods}${compressed}; the state is kept (TreatMissingData ignore).`, values };
  return {
    state: 'OK',
    reason:
      present.length === 0
        ? `Threshold Crossed: no datapoints in the last ${periods}${compressed}, treated as not breaching.`
        : `Threshold Crossed: ${present.length} datapoint${present.length === 1 ? '' : 's'} ${shown} ${present.length === 1 ? 'was' : 'were'} not ${WORDS[alarm.comparison]} the threshold (${alarm.threshold}) in the last ${periods}${compressed}.`,
    values,
  };
}

/** Alarm history kept per alarm, as CloudWatch keeps it (for 30 days there; the newest 500 here). */
const HISTORY_PER_ALARM = 500;

export class AlarmEvaluator {
  readonly statuses = new Map<string, AlarmStatus>();
  readonly history: HistoryItem[] = [];
  readonly monitoring: Monitoring;
  private readonly metrics: MetricStore;
  private readonly speed: number;
  private readonly notify: (alarm: AlarmDefinition, status: AlarmStatus, previous: AlarmState, emails: string[]) => Promise<void>;

  constructor(options: {
    monitoring: Monitoring;
    metrics: MetricStore;
    speed: number;
    startedAt: Date;
    notify: (alarm: AlarmDefinition, status: AlarmStatus, previous: AlarmState, emails: string[]) => Promise<void>;
  }) {
    this.monitoring = options.monitoring;
    this.metrics = options.metrics;
    this.speed = options.speed;
    this.notify = options.notify;
    // A new alarm starts in INSUFFICIENT_DATA, as on AWS.
    for (const alarm of this.monitoring.alarms) {
      this.statuses.set(alarm.name, { state: 'INSUFFICIENT_DATA', reason: 'Unchecked: Initial alarm creation', reasonData: undefined, updatedAt: options.startedAt, transitionedAt: options.startedAt });
    }
  }

  /** Evaluates every alarm now; state changes go to the history and the alarm's actions. */
  evaluate(now = Date.now()): Promise<void>[] {
    const sent: Promise<void>[] = [];
    for (const alarm of this.monitoring.alarms) {
      const status = this.statuses.get(alarm.name)!;
      const result = evaluateAlarm(alarm, this.metrics, now, this.speed, status.state);
      const at = new Date(now);
      status.updatedAt = at;
      if (result.state === status.state) continue;
      const previous = status.state;
      status.state = result.state;
      status.reason = result.reason;
      status.reasonData = JSON.stringify({ version: '1.0', queryDate: at.toISOString(), statistic: alarm.statistic, period: alarm.periodSeconds, recentDatapoints: result.values.filter((v) => v !== undefined), threshold: alarm.threshold, evaluatedDatapoints: result.values.map((value, i) => ({ timestamp: new Date(now - ((i + 1) * alarm.periodSeconds * 1000) / this.speed).toISOString(), ...(value === undefined ? {} : { value }) })) });
      status.transitionedAt = at;
      this.record({ alarmName: alarm.name, at, type: 'StateUpdate', summary: `Alarm updated from ${previous} to ${result.state}`, data: JSON.stringify({ version: '1.0', oldState: { stateValue: previous }, newState: { stateValue: result.state, stateReason: result.reason } }) });
      const emails = alarm.actions[result.state].flatMap((topic) => this.monitoring.topicEmails.get(topic) ?? []);
      if (emails.length > 0) {
        sent.push(
          this.notify(alarm, status, previous, emails).then(
            () => this.record({ alarmName: alarm.name, at: new Date(), type: 'Action', summary: `Successfully executed action (email to ${emails.join(', ')} in the local mail store)`, data: '{}' }),
            (error: unknown) => this.record({ alarmName: alarm.name, at: new Date(), type: 'Action', summary: `Failed to execute action: ${(error as Error).message}`, data: '{}' }),
          ),
        );
      }
    }
    return sent;
  }

  private record(item: HistoryItem): void {
    this.history.push(item);
    const mine = this.history.filter((h) => h.alarmName === item.alarmName);
    if (mine.length > HISTORY_PER_ALARM) this.history.splice(this.history.indexOf(mine[0]!), 1);
  }
}
