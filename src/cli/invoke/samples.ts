// Built-in events for `watchpoint invoke --sample NAME`, one set per trigger, shaped as AWS delivers
// them (the aws-lambda types: SQSEvent, S3Event, ScheduledEvent, APIGatewayProxyEventV2) and with
// bodies that pass the consumers' own schemas (src/lambdas/shared/messages.ts), so a sample reaches
// the handler's logic instead of its input check.
import { createHash, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, S3Event, ScheduledEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { channelKey, evalJobId, notificationId } from '../../lambdas/shared/ids.ts';
import type { EvalJob, NotificationMessage } from '../../lambdas/shared/messages.ts';
import type { InvokableFunction, QueueName } from './catalogue.ts';

export interface SampleContext {
  envName: string;
  region: string;
  /** The stage's account, else a placeholder (the ARNs in a sample are informational). */
  account: string;
  now: Date;
}

export interface Sample {
  name: string;
  description: string;
  event: (context: SampleContext) => unknown;
}

const RUN_ID = '2026120612';

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

function sqsRecord(queue: QueueName, body: unknown, context: SampleContext, index: number): SQSRecord {
  const text = JSON.stringify(body);
  const sent = String(context.now.getTime() - 1000 * (index + 1));
  return {
    messageId: randomUUID(),
    receiptHandle: `AQEB${createHash('sha256').update(`${queue}${index}${sent}`).digest('base64')}`,
    body: text,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: sent, SenderId: 'AROAEXAMPLE:watchpoint', ApproximateFirstReceiveTimestamp: String(context.now.getTime()) },
    messageAttributes: {},
    md5OfBody: md5(text),
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${context.region}:${context.account}:watchpoint-${context.envName}-${queue}`,
    awsRegion: context.region,
  };
}

function evalJob(forecastType: EvalJob['forecast_type'], tileId: string, context: SampleContext): EvalJob {
  return {
    version: 1,
    job_id: evalJobId(RUN_ID, forecastType, tileId),
    forecast_type: forecastType,
    run_id: RUN_ID,
    issued_at: new Date(context.now.getTime() - 3600_000).toISOString(),
    bucket: `watchpoint-${context.envName}-forecasts`,
    tile: {
      id: tileId,
      key: `${forecastType}/${RUN_ID}/tiles/${tileId}`,
      bounds: { lat_min: 40, lat_max: 41, lon_min: -4, lon_max: -3 },
      variables: ['temperature_2m', 'precipitation'],
      checksum: `sha256:${createHash('sha256').update(tileId).digest('hex')}`,
    },
    watchpoints: 3,
  };
}

function notification(channel: NotificationMessage['channel'], index: number, context: SampleContext): NotificationMessage {
  const watchpointId = randomUUID();
  const issued = new Date(context.now.getTime() - 3600_000).toISOString();
  return {
    version: 1,
    notification_id: notificationId(watchpointId, 'nowcast', RUN_ID, channelKey(channel)),
    job_id: evalJobId(RUN_ID, 'nowcast', `t-${index}`),
    channel,
    watchpoint: { id: watchpointId, name: `Sample watchpoint ${index + 1}`, latitude: 40.42, longitude: -3.7, variable: 'temperature_2m', condition: 'gt', threshold: 30 },
    forecast: { forecast_type: 'nowcast', run_id: RUN_ID, issued_at: issued },
    trigger: { valid_time: new Date(context.now.getTime() + 3 * 3600_000).toISOString(), lead_hours: 3, value: 31.5, extreme_value: 33.2, grid_latitude: 40.4, grid_longitude: -3.7 },
    created_at: context.now.toISOString(),
  };
}

function sqsBatch(queue: QueueName, bodies: (context: SampleContext) => unknown[]): Sample {
  return {
    name: 'batch',
    description: `an SQS batch from the ${queue} queue with valid message bodies`,
    event: (context): SQSEvent => ({ Records: bodies(context).map((body, i) => sqsRecord(queue, body, context, i)) }),
  };
}

function scheduled(rule: string, context: SampleContext): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: context.account,
    time: context.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: context.region,
    resources: [`arn:aws:events:${context.region}:${context.account}:rule/watchpoint-${context.envName}-${rule}`],
    detail: {},
  };
}

function httpRequest(method: string, path: string, context: SampleContext): APIGatewayProxyEventV2 {
  const requestId = createHash('sha1').update(`${method}${path}${context.now.getTime()}`).digest('base64').slice(0, 16);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { accept: 'application/json', host: `api.${context.envName}.example.com`, 'user-agent': 'watchpoint-invoke', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' },
    requestContext: {
      accountId: context.account,
      apiId: 'a1b2c3d4e5',
      domainName: `api.${context.envName}.example.com`,
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'watchpoint-invoke' },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: context.now.toUTCString(),
      timeEpoch: context.now.getTime(),
    },
    isBase64Encoded: false,
  };
}

const QUEUE_SAMPLES: Record<QueueName, Sample> = {
  // The urgent eval queue's event source has batch size 1; the standard one 10.
  'eval-urgent': sqsBatch('eval-urgent', (c) => [evalJob('nowcast', 't-0001', c)]),
  'eval-standard': sqsBatch('eval-standard', (c) => [evalJob('medium_range', 't-0001', c), evalJob('medium_range', 't-0002', c)]),
  'notifications-email': sqsBatch('notifications-email', (c) => [0, 1].map((i) => notification({ type: 'email', address: `oncall+${i}@example.com` }, i, c))),
  'notifications-webhook': sqsBatch('notifications-webhook', (c) => [0, 1].map((i) => notification({ type: 'webhook', url: `https://hooks.example.com/watchpoint/${i}` }, i, c))),
};

/** The samples one function accepts, by name. */
export function samplesFor(fn: InvokableFunction): Sample[] {
  const trigger = fn.trigger;
  switch (trigger.kind) {
    case 'sqs':
      return [QUEUE_SAMPLES[trigger.queue]];
    case 's3-success':
      return [
        {
          name: 'success',
          description: 'the S3 event for a forecast run\'s _SUCCESS object (nowcast)',
          event: (c): S3Event => ({
            Records: [
              {
                eventVersion: '2.1',
                eventSource: 'aws:s3',
                awsRegion: c.region,
                eventTime: c.now.toISOString(),
                eventName: 'ObjectCreated:Put',
                userIdentity: { principalId: 'AWS:AROAEXAMPLE' },
                requestParameters: { sourceIPAddress: '203.0.113.7' },
                responseElements: { 'x-amz-request-id': 'C3D13FE58DE4C810', 'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD' },
                s3: {
                  s3SchemaVersion: '1.0',
                  configurationId: 'watchpoint-success',
                  bucket: { name: `watchpoint-${c.envName}-forecasts`, ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: `arn:aws:s3:::watchpoint-${c.envName}-forecasts` },
                  object: { key: `nowcast/${RUN_ID}/_SUCCESS`, size: 0, eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '0065706F1A2B3C4D5E' },
                },
              },
            ],
          }),
        },
      ];
    case 'schedule':
      return trigger.rules.map((rule) =>
        rule === 'data-poller'
          ? { name: 'schedule', description: 'the EventBridge scheduled event of DataPollerSchedule (every 15 minutes)', event: (c: SampleContext) => scheduled('DataPollerSchedule', c) }
          : { name: rule, description: `the archiver rule's input {"task":"${rule}"}`, event: () => ({ task: rule }) },
      );
    case 'api':
      return [
        { name: 'health', description: 'an API Gateway v2 (HTTP API) request: GET /health', event: (c) => httpRequest('GET', '/health', c) },
        { name: 'list-watchpoints', description: 'an API Gateway v2 request: GET /v1/watchpoints without an API key (401)', event: (c) => httpRequest('GET', '/v1/watchpoints', c) },
      ];
  }
}
