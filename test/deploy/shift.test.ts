// The shift watcher of `deploy` (src/cli/deploy/shift.ts) and its text (shift-report.ts).
//
// CodeDeploy through aws-sdk-client-mock, with the response shapes of the CodeDeploy API reference
// (ListDeployments, BatchGetDeployments, GetDeploymentConfig, ListDeploymentTargets,
// BatchGetDeploymentTargets): moto 5.2.1 serves CodeDeploy's applications, groups and deployments but
// not what a shift needs (checked on this machine: GetDeployment/BatchGetDeployments answer a
// createTime the SDK cannot parse, ListDeploymentTargets and GetDeploymentConfig are not implemented,
// GetDeploymentGroup drops the alarm configuration) and never moves traffic. The alarms are real
// CloudWatch alarms on moto, moved with SetAlarmState.
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { ApplicationDoesNotExistException, BatchGetDeploymentsCommand, CodeDeployClient, ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CLOCK_SKEW_MS, createShiftWatch, nextStep, type FunctionShift } from '../../src/cli/deploy/shift.ts';
import { followShifts } from '../../src/cli/deploy/shift-follow.ts';
import { rollbackSentence, runningShiftLines, shiftLines } from '../../src/cli/deploy/shift-report.ts';
import { codeDeployApplicationName, shiftAlarmName } from '../../src/stack/deployment-names.ts';
import { motoClient, uniqueEnvName } from '../helpers/moto.ts';
import { createShiftAlarms, mockApiShift } from './codedeploy-shapes.ts';

const codedeploy = mockClient(CodeDeployClient);
const cloudwatch = motoClient(CloudWatchClient);
const T0 = new Date('2026-12-06T23:00:00Z');
const SINCE = new Date('2026-12-06T22:58:00Z');
const createAlarms = (envName: string) => createShiftAlarms(cloudwatch, envName, ['ApiFunction']);
const oneApiDeployment = (envName: string, deployment: Parameters<typeof mockApiShift>[2], weight: number, rollbacks?: string[]) =>
  mockApiShift(codedeploy, envName, deployment, { weight, shiftStart: T0, ...(rollbacks ? { rollbacks } : {}) });

beforeEach(() => codedeploy.reset());

