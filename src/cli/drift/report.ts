// Drift results as text (resource by resource, property by property) or one JSON document.
import type { Style } from '../output.ts';
import type { StackDrift } from './detect.ts';

export function driftDocument(stacks: readonly StackDrift[]) {
  return {
    schemaVersion: 1,
    drifted: stacks.some((s) => s.status === 'DRIFTED'),
    complete: stacks.every((s) => s.detection === 'COMPLETE'),
    /** Resources CloudFormation could not check (UNKNOWN), over both stacks: not drift, but unknown. */
    unchecked: stacks.reduce((n, s) => n + s.unchecked.length, 0),
    stacks: stacks.map((s) => ({ ...s, checkedAt: s.checkedAt?.toISOString() ?? null })),
  };
}

/** Values longer than this are cut in the text view; --json has them whole. */
const VALUE_WIDTH = 120;

export function renderDrift(stacks: readonly StackDrift[], style: Style): string {
  const out: string[] = [];
  for (const stack of stacks) {
    const verdict =
      stack.detection === 'TIMED_OUT' ? style.yellow('STILL RUNNING')
      : stack.status === 'IN_SYNC' ? style.green('IN_SYNC')
      : stack.status === 'DRIFTED' ? style.red(`DRIFTED (${stack.driftedCount} resource${stack.driftedCount === 1 ? '' : 's'})`)
      : style.yellow(stack.status);
    out.push(`${style.bold(stack.stackName)}  ${verdict}`);
    if (stack.detection === 'FAILED') out.push(`  ${style.yellow('detection failed')}: ${stack.reason ?? 'no reason given'} (what it could check is below)`);
    if (stack.detection === 'TIMED_OUT') out.push(`  detection ${stack.detectionId} is still running in CloudFormation; it finishes on its own and \`watchpoint status\` shows its result.`);
    for (const resource of stack.resources) {
      out.push(`  ${resource.status === 'DELETED' ? style.red('deleted ') : style.yellow('modified')} ${resource.logicalId} (${resource.type}${resource.physicalId ? ` ${resource.physicalId}` : ''})`);
      for (const p of resource.properties) {
        const sign = p.change === 'ADD' ? '+' : p.change === 'REMOVE' ? '-' : '~';
        out.push(`      ${sign} ${p.path}: ${clip(p.expected)} → ${clip(p.actual)}`);
      }
    }
    for (const resource of stack.unchecked) {
      out.push(`  ${style.yellow('could not check')} ${resource.logicalId} (${resource.type}${resource.physicalId ? ` ${resource.physicalId}` : ''}): ${resource.reason ?? 'no reason given'}`);
    }
    out.push('');
  }
  if (stacks.some((s) => s.status === 'DRIFTED')) {
    out.push('To undo a change made outside CloudFormation, make the resource match the template again, or redeploy with `watchpoint deploy`; a deleted resource needs a deploy that recreates it.');
  }
  return out.join('\n').trimEnd();
}

function clip(value: string | undefined): string {
  if (value === undefined) return '(none)';
  return value.length > VALUE_WIDTH ? `${value.slice(0, VALUE_WIDTH - 1)}…` : value;
}
