import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { DeployedFunction } from '../../src/stack/constructs/functions.ts';
import { grantsOf, logicalId, resourceOf, statementsOf, synth, removeOutdirs } from './fixture.ts';
import type { Synthesized } from './fixture.ts';

afterAll(removeOutdirs);

let s: Synthesized;
beforeAll(() => {
  s = synth();
});

const ACCOUNT_REGION = 'eu-west-1:123456789012';
const ssmArn = (sub: string) => `arn:<AWS::Partition>:ssm:${ACCOUNT_REGION}:parameter/dev/watchpoint/${sub}*`;
const SES_IDENTITIES = `arn:<AWS::Partition>:ses:${ACCOUNT_REGION}:identity/*`;
const SSM_ACTIONS = ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'];
const ref = (c: IConstruct) => ({ Ref: logicalId(c) });
const arnOf = (c: IConstruct) => `<${logicalId(c)}.Arn>`;

function functions(): Record<string, DeployedFunction> {
  const f = s.platform.functions;
  return {
    ApiFunction: f.apiFunction,
    BatcherFunction: f.batcherFunction,
    DataPollerFunction: f.dataPollerFunction,
    ArchiverFunction: f.archiverFunction,
    EmailWorkerFunction: f.emailWorkerFunction,
    WebhookWorkerFunction: f.webhookWorkerFunction,
    EvalWorkerUrgent: f.evalWorkerUrgent,
    EvalWorkerStandard: f.evalWorkerStandard,
  };
}
const ZIP_FUNCTIONS = [
  'ApiFunction',
  'BatcherFunction',
  'DataPollerFunction',
  'ArchiverFunction',
  'EmailWorkerFunction',
  'WebhookWorkerFunction',
];
const fn = (id: string) => {
  const f = functions()[id];
  if (!f) throw new Error(id);
  return f;
};
const grants = (id: string) => grantsOf(s, logicalId(fn(id).role));

