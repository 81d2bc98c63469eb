// Issue 2: `watchpoint --help` against `node -e 0`, and `watchpoint synth` against a bare app.synth().
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compare, report } from '../harness.ts';
import { bin, node, root } from '../paths.ts';
import { BENCH_STAGE_FLAGS } from '../stage.ts';

export async function help(): Promise<boolean> {
  // The CLI's compiled cache exists after the first run on any machine; measure from then on. That
  // run also proves what is timed does the work: the whole command list, exit 0.
  const first = spawnSync(node, [bin, '--help'], { encoding: 'utf8' });
  if (first.status !== 0 || !/^Usage: watchpoint/.test(first.stdout) || !/^ {2}api-keys /m.test(first.stdout)) {
    throw new Error(`watchpoint --help did not print the command list (exit ${first.status}): ${first.stderr.slice(-500)}`);
  }
  return report(
    'watchpoint --help vs node -e 0',
    compare({ label: 'node -e 0', argv: [node, '-e', '0'] }, { label: 'watchpoint --help', argv: [node, bin, '--help'] }, { runs: 40, warmup: 5 }),
    2.5,
  );
}

export async function synth(): Promise<boolean> {
  const work = mkdtempSync(join(tmpdir(), 'watchpoint-bench-'));
  const bareOut = join(work, 'bare');
  const cliOut = join(work, 'cli');
  try {
    return report(
      'watchpoint synth vs bare in-process app.synth() (same stacks, bundles from buildZipBundles and its cache)',
      compare(
        { label: 'node bench/bare-synth.ts (app.synth())', argv: [node, join(root, 'bench', 'bare-synth.ts'), bareOut], before: () => rmSync(bareOut, { recursive: true, force: true }) },
        { label: 'watchpoint synth', argv: [node, bin, 'synth', ...BENCH_STAGE_FLAGS, '--config', join(work, 'none.json'), '--out', cliOut], before: () => rmSync(cliOut, { recursive: true, force: true }) },
        { runs: 5, warmup: 1 },
      ),
      1.2,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
