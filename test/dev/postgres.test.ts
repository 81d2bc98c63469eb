// No PostgreSQL outlives `watchpoint dev`: a kill -9 of its process closes the watchdog's pipe and
// the watchdog ends the server; if the watchdog was killed too, the next start ends what is left.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { cleanLeftover } from '../../src/dev/postgres.ts';
import { waitUntil } from '../../src/dev/once.ts';
import { tempDir } from '../helpers/cli.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function startOwner(recordFile: string) {
  const owner = execa(process.execPath, [new URL('./fixtures/postgres-owner.ts', import.meta.url).pathname, recordFile], { reject: false, buffer: false });
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    owner.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.split('\n')[0]!);
    });
    void owner.then((result) => reject(new Error(`the owner exited: ${result.exitCode} ${String(result.stderr ?? '')}`)));
  });
  return { owner, ...(JSON.parse(line) as { pid: number; dir: string }) };
}

describe('dev PostgreSQL and its owner', () => {
  it('kill -9 of the owner: the watchdog ends the server', { timeout: 120_000 }, async () => {
    const recordFile = join(await tempDir(), 'dev-postgres.json');
    const { owner, pid } = await startOwner(recordFile);
    expect(alive(pid)).toBe(true);
    owner.kill('SIGKILL');
    await waitUntil('PostgreSQL ended after its owner was killed', 20_000, async () => (alive(pid) ? undefined : true), 100);
    // Its directory is left for the next start (the owner could not remove it); the next start removes it.
    cleanLeftover(recordFile);
    expect(existsSync(recordFile)).toBe(false);
  });

  it('owner and watchdog both killed: the next start ends the server and removes its directory', { timeout: 120_000 }, async () => {
    const recordFile = join(await tempDir(), 'dev-postgres.json');
    const { owner, pid, dir } = await startOwner(recordFile);
    // The watchdog is the server's parent.
    const watchdog = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    process.kill(watchdog, 'SIGKILL');
    owner.kill('SIGKILL');
    await owner;
    expect(alive(pid)).toBe(true);
    cleanLeftover(recordFile);
    await waitUntil('the leftover PostgreSQL ended', 20_000, async () => (alive(pid) ? undefined : true), 100);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(recordFile)).toBe(false);
  });
});
