// Before `destroy` deletes the platform stack: the RunPod user's access keys and the two SSM
// parameters that hold them. `runpod rotate-keys` creates both outside CloudFormation, and IAM
// refuses to delete a user that still has keys ("You must delete the items (for example, access keys)
// attached to the user before you can delete the user", DeleteConflict;
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html), so without this the stack
// ends DELETE_FAILED and nothing after it (the registry stack, the retained buckets) is reached.
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { parameterNames } from './aws.ts';

export interface KeyCleanupPlan {
  /** Each IAM user of the platform stack with the ids of its access keys (ids are not secret). */
  users: { userName: string; keyIds: string[] }[];
  /** The key-id / secret parameters that exist (names only; values are never read). */
  parameters: string[];
}

/** Reads what would be deleted: ListAccessKeys per user, GetParameters without decryption. */
export async function planKeyCleanup(input: { iam: IAMClient; ssm: SSMClient; envName: string; userNames: string[] }): Promise<KeyCleanupPlan> {
  const { ListAccessKeysCommand } = await import('@aws-sdk/client-iam');
  const { GetParametersCommand } = await import('@aws-sdk/client-ssm');
  const users = await Promise.all(input.userNames.map(async (userName) => {
    try {
      const listed = await input.iam.send(new ListAccessKeysCommand({ UserName: userName }));
      return { userName, keyIds: (listed.AccessKeyMetadata ?? []).map((key) => key.AccessKeyId ?? '').filter(Boolean) };
    } catch (error) {
      // The user is already gone (deleted by hand, or a stack that failed halfway): nothing blocks it.
      if (error instanceof Error && (error.name === 'NoSuchEntityException' || error.name === 'NoSuchEntity')) return { userName, keyIds: [] };
      throw error;
    }
  }));
  const names = parameterNames(input.envName);
  // WithDecryption false: only whether they exist, never the values.
  const found = await input.ssm.send(new GetParametersCommand({ Names: [names.keyId, names.secret], WithDecryption: false }));
  const parameters = (found.Parameters ?? []).map((parameter) => parameter.Name ?? '').filter(Boolean).sort();
  return { users: users.filter((user) => user.keyIds.length > 0), parameters };
}

export function isEmptyPlan(plan: KeyCleanupPlan): boolean {
  return plan.users.length === 0 && plan.parameters.length === 0;
}

/** What the confirmation says, key ids shortened to their last 4 characters. */
export function describeKeyCleanup(plan: KeyCleanupPlan): string[] {
  return [
    ...plan.users.map((user) => `IAM user ${user.userName}: its ${user.keyIds.length} access key(s) (${user.keyIds.map((id) => `…${id.slice(-4)}`).join(', ')}), created by \`runpod rotate-keys\` outside CloudFormation`),
    ...plan.parameters.map((name) => `SSM parameter ${name}`),
  ];
}

/** Deletes the keys, then the parameters. A key or parameter already gone counts as deleted. */
export async function cleanupKeys(input: { iam: IAMClient; ssm: SSMClient; plan: KeyCleanupPlan }): Promise<{ keys: number; parameters: number }> {
  const { DeleteAccessKeyCommand } = await import('@aws-sdk/client-iam');
  const { DeleteParametersCommand } = await import('@aws-sdk/client-ssm');
  let keys = 0;
  for (const user of input.plan.users) {
    for (const id of user.keyIds) {
      try {
        await input.iam.send(new DeleteAccessKeyCommand({ UserName: user.userName, AccessKeyId: id }));
      } catch (error) {
        if (!(error instanceof Error && (error.name === 'NoSuchEntityException' || error.name === 'NoSuchEntity'))) throw error;
      }
      keys += 1;
    }
  }
  let parameters = 0;
  if (input.plan.parameters.length > 0) {
    const answer = await input.ssm.send(new DeleteParametersCommand({ Names: input.plan.parameters }));
    parameters = (answer.DeletedParameters ?? []).length + (answer.InvalidParameters ?? []).length;
  }
  return { keys, parameters };
}
