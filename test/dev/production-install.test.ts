// A production install runs `watchpoint dev` (issue 22, part 5): in a copy of the project installed
// with `npm ci --omit=dev` (no vitest, no test-only packages), `watchpoint dev --once`
// runs the platform end to end and exits 0. A package dev imports at run time that is only a
// devDependency makes it fail with the missing package's name.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';

const root = new URL('../../', import.meta.url).pathname;

describe('a production install (npm ci --omit=dev)', () => {
  it('runs watchpoint dev --once', { timeout: 420_000 }, async () => {
    const copy = await tempDir();
    // The project's files as a checkout has them (tracked and new, not ignored): no node_modules, no caches.
    const { stdout } = await execa('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root });
    for (const file of stdout.split('\0').filter(Boolean)) {
      if (!existsSync(join(root, file))) continue;
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      copyFileSync(join(root, file), join(copy, file));
    }
    const install = await execa('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: copy, reject: false, all: true, timeout: 300_000 });
    expect(install.exitCode, install.all).toBe(0);
    // It is a production install: the test runner and the test-only mocks are not there.
    expect(existsSync(join(copy, 'node_modules', 'vitest'))).toBe(false);
    expect(existsSync(join(copy, 'node_modules', 'aws-sdk-client-mock'))).toBe(false);

    const cwd = await tempDir();
    const run = await execa(process.execPath, [join(copy, 'bin', 'watchpoint'), 'dev', '--once'], { cwd, reject: false, all: true, timeout: 240_000, env: { CI: 'true' } });
    expect(run.exitCode, run.all?.slice(-3000)).toBe(0);
    expect(run.stdout).toContain('watchpoint dev --once: the platform did its whole job locally.');
    expect(run.all).toContain('nothing is left running');
  });
});
