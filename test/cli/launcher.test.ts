// The real launcher in a real process: exit codes, streams, and what --help loads.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';

const bin = fileURLToPath(new URL('../../bin/watchpoint', import.meta.url));
const tracer = fileURLToPath(new URL('../fixtures/trace-modules.mjs', import.meta.url));

function launch(args: string[], options: { cwd?: string; node?: string[]; closeStdin?: boolean } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...(options.node ?? []), bin, ...args], {
      cwd: options.cwd,
      env: { ...process.env, CI: 'true', WATCHPOINT_ENV: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (options.closeStdin !== false) child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

describe('bin/watchpoint', () => {
  it('prints help on stdout with exit 0, loading neither aws-cdk-lib, zod nor any AWS SDK client', async () => {
    const r = await launch(['--help'], { node: ['--import', tracer] });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: watchpoint');
    const loaded: string[] = JSON.parse(r.stderr.split('LOADED ')[1] ?? '[]');
    // commander is inside the compiled bundle (src/cli/load.mjs), not loaded from node_modules.
    expect(loaded.some((url) => url.includes('/node_modules/.cache/watchpoint-cli/'))).toBe(true);
    expect(loaded.filter((url) => url.includes('/node_modules/commander/'))).toEqual([]);
    expect(loaded.filter((url) => /aws-cdk-lib|@aws-sdk|@aws-cdk|\/zod\//.test(url))).toEqual([]);
    // From src/, only what builds the command tree: the define files and the few modules they and
    // run.ts import. The Io, the AWS call runtime, Ctrl-C handling and the explainers load with a command.
    const bundled = loaded.filter((url) => url.includes('/node_modules/.cache/watchpoint-cli/'));
    const sources = new Set<string>();
    for (const url of bundled) for (const [, source] of readFileSync(fileURLToPath(url), 'utf8').matchAll(/^\/\/ (src\/\S+)$/gm)) sources.add(source!);
    expect(sources).toContain('src/cli/run.ts');
    expect(sources).toContain('src/cli/commands/deploy.define.ts');
    const allowed = /^src\/(cli\/commands\/[a-z-]+\.define\.ts|cli\/(run|options|usage|errors)\.ts|errors\.ts|config\/(closest|drills)\.ts|cli\/logs\/groups\.ts|cli\/invoke\/catalogue\.ts)$/;
    expect([...sources].filter((source) => !allowed.test(source))).toEqual([]);
  });

  it('runs the compiled CLI bundle from any directory, not only from the project root', async () => {
    const r = await launch(['--help'], { cwd: await tempDir(), node: ['--import', tracer] });
    expect(r.code).toBe(0);
    const loaded: string[] = JSON.parse(r.stderr.split('LOADED ')[1] ?? '[]');
    expect(loaded.filter((url) => url.includes('/node_modules/.cache/watchpoint-cli/'))).not.toEqual([]);
    expect(loaded.filter((url) => url.endsWith('/src/cli/run.ts'))).toEqual([]);
  });

  it('exits 2 on an unknown option, with the message on stderr only', async () => {
    const r = await launch(['synth', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("unknown option '--bogus'");
  });

  it('exits 2 on an unknown command', async () => {
    const r = await launch(['deploy-everything']);
    expect(r.code).toBe(2);
  });

  it('exits 2 on a bad environment name', async () => {
    const r = await launch(['synth', '--env', 'Prod']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a valid environment name');
  });

  it('never waits on a stdin that is not a terminal', async () => {
    const cwd = await tempDir();
    const r = await launch(['init', '--region', 'eu-west-1'], { cwd, closeStdin: false });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--alert-email --runpod-endpoint-id');
  });

  it('exits 2 when synth has no config and no flags', async () => {
    const cwd = await tempDir();
    const r = await launch(['synth'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('watchpoint init');
  });
});

describe('the compiled CLI cache', () => {
  it('rebuilds when a source file changes, and reuses the build otherwise', async () => {
    const { cp, mkdtemp, readFile, readdir, symlink, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const repo = fileURLToPath(new URL('../..', import.meta.url));
    const copy = await mkdtemp(join(tmpdir(), 'watchpoint-cache-'));
    for (const dir of ['bin', 'src']) await cp(join(repo, dir), join(copy, dir), { recursive: true });
    await cp(join(repo, 'package.json'), join(copy, 'package.json'));
    await symlink(join(repo, 'node_modules'), join(copy, 'node_modules'));
    const cache = join(copy, '.cli-cache');
    const help = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [join(copy, 'bin', 'watchpoint'), '--help'], { env: { ...process.env, WATCHPOINT_CLI_CACHE: cache } });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
      });

    expect(await help()).toContain('Operate a WatchPoint environment');
    const firstBuild = JSON.parse(await readFile(join(cache, 'current.json'), 'utf8')).dir;
    await help();
    expect(JSON.parse(await readFile(join(cache, 'current.json'), 'utf8')).dir).toBe(firstBuild);

    const runTs = join(copy, 'src', 'cli', 'run.ts');
    await writeFile(runTs, (await readFile(runTs, 'utf8')).replace('Operate a WatchPoint environment', 'Edited description'));
    expect(await help()).toContain('Edited description');
    expect(JSON.parse(await readFile(join(cache, 'current.json'), 'utf8')).dir).not.toBe(firstBuild);
    expect((await readdir(cache)).filter((name) => name.startsWith('build-')).length).toBeGreaterThanOrEqual(1);
  });
});
