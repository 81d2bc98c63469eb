// The stack half of `watchpoint dev --watch` (issue 23 item 3): which changes of the re-synthesized
// template are applied in place (a function's, a queue's, a mapping's or a schedule's settings) and
// which need a restart of the platform (queues and buckets are never recreated while it runs, so
// their data stays; an added or removed resource, or one moved to another function, is named).
import { describe, expect, it } from 'vitest';
import { diffPlans } from '../../src/dev/stack-watch.ts';
import type { DevPlan } from '../../src/dev/template.ts';

function plan(): DevPlan {
  return {
    queues: [{ logicalId: 'QueuesEvalQ1', id: 'EvalQueueUrgent', visibilityTimeoutSeconds: 180, redrive: { deadLetterLogicalId: 'QueuesDlq1', maxReceiveCount: 3 } }],
    buckets: [{ logicalId: 'StorageForecast1', id: 'ForecastBucket' }],
    functions: [
      { logicalId: 'FunctionsApi1', id: 'ApiFunction', handlerDir: 'api', timeoutSeconds: 29, memoryMb: 512, environment: { APP_ENV: 'local', SQS_EVAL_URGENT: { Ref: 'QueuesEvalQ1' } } },
      { logicalId: 'FunctionsEmail1', id: 'EmailWorkerFunction', handlerDir: 'email-worker', timeoutSeconds: 30, memoryMb: 256, environment: { APP_ENV: 'local' } },
    ],
    eventSources: [{ logicalId: 'FunctionsEmailSource1', queueLogicalId: 'QueuesEvalQ1', functionLogicalId: 'FunctionsEmail1', batchSize: 10, reportBatchItemFailures: true }],
    notifications: [],
    schedules: [{ logicalId: 'FunctionsDigestRule1', expression: 'rate(1 minute)', functionLogicalId: 'FunctionsApi1', input: { task: 'digest_trigger' } }],
    routes: [{ routeKey: 'ANY /{proxy+}', functionLogicalId: 'FunctionsApi1', payloadFormatVersion: '2.0' }],
    resources: [],
  };
}

describe('dev --watch: a re-read stack restarts only what changed', () => {
  it('nothing changed: nothing restarts', () => {
    expect(diffPlans(plan(), plan())).toEqual({ functions: [], queues: [], eventSources: [], schedules: [], needRestart: [] });
  });

  it.each([
    ['an environment variable', (p: DevPlan) => (p.functions[0]!.environment.LOG_LEVEL = 'DEBUG')],
    ['a resolved reference in the environment', (p: DevPlan) => (p.functions[0]!.environment.SQS_EVAL_URGENT = { Ref: 'QueuesOther' })],
    ['the timeout', (p: DevPlan) => (p.functions[0]!.timeoutSeconds = 10)],
    ['the memory', (p: DevPlan) => (p.functions[0]!.memoryMb = 1024)],
  ])('%s of one function: that function alone restarts, nothing else', (_what, change) => {
    const next = plan();
    change(next);
    expect(diffPlans(plan(), next)).toEqual({ functions: ['FunctionsApi1'], queues: [], eventSources: [], schedules: [], needRestart: [] });
  });

  it.each([
    ['a queue setting', (p: DevPlan) => (p.queues[0]!.visibilityTimeoutSeconds = 60), { queues: ['QueuesEvalQ1'] }],
    ['a redrive policy', (p: DevPlan) => (p.queues[0]!.redrive!.maxReceiveCount = 5), { queues: ['QueuesEvalQ1'] }],
    ['a batch size', (p: DevPlan) => (p.eventSources[0]!.batchSize = 1), { eventSources: ['FunctionsEmailSource1'] }],
    ['a schedule', (p: DevPlan) => (p.schedules[0]!.expression = 'rate(5 minutes)'), { schedules: ['FunctionsDigestRule1'] }],
  ])('%s is applied in place, alone (the queue and its messages stay)', (_what, change, applied) => {
    const next = plan();
    change(next);
    expect(diffPlans(plan(), next)).toEqual({ functions: [], queues: [], eventSources: [], schedules: [], needRestart: [], ...applied });
  });

  it.each([
    ['a new bucket', (p: DevPlan) => p.buckets.push({ logicalId: 'StorageArchive1', id: 'ArchiveBucket' }), 'bucket ArchiveBucket added'],
    ['a queue recreated under a new logical id', (p: DevPlan) => (p.queues[0]!.logicalId = 'QueuesEvalQ2'), 'queue EvalQueueUrgent changed'],
    ['a mapping moved to another function', (p: DevPlan) => (p.eventSources[0]!.functionLogicalId = 'FunctionsApi1'), 'event source mapping FunctionsEmailSource1 changed'],
    ['a schedule moved to another function', (p: DevPlan) => (p.schedules[0]!.functionLogicalId = 'FunctionsEmail1'), 'schedule FunctionsDigestRule1 changed'],
    ['a removed function', (p: DevPlan) => p.functions.pop(), 'function EmailWorkerFunction removed'],
  ])('%s is named for a restart and not applied (queues and their data stay)', (_what, change, phrase) => {
    const next = plan();
    change(next);
    const changes = diffPlans(plan(), next);
    expect(changes).toMatchObject({ functions: [], queues: [], eventSources: [], schedules: [] });
    expect(changes.needRestart).toEqual([phrase]);
  });
});
