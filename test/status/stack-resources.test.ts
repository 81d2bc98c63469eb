// src/cli/stack-resources.ts (shared) and the pure parts of status: duration, colour choice, queue names.
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { describeDeployedStack } from '../../src/cli/stack-resources.ts';
import { isWatchpointError } from '../../src/cli/errors.ts';
import { COLOR, PLAIN, duration, pickStyle } from '../../src/cli/status/report.ts';
import { queueNameOf } from '../../src/cli/status/collect.ts';

const cfn = mockClient(CloudFormationClient);
afterEach(() => cfn.reset());

const resources = (n: number, prefix = 'R') =>
  Array.from({ length: n }, (_, i) => ({ LogicalResourceId: `${prefix}${i}`, PhysicalResourceId: `p-${prefix}${i}`, ResourceType: 'AWS::SQS::Queue', ResourceStatus: 'CREATE_COMPLETE' as const }));

describe('describeDeployedStack', () => {
  const client = new CloudFormationClient({ region: 'eu-west-1' });
  const stack = { StackName: 'watchpoint-dev', StackStatus: 'UPDATE_COMPLETE' as const, CreationTime: new Date(0), DriftInformation: { StackDriftStatus: 'IN_SYNC' as const, LastCheckTimestamp: new Date(1000) } };

  it('reads a stack of fewer than 100 resources with one DescribeStacks and one DescribeStackResources', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stack] });
    cfn.on(DescribeStackResourcesCommand).resolves({ StackResources: resources(99).map((r) => ({ ...r, StackName: 'watchpoint-dev', Timestamp: new Date() })) });
    const deployed = await describeDeployedStack(client, 'watchpoint-dev', 'dev');
    expect(deployed.resources).toHaveLength(99);
    expect(deployed.driftStatus).toBe('IN_SYNC');
    expect(deployed.driftCheckedAt).toEqual(new Date(1000));
    expect(cfn.commandCalls(ListStackResourcesCommand)).toHaveLength(0);
  });

  it('DescribeStackResources stops at 100: then every page of ListStackResources is read', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stack] });
    cfn.on(DescribeStackResourcesCommand).resolves({ StackResources: resources(100).map((r) => ({ ...r, StackName: 'watchpoint-dev', Timestamp: new Date() })) });
    cfn.on(ListStackResourcesCommand, { StackName: 'watchpoint-dev', NextToken: undefined }).resolves({ StackResourceSummaries: resources(100).map((r) => ({ ...r, LastUpdatedTimestamp: new Date() })), NextToken: 'page2' });
    cfn.on(ListStackResourcesCommand, { StackName: 'watchpoint-dev', NextToken: 'page2' }).resolves({ StackResourceSummaries: resources(30, 'S').map((r) => ({ ...r, LastUpdatedTimestamp: new Date() })) });
    const deployed = await describeDeployedStack(client, 'watchpoint-dev', 'dev');
    expect(deployed.resources).toHaveLength(130);
    expect(deployed.resources.at(-1)).toEqual({ logicalId: 'S29', physicalId: 'p-S29', type: 'AWS::SQS::Queue', status: 'CREATE_COMPLETE' });
    expect(cfn.commandCalls(ListStackResourcesCommand)).toHaveLength(2);
  });

  it('a missing stack is a user error naming watchpoint deploy', async () => {
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id watchpoint-dev does not exist'), { name: 'ValidationError' }));
    cfn.on(DescribeStackResourcesCommand).rejects(Object.assign(new Error('Stack with id watchpoint-dev does not exist'), { name: 'ValidationError' }));
    const error = await describeDeployedStack(client, 'watchpoint-dev', 'dev').catch((e: unknown) => e);
    expect(isWatchpointError(error) && error.exitCode).toBe(2);
    expect(isWatchpointError(error) && error.fix).toContain('watchpoint deploy --env dev');
  });
});

describe('status helpers', () => {
  it.each([
    [0, '0s'],
    [45, '45s'],
    [95, '1m 35s'],
    [3600, '1h'],
    [7500, '2h 5m'],
    [7530, '2h 5m'],
    [86400, '1d'],
    [90000, '1d 1h'],
    [-5, '0s'],
  ])('duration(%i) = %s', (seconds, text) => {
    expect(duration(seconds)).toBe(text);
  });

  it('colour only on a terminal without NO_COLOR (an empty NO_COLOR does not count)', () => {
    expect(pickStyle(true, {})).toBe(COLOR);
    expect(pickStyle(false, {})).toBe(PLAIN);
    expect(pickStyle(true, { NO_COLOR: '1' })).toBe(PLAIN);
    expect(pickStyle(true, { NO_COLOR: '' })).toBe(COLOR);
  });

  it('a queue URL ends with the queue name', () => {
    expect(queueNameOf('https://sqs.eu-west-1.amazonaws.com/123456789012/watchpoint-dev-Dlq-AbC')).toBe('watchpoint-dev-Dlq-AbC');
    expect(queueNameOf('http://localhost:4566/000000000000/q1/')).toBe('q1');
  });
});

describe('explainAwsError on network failures', () => {
  it('says the API cannot be reached and how to fix it, keeping the cause', async () => {
    const { explainAwsError } = await import('../../src/cli/stack-resources.ts');
    const { formatError } = await import('../../src/cli/errors.ts');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', $metadata: {} });
    const text = formatError(explainAwsError(refused, { envName: 'dev' }));
    expect(text).toContain('Error: Cannot reach the AWS API (ECONNREFUSED).');
    expect(text).toContain('fix: Check the network');
    expect(text).toContain('caused by: connect ECONNREFUSED 127.0.0.1:9');
  });
  it('leaves errors that are not AWS errors alone', async () => {
    const { explainAwsError } = await import('../../src/cli/stack-resources.ts');
    const other = new RangeError('not an AWS failure');
    expect(explainAwsError(other, { envName: 'dev' })).toBe(other);
  });
});
