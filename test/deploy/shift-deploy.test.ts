// deploy with a gradual (canary) stage: the platform stack's deploy is followed through CodeDeploy,
// an alarm rollback is said, recorded as rolled back by an alarm and exits 1, Ctrl-C leaves the shift
// running and says how to follow or stop it, and --all-at-once is said in the prod confirmation.
//
// CodeDeploy through aws-sdk-client-mock with the API reference's response shapes (moto 5.2.1 cannot
// serve a shift: see test/deploy/shift.test.ts); the alarms are real CloudWatch alarms on moto; the
// other ports are deploy's fakes (test/deploy/fakes.ts).
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { BatchGetDeploymentTargetsCommand, CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { deploy } from '../../src/cli/deploy/plan.ts';
import { createShiftWatch } from '../../src/cli/deploy/shift.ts';
import { isWatchpointError } from '../../src/cli/errors.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import type { ReleaseInput } from '../../src/cli/releases/recorder.ts';
import { shiftAlarmName } from '../../src/stack/deployment-names.ts';
import { motoClient, uniqueEnvName } from '../helpers/moto.ts';
import { createShiftAlarms, mockApiShift } from './codedeploy-shapes.ts';
import { STAGE, diffOf, fakes, projectWithImageContext, request } from './fakes.ts';

const codedeploy = mockClient(CodeDeployClient);
const cloudwatch = motoClient(CloudWatchClient);

let dir: string;
beforeEach(async () => {
  dir = await projectWithImageContext();
  codedeploy.reset();
});

async function gradualDeploy(envName: string, apiDeployment: Parameters<typeof mockApiShift>[2], rollbacks: string[] = []) {
  await createShiftAlarms(cloudwatch, envName, ['ApiFunction']);
  mockApiShift(codedeploy, envName, apiDeployment, { rollbacks });
  const io = new RecordingIo([], true);
  const stage = { ...STAGE, deployment: 'canary' as const };
  const records: ReleaseInput[] = [];
  return { io, stage, records, platform: `watchpoint-${envName}`, envName };
}

function withShifts(f: ReturnType<typeof fakes>, envName: string, records: ReleaseInput[]) {
  f.deps.shifts = { watch: (since) => createShiftWatch({ envName, codedeploy: new CodeDeployClient({ region: 'eu-west-1' }), cloudwatch, since }), region: 'eu-west-1', intervalMs: 5 };
  f.deps.recordRelease = async (release) => void records.push(release);
}

describe('deploy follows a gradual deployment', () => {
  it('an alarm stops the shift: deploy says which alarm fired on which function, that the previous version serves 100%, records rolled-back-by-alarm, exits 1', async () => {
    const envName = uniqueEnvName('g');
    const errors = shiftAlarmName(envName, 'ApiFunction', 'Errors');
    const t = await gradualDeploy(envName, { status: 'Stopped', errorInformation: { code: 'ALARM_ACTIVE', message: `Activated alarms: <${errors}>` }, rollbackInfo: { rollbackDeploymentId: 'd-RB1' } }, ['d-RB1']);
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: errors, StateValue: 'ALARM', StateReason: 'test: version 8 throws' }));
    const f = fakes(t.io, dir, { imagePresent: true, diffs: { [t.platform]: diffOf(t.platform, 3) }, statuses: { [`${t.platform}-registry`]: 'UPDATE_COMPLETE', [t.platform]: 'UPDATE_COMPLETE' }, failDeploy: t.platform });
    withShifts(f, envName, t.records);
    const error = await deploy(request(dir, { envName, stage: t.stage }), f.deps).catch((e: unknown) => e);
    expect(isWatchpointError(error)).toBe(true);
    if (!isWatchpointError(error)) return;
    expect(error.code).toBe('DEPLOY_ROLLED_BACK_BY_ALARM');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain(`alarm ${errors} fired on ApiFunction (version 8); CodeDeploy stopped the shift: version 7 now serves 100% again`);
    expect(error.message).toContain('UPDATE_ROLLBACK_COMPLETE');
    expect(error.fix).toContain(`watchpoint logs ApiFunction --env ${envName}`);
    expect(t.records).toHaveLength(1);
    expect(t.records[0]).toMatchObject({ outcome: 'rolled-back-by-alarm' });
    expect(t.records[0]!.reason).toContain(errors);
  });

  it('shows the shift while CloudFormation waits and summarises it after a successful deploy', async () => {
    const envName = uniqueEnvName('g');
    const t = await gradualDeploy(envName, { status: 'Succeeded' });
    const f = fakes(t.io, dir, { imagePresent: true, diffs: { [t.platform]: diffOf(t.platform, 3) }, statuses: { [`${t.platform}-registry`]: 'UPDATE_COMPLETE', [t.platform]: 'UPDATE_COMPLETE' } });
    withShifts(f, envName, t.records);
    expect(await deploy(request(dir, { envName, stage: t.stage }), f.deps)).toBe(0);
    expect(t.io.stderr).toContain('Traffic shifts (CodeDeploy):');
    expect(t.io.stderr).toContain('ApiFunction (d-API1): shift done, version 8 serves 100%');
    expect(t.records[0]).toMatchObject({ outcome: 'succeeded' });
  });

  it('Ctrl-C during a shift leaves it running and says how to follow or stop it (exit 130)', async () => {
    const envName = uniqueEnvName('g');
    const t = await gradualDeploy(envName, { status: 'InProgress' });
    const f = fakes(t.io, dir, { imagePresent: true, diffs: { [t.platform]: diffOf(t.platform, 3) }, statuses: { [`${t.platform}-registry`]: 'UPDATE_COMPLETE', [t.platform]: 'UPDATE_COMPLETE' }, hangDeploy: t.platform });
    withShifts(f, envName, t.records);
    const running = deploy(request(dir, { envName, stage: t.stage }), f.deps);
    // Wait until the watcher has read the shift once.
    while (codedeploy.commandCalls(BatchGetDeploymentTargetsCommand).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 20));
    f.interrupt();
    expect(await running).toBe(130);
    expect(t.io.stderr).toContain('CodeDeploy keeps shifting traffic without this command');
    expect(t.io.stderr).toContain('ApiFunction: 10% on the new version (deployment d-API1)');
    expect(t.io.stderr).toContain('aws deploy stop-deployment --deployment-id d-API1 --auto-rollback-enabled --region eu-west-1');
  });
});

