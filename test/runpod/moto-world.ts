// A RunPod rotation world on moto: the platform stack's RunPodServiceUser created by moto's
// CloudFormation from the synthesized template (test/helpers/moto-stack.ts), its real access keys in
// moto's IAM (the 2-key limit is moto's), the two SSM parameters in moto's Parameter Store, and
// "RunPod": a client that signs S3 requests with the key it was configured with, so moto records
// that key's last use (service s3) the way AWS does. The CLI talks to moto through the recording
// proxy, which also watches every mutating call for the invariants and can play a crash at one.
import { CreateAccessKeyCommand, IAMClient, ListAccessKeysCommand, UpdateAccessKeyCommand, type AccessKeyMetadata } from '@aws-sdk/client-iam';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeParametersCommand, GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { tempDir, writeConfig } from '../helpers/cli.ts';
import { motoClient, motoClientConfig, motoStage, uniqueEnvName, type MotoRecorder } from '../helpers/moto.ts';
import { createMotoPlatform } from '../helpers/moto-stack.ts';

export type CrashMode = 'before' | 'after';
const MUTATIONS = new Set(['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey', 'PutParameter', 'DeleteParameter']);

export class RotationWorld {
  readonly iam = motoClient(IAMClient);
  readonly ssm = motoClient(SSMClient);
  env = '';
  cwd = '';
  user = '';
  idParam = '';
  secretParam = '';
  /** Every secret access key moto issued in this world (by the test or by the CLI). */
  readonly secrets = new Map<string, string>();
  runpodKey: string | undefined;
  runpodFailures = 0;
  readonly violations: string[] = [];
  mutations = 0;
  private crash: { at: number; mode: CrashMode } | undefined;
  private stsRejections = 0;
  private readonly recorder: MotoRecorder;

  constructor(recorder: MotoRecorder) {
    this.recorder = recorder;
  }

  async setup(): Promise<void> {
    this.env = uniqueEnvName('r');
    this.cwd = await tempDir();
    await writeConfig(this.cwd, { [this.env]: motoStage({ awsEndpointUrl: this.recorder.endpoint }) });
    // Only the user (and the RunPodUserArn output) is needed: a faster stack.
    const platform = await createMotoPlatform(this.env, { keep: (_id, type) => type === 'AWS::IAM::User' });
    this.user = platform.outputs.RunPodUserArn!.split('/').pop()!;
    this.idParam = `/${this.env}/watchpoint/forecast/runpod_aws_access_key_id`;
    this.secretParam = `/${this.env}/watchpoint/forecast/runpod_aws_secret_access_key`;
    this.recorder.reset();
    this.install();
  }

  private install(): void {
    this.recorder.intercept(async (call) => {
      if (call.action === 'GetCallerIdentity' && this.stsRejections > 0) {
        this.stsRejections -= 1;
        return { error: { code: 'InvalidClientTokenId', message: 'The security token included in the request is invalid.', status: 403 } };
      }
      if (!MUTATIONS.has(call.action)) return undefined;
      this.mutations += 1;
      if (call.action === 'DeleteAccessKey') {
        const id = new URLSearchParams(call.body).get('AccessKeyId') ?? '';
        if (id === (await this.param(this.idParam))) this.violations.push(`deleted ${id}, the key SSM points to`);
        if (id === this.runpodKey) this.violations.push(`deleted ${id}, the key RunPod uses`);
      }
      if (call.action === 'PutParameter') {
        const input = JSON.parse(call.body) as { Name: string; Type?: string };
        if (input.Type !== 'SecureString') this.violations.push(`${input.Name} written as ${input.Type}`);
      }
      if (this.crash && this.mutations === this.crash.at) {
        const mode = this.crash.mode;
        this.crash = undefined;
        return { error: { code: 'ProcessCrashed', message: `simulated crash ${mode} ${call.action}` }, die: true, ...(mode === 'after' ? { afterForward: true } : {}) };
      }
      return undefined;
    });
    this.recorder.watch(async (call) => {
      if (call.action === 'CreateAccessKey' && call.status === 200 && call.response) {
        const id = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(call.response)?.[1];
        const secret = /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(call.response)?.[1];
        if (id && secret) this.secrets.set(id, secret);
      }
      if (MUTATIONS.has(call.action) && call.action !== 'PutParameter' && call.action !== 'DeleteParameter') {
        const keys = await this.keys();
        if (keys.length > 0 && !keys.some((key) => key.Status === 'Active')) this.violations.push(`${call.action}: zero active keys`);
      }
    });
  }

