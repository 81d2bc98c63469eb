// Issue 14 item 3: synth --out into an impossible place exits 2 at once, naming the flag.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { runCli, tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';

let cwd: string;
beforeAll(async () => {
  cwd = await tempDir();
  await writeConfig(cwd, { dev: VALID_DEV });
  await writeFile(join(cwd, 'README.md'), 'a file\n');
});

it.each([
  ['/proc/nope', /--out "\/proc\/nope": cannot create \/proc\/nope \(ENOENT\)/],
  ['README.md/sub', /--out "README.md\/sub": .*is a file, not a directory/],
  ['README.md', /--out "README.md": is a file, not a directory/],
])('--out %s exits 2 at once naming the flag', async (out, message) => {
  const result = await runCli(['synth', '--out', out], { cwd });
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trimEnd().split('\n').at(-1)).toBe('  fix: Give --out a directory you can write, e.g. --out cdk.out.');
  // "At once": the error is the first thing said (no synthesis step announced before it), and
  // nothing was written.
  expect(result.stderr.split('\n')[0]).toMatch(/^Error: --out /);
  expect((await readdir(cwd)).sort()).toEqual(['README.md', 'watchpoint.config.json']);
});
