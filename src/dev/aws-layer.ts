// The AWS calls the handlers and the operator commands make that fauxqs and aws-ses-v2-local do not
// serve, answered in memory by the dev platform: SSM Parameter Store (the secrets), CloudFormation's
// read calls (stack discovery, from the synthesized templates), STS GetCallerIdentity, and hands
// CloudWatch Logs (logs-api.ts) and CloudWatch (cloudwatch-api.ts, the locally evaluated alarms) to
// their modules. Only these operations; anything else
// gets an error that names it, so a new call shows up as a clear failure instead of a wrong answer.
import { randomUUID } from 'node:crypto';
import type { CloudWatchApi } from './cloudwatch-api.ts';
import type { LogsApi } from './logs-api.ts';

export const LOCAL_ACCOUNT = '000000000000';

export interface LayerRequest {
  service: string;
  target: string | undefined;
  body: string;
}

export interface LayerResponse {
  status: number;
  contentType: string;
  body: string;
}

export interface LocalStack {
  name: string;
  /** logical id -> physical id and type */
  resources: { logicalId: string; physicalId: string; type: string }[];
  outputs: Record<string, string>;
  createdAt: Date;
}

interface ParameterVersion {
  value: string;
  type: string;
  version: number;
  description?: string;
  modified: Date;
  labels: string[];
}

export class AwsLayer {
  private readonly parameters = new Map<string, ParameterVersion[]>();
  private readonly tags = new Map<string, { Key: string; Value: string }[]>();

  private readonly region: string;
  private readonly stacks: () => LocalStack[];

  private logs: LogsApi | undefined;

  constructor(region: string, stacks: () => LocalStack[]) {
    this.region = region;
    this.stacks = stacks;
  }

  /** CloudWatch Logs from the platform's log store (logs-api.ts). */
  serveLogs(logs: LogsApi): void {
    this.logs = logs;
  }

  private alarms: CloudWatchApi | undefined;

  /** CloudWatch alarms and metrics from the local evaluator (alarms.ts, cloudwatch-api.ts). */
  serveAlarms(alarms: CloudWatchApi): void {
    this.alarms = alarms;
  }

  /** Seeds a parameter the way `secrets set` would (the dev platform's own secrets). */
  putParameter(name: string, value: string, type = 'SecureString'): void {
    const versions = this.parameters.get(name) ?? [];
    versions.push({ value, type, version: versions.length + 1, modified: new Date(), labels: [] });
    this.parameters.set(name, versions);
  }

