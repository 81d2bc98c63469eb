// Issue 14 item 11: --version/-V, and help that tells the truth about exit codes and secrets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { SECRET_CATALOGUE } from '../../src/config/secrets-catalogue.ts';
import { runCli, tempDir } from '../helpers/cli.ts';

const version = (JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

it.each([['--version'], ['-V']])('%s prints the version on stdout, exit 0', async (flag) => {
  const result = await runCli([flag], { cwd: await tempDir() });
  expect(result.code).toBe(0);
  expect(result.stdout.trim()).toBe(version);
});

it('top-level help lists every exit code, 3 included', async () => {
  const result = await runCli(['--help'], { cwd: await tempDir() });
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/Exit codes: 0 ok, 1 failure, 2 bad usage or bad input, 3 unhealthy/);
  expect(result.stdout).toContain('130 cancelled');
  expect(result.stdout).toContain('--verbose');
  expect(result.stdout).toContain('WATCHPOINT_AWS_TIMEOUT');
});

it('status --help says exit 2 means the stack is not deployed', async () => {
  const result = await runCli(['status', '--help'], { cwd: await tempDir() });
  expect(result.stdout).toContain('2 bad usage, or the stack is not deployed');
});

it('secrets --help names every catalogue entry', async () => {
  const result = await runCli(['secrets', '--help'], { cwd: await tempDir() });
  const text = result.stdout.replace(/\s+/g, ' ');
  for (const entry of SECRET_CATALOGUE) expect(text).toContain(entry.name);
});
