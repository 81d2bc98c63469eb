// The dev platform's one description of what to run: the synthesized CloudFormation template of the
// `local` stage, read into a plan (queues, buckets, functions with their environment, event source
// mappings, bucket notifications, schedules, HTTP routes). Nothing here is a second copy of the
// stack: a queue, a mapping or a variable added to src/stack appears in `watchpoint dev` by itself.
import { FUNCTION_HANDLERS } from '../stack/bundling/handlers.ts';
import { WatchpointError } from '../errors.ts';

type Json = unknown;
interface Resource {
  Type: string;
  Properties?: Record<string, Json>;
  Metadata?: Record<string, Json>;
}
export interface Template {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: Json }>;
}

export interface QueuePlan {
  logicalId: string;
  /** The construct id (e.g. EvalQueueUrgent), the queue's local name after `watchpoint-local-`. */
  id: string;
  visibilityTimeoutSeconds: number;
  redrive?: { deadLetterLogicalId: string; maxReceiveCount: number };
}

export interface FunctionPlan {
  logicalId: string;
  /** The construct id (ApiFunction, EvalWorkerUrgent, ...): the name in logs. */
  id: string;
  /** src/lambdas/<handlerDir>/index.ts */
  handlerDir: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** The template's variables, unresolved (intrinsics resolve once physical ids exist). */
  environment: Record<string, Json>;
  /** The log group of LoggingConfig (the template's own), if it names one. */
  logGroupLogicalId?: string;
}

export interface EventSourcePlan {
  logicalId: string;
  queueLogicalId: string;
  functionLogicalId: string;
  batchSize: number;
  reportBatchItemFailures: boolean;
}

export interface NotificationPlan {
  bucketLogicalId: string;
  functionLogicalId: string;
  events: string[];
  prefix?: string;
  suffix?: string;
}

export interface SchedulePlan {
  logicalId: string;
  expression: string;
  functionLogicalId: string;
  input: Json;
}

export interface RoutePlan {
  routeKey: string;
  functionLogicalId: string;
  payloadFormatVersion: string;
}

export interface DevPlan {
  queues: QueuePlan[];
  buckets: { logicalId: string; id: string }[];
  functions: FunctionPlan[];
  eventSources: EventSourcePlan[];
  notifications: NotificationPlan[];
  schedules: SchedulePlan[];
  routes: RoutePlan[];
  /** Every resource with its construct path, for the CloudFormation read calls. */
  resources: { logicalId: string; type: string; path: string }[];
}

export class TemplateError extends WatchpointError {
  constructor(message: string) {
    super(message, {
      code: 'DEV_TEMPLATE_UNSUPPORTED',
      fault: 'system',
      fix: "This is a bug in the dev runtime's template reader (src/dev/template.ts): it must learn the new construct; report it with this output.",
    });
    this.name = 'TemplateError';
  }
}

const isRecord = (value: Json): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `watchpoint-local/Queues/EvalQueueUrgent/Resource` -> `EvalQueueUrgent` (the construct of the resource). */
function constructId(path: string, logicalId: string): string {
  const parts = path.split('/').filter((part) => part !== 'Resource' && part !== 'Function' && part !== 'Default');
  return parts[parts.length - 1] ?? logicalId;
}

function pathOf(logicalId: string, resource: Resource): string {
  const path = resource.Metadata?.['aws:cdk:path'];
  return typeof path === 'string' ? path : logicalId;
}

/** The logical id a value points at with Ref or Fn::GetAtt, searching nested intrinsics. */
function referencedIds(value: Json): string[] {
  if (Array.isArray(value)) return value.flatMap(referencedIds);
  if (!isRecord(value)) return [];
  if (typeof value.Ref === 'string') return [value.Ref];
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return [getAtt[0]];
  return Object.values(value).flatMap(referencedIds);
}

