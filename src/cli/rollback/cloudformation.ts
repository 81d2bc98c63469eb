// The CloudFormation calls a rollback makes, through the SDK: a recorded template and its parameters
// go back through a change set (CreateChangeSet, DescribeChangeSet, ExecuteChangeSet), and the stack
// is watched until it settles. No toolkit-lib, no synth, no asset publishing: everything the
// template names is already in S3 and ECR.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { isStackMissing } from '../aws.ts';
import { abortableSleep } from '../../sleep.ts';

export interface ChangeLine {
  action: string;
  logicalId: string;
  resourceType: string;
  /** "True", "False" or "Conditional" for a Modify. */
  replacement?: string;
}

export interface PreparedChangeSet {
  stackName: string;
  changeSetName: string;
  /** True when CloudFormation found nothing to change (the change set was deleted). */
  empty: boolean;
  changes: ChangeLine[];
}

export interface RollbackCloud {
  stackStatus(stackName: string): Promise<string | undefined>;
  /** The deployed template, as CloudFormation holds it (TemplateStage Original). */
  currentTemplate(stackName: string): Promise<string | undefined>;
  prepare(input: { stackName: string; changeSetName: string; template: { body: string } | { url: string }; parameters: Record<string, string>; description: string }): Promise<PreparedChangeSet>;
  execute(stackName: string, changeSetName: string): Promise<void>;
  /** Polls until the stack leaves *_IN_PROGRESS; `onStatus` hears each new status. Resolves with the final one. */
  settle(stackName: string, onStatus: (status: string) => void, signal?: AbortSignal): Promise<string>;
  discard(stackName: string, changeSetName: string): Promise<void>;
}

/** CloudFormation takes a TemplateBody up to 51,200 bytes; bigger ones must come from S3 (TemplateURL). */
export const TEMPLATE_BODY_LIMIT = 51_200;

const CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'] as const;

export function createRollbackCloud(cfn: CloudFormationClient, options: { pollMs?: number; sleep?: (ms: number, signal?: AbortSignal) => Promise<void>; changeSetTimeoutMs?: number } = {}): RollbackCloud {
  const sdk = () => import('@aws-sdk/client-cloudformation');
  const pollMs = options.pollMs ?? 3000;
  const sleep = options.sleep ?? abortableSleep;
  const stackStatus = async (stackName: string): Promise<string | undefined> => {
    const { DescribeStacksCommand } = await sdk();
    try {
      const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
      const status = out.Stacks?.[0]?.StackStatus;
      return status === 'DELETE_COMPLETE' ? undefined : status;
    } catch (error) {
      if (isStackMissing(error)) return undefined;
      throw error;
    }
  };
  const discard = async (stackName: string, changeSetName: string) => {
    const { DeleteChangeSetCommand } = await sdk();
    await cfn.send(new DeleteChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName }));
  };
  return {
    stackStatus,
    discard,
    async currentTemplate(stackName) {
      const { GetTemplateCommand } = await sdk();
      try {
        const out = await cfn.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' }));
        return out.TemplateBody;
      } catch (error) {
        if (isStackMissing(error)) return undefined;
        throw error;
      }
    },
    async prepare({ stackName, changeSetName, template, parameters, description }) {
      const { CreateChangeSetCommand, DescribeChangeSetCommand } = await sdk();
      await cfn.send(
        new CreateChangeSetCommand({
          StackName: stackName,
          ChangeSetName: changeSetName,
          ChangeSetType: 'UPDATE',
          ...('body' in template ? { TemplateBody: template.body } : { TemplateURL: template.url }),
          Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
          Capabilities: [...CAPABILITIES],
          Description: description.slice(0, 1024),
        }),
      );
      const deadline = Date.now() + (options.changeSetTimeoutMs ?? 300_000);
      const changes: ChangeLine[] = [];
      for (;;) {
        const first = await cfn.send(new DescribeChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName }));
        if (first.Status === 'FAILED') {
          // "The submitted information didn't contain changes": nothing to restore in this stack.
          if (/didn't contain changes|No updates are to be performed/i.test(first.StatusReason ?? '')) {
            await discard(stackName, changeSetName).catch(() => undefined);
            return { stackName, changeSetName, empty: true, changes: [] };
          }
          throw new Error(`CloudFormation could not create change set ${changeSetName} for ${stackName}: ${first.StatusReason ?? 'no reason given'}`);
        }
        if (first.Status === 'CREATE_COMPLETE') {
          let page = first;
          for (;;) {
            for (const change of page.Changes ?? []) {
              const resource = change.ResourceChange;
              if (!resource) continue;
              changes.push({
                action: resource.Action ?? '',
                logicalId: resource.LogicalResourceId ?? '',
                resourceType: resource.ResourceType ?? '',
                ...(resource.Replacement ? { replacement: resource.Replacement } : {}),
              });
            }
            if (!page.NextToken) break;
            page = await cfn.send(new DescribeChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName, NextToken: page.NextToken }));
          }
          return { stackName, changeSetName, empty: changes.length === 0, changes };
        }
        if (Date.now() > deadline) throw new Error(`Change set ${changeSetName} for ${stackName} is still ${first.Status} after ${(options.changeSetTimeoutMs ?? 300_000) / 1000} s.`);
        await sleep(Math.min(pollMs, 2000));
      }
    },
    async execute(stackName, changeSetName) {
      const { ExecuteChangeSetCommand } = await sdk();
      await cfn.send(new ExecuteChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName }));
    },
    async settle(stackName, onStatus, signal) {
      let last: string | undefined;
      for (;;) {
        const status = (await stackStatus(stackName)) ?? 'DELETE_COMPLETE';
        if (status !== last) onStatus(status);
        last = status;
        if (!status.endsWith('_IN_PROGRESS')) return status;
        if (signal?.aborted) return status;
        await sleep(pollMs, signal);
      }
    },
  };
}

/**
 * Stack states CloudFormation refuses an update from, and what the operator does about each. Undefined
 * when an update can start.
 */
export function unUpdatable(stackName: string, status: string | undefined, envName: string): { problem: string; whatToDo: string } | undefined {
  if (status === undefined) return { problem: `${stackName} does not exist; a rollback restores existing stacks.`, whatToDo: `Deploy with \`watchpoint deploy --env ${envName}\` (check out the release's commit first).` };
  switch (status) {
    case 'UPDATE_ROLLBACK_FAILED':
      return {
        problem: `${stackName} is UPDATE_ROLLBACK_FAILED: CloudFormation cannot update it until its rollback finishes.`,
        whatToDo: `Finish the rollback: aws cloudformation continue-update-rollback --stack-name ${stackName} (add --resources-to-skip for resources that cannot roll back), then run rollback again.`,
      };
    case 'ROLLBACK_COMPLETE':
    case 'ROLLBACK_FAILED':
    case 'CREATE_FAILED':
      return {
        problem: `${stackName} is ${status}: its creation failed and CloudFormation can only delete it.`,
        whatToDo: `Delete it (aws cloudformation delete-stack --stack-name ${stackName}; retained buckets and the repository stay), then run \`watchpoint deploy --env ${envName}\`.`,
      };
    case 'DELETE_FAILED':
      return { problem: `${stackName} is DELETE_FAILED: CloudFormation cannot update it.`, whatToDo: `Remove what blocked the delete (see its events), delete it again, then run \`watchpoint deploy --env ${envName}\`.` };
    case 'REVIEW_IN_PROGRESS':
      return { problem: `${stackName} is REVIEW_IN_PROGRESS: it was never created.`, whatToDo: `Deploy with \`watchpoint deploy --env ${envName}\`.` };
    default:
      return undefined;
  }
}
