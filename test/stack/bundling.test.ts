import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPlatformApp } from '../../src/stack/app.ts';
import { STAGE, tempOutdir, removeOutdirs } from './fixture.ts';

afterAll(removeOutdirs);

describe('bundling (local esbuild, no Docker)', () => {
  it('produces a minified ESM bundle with a source map for every zip function', () => {
    const outdir = tempOutdir();
    const { app, platformStack } = createPlatformApp({ envName: 'dev', stage: STAGE, imageTag: 'v1', outdir, nag: false });
    const assembly = app.synth();
    const template = assembly.getStackByName(platformStack.stackName).template as {
      Resources: Record<string, { Type: string; Properties: { Runtime?: string; Code?: { S3Key?: string } } }>;
    };
    const assetDirs = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Runtime === 'nodejs24.x')
      // The asset's S3 key is <source hash>.zip and its staged directory is asset.<source hash>.
      .map((r) => r.Properties.Code?.S3Key?.replace(/\.zip$/, ''))
      .map((hash) => (hash === undefined ? undefined : `asset.${hash}`));
    expect(assetDirs).toHaveLength(6);
    for (const dir of assetDirs) {
      expect(dir).toBeDefined();
      const assetDir = path.join(outdir, dir!);
      expect(readdirSync(assetDir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      const code = readFileSync(path.join(assetDir, 'index.mjs'), 'utf8');
      expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
      // The AWS SDK is bundled, not loaded from the runtime's node_modules.
      expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
    }
    expect(existsSync(path.join(outdir, 'watchpoint-dev.template.json'))).toBe(true);
  });
});
