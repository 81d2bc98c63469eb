// Issue 4: (1) the image step of a no-change redeploy (tag in ECR: one DescribeImages, no build, no
// push) against a full build + push, in the same run, with buildah and a local docker-registry and
// only the ECR API mocked; (2) `deploy --dry-run` (preflight + synth + diff, AWS mocked) against
// `watchpoint synth` alone.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { createRegistryPort } from '../../src/cli/deploy/aws-ports.ts';
import { createContainerCli } from '../../src/cli/deploy/container.ts';
import { finishPush, planImage, startBuild } from '../../src/cli/deploy/image.ts';
import { compare, median, report } from '../harness.ts';
import { bin, node, root } from '../paths.ts';
import { countingContainerCli, mockEcrOnRegistry, startLocalRegistry } from '../../test/helpers/local-registry.ts';


export async function image(): Promise<boolean> {
  const work = mkdtempSync(join(tmpdir(), 'watchpoint-bench-image-'));
  const local = await startLocalRegistry(work);
  try {
    const counts = { build: 0, login: 0, push: 0 };
    const cli = countingContainerCli(createContainerCli('buildah', { env: local.buildahEnv }), counts);
    const ecr = new ECRClient({ region: 'eu-west-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
    const ecrMock = mockClient(ecr);
    mockEcrOnRegistry(ecrMock, local.endpoint);
    const registry = createRegistryPort(ecr);
    const context = join(work, 'ctx');
    mkdirSync(context);
    writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY payload.bin /payload.bin\n');
    const inputs = { contextDir: context, dockerfile: 'Dockerfile', include: ['.'], platform: 'linux/arm64' };
    // The image step exactly as deploy runs it: hash + DescribeImages, then build + login + push if needed.
    const step = async () => {
      const plan = await planImage({ envName: 'bench', inputs, registry });
      if (plan.present) return;
      const build = await startBuild({ plan, inputs, registry, cli, logFile: join(work, 'build.log') });
      await finishPush(build, cli, registry);
    };
    const full: number[] = [];
    const noChange: number[] = [];
    let noChangeBuilds = 0;
    let noChangePushes = 0;
    let describeCallsPerNoChange = 0;
    for (let i = 0; i < 6; i += 1) {
      // A new input: the tag changes, so the full path runs.
      writeFileSync(join(context, 'payload.bin'), `payload ${i} ${'x'.repeat(64 * 1024)}`);
      let started = performance.now();
      await step();
      full.push(performance.now() - started);
      // The same input again: a no-change redeploy.
      const before = { ...counts };
      const calls = ecrMock.commandCalls(DescribeImagesCommand).length;
      started = performance.now();
      await step();
      noChange.push(performance.now() - started);
      noChangeBuilds += counts.build - before.build;
      noChangePushes += counts.push - before.push;
      describeCallsPerNoChange = Math.max(describeCallsPerNoChange, ecrMock.commandCalls(DescribeImagesCommand).length - calls);
    }
    // The first full run warms buildah's storage; leave it out.
    full.shift();
    noChange.shift();
    const ratio = median(noChange) / median(full);
    const ok = noChangeBuilds === 0 && noChangePushes === 0 && describeCallsPerNoChange === 1 && ratio <= 0.2;
    console.log('image step: no-change redeploy (tag in ECR) vs full build + push (buildah, local registry, ECR API mocked)');
    console.log(`  full build + login + push              median ${median(full).toFixed(1).padStart(8)} ms   (n=${full.length})`);
    console.log(`  no change (hash + 1 DescribeImages)    median ${median(noChange).toFixed(1).padStart(8)} ms   (n=${noChange.length})`);
    console.log(`  builds ${noChangeBuilds}, pushes ${noChangePushes}, DescribeImages per no-change run ${describeCallsPerNoChange}`);
    console.log(`  ratio ${ratio.toFixed(3)}x (budget 0.2x, builds = pushes = 0): ${ok ? 'PASS' : 'OVER BUDGET'}\n`);
    return ok;
  } finally {
    local.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

export async function dryRun(): Promise<boolean> {
  const work = mkdtempSync(join(tmpdir(), 'watchpoint-bench-deploy-'));
  const flags = ['--env', 'bench', '--region', 'eu-west-1', '--alert-email', 'oncall@example.com', '--runpod-endpoint-id', 'abc123xyz', '--config', join(work, 'none.json')];
  try {
    // "Deployed" templates for the offline diff: the same stacks, synthesized once up front (which
    // also fills the bundle cache both sides then reuse: nothing changed).
    const templates = join(work, 'deployed');
    const seeded = spawnSync(node, [bin, 'synth', ...flags, '--image-tag', 'bench', '--out', templates], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (seeded.status !== 0) throw new Error(`seed synth failed: ${seeded.stderr}`);
    const cwd = join(work, 'cwd');
    mkdirSync(cwd);
    return report(
      'deploy --dry-run with nothing changed (preflight + hash + synth + toolkit-lib diff, AWS mocked) vs warm watchpoint synth',
      compare(
        { label: 'watchpoint synth', argv: [node, bin, 'synth', ...flags, '--image-tag', 'bench', '--out', join(work, 'synth-out')], before: () => rmSync(join(work, 'synth-out'), { recursive: true, force: true }) },
        { label: 'deploy --dry-run (bench/suites/deploy-child.ts)', argv: [node, join(root, 'bench', 'suites', 'deploy-child.ts'), cwd, templates], before: () => rmSync(join(cwd, '.watchpoint'), { recursive: true, force: true }) },
        { runs: 5, warmup: 1 },
      ),
      1.5,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
