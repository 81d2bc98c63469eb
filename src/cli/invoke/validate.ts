// An event is checked against its function's trigger before any call: the envelope AWS would deliver
// (SQS batch, S3 notification, EventBridge scheduled event or rule input, API Gateway v2 request)
// and, for queue messages, the body against the consumer's own schema. Each problem names the field
// by its path in the event (Records[1].body.watchpoint.id), never the value (it may be private).
import { FORECAST_TYPES, RunId, describeIssue, EvalJob, NotificationMessage } from '../../lambdas/shared/messages.ts';
import { TASKS } from '../../lambdas/archiver/tasks.ts';
import type { InvokableFunction, QueueName } from './catalogue.ts';

/** The first problems found (at most five), each "path: what is wrong". Empty when the event fits. */
export function validateEvent(fn: InvokableFunction, event: unknown): string[] {
  const problems: string[] = [];
  const check = new Checker(problems);
  const trigger = fn.trigger;
  switch (trigger.kind) {
    case 'sqs':
      sqsEvent(check, event, trigger.queue);
      break;
    case 's3-success':
      s3Event(check, event);
      break;
    case 'schedule':
      if (trigger.rules.includes('data-poller')) scheduledEvent(check, event);
      else ruleInput(check, event);
      break;
    case 'api':
      httpApiEvent(check, event);
      break;
  }
  return problems.slice(0, 5);
}

class Checker {
  readonly problems: string[];
  constructor(problems: string[]) {
    this.problems = problems;
  }
  fail(path: string, problem: string): false {
    this.problems.push(`${path || '(the event)'}: ${problem}`);
    return false;
  }
  object(path: string, value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? true : this.fail(path, `expected an object, got ${kind(value)}`);
  }
  string(path: string, value: unknown, nonEmpty = true): value is string {
    if (typeof value !== 'string') return this.fail(path, `expected a string, got ${kind(value)}`);
    return nonEmpty && value === '' ? this.fail(path, 'must not be empty') : true;
  }
  equals(path: string, value: unknown, expected: string): boolean {
    return value === expected ? true : this.fail(path, `expected "${expected}", got ${typeof value === 'string' ? `"${value.slice(0, 40)}"` : kind(value)}`);
  }
  records(value: unknown, max: number): unknown[] | undefined {
    if (!this.object('', value)) return undefined;
    const records = value.Records;
    if (!Array.isArray(records)) return (this.fail('Records', `expected an array, got ${kind(records)}`), undefined);
    if (records.length === 0) return (this.fail('Records', 'must hold at least one record'), undefined);
    if (records.length > max) return (this.fail('Records', `holds ${records.length} records; the trigger delivers at most ${max}`), undefined);
    return records;
  }
}

function kind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value;
}

const QUEUE_SCHEMAS = { 'eval-urgent': EvalJob, 'eval-standard': EvalJob, 'notifications-email': NotificationMessage, 'notifications-webhook': NotificationMessage } as const;
/** Each queue's event source batch size (src/stack/constructs/functions.ts). */
const BATCH_SIZE: Record<QueueName, number> = { 'eval-urgent': 1, 'eval-standard': 10, 'notifications-email': 10, 'notifications-webhook': 10 };

function sqsEvent(check: Checker, event: unknown, queue: QueueName): void {
  const records = check.records(event, BATCH_SIZE[queue]);
  records?.forEach((record, i) => {
    const at = `Records[${i}]`;
    if (!check.object(at, record)) return;
    check.string(`${at}.messageId`, record.messageId);
    check.string(`${at}.receiptHandle`, record.receiptHandle);
    check.equals(`${at}.eventSource`, record.eventSource, 'aws:sqs');
    check.string(`${at}.eventSourceARN`, record.eventSourceARN);
    check.object(`${at}.attributes`, record.attributes);
    if (!check.string(`${at}.body`, record.body)) return;
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      check.fail(`${at}.body`, 'is not JSON');
      return;
    }
    const parsed = QUEUE_SCHEMAS[queue].safeParse(body);
    if (!parsed.success) {
      for (const issue of parsed.error.issues.slice(0, 3)) check.fail([`${at}.body`, ...issue.path.map(String)].join('.'), describeIssue(issue));
    }
    const channel = (body as { channel?: { type?: unknown } } | null)?.channel?.type;
    if (parsed.success && queue === 'notifications-email' && channel !== 'email') check.fail(`${at}.body.channel.type`, 'the email queue carries email notifications only');
    if (parsed.success && queue === 'notifications-webhook' && channel !== 'webhook') check.fail(`${at}.body.channel.type`, 'the webhook queue carries webhook notifications only');
  });
}

