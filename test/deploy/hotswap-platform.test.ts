// The real platform stack (with the CodeDeploy aliases of its gradual deployments) synthesized twice,
// with one handler's bundle changed in between, and diffed offline by toolkit-lib (DiffMethod.LocalFile):
// --hotswap's rule (hotswap.ts) must send a one-handler change to toolkit-lib's hotswap, and a change
// to anything else through a change set (in canary/linear stages that includes the shift alarms a
// code change moves to the new version). No AWS: toolkit-lib's side of the hotswap is tested on moto
// in hotswap-moto.test.ts, which cannot hold this stack.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hotswapMethod } from '../../src/cli/deploy/hotswap.ts';
import type { CloudPort } from '../../src/cli/deploy/ports.ts';
import { createToolkitCloud } from '../../src/cli/deploy/toolkit.ts';
import { createPlatformApp } from '../../src/stack/app.ts';
import type { ZipBundles } from '../../src/stack/bundling/build.ts';
import { ZIP_HANDLERS } from '../../src/stack/bundling/handlers.ts';
import { tempDir } from '../helpers/cli.ts';
import { STAGE } from './fakes.ts';

let dir: string;
let cloud: CloudPort;
const deployed = new Map<string, string>();

async function bundles(apiCode: string): Promise<ZipBundles> {
  const out: Partial<ZipBundles> = {};
  for (const handler of ZIP_HANDLERS) {
    const code = `export const handler = async () => ${JSON.stringify(handler === 'api' ? apiCode : handler)};\n`;
    const hash = createHash('sha256').update(code).digest('hex').slice(0, 32);
    const bundleDir = join(dir, 'bundles', hash);
    await mkdir(bundleDir, { recursive: true });
    await writeFile(join(bundleDir, 'index.mjs'), code);
    out[handler] = { handler, dir: bundleDir, hash, bytes: code.length, reused: false };
  }
  return out as ZipBundles;
}

async function synth(name: string, apiCode: string, stage = STAGE): Promise<string> {
  const outdir = join(dir, name);
  createPlatformApp({ envName: 'dev', stage, imageTag: 'v1', outdir, bundles: await bundles(apiCode), nag: false }).app.synth();
  return outdir;
}

beforeAll(async () => {
  dir = await tempDir();
  const before = await synth('before', 'v1');
  deployed.set('watchpoint-dev', join(before, 'watchpoint-dev.template.json'));
  cloud = await createToolkitCloud({ notify: () => undefined, localTemplateFor: (name) => deployed.get(name) });
}, 120_000);

describe('--hotswap on the platform stack', () => {
  it('a one-handler change is only Lambda changes (the function, its version and alias): it goes to toolkit-lib as a hotswap', async () => {
    const diff = await cloud.diff(await synth('api-changed', 'v2'), 'watchpoint-dev');
    expect(diff.changes).toBeGreaterThan(0);
    const types = new Set(diff.resources!.map((r) => r.resourceType));
    expect(types.has('AWS::Lambda::Function')).toBe(true);
    for (const type of types) expect(['AWS::Lambda::Function', 'AWS::Lambda::Version', 'AWS::Lambda::Alias']).toContain(type);
    expect(hotswapMethod({ ...diff, isNew: false })).toEqual({ method: 'hotswap', reasons: [] });
  }, 60_000);

  it('a change to anything else (the API throttling) sends the stack through a change set, naming it', async () => {
    const diff = await cloud.diff(await synth('throttle-changed', 'v1', { ...STAGE, apiThrottleRate: STAGE.apiThrottleRate + 1 }), 'watchpoint-dev');
    const planned = hotswapMethod({ ...diff, isNew: false });
    expect(planned.method).toBe('change-set');
    expect(planned.reasons.map((r) => r.resourceType)).toContain('AWS::ApiGatewayV2::Stage');
  }, 60_000);

  it('in a canary stage, a one-handler change also changes the shift alarms (their ExecutedVersion names the new version): a change set, so CodeDeploy shifts it', async () => {
    const canary = { ...STAGE, deployment: 'canary' as const };
    const before = await synth('canary-before', 'v1', canary);
    const canaryCloud = await createToolkitCloud({ notify: () => undefined, localTemplateFor: () => join(before, 'watchpoint-dev.template.json') });
    const diff = await canaryCloud.diff(await synth('canary-api-changed', 'v2', canary), 'watchpoint-dev');
    const planned = hotswapMethod({ ...diff, isNew: false });
    expect(planned.method).toBe('change-set');
    expect(planned.reasons.map((r) => r.resourceType)).toContain('AWS::CloudWatch::Alarm');
  }, 60_000);
});
