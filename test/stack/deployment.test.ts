// Gradual deployment (issue 21 part 4): the `live` aliases, one CodeDeploy deployment group per alias
// with the stage's style, the alarms that stop a shift, and the names `deploy` reads back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import {
  SHIFTED_FUNCTIONS,
  codeDeployApplicationName,
  corruptForecastAlarmName,
  deploymentGroupName,
  shiftAlarmName,
  shiftAlarmNames,
} from '../../src/stack/deployment-names.ts';
import { logicalId, removeOutdirs, synth, type Synthesized } from './fixture.ts';

afterAll(removeOutdirs);

// dev is all-at-once by default (no CodeDeploy); prod is canary by default.
let dev: Synthesized;
let prod: Synthesized;
beforeAll(() => {
  dev = synth();
  prod = synth({}, { envName: 'prod' });
});
const gradual = (s: Synthesized) => {
  if (!s.platform.deployment) throw new Error('no GradualDeployment in this stack');
  return s.platform.deployment;
};

const ref = (s: Synthesized, c: Parameters<typeof logicalId>[0]) => ({ Ref: logicalId(c) });
const groupsOf = (s: Synthesized) => Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::CodeDeploy::DeploymentGroup');
const configsOf = (s: Synthesized) => [...new Set(groupsOf(s).map((g) => g.Properties.DeploymentConfigName))];

