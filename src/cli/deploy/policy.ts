// Pure decisions of deploy: which diffs need approval, what a failure report says, and how to
// describe a stack's state after an interruption.
import type { PermissionChange, StackDiff, StackEvent } from './ports.ts';

export const REQUIRE_APPROVAL = ['broadening', 'any-change', 'never'] as const;
export type RequireApproval = (typeof REQUIRE_APPROVAL)[number];

/** Environments that always need a confirmation (with account, region and the diff summary). */
export { isProduction } from '../../config/schema.ts';

/** Why this diff needs the operator's approval under the policy, or undefined when it does not. */
export function approvalReason(diff: StackDiff, policy: RequireApproval): string | undefined {
  if (diff.changes === 0 || policy === 'never') return undefined;
  if (policy === 'any-change') return `${diff.changes} change${diff.changes === 1 ? '' : 's'} (--require-approval any-change)`;
  if (diff.permissionChange === 'broadening') return 'it widens IAM or resource-policy permissions (security-broadening)';
  return undefined;
}

/** The strongest permission change across the diffs: what the operator approves by saying yes. */
export function strongest(changes: PermissionChange[]): PermissionChange {
  if (changes.includes('broadening')) return 'broadening';
  if (changes.includes('non-broadening')) return 'non-broadening';
  return 'none';
}

/** One line per stack: what the diff found. */
export function diffSummary(diff: StackDiff): string {
  if (diff.changes === 0) return `${diff.stackName}: no changes`;
  const parts = [`${diff.changes} change${diff.changes === 1 ? '' : 's'}${diff.isNew ? ' (new stack)' : ''}`];
  if (diff.permissionChange === 'broadening') parts.push('IAM/resource policies widened');
  else if (diff.permissionChange === 'non-broadening') parts.push('IAM changes (not widening)');
  if (diff.destructive.length > 0) {
    parts.push(`${diff.destructive.length} replaced or removed: ${diff.destructive.map((d) => `${d.logicalId} (${d.resourceType}, ${d.impact})`).join(', ')}`);
  }
  return `${diff.stackName}: ${parts.join('; ')}`;
}

export interface FailureReport {
  /** Resources that failed, with CloudFormation's reason, root causes first. */
  failed: { logicalId: string; resourceType: string; status: string; reason: string }[];
  /** What the stack is doing now, in words. */
  state: string;
  rollingBack: boolean;
}

/** Reasons CloudFormation gives to resources it stopped because another one failed. */
const KNOCK_ON = /^Resource (creation|update|deletion) cancelled$/i;

/** A stack's status as read: a status, undefined when CloudFormation says it does not exist, or a failed read. */
export type StackStatusRead = string | undefined | { unreadable: string };

export function failureReport(stackName: string, status: StackStatusRead, events: StackEvent[]): FailureReport {
  const failed = events
    .filter((event) => /_FAILED$/.test(event.status) && event.logicalId !== stackName)
    .map(({ logicalId, resourceType, status: s, reason }) => ({ logicalId, resourceType, status: s, reason }));
  // Root causes first; resources cancelled because of them after.
  failed.sort((a, b) => Number(KNOCK_ON.test(a.reason)) - Number(KNOCK_ON.test(b.reason)));
  return { failed, ...describeState(stackName, status) };
}

export function describeState(stackName: string, status: StackStatusRead): { state: string; rollingBack: boolean } {
  if (typeof status === 'object') return { state: `The state of ${stackName} is not known: reading it failed (${status.unreadable}).`, rollingBack: false };
  if (status === undefined) return { state: `${stackName} does not exist (CloudFormation says so: it was never created, or its creation failed and it was deleted).`, rollingBack: false };
  if (status === 'REVIEW_IN_PROGRESS') return { state: `${stackName} has not been created yet (${status}: a change set was made but not executed; nothing is running).`, rollingBack: false };
  if (/ROLLBACK_IN_PROGRESS$/.test(status)) return { state: `${stackName} is rolling back (${status}); CloudFormation restores the previous state on its own.`, rollingBack: true };
  if (status === 'ROLLBACK_COMPLETE') return { state: `${stackName} was rolled back (${status}): its creation failed; delete it before deploying again (\`watchpoint destroy\`).`, rollingBack: false };
  if (/ROLLBACK_COMPLETE$/.test(status)) return { state: `${stackName} was rolled back to its previous state (${status}).`, rollingBack: false };
  if (/ROLLBACK_FAILED$/.test(status)) return { state: `${stackName} could not roll back (${status}); it needs manual attention in the CloudFormation console (continue-update-rollback).`, rollingBack: false };
  if (/_FAILED$/.test(status)) return { state: `${stackName} is stopped in ${status} and is NOT rolling back.`, rollingBack: false };
  if (/_IN_PROGRESS$/.test(status)) return { state: `${stackName} is still changing (${status}); CloudFormation goes on without this command.`, rollingBack: false };
  return { state: `${stackName} is ${status}.`, rollingBack: false };
}
