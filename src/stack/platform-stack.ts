import { CfnOutput, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import type { Construct } from 'constructs';
import { deploymentStyleFor, type AppStage } from '../config/schema.ts';
import { Access } from './constructs/access.ts';
import { Alarms } from './constructs/alarms.ts';
import { Api } from './constructs/api.ts';
import { GradualDeployment } from './constructs/deployment.ts';
import { Functions } from './constructs/functions.ts';
import type { ZipCode } from './constructs/watchpoint-function.ts';
import { Queues } from './constructs/queues.ts';
import { Storage } from './constructs/storage.ts';
import { evalWorkerRepositoryName } from './registry-stack.ts';

export interface PlatformStackProps extends StackProps {
  readonly envName: string;
  readonly stage: AppStage;
  readonly imageTag: string;
  /** The zip functions' code (see createPlatformApp). */
  readonly zipCode: ZipCode;
}

/** Everything of spec 04 except the image repository (see RegistryStack). */
export class PlatformStack extends Stack {
  public readonly queues: Queues;
  public readonly storage: Storage;
  public readonly api: Api;
  public readonly functions: Functions;
  public readonly alarms: Alarms;
  public readonly access: Access;
  /** Only when the stage shifts gradually (canary or linear); all-at-once stages have no CodeDeploy resources. */
  public readonly deployment: GradualDeployment | undefined;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    const { envName, stage } = props;

    this.queues = new Queues(this, 'Queues');
    this.storage = new Storage(this, 'Storage');
    this.api = new Api(this, 'Api', {
      corsAllowedOrigins: stage.corsAllowedOrigins,
      domainName: stage.domainName,
      certificateArn: stage.certificateArn,
      throttle: { rateLimit: stage.apiThrottleRate, burstLimit: stage.apiThrottleBurst },
    });

    // By name, not by cross-stack export: the registry stack can then change without being pinned.
    const evalWorkerRepository = ecr.Repository.fromRepositoryName(
      this,
      'EvalWorkerRepository',
      evalWorkerRepositoryName(envName),
    );
    this.functions = new Functions(this, 'Functions', {
      envName,
      stage,
      imageTag: props.imageTag,
      apiExternalUrl: this.api.externalUrl,
      queues: this.queues,
      storage: this.storage,
      evalWorkerRepository,
      zipCode: props.zipCode,
    });
    // Through the alias, so a gradual deployment's weights apply to API requests too.
    this.api.routeToApiFunction(this.functions.liveAliases.ApiFunction);

    this.alarms = new Alarms(this, 'Alarms', {
      envName,
      alertEmail: stage.alertEmail,
      batcherLogGroup: this.functions.batcherFunction.logGroup,
      apiLogGroup: this.functions.apiFunction.logGroup,
      evalWorkerUrgentLogGroup: this.functions.evalWorkerUrgent.logGroup,
      evalWorkerStandardLogGroup: this.functions.evalWorkerStandard.logGroup,
      evalQueueUrgent: this.queues.evalQueueUrgent,
      evalQueueStandard: this.queues.evalQueueStandard,
      notificationQueue: this.queues.notificationQueue,
      webhookNotificationQueue: this.queues.webhookNotificationQueue,
      deadLetterQueue: this.queues.deadLetterQueue,
    });

    this.access = new Access(this, 'Access', { forecastBucket: this.storage.forecastBucket });

    const style = deploymentStyleFor(envName, stage);
    const corruptForecastAlarm = this.alarms.alarms.CorruptForecastAlarm;
    if (!corruptForecastAlarm) throw new Error('Alarms has no CorruptForecastAlarm');
    // All-at-once stages move the aliases with the stack update itself: no CodeDeploy, no shift alarms.
    this.deployment = style === 'all-at-once'
      ? undefined
      : new GradualDeployment(this, 'Deployment', {
        envName,
        style,
        allAtOnce: stage.allAtOnce === true,
        aliases: this.functions.liveAliases,
        corruptForecastAlarm,
      });

    const outputs: Record<string, { value: string; description: string }> = {
      ApiEndpoint: { value: this.api.externalUrl, description: 'URL of the HTTP API (the custom domain when set)' },
      ForecastBucketName: { value: this.storage.forecastBucket.bucketName, description: 'Forecast bucket' },
      ArchiveBucketName: { value: this.storage.archiveBucket.bucketName, description: 'Archive bucket (cold storage)' },
      RunPodUserArn: { value: this.access.runPodServiceUser.userArn, description: 'IAM user for RunPod uploads' },
      NotificationQueueUrl: { value: this.queues.notificationQueue.queueUrl, description: 'Email notification queue' },
      WebhookNotificationQueueUrl: {
        value: this.queues.webhookNotificationQueue.queueUrl,
        description: 'Webhook notification queue',
      },
      EvalQueueUrgentUrl: { value: this.queues.evalQueueUrgent.queueUrl, description: 'Urgent evaluation queue' },
      EvalQueueStandardUrl: { value: this.queues.evalQueueStandard.queueUrl, description: 'Standard evaluation queue' },
      DeadLetterQueueUrl: { value: this.queues.deadLetterQueue.queueUrl, description: 'Shared dead-letter queue' },
      AlertTopicArn: { value: this.alarms.alertTopic.topicArn, description: 'SNS topic every alarm notifies' },
    };
    const domain = this.api.customDomain;
    if (domain) {
      // What DNS for the custom domain must point at: a CNAME to the regional name, or a Route 53
      // alias to it in API Gateway's hosted zone. deploy prints both.
      outputs.ApiDomainTarget = { value: domain.regionalDomainName, description: `Point DNS for ${stage.domainName} here (CNAME, or a Route 53 alias)` };
      outputs.ApiDomainHostedZoneId = { value: domain.regionalHostedZoneId, description: 'Hosted zone of ApiDomainTarget, for a Route 53 alias record' };
    }
    for (const [outputId, output] of Object.entries(outputs)) new CfnOutput(this, outputId, output);
  }
}