describe('following a shift (CodeDeploy: aws-sdk-client-mock; alarms: moto)', () => {
  it('shows the percentage, the versions, the time to the next step and the alarm states', async () => {
    const envName = uniqueEnvName('s');
    await createAlarms(envName);
    oneApiDeployment(envName, { status: 'InProgress' }, 0.1);
    const now = new Date(T0.getTime() + 108_000);
    const watch = createShiftWatch({ envName, codedeploy: new CodeDeployClient({ region: 'eu-west-1' }), cloudwatch, since: SINCE, now: () => now });
    const shifts = await watch.poll();
    expect(shifts).toHaveLength(1);
    expect(shifts[0]).toMatchObject({ fn: 'ApiFunction', percent: 10, previousVersion: '7', newVersion: '8', nextStepAt: new Date(T0.getTime() + 300_000) });
    expect(shiftLines(shifts, now)).toEqual([
      'ApiFunction (d-API1): 10% on version 8, 90% on version 7 (canary 10% for 5 min); next step in 3m 12s; alarms: 2 OK',
    ]);
    // Every group of the environment is asked, for deployments since the deploy started only.
    const listed = codedeploy.commandCalls(ListDeploymentsCommand).map((call) => call.args[0].input);
    expect(listed).toHaveLength(5);
    for (const input of listed) {
      expect(input.applicationName).toBe(codeDeployApplicationName(envName));
      // A minute before the deploy began: this machine's clock may run ahead of CodeDeploy's.
      expect(input.createTimeRange).toEqual({ start: new Date(SINCE.getTime() - CLOCK_SKEW_MS) });
    }
  });

  it('says which alarm fired on which function and that the previous version serves 100% once CodeDeploy rolled back', async () => {
    const envName = uniqueEnvName('s');
    await createAlarms(envName);
    const errors = shiftAlarmName(envName, 'ApiFunction', 'Errors');
    oneApiDeployment(envName, {
      status: 'Stopped',
      errorInformation: { code: 'ALARM_ACTIVE', message: `Activated alarms: <${errors}>` },
      rollbackInfo: { rollbackDeploymentId: 'd-RB1', rollbackMessage: 'Automatic rollback triggered by an alarm' },
    }, 0.1, ['d-RB1']);
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: errors, StateValue: 'ALARM', StateReason: 'test: the new version failed' }));
    const watch = createShiftWatch({ envName, codedeploy: new CodeDeployClient({ region: 'eu-west-1' }), cloudwatch, since: SINCE, now: () => T0 });
    const [shift] = await watch.poll();
    expect(shift?.alarmRollback).toEqual({ alarms: [errors], message: `Activated alarms: <${errors}>`, rollbackDeploymentId: 'd-RB1', rollbackStatus: 'Succeeded' });
    expect(rollbackSentence(shift!)).toBe(`alarm ${errors} fired on ApiFunction (version 8); CodeDeploy stopped the shift: version 7 now serves 100% again`);
    // The rollback deployment itself is not taken for the stack's own deployment.
    expect(shift?.deploymentId).toBe('d-API1');
  });

  it('names the alarm from CodeDeploy\'s message when it is back to OK, and says the move back is still running', async () => {
    const envName = uniqueEnvName('s');
    await createAlarms(envName);
    const throttles = shiftAlarmName(envName, 'ApiFunction', 'Throttles');
    oneApiDeployment(envName, { status: 'Stopped', errorInformation: { code: 'ALARM_ACTIVE', message: `Activated alarms: <${throttles}>` }, rollbackInfo: { rollbackDeploymentId: 'd-RB2' } }, 0.1);
    codedeploy.on(BatchGetDeploymentsCommand, { deploymentIds: ['d-RB2'] }).resolves({ deploymentsInfo: [{ deploymentId: 'd-RB2', status: 'InProgress', creator: 'codeDeployRollback' }] });
    const [shift] = await createShiftWatch({ envName, codedeploy: new CodeDeployClient({ region: 'eu-west-1' }), cloudwatch, since: SINCE, now: () => T0 }).poll();
    expect(rollbackSentence(shift!)).toBe(`alarm ${throttles} fired on ApiFunction (version 8); CodeDeploy stopped the shift: CodeDeploy is moving all traffic back to version 7 (rollback deployment d-RB2: InProgress)`);
  });

  it('a shift that failed for another reason is not blamed on an alarm that happens to be firing', async () => {
    const envName = uniqueEnvName('s');
    await createAlarms(envName);
    oneApiDeployment(envName, { status: 'Failed', errorInformation: { code: 'TIMEOUT', message: 'The deployment timed out' } }, 0.1);
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: shiftAlarmName(envName, 'ApiFunction', 'Throttles'), StateValue: 'ALARM', StateReason: 'test' }));
    const [shift] = await createShiftWatch({ envName, codedeploy: new CodeDeployClient({ region: 'eu-west-1' }), cloudwatch, since: SINCE, now: () => T0 }).poll();
    expect(shift?.alarmRollback).toBeUndefined();
    expect(shiftLines([shift!], T0)[0]).toContain(`failed; alarms: ${shiftAlarmName(envName, 'ApiFunction', 'Throttles')} ALARM, 1 OK`);
  });

  it('finds nothing to follow while the stack update is still creating the application and groups', async () => {
    codedeploy.on(ListDeploymentsCommand).rejects(new ApplicationDoesNotExistException({ message: 'No application found for name: watchpoint-x-functions', $metadata: {} }));
    const shifts = await createShiftWatch({ envName: 'prod', codedeploy: new CodeDeployClient({ region: 'eu-west-1' }), cloudwatch, since: SINCE }).poll();
    expect(shifts).toEqual([]);
  });

  it('reports a shift that completed, and tells Ctrl-C how to follow or stop one still running', async () => {
    const envName = uniqueEnvName('s');
    await createAlarms(envName);
    oneApiDeployment(envName, { status: 'Succeeded' }, 0);
    const done = await createShiftWatch({ envName, codedeploy: new CodeDeployClient({ region: 'eu-west-1' }), cloudwatch, since: SINCE, now: () => T0 }).poll();
    expect(shiftLines(done, T0)).toEqual(['ApiFunction (d-API1): shift done, version 8 serves 100%']);
    expect(runningShiftLines(done, 'eu-west-1')).toEqual([]);

    codedeploy.reset();
    oneApiDeployment(envName, { status: 'InProgress' }, 0.1);
    const running = await createShiftWatch({ envName, codedeploy: new CodeDeployClient({ region: 'eu-west-1' }), cloudwatch, since: SINCE, now: () => T0 }).poll();
    const lines = runningShiftLines(running, 'eu-west-1');
    expect(lines.join('\n')).toContain('aws deploy get-deployment --deployment-id d-API1 --region eu-west-1');
    expect(lines.join('\n')).toContain('aws deploy stop-deployment --deployment-id d-API1 --auto-rollback-enabled --region eu-west-1');
  });
});