export function readPlan(template: Template): DevPlan {
  const entries = Object.entries(template.Resources);
  const byId = new Map(entries);
  const ofType = (type: string) => entries.filter(([, resource]) => resource.Type === type);
  /** A function, or an alias of one, as the function's logical id. */
  const functionOf = (value: Json, what: string): string => {
    for (const id of referencedIds(value)) {
      const resource = byId.get(id);
      if (resource?.Type === 'AWS::Lambda::Function') return id;
      if (resource?.Type === 'AWS::Lambda::Alias') return functionOf(resource.Properties?.FunctionName, what);
      if (resource?.Type === 'AWS::Lambda::Version') return functionOf(resource.Properties?.FunctionName, what);
    }
    throw new TemplateError(`${what} names no function of the template.`);
  };

  const queues: QueuePlan[] = ofType('AWS::SQS::Queue').map(([logicalId, resource]) => {
    const props = resource.Properties ?? {};
    const redrive = props.RedrivePolicy;
    const plan: QueuePlan = { logicalId, id: constructId(pathOf(logicalId, resource), logicalId), visibilityTimeoutSeconds: Number(props.VisibilityTimeout ?? 30) };
    if (isRecord(redrive)) {
      const [target] = referencedIds(redrive.deadLetterTargetArn);
      if (!target) throw new TemplateError(`Queue ${logicalId} has a RedrivePolicy without a dead-letter queue.`);
      plan.redrive = { deadLetterLogicalId: target, maxReceiveCount: Number(redrive.maxReceiveCount) };
    }
    return plan;
  });

  const buckets = ofType('AWS::S3::Bucket').map(([logicalId, resource]) => ({ logicalId, id: constructId(pathOf(logicalId, resource), logicalId) }));

  const handlers = FUNCTION_HANDLERS as Record<string, string>;
  const functions: FunctionPlan[] = [];
  for (const [logicalId, resource] of ofType('AWS::Lambda::Function')) {
    const path = pathOf(logicalId, resource);
    // CDK's own singleton functions (the bucket-notifications handler) configure AWS, not our platform.
    const id = path.split('/').find((part) => part in handlers);
    if (id === undefined) continue;
    const props = resource.Properties ?? {};
    const environment = isRecord(props.Environment) && isRecord(props.Environment.Variables) ? props.Environment.Variables : {};
    const [logGroupLogicalId] = isRecord(props.LoggingConfig) ? referencedIds(props.LoggingConfig.LogGroup) : [];
    functions.push({ logicalId, id, handlerDir: handlers[id]!, timeoutSeconds: Number(props.Timeout ?? 3), memoryMb: Number(props.MemorySize ?? 128), environment, ...(logGroupLogicalId ? { logGroupLogicalId } : {}) });
  }
  const known = new Set(functions.map((fn) => fn.logicalId));

  const eventSources: EventSourcePlan[] = ofType('AWS::Lambda::EventSourceMapping').map(([logicalId, resource]) => {
    const props = resource.Properties ?? {};
    const [queueLogicalId] = referencedIds(props.EventSourceArn);
    if (!queueLogicalId || byId.get(queueLogicalId)?.Type !== 'AWS::SQS::Queue') throw new TemplateError(`Event source mapping ${logicalId} reads no SQS queue of the template.`);
    const responseTypes = Array.isArray(props.FunctionResponseTypes) ? props.FunctionResponseTypes : [];
    return {
      logicalId,
      queueLogicalId,
      functionLogicalId: functionOf(props.FunctionName, `Event source mapping ${logicalId}`),
      batchSize: Number(props.BatchSize ?? 10),
      reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
    };
  });

  const notifications: NotificationPlan[] = [];
  for (const [logicalId, resource] of ofType('Custom::S3BucketNotifications')) {
    const props = resource.Properties ?? {};
    const [bucketLogicalId] = referencedIds(props.BucketName);
    const config = isRecord(props.NotificationConfiguration) ? props.NotificationConfiguration : {};
    const lambdas = Array.isArray(config.LambdaFunctionConfigurations) ? config.LambdaFunctionConfigurations : [];
    if (!bucketLogicalId) throw new TemplateError(`Bucket notifications ${logicalId} name no bucket.`);
    for (const entry of lambdas) {
      if (!isRecord(entry)) continue;
      const rules = isRecord(entry.Filter) && isRecord(entry.Filter.Key) && Array.isArray(entry.Filter.Key.FilterRules) ? entry.Filter.Key.FilterRules : [];
      const rule = (name: string) => rules.find((r): r is Record<string, Json> => isRecord(r) && String(r.Name).toLowerCase() === name)?.Value as string | undefined;
      const prefix = rule('prefix');
      const suffix = rule('suffix');
      notifications.push({
        bucketLogicalId,
        functionLogicalId: functionOf(entry.LambdaFunctionArn, `Bucket notification of ${bucketLogicalId}`),
        events: (Array.isArray(entry.Events) ? entry.Events : []).map(String),
        ...(prefix === undefined ? {} : { prefix }),
        ...(suffix === undefined ? {} : { suffix }),
      });
    }
  }

  const schedules: SchedulePlan[] = [];
  for (const [logicalId, resource] of ofType('AWS::Events::Rule')) {
    const props = resource.Properties ?? {};
    if (typeof props.ScheduleExpression !== 'string' || props.State === 'DISABLED') continue;
    for (const target of Array.isArray(props.Targets) ? props.Targets : []) {
      if (!isRecord(target)) continue;
      const functionLogicalId = functionOf(target.Arn, `Schedule ${logicalId}`);
      const input = typeof target.Input === 'string' ? (JSON.parse(target.Input) as Json) : {};
      schedules.push({ logicalId, expression: props.ScheduleExpression, functionLogicalId, input });
    }
  }

  const routes: RoutePlan[] = ofType('AWS::ApiGatewayV2::Route').map(([logicalId, resource]) => {
    const props = resource.Properties ?? {};
    const [integrationId] = referencedIds(props.Target);
    const integration = integrationId ? byId.get(integrationId) : undefined;
    if (!integration || integration.Properties?.IntegrationType !== 'AWS_PROXY') throw new TemplateError(`Route ${logicalId} has no Lambda proxy integration.`);
    return {
      routeKey: String(props.RouteKey),
      functionLogicalId: functionOf(integration.Properties.IntegrationUri, `Route ${logicalId}`),
      payloadFormatVersion: String(integration.Properties.PayloadFormatVersion ?? '2.0'),
    };
  });

  for (const source of [...eventSources, ...notifications, ...schedules, ...routes]) {
    if (!known.has(source.functionLogicalId)) throw new TemplateError(`${source.functionLogicalId} is triggered but is not a WatchPoint function (FUNCTION_HANDLERS).`);
  }
  const resources = entries.map(([logicalId, resource]) => ({ logicalId, type: resource.Type, path: pathOf(logicalId, resource) }));
  return { queues, buckets, functions, eventSources, notifications, schedules, routes, resources };
}

