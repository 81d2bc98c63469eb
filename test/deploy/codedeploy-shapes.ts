// CodeDeploy as its API reference shows one Lambda deployment (ApiFunction, version 7 -> 8), for
// aws-sdk-client-mock. Used where no local server serves a traffic shift (moto 5.2.1 does not:
// test/deploy/shift.test.ts says what was checked): test/deploy/shift.test.ts and shift-deploy.test.ts.
import {
  BatchGetDeploymentTargetsCommand,
  BatchGetDeploymentsCommand,
  CodeDeployClient,
  GetDeploymentConfigCommand,
  ListDeploymentTargetsCommand,
  ListDeploymentsCommand,
  type DeploymentInfo,
} from '@aws-sdk/client-codedeploy';
import { PutMetricAlarmCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { AwsStub } from 'aws-sdk-client-mock';
import { codeDeployApplicationName, deploymentGroupName, shiftAlarmNames, type ShiftedFunction } from '../../src/stack/deployment-names.ts';

export const CANARY = 'CodeDeployDefault.LambdaCanary10Percent5Minutes';

type CodeDeployStub = AwsStub<any, any, CodeDeployClient['config']>;

/**
 * ApiFunction's group lists `d-API1` (and `rollbacks`, CodeDeploy's own rollback deployments, which
 * succeeded); every other group lists none. The target is at `weight`, traffic started at `shiftStart`.
 */
export function mockApiShift(codedeploy: CodeDeployStub, envName: string, deployment: Partial<DeploymentInfo>, options: { weight?: number; shiftStart?: Date; rollbacks?: string[] } = {}): void {
  const shiftStart = options.shiftStart ?? new Date();
  const rollbacks = options.rollbacks ?? [];
  codedeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
  codedeploy.on(ListDeploymentsCommand, { deploymentGroupName: deploymentGroupName(envName, 'ApiFunction') }).resolves({ deployments: [...rollbacks, 'd-API1'] });
  codedeploy.on(BatchGetDeploymentsCommand).resolves({
    deploymentsInfo: [
      ...rollbacks.map((id): DeploymentInfo => ({ deploymentId: id, creator: 'codeDeployRollback', status: 'Succeeded', deploymentConfigName: CANARY, createTime: new Date(shiftStart.getTime() + 60_000) })),
      {
        deploymentId: 'd-API1', applicationName: codeDeployApplicationName(envName), deploymentGroupName: deploymentGroupName(envName, 'ApiFunction'),
        deploymentConfigName: CANARY, computePlatform: 'Lambda', creator: 'CloudFormation', createTime: new Date(shiftStart.getTime() - 20_000), ...deployment,
      },
    ],
  });
  codedeploy.on(GetDeploymentConfigCommand, { deploymentConfigName: CANARY }).resolves({
    deploymentConfigInfo: { deploymentConfigName: CANARY, computePlatform: 'Lambda', trafficRoutingConfig: { type: 'TimeBasedCanary', timeBasedCanary: { canaryPercentage: 10, canaryInterval: 5 } } },
  });
  const targetId = `watchpoint-${envName}-ApiFunction:live`;
  codedeploy.on(ListDeploymentTargetsCommand, { deploymentId: 'd-API1' }).resolves({ targetIds: [targetId] });
  codedeploy.on(BatchGetDeploymentTargetsCommand, { deploymentId: 'd-API1' }).resolves({
    deploymentTargets: [{
      deploymentTargetType: 'LambdaTarget',
      lambdaTarget: {
        deploymentId: 'd-API1', targetId, status: 'InProgress',
        lifecycleEvents: [
          { lifecycleEventName: 'BeforeAllowTraffic', status: 'Succeeded', startTime: new Date(shiftStart.getTime() - 15_000), endTime: new Date(shiftStart.getTime() - 14_000) },
          { lifecycleEventName: 'AllowTraffic', status: 'InProgress', startTime: shiftStart },
        ],
        lambdaFunctionInfo: { functionName: `watchpoint-${envName}-ApiFunction`, functionAlias: 'live', currentVersion: '7', targetVersion: '8', targetVersionWeight: options.weight ?? 0.1 },
      },
    }],
  });
}

/** The groups' alarms as real CloudWatch alarms (moto): they start OK there; tests move them with SetAlarmState. */
export async function createShiftAlarms(cloudwatch: CloudWatchClient, envName: string, fns: ShiftedFunction[]): Promise<void> {
  for (const name of new Set(fns.flatMap((fn) => shiftAlarmNames(envName, fn)))) {
    await cloudwatch.send(new PutMetricAlarmCommand({
      AlarmName: name, Namespace: 'AWS/Lambda', MetricName: 'Errors', Statistic: 'Sum', Period: 60, EvaluationPeriods: 1, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold',
    }));
  }
}