describe('nextStep', () => {
  const linear = { type: 'TimeBasedLinear' as const, percentage: 10, intervalMinutes: 1 };
  it('linear: the next whole interval after now; none at 100%', () => {
    expect(nextStep(linear, T0, 30, new Date(T0.getTime() + 150_000))).toEqual(new Date(T0.getTime() + 180_000));
    expect(nextStep(linear, T0, 100, new Date(T0.getTime() + 150_000))).toBeUndefined();
  });
  it('canary: the end of the canary interval, none once it passed; all-at-once: none', () => {
    const canary = { type: 'TimeBasedCanary' as const, percentage: 10, intervalMinutes: 5 };
    expect(nextStep(canary, T0, 10, new Date(T0.getTime() + 60_000))).toEqual(new Date(T0.getTime() + 300_000));
    expect(nextStep(canary, T0, 10, new Date(T0.getTime() + 301_000))).toBeUndefined();
    expect(nextStep({ type: 'AllAtOnce' }, T0, 0, T0)).toBeUndefined();
  });
});

describe('followShifts (the loop deploy runs while CloudFormation waits)', () => {
  const shift = (percent: number): FunctionShift => ({
    fn: 'EmailWorkerFunction', deploymentId: 'd-E1', status: 'InProgress', configName: 'x', routing: { type: 'TimeBasedLinear', percentage: 10, intervalMinutes: 1 },
    percent, previousVersion: '3', newVersion: '4', nextStepAt: undefined, alarms: [{ name: 'a', state: 'OK' }],
  });

  it('shows a line only when it changed, shows a failed read once, and keeps going', async () => {
    const reads: (FunctionShift[] | Error)[] = [[shift(10)], [shift(10)], new Error('AccessDenied: codedeploy:ListDeployments'), new Error('AccessDenied: codedeploy:ListDeployments'), [shift(20)]];
    let calls = 0;
    const lines: string[] = [];
    const following = followShifts(
      { poll: async () => { const next = reads[Math.min(calls++, reads.length - 1)]!; if (next instanceof Error) throw next; return next; } },
      { output: (line) => lines.push(line), intervalMs: 1 },
    );
    while (calls < reads.length) await new Promise((resolve) => setTimeout(resolve, 2));
    const latest = await following.stop();
    expect(latest).toEqual([shift(20)]);
    expect(lines).toEqual([
      'shift: EmailWorkerFunction (d-E1): 10% on version 4, 90% on version 3 (linear +10% every 1 min); alarms: 1 OK',
      'shift: could not read CodeDeploy or the alarms (Error: AccessDenied: codedeploy:ListDeployments); CloudFormation is still waiting for the shift',
      'shift: EmailWorkerFunction (d-E1): 20% on version 4, 80% on version 3 (linear +10% every 1 min); alarms: 1 OK',
    ]);
  });
});