describe('functions', () => {
  it('keeps the spec construct IDs', () => {
    for (const [id, f] of Object.entries(functions())) expect(f.function.node.scope?.node.id).toBe(id);
  });

  it('zip functions: nodejs24.x, arm64, 256 MB, tracing, ESM source maps, spec timeouts', () => {
    const timeouts: Record<string, number> = { DataPollerFunction: 60, ArchiverFunction: 60 };
    for (const id of ZIP_FUNCTIONS) {
      const props = resourceOf(s, fn(id).function).Properties;
      expect(props, id).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        MemorySize: 256,
        Timeout: timeouts[id] ?? 30,
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
        LoggingConfig: { LogGroup: ref(fn(id).logGroup) },
      });
      expect(props.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });

  it('eval workers: container image from the registry repo at the tag, arm64, 1024 MB, 300 s, tracing', () => {
    for (const id of ['EvalWorkerUrgent', 'EvalWorkerStandard']) {
      const props = resourceOf(s, fn(id).function).Properties;
      expect(props, id).toMatchObject({
        PackageType: 'Image',
        Architectures: ['arm64'],
        MemorySize: 1024,
        Timeout: 300,
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: ref(fn(id).logGroup) },
      });
      const imageUri = JSON.stringify(props.Code.ImageUri);
      expect(imageUri).toContain('.dkr.ecr.eu-west-1.');
      expect(imageUri).toContain('/watchpoint-dev-eval-worker:v1.2.3');
    }
    expect(resourceOf(s, fn('EvalWorkerStandard').function).Properties.ReservedConcurrentExecutions).toBe(50);
  });

  it('EvalWorkerUrgent has alias live with provisioned concurrency 5', () => {
    s.template.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'live',
      FunctionName: ref(fn('EvalWorkerUrgent').function),
      ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 5 },
    });
  });

  it('every function log group keeps 30 days', () => {
    for (const [id, f] of Object.entries(functions())) {
      expect(resourceOf(s, f.logGroup).Properties.RetentionInDays, id).toBe(30);
    }
  });

  it('every function gets every global env var of the spec', () => {
    const q = s.platform.queues;
    const expected = {
      APP_ENV: 'dev',
      DATABASE_URL_SSM_PARAM: '/dev/watchpoint/database/url',
      STRIPE_SECRET_KEY_SSM_PARAM: '/dev/watchpoint/billing/stripe_secret_key',
      STRIPE_WEBHOOK_SECRET_SSM_PARAM: '/dev/watchpoint/billing/stripe_webhook_secret',
      STRIPE_PUBLISHABLE_KEY_SSM_PARAM: '/dev/watchpoint/billing/stripe_publishable_key',
      RUNPOD_API_KEY_SSM_PARAM: '/dev/watchpoint/forecast/runpod_api_key',
      RUNPOD_ENDPOINT_ID: 'abc123xyz',
      SESSION_KEY_SSM_PARAM: '/dev/watchpoint/auth/session_key',
      ADMIN_API_KEY_SSM_PARAM: '/dev/watchpoint/security/admin_api_key',
      GOOGLE_CLIENT_ID: '',
      GOOGLE_CLIENT_SECRET_SSM_PARAM: '/dev/watchpoint/auth/google_secret',
      GITHUB_CLIENT_ID: '',
      GITHUB_CLIENT_SECRET_SSM_PARAM: '/dev/watchpoint/auth/github_secret',
      METRIC_NAMESPACE: 'WatchPoint',
      SQS_EVAL_URGENT: ref(q.evalQueueUrgent),
      SQS_EVAL_STANDARD: ref(q.evalQueueStandard),
      SQS_NOTIFICATIONS: ref(q.notificationQueue),
      SQS_NOTIFICATIONS_EMAIL: ref(q.notificationQueue),
      SQS_NOTIFICATIONS_WEBHOOK: ref(q.webhookNotificationQueue),
      SQS_DLQ: ref(q.deadLetterQueue),
      API_EXTERNAL_URL: {
        'Fn::Join': ['', ['https://', ref(s.platform.api.httpApi), '.execute-api.eu-west-1.amazonaws.com']],
      },
    };
    for (const [id, f] of Object.entries(functions())) {
      const vars = resourceOf(s, f.function).Properties.Environment.Variables;
      expect(vars, id).toMatchObject(expected);
      expect(vars, id).not.toHaveProperty('AWS_ENDPOINT_URL');
      expect('ARCHIVE_BUCKET' in vars, id).toBe(id === 'ArchiverFunction');
    }
    expect(resourceOf(s, fn('ArchiverFunction').function).Properties.Environment.Variables.ARCHIVE_BUCKET).toEqual(
      ref(s.platform.storage.archiveBucket),
    );
  });
});

describe('schedules and triggers', () => {
  it('DataPoller runs every 15 minutes', () => {
    const rule = resourceOf(s, s.platform.functions.dataPollerSchedule).Properties;
    expect(rule.ScheduleExpression).toBe('rate(15 minutes)');
    expect(rule.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': [logicalId(fn('DataPollerFunction').function), 'Arn'] } })]);
  });

  it('Archiver has the four rules with their task inputs', () => {
    const expected = {
      ArchiveRule: ['rate(15 minutes)', 'archive'],
      DigestRule: ['rate(1 minute)', 'digest_trigger'],
      BillingRule: ['cron(0 0 * * ? *)', 'billing_sync'],
      CleanupRule: ['cron(0 2 * * ? *)', 'cleanup'],
    } as const;
    for (const [id, [schedule, task]] of Object.entries(expected)) {
      const rule = s.platform.functions.archiverRules[id as keyof typeof expected];
      expect(rule.node.id).toBe(id);
      const props = resourceOf(s, rule).Properties;
      expect(props.ScheduleExpression, id).toBe(schedule);
      expect(props.Targets).toHaveLength(1);
      expect(props.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [logicalId(fn('ArchiverFunction').function), 'Arn'] });
      expect(JSON.parse(props.Targets[0].Input)).toEqual({ task });
    }
  });

  it('ForecastBucket _SUCCESS objects trigger the Batcher', () => {
    s.template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: ref(s.platform.storage.forecastBucket),
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'suffix', Value: '_SUCCESS' }] } },
            LambdaFunctionArn: { 'Fn::GetAtt': [logicalId(fn('BatcherFunction').function), 'Arn'] },
          },
        ],
      },
    });
  });
});

