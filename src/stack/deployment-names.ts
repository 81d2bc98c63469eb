// Names the stack gives its gradual-deployment resources (CodeDeploy application, deployment groups,
// shift alarms) and `deploy` reads back while CloudFormation waits. No aws-cdk-lib here: the CLI
// imports this file.
import type { DeploymentStyle } from '../config/schema.ts';

/** The functions behind a `live` alias, whose new versions CodeDeploy shifts traffic to (construct ids). */
export const SHIFTED_FUNCTIONS = ['ApiFunction', 'EmailWorkerFunction', 'WebhookWorkerFunction', 'EvalWorkerUrgent', 'EvalWorkerStandard'] as const;
export type ShiftedFunction = (typeof SHIFTED_FUNCTIONS)[number];

export const LIVE_ALIAS = 'live';

/** CodeDeploy's predefined Lambda configurations (LambdaDeploymentConfig in aws-cdk-lib). */
export const CODEDEPLOY_CONFIG: Readonly<Record<DeploymentStyle, string>> = {
  'all-at-once': 'CodeDeployDefault.LambdaAllAtOnce',
  canary: 'CodeDeployDefault.LambdaCanary10Percent5Minutes',
  linear: 'CodeDeployDefault.LambdaLinear10PercentEvery1Minute',
};

export function codeDeployApplicationName(envName: string): string {
  return `watchpoint-${envName}-functions`;
}

export function deploymentGroupName(envName: string, fn: ShiftedFunction): string {
  return `watchpoint-${envName}-${fn}`;
}

export type ShiftMetric = 'Errors' | 'Throttles';
export const SHIFT_METRICS: readonly ShiftMetric[] = ['Errors', 'Throttles'];

/** The alarm on the new version's errors or throttles (through the alias) that stops a shift. */
export function shiftAlarmName(envName: string, fn: ShiftedFunction, metric: ShiftMetric): string {
  return `watchpoint-${envName}-${fn}-NewVersion${metric}`;
}

/** The existing CorruptForecast alarm (constructs/alarms.ts) also stops an eval worker's shift. */
export function corruptForecastAlarmName(envName: string): string {
  return `watchpoint-${envName}-CorruptForecastAlarm`;
}

export const EVAL_WORKERS: readonly ShiftedFunction[] = ['EvalWorkerUrgent', 'EvalWorkerStandard'];

/** Every alarm that stops the function's shift, as its deployment group lists them. */
export function shiftAlarmNames(envName: string, fn: ShiftedFunction): string[] {
  return [
    ...SHIFT_METRICS.map((metric) => shiftAlarmName(envName, fn, metric)),
    ...(EVAL_WORKERS.includes(fn) ? [corruptForecastAlarmName(envName)] : []),
  ];
}
