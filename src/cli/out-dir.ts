// An output directory given as a flag (synth --out), made ready before any work: it exists (made one
// level at a time), is a directory, and can be written. Node's recursive mkdir loops forever on some
// paths (mkdir -p /proc/nope spins at 100% CPU), so it is never used here.
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { userError } from './errors.ts';

export function prepareOutputDirectory(flag: string, given: string, path: string): void {
  const fail = (why: string, code?: string) =>
    userError('OUT_INVALID', `${flag} "${given}": ${why}${code ? ` (${code})` : ''}.`, `Give ${flag} a directory you can write, e.g. ${flag} cdk.out.`);
  const missing: string[] = [];
  let existing = path;
  for (;;) {
    let stat;
    try {
      stat = statSync(existing);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        const parent = dirname(existing);
        if (parent === existing) throw fail('no part of the path exists', code);
        missing.unshift(existing);
        existing = parent;
        continue;
      }
      if (code === 'ENOTDIR') throw fail(`a part of the path is a file, not a directory`, code);
      throw fail('cannot be read', code);
    }
    if (!stat.isDirectory()) throw fail(existing === path ? 'is a file, not a directory' : `${existing} is a file, not a directory`);
    break;
  }
  // Made to prove they can be, then removed again: a run that fails later (bad config, bundling)
  // leaves nothing behind, and synthesis makes them for real.
  const made: string[] = [];
  try {
    for (const dir of missing) {
      try {
        mkdirSync(dir);
        made.unshift(dir);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') throw fail(`cannot create ${dir}`, code);
      }
    }
    const probe = join(path, `.watchpoint-write-test-${process.pid}`);
    try {
      writeFileSync(probe, '');
      rmSync(probe, { force: true });
    } catch (error) {
      throw fail('cannot be written', (error as NodeJS.ErrnoException).code);
    }
  } finally {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  }
}
