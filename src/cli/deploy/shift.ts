// Reads a gradual deployment while CloudFormation waits for it (issue 21 part 4): which CodeDeploy
// deployments the platform stack update started, how much traffic each function's new version has,
// when the next step comes, and the states of the alarms that can stop it. Read-only; the text is
// made by shift-report.ts.
import type { CodeDeployClient, DeploymentInfo, LambdaFunctionInfo } from '@aws-sdk/client-codedeploy';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  SHIFTED_FUNCTIONS,
  codeDeployApplicationName,
  deploymentGroupName,
  shiftAlarmNames,
  type ShiftedFunction,
} from '../../stack/deployment-names.ts';

/** How CodeDeploy moves traffic for a deployment configuration (GetDeploymentConfig's trafficRoutingConfig). */
export type TrafficRouting =
  | { type: 'AllAtOnce' }
  | { type: 'TimeBasedCanary'; percentage: number; intervalMinutes: number }
  | { type: 'TimeBasedLinear'; percentage: number; intervalMinutes: number };

export interface AlarmState {
  name: string;
  /** OK, ALARM, INSUFFICIENT_DATA, or MISSING when DescribeAlarms does not know it. */
  state: string;
}

export interface FunctionShift {
  fn: ShiftedFunction;
  deploymentId: string;
  /** CodeDeploy's status: Created, Queued, InProgress, Baking, Ready, Succeeded, Failed, Stopped. */
  status: string;
  configName: string;
  routing: TrafficRouting | undefined;
  /** The new version's share of the alias's traffic, 0-100 (undefined until the target is readable). */
  percent: number | undefined;
  /** The version the alias served before (it keeps the rest of the traffic). */
  previousVersion: string | undefined;
  newVersion: string | undefined;
  /** When the next traffic step is due (undefined when none is left or not known). */
  nextStepAt: Date | undefined;
  alarms: AlarmState[];
  /** Set when CodeDeploy stopped the shift because alarms fired, and is (or was) moving traffic back. */
  alarmRollback?: {
    alarms: string[];
    message: string;
    rollbackDeploymentId: string | undefined;
    /** The rollback deployment's status: Succeeded means the previous version serves 100% again. */
    rollbackStatus: string | undefined;
  };
}

export interface ShiftWatch {
  /** One round of reads; throws only on an unexpected AWS error (the caller shows it and keeps going). */
  poll(): Promise<FunctionShift[]>;
}

/** What deploy and rollback need to follow the shifts a platform stack update starts. */
export interface ShiftPort {
  /** A watch of the deployments created after `since` (when the stack update began). */
  watch: (since: Date) => ShiftWatch;
  region: string;
  /** How often the shift is read (10 s; tests less). */
  intervalMs: number;
}

const DONE = new Set(['Succeeded', 'Failed', 'Stopped']);
/** This machine's clock may run ahead of CodeDeploy's: deployments up to this much before `since` count. */
export const CLOCK_SKEW_MS = 60_000;
const ROLLBACK_CREATORS = new Set(['codeDeployRollback', 'CloudFormationRollback']);
const MISSING_GROUP = new Set(['ApplicationDoesNotExistException', 'DeploymentGroupDoesNotExistException']);

/**
 * Follows the deployments the stack update starts in the environment's deployment groups (those
 * created after `since`). Deterministic names (src/stack/deployment-names.ts), so nothing is read
 * from the stack first.
 */
