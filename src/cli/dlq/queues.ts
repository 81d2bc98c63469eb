// The DLQ and its source queues, read from the deployed stack; never guessed from names.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { WatchpointError, userError } from '../errors.ts';
import { sdkClients } from '../aws.ts';
import { resolveStage, stackNames, type CommandContext } from '../context.ts';
import { describeDeployedStack, explainAwsError } from '../stack-resources.ts';
import { deadLetterTarget, queueNameOf } from '../sqs-queues.ts';

export interface QueueRef {
  /** The stack output's name without "Url" (e.g. EvalQueueUrgent), else the logical ID. */
  label: string;
  logicalId: string;
  /** The SQS queue name: the last segment of the URL. */
  name: string;
  url: string;
  arn: string;
}

export interface DeadLetterSetup {
  stackName: string;
  dlq: QueueRef;
  /** Queues of the stack whose RedrivePolicy targets this DLQ. */
  sources: QueueRef[];
}

/**
 * DeadLetterQueueUrl from the stack's outputs; the other AWS::SQS::Queue resources of the stack are
 * candidate sources. Each queue's ARN comes from GetQueueAttributes (QueueArn), not from its URL, and
 * a candidate counts as a source only when its RedrivePolicy's deadLetterTargetArn is the DLQ's ARN.
 */
export async function resolveDeadLetterSetup(input: {
  cloudformation: CloudFormationClient;
  sqs: SQSClient;
  envName: string;
}): Promise<DeadLetterSetup> {
  const stackName = stackNames(input.envName).platform;
  const stack = await describeDeployedStack(input.cloudformation, stackName, input.envName);
  const dlqUrl = stack.outputs.DeadLetterQueueUrl;
  if (!dlqUrl) {
    throw new WatchpointError(`Stack ${stackName} has no DeadLetterQueueUrl output.`, {
      code: 'DLQ_NOT_IN_STACK',
      fault: 'system',
      fix: `Deploy the current version with \`watchpoint deploy --env ${input.envName}\`.`,
    });
  }
  const labels = new Map<string, string>();
  for (const [key, value] of Object.entries(stack.outputs)) if (key.endsWith('Url')) labels.set(value, key.slice(0, -3));
  const queues = stack.resources.filter((resource) => resource.type === 'AWS::SQS::Queue' && resource.physicalId !== '');
  if (!queues.some((queue) => queue.physicalId === dlqUrl)) {
    throw new WatchpointError(`The DeadLetterQueueUrl output of ${stackName} (${dlqUrl}) is not one of the stack's queues.`, {
      code: 'DLQ_NOT_IN_STACK',
      fault: 'system',
      fix: `Check the stack in the CloudFormation console; redeploy with \`watchpoint deploy --env ${input.envName}\`.`,
    });
  }
  const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
  let described;
  try {
    described = await Promise.all(
      queues.map(async (queue) => {
        const answer = await input.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.physicalId, AttributeNames: ['QueueArn', 'RedrivePolicy'] }));
        const arn = answer.Attributes?.QueueArn;
        if (!arn) throw new WatchpointError(`SQS did not return the ARN of ${queue.physicalId}.`, { code: 'QUEUE_ARN_MISSING', fault: 'system' });
        const ref: QueueRef = { label: labels.get(queue.physicalId) ?? queue.logicalId, logicalId: queue.logicalId, name: queueNameOf(queue.physicalId), url: queue.physicalId, arn };
        return { ref, deadLetterTargetArn: deadLetterTarget(answer.Attributes?.RedrivePolicy) };
      }),
    );
  } catch (error) {
    throw explainAwsError(error, { envName: input.envName });
  }
  const dlq = described.find((queue) => queue.ref.url === dlqUrl)!.ref;
  const sources = described.filter((queue) => queue.ref.url !== dlqUrl && queue.deadLetterTargetArn === dlq.arn).map((queue) => queue.ref);
  sources.sort((a, b) => a.label.localeCompare(b.label));
  return { stackName, dlq, sources };
}


/** --source NAME: the label (EvalQueueUrgent), the logical ID or the queue name. */
export function findSource(setup: DeadLetterSetup, wanted: string): QueueRef {
  const needle = wanted.trim();
  const found = setup.sources.find((queue) => queue.label === needle || queue.logicalId === needle || queue.name === needle)
    ?? setup.sources.find((queue) => queue.label.toLowerCase() === needle.toLowerCase());
  if (found) return found;
  const valid = setup.sources.map((queue) => `${queue.label} (${queue.name})`).join(', ');
  throw userError(
    'DLQ_SOURCE_UNKNOWN',
    `--source "${wanted}" is not a source queue of ${setup.dlq.name} in stack ${setup.stackName}.`,
    setup.sources.length > 0 ? `Use "all" or one of: ${valid}.` : 'This DLQ has no source queues in the stack; redeploy the stack.',
  );
}

/** A DeadLetterQueueSourceArn as the operator knows it. */
export function describeSource(setup: DeadLetterSetup, arn: string | undefined): string {
  if (!arn) return '(no source recorded)';
  const queue = setup.sources.find((source) => source.arn === arn);
  return queue ? queue.label : `(not in stack) ${arn}`;
}

/** The stage, its clients (injected ones first) and the DLQ with its sources, read from the stack. */
export async function connect(context: CommandContext, injected: { sqs?: SQSClient; cloudformation?: CloudFormationClient }): Promise<{ setup: DeadLetterSetup; sqs: SQSClient; envName: string; region: string }> {
  const { envName, stage } = await resolveStage(context);
  const made = await sdkClients(stage, [...(injected.sqs ? [] : ['sqs' as const]), ...(injected.cloudformation ? [] : ['cloudformation' as const])]);
  const sqs = injected.sqs ?? made.sqs;
  const cloudformation = injected.cloudformation ?? made.cloudformation;
  const setup = await resolveDeadLetterSetup({ cloudformation, sqs, envName });
  return { setup, sqs, envName, region: stage.region };
}

/** Runs one AWS call; its error comes back explained (what it means for this env, and the fix). */
export async function explained<T>(call: () => Promise<T>, envName: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explainAwsError(error, { envName });
  }
}
