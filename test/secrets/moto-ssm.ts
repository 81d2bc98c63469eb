// Parameter Store on moto for the secrets tests: each test gets fresh environment names (so its
// paths /<env>/watchpoint/* are its own), a config file pointing the CLI at a recording proxy in front
// of moto, and helpers to seed and read parameters with a direct client.
import {
  DeleteParametersCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  SSMClient,
  type ParameterMetadata,
} from '@aws-sdk/client-ssm';
import { tempDir, writeConfig } from '../helpers/cli.ts';
import { motoClient, motoStage, uniqueEnvName, type MotoRecorder } from '../helpers/moto.ts';

export interface SecretsEnvs {
  /** A test-mode environment (any name but prod). */
  dev: string;
  /** `prod` itself (the Stripe rule keys on the name), in a region of its own per test file. */
  prod: string;
  /** An environment with both OAuth client IDs configured. */
  oauth: string;
}

export class MotoSsm {
  readonly client: SSMClient;
  readonly prodClient: SSMClient;
  readonly recorder: MotoRecorder;
  readonly region: string;
  readonly prodRegion: string;

  constructor(recorder: MotoRecorder, region: string, prodRegion: string) {
    this.recorder = recorder;
    this.region = region;
    this.prodRegion = prodRegion;
    this.client = motoClient(SSMClient, region);
    this.prodClient = motoClient(SSMClient, prodRegion);
  }

  /**
   * A project directory whose config has the three environments, all aimed at the recorder. `prod`
   * is shared by the tests of one file (they run one after another), so its parameters are cleared.
   */
  async project(): Promise<{ cwd: string; envs: SecretsEnvs }> {
    const envs: SecretsEnvs = { dev: uniqueEnvName('d'), prod: 'prod', oauth: uniqueEnvName('o') };
    await this.clear('prod');
    const cwd = await tempDir();
    const stage = (overrides: Record<string, unknown> = {}) => motoStage({ region: this.region, awsEndpointUrl: this.recorder.endpoint, ...overrides });
    await writeConfig(cwd, {
      [envs.dev]: stage(),
      prod: stage({ region: this.prodRegion }),
      [envs.oauth]: stage({ googleClientId: 'g-123', githubClientId: 'gh-456' }),
    });
    this.recorder.reset();
    return { cwd, envs };
  }

  private clientFor(path: string): SSMClient {
    return path.startsWith('/prod/') ? this.prodClient : this.client;
  }

  /** Writes a new version (creating the parameter the first time), as another operator would. */
  async seed(name: string, value: string, options: { keyId?: string; tier?: 'Standard' | 'Advanced'; type?: 'String' | 'SecureString' } = {}): Promise<void> {
    const exists = (await this.describe(name)) !== undefined;
    await this.clientFor(name).send(
      new PutParameterCommand({
        Name: name,
        Value: value,
        Type: options.type ?? 'SecureString',
        Overwrite: exists,
        ...(options.keyId ? { KeyId: options.keyId } : {}),
        ...(options.tier ? { Tier: options.tier } : {}),
      }),
    );
  }

  async latest(name: string): Promise<{ value: string; version: number } | undefined> {
    try {
      const { Parameter } = await this.clientFor(name).send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      return { value: Parameter!.Value!, version: Parameter!.Version! };
    } catch (error) {
      if ((error as Error).name === 'ParameterNotFound') return undefined;
      throw error;
    }
  }

  async describe(name: string): Promise<ParameterMetadata | undefined> {
    const { Parameters } = await this.clientFor(name).send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Values: [name] }] }));
    return Parameters?.[0];
  }

  /** Every stored value, oldest first. */
  async values(name: string): Promise<string[]> {
    const { Parameters } = await this.clientFor(name).send(new GetParameterHistoryCommand({ Name: name, WithDecryption: true }));
    return (Parameters ?? []).map((p) => p.Value!);
  }

  async tags(name: string): Promise<Record<string, string>> {
    const { TagList } = await this.clientFor(name).send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }));
    return Object.fromEntries((TagList ?? []).map((t) => [t.Key!, t.Value!]));
  }

  /** The SSM actions the CLI sent through the recorder since `project()`. */
  get calls(): string[] {
    return this.recorder.actions('ssm');
  }

  count(action: string): number {
    return this.calls.filter((a) => a === action).length;
  }

  async clear(envName: string): Promise<void> {
    const client = envName === 'prod' ? this.prodClient : this.client;
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new GetParametersByPathCommand({ Path: `/${envName}/watchpoint/`, Recursive: true, ...(token ? { NextToken: token } : {}) }));
      names.push(...(page.Parameters ?? []).map((p) => p.Name!));
      token = page.NextToken;
    } while (token);
    for (let i = 0; i < names.length; i += 10) await client.send(new DeleteParametersCommand({ Names: names.slice(i, i + 10) }));
  }
}