describe('queues', () => {
  it('DLQ keeps messages 14 days; every other queue redrives to it after 3 receives', () => {
    const q = s.platform.queues;
    expect(q.deadLetterQueue.node.id).toBe('DeadLetterQueueShared');
    const dlq = resourceOf(s, q.deadLetterQueue).Properties;
    expect(dlq.MessageRetentionPeriod).toBe(1209600);
    expect(dlq.RedrivePolicy).toBeUndefined();
    const visibility: [IConstruct, string, number][] = [
      [q.evalQueueUrgent, 'EvalQueueUrgent', 1800],
      [q.evalQueueStandard, 'EvalQueueStandard', 1800],
      [q.notificationQueue, 'NotificationQueue', 180],
      [q.webhookNotificationQueue, 'WebhookNotificationQueue', 180],
    ];
    for (const [queue, id, seconds] of visibility) {
      expect(queue.node.id).toBe(id);
      expect(resourceOf(s, queue).Properties, id).toMatchObject({
        VisibilityTimeout: seconds,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(q.deadLetterQueue), 'Arn'] }, maxReceiveCount: 3 },
      });
    }
    s.template.resourceCountIs('AWS::SQS::Queue', 5);
  });

  it('visibility timeout is 6x the consuming function timeout', () => {
    const pairs: [IConstruct, string][] = [
      [s.platform.queues.evalQueueUrgent, 'EvalWorkerUrgent'],
      [s.platform.queues.evalQueueStandard, 'EvalWorkerStandard'],
      [s.platform.queues.notificationQueue, 'EmailWorkerFunction'],
      [s.platform.queues.webhookNotificationQueue, 'WebhookWorkerFunction'],
    ];
    for (const [queue, consumer] of pairs) {
      const timeout = resourceOf(s, fn(consumer).function).Properties.Timeout as number;
      expect(resourceOf(s, queue).Properties.VisibilityTimeout).toBe(6 * timeout);
    }
  });

  it('every queue is SSE-SQS encrypted and TLS-only', () => {
    const q = s.platform.queues;
    for (const queue of [q.deadLetterQueue, q.evalQueueUrgent, q.evalQueueStandard, q.notificationQueue, q.webhookNotificationQueue]) {
      expect(resourceOf(s, queue).Properties.SqsManagedSseEnabled).toBe(true);
      s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(queue)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('each work queue has exactly one consumer, with batch sizes, partial batch failures and no filters', () => {
    const mappings = Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(4);
    const q = s.platform.queues;
    const f = s.platform.functions;
    // Every worker consumes through its `live` alias (the urgent one's is provisioned), so a gradual
    // deployment's weights apply to its batches (issue 21).
    const expected: [IConstruct, IConstruct, number][] = [
      [q.evalQueueUrgent, f.evalWorkerUrgentLiveAlias, 1],
      [q.evalQueueStandard, f.liveAliases.EvalWorkerStandard, 10],
      [q.notificationQueue, f.liveAliases.EmailWorkerFunction, 10],
      [q.webhookNotificationQueue, f.liveAliases.WebhookWorkerFunction, 10],
    ];
    for (const [queue, consumer, batchSize] of expected) {
      const forQueue = mappings.filter(
        (m) => JSON.stringify(m.Properties.EventSourceArn) === JSON.stringify({ 'Fn::GetAtt': [logicalId(queue), 'Arn'] }),
      );
      expect(forQueue, queue.node.id).toHaveLength(1);
      const props = forQueue[0]!.Properties;
      expect(props.BatchSize).toBe(batchSize);
      expect(props.FilterCriteria).toBeUndefined();
      expect(JSON.stringify(props.FunctionName)).toContain(`"${logicalId(consumer)}"`);
    }
    for (const m of mappings) {
      if ((m.Properties.BatchSize as number) > 1) expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    }
  });
});

describe('storage', () => {
  it('every bucket blocks public access, is S3-encrypted and TLS-only', () => {
    const st = s.platform.storage;
    for (const bucket of [st.forecastBucket, st.archiveBucket, st.accessLogsBucket]) {
      expect(resourceOf(s, bucket).Properties).toMatchObject({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      });
      s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: ref(bucket),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
    for (const bucket of [st.forecastBucket, st.archiveBucket]) {
      expect(resourceOf(s, bucket).Properties.LoggingConfiguration.DestinationBucketName).toEqual(ref(st.accessLogsBucket));
    }
  });

  it('ForecastBucket: versioned; spec lifecycle rules plus noncurrent-version, delete-marker and multipart clean-up', () => {
    const props = resourceOf(s, s.platform.storage.forecastBucket).Properties;
    expect(props.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    const rules = props.LifecycleConfiguration.Rules as Record<string, unknown>[];
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Status: 'Enabled', Transitions: [{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 0 }] }),
        expect.objectContaining({
          Status: 'Enabled',
          Prefix: 'nowcast/',
          ExpirationInDays: 7,
          NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        }),
        expect.objectContaining({
          Status: 'Enabled',
          Prefix: 'medium_range/',
          ExpirationInDays: 90,
          NoncurrentVersionExpiration: { NoncurrentDays: 7 },
        }),
        expect.objectContaining({
          Status: 'Enabled',
          ExpiredObjectDeleteMarker: true,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        }),
      ]),
    );
    expect(rules.find((r) => !('Prefix' in r) && 'Transitions' in r)).toBeDefined();
  });

  it('ArchiveBucket moves objects to Glacier after 1 day', () => {
    const rules = resourceOf(s, s.platform.storage.archiveBucket).Properties.LifecycleConfiguration.Rules;
    expect(rules).toEqual([expect.objectContaining({ Status: 'Enabled', Transitions: [{ StorageClass: 'GLACIER', TransitionInDays: 1 }] })]);
  });
});

