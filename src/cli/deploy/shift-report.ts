// The text of a gradual deployment as deploy shows it (one line per function), what it says when an
// alarm rolled a shift back, and how to follow or stop a shift left running after Ctrl-C.
import { duration } from '../output.ts';
import type { FunctionShift, TrafficRouting } from './shift.ts';

function routingText(routing: TrafficRouting | undefined, configName: string): string {
  if (!routing) return configName;
  if (routing.type === 'AllAtOnce') return 'all at once';
  if (routing.type === 'TimeBasedCanary') return `canary ${routing.percentage}% for ${routing.intervalMinutes} min`;
  return `linear +${routing.percentage}% every ${routing.intervalMinutes} min`;
}

function alarmsText(shift: FunctionShift): string {
  const firing = shift.alarms.filter((a) => a.state === 'ALARM').map((a) => `${a.name} ALARM`);
  const others = shift.alarms.filter((a) => a.state !== 'ALARM');
  const counts = new Map<string, number>();
  for (const alarm of others) counts.set(alarm.state, (counts.get(alarm.state) ?? 0) + 1);
  return [...firing, ...[...counts].map(([state, count]) => `${count} ${state}`)].join(', ');
}

const version = (v: string | undefined) => (v === undefined ? 'the previous version' : `version ${v}`);

/** One line per function being shifted: share, versions, style, next step, alarm states. */
export function shiftLines(shifts: readonly FunctionShift[], now: Date): string[] {
  return shifts.map((shift) => {
    const head = `${shift.fn} (${shift.deploymentId})`;
    if (shift.alarmRollback) return `${head}: ${rollbackSentence(shift)}`;
    if (shift.status === 'Succeeded') return `${head}: shift done, ${shift.newVersion ? `version ${shift.newVersion}` : 'the new version'} serves 100%`;
    if (shift.status === 'Failed' || shift.status === 'Stopped') return `${head}: ${shift.status.toLowerCase()}; alarms: ${alarmsText(shift)}`;
    const share =
      shift.percent === undefined
        ? `${shift.status.toLowerCase()}, traffic not moved yet`
        : `${shift.percent}% on ${shift.newVersion ? `version ${shift.newVersion}` : 'the new version'}, ${100 - shift.percent}% on ${version(shift.previousVersion)}`;
    const next = shift.nextStepAt ? `; next step in ${duration((shift.nextStepAt.getTime() - now.getTime()) / 1000)}` : '';
    return `${head}: ${share} (${routingText(shift.routing, shift.configName)})${next}; alarms: ${alarmsText(shift)}`;
  });
}

/** Which alarm stopped the shift, and where traffic is now. */
export function rollbackSentence(shift: FunctionShift): string {
  const rollback = shift.alarmRollback!;
  const which = rollback.alarms.length > 0 ? `alarm ${rollback.alarms.join(' and ')} fired` : `an alarm fired (${rollback.message || 'CodeDeploy named none'})`;
  const where =
    rollback.rollbackStatus === 'Succeeded'
      ? `${version(shift.previousVersion)} now serves 100% again`
      : `CodeDeploy is moving all traffic back to ${version(shift.previousVersion)}${rollback.rollbackDeploymentId ? ` (rollback deployment ${rollback.rollbackDeploymentId}: ${rollback.rollbackStatus ?? 'starting'})` : ''}`;
  return `${which} on ${shift.fn}${shift.newVersion ? ` (version ${shift.newVersion})` : ''}; CodeDeploy stopped the shift: ${where}`;
}

/** What Ctrl-C leaves running in CodeDeploy, and the commands to follow or stop each shift. */
export function runningShiftLines(shifts: readonly FunctionShift[], region: string): string[] {
  const running = shifts.filter((shift) => !['Succeeded', 'Failed', 'Stopped'].includes(shift.status));
  if (running.length === 0) return [];
  return [
    'CodeDeploy keeps shifting traffic without this command:',
    ...running.flatMap((shift) => [
      `  ${shift.fn}: ${shift.percent === undefined ? 'not started' : `${shift.percent}% on the new version`} (deployment ${shift.deploymentId})`,
      `    follow: aws deploy get-deployment --deployment-id ${shift.deploymentId} --region ${region}`,
      `    stop:   aws deploy stop-deployment --deployment-id ${shift.deploymentId} --auto-rollback-enabled --region ${region}   (moves all traffic back to the previous version; CloudFormation then rolls the stack update back)`,
    ]),
  ];
}
