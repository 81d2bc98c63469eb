// The stack settings the capacity model needs, read from the synthesized template (never restated
// here): each pipeline function's memory, timeout, reserved and provisioned concurrency and SQS batch
// size, each queue's visibility timeout, redrive and retention, the queue depth alarms' thresholds
// and the delivery-attempt spike alarm, and the DataPoller's schedule.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageConfig, StageConfigInput } from '../../config/schema.ts';
import { readPlan, type Template } from '../../dev/template.ts';

export interface QueueSettings {
  /** The construct id, e.g. EvalQueueUrgent. */
  id: string;
  visibilityTimeoutSeconds: number;
  retentionSeconds: number;
  maxReceiveCount?: number;
  /** Threshold of the ApproximateNumberOfMessagesVisible alarm on this queue, if any. */
  depthAlarm?: number;
}

export interface FunctionSettings {
  /** The construct id, e.g. EvalWorkerStandard. */
  id: string;
  memoryMb: number;
  timeoutSeconds: number;
  architecture: string;
  reservedConcurrency?: number;
  provisionedConcurrency?: number;
  /** The SQS event source's batch size (1 for functions without one). */
  batchSize: number;
  queue?: QueueSettings;
}

export type PipelineFunction = 'batcher' | 'evalUrgent' | 'evalStandard' | 'email' | 'webhook';

export interface TemplateSettings {
  stackName: string;
  functions: Record<PipelineFunction, FunctionSettings>;
  deadLetter: QueueSettings;
  /** The delivery-attempt alarm: more than `threshold` attempts in `periodSeconds`. */
  notificationSpike?: { threshold: number; periodSeconds: number };
  /** The DataPoller's schedule expression (it starts each forecast run). */
  pollSchedule?: string;
}

const CONSTRUCTS: Record<PipelineFunction, string> = {
  batcher: 'BatcherFunction',
  evalUrgent: 'EvalWorkerUrgent',
  evalStandard: 'EvalWorkerStandard',
  email: 'EmailWorkerFunction',
  webhook: 'WebhookWorkerFunction',
};

/** SQS's default message retention (4 days) when a queue does not set MessageRetentionPeriod. */
const SQS_DEFAULT_RETENTION_SECONDS = 345_600;

type Json = unknown;
const isRecord = (value: Json): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The first logical id a Ref or Fn::GetAtt inside `value` points at. */
function refOf(value: Json): string | undefined {
  if (!isRecord(value)) return Array.isArray(value) ? value.map(refOf).find(Boolean) : undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  return Object.values(value).map(refOf).find(Boolean);
}

export class TemplateSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateSettingsError';
  }
}

/** The settings, from a platform template synthesized with path metadata. */
export function settingsFromTemplate(template: Template, stackName: string): TemplateSettings {
  const plan = readPlan(template);
  const resources = template.Resources;
  const props = (logicalId: string): Record<string, Json> => resources[logicalId]?.Properties ?? {};

  const alarms = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties ?? {});
  const depthAlarm = (queueLogicalId: string): number | undefined => {
    const alarm = alarms.find((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && refOf(a.Dimensions) === queueLogicalId);
    return alarm === undefined ? undefined : Number(alarm.Threshold);
  };
  const queues = new Map(
    plan.queues.map((q) => {
      const retention = props(q.logicalId).MessageRetentionPeriod;
      const alarm = depthAlarm(q.logicalId);
      const settings: QueueSettings = {
        id: q.id,
        visibilityTimeoutSeconds: q.visibilityTimeoutSeconds,
        retentionSeconds: retention === undefined ? SQS_DEFAULT_RETENTION_SECONDS : Number(retention),
        ...(q.redrive ? { maxReceiveCount: q.redrive.maxReceiveCount } : {}),
        ...(alarm === undefined ? {} : { depthAlarm: alarm }),
      };
      return [q.logicalId, settings] as const;
    }),
  );

  const provisioned = new Map<string, number>();
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::Lambda::Alias') continue;
    const config = resource.Properties?.ProvisionedConcurrencyConfig;
    const fn = refOf(resource.Properties?.FunctionName);
    if (fn && isRecord(config)) provisioned.set(fn, Number(config.ProvisionedConcurrentExecutions));
  }

  const functions = {} as Record<PipelineFunction, FunctionSettings>;
  for (const [key, constructId] of Object.entries(CONSTRUCTS) as [PipelineFunction, string][]) {
    const fn = plan.functions.find((f) => f.id === constructId);
    if (!fn) throw new TemplateSettingsError(`The template has no ${constructId}.`);
    const p = props(fn.logicalId);
    const mapping = plan.eventSources.find((m) => m.functionLogicalId === fn.logicalId);
    const queue = mapping ? queues.get(mapping.queueLogicalId) : undefined;
    functions[key] = {
      id: constructId,
      memoryMb: fn.memoryMb,
      timeoutSeconds: fn.timeoutSeconds,
      architecture: Array.isArray(p.Architectures) ? String(p.Architectures[0]) : 'x86_64',
      ...(p.ReservedConcurrentExecutions === undefined ? {} : { reservedConcurrency: Number(p.ReservedConcurrentExecutions) }),
      ...(provisioned.has(fn.logicalId) ? { provisionedConcurrency: provisioned.get(fn.logicalId)! } : {}),
      batchSize: mapping?.batchSize ?? 1,
      ...(queue ? { queue } : {}),
    };
  }
  const deadLetter = [...queues.values()].find((q) => q.id.startsWith('DeadLetterQueue'));
  if (!deadLetter) throw new TemplateSettingsError('The template has no dead-letter queue.');
  const spike = alarms.find((a) => a.MetricName === 'DeliveryAttempt');
  const poller = plan.functions.find((f) => f.id === 'DataPollerFunction');
  const schedule = poller ? plan.schedules.find((s) => s.functionLogicalId === poller.logicalId) : undefined;
  return {
    stackName,
    functions,
    deadLetter,
    ...(spike ? { notificationSpike: { threshold: Number(spike.Threshold), periodSeconds: Number(spike.Period) } } : {}),
    ...(schedule ? { pollSchedule: schedule.expression } : {}),
  };
}

/**
 * Synthesizes the environment's platform stack offline (no bundling, no cdk-nag: neither changes a
 * setting read here) and reads the settings from its template. Through the assembly cache `synth`,
 * `deploy` and `watchpoint dev` use (src/stack/assembly): with nothing changed, no synth at all.
 */
export async function readTemplateSettings(input: { envName: string; stage: StageConfig | StageConfigInput; env?: NodeJS.ProcessEnv; warn?: (text: string) => void }): Promise<TemplateSettings & { cached: boolean }> {
  const [{ readTemplatesThroughCache }, { stageConfigSchema }] = await Promise.all([import('../../stack/assembly/session.ts'), import('../../config/schema.ts')]);
  const stage = stageConfigSchema.parse(input.stage);
  return readTemplatesThroughCache({
    envName: input.envName,
    stage,
    appStage: stage,
    imageTag: 'capacity',
    env: input.env ?? process.env,
    ...(input.warn ? { warn: input.warn } : {}),
    read: (dir, stacks) => {
      const platform = stacks.find((stack) => stack.name === `watchpoint-${input.envName}`) ?? stacks.at(-1);
      if (!platform) throw new TemplateSettingsError(`The assembly in ${dir} has no platform stack.`);
      return settingsFromTemplate(JSON.parse(readFileSync(join(dir, platform.templateFile), 'utf8')) as Template, platform.name);
    },
  });
}
