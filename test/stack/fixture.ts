import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { AppStage, StageConfig } from '../../src/config/schema.ts';
import { TEST_STAGE } from '../helpers/stage.ts';
import { createPlatformApp } from '../../src/stack/app.ts';
import type { PlatformAppOptions } from '../../src/stack/app.ts';
import type { PlatformStack } from '../../src/stack/platform-stack.ts';
import type { RegistryStack } from '../../src/stack/registry-stack.ts';

export const STAGE: StageConfig = TEST_STAGE;

export interface Synthesized {
  platform: PlatformStack;
  registry: RegistryStack;
  template: Template;
  registryTemplate: Template;
  /** Raw platform template JSON. */
  json: { Resources: Record<string, CfnResourceJson>; Outputs: Record<string, { Value: unknown }> };
}

export interface CfnResourceJson {
  Type: string;
  Properties: Record<string, any>;
}

const outdirs: string[] = [];

export function tempOutdir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'watchpoint-stack-test-'));
  outdirs.push(dir);
  return dir;
}

/** Removes every cloud assembly directory this test file created; call from afterAll. */
export function removeOutdirs(): void {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Synthesizes the app without bundling (and, unless asked, without cdk-nag) and returns both templates. */
export function synth(stage: Partial<AppStage> = {}, options: Partial<PlatformAppOptions> = {}): Synthesized {
  const { platformStack, registryStack } = createPlatformApp({
    envName: 'dev',
    stage: { ...STAGE, ...stage },
    imageTag: 'v1.2.3',
    outdir: tempOutdir(),
    bundling: false,
    nag: false,
    ...options,
  });
  const template = Template.fromStack(platformStack);
  return {
    platform: platformStack as PlatformStack,
    registry: registryStack as RegistryStack,
    template,
    registryTemplate: Template.fromStack(registryStack),
    json: template.toJSON() as Synthesized['json'],
  };
}

/** Logical ID of an L2 construct's CloudFormation resource (or of an L1 directly). */
export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).getLogicalId(element);
}

export function resourceOf(s: Synthesized, construct: IConstruct): CfnResourceJson {
  const resource = s.json.Resources[logicalId(construct)];
  if (!resource) throw new Error(`no resource for ${construct.node.path}`);
  return resource;
}

/** CloudFormation values rendered as flat strings, as cdk-nag shows them: `<Logical.Arn>/*`. */
export function flat(value: unknown): string {
  return flattenCfnReference(value);
}

export interface FlatStatement {
  effect: string;
  actions: string[];
  resources: string[];
}

function toArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Every statement of every AWS::IAM::Policy attached to the given role or user logical ID. */
export function statementsOf(s: Synthesized, principalLogicalId: string): FlatStatement[] {
  const statements: FlatStatement[] = [];
  for (const resource of Object.values(s.json.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const attached = [...toArray(resource.Properties.Roles), ...toArray(resource.Properties.Users)] as { Ref: string }[];
    if (!attached.some((ref) => ref.Ref === principalLogicalId)) continue;
    for (const statement of resource.Properties.PolicyDocument.Statement as any[]) {
      statements.push({
        effect: statement.Effect,
        actions: toArray<string>(statement.Action),
        resources: toArray(statement.Resource).map(flat),
      });
    }
  }
  return statements;
}

/** Action -> resources it is allowed on, merged over all statements. */
export function grantsOf(s: Synthesized, principalLogicalId: string): Map<string, string[]> {
  const grants = new Map<string, string[]>();
  for (const statement of statementsOf(s, principalLogicalId)) {
    if (statement.effect !== 'Allow') continue;
    for (const action of statement.actions) {
      grants.set(action, [...(grants.get(action) ?? []), ...statement.resources].sort());
    }
  }
  return grants;
}