export function createShiftWatch(input: {
  envName: string;
  codedeploy: CodeDeployClient;
  cloudwatch: CloudWatchClient;
  /** When the stack deploy started: older deployments belong to earlier deploys. */
  since: Date;
  now?: () => Date;
}): ShiftWatch {
  const { envName, codedeploy, cloudwatch, since } = input;
  const now = input.now ?? (() => new Date());
  const applicationName = codeDeployApplicationName(envName);
  const configs = new Map<string, TrafficRouting | undefined>();
  const targets = new Map<string, string[]>();
  const finished = new Map<string, FunctionShift>();

  let sdk: Promise<typeof import('@aws-sdk/client-codedeploy')> | undefined;
  const codeDeploySdk = () => (sdk ??= import('@aws-sdk/client-codedeploy'));

  async function deploymentIds(fn: ShiftedFunction): Promise<string[]> {
    const { ListDeploymentsCommand } = await codeDeploySdk();
    try {
      const ids: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await codedeploy.send(
          new ListDeploymentsCommand({
            applicationName,
            deploymentGroupName: deploymentGroupName(envName, fn),
            createTimeRange: { start: new Date(since.getTime() - CLOCK_SKEW_MS) },
            ...(nextToken ? { nextToken } : {}),
          }),
        );
        ids.push(...(page.deployments ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      return ids;
    } catch (error) {
      // The groups are created by the same stack update (first gradual deploy): nothing to follow yet.
      if (error instanceof Error && MISSING_GROUP.has(error.name)) return [];
      throw error;
    }
  }

  async function routingOf(configName: string): Promise<TrafficRouting | undefined> {
    if (configs.has(configName)) return configs.get(configName);
    const { GetDeploymentConfigCommand } = await codeDeploySdk();
    const { deploymentConfigInfo } = await codedeploy.send(new GetDeploymentConfigCommand({ deploymentConfigName: configName }));
    const routing = deploymentConfigInfo?.trafficRoutingConfig;
    let parsed: TrafficRouting | undefined;
    if (routing?.type === 'AllAtOnce') parsed = { type: 'AllAtOnce' };
    else if (routing?.type === 'TimeBasedCanary' && routing.timeBasedCanary) {
      parsed = { type: 'TimeBasedCanary', percentage: routing.timeBasedCanary.canaryPercentage ?? 0, intervalMinutes: routing.timeBasedCanary.canaryInterval ?? 0 };
    } else if (routing?.type === 'TimeBasedLinear' && routing.timeBasedLinear) {
      parsed = { type: 'TimeBasedLinear', percentage: routing.timeBasedLinear.linearPercentage ?? 0, intervalMinutes: routing.timeBasedLinear.linearInterval ?? 0 };
    }
    configs.set(configName, parsed);
    return parsed;
  }

  async function lambdaTarget(deploymentId: string): Promise<{ info: LambdaFunctionInfo | undefined; shiftStart: Date | undefined }> {
    const { ListDeploymentTargetsCommand, BatchGetDeploymentTargetsCommand } = await codeDeploySdk();
    let ids = targets.get(deploymentId);
    if (!ids || ids.length === 0) {
      ids = (await codedeploy.send(new ListDeploymentTargetsCommand({ deploymentId }))).targetIds ?? [];
      targets.set(deploymentId, ids);
    }
    if (ids.length === 0) return { info: undefined, shiftStart: undefined };
    const { deploymentTargets } = await codedeploy.send(new BatchGetDeploymentTargetsCommand({ deploymentId, targetIds: ids.slice(0, 1) }));
    const target = deploymentTargets?.[0]?.lambdaTarget;
    const allowTraffic = target?.lifecycleEvents?.find((event) => event.lifecycleEventName === 'AllowTraffic');
    return { info: target?.lambdaFunctionInfo, shiftStart: allowTraffic?.startTime };
  }

  return {
    async poll(): Promise<FunctionShift[]> {
      const { BatchGetDeploymentsCommand } = await codeDeploySdk();
      const { DescribeAlarmsCommand } = await import('@aws-sdk/client-cloudwatch');
      const perFunction = await Promise.all(SHIFTED_FUNCTIONS.map(async (fn) => ({ fn, ids: await deploymentIds(fn) })));
      const allIds = perFunction.flatMap((entry) => entry.ids);
      if (allIds.length === 0) return [];
      const infos = new Map<string, DeploymentInfo>();
      for (let i = 0; i < allIds.length; i += 25) {
        const { deploymentsInfo } = await codedeploy.send(new BatchGetDeploymentsCommand({ deploymentIds: allIds.slice(i, i + 25) }));
        for (const info of deploymentsInfo ?? []) if (info.deploymentId) infos.set(info.deploymentId, info);
      }
      const alarmNames = [...new Set(perFunction.filter((entry) => entry.ids.length > 0).flatMap((entry) => shiftAlarmNames(envName, entry.fn)))];
      const states = new Map<string, string>();
      if (alarmNames.length > 0) {
        const { MetricAlarms } = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: alarmNames, AlarmTypes: ['MetricAlarm'] }));
        for (const alarm of MetricAlarms ?? []) if (alarm.AlarmName) states.set(alarm.AlarmName, alarm.StateValue ?? 'INSUFFICIENT_DATA');
      }

      const shifts: FunctionShift[] = [];
      for (const { fn, ids } of perFunction) {
        // The deployment the stack update started: the newest one that is not itself a rollback.
        const own = ids
          .map((id) => infos.get(id))
          .filter((info): info is DeploymentInfo => info !== undefined && !ROLLBACK_CREATORS.has(String(info.creator)))
          .sort((a, b) => (b.createTime?.getTime() ?? 0) - (a.createTime?.getTime() ?? 0))[0];
        if (!own?.deploymentId) continue;
        const id = own.deploymentId;
        const alarms = shiftAlarmNames(envName, fn).map((name) => ({ name, state: states.get(name) ?? 'MISSING' }));
        const previous = finished.get(id);
        if (previous?.alarmRollback?.rollbackStatus === 'Succeeded' || (previous && !previous.alarmRollback)) {
          shifts.push({ ...previous, alarms });
          continue;
        }
        const status = own.status ?? 'Unknown';
        const configName = own.deploymentConfigName ?? 'unknown';
        const [routing, target] = await Promise.all([routingOf(configName), lambdaTarget(id)]);
        const weight = target.info?.targetVersionWeight;
        const percent = status === 'Succeeded' ? 100 : weight === undefined ? undefined : Math.round(weight * 100);
        const shift: FunctionShift = {
          fn,
          deploymentId: id,
          status,
          configName,
          routing,
          percent,
          previousVersion: target.info?.currentVersion,
          newVersion: target.info?.targetVersion,
          nextStepAt: DONE.has(status) ? undefined : nextStep(routing, target.shiftStart ?? own.createTime, percent, now()),
          alarms,
        };
        // CodeDeploy's own word (ErrorCode ALARM_ACTIVE); only when it gives no code at all, a stopped
        // deployment with one of its alarms in ALARM is taken as stopped by that alarm.
        const code = own.errorInformation?.code;
        const alarmStopped = code === 'ALARM_ACTIVE' || (code === undefined && DONE.has(status) && status !== 'Succeeded' && alarms.some((a) => a.state === 'ALARM'));
        if (alarmStopped) {
          const rollbackId = own.rollbackInfo?.rollbackDeploymentId;
          const message = own.errorInformation?.message ?? own.rollbackInfo?.rollbackMessage ?? '';
          const fired = alarms.filter((a) => a.state === 'ALARM').map((a) => a.name);
          const named = alarms.map((a) => a.name).filter((name) => message.includes(name));
          const rollback = rollbackId ? infos.get(rollbackId) ?? (await codedeploy.send(new BatchGetDeploymentsCommand({ deploymentIds: [rollbackId] }))).deploymentsInfo?.[0] : undefined;
          shift.alarmRollback = {
            alarms: [...new Set([...named, ...fired])],
            message,
            rollbackDeploymentId: rollbackId,
            rollbackStatus: rollback?.status,
          };
          shift.percent = rollback?.status === 'Succeeded' ? 0 : shift.percent;
        }
        if (DONE.has(status)) finished.set(id, shift);
        shifts.push(shift);
      }
      return shifts;
    },
  };
}

/** When the next traffic step is due, from the configuration and when traffic started to move. */
export function nextStep(routing: TrafficRouting | undefined, start: Date | undefined, percent: number | undefined, now: Date): Date | undefined {
  if (!routing || routing.type === 'AllAtOnce' || !start || percent === 100) return undefined;
  const interval = routing.intervalMinutes * 60_000;
  if (interval <= 0) return undefined;
  if (routing.type === 'TimeBasedCanary') {
    const at = new Date(start.getTime() + interval);
    return at.getTime() > now.getTime() ? at : undefined;
  }
  const steps = Math.floor((now.getTime() - start.getTime()) / interval) + 1;
  return new Date(start.getTime() + steps * interval);
}
