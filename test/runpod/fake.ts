// A small in-memory model of the IAM user, the SSM parameters, STS and the CloudFormation stack that
// the aws-sdk-client-mock stubs call into, so whole rotations run against state that persists across
// calls and across CLI runs. It also plays RunPod (which key it uploads with) and records every
// invariant violation it sees, and can "crash" the process at a chosen mutating step.
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateAccessKeyCommand,
  DeleteAccessKeyCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  LimitExceededException,
  ListAccessKeysCommand,
  NoSuchEntityException,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { DeleteParameterCommand, DescribeParametersCommand, GetParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';

export const ACCOUNT = '123456789012';
export const USER = 'watchpoint-dev-RunPodServiceUser-A1B2C3';
export const ID_PARAM = '/dev/watchpoint/forecast/runpod_aws_access_key_id';
export const SECRET_PARAM = '/dev/watchpoint/forecast/runpod_aws_secret_access_key';
const DAY = 86_400_000;

interface FakeKey {
  id: string;
  secret: string;
  status: 'Active' | 'Inactive';
  created: number;
  lastUsed?: number;
  service?: string;
}

interface FakeParameter {
  value: string;
  type: string;
  modified: number;
}

export type CrashMode = 'before' | 'after';
const MUTATIONS = new Set(['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey', 'PutParameter', 'DeleteParameter']);

export class CrashError extends Error {
  constructor(step: string) {
    super(`simulated crash at ${step}`);
    this.name = 'SimulatedCrash';
  }
}

function awsError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

export class FakeAws {
  /** Milliseconds added to the real clock; tick() moves time on. */
  offset = 0;
  userExists = true;
  keys: FakeKey[] = [];
  params = new Map<string, FakeParameter>();
  /** Calls that fail with AccessDenied, e.g. "PutParameter" or "PutParameter:<name>". */
  denied = new Set<string>();
  /** STS rejects a new key this many times before it works (IAM eventual consistency). */
  stsRejections = 0;
  /** The key RunPod has been configured with (the operator pastes it in). */
  runpodKey: string | undefined;
  runpodFailures = 0;
  violations: string[] = [];
  deletedKeys: string[] = [];
  secretsIssued: string[] = [];
  calls: string[] = [];
  mutations = 0;
  private crash: { at: number; mode: CrashMode } | undefined;
  private dead = false;
  private serial = 0;

  now(): number {
    return Date.now() + this.offset;
  }

  tick(ms = 60_000): void {
    this.offset += ms;
  }

  /** The process dies at the k-th mutating call from now (before or after it takes effect). */
  crashAt(step: number, mode: CrashMode): void {
    this.crash = { at: this.mutations + step, mode };
  }

  /** A new process: calls work again. */
  restart(): void {
    this.dead = false;
  }

  get crashed(): boolean {
    return this.dead;
  }

  addKey(options: { ageDays: number; lastUsedDaysAgo?: number; status?: 'Active' | 'Inactive'; inSsm?: boolean }): FakeKey {
    const key = this.newKey(this.now() - options.ageDays * DAY);
    if (options.status) key.status = options.status;
    if (options.lastUsedDaysAgo !== undefined) {
      key.lastUsed = this.now() - options.lastUsedDaysAgo * DAY;
      key.service = 's3';
    }
    if (options.inSsm) {
      this.params.set(ID_PARAM, { value: key.id, type: 'SecureString', modified: key.created + 1000 });
      this.params.set(SECRET_PARAM, { value: key.secret, type: 'SecureString', modified: key.created + 1000 });
    }
    return key;
  }

  private newKey(created: number): FakeKey {
    this.serial += 1;
    const id = `AKIAFAKE${String(this.serial).padStart(4, '0')}${Math.random().toString(36).slice(2, 10).toUpperCase()}`;
    const secret = `secret/${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}+${this.serial}`;
    const key: FakeKey = { id, secret, status: 'Active', created };
    this.keys.push(key);
    this.secretsIssued.push(secret);
    return key;
  }

  key(id: string | undefined): FakeKey | undefined {
    return this.keys.find((key) => key.id === id);
  }

  /** RunPod uploads once with the key it was given; a deleted or inactive key is an outage. */
  runpodUpload(): void {
    this.tick();
    if (this.runpodKey === undefined) return; // not set up yet: RunPod does not run
    const key = this.key(this.runpodKey);
    if (!key || key.status !== 'Active') {
      this.runpodFailures += 1;
      return;
    }
    key.lastUsed = this.now();
    key.service = 's3';
  }

  /** The operator pastes what SSM holds into RunPod, if SSM's id and secret really are a pair. */
  operatorConfiguresRunPodFromSsm(): boolean {
    const id = this.params.get(ID_PARAM)?.value;
    const key = this.key(id);
    if (!key || this.params.get(SECRET_PARAM)?.value !== key.secret) return false;
    this.runpodKey = key.id;
    return true;
  }

  private checkInvariants(step: string): void {
    const active = this.keys.filter((key) => key.status === 'Active').length;
    if (this.keys.length > 0 && active === 0) this.violations.push(`${step}: zero active keys`);
  }

  private enter(step: string): void {
    this.calls.push(step);
    if (this.dead) throw new CrashError(`${step} (process already dead)`);
    if (MUTATIONS.has(step)) {
      this.mutations += 1;
      if (this.crash && this.crash.mode === 'before' && this.mutations === this.crash.at) {
        this.dead = true;
        this.crash = undefined;
        throw new CrashError(step);
      }
    }
  }

  private leave<T>(step: string, result: T): T {
    if (MUTATIONS.has(step)) {
      this.checkInvariants(step);
      if (this.crash && this.crash.mode === 'after' && this.mutations === this.crash.at) {
        this.dead = true;
        this.crash = undefined;
        throw new CrashError(step);
      }
    }
    return result;
  }

  private requireUser(userName: string): void {
    if (!this.userExists || userName !== USER) {
      throw new NoSuchEntityException({ message: `The user with name ${userName} cannot be found.`, $metadata: { httpStatusCode: 404 } });
    }
  }

  private deny(call: string, name?: string): void {
    if (this.denied.has(call) || (name && this.denied.has(`${call}:${name}`))) {
      throw awsError('AccessDeniedException', `User: arn:aws:iam::${ACCOUNT}:user/operator is not authorized to perform: ssm:${call} on resource: ${name ?? '*'}`);
    }
  }

  // ---- IAM ----
  listAccessKeys(input: { UserName: string }) {
    this.enter('ListAccessKeys');
    this.requireUser(input.UserName);
    return {
      AccessKeyMetadata: this.keys.map((key) => ({ UserName: USER, AccessKeyId: key.id, Status: key.status, CreateDate: new Date(key.created) })),
    };
  }

  getAccessKeyLastUsed(input: { AccessKeyId: string }) {
    this.enter('GetAccessKeyLastUsed');
    const key = this.key(input.AccessKeyId);
    if (!key) throw awsError('AccessDeniedException', 'key not found');
    return {
      UserName: USER,
      AccessKeyLastUsed: key.lastUsed
        ? { LastUsedDate: new Date(key.lastUsed), ServiceName: key.service ?? 's3', Region: 'eu-west-1' }
        : { ServiceName: 'N/A', Region: 'N/A' },
    };
  }

  createAccessKey(input: { UserName: string }) {
    this.enter('CreateAccessKey');
    this.requireUser(input.UserName);
    if (this.keys.length >= 2) throw new LimitExceededException({ message: 'Cannot exceed quota for AccessKeysPerUser: 2', $metadata: { httpStatusCode: 409 } });
    const key = this.newKey(this.now());
    return this.leave('CreateAccessKey', {
      AccessKey: { UserName: USER, AccessKeyId: key.id, SecretAccessKey: key.secret, Status: 'Active', CreateDate: new Date(key.created) },
    });
  }

  updateAccessKey(input: { UserName: string; AccessKeyId: string; Status: 'Active' | 'Inactive' }) {
    this.enter('UpdateAccessKey');
    this.requireUser(input.UserName);
    const key = this.key(input.AccessKeyId);
    if (!key) throw new NoSuchEntityException({ message: 'The Access Key with id cannot be found.', $metadata: { httpStatusCode: 404 } });
    key.status = input.Status;
    return this.leave('UpdateAccessKey', {});
  }

  deleteAccessKey(input: { UserName: string; AccessKeyId: string }) {
    this.enter('DeleteAccessKey');
    this.requireUser(input.UserName);
    const key = this.key(input.AccessKeyId);
    if (!key) throw new NoSuchEntityException({ message: 'The Access Key with id cannot be found.', $metadata: { httpStatusCode: 404 } });
    if (this.params.get(ID_PARAM)?.value === key.id) this.violations.push(`deleted ${key.id}, the key SSM points to`);
    if (key.id === this.runpodKey) this.violations.push(`deleted ${key.id}, the key RunPod uses`);
    this.keys = this.keys.filter((other) => other !== key);
    this.deletedKeys.push(key.id);
    return this.leave('DeleteAccessKey', {});
  }

  // ---- SSM ----
  getParameter(input: { Name: string; WithDecryption?: boolean }) {
    this.enter('GetParameter');
    this.deny('GetParameter', input.Name);
    const parameter = this.params.get(input.Name);
    if (!parameter) throw new ParameterNotFound({ message: '', $metadata: { httpStatusCode: 400 } });
    const value = parameter.type === 'SecureString' && !input.WithDecryption ? `AQICAH-ciphertext-${parameter.value.length}` : parameter.value;
    return { Parameter: { Name: input.Name, Type: parameter.type, Value: value, LastModifiedDate: new Date(parameter.modified), Version: 1 } };
  }

  describeParameters(input: { ParameterFilters?: { Key: string; Values?: string[] }[] }) {
    this.enter('DescribeParameters');
    const names = input.ParameterFilters?.find((filter) => filter.Key === 'Name')?.Values ?? [...this.params.keys()];
    return {
      Parameters: names
        .filter((name) => this.params.has(name))
        .map((name) => ({ Name: name, Type: this.params.get(name)!.type, LastModifiedDate: new Date(this.params.get(name)!.modified) })),
    };
  }

  putParameter(input: { Name: string; Value: string; Type?: string; Overwrite?: boolean }) {
    this.enter('PutParameter');
    this.deny('PutParameter', input.Name);
    if (this.params.has(input.Name) && !input.Overwrite) throw awsError('ParameterAlreadyExists', 'exists');
    if (input.Type !== 'SecureString') this.violations.push(`${input.Name} written as ${input.Type}`);
    this.tick(1000);
    this.params.set(input.Name, { value: input.Value, type: input.Type ?? 'String', modified: this.now() });
    return this.leave('PutParameter', { Version: 1, Tier: 'Standard' });
  }

  deleteParameter(input: { Name: string }) {
    this.enter('DeleteParameter');
    this.deny('DeleteParameter', input.Name);
    if (!this.params.delete(input.Name)) throw new ParameterNotFound({ message: '', $metadata: { httpStatusCode: 400 } });
    return this.leave('DeleteParameter', {});
  }

  // ---- STS ----
  async getCallerIdentity(credentials: { accessKeyId: string; secretAccessKey: string }) {
    this.enter('GetCallerIdentity');
    const key = this.key(credentials.accessKeyId);
    if (this.stsRejections > 0 || !key || key.secret !== credentials.secretAccessKey || key.status !== 'Active') {
      if (this.stsRejections > 0) this.stsRejections -= 1;
      throw awsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
    }
    key.lastUsed = this.now();
    key.service = 'sts';
    return { Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/${USER}`, UserId: 'AIDAFAKE' };
  }

  /** Points every SDK client of the four services at this fake. Returns a restore function. */
  install(): () => void {
    const iam = mockClient(IAMClient);
    iam.on(ListAccessKeysCommand).callsFake(async (input) => this.listAccessKeys(input));
    iam.on(GetAccessKeyLastUsedCommand).callsFake(async (input) => this.getAccessKeyLastUsed(input));
    iam.on(CreateAccessKeyCommand).callsFake(async (input) => this.createAccessKey(input));
    iam.on(UpdateAccessKeyCommand).callsFake(async (input) => this.updateAccessKey(input));
    iam.on(DeleteAccessKeyCommand).callsFake(async (input) => this.deleteAccessKey(input));
    const ssm = mockClient(SSMClient);
    ssm.on(GetParameterCommand).callsFake(async (input) => this.getParameter(input));
    ssm.on(DescribeParametersCommand).callsFake(async (input) => this.describeParameters(input));
    ssm.on(PutParameterCommand).callsFake(async (input) => this.putParameter(input));
    ssm.on(DeleteParameterCommand).callsFake(async (input) => this.deleteParameter(input));
    const sts = mockClient(STSClient);
    sts.on(GetCallerIdentityCommand).callsFake(async (_input, getClient) => {
      const provider = getClient().config.credentials as () => Promise<{ accessKeyId: string; secretAccessKey: string }>;
      return this.getCallerIdentity(await provider());
    });
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand).callsFake(async () => {
      this.calls.push('DescribeStacks');
      return {
        Stacks: [
          {
            StackName: 'watchpoint-dev',
            StackStatus: 'UPDATE_COMPLETE',
            CreationTime: new Date(0),
            Outputs: [{ OutputKey: 'RunPodUserArn', OutputValue: `arn:aws:iam::${ACCOUNT}:user/${USER}` }],
          },
        ],
      };
    });
    cfn.on(DescribeStackResourcesCommand).callsFake(async () => ({
      StackResources: [
        { LogicalResourceId: 'AccessRunPodServiceUserABCD1234', PhysicalResourceId: USER, ResourceType: 'AWS::IAM::User', ResourceStatus: 'CREATE_COMPLETE', Timestamp: new Date(0) },
      ],
    }));
    return () => {
      iam.restore();
      ssm.restore();
      sts.restore();
      cfn.restore();
    };
  }
}
