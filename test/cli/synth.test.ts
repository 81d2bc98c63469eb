// `watchpoint synth` end to end through the CLI core, with real esbuild bundling (the one place the
// CLI suite pays for it).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { VALID_DEV, runCli, tempDir, writeConfig } from '../helpers/cli.ts';

describe('watchpoint synth', () => {
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  let first: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    cwd = await tempDir();
    // Caches of its own, so the first synth bundles and synthesizes from scratch.
    env = { WATCHPOINT_BUNDLE_CACHE: join(cwd, 'bundle-cache'), WATCHPOINT_SYNTH_CACHE: join(cwd, 'synth-cache') };
    await writeConfig(cwd, { dev: VALID_DEV });
    first = await runCli(['synth', '--json', '--image-tag', 'abc123', '--alert-email', 'flag@example.com'], { cwd, env });
  }, 180_000);

  it('writes both templates offline and prints them as JSON on stdout', () => {
    expect(first.stderr).not.toContain('Error');
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result).toMatchObject({ env: 'dev', region: 'eu-west-1', outdir: join(cwd, 'cdk.out') });
    expect(result.stacks.map((s: { name: string }) => s.name)).toEqual(['watchpoint-dev-registry', 'watchpoint-dev']);
    for (const stack of result.stacks) expect(existsSync(stack.templatePath)).toBe(true);
  });

  it('applies a flag over the saved config, and the image tag', () => {
    const template = readFileSync(join(cwd, 'cdk.out', 'watchpoint-dev.template.json'), 'utf8');
    expect(template).toContain('flag@example.com');
    expect(template).not.toContain('oncall@example.com');
    expect(template).toContain(':abc123');
  });

  it('bundles the six zip functions locally, and the template points at those bundles', () => {
    const out = join(cwd, 'cdk.out');
    const bundles = readdirSync(out).filter((name) => name.startsWith('asset.') && existsSync(join(out, name, 'index.mjs')));
    expect(bundles.length).toBe(6);
    const template = readFileSync(join(out, 'watchpoint-dev.template.json'), 'utf8');
    for (const bundle of bundles) expect(template).toContain(`${bundle.slice('asset.'.length)}.zip`);
    const result = JSON.parse(first.stdout);
    expect(result.bundles).toHaveLength(6);
    expect(result.bundles.every((b: { reused: boolean }) => !b.reused)).toBe(true);
  });

  it('says what bundling did in one line, without esbuild\'s or the CDK\'s chatter', () => {
    const lines = first.stderr.trim().split('\n');
    expect(lines.filter((line) => line.startsWith('Bundles: '))).toEqual([expect.stringMatching(/^Bundles: built api, batcher, data-poller, archiver, email-worker, webhook-worker in [\d.]+ s \(\d+ KB\)\.$/)]);
    expect(first.stderr).not.toMatch(/Bundling asset|⚡|index\.mjs/);
    // "Synthesizing ...", "Bundling ... (esbuild, one pass) ...", "Bundles: ...".
    expect(lines.length).toBeLessThanOrEqual(3);
  });

  it('prints a plain table without --json, reusing every unchanged bundle', async () => {
    const r = await runCli(['synth', '--out', 'out2'], { cwd, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^watchpoint-dev-registry\s+out2\/watchpoint-dev-registry\.template\.json$/m);
    expect(r.stdout).toMatch(/^watchpoint-dev\s+out2\/watchpoint-dev\.template\.json$/m);
    expect(r.stderr).toMatch(/^Bundles: all 6 unchanged, reused from the cache \(\d+ KB\)\.$/m);
    expect(r.stderr).not.toContain('Bundling ');
    // Another image tag and alert email than the first synth: a new assembly, not the cached one (issue 23).
    expect(r.stderr).not.toContain('Cloud assembly: ');
    // The same bundles, so the same asset keys in both templates.
    const assets = (dir: string) => readFileSync(join(cwd, dir, 'watchpoint-dev.template.json'), 'utf8').match(/[0-9a-f]{64}\.zip/g)?.sort();
    expect(assets('out2')).toEqual(assets('cdk.out'));
  }, 180_000);

  it('--verbose lists each bundle with its size and directory', async () => {
    const r = await runCli(['synth', '--out', 'out3', '--verbose'], { cwd, env });
    expect(r.code).toBe(0);
    // The same inputs as the synth into out2 (issue 23): its cached assembly, no synth, the same templates.
    expect(r.stderr).toMatch(/^Cloud assembly: nothing it is built from changed; reused from the cache \(no synth\)\.$/m);
    expect(readFileSync(join(cwd, 'out3', 'watchpoint-dev.template.json'), 'utf8')).toBe(readFileSync(join(cwd, 'out2', 'watchpoint-dev.template.json'), 'utf8'));
    for (const handler of ['api', 'batcher', 'data-poller', 'archiver', 'email-worker', 'webhook-worker']) {
      expect(r.stderr).toMatch(new RegExp(`^  ${handler}\\s+\\d+ KB\\s+reused\\s+\\S+bundle-cache/[0-9a-f]{32}$`, 'm'));
    }
  }, 180_000);

  it('rejects a bad image tag before synthesizing', async () => {
    const r = await runCli(['synth', '--image-tag', 'not a tag', '--out', 'never'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--image-tag');
    expect(existsSync(join(cwd, 'never'))).toBe(false);
  });

  it('fails at once, naming the directory and the setting, when the bundle cache cannot be written', async () => {
    await writeFile(join(cwd, 'not-a-dir'), 'x');
    const r = await runCli(['synth', '--out', 'never'], { cwd, env: { WATCHPOINT_BUNDLE_CACHE: join(cwd, 'not-a-dir', 'cache') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`The bundle cache ${join(cwd, 'not-a-dir', 'cache')} cannot be written`);
    expect(r.stderr).toMatch(/fix: Point WATCHPOINT_BUNDLE_CACHE at a writable directory/);
    expect(existsSync(join(cwd, 'never'))).toBe(false);
  });

  it('fails at once, not spinning in mkdir, when the bundle cache is a place no directory can be made (/proc)', async () => {
    // The real launcher in a child with a deadline: the old recursive mkdir spun forever on one
    // thread, which an in-process run could not even time out.
    const r = await execa(process.execPath, [fileURLToPath(new URL('../../bin/watchpoint', import.meta.url)), 'synth', '--out', 'never'], {
      cwd, env: { ...process.env, WATCHPOINT_BUNDLE_CACHE: '/proc/watchpoint-no-such-dir/cache' }, reject: false, timeout: 20_000,
    });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('The bundle cache /proc/watchpoint-no-such-dir/cache cannot be written');
    expect(r.stderr).toMatch(/fix: Point WATCHPOINT_BUNDLE_CACHE at a writable directory/);
  }, 30_000);

  it('rejects a bad saved value with exit 2, naming field, value and fix', async () => {
    const dir = await tempDir();
    await writeConfig(dir, { prod: { ...VALID_DEV, alertEmail: 'nobody' } });
    const r = await runCli(['synth', '--env', 'prod', '--out', 'never'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('alertEmail = "nobody" (from the config file)');
    expect(r.stderr).toContain('fix:');
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});
