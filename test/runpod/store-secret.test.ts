// rotate-keys on moto (IAM, SSM, STS, KMS; the stack description is mocked): --store-secret is the
// way out of "stored secret is stale", every write keeps the parameter's KMS key and tags, and an
// undo after a failed store puts the previous secret back as well as the key id.
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DescribeParametersCommand, GetParameterCommand, ListTagsForResourceCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { rotateKeysCommand } from '../../src/cli/commands/runpod.ts';
import type { RotateKeysFlags } from '../../src/cli/commands/runpod.define.ts';
import { formatError } from '../../src/cli/errors.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { parameterNames } from '../../src/cli/runpod/aws.ts';
import type { RunPodClients } from '../../src/cli/runpod/aws.ts';
import { VALID_DEV, tempDir, writeConfig } from '../helpers/cli.ts';
import { MOTO_ACCOUNT, motoClient, motoClientConfig, uniqueEnvName, uniqueName } from '../helpers/moto.ts';

const iam = motoClient(IAMClient);
const kms = motoClient(KMSClient);
const plain = motoClient(SSMClient);
const cloudformation = new CloudFormationClient({ region: 'eu-west-1' });
const cfnMock = mockClient(cloudformation);

let cwd: string;
let envName: string;
let userName: string;
let names: ReturnType<typeof parameterNames>;
let kmsKeyId: string;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeEach(async () => {
  cwd = await tempDir();
  envName = uniqueEnvName();
  userName = uniqueName('runpod');
  names = parameterNames(envName);
  await writeConfig(cwd, { [envName]: VALID_DEV });
  cfnMock.reset();
  cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: `watchpoint-${envName}`, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'RunPodUserArn', OutputValue: `arn:aws:iam::${MOTO_ACCOUNT}:user/${userName}` }] }] });
  cfnMock.on(DescribeStackResourcesCommand).resolves({ StackResources: [] });
  await iam.send(new CreateUserCommand({ UserName: userName }));
  kmsKeyId = (await kms.send(new CreateKeyCommand({ Description: 'watchpoint secrets' }))).KeyMetadata!.KeyId!;
});

/** Secrets IAM issued in this test, by key id: moto does not check signatures, AWS does. */
const issued = new Map<string, string>();

/**
 * STS on moto, signing as AWS checks it: a secret that is not the key's own gets
 * SignatureDoesNotMatch ("The request signature we calculated does not match the signature you
 * provided"; https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html).
 */
function stsWith(credentials: { accessKeyId: string; secretAccessKey: string }): STSClient {
  const sts = new STSClient({ ...motoClientConfig(), credentials });
  sts.middlewareStack.add((next) => async (args) => {
    if (issued.has(credentials.accessKeyId) && issued.get(credentials.accessKeyId) !== credentials.secretAccessKey) {
      throw Object.assign(new Error('The request signature we calculated does not match the signature you provided.'), { name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    }
    return next(args);
  }, { step: 'initialize', name: 'signatureCheck' });
  return sts;
}

async function createKey() {
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!;
  issued.set(key.AccessKeyId!, key.SecretAccessKey!);
  return key;
}

/**
 * SSM on moto, with AWS's documented PutParameter KeyId rule: "If you don't specify a key ID, the
 * system uses the default key associated with your AWS account" (an overwrite included;
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html). moto
 * keeps the old key instead, which would hide a write that drops it.
 */
function awsLikeSsm(ssm = motoClient(SSMClient)): SSMClient {
  ssm.middlewareStack.add((next, context) => async (args) => {
    const input = args.input as { Type?: string; KeyId?: string };
    if ((context as { commandName?: string }).commandName === 'PutParameterCommand' && input.Type === 'SecureString' && !input.KeyId) {
      return next({ ...args, input: { ...input, KeyId: 'alias/aws/ssm' } as typeof args.input });
    }
    return next(args);
  }, { step: 'initialize', name: 'defaultKmsKey' });
  return ssm;
}

function clients(ssm = motoClient(SSMClient)): RunPodClients {
  return { iam, ssm: awsLikeSsm(ssm), cloudformation, stsWith };
}

async function rotate(rotateOptions: RotateKeysFlags, deps: { ssm?: SSMClient; stdin?: string; interactive?: boolean } = {}) {
  const io = new RecordingIo([], deps.interactive ?? false);
  try {
    const code = await rotateKeysCommand({ io, options: { env: envName, yes: true }, env: {}, cwd, rotate: rotateOptions }, { clients: clients(deps.ssm), sleep: async () => {}, ...(deps.stdin !== undefined ? { readStdin: async () => deps.stdin! } : {}) });
    return { code, io, text: `${io.stdout}\n${io.stderr}` };
  } catch (error) {
    return { code: -1, io, text: `${io.stdout}\n${io.stderr}\n${formatError(error)}` };
  }
}

async function put(name: string, value: string, overwrite = false) {
  await plain.send(new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString', KeyId: kmsKeyId, Overwrite: overwrite, ...(overwrite ? {} : { Tags: [{ Key: 'app', Value: 'watchpoint' }, { Key: 'env', Value: envName }, { Key: 'owner', Value: 'ops' }] }) }));
}

async function keyIdOf(name: string) {
  return (await plain.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Values: [name] }] }))).Parameters?.[0]?.KeyId;
}