  /** The process dies at the k-th mutating call from now, before or after it takes effect. */
  crashAt(step: number, mode: CrashMode): void {
    this.crash = { at: this.mutations + step, mode };
  }

  /** A new process: calls work again. */
  restart(): void {
    this.recorder.revive();
  }

  get crashed(): boolean {
    return this.recorder.dead;
  }

  /** STS refuses the next `n` GetCallerIdentity calls, as it does while a new key propagates. */
  rejectSts(n: number): void {
    this.stsRejections = n;
  }

  /** A key made by the test (an earlier rotation), optionally used by RunPod and stored in SSM. */
  async addKey(options: { used?: boolean; status?: 'Active' | 'Inactive'; inSsm?: boolean } = {}): Promise<{ id: string; secret: string }> {
    const { AccessKey } = await this.iam.send(new CreateAccessKeyCommand({ UserName: this.user }));
    const key = { id: AccessKey!.AccessKeyId!, secret: AccessKey!.SecretAccessKey! };
    this.secrets.set(key.id, key.secret);
    if (options.used) await this.signS3(key);
    if (options.status === 'Inactive') await this.iam.send(new UpdateAccessKeyCommand({ UserName: this.user, AccessKeyId: key.id, Status: 'Inactive' }));
    if (options.inSsm) {
      await this.ssm.send(new PutParameterCommand({ Name: this.idParam, Value: key.id, Type: 'SecureString', Overwrite: true }));
      await this.ssm.send(new PutParameterCommand({ Name: this.secretParam, Value: key.secret, Type: 'SecureString', Overwrite: true }));
    }
    return key;
  }

  async keys(): Promise<AccessKeyMetadata[]> {
    const { AccessKeyMetadata } = await this.iam.send(new ListAccessKeysCommand({ UserName: this.user }));
    return AccessKeyMetadata ?? [];
  }

  async key(id: string | undefined): Promise<AccessKeyMetadata | undefined> {
    return (await this.keys()).find((key) => key.AccessKeyId === id);
  }

  async param(name: string): Promise<string | undefined> {
    try {
      return (await this.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value;
    } catch (error) {
      if ((error as Error).name === 'ParameterNotFound') return undefined;
      throw error;
    }
  }

  async paramType(name: string): Promise<string | undefined> {
    const { Parameters } = await this.ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Values: [name] }] }));
    return Parameters?.[0]?.Type;
  }

  /** SSM holds an id and the secret moto issued for that id. */
  async ssmConsistent(): Promise<boolean> {
    const id = await this.param(this.idParam);
    return id !== undefined && (await this.key(id)) !== undefined && this.secrets.get(id) === (await this.param(this.secretParam));
  }

  private async signS3(key: { id: string; secret: string }): Promise<void> {
    const s3 = new S3Client({ ...motoClientConfig(), credentials: { accessKeyId: key.id, secretAccessKey: key.secret }, forcePathStyle: true });
    await s3.send(new ListBucketsCommand({}));
  }

  /** RunPod uploads once with the key it was given; a deleted or inactive key is an outage. */
  async runpodUpload(): Promise<void> {
    if (this.runpodKey === undefined) return;
    const key = await this.key(this.runpodKey);
    if (!key || key.Status !== 'Active') {
      this.runpodFailures += 1;
      return;
    }
    await this.signS3({ id: this.runpodKey, secret: this.secrets.get(this.runpodKey)! });
  }

  /** The operator pastes what SSM holds into RunPod, if SSM's id and secret really are a pair. */
  async operatorConfiguresRunPodFromSsm(): Promise<boolean> {
    if (!(await this.ssmConsistent())) return false;
    this.runpodKey = await this.param(this.idParam);
    return true;
  }
}
