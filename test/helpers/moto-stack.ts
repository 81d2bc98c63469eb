// The real platform stack in moto: the template `watchpoint synth` writes (no bundling), reduced to
// what moto 5.2.1's CloudFormation can create, and created with CreateStack as `watchpoint-<env>`.
// Logical ids, resource names and outputs are the template's own; what had to go is listed in
// `removed` (and in README's testing section), so a test can say what it does not cover.
//
// Synthesis takes seconds, so it runs once per source tree for the whole test run: the first test
// file to ask writes the template to the temp dir (keyed by a hash of src/stack and src/config) and
// the others, in parallel forks, wait for it. The env name is a placeholder substituted per stack.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand, DescribeStackResourcesCommand, type StackResource } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { TEST_STAGE } from './stage.ts';
import { MOTO_ACCOUNT, motoClientConfig } from './moto.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Synthesized once with this env name; every occurrence is replaced by the stack's own env. */
const PLACEHOLDER_ENV = 'zqxplaceholder';

/** Resource types moto 5.2.1's CloudFormation does not create (AWS::CloudWatch::Alarm is added by test/helpers/moto-plugins). */
export const MOTO_UNSUPPORTED_TYPES: readonly string[] = [
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Stage',
  'AWS::ApiGatewayV2::Integration',
  'AWS::ApiGatewayV2::Route',
  'AWS::Lambda::Alias',
  'AWS::Lambda::Version',
  'AWS::Logs::MetricFilter',
  'AWS::S3::BucketPolicy',
  'AWS::SQS::QueuePolicy',
  'AWS::SNS::TopicPolicy',
  'AWS::SNS::Subscription',
  'Custom::S3BucketNotifications',
];

type Json = Record<string, any>;

export interface Template {
  Resources: Record<string, { Type: string; Properties?: Json; DependsOn?: string | string[]; [key: string]: unknown }>;
  Outputs?: Record<string, { Value: unknown; [key: string]: unknown }>;
  Parameters?: Json;
  Rules?: Json;
  [key: string]: unknown;
}

export interface Reduced {
  template: Template;
  /** logical id -> why it was left out (its type, or the removed resource it refers to). */
  removed: Record<string, string>;
  removedOutputs: string[];
}

function sourceHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|json|mjs)$/.test(name)) hash.update(path).update(readFileSync(path));
    }
  };
  walk(join(REPO, 'src', 'stack'));
  walk(join(REPO, 'src', 'config'));
  hash.update(readFileSync(join(REPO, 'package-lock.json')));
  return hash.digest('hex').slice(0, 16);
}

export interface Synthesized {
  platform: Template;
  registry: Template;
}

async function synthesize(): Promise<Synthesized> {
  const { createPlatformApp } = await import('../../src/stack/app.ts');
  const { Template: Assertions } = await import('aws-cdk-lib/assertions');
  const outdir = join(tmpdir(), `watchpoint-moto-synth-${process.pid}-${Date.now()}`);
  try {
    const { platformStack, registryStack } = createPlatformApp({ envName: PLACEHOLDER_ENV, stage: TEST_STAGE, imageTag: 'v1.2.3', outdir, bundling: false, nag: false });
    return { platform: Assertions.fromStack(platformStack).toJSON() as Template, registry: Assertions.fromStack(registryStack).toJSON() as Template };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The synthesized templates for PLACEHOLDER_ENV, shared by every test file of the run. */
export async function synthesizedTemplates(): Promise<Synthesized> {
  const file = join(tmpdir(), `watchpoint-moto-templates-${sourceHash()}.json`);
  const lock = `${file}.lock`;
  for (let waited = 0; ; waited += 200) {
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Synthesized;
    try {
      mkdirSync(lock);
    } catch {
      // Another fork is synthesizing. A lock older than 3 minutes is from a run that died.
      if (waited > 180_000 || (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 180_000)) rmSync(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    try {
      const templates = await synthesize();
      writeFileSync(`${file}.${process.pid}`, JSON.stringify(templates));
      renameSync(`${file}.${process.pid}`, file);
      return templates;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

function references(value: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(value)) for (const item of value) references(item, into);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') into.add(inner);
      else if (key === 'Fn::GetAtt') into.add(Array.isArray(inner) ? String(inner[0]) : String(inner).split('.')[0]!);
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(inner) ? String(inner[0]) : String(inner);
        for (const match of text.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}/g)) into.add(match[1]!);
        if (Array.isArray(inner)) references(inner[1], into);
      } else references(inner, into);
    }
  }
  return into;
}

/**
 * Drops the resource types moto cannot create, then every resource and output that refers to a
 * dropped one, until nothing refers to a missing resource. Also drops CDK's bootstrap-version
 * parameter and rule (moto has no /cdk-bootstrap parameter) and the tags of the KMS key (moto fails
 * to create a tagged key). Everything kept is unchanged.
 */
export function reduceForMoto(template: Template, options: { keep?: (logicalId: string, type: string) => boolean } = {}): Reduced {
  const resources: Template['Resources'] = structuredClone(template.Resources);
  const removed: Record<string, string> = {};
  for (const [id, resource] of Object.entries(resources)) {
    if (MOTO_UNSUPPORTED_TYPES.includes(resource.Type)) removed[id] = `${resource.Type} (not supported by moto's CloudFormation)`;
    else if (options.keep && !options.keep(id, resource.Type)) removed[id] = 'not needed by this test';
  }
  for (const id of Object.keys(removed)) delete resources[id];
  for (let changed = true; changed; ) {
    changed = false;
    for (const [id, resource] of Object.entries(resources)) {
      const missing = [...references(resource.Properties ?? {}, new Set())].find((ref) => ref in removed);
      if (missing) {
        removed[id] = `refers to ${missing}`;
        delete resources[id];
        changed = true;
      }
    }
  }
  for (const resource of Object.values(resources)) {
    if (resource.DependsOn) {
      const kept = (Array.isArray(resource.DependsOn) ? resource.DependsOn : [resource.DependsOn]).filter((dep) => dep in resources);
      if (kept.length > 0) resource.DependsOn = kept;
      else delete resource.DependsOn;
    }
    if (resource.Type === 'AWS::KMS::Key' && resource.Properties) delete resource.Properties.Tags;
  }
  const outputs: NonNullable<Template['Outputs']> = {};
  const removedOutputs: string[] = [];
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    const refs = [...references(output.Value, new Set())].filter((ref) => !ref.startsWith('AWS::'));
    if (refs.every((ref) => ref in resources)) outputs[name] = output;
    else removedOutputs.push(name);
  }
  const { Parameters: _parameters, Rules: _rules, ...rest } = template;
  return { template: { ...rest, Resources: resources, Outputs: outputs }, removed, removedOutputs };
}

