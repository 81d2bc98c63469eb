// A log group deleted by hand stays in the stack's resources, so `logs`, `trace` and `--follow` still
// name it. CloudWatch Logs then answers FilterLogEvents, StartQuery and StartLiveTail with
// ResourceNotFoundException (HTTP 400, "The specified log group does not exist.": the Errors section
// of each action in the CloudWatch Logs API reference). One such group must not fail the command:
// it is named, skipped, and the rest is read.
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { WatchpointError } from '../errors.ts';
import type { LogGroupTarget } from './groups.ts';

export function isLogGroupMissing(error: unknown): boolean {
  return error instanceof Error && error.name === 'ResourceNotFoundException';
}

/** DescribeLogGroups takes at most 50 logGroupIdentifiers per call (API reference). */
const DESCRIBE_LIMIT = 50;

/**
 * The targets whose log group does not exist. StartQuery's and StartLiveTail's error does not say
 * which group is missing, so this asks DescribeLogGroups for exactly these names.
 */
export async function missingLogGroups(logs: CloudWatchLogsClient, targets: readonly LogGroupTarget[], abortSignal?: AbortSignal): Promise<LogGroupTarget[]> {
  const { DescribeLogGroupsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  const found = new Set<string>();
  for (let i = 0; i < targets.length; i += DESCRIBE_LIMIT) {
    const names = targets.slice(i, i + DESCRIBE_LIMIT).map((t) => t.logGroupName);
    let nextToken: string | undefined;
    do {
      const page = await logs.send(new DescribeLogGroupsCommand({ logGroupIdentifiers: names, ...(nextToken ? { nextToken } : {}) }), { abortSignal });
      for (const group of page.logGroups ?? []) if (group.logGroupName) found.add(group.logGroupName);
      nextToken = page.nextToken;
    } while (nextToken);
  }
  return targets.filter((t) => !found.has(t.logGroupName));
}

/** The warning for groups that are gone; `drift` lists them as DELETED. */
export function missingWarning(missing: readonly LogGroupTarget[], envName: string): string {
  const names = missing.map((t) => `${t.logGroupName} (${t.source.alias})`).join(', ');
  return `${missing.length === 1 ? 'Log group' : 'Log groups'} ${names} ${missing.length === 1 ? 'does' : 'do'} not exist, though the stack lists ${missing.length === 1 ? 'it' : 'them'} (deleted outside CloudFormation?); skipped. \`watchpoint drift --env ${envName}\` shows what was deleted.`;
}

/** Every group the command would read is gone. */
export function noLogGroupLeft(envName: string): WatchpointError {
  return new WatchpointError('None of the log groups to read exists any more (ResourceNotFoundException for each).', {
    code: 'LOG_GROUPS_GONE',
    fault: 'system',
    fix: `Run \`watchpoint drift --env ${envName}\`: it lists each log group deleted outside CloudFormation.`,
  });
}
