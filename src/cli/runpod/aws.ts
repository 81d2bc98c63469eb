// Reading the RunPod user's keys and the two SSM parameters: the whole input of the state machine.
// SDK modules are imported lazily by the command, so only types are imported here.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { STSClient } from '@aws-sdk/client-sts';
import { WatchpointError, userError } from '../errors.ts';
import { stackNames } from '../context.ts';
import { describeDeployedStack, explainAwsError } from '../stack-resources.ts';
import { isAccessDenied } from '../aws/explain.ts';
import { describeOne } from '../secrets/ssm.ts';
import { pathPrefix } from '../../config/secrets-catalogue.ts';
import type { KeyInfo, Snapshot, SsmInfo } from './state.ts';

export interface RunPodClients {
  iam: IAMClient;
  ssm: SSMClient;
  cloudformation: CloudFormationClient;
  /** An STS client that signs with the given credentials (used only to test the new key). */
  stsWith(credentials: { accessKeyId: string; secretAccessKey: string }): STSClient;
}

export interface ParameterNames {
  keyId: string;
  secret: string;
}

export function parameterNames(envName: string): ParameterNames {
  return {
    keyId: `/${envName}/watchpoint/forecast/runpod_aws_access_key_id`,
    secret: `/${envName}/watchpoint/forecast/runpod_aws_secret_access_key`,
  };
}

export interface RunPodUser {
  userName: string;
  userArn?: string;
}

/** The platform stack's RunPodServiceUser: from the RunPodUserArn output, else the AWS::IAM::User resource. */
export async function findRunPodUser(cloudformation: CloudFormationClient, envName: string): Promise<RunPodUser> {
  const stackName = stackNames(envName).platform;
  const stack = await describeDeployedStack(cloudformation, stackName, envName);
  const arn = stack.outputs.RunPodUserArn;
  if (arn) {
    const userName = arn.split('/').pop();
    if (userName && /^arn:aws[\w-]*:iam::\d{12}:user\//.test(arn)) return { userName, userArn: arn };
  }
  const users = stack.resources.filter((resource) => resource.type === 'AWS::IAM::User' && resource.physicalId !== '');
  if (users.length === 1) return { userName: users[0]!.physicalId };
  throw new WatchpointError(`Stack ${stackName} has no RunPodUserArn output and ${users.length} IAM users, so the RunPod user cannot be identified.`, {
    code: 'RUNPOD_USER_UNKNOWN',
    fault: 'system',
    fix: `Deploy the current stack (\`watchpoint deploy --env ${envName}\`), which exports RunPodUserArn.`,
  });
}

function isNoSuchEntity(error: unknown): boolean {
  return error instanceof Error && (error.name === 'NoSuchEntityException' || error.name === 'NoSuchEntity');
}

export { isAccessDenied };

/** Explains the IAM/SSM errors operators hit: a user that is gone, missing permissions, credentials. */
export function explainRotationError(error: unknown, envName: string, userName?: string): unknown {
  if (error instanceof WatchpointError) return error;
  if (userName && isNoSuchEntity(error)) {
    return userError(
      'RUNPOD_USER_MISSING',
      `IAM user ${userName} (the stack's RunPodServiceUser) does not exist.`,
      `The stack and IAM disagree: redeploy with \`watchpoint deploy --env ${envName}\`, or check the account and region.`,
      error,
    );
  }
  if (isAccessDenied(error)) {
    return new WatchpointError('AWS denied a call this rotation needs.', {
      code: 'RUNPOD_ACCESS_DENIED',
      fault: 'user',
      exitCode: 1,
      fix: `Use a role allowed iam:ListAccessKeys, iam:GetAccessKeyLastUsed, iam:CreateAccessKey, iam:UpdateAccessKey, iam:DeleteAccessKey on ${userName ? `the IAM user ${userName}` : 'the RunPod IAM user (the stack\'s RunPodServiceUser)'}, ssm:GetParameter, ssm:PutParameter, ssm:DeleteParameter on the parameters ${pathPrefix(envName)}forecast/*, and ssm:DescribeParameters on resource "*" (SSM does not scope it to parameters); or switch AWS_PROFILE to such a role.`,
      cause: error,
    });
  }
  return explainAwsError(error, { envName });
}

export async function readKeys(iam: IAMClient, userName: string): Promise<KeyInfo[]> {
  const { ListAccessKeysCommand, GetAccessKeyLastUsedCommand } = await import('@aws-sdk/client-iam');
  const listed = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  const keys = await Promise.all(
    (listed.AccessKeyMetadata ?? []).map(async (meta): Promise<KeyInfo> => {
      const id = meta.AccessKeyId ?? '';
      const used = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: id }));
      const last = used.AccessKeyLastUsed;
      return {
        id,
        status: meta.Status === 'Inactive' ? 'Inactive' : 'Active',
        created: meta.CreateDate ?? new Date(0),
        ...(last?.LastUsedDate ? { lastUsed: last.LastUsedDate } : {}),
        // IAM reports "N/A" for a key that was never used.
        ...(last?.ServiceName && last.ServiceName !== 'N/A' ? { lastService: last.ServiceName } : {}),
        ...(last?.Region && last.Region !== 'N/A' ? { lastRegion: last.Region } : {}),
      };
    }),
  );
  return keys.sort((a, b) => a.created.getTime() - b.created.getTime());
}

export async function readSsm(ssm: SSMClient, names: ParameterNames): Promise<SsmInfo> {
  const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
  const [idParameter, described] = await Promise.all([
    // The id is a SecureString too, so it needs decryption; the secret is never read here.
    (async () => {
      try {
        return await ssm.send(new GetParameterCommand({ Name: names.keyId, WithDecryption: true }));
      } catch (error) {
        if (error instanceof Error && error.name === 'ParameterNotFound') return undefined;
        throw error;
      }
    })(),
    // Every page, not only the first (a filtered page can be empty with a NextToken).
    describeOne(ssm, names.secret),
  ]);
  const secret = described;
  const keyId = idParameter?.Parameter?.Value?.trim();
  return {
    ...(keyId ? { keyId } : {}),
    secretExists: secret !== undefined,
    ...(secret?.lastModified ? { secretModified: secret.lastModified } : {}),
  };
}

export async function readSnapshot(clients: RunPodClients, userName: string, names: ParameterNames, now: Date): Promise<Snapshot> {
  const [keys, ssm] = await Promise.all([readKeys(clients.iam, userName), readSsm(clients.ssm, names)]);
  return { userName, keys, ssm, now };
}
