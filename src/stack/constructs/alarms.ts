import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export const METRIC_NAMESPACE = 'WatchPoint';

export interface AlarmsProps {
  readonly envName: string;
  readonly alertEmail: string;
  readonly batcherLogGroup: logs.ILogGroup;
  readonly apiLogGroup: logs.ILogGroup;
  readonly evalWorkerUrgentLogGroup: logs.ILogGroup;
  readonly evalWorkerStandardLogGroup: logs.ILogGroup;
  readonly evalQueueUrgent: sqs.IQueue;
  readonly evalQueueStandard: sqs.IQueue;
  readonly notificationQueue: sqs.IQueue;
  readonly webhookNotificationQueue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
}

interface AlarmSpec {
  readonly metric: cloudwatch.Metric;
  readonly threshold: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly treatMissingData?: cloudwatch.TreatMissingData;
  readonly description: string;
}

/** The alert topic, the log metric filters and every alarm, all of which notify AlertSNSTopic. */
export class Alarms extends Construct {
  public readonly alertTopicKey: kms.Key;
  public readonly alertTopic: sns.Topic;
  public readonly forecastReadyMetricFilter: logs.MetricFilter;
  public readonly securityAbuseMetricFilter: logs.MetricFilter;
  public readonly corruptForecastMetricFilters: { readonly urgent: logs.MetricFilter; readonly standard: logs.MetricFilter };
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);

    // CloudWatch alarms cannot publish to a topic encrypted with the AWS managed aws/sns key, whose
    // policy cannot be changed; a customer managed key lets us grant cloudwatch.amazonaws.com.
    this.alertTopicKey = new kms.Key(this, 'AlertTopicKey', {
      description: `Encrypts the WatchPoint ${props.envName} alert topic`,
      enableKeyRotation: true,
    });
    this.alertTopicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    this.alertTopic = new sns.Topic(this, 'AlertSNSTopic', {
      displayName: `WatchPoint ${props.envName} alerts`,
      masterKey: this.alertTopicKey,
      enforceSSL: true,
    });
    this.alertTopic.addSubscription(new subscriptions.EmailSubscription(props.alertEmail));

    // --- Metric filters -------------------------------------------------------------------------
    // The Batcher logs one JSON line per ready forecast:
    //   {"message":"ForecastReady","event":"ForecastReady","forecast_type":"nowcast"|"medium_range",...}
    // The filter publishes it with a ForecastType dimension, which the stale alarms below select on.
    this.forecastReadyMetricFilter = new logs.MetricFilter(this, 'ForecastReadyMetricFilter', {
      logGroup: props.batcherLogGroup,
      filterPattern: logs.FilterPattern.stringValue('$.event', '=', 'ForecastReady'),
      metricNamespace: METRIC_NAMESPACE,
      metricName: 'ForecastReady',
      metricValue: '1',
      dimensions: { ForecastType: '$.forecast_type' },
    });

    this.securityAbuseMetricFilter = new logs.MetricFilter(this, 'SecurityAbuseMetricFilter', {
      logGroup: props.apiLogGroup,
      filterPattern: logs.FilterPattern.stringValue('$.action', '=', 'apikey.created'),
      metricNamespace: METRIC_NAMESPACE,
      metricName: 'APIKeyCreated',
      metricValue: '1',
    });

    // One filter per eval worker log group, both feeding the same CorruptForecast metric.
    const corruptFilters = new Construct(this, 'CorruptForecastMetricFilter');
    const corruptFilter = (filterId: string, logGroup: logs.ILogGroup): logs.MetricFilter =>
      new logs.MetricFilter(corruptFilters, filterId, {
        logGroup,
        filterPattern: logs.FilterPattern.literal('"ZarrChecksumError"'),
        metricNamespace: METRIC_NAMESPACE,
        metricName: 'CorruptForecast',
        metricValue: '1',
      });
    this.corruptForecastMetricFilters = {
      urgent: corruptFilter('EvalWorkerUrgent', props.evalWorkerUrgentLogGroup),
      standard: corruptFilter('EvalWorkerStandard', props.evalWorkerStandardLogGroup),
    };

    // --- Alarms ---------------------------------------------------------------------------------
    const fiveMinutes = Duration.minutes(5);
    const forecastReady = (forecastType: string, period: Duration): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName: 'ForecastReady',
        dimensionsMap: { ForecastType: forecastType },
        statistic: cloudwatch.Stats.SUM,
        period,
      });
    const queueDepth = (queue: sqs.IQueue): cloudwatch.Metric =>
      queue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: fiveMinutes });
    const watchPointSum = (metricName: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName,
        statistic: cloudwatch.Stats.SUM,
        period: fiveMinutes,
      });
    const GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
    const LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD;

    const specs: Record<string, AlarmSpec> = {
      MediumRangeStaleAlarm: {
        metric: forecastReady('medium_range', Duration.hours(8)),
        threshold: 1,
        comparisonOperator: LT,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        description: 'Dead man\'s switch: no medium_range forecast became ready in the last 8 hours.',
      },
      NowcastStaleAlarm: {
        metric: forecastReady('nowcast', Duration.minutes(30)),
        threshold: 1,
        comparisonOperator: LT,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        description: 'Dead man\'s switch: no nowcast forecast became ready in the last 30 minutes.',
      },
      EvalQueueDepthAlarm: {
        metric: queueDepth(props.evalQueueStandard),
        threshold: 1000,
        comparisonOperator: GT,
        description: 'More than 1000 messages waiting in EvalQueueStandard: the standard eval workers are falling behind.',
      },
      EvalQueueUrgentDepthAlarm: {
        metric: queueDepth(props.evalQueueUrgent),
        threshold: 100,
        comparisonOperator: GT,
        description: 'More than 100 messages waiting in EvalQueueUrgent: urgent evaluations are delayed.',
      },
      NotificationQueueDepthAlarm: {
        metric: queueDepth(props.notificationQueue),
        threshold: 500,
        comparisonOperator: GT,
        description: 'More than 500 email notifications waiting in NotificationQueue: the email worker is falling behind.',
      },
      WebhookNotificationQueueDepthAlarm: {
        metric: queueDepth(props.webhookNotificationQueue),
        threshold: 500,
        comparisonOperator: GT,
        description: 'More than 500 webhook notifications waiting in WebhookNotificationQueue: the webhook worker is falling behind.',
      },
      DeadLetterQueueNotEmptyAlarm: {
        metric: queueDepth(props.deadLetterQueue),
        threshold: 0,
        comparisonOperator: GT,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        description: 'Messages failed 3 times and landed in DeadLetterQueueShared: inspect them and redrive or purge.',
      },
      NotificationSpikeAlarm: {
        metric: watchPointSum('DeliveryAttempt'),
        threshold: 1000,
        comparisonOperator: GT,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        description:
          'Triggers when notification delivery attempts exceed 1000 in 5 minutes, indicating potential notification loop or spam.',
      },
      SuspiciousKeyCreationAlarm: {
        metric: watchPointSum('APIKeyCreated'),
        threshold: 10,
        comparisonOperator: GT,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        description:
          'Triggers when API key creation exceeds 10 in 5 minutes, indicating potential account compromise or abuse.',
      },
      CorruptForecastAlarm: {
        metric: watchPointSum('CorruptForecast'),
        threshold: 0,
        comparisonOperator: GT,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        description:
          '**CRITICAL**: Alerts on forecast data corruption (Zarr checksum or format errors). Requires manual intervention to investigate and rebuild affected forecast data. Corrupted tiles cannot be recovered by automatic retry.',
      },
    };

    const action = new cwActions.SnsAction(this.alertTopic);
    const alarms: Record<string, cloudwatch.Alarm> = {};
    for (const [alarmId, spec] of Object.entries(specs)) {
      const alarm = new cloudwatch.Alarm(this, alarmId, {
        alarmName: `watchpoint-${props.envName}-${alarmId}`,
        alarmDescription: spec.description,
        metric: spec.metric,
        threshold: spec.threshold,
        comparisonOperator: spec.comparisonOperator,
        evaluationPeriods: 1,
        ...(spec.treatMissingData === undefined ? {} : { treatMissingData: spec.treatMissingData }),
      });
      alarm.addAlarmAction(action);
      alarms[alarmId] = alarm;
    }
    this.alarms = alarms;
  }
}
