// Issue 21: `watchpoint rollback` against the deploy it undoes, on moto, in the same run. Each round
// deploys a changed `api` handler (`watchpoint deploy`: real stack code, cdk-nag, toolkit-lib's
// change set, asset upload, ledger record) and then rolls it back (`watchpoint rollback --yes`:
// recorded templates through change sets, ledger record). Budget: rollback <= 0.3x the deploy.
//
// The deploy's bundles: esbuild builds the six handlers once, before the rounds, into a warm cache.
// Each round's deploy then runs the esbuild pass a changed handler costs (the api handler, into a
// cache of its own, so esbuild really runs) and ships that bundle with one changed line, so its hash
// (and the stack's Code.S3Key) changes. Everything else is what `watchpoint deploy` does.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { median, report, type Sample } from '../harness.ts';
import { motoProcessEnv, startMoto } from '../../test/helpers/moto-server.ts';
import { cheapBootstrap, recordPushedImage } from '../../test/helpers/moto-fixtures.ts';

export async function rollback(): Promise<boolean> {
  const work = mkdtempSync(join(tmpdir(), 'watchpoint-bench-rollback-'));
  const moto = await startMoto({ timeoutMs: 120_000 });
  const saved = { ...process.env };
  try {
    Object.assign(process.env, motoProcessEnv(moto.endpoint));
    const account = '123456789012';
    const region = 'eu-west-1';
    const env = 'bench';
    const client = { region, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    writeFileSync(
      join(work, 'watchpoint.config.json'),
      JSON.stringify({ environments: { [env]: { region, account, alertEmail: 'oncall@example.com', runPodEndpointId: 'abc123xyz', awsEndpointUrl: moto.endpoint } } }),
    );
    await cheapBootstrap(client, account);

    const { buildZipBundles } = await import('../../src/stack/bundling/build.ts');
    const real = (await buildZipBundles({ cacheDir: join(work, 'bundle-cache') })).bundles;
    const bundlesFor = async (version: string) => {
      // The esbuild pass of one changed handler, as synth runs it (a cold cache: it really builds).
      const api = (await buildZipBundles({ cacheDir: join(work, `bundle-cache-${version}`), handlers: ['api'] })).bundles.api;
      const code = `${readFileSync(join(api.dir, 'index.mjs'), 'utf8')}\n// ${version}\n`;
      const hash = createHash('sha256').update(code).digest('hex').slice(0, 32);
      const dir = join(work, 'bundles', hash);
      mkdirSync(dir, { recursive: true });
      cpSync(api.dir, dir, { recursive: true });
      writeFileSync(join(dir, 'index.mjs'), code);
      return { ...real, api: { ...real.api, dir, hash, reused: false } };
    };

    const { deployCommand } = await import('../../src/cli/commands/deploy.ts');
    const { NonInteractiveIo } = await import('../../src/cli/io.ts');
    const { run } = await import('../../src/cli/run.ts');
    const { startAwsRuntime, endAwsRuntime } = await import('../../src/cli/aws/runtime.ts');
    const { createPlatformApp } = await import('../../src/stack/app.ts');
    const { resolveStage } = await import('../../src/cli/context.ts');
    const quiet = { stdout: { write: () => true }, stderr: { write: () => true } };
    const ecr = new ECRClient(client);

    const deploy = async (version: string): Promise<number> => {
      const io = new NonInteractiveIo(quiet, true);
      startAwsRuntime({ io, env: {}, verbose: false });
      const started = performance.now();
      try {
        const code = await deployCommand(
          { flags: { imageTag: `img-${version}`, requireApproval: 'never' }, env: { WATCHPOINT_ENV: env }, cwd: work, io, options: { env, yes: true } },
          {
            container: {
              name: 'bench-push',
              async build() {},
              async login() {},
              push: (image) => recordPushedImage(ecr, image),
            },
            secrets: async () => ({ ok: true, problems: [] }),
            migrations: { pending: async () => ({ database: 'bench', pending: [] }), apply: async () => ({ database: 'bench', applied: [] }) },
            synth: async ({ imageTag, outdir }) => {
              const { stage } = await resolveStage({ env: { WATCHPOINT_ENV: env }, cwd: work, io, options: { env } });
              createPlatformApp({ envName: env, stage, imageTag, outdir, bundles: await bundlesFor(version) }).app.synth();
            },
          },
        );
        if (code !== 0) throw new Error(`deploy ${version} exited ${code}`);
      } finally {
        endAwsRuntime();
      }
      return performance.now() - started;
    };
    const rollBack = async (): Promise<number> => {
      const started = performance.now();
      const err: string[] = [];
      const code = await run(['rollback', '--env', env, '--yes'], { cwd: work, env: { AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION: process.env.AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION! }, tty: false, streams: { stdout: quiet.stdout, stderr: { write: (text: string) => err.push(text) } } });
      if (code !== 0) throw new Error(`rollback exited ${code}: ${err.join('')}`);
      return performance.now() - started;
    };

    await deploy('v0');
    const deploys: number[] = [];
    const rollbacks: number[] = [];
    for (let round = 1; round <= 3; round += 1) {
      deploys.push(await deploy(`v${round}`));
      rollbacks.push(await rollBack());
    }
    const sample = (label: string, runs: number[]): Sample => ({ label, runs, median: median(runs), min: Math.min(...runs) });
    return report('rollback: `watchpoint rollback` vs the deploy of a changed handler it undoes (moto, in-process)', [sample('deploy (changed api handler)', deploys), sample('rollback --yes (recorded templates)', rollbacks)], 0.3);
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await moto.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
