// A deployed platform in moto: the stack `watchpoint-<env>` with the nine log groups under the logical
// ids CDK gives them (test/incident/groups.test.ts checks those against a real synth) and the five
// queues with the stack's outputs, created through CloudFormation so the CLI finds them the way it
// does in AWS. writeLogLines() ships captured handler output into a group, as Lambda would.
import { CloudFormationClient, CreateStackCommand, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { LOG_SOURCES } from '../../src/cli/logs/groups.ts';
import { tempDir, writeConfig } from '../helpers/cli.ts';
import { motoClient, motoStage, uniqueEnvName, useMotoCredentials } from '../helpers/moto.ts';
import { runForecastThroughHandlers, type RunLogs } from './pipeline-run.ts';

export function motoClients() {
  return { cloudformation: motoClient(CloudFormationClient), logs: motoClient(CloudWatchLogsClient), sqs: motoClient(SQSClient) };
}

/** Logical id as CDK derives it: the path's ids joined, plus an 8-hex-digit hash. */
const logicalId = (prefix: string, index: number) => `${prefix}${(0x1a2b3c00 + index).toString(16).toUpperCase()}`;

export interface Platform {
  stackName: string;
  /** alias -> physical log group name. */
  groups: Record<string, string>;
  queues: Record<string, string>;
}

export async function deployPlatform(envName: string, options: { only?: string[] } = {}): Promise<Platform> {
  const { cloudformation } = motoClients();
  const stackName = `watchpoint-${envName}`;
  const sources = LOG_SOURCES.filter((s) => !options.only || options.only.includes(s.alias));
  const resources: Record<string, unknown> = {};
  sources.forEach((source, i) => (resources[logicalId(source.logicalIdPrefix, i)] = { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } }));
  const dlq = 'QueuesDeadLetterQueue1A2B3C4D';
  resources[dlq] = { Type: 'AWS::SQS::Queue', Properties: {} };
  const queueIds = { EvalQueueUrgent: 'QueuesEvalQueueUrgentAB12CD34', EvalQueueStandard: 'QueuesEvalQueueStandardAB12CD35', NotificationQueue: 'QueuesNotificationQueueAB12CD36', WebhookNotificationQueue: 'QueuesWebhookNotificationQueueAB12CD37' };
  for (const id of Object.values(queueIds)) {
    resources[id] = { Type: 'AWS::SQS::Queue', Properties: { RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 3 } } };
  }
  const outputs: Record<string, unknown> = { DeadLetterQueueUrl: { Value: { Ref: dlq } } };
  for (const [name, id] of Object.entries(queueIds)) outputs[`${name}Url`] = { Value: { Ref: id } };
  await cloudformation.send(new CreateStackCommand({ StackName: stackName, TemplateBody: JSON.stringify({ Resources: resources, Outputs: outputs }) }));
  const described = await cloudformation.send(new DescribeStackResourcesCommand({ StackName: stackName }));
  const groups: Record<string, string> = {};
  const queues: Record<string, string> = {};
  for (const resource of described.StackResources ?? []) {
    const source = sources.find((s) => resource.LogicalResourceId!.startsWith(s.logicalIdPrefix));
    if (source && resource.ResourceType === 'AWS::Logs::LogGroup') groups[source.alias] = resource.PhysicalResourceId!;
    if (resource.ResourceType === 'AWS::SQS::Queue') queues[resource.LogicalResourceId!] = resource.PhysicalResourceId!;
  }
  return { stackName, groups, queues };
}

let streamCounter = 0;

/**
 * Writes captured stdout lines to a log group in one new stream, as Lambda does: each line one event,
 * at the Powertools line's own time (`timestamp`, or `_aws.Timestamp` for EMF; other lines at
 * `fallback`), in time order.
 */
export async function writeLogLines(logGroupName: string, lines: readonly string[], fallback = Date.now()): Promise<void> {
  if (lines.length === 0) return;
  const { logs } = motoClients();
  const logStreamName = `2026/12/01/[$LATEST]${(streamCounter += 1).toString(16).padStart(32, '0')}`;
  await logs.send(new CreateLogStreamCommand({ logGroupName, logStreamName }));
  const events = lines
    .map((message) => {
      let timestamp = fallback;
      try {
        const parsed = JSON.parse(message) as { timestamp?: string; _aws?: { Timestamp?: number } };
        if (parsed.timestamp) timestamp = Date.parse(parsed.timestamp);
        else if (parsed._aws?.Timestamp) timestamp = parsed._aws.Timestamp;
      } catch {
        // a plain text line
      }
      return { timestamp, message };
    })
    .sort((a, b) => a.timestamp - b.timestamp);
  for (let i = 0; i < events.length; i += 5000) {
    await logs.send(new PutLogEventsCommand({ logGroupName, logStreamName, logEvents: events.slice(i, i + 5000) }));
  }
}

export interface IncidentWorld {
  run: RunLogs;
  platform: Platform;
  /** A directory whose watchpoint.config.json has both environments, pointed at moto. */
  cwd: string;
  envName: string;
  /** An environment in the config with no stack. */
  undeployed: string;
}

/**
 * The forecast run through the real handlers, its lines in a deployed platform's log groups, what the
 * eval worker parked in the DLQ in the stack's DLQ, moto's credentials for the CLI, and a config.
 */
export async function incidentWorld(): Promise<IncidentWorld> {
  const run = await runForecastThroughHandlers({ fauxqs: inject('fauxqsEndpoint'), ses: inject('sesEndpoint'), databaseUrl: inject('databaseUrl') });
  const envName = uniqueEnvName();
  const undeployed = uniqueEnvName();
  const platform = await deployPlatform(envName);
  for (const [alias, lines] of Object.entries(run.lines)) await writeLogLines(platform.groups[alias]!, lines);
  const { sqs } = motoClients();
  for (const body of run.parked) await sqs.send(new SendMessageCommand({ QueueUrl: platform.queues['QueuesDeadLetterQueue1A2B3C4D']!, MessageBody: body }));
  useMotoCredentials();
  const cwd = await tempDir();
  await writeConfig(cwd, { [envName]: motoStage(), [undeployed]: motoStage() });
  return { run, platform, cwd, envName, undeployed };
}
