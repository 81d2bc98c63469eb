// The pure decisions of a rollback: which release it restores, which migrations ran since, whether a
// stack already runs the target's template, and how the change sets read. Tested without AWS.
import { userError } from '../errors.ts';
import type { ReleaseRecord } from '../releases/record.ts';
import type { PreparedChangeSet } from './cloudformation.ts';

/** --to N, else the newest succeeded release before the current one. Refusals exit 2. */
export function pickTarget(records: readonly ReleaseRecord[], current: ReleaseRecord, to: number | undefined, envName: string): ReleaseRecord {
  const list = `\`watchpoint releases --env ${envName}\``;
  if (to === undefined) {
    const previous = [...records].sort((a, b) => b.sequence - a.sequence).find((record) => record.sequence < current.sequence && record.outcome === 'succeeded' && !sameStacks(record, current));
    if (!previous) {
      throw userError('NO_ROLLBACK_TARGET', `"${envName}" has no succeeded release before the current #${current.sequence} that differs from it: there is nothing to roll back to.`, `See ${list}; pass --to N to pick one.`);
    }
    return previous;
  }
  const target = records.find((record) => record.sequence === to);
  if (!target) throw userError('RELEASE_NOT_FOUND', `"${envName}" has no release #${to}.`, `Pick a number from ${list}.`);
  if (target.sequence === current.sequence || sameStacks(target, current)) {
    throw userError('ROLLBACK_TARGET_IS_CURRENT', `Release #${to} is ${target.sequence === current.sequence ? 'the current release' : `what the current release #${current.sequence} runs (the same templates)`}: rolling back to it changes nothing.`, `Pick an older release from ${list}.`);
  }
  if (target.outcome !== 'succeeded') {
    throw userError('ROLLBACK_TARGET_NOT_GOOD', `Release #${to} did not succeed (${target.outcome}); its templates never ran as a whole.`, `Pick a release whose outcome is "succeeded" from ${list}.`);
  }
  return target;
}

/** Same templates and parameters in every stack: restoring one over the other changes nothing. */
function sameStacks(a: ReleaseRecord, b: ReleaseRecord): boolean {
  if (a.stacks.length !== b.stacks.length) return false;
  return a.stacks.every((stack) => {
    const other = b.stacks.find((s) => s.stackName === stack.stackName);
    return other !== undefined && other.templateSha256 === stack.templateSha256 && JSON.stringify(other.parameters) === JSON.stringify(stack.parameters);
  });
}

function order(name: string): number {
  return Number(name.split('_')[0]);
}

/**
 * Migrations applied after the target release and up to the current one, as this checkout names them.
 * Undefined when either level is unknown (a release deployed with --skip-migrations).
 */
export function migrationsSince(target: string | null, current: string | null, known: readonly string[]): string[] | undefined {
  if (target === null || current === null) return undefined;
  if (order(current) <= order(target)) return [];
  const between = known.filter((name) => order(name) > order(target) && order(name) <= order(current));
  // The current level may be newer than this checkout knows: name it anyway.
  return between.includes(current) ? between : [...between, current];
}

/** Whether two template texts are the same document (CloudFormation may hand back reformatted JSON). */
export function sameTemplate(deployed: string | undefined, recorded: string): boolean {
  if (deployed === undefined) return false;
  try {
    return canonical(JSON.parse(deployed)) === canonical(JSON.parse(recorded));
  } catch {
    return deployed === recorded;
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as Record<string, unknown>).sort().map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The change set as the operator reads it before saying yes. */
export function describeChangeSet(prepared: PreparedChangeSet): string[] {
  if (prepared.empty) return [`  ${prepared.stackName}: no changes`];
  return [
    `  ${prepared.stackName} (change set ${prepared.changeSetName}):`,
    ...prepared.changes.map((change) => `    ${change.action.padEnd(6)} ${change.logicalId} (${change.resourceType})${change.replacement === 'True' ? ', REPLACED' : change.replacement === 'Conditional' ? ', may be replaced' : ''}`),
  ];
}

export function changeSetName(target: number, now: Date): string {
  return `watchpoint-rollback-to-${target}-${now.toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}`;
}
