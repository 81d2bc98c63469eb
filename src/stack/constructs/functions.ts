import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StageConfig } from '../../config/schema.ts';
import { METRIC_NAMESPACE } from './alarms.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import type { Queues } from './queues.ts';
import { EVAL_WORKER_TIMEOUT, NOTIFICATION_WORKER_TIMEOUT } from './queues.ts';
import type { Storage } from './storage.ts';
import { FUNCTION_HANDLERS } from '../bundling/handlers.ts';

export { FUNCTION_HANDLERS };
import { LIVE_ALIAS, type ShiftedFunction } from '../deployment-names.ts';
import { WatchPointFunction, createFunctionLogGroupAndRole, type ZipCode } from './watchpoint-function.ts';

export interface FunctionsProps {
  readonly envName: string;
  readonly stage: StageConfig;
  readonly imageTag: string;
  readonly apiExternalUrl: string;
  readonly queues: Queues;
  readonly storage: Storage;
  readonly evalWorkerRepository: ecr.IRepository;
  /** The zip functions' code: prebuilt bundles, or unbundled sources when bundling is skipped. */
  readonly zipCode: ZipCode;
}

/** The RunPod serverless API the DataPoller calls (an env var, so tests and other regions can point elsewhere). */
export const RUNPOD_API_BASE_URL = 'https://api.runpod.ai/v2';


/** SSM parameter paths from spec 03-config, relative to /<env>/watchpoint/. */
const SSM_PARAMETERS = {
  DATABASE_URL_SSM_PARAM: 'database/url',
  STRIPE_SECRET_KEY_SSM_PARAM: 'billing/stripe_secret_key',
  STRIPE_WEBHOOK_SECRET_SSM_PARAM: 'billing/stripe_webhook_secret',
  STRIPE_PUBLISHABLE_KEY_SSM_PARAM: 'billing/stripe_publishable_key',
  RUNPOD_API_KEY_SSM_PARAM: 'forecast/runpod_api_key',
  SESSION_KEY_SSM_PARAM: 'auth/session_key',
  ADMIN_API_KEY_SSM_PARAM: 'security/admin_api_key',
  GOOGLE_CLIENT_SECRET_SSM_PARAM: 'auth/google_secret',
  GITHUB_CLIENT_SECRET_SSM_PARAM: 'auth/github_secret',
} as const;

/** The environment every function gets (the spec's Globals, plus the per-channel notification queues). */
export function globalEnvironment(props: FunctionsProps): Record<string, string> {
  const { envName, stage, queues } = props;
  const ssm = Object.fromEntries(
    Object.entries(SSM_PARAMETERS).map(([name, rest]) => [name, `/${envName}/watchpoint/${rest}`]),
  );
  return {
    APP_ENV: envName,
    ...(stage.awsEndpointUrl === '' ? {} : { AWS_ENDPOINT_URL: stage.awsEndpointUrl }),
    API_EXTERNAL_URL: props.apiExternalUrl,
    ...ssm,
    RUNPOD_ENDPOINT_ID: stage.runPodEndpointId,
    GOOGLE_CLIENT_ID: stage.googleClientId,
    GITHUB_CLIENT_ID: stage.githubClientId,
    METRIC_NAMESPACE,
    SQS_EVAL_URGENT: queues.evalQueueUrgent.queueUrl,
    SQS_EVAL_STANDARD: queues.evalQueueStandard.queueUrl,
    // SQS_NOTIFICATIONS is the spec's name for the email queue; producers should use the
    // per-channel variables below and route each notification by its channel.
    SQS_NOTIFICATIONS: queues.notificationQueue.queueUrl,
    SQS_NOTIFICATIONS_EMAIL: queues.notificationQueue.queueUrl,
    SQS_NOTIFICATIONS_WEBHOOK: queues.webhookNotificationQueue.queueUrl,
    SQS_DLQ: queues.deadLetterQueue.queueUrl,
  };
}

/** A function as the rest of the stack sees it, whether zip (Node) or container image. */
export interface DeployedFunction {
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;
}

interface EvalWorkerProps {
  readonly repository: ecr.IRepository;
  readonly imageTag: string;
  readonly environment: Record<string, string>;
  readonly reservedConcurrentExecutions?: number;
}

