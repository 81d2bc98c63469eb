import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { DeploymentStyle } from '../../config/schema.ts';
import {
  EVAL_WORKERS,
  LIVE_ALIAS,
  SHIFTED_FUNCTIONS,
  SHIFT_METRICS,
  codeDeployApplicationName,
  deploymentGroupName,
  shiftAlarmName,
  type ShiftedFunction,
} from '../deployment-names.ts';

export interface GradualDeploymentProps {
  readonly envName: string;
  /** The stage's `deployment`, resolved to its default (all-at-once stages have no GradualDeployment). */
  readonly style: Exclude<DeploymentStyle, 'all-at-once'>;
  /** `deploy --all-at-once`: this deploy shifts in one step and ignores the alarms (the groups stay). */
  readonly allAtOnce: boolean;
  readonly aliases: Readonly<Record<ShiftedFunction, lambda.Alias>>;
  /** The spec's CorruptForecastAlarm: it also stops an eval worker's shift. */
  readonly corruptForecastAlarm: cloudwatch.IAlarm;
}

const CONFIGS: Readonly<Record<DeploymentStyle, codedeploy.ILambdaDeploymentConfig>> = {
  'all-at-once': codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
  canary: codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
  linear: codedeploy.LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_1MINUTE,
};

/**
 * Gradual deployment (issue 21 part 4): one CodeDeploy deployment group per `live` alias. When a
 * stack update publishes a new version, CloudFormation hands the alias update to CodeDeploy
 * (the alias's CodeDeployLambdaAliasUpdate policy), which shifts traffic by the stage's style and
 * moves it all back when one of the group's alarms fires. `deploy` follows it (src/cli/deploy/shift.ts).
 */
export class GradualDeployment extends Construct {
  public readonly application: codedeploy.LambdaApplication;
  public readonly serviceRole: iam.Role;
  public readonly groups: Readonly<Record<ShiftedFunction, codedeploy.LambdaDeploymentGroup>>;
  /** The new-version Errors and Throttles alarms of each function. */
  public readonly shiftAlarms: Readonly<Record<ShiftedFunction, readonly cloudwatch.Alarm[]>>;

  constructor(scope: Construct, id: string, props: GradualDeploymentProps) {
    super(scope, id);
    const { envName } = props;
    this.application = new codedeploy.LambdaApplication(this, 'Application', {
      applicationName: codeDeployApplicationName(envName),
    });
    // One role for every group (each group would otherwise make its own).
    this.serviceRole = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('codedeploy.amazonaws.com'),
      description: `CodeDeploy shifts traffic between versions of the WatchPoint ${envName} functions`,
    });
    Validations.of(this.serviceRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]',
      reason:
        "CodeDeploy's own managed policy for Lambda deployments, which the CDK's LambdaDeploymentGroup attaches: it lets CodeDeploy read and update function aliases, read alarm states and publish to SNS topics named CodeDeployTopic*; AWS maintains it as the Lambda deployment API changes.",
    });

    const groups = {} as Record<ShiftedFunction, codedeploy.LambdaDeploymentGroup>;
    const shiftAlarms = {} as Record<ShiftedFunction, cloudwatch.Alarm[]>;
    for (const fnId of SHIFTED_FUNCTIONS) {
      const alias = props.aliases[fnId];
      const functionName = alias.version.lambda.functionName;
      const alarms = SHIFT_METRICS.map(
        (metricName) =>
          new cloudwatch.Alarm(this, `${fnId}NewVersion${metricName}`, {
            alarmName: shiftAlarmName(envName, fnId, metricName),
            alarmDescription: `${metricName} of the version of ${fnId} that a deployment is shifting the ${LIVE_ALIAS} alias to; CodeDeploy stops the shift and moves all traffic back to the previous version when it fires.`,
            // Invocations through the alias, of the new version only (ExecutedVersion): the old
            // version's errors during the shift do not stop it.
            metric: new cloudwatch.Metric({
              namespace: 'AWS/Lambda',
              metricName,
              dimensionsMap: { FunctionName: functionName, Resource: `${functionName}:${LIVE_ALIAS}`, ExecutedVersion: alias.version.version },
              statistic: cloudwatch.Stats.SUM,
              period: Duration.minutes(1),
            }),
            threshold: 0,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
      );
      shiftAlarms[fnId] = alarms;
      const group = new codedeploy.LambdaDeploymentGroup(this, fnId, {
        application: this.application,
        deploymentGroupName: deploymentGroupName(envName, fnId),
        alias,
        deploymentConfig: CONFIGS[props.allAtOnce ? 'all-at-once' : props.style],
        role: this.serviceRole,
        alarms: [...alarms, ...(EVAL_WORKERS.includes(fnId) ? [props.corruptForecastAlarm] : [])],
        // An emergency fix must not be stopped by an alarm the broken version set off.
        ...(props.allAtOnce ? { ignoreAlarmConfiguration: true } : {}),
        // Any failed, stopped or alarmed shift puts the previous version back at 100% (no alarm
        // rollback while the alarms are ignored for --all-at-once).
        autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: !props.allAtOnce },
      });
      // The group (its configuration and alarms) is updated before CloudFormation hands the alias to
      // CodeDeploy, so `deploy --all-at-once` and a changed `deployment` apply to this very update.
      alias.node.addDependency(group);
      groups[fnId] = group;
    }
    this.groups = groups;
    this.shiftAlarms = shiftAlarms;
  }
}
