// `npm run bench`: every benchmark the issues name, each as a ratio against a baseline measured in
// the same run. Exits 1 when a ratio is over its budget.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, report } from './harness.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'watchpoint');
const node = process.execPath;
const only = process.argv[2];
const results: boolean[] = [];

// Make sure the CLI's compiled cache exists, as it does after the first run on any machine.
spawnSync(node, [bin, '--help'], { stdio: 'ignore' });

if (!only || only === 'help') {
  results.push(
    report(
      'watchpoint --help vs node -e 0',
      compare({ label: 'node -e 0', argv: [node, '-e', '0'] }, { label: 'watchpoint --help', argv: [node, bin, '--help'] }, { runs: 40, warmup: 5 }),
      3,
    ),
  );
}

if (!only || only === 'synth') {
  const work = mkdtempSync(join(tmpdir(), 'watchpoint-bench-'));
  const bareOut = join(work, 'bare');
  const cliOut = join(work, 'cli');
  const flags = ['--env', 'bench', '--region', 'eu-west-1', '--alert-email', 'oncall@example.com', '--runpod-endpoint-id', 'abc123xyz'];
  results.push(
    report(
      'watchpoint synth vs bare in-process app.synth() (same stacks, with esbuild bundling)',
      compare(
        { label: 'node bench/bare-synth.ts (app.synth())', argv: [node, join(root, 'bench', 'bare-synth.ts'), bareOut], before: () => rmSync(bareOut, { recursive: true, force: true }) },
        { label: 'watchpoint synth', argv: [node, bin, 'synth', ...flags, '--config', join(work, 'none.json'), '--out', cliOut], before: () => rmSync(cliOut, { recursive: true, force: true }) },
        { runs: 5, warmup: 1 },
      ),
      1.2,
    ),
  );
  rmSync(work, { recursive: true, force: true });
}

process.exitCode = results.every(Boolean) ? 0 : 1;