/** A container-image eval worker: 1024 MB, 300 s, arm64, active tracing, 30-day log group. */
class EvalWorkerFunction extends Construct implements DeployedFunction {
  public readonly function: lambda.DockerImageFunction;
  public readonly logGroup: logs.LogGroup;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: EvalWorkerProps) {
    super(scope, id);
    const { logGroup, role } = createFunctionLogGroupAndRole(this);
    this.logGroup = logGroup;
    this.role = role;
    this.function = new lambda.DockerImageFunction(this, 'Function', {
      code: lambda.DockerImageCode.fromEcr(props.repository, { tagOrDigest: props.imageTag }),
      architecture: lambda.Architecture.ARM_64,
      memorySize: 1024,
      timeout: EVAL_WORKER_TIMEOUT,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      role,
      environment: props.environment,
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
    });
  }
}

/** Every Lambda function of the platform, with its triggers and exactly the permissions the spec gives it. */
export class Functions extends Construct {
  public readonly apiFunction: WatchPointFunction;
  public readonly batcherFunction: WatchPointFunction;
  public readonly dataPollerFunction: WatchPointFunction;
  public readonly archiverFunction: WatchPointFunction;
  public readonly emailWorkerFunction: WatchPointFunction;
  public readonly webhookWorkerFunction: WatchPointFunction;
  public readonly evalWorkerUrgent: DeployedFunction;
  public readonly evalWorkerUrgentLiveAlias: lambda.Alias;
  public readonly evalWorkerStandard: DeployedFunction;
  /**
   * The `live` alias of each function whose traffic CodeDeploy shifts (constructs/deployment.ts):
   * its trigger (the API route, the SQS event source mapping) invokes the alias, so the alias's
   * weights decide which version runs.
   */
  public readonly liveAliases: Readonly<Record<ShiftedFunction, lambda.Alias>>;
  public readonly dataPollerSchedule: events.Rule;
  public readonly archiverRules: Readonly<Record<'ArchiveRule' | 'DigestRule' | 'BillingRule' | 'CleanupRule', events.Rule>>;

  private readonly envName: string;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    this.envName = props.envName;
    const { queues, storage } = props;
    const environment = globalEnvironment(props);
    const zipFunction = (fnId: Exclude<keyof typeof FUNCTION_HANDLERS, 'EvalWorkerUrgent' | 'EvalWorkerStandard'>, timeout?: Duration, extraEnv: Record<string, string> = {}) =>
      new WatchPointFunction(this, fnId, {
        handlerName: FUNCTION_HANDLERS[fnId],
        code: props.zipCode,
        environment: { ...environment, ...extraEnv },
        ...(timeout === undefined ? {} : { timeout }),
      });

    // --- Orchestration layer -----------------------------------------------------------------------
    this.apiFunction = zipFunction('ApiFunction', undefined, {
      // Per-key quotas (stage settings; an API key may carry its own). docs/api.md, "Quotas".
      API_QUOTA_WATCHPOINTS_PER_KEY: String(props.stage.quotaWatchpointsPerKey),
      API_QUOTA_CHANNELS_PER_WATCHPOINT: String(props.stage.quotaChannelsPerWatchpoint),
      API_QUOTA_RECIPIENTS_PER_KEY: String(props.stage.quotaRecipientsPerKey),
    });
    this.allowSsmRead(this.apiFunction, '');
    this.allowNotificationSend(this.apiFunction, queues);
    this.allowSesSend(this.apiFunction);

    this.batcherFunction = zipFunction('BatcherFunction');
    queues.evalQueueUrgent.grantSendMessages(this.batcherFunction.function);
    queues.evalQueueStandard.grantSendMessages(this.batcherFunction.function);
    this.allowSsmRead(this.batcherFunction, 'database/');
    // Reads <type>/<run>/manifest.json of the run whose _SUCCESS triggered it (issue 8).
    this.allowS3Read(this.batcherFunction, storage.forecastBucket);
    storage.forecastBucket.addEventNotification(
      s3.EventType.OBJECT_CREATED,
      new s3n.LambdaDestination(this.batcherFunction.function),
      { suffix: '_SUCCESS' },
    );

    this.dataPollerFunction = zipFunction('DataPollerFunction', Duration.seconds(60), {
      // The poller checks <type>/<run>/_SUCCESS with HeadObject (s3:GetObject, granted below) (issue 10).
      FORECAST_BUCKET: storage.forecastBucket.bucketName,
      RUNPOD_API_BASE_URL,
    });
    this.allowS3Read(this.dataPollerFunction, storage.forecastBucket);
    this.allowSsmRead(this.dataPollerFunction, 'forecast/');
    this.allowSsmRead(this.dataPollerFunction, 'database/');
    this.dataPollerSchedule = new events.Rule(this, 'DataPollerSchedule', {
      description: 'Polls RunPod for forecast job status',
      schedule: events.Schedule.rate(Duration.minutes(15)),
      targets: [new targets.LambdaFunction(this.dataPollerFunction.function)],
    });

