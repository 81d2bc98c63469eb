// The real toolkit-lib: the cloud assembly synthesize() wrote, read back with fromAssemblyDirectory,
// diffed offline (DiffMethod.LocalFile) against "deployed" templates derived from it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Stage } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { diffCommand } from '../../src/cli/commands/diff.ts';
import { synthesize } from '../../src/cli/commands/synth.ts';
import { evalWorkerRepositoryName } from '../../src/cli/deploy/image.ts';
import { deploy } from '../../src/cli/deploy/plan.ts';
import type { CloudPort } from '../../src/cli/deploy/ports.ts';
import { createToolkitCloud } from '../../src/cli/deploy/toolkit.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { evalWorkerRepositoryName as stackRepositoryName } from '../../src/stack/registry-stack.ts';
import { VALID_DEV, tempDir, writeConfig } from '../helpers/cli.ts';
import { STAGE, fakes, request } from './fakes.ts';

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, any> }> };

describe('toolkit-lib synth-from-directory and offline diff', () => {
  let dir: string;
  let outdir: string;
  let platform: Template;
  const deployed = new Map<string, string>();
  let cloud: CloudPort;
  const warnings: string[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    outdir = join(dir, 'cdk.out');
    const result = await synthesize({ envName: 'dev', stage: STAGE, imageTag: 'abc123', outdir, bundling: false });
    expect(result.stacks.map((s) => s.name)).toEqual(['watchpoint-dev-registry', 'watchpoint-dev']);
    platform = JSON.parse(await readFile(join(outdir, 'watchpoint-dev.template.json'), 'utf8'));
    cloud = await createToolkitCloud({ notify: (level, text) => level === 'warn' && warnings.push(text), localTemplateFor: (name) => deployed.get(name) });
  }, 120_000);

  async function deployedAs(name: string, template: unknown): Promise<void> {
    const path = join(dir, `${name}.deployed.${deployed.size}.json`);
    await writeFile(path, JSON.stringify(template));
    deployed.set(name, path);
  }

  it('finds no changes when the deployed template is the synthesized one', async () => {
    await deployedAs('watchpoint-dev-registry', JSON.parse(await readFile(join(outdir, 'watchpoint-dev-registry.template.json'), 'utf8')));
    const diff = await cloud.diff(outdir, 'watchpoint-dev-registry');
    expect(diff).toMatchObject({ stackName: 'watchpoint-dev-registry', changes: 0, permissionChange: 'none', destructive: [] });
  });

  it('classifies an added IAM statement as security-broadening and shows the IAM change', async () => {
    const old = structuredClone(platform);
    const [policyId, policy] = Object.entries(old.Resources).find(([, r]) => r.Type === 'AWS::IAM::Policy')!;
    const statements = policy.Properties!.PolicyDocument.Statement as unknown[];
    statements.pop();
    await deployedAs('watchpoint-dev', old);
    const diff = await cloud.diff(outdir, 'watchpoint-dev');
    expect(diff.changes).toBeGreaterThanOrEqual(1);
    expect(diff.permissionChange).toBe('broadening');
    expect(diff.formatted).toContain(policyId);
    expect(diff.formatted).toContain('IAM Statement Changes');
  });

  it('lists a resource the new template removes as destructive', async () => {
    const old = structuredClone(platform);
    old.Resources.OldDataBucket = { Type: 'AWS::S3::Bucket', Properties: {} };
    await deployedAs('watchpoint-dev', old);
    const diff = await cloud.diff(outdir, 'watchpoint-dev');
    expect(diff.destructive).toEqual([{ logicalId: 'OldDataBucket', resourceType: 'AWS::S3::Bucket', impact: 'WILL_DESTROY' }]);
    expect(diff.permissionChange).toBe('none');
  });

  it('runs deploy --dry-run end to end on the real synth and diff, and touches nothing', async () => {
    const old = structuredClone(platform);
    const [, policy] = Object.entries(old.Resources).find(([, r]) => r.Type === 'AWS::IAM::Policy')!;
    (policy.Properties!.PolicyDocument.Statement as unknown[]).pop();
    await deployedAs('watchpoint-dev', old);
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true });
    const work = await tempDir();
    f.deps.cloud = async () => cloud;
    f.deps.synth = async ({ imageTag, outdir: out }) => {
      // No assembly cache: another test's synth of the same inputs would make this a hit (0 synths).
      await synthesize({ envName: 'dev', stage: STAGE, imageTag, outdir: out, bundling: false, assemblyCacheDir: false });
    };
    // A deploy through the real port would need AWS; the dry run must never get there.
    const guarded: CloudPort = { ...cloud, deploy: async () => { throw new Error('dry run deployed'); }, bootstrap: async () => { throw new Error('dry run bootstrapped'); } };
    f.deps.cloud = async () => guarded;
    // The diff reads the assembly the dry run wrote; point the "deployed" templates at it.
    const synths = vi.spyOn(Stage.prototype, 'synth');
    const code = await deploy(request(work, { dryRun: true, assemblyDir: outdir }), f.deps);
    // One synthesis for both stacks; the diffs read its cloud assembly.
    expect(synths).toHaveBeenCalledTimes(1);
    synths.mockRestore();
    expect(code).toBe(0);
    expect(io.stdout).toContain('toolkit-lib deploy watchpoint-dev (cloudformation:CreateChangeSet');
    expect(io.stdout).toContain('ask for confirmation: watchpoint-dev: it widens IAM');
    expect(io.stdout).toContain('toolkit-lib deploy watchpoint-dev-registry: no changes');
    expect(io.stderr).toContain('IAM Statement Changes');
  }, 120_000);

  it('`watchpoint diff` synthesizes once and reports both stacks on stdout', async () => {
    const cwd = await tempDir();
    await writeConfig(cwd, { dev: { ...VALID_DEV, account: STAGE.account } });
    const old = structuredClone(platform);
    old.Resources.OldDataBucket = { Type: 'AWS::S3::Bucket', Properties: {} };
    await deployedAs('watchpoint-dev', old);
    const io = new RecordingIo([], true);
    const synths = vi.spyOn(Stage.prototype, 'synth');
    const code = await diffCommand(
      // A fresh assembly cache, so the one synthesis is not served by another test's entry.
      { io, options: {}, env: { WATCHPOINT_SYNTH_CACHE: await tempDir() }, cwd, imageTag: 'abc123', json: true },
      { cloud, bundling: false, imageInputs: { contextDir: cwd, dockerfile: 'Dockerfile', include: [], platform: 'linux/arm64' } },
    );
    expect(synths).toHaveBeenCalledTimes(1);
    synths.mockRestore();
    expect(code).toBe(0);
    const summary = JSON.parse(io.stdout) as { stackName: string; changes: number; destructive: unknown[] }[];
    expect(summary.map((s) => s.stackName)).toEqual(['watchpoint-dev-registry', 'watchpoint-dev']);
    expect(summary[1]!.destructive).toEqual([{ logicalId: 'OldDataBucket', resourceType: 'AWS::S3::Bucket', impact: 'WILL_DESTROY' }]);
  }, 120_000);

  it('names the eval-worker repository exactly as the registry stack does', () => {
    expect(evalWorkerRepositoryName('staging')).toBe(stackRepositoryName('staging'));
  });
});
