// ArchiverFunction's dispatch on the EventBridge input `{"task": ...}` (docs/stack.md: ArchiveRule,
// CleanupRule, DigestRule, BillingRule).
import type { Logger } from '@aws-lambda-powertools/logger';
import { archiveAuditEvents, type ArchiveDeps, type ArchiveResult } from './archive.ts';
import { cleanup, type CleanupDeps, type CleanupResult } from './cleanup.ts';

export const TASKS = ['archive', 'cleanup', 'digest_trigger', 'billing_sync'] as const;
export type Task = (typeof TASKS)[number];

/**
 * Scheduled in the spec but with no defined behaviour, and this deployment has no digest or Stripe
 * model: each run says so in one log line and succeeds. Nothing is sent and nothing is billed.
 */
export const NOT_ENABLED: readonly Task[] = ['digest_trigger', 'billing_sync'];

export interface ArchiverDeps {
  logger: Logger;
  archive: () => ArchiveDeps;
  cleanup: () => CleanupDeps;
}

export type TaskResult =
  | { task: 'archive'; result: ArchiveResult }
  | { task: 'cleanup'; result: CleanupResult }
  | { task: 'digest_trigger' | 'billing_sync'; result: { status: 'not_enabled' } };

export class UnknownTaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownTaskError';
  }
}

/** The task named by the event, or an UnknownTaskError that says what was expected (never the whole event). */
export function parseTask(event: unknown): Task {
  const task = event && typeof event === 'object' ? (event as { task?: unknown }).task : undefined;
  if (typeof task === 'string' && (TASKS as readonly string[]).includes(task)) return task as Task;
  const got = typeof task === 'string' ? `"${task.slice(0, 64)}"` : task === undefined ? 'no task' : `a ${typeof task}`;
  throw new UnknownTaskError(`Archiver event must be {"task": ${TASKS.map((t) => `"${t}"`).join(' | ')}}; got ${got}.`);
}

export async function runTask(event: unknown, deps: ArchiverDeps): Promise<TaskResult> {
  let task: Task;
  try {
    task = parseTask(event);
  } catch (error) {
    deps.logger.error('Unknown archiver task', { event: 'UnknownTask', error: (error as Error).message });
    throw error;
  }
  switch (task) {
    case 'archive':
      return { task, result: await archiveAuditEvents(deps.archive()) };
    case 'cleanup':
      return { task, result: await cleanup(deps.cleanup()) };
    case 'digest_trigger':
    case 'billing_sync':
      deps.logger.info(`Task ${task} is not enabled in this deployment; nothing to do`, { event: 'TaskNotEnabled', task });
      return { task, result: { status: 'not_enabled' } };
  }
}