    this.archiverFunction = zipFunction('ArchiverFunction', Duration.seconds(60), {
      ARCHIVE_BUCKET: storage.archiveBucket.bucketName,
    });
    this.allowSsmRead(this.archiverFunction, '');
    this.allowNotificationSend(this.archiverFunction, queues);
    this.allowArchiveWrite(this.archiverFunction, storage.archiveBucket);
    const archiverRule = (ruleId: string, schedule: events.Schedule, task: string): events.Rule =>
      new events.Rule(this, ruleId, {
        description: `Runs the archiver's ${task} task`,
        schedule,
        targets: [
          new targets.LambdaFunction(this.archiverFunction.function, {
            event: events.RuleTargetInput.fromObject({ task }),
          }),
        ],
      });
    this.archiverRules = {
      ArchiveRule: archiverRule('ArchiveRule', events.Schedule.rate(Duration.minutes(15)), 'archive'),
      DigestRule: archiverRule('DigestRule', events.Schedule.rate(Duration.minutes(1)), 'digest_trigger'),
      BillingRule: archiverRule('BillingRule', events.Schedule.expression('cron(0 0 * * ? *)'), 'billing_sync'),
      CleanupRule: archiverRule('CleanupRule', events.Schedule.expression('cron(0 2 * * ? *)'), 'cleanup'),
    };

    // --- Processing layer (container images) -------------------------------------------------------
    this.evalWorkerUrgent = new EvalWorkerFunction(this, 'EvalWorkerUrgent', {
      repository: props.evalWorkerRepository,
      imageTag: props.imageTag,
      environment,
    });
    this.evalWorkerUrgentLiveAlias = this.evalWorkerUrgent.function.addAlias(LIVE_ALIAS, {
      provisionedConcurrentExecutions: 5,
    });
    this.evalWorkerUrgentLiveAlias.addEventSource(
      new SqsEventSource(queues.evalQueueUrgent, { batchSize: 1, reportBatchItemFailures: true }),
    );

    this.evalWorkerStandard = new EvalWorkerFunction(this, 'EvalWorkerStandard', {
      repository: props.evalWorkerRepository,
      imageTag: props.imageTag,
      environment,
      reservedConcurrentExecutions: 50,
    });
    const evalWorkerStandardLiveAlias = this.evalWorkerStandard.function.addAlias(LIVE_ALIAS);
    evalWorkerStandardLiveAlias.addEventSource(
      new SqsEventSource(queues.evalQueueStandard, { batchSize: 10, reportBatchItemFailures: true }),
    );
    for (const worker of [this.evalWorkerUrgent, this.evalWorkerStandard]) {
      this.allowS3Read(worker, storage.forecastBucket);
      this.allowSsmRead(worker, 'database/');
      this.allowNotificationSend(worker, queues);
      // A corrupt tile cannot be fixed by a retry: the worker parks its job in the DLQ directly (issue 8).
      queues.deadLetterQueue.grantSendMessages(worker.function);
    }

