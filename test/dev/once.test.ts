// `watchpoint dev --once` as the README runs it: a child process from a fresh directory, the whole
// platform up, one forecast cycle, email and signed webhook checked, everything stopped. While it
// runs, every host name any of its threads looks up is logged (WATCHPOINT_DEV_DNS_LOG), so the test
// can prove local mode resolved no AWS or RunPod host.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTION_HANDLERS } from '../../src/stack/constructs/functions.ts';
import { tempDir } from '../helpers/cli.ts';

const BIN = resolve(import.meta.dirname, '../../bin/watchpoint');

function runBin(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', ...env }, timeout: 170_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

describe('watchpoint dev --once', () => {
  it('runs the platform end to end locally, resolves no AWS host, binds only 127.0.0.1 and leaves nothing running', { timeout: 180_000 }, async () => {
    const cwd = await tempDir();
    const dnsLog = join(cwd, 'dns.log');
    const { code, stdout, stderr } = await runBin(['dev', '--once', '--json'], cwd, { WATCHPOINT_DEV_DNS_LOG: dnsLog });
    expect(code, stderr.slice(-3000)).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.ok).toBe(true);
    expect(summary.steps.map((s: { step: string }) => s.step)).toEqual([
      'create an API key',
      'create a watchpoint (email + webhook)',
      'make the forecast exceed the threshold there',
      'run a forecast cycle (DataPoller -> RunPod stand-in)',
      'email in the SES store',
      'signed webhook at the local receiver',
    ]);
    expect(summary.webhook.signature).toBe('verified');
    expect(summary.email.to).toBe('oncall@example.com');

    // Every URL it served is on 127.0.0.1.
    for (const key of ['endpoint', 'api', 'mail', 'webhooks', 'runpod']) expect(new URL(summary.platform[key]).hostname, key).toBe('127.0.0.1');
    // The guard was on in the main thread and in every function's container (without it the log
    // would be empty and the next check would pass on nothing), and no thread looked up a real AWS
    // (or RunPod) host name, refused or not.
    const lines = readFileSync(dnsLog, 'utf8').split('\n').filter(Boolean);
    const guarded = new Set(lines.filter((line) => line.startsWith('# guard ')).map((line) => line.slice('# guard '.length)));
    // Containers start lazily: every function the cycle invoked had one (the Archiver's schedule may not have come yet).
    const invoked = ['ApiFunction', 'DataPollerFunction', 'BatcherFunction', 'EvalWorkerUrgent', 'EvalWorkerStandard', 'EmailWorkerFunction', 'WebhookWorkerFunction'];
    expect([...guarded].filter((name) => name !== 'main' && !invoked.includes(name)).every((name) => name in FUNCTION_HANDLERS)).toBe(true);
    expect(invoked.every((name) => name in FUNCTION_HANDLERS && guarded.has(name))).toBe(true);
    expect(guarded.has('main')).toBe(true);
    const looked = lines.filter((line) => !line.startsWith('# '));
    expect(looked.filter((host) => /amazonaws|aws\.amazon|api\.aws|runpod/i.test(host))).toEqual([]);
    // Nothing left running: the embedded PostgreSQL has exited and the lock file is gone.
    expect(summary.platform.postgresPid).toBeGreaterThan(0);
    expect(gone(summary.platform.postgresPid)).toBe(true);
    expect(existsSync(join(cwd, '.watchpoint', 'dev.json'))).toBe(false);
    expect(stderr).toContain('Stopped: all servers and functions ended; nothing is left running.');
  });

  it('says one is running instead of starting a second platform in the same directory', async () => {
    const cwd = await tempDir();
    mkdirSync(join(cwd, '.watchpoint'));
    // This test process stands in for the running one: its pid is alive.
    writeFileSync(join(cwd, '.watchpoint', 'dev.json'), JSON.stringify({ pid: process.pid, cwd, api: 'http://127.0.0.1:1', startedAt: new Date().toISOString() }));
    const { code, stderr } = await runBin(['dev', '--once'], cwd);
    expect(code).toBe(2);
    expect(stderr).toContain(`watchpoint dev is already running in ${cwd} (pid ${process.pid}`);
    // The fix is the error's own, said once and last: not inside the message with a generic one after it.
    expect(stderr.match(/fix:/g)).toHaveLength(1);
    expect(stderr.trimEnd().split('\n').at(-1)).toMatch(/^ {2}fix: Use that one, or stop it \(Ctrl-C in its terminal, or kill \d+\)/);
  });
});