const SUCCESS_KEY = new RegExp(`^(${FORECAST_TYPES.join('|')})/([^/]+)/_SUCCESS$`);

function s3Event(check: Checker, event: unknown): void {
  const records = check.records(event, 100);
  records?.forEach((record, i) => {
    const at = `Records[${i}]`;
    if (!check.object(at, record)) return;
    check.equals(`${at}.eventSource`, record.eventSource, 'aws:s3');
    if (check.string(`${at}.eventName`, record.eventName) && !record.eventName.startsWith('ObjectCreated:')) check.fail(`${at}.eventName`, 'expected an ObjectCreated:* event (the bucket notifies the batcher on object creation)');
    if (!check.object(`${at}.s3`, record.s3)) return;
    if (check.object(`${at}.s3.bucket`, record.s3.bucket)) check.string(`${at}.s3.bucket.name`, record.s3.bucket.name);
    if (!check.object(`${at}.s3.object`, record.s3.object) || !check.string(`${at}.s3.object.key`, record.s3.object.key)) return;
    const match = SUCCESS_KEY.exec(decodeURIComponent(record.s3.object.key.replace(/\+/g, ' ')));
    if (!match) check.fail(`${at}.s3.object.key`, `expected <${FORECAST_TYPES.join('|')}>/<run_id>/_SUCCESS (the notification's suffix filter)`);
    else if (!RunId.safeParse(match[2]).success) check.fail(`${at}.s3.object.key`, 'the run id is not 1-128 of [A-Za-z0-9._-], starting alphanumeric');
  });
}

function scheduledEvent(check: Checker, event: unknown): void {
  if (!check.object('', event)) return;
  check.equals('source', event.source, 'aws.events');
  check.equals('detail-type', event['detail-type'], 'Scheduled Event');
  check.string('time', event.time);
}

function ruleInput(check: Checker, event: unknown): void {
  if (!check.object('', event)) return;
  if (!(TASKS as readonly unknown[]).includes(event.task)) check.fail('task', `expected one of ${TASKS.map((t) => `"${t}"`).join(', ')}`);
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

function httpApiEvent(check: Checker, event: unknown): void {
  if (!check.object('', event)) return;
  check.equals('version', event.version, '2.0');
  check.string('routeKey', event.routeKey);
  if (check.string('rawPath', event.rawPath) && !event.rawPath.startsWith('/')) check.fail('rawPath', 'must start with "/"');
  if (event.rawQueryString !== undefined) check.string('rawQueryString', event.rawQueryString, false);
  if (event.headers !== undefined && check.object('headers', event.headers)) {
    for (const [name, value] of Object.entries(event.headers)) if (typeof value !== 'string') check.fail(`headers.${name}`, `expected a string, got ${kind(value)}`);
  }
  if (event.body !== undefined) check.string('body', event.body, false);
  if (typeof event.isBase64Encoded !== 'boolean') check.fail('isBase64Encoded', `expected a boolean, got ${kind(event.isBase64Encoded)}`);
  if (!check.object('requestContext', event.requestContext)) return;
  check.string('requestContext.requestId', event.requestContext.requestId);
  if (!check.object('requestContext.http', event.requestContext.http)) return;
  const method = event.requestContext.http.method;
  if (check.string('requestContext.http.method', method) && !METHODS.includes(method)) check.fail('requestContext.http.method', `expected one of ${METHODS.join(', ')}`);
  check.string('requestContext.http.sourceIp', event.requestContext.http.sourceIp);
}
