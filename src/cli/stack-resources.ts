// Finding a deployed environment: its stacks, outputs and physical resources, each read once.
import type { CloudFormationClient, Output, StackResource } from '@aws-sdk/client-cloudformation';
import { explainAwsError } from './aws/explain.ts';
import { WatchpointError, userError } from './errors.ts';

export interface DeployedStack {
  name: string;
  /** The stack's ARN (its account, region and partition name other ARNs, e.g. log groups for Live Tail). */
  stackId?: string | undefined;
  status: string;
  lastUpdated: Date | undefined;
  driftStatus: string | undefined;
  /** When drift was last detected; undefined when it never was. */
  driftCheckedAt?: Date | undefined;
  outputs: Record<string, string>;
  resources: { logicalId: string; physicalId: string; type: string; status: string }[];
}

/** DescribeStackResources returns at most this many resources, silently dropping the rest. */
export const DESCRIBE_STACK_RESOURCES_LIMIT = 100;

/**
 * One DescribeStacks and one DescribeStackResources for a stack. A stack that does not exist is a
 * user error that names `watchpoint deploy`; expired credentials get a message saying how to renew.
 * DescribeStackResources stops at 100 resources; when it returns that many, the full list is read
 * with ListStackResources (100 per page) instead, so no alarm or queue is ever missed.
 */
export async function describeDeployedStack(cloudformation: CloudFormationClient, stackName: string, envName: string): Promise<DeployedStack> {
  const { DescribeStacksCommand, DescribeStackResourcesCommand, ListStackResourcesCommand } = await import('@aws-sdk/client-cloudformation');
  try {
    const [stacks, resources] = await Promise.all([
      cloudformation.send(new DescribeStacksCommand({ StackName: stackName })),
      cloudformation.send(new DescribeStackResourcesCommand({ StackName: stackName })),
    ]);
    const stack = stacks.Stacks?.[0];
    if (!stack) throw stackMissing(stackName, envName);
    let described = (resources.StackResources ?? []).map(resourceOf);
    if (described.length >= DESCRIBE_STACK_RESOURCES_LIMIT) {
      described = [];
      let nextToken: string | undefined;
      do {
        const page = await cloudformation.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: nextToken }));
        for (const summary of page.StackResourceSummaries ?? []) described.push(resourceOf(summary));
        nextToken = page.NextToken;
      } while (nextToken);
    }
    return {
      name: stackName,
      stackId: stack.StackId,
      status: stack.StackStatus ?? 'UNKNOWN',
      lastUpdated: stack.LastUpdatedTime ?? stack.CreationTime,
      driftStatus: stack.DriftInformation?.StackDriftStatus,
      driftCheckedAt: stack.DriftInformation?.LastCheckTimestamp,
      outputs: outputsOf(stack.Outputs),
      resources: described,
    };
  } catch (error) {
    throw explainAwsError(error, { stackName, envName });
  }
}

function outputsOf(outputs: Output[] | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const output of outputs ?? []) if (output.OutputKey && output.OutputValue !== undefined) result[output.OutputKey] = output.OutputValue;
  return result;
}

function resourceOf(resource: Pick<StackResource, 'LogicalResourceId' | 'PhysicalResourceId' | 'ResourceType' | 'ResourceStatus'>) {
  return {
    logicalId: resource.LogicalResourceId ?? '',
    physicalId: resource.PhysicalResourceId ?? '',
    type: resource.ResourceType ?? '',
    status: resource.ResourceStatus ?? '',
  };
}

function stackMissing(stackName: string, envName: string): WatchpointError {
  return userError(
    'STACK_NOT_FOUND',
    `Stack ${stackName} does not exist in this account and region.`,
    `Deploy it with \`watchpoint deploy --env ${envName}\`, or check --env, the region in the config, and AWS_PROFILE.`,
  );
}

// The one explainer (aws/explain.ts), re-exported for the modules that have always imported it here.
export { explainAwsError, isNetworkError } from './aws/explain.ts';