describe('an unchanged platform stack', () => {
  it('is not followed, so a shift an earlier deploy left is not shown as this one\'s', async () => {
    const envName = uniqueEnvName('g');
    const t = await gradualDeploy(envName, { status: 'Succeeded' });
    const f = fakes(t.io, dir, { imagePresent: true, statuses: { [`${t.platform}-registry`]: 'UPDATE_COMPLETE', [t.platform]: 'UPDATE_COMPLETE' }, noOp: [t.platform] });
    withShifts(f, envName, t.records);
    expect(await deploy(request(dir, { envName, stage: t.stage }), f.deps)).toBe(0);
    expect(t.io.stderr).not.toContain('Traffic shifts');
    // (Another test's shift may still finish a read in flight: count only this environment's.)
    expect(codedeploy.calls().filter((call) => JSON.stringify(call.args[0].input).includes(envName))).toEqual([]);
  });
});

describe('--all-at-once in the prod confirmation', () => {
  it('says the new versions take all traffic at once with no canary and no alarm check; without it, says the canary', async () => {
    for (const allAtOnce of [true, false]) {
      const io = new RecordingIo([true], true);
      const f = fakes(io, dir, { imagePresent: true, diffs: { 'watchpoint-prod': diffOf('watchpoint-prod', 2) } });
      expect(await deploy(request(dir, { envName: 'prod', allAtOnce }), f.deps)).toBe(0);
      const question = io.questions.find((q) => q.kind === 'confirm');
      expect(question?.message).toContain(allAtOnce
        ? '--all-at-once: new function versions take ALL traffic at once, no canary shift and no alarm check'
        : 'new function versions shift canary 10% for 5 minutes, rolled back by CodeDeploy if an alarm fires');
    }
  });

  it('prod set to all-at-once (its config, or --deployment all-at-once on the command line) is said the same way', async () => {
    const io = new RecordingIo([true], true);
    const f = fakes(io, dir, { imagePresent: true, diffs: { 'watchpoint-prod': diffOf('watchpoint-prod', 2) } });
    expect(await deploy(request(dir, { envName: 'prod', stage: { ...STAGE, deployment: 'all-at-once' } }), f.deps)).toBe(0);
    expect(io.questions.find((q) => q.kind === 'confirm')?.message).toContain('deployment all-at-once: new function versions take ALL traffic at once, no CodeDeploy shift and no alarm check');
  });
});

describe('--dry-run of a gradual stage', () => {
  it('lists the shift deploy would follow, and makes no CodeDeploy call', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, diffs: { 'watchpoint-prod': diffOf('watchpoint-prod', 2) } });
    f.deps.shifts = { watch: () => { throw new Error('a dry run must not read CodeDeploy'); }, region: 'eu-west-1', intervalMs: 5 };
    expect(await deploy(request(dir, { envName: 'prod', dryRun: true }), f.deps)).toBe(0);
    expect(io.stdout).toMatch(/while CloudFormation waits: new function versions shift canary 10% for 5 minutes, rolled back by CodeDeploy if an alarm fires; deploy follows each shift/);
  });
});
