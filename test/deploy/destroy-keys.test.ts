// `destroy` after `runpod rotate-keys`: the RunPod user's access keys (made outside CloudFormation)
// and the two SSM parameters that hold them are deleted after the typed confirmation and before the
// stacks. IAM and SSM are moto; the stack description and the stack deletion are fakes, and the fake
// deletion refuses, as IAM does, to delete a user that still has keys (DeleteConflict: "You must
// delete the items (for example, access keys) attached to the user before you can delete the user",
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html).
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ECRClient, DeleteRepositoryCommand } from '@aws-sdk/client-ecr';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { destroyCommand } from '../../src/cli/commands/destroy.ts';
import type { CloudPort } from '../../src/cli/deploy/ports.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { parameterNames } from '../../src/cli/runpod/aws.ts';
import { VALID_DEV, tempDir, writeConfig } from '../helpers/cli.ts';
import { motoClient, uniqueEnvName, uniqueName } from '../helpers/moto.ts';

const iam = motoClient(IAMClient);
const ssm = motoClient(SSMClient);
const sts = new STSClient({ region: 'eu-west-1' });
const cloudformation = new CloudFormationClient({ region: 'eu-west-1' });
const s3 = new S3Client({ region: 'eu-west-1' });
const ecr = new ECRClient({ region: 'eu-west-1' });
const mocks = [mockClient(sts), mockClient(cloudformation), mockClient(s3), mockClient(ecr)] as const;

describe('destroy after rotate-keys', () => {
  let cwd: string;
  let envName: string;
  let userName: string;
  const destroyed: string[] = [];
  const cloud: CloudPort = {
    diff: async () => { throw new Error('unused'); },
    deploy: async () => { throw new Error('destroy must not deploy'); },
    bootstrap: async () => { throw new Error('unused'); },
    destroy: async (_dir, stackName) => {
      if (stackName === `watchpoint-${envName}`) {
        const keys = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
        if ((keys.AccessKeyMetadata ?? []).length > 0) {
          throw Object.assign(new Error(`The stack named ${stackName} is in a failed state: DELETE_FAILED (RunPodServiceUser: Cannot delete entity, must delete access keys first.)`), { name: 'DeleteConflict' });
        }
      }
      destroyed.push(stackName);
    },
  };

  beforeEach(async () => {
    cwd = await tempDir();
    envName = uniqueEnvName();
    userName = uniqueName('runpod');
    destroyed.length = 0;
    await writeConfig(cwd, { [envName]: VALID_DEV });
    const [stsMock, cfnMock, s3Mock, ecrMock] = mocks;
    for (const m of mocks) m.reset();
    stsMock.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:role/ops' });
    cfnMock.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => ({ Stacks: [{ StackName: input.StackName, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date() }] }));
    cfnMock.on(DescribeStackResourcesCommand).callsFake((input: { StackName: string }) => ({
      StackResources: input.StackName === `watchpoint-${envName}`
        ? [{ LogicalResourceId: 'RunPodServiceUser', PhysicalResourceId: userName, ResourceType: 'AWS::IAM::User', ResourceStatus: 'CREATE_COMPLETE', Timestamp: new Date() }]
        : [],
    }));
    s3Mock.on(DeleteBucketCommand).resolves({});
    ecrMock.on(DeleteRepositoryCommand).resolves({});
    // What rotate-keys leaves: the user with two keys, and the two SecureString parameters.
    await iam.send(new CreateUserCommand({ UserName: userName }));
    const first = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    const names = parameterNames(envName);
    await ssm.send(new PutParameterCommand({ Name: names.keyId, Value: first.AccessKey!.AccessKeyId!, Type: 'SecureString' }));
    await ssm.send(new PutParameterCommand({ Name: names.secret, Value: first.AccessKey!.SecretAccessKey!, Type: 'SecureString' }));
  });

  const run = (io: RecordingIo, yes = false) =>
    destroyCommand({ io, options: { env: envName, ...(yes ? { yes: true } : {}) }, env: {}, cwd, force: false }, { clients: { sts, cloudformation, s3, ecr, iam, ssm }, cloud });

  it('says in the confirmation that it deletes the keys and parameters, deletes them, then deletes both stacks', async () => {
    const io = new RecordingIo([envName], true);
    expect(await run(io)).toBe(0);
    const names = parameterNames(envName);
    expect(io.stderr).toMatch(new RegExp(`IAM user ${userName}: its 2 access key\\(s\\)`));
    expect(io.stderr).toContain(`SSM parameter ${names.keyId}`);
    expect(io.stderr).toContain(`SSM parameter ${names.secret}`);
    // Said before the typed confirmation was asked for.
    expect(io.messages.findIndex((m) => m.text.includes('access key(s)'))).toBeGreaterThanOrEqual(0);
    expect(io.questions).toHaveLength(1);
    expect(destroyed).toEqual([`watchpoint-${envName}`, `watchpoint-${envName}-registry`]);
    expect((await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata).toEqual([]);
    expect((await ssm.send(new GetParametersCommand({ Names: [names.keyId, names.secret] }))).Parameters).toEqual([]);
    // Neither the secret nor a whole key id is printed.
    expect(io.stdout + io.stderr).not.toMatch(/AKIA[0-9A-Z]{16}/);
  });

  it('without the confirmation deletes no key and no parameter', async () => {
    const io = new RecordingIo([], false);
    await expect(run(io)).rejects.toMatchObject({ exitCode: 2, code: 'CONFIRMATION_REQUIRED' });
    expect((await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata).toHaveLength(2);
    expect((await ssm.send(new GetParametersCommand({ Names: Object.values(parameterNames(envName)) }))).Parameters).toHaveLength(2);
    expect(destroyed).toEqual([]);
  });
});