describe('gradual deployment in the stack', () => {
  it('an all-at-once stage (dev\'s default) has the aliases but no CodeDeploy resources and no shift alarms', () => {
    expect(dev.platform.deployment).toBeUndefined();
    dev.template.resourceCountIs('AWS::CodeDeploy::Application', 0);
    dev.template.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 0);
    dev.template.resourceCountIs('AWS::CloudWatch::Alarm', 10);
    dev.template.resourceCountIs('AWS::Lambda::Alias', 5);
  });

  it('gives the API, both notification workers and both eval workers a live alias', () => {
    const f = dev.platform.functions;
    const owners = {
      ApiFunction: f.apiFunction.function,
      EmailWorkerFunction: f.emailWorkerFunction.function,
      WebhookWorkerFunction: f.webhookWorkerFunction.function,
      EvalWorkerUrgent: f.evalWorkerUrgent.function,
      EvalWorkerStandard: f.evalWorkerStandard.function,
    };
    dev.template.resourceCountIs('AWS::Lambda::Alias', 5);
    for (const fnId of SHIFTED_FUNCTIONS) {
      const alias = dev.json.Resources[logicalId(f.liveAliases[fnId])]!;
      expect(alias.Properties, fnId).toMatchObject({ Name: 'live', FunctionName: ref(dev, owners[fnId]) });
    }
  });

  it('one CodeDeploy application and one deployment group per alias, under the names deploy reads', () => {
    prod.template.resourceCountIs('AWS::CodeDeploy::Application', 1);
    prod.template.hasResourceProperties('AWS::CodeDeploy::Application', { ApplicationName: codeDeployApplicationName('prod'), ComputePlatform: 'Lambda' });
    expect(groupsOf(prod).map((g) => g.Properties.DeploymentGroupName).sort()).toEqual(SHIFTED_FUNCTIONS.map((fn) => deploymentGroupName('prod', fn)).sort());
    for (const group of groupsOf(prod)) {
      expect(group.Properties).toMatchObject({
        ApplicationName: ref(prod, gradual(prod).application),
        DeploymentStyle: { DeploymentType: 'BLUE_GREEN', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
        ServiceRoleArn: { 'Fn::GetAtt': [logicalId(gradual(prod).serviceRole), 'Arn'] },
      });
    }
  });

  it('each alias is updated by CodeDeploy (UpdatePolicy), after its group', () => {
    const { functions } = prod.platform;
    const deployment = gradual(prod);
    for (const fnId of SHIFTED_FUNCTIONS) {
      const aliasId = logicalId(functions.liveAliases[fnId]);
      const alias = prod.template.toJSON().Resources[aliasId];
      expect(alias.UpdatePolicy, fnId).toEqual({
        CodeDeployLambdaAliasUpdate: {
          ApplicationName: ref(prod, deployment.application),
          DeploymentGroupName: ref(prod, deployment.groups[fnId]),
        },
      });
      expect(alias.DependsOn, fnId).toContain(logicalId(deployment.groups[fnId]));
    }
  });

  it('each group stops and rolls back on its alarms: new-version errors and throttles, plus CorruptForecast for the eval workers', () => {
    for (const fnId of SHIFTED_FUNCTIONS) {
      const group = prod.json.Resources[logicalId(gradual(prod).groups[fnId])]!;
      const names = (group.Properties.AlarmConfiguration.Alarms as { Name: unknown }[]).map((a) => a.Name);
      const expected = shiftAlarmNames('prod', fnId);
      expect(names.length, fnId).toBe(expected.length);
      // The names are Refs to the alarms; map each back to its AlarmName.
      const resolved = names.map((name) => {
        const id = (name as { Ref: string }).Ref;
        return prod.json.Resources[id]!.Properties.AlarmName;
      });
      expect(resolved.sort(), fnId).toEqual([...expected].sort());
      expect(group.Properties.AlarmConfiguration.Enabled).toBe(true);
      expect(group.Properties.AutoRollbackConfiguration).toEqual({
        Enabled: true,
        Events: expect.arrayContaining(['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', 'DEPLOYMENT_STOP_ON_ALARM']),
      });
    }
    expect(shiftAlarmNames('prod', 'EvalWorkerStandard')).toContain(corruptForecastAlarmName('prod'));
    expect(shiftAlarmNames('prod', 'ApiFunction')).not.toContain(corruptForecastAlarmName('prod'));
  });

  it('the shift alarms watch the new version through the alias (ExecutedVersion) and notify no one', () => {
    const { functions } = prod.platform;
    for (const fnId of SHIFTED_FUNCTIONS) {
      const alias = functions.liveAliases[fnId];
      const fnRef = { Ref: logicalId(alias.version.lambda) };
      for (const metric of ['Errors', 'Throttles'] as const) {
        prod.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: shiftAlarmName('prod', fnId, metric),
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Statistic: 'Sum',
          Period: 60,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          EvaluationPeriods: 1,
          TreatMissingData: 'notBreaching',
          Dimensions: [
            // The version CDK publishes for the function's current code (its logical id carries the code hash).
            { Name: 'ExecutedVersion', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${logicalId(alias.version)}`), 'Version'] } },
            { Name: 'FunctionName', Value: fnRef },
            { Name: 'Resource', Value: { 'Fn::Join': ['', [fnRef, ':live']] } },
          ],
          AlarmActions: Match.absent(),
        });
      }
    }
  });

  it('the style follows the stage: canary by default for prod, linear when set', () => {
    expect(configsOf(prod)).toEqual(['CodeDeployDefault.LambdaCanary10Percent5Minutes']);
    const linear = synth({ deployment: 'linear' });
    expect(configsOf(linear)).toEqual(['CodeDeployDefault.LambdaLinear10PercentEvery1Minute']);
    expect(groupsOf(linear).map((g) => g.Properties.DeploymentGroupName)).toContain('watchpoint-dev-ApiFunction');
  });

  it('deploy --all-at-once keeps the groups and alarms, shifts in one step and ignores the alarms for that deploy', () => {
    const emergency = synth({ allAtOnce: true }, { envName: 'prod' });
    expect(configsOf(emergency)).toEqual(['CodeDeployDefault.LambdaAllAtOnce']);
    expect(groupsOf(emergency)).toHaveLength(5);
    for (const group of groupsOf(emergency)) {
      expect(group.Properties.AlarmConfiguration.Enabled).toBe(false);
      expect(group.Properties.AutoRollbackConfiguration.Events).not.toContain('DEPLOYMENT_STOP_ON_ALARM');
      expect(group.Properties.AutoRollbackConfiguration.Events).toContain('DEPLOYMENT_FAILURE');
      expect(group.Properties.AlarmConfiguration.Alarms.length).toBeGreaterThanOrEqual(2);
    }
    // Everything else is the same stack: an emergency deploy adds and removes nothing.
    expect(Object.keys(emergency.json.Resources).sort()).toEqual(Object.keys(prod.json.Resources).sort());
  });
});