describe('IAM', () => {
  it('SSM reads are scoped to the env path, narrower where the spec says', () => {
    const expected: Record<string, string[]> = {
      ApiFunction: [ssmArn('')],
      BatcherFunction: [ssmArn('database/')],
      DataPollerFunction: [ssmArn('database/'), ssmArn('forecast/')],
      ArchiverFunction: [ssmArn('')],
      EmailWorkerFunction: [ssmArn('')],
      WebhookWorkerFunction: [ssmArn('')],
      EvalWorkerUrgent: [ssmArn('database/')],
      EvalWorkerStandard: [ssmArn('database/')],
    };
    for (const [id, resources] of Object.entries(expected)) {
      const g = grants(id);
      for (const action of SSM_ACTIONS) expect(g.get(action), `${id} ${action}`).toEqual([...resources].sort());
      expect([...g.keys()].filter((a) => a.startsWith('ssm:')).sort(), id).toEqual([...SSM_ACTIONS].sort());
    }
  });

  it('SES send only on ApiFunction and EmailWorkerFunction, scoped to own identities', () => {
    for (const id of Object.keys(functions())) {
      const g = grants(id);
      const ses = [...g.keys()].filter((a) => a.startsWith('ses:')).sort();
      if (id === 'ApiFunction' || id === 'EmailWorkerFunction') {
        expect(ses, id).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
        expect(g.get('ses:SendEmail')).toEqual([SES_IDENTITIES]);
        expect(g.get('ses:SendRawEmail')).toEqual([SES_IDENTITIES]);
      } else {
        expect(ses, id).toEqual([]);
      }
    }
  });

  it('queue producers and consumers match the routing contract', () => {
    const q = s.platform.queues;
    const notifications = [arnOf(q.notificationQueue), arnOf(q.webhookNotificationQueue)].sort();
    const sends: Record<string, string[]> = {
      ApiFunction: notifications,
      BatcherFunction: [arnOf(q.evalQueueUrgent), arnOf(q.evalQueueStandard)].sort(),
      DataPollerFunction: [],
      ArchiverFunction: notifications,
      EmailWorkerFunction: [],
      WebhookWorkerFunction: [],
      // Eval workers also park corrupt-tile jobs in the DLQ themselves.
      EvalWorkerUrgent: [...notifications, arnOf(q.deadLetterQueue)].sort(),
      EvalWorkerStandard: [...notifications, arnOf(q.deadLetterQueue)].sort(),
    };
    const receives: Record<string, string[]> = {
      EmailWorkerFunction: [arnOf(q.notificationQueue)],
      WebhookWorkerFunction: [arnOf(q.webhookNotificationQueue)],
      EvalWorkerUrgent: [arnOf(q.evalQueueUrgent)],
      EvalWorkerStandard: [arnOf(q.evalQueueStandard)],
    };
    for (const id of Object.keys(functions())) {
      const g = grants(id);
      expect(g.get('sqs:SendMessage') ?? [], id).toEqual(sends[id]);
      expect(g.get('sqs:ReceiveMessage') ?? [], id).toEqual(receives[id] ?? []);
    }
  });

  it('S3 access: Batcher, DataPoller and eval workers read ForecastBucket; Archiver writes ArchiveBucket', () => {
    const st = s.platform.storage;
    const forecastObjects = `${arnOf(st.forecastBucket)}/*`;
    for (const id of ['BatcherFunction', 'DataPollerFunction', 'EvalWorkerUrgent', 'EvalWorkerStandard']) {
      const g = grants(id);
      expect(g.get('s3:GetObject'), id).toEqual([forecastObjects]);
      expect(g.get('s3:PutObject'), id).toBeUndefined();
    }
    const archiver = grants('ArchiverFunction');
    expect(archiver.get('s3:PutObject')).toEqual([`${arnOf(st.archiveBucket)}/*`]);
    for (const id of ['ApiFunction', 'EmailWorkerFunction', 'WebhookWorkerFunction']) {
      expect([...grants(id).keys()].filter((a) => a.startsWith('s3:')), id).toEqual([]);
    }
  });

  it('no function role has a managed policy; each may only write to its own log group', () => {
    for (const [id, f] of Object.entries(functions())) {
      expect(resourceOf(s, f.role).Properties.ManagedPolicyArns, id).toBeUndefined();
      expect(grants(id).get('logs:PutLogEvents'), id).toEqual([`<${logicalId(f.logGroup)}.Arn>`]);
    }
  });

  it('the RunPod user may only PutObject/AbortMultipartUpload into ForecastBucket and has no access key', () => {
    const user = s.platform.access.runPodServiceUser;
    expect(user.node.id).toBe('RunPodServiceUser');
    expect(resourceOf(s, user).Properties.ManagedPolicyArns).toBeUndefined();
    expect(resourceOf(s, user).Properties.Policies).toBeUndefined();
    expect(statementsOf(s, logicalId(user))).toEqual([
      {
        effect: 'Allow',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [`${arnOf(s.platform.storage.forecastBucket)}/*`],
      },
    ]);
    s.template.resourceCountIs('AWS::IAM::AccessKey', 0);
    s.template.resourceCountIs('AWS::IAM::User', 1);
  });
});