  handle(request: LayerRequest): LayerResponse {
    try {
      if (request.service === 'ssm') return json11(this.ssm(request.target?.split('.')[1] ?? '', JSON.parse(request.body || '{}') as Record<string, unknown>));
      if (request.service === 'logs') {
        if (!this.logs) throw new LayerError(400, 'UnsupportedOperation', 'CloudWatch Logs is not served by this watchpoint dev.');
        try {
          return json11(this.logs.handle(request.target?.split('.')[1] ?? '', JSON.parse(request.body || '{}') as Record<string, unknown>));
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          throw typeof code === 'string' ? new LayerError(400, code, (error as Error).message) : error;
        }
      }
      if (request.service === 'monitoring' && this.alarms) {
        try {
          return json10(this.alarms.handle(request.target?.split('.')[1] ?? '', JSON.parse(request.body || '{}') as Record<string, unknown>));
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          throw typeof code === 'string' ? new LayerError(400, code, (error as Error).message) : error;
        }
      }
      if (request.service === 'monitoring') throw new LayerError(400, 'UnsupportedOperation', 'CloudWatch is not served by this watchpoint dev (no alarm evaluator).');
      const form = new URLSearchParams(request.body);
      const action = form.get('Action') ?? '';
      if (request.service === 'cloudformation') return xml(action, this.cloudformation(action, form));
      if (request.service === 'sts' && action === 'GetCallerIdentity') {
        return xml(action, `<Arn>arn:aws:iam::${LOCAL_ACCOUNT}:user/watchpoint-dev</Arn><UserId>WATCHPOINTDEV</UserId><Account>${LOCAL_ACCOUNT}</Account>`, 'https://sts.amazonaws.com/doc/2011-06-15/');
      }
      throw new LayerError(400, 'UnsupportedOperation', `${request.service} ${request.target ?? action} is not served by watchpoint dev.`);
    } catch (error) {
      const e = error instanceof LayerError ? error : new LayerError(500, 'InternalFailure', (error as Error).message);
      if (request.service === 'ssm' || request.service === 'monitoring' || request.service === 'logs') {
        return { status: e.status, contentType: 'application/x-amz-json-1.1', body: JSON.stringify({ __type: e.code, message: e.message }) };
      }
      return {
        status: e.status,
        contentType: 'text/xml',
        body: `<ErrorResponse><Error><Type>Sender</Type><Code>${e.code}</Code><Message>${escapeXml(e.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      };
    }
  }

  // --- SSM ----------------------------------------------------------------------------------

  private arn(name: string): string {
    return `arn:aws:ssm:${this.region}:${LOCAL_ACCOUNT}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
  }

  private find(nameWithSelector: string): ParameterVersion & { name: string } {
    const [name = '', selector] = nameWithSelector.split(':') as [string, string | undefined];
    const versions = this.parameters.get(name);
    const found = selector === undefined ? versions?.at(-1) : versions?.find((v) => String(v.version) === selector || v.labels.includes(selector));
    if (!found) throw new LayerError(400, 'ParameterNotFound', `Parameter ${nameWithSelector} not found.`);
    return { ...found, name };
  }

  private view(p: ParameterVersion & { name: string }, withValue = true): Record<string, unknown> {
    return {
      Name: p.name,
      Type: p.type,
      ...(withValue ? { Value: p.value } : {}),
      Version: p.version,
      LastModifiedDate: p.modified.getTime() / 1000,
      ARN: this.arn(p.name),
      DataType: 'text',
    };
  }

  private ssm(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case 'GetParameter':
        return { Parameter: this.view(this.find(String(input.Name))) };
      case 'GetParameters': {
        const names = (input.Names as string[] | undefined) ?? [];
        const found: unknown[] = [];
        const invalid: string[] = [];
        for (const name of names) {
          try {
            found.push(this.view(this.find(name)));
          } catch {
            invalid.push(name);
          }
        }
        return { Parameters: found, InvalidParameters: invalid };
      }
      case 'GetParametersByPath': {
        const path = String(input.Path ?? '/');
        const prefix = path.endsWith('/') ? path : `${path}/`;
        const names = [...this.parameters.keys()].filter((name) => name.startsWith(prefix) && (input.Recursive || !name.slice(prefix.length).includes('/')));
        return { Parameters: names.sort().map((name) => this.view(this.find(name))) };
      }
      case 'PutParameter': {
        const name = String(input.Name);
        const existing = this.parameters.get(name);
        if (existing && !input.Overwrite) throw new LayerError(400, 'ParameterAlreadyExists', `The parameter ${name} already exists.`);
        const versions = existing ?? [];
        const version = versions.length + 1;
        versions.push({
          value: String(input.Value),
          type: String(input.Type ?? versions.at(-1)?.type ?? 'String'),
          version,
          ...(typeof input.Description === 'string' ? { description: input.Description } : {}),
          modified: new Date(),
          labels: [],
        });
        this.parameters.set(name, versions);
        if (Array.isArray(input.Tags)) this.tags.set(name, input.Tags as { Key: string; Value: string }[]);
        return { Version: version, Tier: 'Standard' };
      }
      case 'DeleteParameter': {
        const name = String(input.Name);
        if (!this.parameters.delete(name)) throw new LayerError(400, 'ParameterNotFound', `Parameter ${name} not found.`);
        return {};
      }
      case 'AddTagsToResource': {
        const id = String(input.ResourceId);
        const tags = new Map((this.tags.get(id) ?? []).map((t) => [t.Key, t]));
        for (const tag of (input.Tags as { Key: string; Value: string }[] | undefined) ?? []) tags.set(tag.Key, tag);
        this.tags.set(id, [...tags.values()]);
        return {};
      }
      case 'GetParameterHistory': {
        const name = String(input.Name);
        const versions = this.parameters.get(name);
        if (!versions) throw new LayerError(400, 'ParameterNotFound', `Parameter ${name} not found.`);
        const withValue = Boolean(input.WithDecryption) || versions.at(-1)?.type !== 'SecureString';
        return {
          Parameters: versions.map((v) => ({ ...this.view({ ...v, name }, withValue), Labels: v.labels, ...(v.description ? { Description: v.description } : {}), LastModifiedUser: `arn:aws:iam::${LOCAL_ACCOUNT}:user/watchpoint-dev` })),
        };
      }
      case 'DescribeParameters': {
        const filters = (input.ParameterFilters as { Key: string; Option?: string; Values: string[] }[] | undefined) ?? [];
        let names = [...this.parameters.keys()].sort();
        for (const filter of filters) {
          if (filter.Key !== 'Name' && filter.Key !== 'Path') throw new LayerError(400, 'UnsupportedOperation', `DescribeParameters filter ${filter.Key} is not served by watchpoint dev.`);
          names = names.filter((name) =>
            filter.Values.some((value) =>
              filter.Key === 'Path' ? name.startsWith(value.endsWith('/') ? value : `${value}/`) : filter.Option === 'BeginsWith' ? name.startsWith(value) : name === value,
            ),
          );
        }
        return {
          Parameters: names.map((name) => {
            const p = this.find(name);
            return { Name: name, Type: p.type, Version: p.version, LastModifiedDate: p.modified.getTime() / 1000, ARN: this.arn(name), ...(p.description ? { Description: p.description } : {}), DataType: 'text', Tier: 'Standard' };
          }),
        };
      }
      default:
        throw new LayerError(400, 'UnsupportedOperation', `SSM ${operation} is not served by watchpoint dev.`);
    }
  }

  // --- CloudFormation (read calls only) -----------------------------------------------------

  private stack(name: string | null): LocalStack {
    const stack = this.stacks().find((s) => s.name === name);
    if (!stack) throw new LayerError(400, 'ValidationError', `Stack with id ${name ?? ''} does not exist`);
    return stack;
  }

  private cloudformation(action: string, form: URLSearchParams): string {
    const stackId = (s: LocalStack) => `arn:aws:cloudformation:${this.region}:${LOCAL_ACCOUNT}:stack/${s.name}/local`;
    const resource = (s: LocalStack, r: LocalStack['resources'][number], summary: boolean) =>
      `<member><LogicalResourceId>${escapeXml(r.logicalId)}</LogicalResourceId><PhysicalResourceId>${escapeXml(r.physicalId)}</PhysicalResourceId><ResourceType>${escapeXml(r.type)}</ResourceType><ResourceStatus>CREATE_COMPLETE</ResourceStatus>${summary ? `<LastUpdatedTimestamp>${s.createdAt.toISOString()}</LastUpdatedTimestamp>` : `<StackName>${s.name}</StackName><StackId>${stackId(s)}</StackId><Timestamp>${s.createdAt.toISOString()}</Timestamp>`}</member>`;
    switch (action) {
      case 'DescribeStacks': {
        const name = form.get('StackName');
        const stacks = name ? [this.stack(name)] : this.stacks();
        const members = stacks.map(
          (s) =>
            `<member><StackName>${s.name}</StackName><StackId>${stackId(s)}</StackId><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>${s.createdAt.toISOString()}</CreationTime><Description>watchpoint dev (local)</Description><Outputs>${Object.entries(s.outputs)
              .map(([key, value]) => `<member><OutputKey>${escapeXml(key)}</OutputKey><OutputValue>${escapeXml(value)}</OutputValue></member>`)
              .join('')}</Outputs><DriftInformation><StackDriftStatus>NOT_CHECKED</StackDriftStatus></DriftInformation></member>`,
        );
        return `<Stacks>${members.join('')}</Stacks>`;
      }
      case 'DescribeStackResources': {
        const s = this.stack(form.get('StackName'));
        // DescribeStackResources stops at 100 resources, as CloudFormation's does.
        return `<StackResources>${s.resources.slice(0, 100).map((r) => resource(s, r, false)).join('')}</StackResources>`;
      }
      case 'ListStackResources': {
        const s = this.stack(form.get('StackName'));
        const start = Number(form.get('NextToken') ?? 0);
        const page = s.resources.slice(start, start + 100);
        const next = start + 100 < s.resources.length ? `<NextToken>${start + 100}</NextToken>` : '';
        return `<StackResourceSummaries>${page.map((r) => resource(s, r, true)).join('')}</StackResourceSummaries>${next}`;
      }
      default:
        throw new LayerError(400, 'UnsupportedOperation', `CloudFormation ${action} is not served by watchpoint dev (it serves only DescribeStacks, DescribeStackResources and ListStackResources).`);
    }
  }
}

class LayerError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function json11(value: unknown): LayerResponse {
  return { status: 200, contentType: 'application/x-amz-json-1.1', body: JSON.stringify(value) };
}

function json10(value: unknown): LayerResponse {
  return { status: 200, contentType: 'application/x-amz-json-1.0', body: JSON.stringify(value) };
}

function xml(action: string, inner: string, ns = 'http://cloudformation.amazonaws.com/doc/2010-05-15/'): LayerResponse {
  return {
    status: 200,
    contentType: 'text/xml',
    body: `<${action}Response xmlns="${ns}"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
