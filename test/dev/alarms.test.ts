// Alarms evaluated locally: a window per (compressed) period, the statistic, the comparison,
// TreatMissingData; metrics from metric filters (with a dimension from the line) and from EMF lines.
import { describe, expect, it } from 'vitest';
import { compilePattern } from '../../src/dev/filter-pattern.ts';
import { AlarmEvaluator, MetricStore, evaluateAlarm, metricsOfLine, type AlarmDefinition, type MetricFilterDefinition } from '../../src/dev/alarms.ts';

const alarm = (overrides: Partial<AlarmDefinition>): AlarmDefinition => ({
  logicalId: 'A',
  name: 'watchpoint-local-A',
  description: undefined,
  namespace: 'WatchPoint',
  metricName: 'ForecastReady',
  dimensions: { ForecastType: 'nowcast' },
  periodSeconds: 1800,
  statistic: 'Sum',
  threshold: 1,
  comparison: 'LessThanThreshold',
  evaluationPeriods: 1,
  datapointsToAlarm: 1,
  treatMissingData: 'breaching',
  actions: { ALARM: ['Topic'], OK: [], INSUFFICIENT_DATA: [] },
  ...overrides,
});

const readyFilter: MetricFilterDefinition = {
  logicalId: 'F',
  logGroupName: 'batcher',
  pattern: '{ $.event = "ForecastReady" }',
  matches: compilePattern('{ $.event = "ForecastReady" }'),
  namespace: 'WatchPoint',
  metricName: 'ForecastReady',
  value: '1',
  dimensions: { ForecastType: '$.forecast_type' },
  defaultValue: undefined,
};

const event = (message: string, timestamp: number, logGroupName = 'batcher') => ({ seq: 1, logGroupName, logStreamName: 's', timestamp, ingestionTime: timestamp, message });

describe('local alarm evaluation', () => {
  it("the dead man's switch: missing data is breaching; a ForecastReady in the compressed period clears it", () => {
    const store = new MetricStore();
    const now = 1_000_000;
    expect(evaluateAlarm(alarm({}), store, now, 180, 'INSUFFICIENT_DATA').state).toBe('ALARM');
    // At --speed 180 the 30-minute period is 10 s.
    metricsOfLine(event(JSON.stringify({ event: 'ForecastReady', forecast_type: 'nowcast' }), now - 9_000), [readyFilter], store);
    metricsOfLine(event(JSON.stringify({ event: 'ForecastReady', forecast_type: 'medium_range' }), now - 1_000), [readyFilter], store);
    expect(evaluateAlarm(alarm({}), store, now, 180, 'ALARM')).toMatchObject({ state: 'OK', values: [1] });
    expect(evaluateAlarm(alarm({}), store, now + 2_000, 180, 'OK').state).toBe('ALARM');
    // The line's other group publishes nothing.
    metricsOfLine(event(JSON.stringify({ event: 'ForecastReady', forecast_type: 'nowcast' }), now, 'api'), [readyFilter], store);
    expect(evaluateAlarm(alarm({}), store, now + 2_000, 180, 'OK').state).toBe('ALARM');
  });

  it('queue depth: Maximum over the period compared with the threshold; TreatMissingData missing and ignore', () => {
    const store = new MetricStore();
    const depth = alarm({ namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensions: { QueueName: 'dlq' }, periodSeconds: 300, statistic: 'Maximum', threshold: 0, comparison: 'GreaterThanThreshold', treatMissingData: 'missing' });
    expect(evaluateAlarm(depth, store, 10_000, 1, 'OK').state).toBe('INSUFFICIENT_DATA');
    expect(evaluateAlarm({ ...depth, treatMissingData: 'ignore' }, store, 10_000, 1, 'ALARM').state).toBe('ALARM');
    store.put('AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: 'dlq' }, 0, 9_000);
    store.put('AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: 'dlq' }, 2, 9_500);
    expect(evaluateAlarm(depth, store, 10_000, 1, 'OK')).toMatchObject({ state: 'ALARM', reason: expect.stringContaining('[2] was greater than the threshold (0)') });
    // Two of three periods must breach.
    expect(evaluateAlarm({ ...depth, periodSeconds: 1, evaluationPeriods: 3, datapointsToAlarm: 2 }, store, 10_000, 1, 'OK').state).toBe('OK');
  });

  it('reads Powertools EMF lines with their exact dimension set', () => {
    const store = new MetricStore();
    const emf = { _aws: { Timestamp: 5_000, CloudWatchMetrics: [{ Namespace: 'WatchPoint', Dimensions: [['service']], Metrics: [{ Name: 'DeliveryAttempt', Unit: 'Count' }] }] }, service: 'webhook-worker', DeliveryAttempt: 3 };
    metricsOfLine(event(JSON.stringify(emf), 5_000, 'webhook'), [], store);
    expect(store.select('WatchPoint', 'DeliveryAttempt', { service: 'webhook-worker' }, 0, 10_000)).toEqual([{ at: 5_000, value: 3 }]);
    expect(store.select('WatchPoint', 'DeliveryAttempt', {}, 0, 10_000)).toEqual([]);
  });

  it('records each state change once and notifies the topic subscribers on ALARM', async () => {
    const store = new MetricStore();
    const sent: string[] = [];
    const evaluator = new AlarmEvaluator({
      monitoring: { alarms: [alarm({})], filters: [], topicEmails: new Map([['Topic', ['oncall@example.com']]]) },
      metrics: store,
      speed: 180,
      startedAt: new Date(0),
      notify: async (a, status, previous, emails) => void sent.push(`${a.name} ${previous}->${status.state} ${emails.join()}`),
    });
    expect(evaluator.statuses.get('watchpoint-local-A')!.state).toBe('INSUFFICIENT_DATA');
    await Promise.all(evaluator.evaluate(1_000_000));
    await Promise.all(evaluator.evaluate(1_000_500));
    expect(sent).toEqual(['watchpoint-local-A INSUFFICIENT_DATA->ALARM oncall@example.com']);
    expect(evaluator.history.map((h) => `${h.type} ${h.summary}`)).toEqual(['StateUpdate Alarm updated from INSUFFICIENT_DATA to ALARM', expect.stringMatching(/^Action Successfully executed action/)]);
  });
});