describe('API', () => {
  it('HttpApi with the CORS of the spec and the stage origins', () => {
    expect(s.platform.api.httpApi.node.id).toBe('HttpApi');
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: ['https://app.example.com'],
        AllowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
        AllowHeaders: ['Content-Type', 'Authorization', 'Idempotency-Key'],
      },
    });
  });

  it('routes ANY /{proxy+} to ApiFunction, through its live alias (gradual deployment, issue 21)', () => {
    s.template.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /{proxy+}' });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: ref(s.platform.functions.liveAliases.ApiFunction),
    });
    // API Gateway may invoke the alias (a permission on the alias, not only the unqualified function).
    s.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: ref(s.platform.functions.liveAliases.ApiFunction),
      Principal: 'apigateway.amazonaws.com',
    });
  });

  it('default stage writes JSON access logs to a 30-day log group', () => {
    const stage = resourceOf(s, s.platform.api.defaultStage).Properties;
    expect(stage.StageName).toBe('$default');
    expect(stage.AutoDeploy).toBe(true);
    expect(stage.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [logicalId(s.platform.api.accessLogGroup), 'Arn'] });
    const format = JSON.parse(stage.AccessLogSettings.Format);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      routeKey: '$context.routeKey',
      status: '$context.status',
    });
    expect(resourceOf(s, s.platform.api.accessLogGroup).Properties.RetentionInDays).toBe(30);
  });

  it('default stage throttles at the stage settings\' defaults (50 req/s, burst 100); ApiFunction gets the quota defaults (issue 27)', () => {
    const stage = resourceOf(s, s.platform.api.defaultStage).Properties;
    expect(stage.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    const vars = resourceOf(s, fn('ApiFunction').function).Properties.Environment.Variables;
    expect(vars).toMatchObject({ API_QUOTA_WATCHPOINTS_PER_KEY: '100', API_QUOTA_CHANNELS_PER_WATCHPOINT: '5', API_QUOTA_RECIPIENTS_PER_KEY: '20' });
    expect(resourceOf(s, fn('BatcherFunction').function).Properties.Environment.Variables).not.toHaveProperty('API_QUOTA_WATCHPOINTS_PER_KEY');
  });

  it('has no custom domain without domainName', () => {
    s.template.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
    s.template.resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 0);
  });
});