async function tagsOf(name: string) {
  return Object.fromEntries(((await plain.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }))).TagList ?? []).map((t) => [t.Key!, t.Value!]));
}

const value = async (name: string) => (await plain.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value;

describe('--store-secret', () => {
  /** Key A's secret in SSM, key B (newer, used) named by SSM: the ssm-secret-stale state. */
  async function staleState() {
    const a = await createKey();
    await put(names.secret, a.SecretAccessKey!);
    await sleep(1100); // IAM and SSM dates have second resolution
    const b = await createKey();
    await put(names.keyId, b.AccessKeyId!);
    // RunPod (here: anyone) signs with B, so B has been used.
    await new STSClient({ ...motoClientConfig(), credentials: { accessKeyId: b.AccessKeyId!, secretAccessKey: b.SecretAccessKey! } }).send(new GetCallerIdentityCommand({}));
    return { a, b };
  }

  it('stores the secret from stdin after it authenticates, keeping the KMS key and tags; the stale state is gone', async () => {
    const { b } = await staleState();
    const before = await rotate({ status: true, json: true });
    expect(JSON.parse(before.io.stdout)).toMatchObject({ state: 'ssm-secret-stale' });
    expect(before.io.stdout).toContain('--store-secret --stdin');
    const stored = await rotate({ storeSecret: true, stdin: true }, { stdin: `${b.SecretAccessKey}\n` });
    expect(stored.code, stored.text).toBe(0);
    expect(await value(names.secret)).toBe(b.SecretAccessKey);
    expect(await keyIdOf(names.secret)).toContain(kmsKeyId);
    expect(await tagsOf(names.secret)).toMatchObject({ app: 'watchpoint', env: envName, owner: 'ops' });
    expect(stored.text).not.toContain(b.SecretAccessKey!);
    const after = await rotate({ status: true, json: true });
    expect(JSON.parse(after.io.stdout).state).not.toBe('ssm-secret-stale');
  }, 30_000);

  it('refuses a secret that does not authenticate the key, storing nothing; and never takes it from argv', async () => {
    const { a } = await staleState();
    const wrong = await rotate({ storeSecret: true, stdin: true }, { stdin: 'A'.repeat(40) });
    expect(wrong.code).toBe(-1);
    expect(wrong.text).toContain('does not authenticate key');
    expect(await value(names.secret)).toBe(a.SecretAccessKey);
    const notAKey = await rotate({ storeSecret: true, stdin: true }, { stdin: 'hello' });
    expect(notAKey.text).toContain('not an AWS secret access key');
    expect(notAKey.text).not.toContain('hello');
    const noTty = await rotate({ storeSecret: true });
    expect(noTty.text).toContain('--stdin');
  }, 30_000);
});

describe('create keeps KMS key and tags, and an undo restores the previous secret', () => {
  async function inUse() {
    const a = await createKey();
    await put(names.keyId, a.AccessKeyId!);
    await put(names.secret, a.SecretAccessKey!);
    await sleep(1100);
    return a;
  }

  it('a create writes both parameters with their own KMS key and keeps their tags', async () => {
    await inUse();
    const created = await rotate({ stage: 'create' });
    expect(created.code, created.text).toBe(0);
    for (const name of [names.keyId, names.secret]) {
      expect(await keyIdOf(name)).toContain(kmsKeyId);
      expect(await tagsOf(name)).toMatchObject({ app: 'watchpoint', owner: 'ops' });
    }
  }, 30_000);

  it('a secret write that landed but then failed (a timeout) is undone: old id, old secret, new key deleted', async () => {
    const a = await inUse();
    const ssm = motoClient(SSMClient);
    ssm.middlewareStack.add((next, context) => async (args) => {
      const answer = await next(args);
      const input = args.input as { Name?: string; Value?: string };
      if ((context as { commandName?: string }).commandName === 'PutParameterCommand' && input.Name === names.secret && input.Value !== a.SecretAccessKey) {
        // The write reached SSM; the answer did not reach us.
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      }
      return answer;
    }, { step: 'initialize', name: 'lostAnswer' });
    const created = await rotate({ stage: 'create' }, { ssm });
    expect(created.code).toBe(-1);
    expect(created.text).toContain('Could not store the new key in SSM; it was deleted again');
    expect(await value(names.keyId)).toBe(a.AccessKeyId);
    expect(await value(names.secret)).toBe(a.SecretAccessKey);
    const keys = (await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];
    expect(keys.map((k) => k.AccessKeyId)).toEqual([a.AccessKeyId]);
  }, 30_000);
});