    // --- Notification layer: one queue per consumer, no event filters -----------------------------
    // The sender address is a plain (non-secret) SSM String the operator sets once the SES identity is verified (issue 9).
    this.emailWorkerFunction = zipFunction('EmailWorkerFunction', NOTIFICATION_WORKER_TIMEOUT, {
      EMAIL_SENDER_SSM_PARAM: `/${props.envName}/watchpoint/email/sender`,
    });
    const emailWorkerLiveAlias = this.emailWorkerFunction.function.addAlias(LIVE_ALIAS);
    emailWorkerLiveAlias.addEventSource(
      new SqsEventSource(queues.notificationQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    this.allowSsmRead(this.emailWorkerFunction, '');
    this.allowSesSend(this.emailWorkerFunction);

    this.webhookWorkerFunction = zipFunction('WebhookWorkerFunction', NOTIFICATION_WORKER_TIMEOUT);
    const webhookWorkerLiveAlias = this.webhookWorkerFunction.function.addAlias(LIVE_ALIAS);
    webhookWorkerLiveAlias.addEventSource(
      new SqsEventSource(queues.webhookNotificationQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    this.allowSsmRead(this.webhookWorkerFunction, '');

    this.liveAliases = {
      // The HTTP API's route invokes this alias (PlatformStack routes it).
      ApiFunction: this.apiFunction.function.addAlias(LIVE_ALIAS),
      EmailWorkerFunction: emailWorkerLiveAlias,
      WebhookWorkerFunction: webhookWorkerLiveAlias,
      EvalWorkerUrgent: this.evalWorkerUrgentLiveAlias,
      EvalWorkerStandard: evalWorkerStandardLiveAlias,
    };

    for (const fn of this.all()) {
      // Lambda adds X-Ray write permissions for active tracing; X-Ray has no resource-level permissions.
      Validations.of(fn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions, so Resource must be "*".',
      });
    }
    this.acknowledgeBucketNotificationsHandler();
  }

  /** All functions, zip and image. */
  all(): DeployedFunction[] {
    return [
      this.apiFunction,
      this.batcherFunction,
      this.dataPollerFunction,
      this.archiverFunction,
      this.emailWorkerFunction,
      this.webhookWorkerFunction,
      this.evalWorkerUrgent,
      this.evalWorkerStandard,
    ];
  }

  /** ssm:GetParameter* under /<env>/watchpoint/<subPath>* (subPath '' = every WatchPoint parameter). */
  private allowSsmRead(fn: DeployedFunction, subPath: string): void {
    const parameters = Stack.of(this).formatArn({
      service: 'ssm',
      resource: 'parameter',
      resourceName: `${this.envName}/watchpoint/${subPath}*`,
    });
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
        resources: [parameters],
      }),
    );
    acknowledgeWildcardResource(
      fn.role,
      parameters,
      `Reads the SSM parameters under /${this.envName}/watchpoint/${subPath} (spec 04 section 5), scoped to this environment's WatchPoint path; parameter names are not known at synth time.`,
    );
  }

  private allowNotificationSend(fn: DeployedFunction, queues: Queues): void {
    const producerQueues: sqs.IQueue[] = [queues.notificationQueue, queues.webhookNotificationQueue];
    for (const queue of producerQueues) queue.grantSendMessages(fn.function);
  }

  /** SES sending from identities (verified domains/addresses) of this account and region only. */
  private allowSesSend(fn: DeployedFunction): void {
    const identities = Stack.of(this).formatArn({ service: 'ses', resource: 'identity', resourceName: '*' });
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ses:SendEmail', 'ses:SendRawEmail'], resources: [identities] }),
    );
    acknowledgeWildcardResource(
      fn.role,
      identities,
      'Sends email from any SES identity verified in this account and region; the sender identities are set up by hand (spec 13) and are not known at synth time. Other accounts and regions are excluded.',
    );
  }

  private allowS3Read(fn: DeployedFunction, bucket: s3.IBucket): void {
    const objects = bucket.arnForObjects('*');
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [objects] }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket', 's3:GetBucketLocation'], resources: [bucket.bucketArn] }),
    );
    acknowledgeWildcardResource(
      fn.role,
      objects,
      'Reads forecast objects (Zarr chunks) whose keys are generated per forecast run, so every key of ForecastBucket must be readable; read-only.',
    );
  }

  private allowArchiveWrite(fn: DeployedFunction, bucket: s3.IBucket): void {
    const objects = bucket.arnForObjects('*');
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: [objects],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket', 's3:GetBucketLocation'], resources: [bucket.bucketArn] }),
    );
    acknowledgeWildcardResource(
      fn.role,
      objects,
      'Writes audit-log archives under date-based keys generated at run time (spec S3CrudPolicy on ArchiveBucket), so it needs every key of ArchiveBucket; no other bucket.',
    );
  }

  /**
   * The S3 -> Batcher trigger is configured by CDK's BucketNotificationsHandler custom resource (a
   * singleton at stack level), which is CDK-owned code we cannot change.
   */
  private acknowledgeBucketNotificationsHandler(): void {
    const stack = Stack.of(this);
    for (const child of stack.node.children) {
      if (!child.node.id.startsWith('BucketNotificationsHandler')) continue;
      Validations.of(child).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          'CDK-managed BucketNotificationsHandler that configures the ForecastBucket -> BatcherFunction trigger at deploy time; CDK fixes its role to the basic execution managed policy (CloudWatch Logs only) and offers no way to replace it.',
      });
    }
  }
}