describe('alarms and metric filters', () => {
  const alarm = (id: string) => {
    const a = s.platform.alarms.alarms[id];
    if (!a) throw new Error(`no alarm ${id}`);
    return resourceOf(s, a).Properties;
  };
  const topicRef = () => ref(s.platform.alarms.alertTopic);

  it('every alarm notifies AlertSNSTopic', () => {
    const alarms = Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(10);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([topicRef()]);
      expect(a.Properties.EvaluationPeriods).toBe(1);
      expect(typeof a.Properties.AlarmDescription).toBe('string');
    }
  });

  it('stale-forecast alarms select ForecastReady by ForecastType', () => {
    expect(alarm('MediumRangeStaleAlarm')).toMatchObject({
      Namespace: 'WatchPoint',
      MetricName: 'ForecastReady',
      Dimensions: [{ Name: 'ForecastType', Value: 'medium_range' }],
      Statistic: 'Sum',
      Period: 28800,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(alarm('NowcastStaleAlarm')).toMatchObject({
      Namespace: 'WatchPoint',
      MetricName: 'ForecastReady',
      Dimensions: [{ Name: 'ForecastType', Value: 'nowcast' }],
      Statistic: 'Sum',
      Period: 1800,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('queue depth alarms, including the webhook queue and the DLQ', () => {
    const q = s.platform.queues;
    const depth: [string, IConstruct, number][] = [
      ['EvalQueueDepthAlarm', q.evalQueueStandard, 1000],
      ['EvalQueueUrgentDepthAlarm', q.evalQueueUrgent, 100],
      ['NotificationQueueDepthAlarm', q.notificationQueue, 500],
      ['WebhookNotificationQueueDepthAlarm', q.webhookNotificationQueue, 500],
      ['DeadLetterQueueNotEmptyAlarm', q.deadLetterQueue, 0],
    ];
    for (const [id, queue, threshold] of depth) {
      const props = alarm(id);
      expect(props, id).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue), 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 300,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      expect(props.TreatMissingData, id).toBe(id === 'DeadLetterQueueNotEmptyAlarm' ? 'notBreaching' : undefined);
    }
  });

  it('WatchPoint metric alarms: notification spike, suspicious key creation, corrupt forecast', () => {
    const common = { Namespace: 'WatchPoint', Statistic: 'Sum', Period: 300, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' };
    expect(alarm('NotificationSpikeAlarm')).toMatchObject({
      ...common,
      MetricName: 'DeliveryAttempt',
      Threshold: 1000,
      AlarmDescription:
        'Triggers when notification delivery attempts exceed 1000 in 5 minutes, indicating potential notification loop or spam.',
    });
    expect(alarm('SuspiciousKeyCreationAlarm')).toMatchObject({
      ...common,
      MetricName: 'APIKeyCreated',
      Threshold: 10,
      AlarmDescription: 'Triggers when API key creation exceeds 10 in 5 minutes, indicating potential account compromise or abuse.',
    });
    expect(alarm('CorruptForecastAlarm')).toMatchObject({ ...common, MetricName: 'CorruptForecast', Threshold: 0 });
    expect(alarm('CorruptForecastAlarm').AlarmDescription).toMatch(/^\*\*CRITICAL\*\*: Alerts on forecast data corruption/);
    for (const id of ['NotificationSpikeAlarm', 'SuspiciousKeyCreationAlarm', 'CorruptForecastAlarm']) {
      expect(alarm(id).Dimensions, id).toBeUndefined();
    }
  });

  it('ForecastReady is a JSON filter on the Batcher log group with a ForecastType dimension', () => {
    const filter = resourceOf(s, s.platform.alarms.forecastReadyMetricFilter).Properties;
    expect(filter).toEqual({
      LogGroupName: ref(fn('BatcherFunction').logGroup),
      FilterPattern: '{ $.event = "ForecastReady" }',
      MetricTransformations: [
        {
          MetricNamespace: 'WatchPoint',
          MetricName: 'ForecastReady',
          MetricValue: '1',
          Dimensions: [{ Key: 'ForecastType', Value: '$.forecast_type' }],
        },
      ],
    });
  });

  it('SecurityAbuse filter on the API log group', () => {
    expect(resourceOf(s, s.platform.alarms.securityAbuseMetricFilter).Properties).toEqual({
      LogGroupName: ref(fn('ApiFunction').logGroup),
      FilterPattern: '{ $.action = "apikey.created" }',
      MetricTransformations: [{ MetricNamespace: 'WatchPoint', MetricName: 'APIKeyCreated', MetricValue: '1' }],
    });
  });

  it('CorruptForecast filters on both eval worker log groups feed one metric', () => {
    const { urgent, standard } = s.platform.alarms.corruptForecastMetricFilters;
    for (const [filter, worker] of [[urgent, 'EvalWorkerUrgent'], [standard, 'EvalWorkerStandard']] as const) {
      expect(resourceOf(s, filter).Properties).toEqual({
        LogGroupName: ref(fn(worker).logGroup),
        FilterPattern: '"ZarrChecksumError"',
        MetricTransformations: [{ MetricNamespace: 'WatchPoint', MetricName: 'CorruptForecast', MetricValue: '1' }],
      });
    }
    s.template.resourceCountIs('AWS::Logs::MetricFilter', 4);
  });

  it('alert topic: email subscription, customer-managed rotating KMS key usable by CloudWatch, TLS-only', () => {
    const { alertTopic, alertTopicKey } = s.platform.alarms;
    expect(alertTopic.node.id).toBe('AlertSNSTopic');
    expect(resourceOf(s, alertTopic).Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [logicalId(alertTopicKey), 'Arn'] });
    s.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: topicRef() });
    const key = resourceOf(s, alertTopicKey).Properties;
    expect(key.EnableKeyRotation).toBe(true);
    expect(key.KeyPolicy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        }),
      ]),
    );
    s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topicRef()],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });
});

