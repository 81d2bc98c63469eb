// A package that does not load ends with the install step that is missing, not "report it".
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatError } from '../../src/cli/errors.ts';
import { explainMissingPackage } from '../../src/cli/missing-package.ts';
import { tempDir } from '../helpers/cli.ts';

/** A project with one dependency and one devDependency, none installed; returns the error Node raises importing `specifier`. */
async function importIn(specifier: string): Promise<{ root: string; error: unknown }> {
  const root = await tempDir();
  await writeFile(join(root, 'package.json'), JSON.stringify({ dependencies: { 'some-dep': '1.0.0' }, devDependencies: { 'dev-only-tool': '2.4.1' } }));
  await mkdir(join(root, 'src'));
  const file = join(root, 'src', 'uses.mjs');
  await writeFile(file, `import '${specifier}';\n`);
  const error = await import(pathToFileURL(file).href).then(() => undefined, (e: unknown) => e);
  expect(error).toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
  return { root, error };
}

describe('explainMissingPackage', () => {
  it('a devDependency (left out by npm ci --omit=dev) → npm ci --include=dev', async () => {
    const { root, error } = await importIn('dev-only-tool');
    const explained = explainMissingPackage(new Error('starting the local platform failed', { cause: error }));
    expect(explained).toMatchObject({ code: 'PACKAGE_MISSING' });
    expect(explained!.message).toContain('dev-only-tool');
    expect(explained!.message).toContain('`npm ci --omit=dev`');
    expect(explained!.fix).toBe(`Install the dev dependencies too: run \`npm ci --include=dev\` in ${root}.`);
  });

  it('a dependency → npm ci; an undeclared package → a packaging bug; a missing source file → restore it', async () => {
    const dep = await importIn('some-dep/sub');
    expect(explainMissingPackage(dep.error)!.fix).toBe(`Install the dependencies package-lock.json lists: run \`npm ci\` in ${dep.root} (and let it finish).`);
    const undeclared = await importIn('@scope/nowhere');
    expect(explainMissingPackage(undeclared.error)!.message).toContain('package.json does not declare it');
    const file = await importIn('./gone.mjs');
    expect(explainMissingPackage(file.error)).toMatchObject({ code: 'MODULE_MISSING' });
    expect(explainMissingPackage(new Error('other'))).toBeUndefined();
  });
});

const bin = fileURLToPath(new URL('../../bin/watchpoint', import.meta.url));
const hide = fileURLToPath(new URL('../fixtures/hide-package.mjs', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

function launch(hidden: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', hide, bin, ...args], {
      cwd: root,
      env: { ...process.env, CI: 'true', WATCHPOINT_ENV: '', WATCHPOINT_TEST_HIDE: hidden, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('bin/watchpoint with a package missing', () => {
  // The compiled bundle holds commander (src/cli/load.mjs), so only a run from source still imports it.
  it('the CLI core cannot load (commander, run from source): exit 1 and `npm ci`, not a stack trace', async () => {
    const r = await launch('commander', ['--help'], { WATCHPOINT_FROM_SOURCE: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Cannot load the package commander');
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(`  fix: Install the dependencies package-lock.json lists: run \`npm ci\` in ${root} (and let it finish).`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('a command\'s own import fails (zod, loaded by init): the fix names npm ci, not "report it"', async () => {
    const r = await launch('zod', ['init', '--env', 'dev', '--config', join(await tempDir(), 'c.json'), '--region', 'eu-west-1', '--alert-email', 'a@b.co', '--runpod-endpoint-id', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Cannot load the package zod');
    expect(r.stderr).toContain(`fix: Install the dependencies package-lock.json lists: run \`npm ci\` in ${root}`);
    expect(r.stderr).not.toContain('report it');
  });
});

// formatError is what prints these: the fix is the last line.
it('prints the install step as the last line', async () => {
  const { error } = await importIn('dev-only-tool');
  expect(formatError(explainMissingPackage(error)).split('\n').at(-1)).toMatch(/^ {2}fix: Install the dev dependencies too/);
});
