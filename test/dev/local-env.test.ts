// --env local's honest refusals and errors: the commands the local platform does not provide exit 2
// before any call, saying what it supports and what to use instead; a local platform that does not
// answer (or is gone) is described as the process it is, never with AWS advice.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.ts';

const AWS_ADVICE = /Health Dashboard|awsEndpointUrl|--aws-endpoint-url|aws sso login|AWS_PROFILE|IAM/;

/** A .watchpoint/dev.json naming this (live) process and the given endpoint, as a running `watchpoint dev` writes it. */
async function fakeDev(endpoint: string): Promise<string> {
  const cwd = await tempDir();
  mkdirSync(join(cwd, '.watchpoint'));
  const state = { pid: process.pid, cwd, startedAt: new Date().toISOString(), region: 'us-east-1', endpoint, api: 'http://127.0.0.1:1', mail: 'http://127.0.0.1:1/', webhooks: 'http://127.0.0.1:1', runpod: 'http://127.0.0.1:1', stacks: ['watchpoint-local-registry', 'watchpoint-local'] };
  writeFileSync(join(cwd, '.watchpoint', 'dev.json'), JSON.stringify(state));
  return cwd;
}

const servers: Server[] = [];
afterAll(() => {
  for (const server of servers) server.close();
});

describe('--env local refusals', () => {
  it('refuses drift, deploy, diff, destroy, image push and runpod rotate-keys with exit 2, saying what to use', async () => {
    const cwd = await tempDir();
    for (const [argv, instead] of [
      [['drift'], 'watchpoint drift --env <name>'],
      [['deploy', '--yes'], 'restart `watchpoint dev`'],
      [['diff'], 'watchpoint synth'],
      [['destroy', '--yes'], 'Ctrl-C'],
      [['image', 'push'], 'watchpoint image build'],
      [['runpod', 'rotate-keys', '--status'], 'forecast/runpod_api_key'],
    ] as const) {
      // No platform runs in cwd: the refusal comes first, before any lookup or call.
      const { code, stderr } = await runCli([...argv, '--env', 'local'], { cwd });
      expect(code, argv.join(' ')).toBe(2);
      expect(stderr, argv.join(' ')).toContain(`\`watchpoint ${argv.filter((a) => !a.startsWith('--')).join(' ')}\` does not work with --env local`);
      expect(stderr).toContain('--env local supports status, logs');
      expect(stderr.toLowerCase()).toContain(instead.toLowerCase());
      expect(stderr).toContain('fix:');
      expect(stderr).not.toContain('is not running in');
    }
  });
});

describe('errors of the local endpoint', () => {
  it('a platform that does not answer: "not answering", its URL and pid, look at its terminal; no AWS advice', { timeout: 30_000 }, async () => {
    // Accepts connections and never answers, as a stuck process would.
    const server = createServer(() => undefined);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const cwd = await fakeDev(endpoint);
    const { code, stderr } = await runCli(['status', '--env', 'local'], { cwd, env: { WATCHPOINT_AWS_TIMEOUT: '1' } });
    expect(code).toBe(1);
    expect(stderr).toContain(`The local platform at ${endpoint} (watchpoint dev, pid ${process.pid}) is not answering`);
    expect(stderr).toContain(`fix: Look at the terminal running \`watchpoint dev\` (pid ${process.pid})`);
    expect(stderr).not.toMatch(AWS_ADVICE);
  });

  it('a platform that is gone: cannot reach it, start it again; no AWS advice', { timeout: 30_000 }, async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const cwd = await fakeDev(endpoint);
    const { code, stderr } = await runCli(['logs', '--env', 'local'], { cwd });
    expect(code).toBe(1);
    expect(stderr).toContain(`Cannot reach the local platform at ${endpoint} (watchpoint dev, pid ${process.pid}) (ECONNREFUSED)`);
    expect(stderr).toContain('start it again with `watchpoint dev`');
    expect(stderr).not.toMatch(AWS_ADVICE);
  });
});

describe('a production install runs watchpoint dev', () => {
  it('every package src/dev and the handlers import at run time is a dependency, not a devDependency', async () => {
    const { readdirSync, readFileSync: read } = await import('node:fs');
    const root = new URL('../../', import.meta.url).pathname;
    const pkg = JSON.parse(read(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const files = (dir: string): string[] => readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    const imported = new Set<string>();
    for (const file of [...files('src/dev'), ...files('src/lambdas'), 'src/cli/commands/dev.ts', 'src/cli/db/migrations.ts']) {
      const text = read(join(root, file), 'utf8');
      // Runtime imports only: `import type` and `import { type X }`-only lines are erased.
      for (const match of text.matchAll(/^(?!import type )(?:import|export)\s[^;]*?from '([^.'][^']*)'|import\('([^.'][^']*)'\)/gm)) {
        const name = (match[1] ?? match[2])!;
        if (name.startsWith('node:')) continue;
        imported.add(name.startsWith('@') ? name.split('/').slice(0, 2).join('/') : name.split('/')[0]!);
      }
    }
    expect([...imported].filter((name) => !(name in pkg.dependencies)).sort()).toEqual([]);
    expect(imported.has('fauxqs') && imported.has('aws-ses-v2-local')).toBe(true);
    // Exact versions for the two local servers.
    expect(pkg.dependencies.fauxqs).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.dependencies['aws-ses-v2-local']).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
