// An in-memory Parameter Store behind aws-sdk-client-mock, with SSM's real rules for the calls the
// secrets commands make: versions, history, 10 names per GetParameters, no Tags with Overwrite,
// tier limits, and AWS's habit of echoing the input value in validation errors.
import {
  AddTagsToResourceCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';

export interface StoredVersion {
  value: string;
  version: number;
  date: Date;
  user: string;
  keyId: string;
  tier: string;
  type: string;
}

export function awsError(name: string, message: string, status = 400): Error {
  const error = new Error(message);
  error.name = name;
  Object.assign(error, { $metadata: { httpStatusCode: status, requestId: 'req-1' }, $fault: 'client' });
  return error;
}

export class FakeSsm {
  readonly parameters = new Map<string, StoredVersion[]>();
  readonly tags = new Map<string, Map<string, string>>();
  readonly calls: string[] = [];
  /** Milliseconds each call takes (benchmarks). */
  latency = 0;
  user = 'arn:aws:iam::123456789012:user/ops';
  mock: AwsStub<any, any, any>;

  constructor() {
    this.mock = mockClient(SSMClient);
    this.install();
  }

  seed(name: string, value: string, options: Partial<StoredVersion> = {}): void {
    const versions = this.parameters.get(name) ?? [];
    versions.push({
      value,
      version: versions.length + 1,
      date: new Date(Date.UTC(2026, 0, versions.length + 1)),
      user: options.user ?? this.user,
      keyId: options.keyId ?? 'alias/aws/ssm',
      tier: options.tier ?? 'Standard',
      type: options.type ?? 'SecureString',
    });
    this.parameters.set(name, versions);
  }

  latest(name: string): StoredVersion | undefined {
    return this.parameters.get(name)?.at(-1);
  }

  count(command: string): number {
    return this.calls.filter((c) => c === command).length;
  }

  restore(): void {
    this.mock.restore();
  }

  private async tick(command: string): Promise<void> {
    this.calls.push(command);
    if (this.latency > 0) await new Promise((resolve) => setTimeout(resolve, this.latency));
  }

  private install(): void {
    this.mock.on(GetParametersCommand).callsFake(async (input) => {
      await this.tick('GetParameters');
      const names: string[] = input.Names ?? [];
      if (names.length > 10) throw awsError('ValidationException', `1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10`);
      const found = names.filter((n) => this.parameters.has(n));
      return {
        Parameters: found.map((name) => {
          const v = this.latest(name)!;
          return { Name: name, Value: input.WithDecryption || v.type !== 'SecureString' ? v.value : 'AQICAHencrypted', Version: v.version, LastModifiedDate: v.date, Type: v.type };
        }),
        InvalidParameters: names.filter((n) => !this.parameters.has(n)),
      };
    });
    this.mock.on(GetParameterCommand).callsFake(async (input) => {
      await this.tick('GetParameter');
      const [name, selector] = String(input.Name).split(/:(?=\d+$)/);
      const versions = this.parameters.get(name!);
      if (!versions) throw awsError('ParameterNotFound', '');
      const v = selector ? versions.find((x) => x.version === Number(selector)) : versions.at(-1);
      if (!v) throw awsError('ParameterVersionNotFound', `Systems Manager could not find version ${selector} of ${name}.`);
      return { Parameter: { Name: name, Value: input.WithDecryption ? v.value : 'AQICAHencrypted', Version: v.version, LastModifiedDate: v.date, Type: v.type } };
    });
    this.mock.on(DescribeParametersCommand).callsFake(async (input) => {
      await this.tick('DescribeParameters');
      const filter = input.ParameterFilters?.[0];
      let names = [...this.parameters.keys()];
      if (filter?.Key === 'Path') names = names.filter((n) => n.startsWith(`${filter.Values[0]}/`));
      if (filter?.Key === 'Name') names = names.filter((n) => filter.Values.includes(n));
      names.sort();
      const start = Number(input.NextToken ?? 0);
      const max = input.MaxResults ?? 50;
      const page = names.slice(start, start + max);
      return {
        Parameters: page.map((name) => {
          const v = this.latest(name)!;
          return { Name: name, Type: v.type, KeyId: v.keyId, Version: v.version, LastModifiedDate: v.date, LastModifiedUser: v.user, Tier: v.tier };
        }),
        ...(start + max < names.length ? { NextToken: String(start + max) } : {}),
      };
    });
    this.mock.on(GetParametersByPathCommand).callsFake(async () => {
      await this.tick('GetParametersByPath');
      return { Parameters: [] };
    });
    this.mock.on(GetParameterHistoryCommand).callsFake(async (input) => {
      await this.tick('GetParameterHistory');
      const versions = this.parameters.get(String(input.Name));
      if (!versions) throw awsError('ParameterNotFound', '');
      return {
        Parameters: versions.map((v) => ({
          Name: input.Name, Version: v.version, LastModifiedDate: v.date, LastModifiedUser: v.user, KeyId: v.keyId, Tier: v.tier, Type: v.type, Labels: [],
          ...(input.WithDecryption ? { Value: v.value } : { Value: 'AQICAHencrypted' }),
        })),
      };
    });
    this.mock.on(PutParameterCommand).callsFake(async (input) => {
      await this.tick('PutParameter');
      const name = String(input.Name);
      const value = String(input.Value);
      const bytes = Buffer.byteLength(value);
      if (bytes > 8192) throw awsError('ValidationException', `1 validation error detected: Value '${value}' at 'value' failed to satisfy constraint: Member must have length less than or equal to 8192`);
      if (bytes > 4096 && input.Tier !== 'Advanced') throw awsError('ValidationException', `Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.`);
      if (input.Overwrite && input.Tags) throw awsError('ValidationException', 'Invalid request: tags and overwrite can\'t be used together. To create a parameter with tags, please remove overwrite flag.');
      const versions = this.parameters.get(name);
      if (versions && !input.Overwrite) throw awsError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this request, set the overwrite option in the request to true.');
      if (versions?.at(-1)?.tier === 'Advanced' && input.Tier === 'Standard') throw awsError('ValidationException', 'This parameter uses the advanced-parameter tier. You can\'t downgrade a parameter from the advanced-parameter tier to the standard-parameter tier.');
      const list = versions ?? [];
      list.push({ value, version: list.length + 1, date: new Date(), user: this.user, keyId: input.KeyId ?? 'alias/aws/ssm', tier: input.Tier ?? 'Standard', type: String(input.Type ?? 'String') });
      this.parameters.set(name, list);
      if (input.Tags) this.tags.set(name, new Map(input.Tags.map((t: { Key: string; Value: string }) => [t.Key, t.Value])));
      return { Version: list.length, Tier: input.Tier ?? 'Standard' };
    });
    this.mock.on(AddTagsToResourceCommand).callsFake(async (input) => {
      await this.tick('AddTagsToResource');
      const tags = this.tags.get(String(input.ResourceId)) ?? new Map<string, string>();
      for (const t of input.Tags ?? []) tags.set(t.Key, t.Value);
      this.tags.set(String(input.ResourceId), tags);
      return {};
    });
  }
}
