// Issue 14 item 2: Ctrl-C on a hung call says what state things are in, and exits 130. The real
// launcher in a child process, a real SIGINT, a black-hole endpoint on 127.0.0.1.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBlackHole, type BlackHole } from '../helpers/aws-fake.ts';
import { tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';

let hole: BlackHole;
let cwd: string;
const launcher = join(import.meta.dirname, '..', '..', 'bin', 'watchpoint');

beforeAll(async () => {
  hole = await startBlackHole();
  cwd = await tempDir();
  await writeConfig(cwd, { dev: { ...VALID_DEV, awsEndpointUrl: hole.url } });
});
afterAll(async () => hole.close());

function interruptWhenWaiting(argv: string[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [launcher, ...argv], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true', WATCHPOINT_FROM_SOURCE: '1', WATCHPOINT_AWS_TIMEOUT: '60' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!sent && stderr.includes('waiting on')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stderr });
    });
  });
}

it('a reading command interrupted on a hung call says nothing was changed, exit 130', async () => {
  const result = await interruptWhenWaiting(['secrets', 'list', '--env', 'dev']);
  expect(result.signal).toBeNull();
  expect(result.code, result.stderr).toBe(130);
  expect(result.stderr).toContain(`Interrupted (Ctrl-C) while waiting on ssm:DescribeParameters at ${hole.url}.`);
  expect(result.stderr).toContain('Nothing was changed');
});

it('a writing command interrupted before its write says nothing was changed', async () => {
  const result = await interruptWhenWaiting(['secrets', 'set', 'auth/session_key', '--generate', '--env', 'dev']);
  expect(result.code, result.stderr).toBe(130);
  // The first call (DescribeParameters) is a read; the interrupt lands on it, before any write.
  expect(result.stderr).toContain('Interrupted (Ctrl-C) while waiting on ssm:DescribeParameters');
  expect(result.stderr).toContain('Nothing was changed');
});