describe('stacks', () => {
  it('names, env, dependency and tags', () => {
    expect(s.platform.stackName).toBe('watchpoint-dev');
    expect(s.registry.stackName).toBe('watchpoint-dev-registry');
    expect(s.platform.region).toBe('eu-west-1');
    expect(s.platform.account).toBe('123456789012');
    expect(s.platform.dependencies).toContain(s.registry);
    s.template.hasResourceProperties('AWS::SQS::Queue', {
      Tags: Match.arrayWith([{ Key: 'app', Value: 'watchpoint' }, { Key: 'env', Value: 'dev' }]),
    });
    s.registryTemplate.hasResourceProperties('AWS::ECR::Repository', {
      Tags: Match.arrayWith([{ Key: 'app', Value: 'watchpoint' }, { Key: 'env', Value: 'dev' }]),
    });
  });

  it('registry stack: the eval-worker repository (immutable, scanned, last 10 images, retained) and the release ledger', () => {
    const resources = s.registryTemplate.toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string; Properties: any }>;
    expect(Object.values(resources).map((r) => r.Type).sort()).toEqual(['AWS::ECR::Repository', 'AWS::S3::Bucket', 'AWS::S3::BucketPolicy']);
    const repo = resources[logicalId(s.registry.evalWorkerRepository)]!;
    expect(repo.DeletionPolicy).toBe('Retain');
    expect(repo.Properties).toMatchObject({
      RepositoryName: 'watchpoint-dev-eval-worker',
      ImageTagMutability: 'IMMUTABLE',
      ImageScanningConfiguration: { ScanOnPush: true },
    });
    const policy = JSON.parse(repo.Properties.LifecyclePolicy.LifecyclePolicyText);
    expect(policy.rules).toEqual([
      expect.objectContaining({ selection: expect.objectContaining({ tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 10 }) }),
    ]);
    s.registryTemplate.hasOutput('EvalWorkerRepositoryUri', {});

    const ledger = resources[logicalId(s.registry.releaseLedger)]!;
    expect(ledger.DeletionPolicy).toBe('Retain');
    expect(ledger.Properties).toMatchObject({
      BucketName: { 'Fn::Join': ['', ['watchpoint-dev-ledger-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    s.registryTemplate.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    s.registryTemplate.hasOutput('ReleaseLedgerBucket', {});
  });

  it('platform outputs', () => {
    const q = s.platform.queues;
    const outputs = s.json.Outputs;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'AlertTopicArn',
        'ApiEndpoint',
        'ArchiveBucketName',
        'DeadLetterQueueUrl',
        'EvalQueueStandardUrl',
        'EvalQueueUrgentUrl',
        'ForecastBucketName',
        'NotificationQueueUrl',
        'RunPodUserArn',
        'WebhookNotificationQueueUrl',
      ].sort(),
    );
    expect(outputs.NotificationQueueUrl!.Value).toEqual(ref(q.notificationQueue));
    expect(outputs.WebhookNotificationQueueUrl!.Value).toEqual(ref(q.webhookNotificationQueue));
    expect(outputs.DeadLetterQueueUrl!.Value).toEqual(ref(q.deadLetterQueue));
    expect(outputs.ForecastBucketName!.Value).toEqual(ref(s.platform.storage.forecastBucket));
    expect(outputs.RunPodUserArn!.Value).toEqual({ 'Fn::GetAtt': [logicalId(s.platform.access.runPodServiceUser), 'Arn'] });
    expect(outputs.ApiEndpoint!.Value).toEqual({
      'Fn::Join': ['', ['https://', ref(s.platform.api.httpApi), '.execute-api.eu-west-1.amazonaws.com']],
    });
    // The platform stack must not import anything from the registry stack.
    expect(JSON.stringify(s.json)).not.toContain('Fn::ImportValue');
  });
});