export interface MotoPlatform {
  stackName: string;
  envName: string;
  reduced: Reduced;
  resources: StackResource[];
  outputs: Record<string, string>;
  /** Physical id of the (first) resource whose logical id starts with `prefix`. */
  physicalId(prefix: string): string;
}

export interface MotoStackOptions {
  region?: string;
  /** Credentials of the moto account to create it in (test/helpers/moto.ts isolatedAccount()); default moto's. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** The account those credentials belong to (default moto's). */
  account?: string;
  /** Narrows the reduced template further, for tests that need only a few resources (faster). */
  keep?: (logicalId: string, type: string) => boolean;
  /** Added to the template as they are (e.g. more alarms). */
  extraResources?: Template['Resources'];
}

/** Lambda code objects the template points at, so moto's Lambda can create the functions. */
async function uploadCodeObjects(template: Template, s3: S3Client, region: string, account: string): Promise<void> {
  const created = new Set<string>();
  for (const resource of Object.values(template.Resources)) {
    const code = resource.Type === 'AWS::Lambda::Function' ? resource.Properties?.Code : undefined;
    if (!code?.S3Bucket || !code.S3Key) continue;
    const bucket = typeof code.S3Bucket === 'string' ? code.S3Bucket : String(code.S3Bucket['Fn::Sub']).replace('${AWS::AccountId}', account).replace('${AWS::Region}', region);
    if (!created.has(bucket)) {
      await s3.send(new CreateBucketCommand({ Bucket: bucket, ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }) })).catch((error: Error) => {
        if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(error.name)) throw error;
      });
      created.add(bucket);
    }
    // An empty zip (end-of-central-directory record only): never invoked, only stored.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: String(code.S3Key), Body: Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]) }));
  }
}

async function createStack(stackName: string, template: Template, options: MotoStackOptions): Promise<{ resources: StackResource[]; outputs: Record<string, string> }> {
  const region = options.region ?? TEST_STAGE.region;
  const config = { ...motoClientConfig(region), ...(options.credentials ? { credentials: options.credentials } : {}) };
  await uploadCodeObjects(template, new S3Client({ ...config, forcePathStyle: true }), region, options.account ?? MOTO_ACCOUNT);
  const cloudformation = new CloudFormationClient(config);
  await cloudformation.send(new CreateStackCommand({ StackName: stackName, TemplateBody: JSON.stringify(template), Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] }));
  let status = '';
  let reason = '';
  let outputs: Record<string, string> = {};
  for (let i = 0; i < 300; i += 1) {
    const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    status = Stacks?.[0]?.StackStatus ?? '';
    reason = Stacks?.[0]?.StackStatusReason ?? '';
    outputs = Object.fromEntries((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));
    if (!status.endsWith('_IN_PROGRESS')) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (status !== 'CREATE_COMPLETE') throw new Error(`moto could not create ${stackName}: ${status} ${reason}`);
  const { StackResources } = await cloudformation.send(new DescribeStackResourcesCommand({ StackName: stackName }));
  return { resources: StackResources ?? [], outputs };
}

function forEnv(template: Template, envName: string): Template {
  return JSON.parse(JSON.stringify(template).replaceAll(PLACEHOLDER_ENV, envName)) as Template;
}

/** Creates `watchpoint-<envName>` in moto from the reduced platform template and waits for CREATE_COMPLETE. */
export async function createMotoPlatform(envName: string, options: MotoStackOptions = {}): Promise<MotoPlatform> {
  const synthesized = forEnv((await synthesizedTemplates()).platform, envName);
  const reduced = reduceForMoto(synthesized, options.keep ? { keep: options.keep } : {});
  Object.assign(reduced.template.Resources, options.extraResources ?? {});
  const stackName = `watchpoint-${envName}`;
  const { resources, outputs } = await createStack(stackName, reduced.template, options);
  return {
    stackName,
    envName,
    reduced,
    resources,
    outputs,
    physicalId: (prefix) => {
      const found = resources.find((r) => r.LogicalResourceId?.startsWith(prefix));
      if (!found?.PhysicalResourceId) throw new Error(`no resource ${prefix}* in ${stackName}`);
      return found.PhysicalResourceId;
    },
  };
}

/** Creates `watchpoint-<envName>-registry` (the ECR repository) from the synthesized registry template. */
export async function createMotoRegistry(envName: string, options: MotoStackOptions = {}): Promise<{ stackName: string; resources: StackResource[]; outputs: Record<string, string> }> {
  const reduced = reduceForMoto(forEnv((await synthesizedTemplates()).registry, envName));
  const stackName = `watchpoint-${envName}-registry`;
  return { stackName, ...(await createStack(stackName, reduced.template, options)) };
}
