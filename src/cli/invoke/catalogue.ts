// The functions `watchpoint invoke` can call, each with its trigger (which decides the event's shape
// and the built-in samples) and whether it writes (sends mail, posts webhooks, writes notifications):
// those ask first in production.
export type Trigger =
  | { kind: 'api' }
  | { kind: 'sqs'; queue: QueueName }
  | { kind: 's3-success' }
  | { kind: 'schedule'; rules: ScheduleName[] };

export type QueueName = 'eval-urgent' | 'eval-standard' | 'notifications-email' | 'notifications-webhook';
export type ScheduleName = 'data-poller' | 'archive' | 'digest_trigger' | 'billing_sync' | 'cleanup';

export interface InvokableFunction {
  /** What the operator types: `watchpoint invoke email-worker`. */
  name: string;
  /**
   * The construct id under Functions (src/stack/constructs/functions.ts FUNCTION_HANDLERS; the
   * template's logical ids start with Functions<id>). Not imported: that module loads aws-cdk-lib.
   */
  constructId: string;
  trigger: Trigger;
  /** Sends mail, posts webhooks or writes notifications: a prod invoke asks first. */
  writes: boolean;
}

export const FUNCTIONS: readonly InvokableFunction[] = [
  { name: 'api', constructId: 'ApiFunction', trigger: { kind: 'api' }, writes: false },
  { name: 'batcher', constructId: 'BatcherFunction', trigger: { kind: 's3-success' }, writes: false },
  { name: 'data-poller', constructId: 'DataPollerFunction', trigger: { kind: 'schedule', rules: ['data-poller'] }, writes: false },
  { name: 'archiver', constructId: 'ArchiverFunction', trigger: { kind: 'schedule', rules: ['archive', 'digest_trigger', 'billing_sync', 'cleanup'] }, writes: false },
  { name: 'eval-worker-urgent', constructId: 'EvalWorkerUrgent', trigger: { kind: 'sqs', queue: 'eval-urgent' }, writes: true },
  { name: 'eval-worker-standard', constructId: 'EvalWorkerStandard', trigger: { kind: 'sqs', queue: 'eval-standard' }, writes: true },
  { name: 'email-worker', constructId: 'EmailWorkerFunction', trigger: { kind: 'sqs', queue: 'notifications-email' }, writes: true },
  { name: 'webhook-worker', constructId: 'WebhookWorkerFunction', trigger: { kind: 'sqs', queue: 'notifications-webhook' }, writes: true },
];

/** A function by its name or its construct id (ApiFunction), case-insensitive; undefined when unknown. */
export function findFunction(name: string): InvokableFunction | undefined {
  const wanted = name.trim().toLowerCase();
  return FUNCTIONS.find((fn) => fn.name === wanted || fn.constructId.toLowerCase() === wanted);
}