/** What a Ref or Fn::GetAtt of a resource resolves to locally. */
export interface PhysicalResource {
  ref: string;
  arn?: string;
}

/**
 * Resolves a template value (strings, Ref, Fn::GetAtt ... Arn, Fn::Join, Fn::Select, Fn::Split)
 * against the local physical ids. Anything else is an error naming it, never a silent blank.
 */
export function resolveValue(value: Json, physical: ReadonlyMap<string, PhysicalResource>, pseudo: Record<string, string>, where: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isRecord(value)) {
    if (typeof value.Ref === 'string') {
      const ref = pseudo[value.Ref] ?? physical.get(value.Ref)?.ref;
      if (ref === undefined) throw new TemplateError(`${where}: Ref ${value.Ref} has no local resource.`);
      return ref;
    }
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt)) {
      const arn = physical.get(String(getAtt[0]))?.arn;
      if (getAtt[1] !== 'Arn' || arn === undefined) throw new TemplateError(`${where}: Fn::GetAtt ${getAtt.join('.')} has no local value.`);
      return arn;
    }
    const join = value['Fn::Join'];
    if (Array.isArray(join) && Array.isArray(join[1])) return join[1].map((part, i) => resolveValue(part, physical, pseudo, `${where}[${i}]`)).join(String(join[0]));
    const select = value['Fn::Select'];
    if (Array.isArray(select)) {
      const list = resolveList(select[1], physical, pseudo, where);
      return list[Number(select[0])] ?? '';
    }
  }
  throw new TemplateError(`${where}: ${JSON.stringify(value).slice(0, 120)} cannot be resolved locally.`);
}

function resolveList(value: Json, physical: ReadonlyMap<string, PhysicalResource>, pseudo: Record<string, string>, where: string): string[] {
  if (isRecord(value) && Array.isArray(value['Fn::Split'])) {
    const [separator, source] = value['Fn::Split'] as [string, Json];
    return resolveValue(source, physical, pseudo, where).split(separator);
  }
  if (Array.isArray(value)) return value.map((item, i) => resolveValue(item, physical, pseudo, `${where}[${i}]`));
  throw new TemplateError(`${where}: ${JSON.stringify(value).slice(0, 120)} is not a list.`);
}
