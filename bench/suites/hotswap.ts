// Issue 23 item 2: `deploy --hotswap` against a full deploy of the same one-handler change, on moto
// (it serves Lambda's UpdateFunctionCode and GetFunction), in the same run. Both go through the CLI's
// own CloudPort (toolkit-lib, src/cli/deploy/toolkit.ts): the full one with a change set (create,
// wait, execute, watch the stack), the hotswap with toolkit-lib's hotswap method (GetTemplate,
// ListStackResources, UpdateFunctionCode, wait for the function). Budget: hotswap <= 0.3x full.
//
// What is timed is the stack step, where the two differ; the preflight, synth and diff before it are
// the same for both and are not timed. The stack is test/helpers/hotswap-app.ts (one zip function,
// one image function, one queue): moto cannot read back the platform stack (HTTP 500 on
// ListStackResources), which toolkit-lib's hotswap needs. moto's change sets update nothing, so each
// round's change is a change against the same deployed template for both methods, and each deploy
// gets an assembly directory of its own (toolkit-lib keeps its hotswap cache there).
// Proof of work: every full deploy ran a change set (not a no-op); every hotswap hotswapped the zip
// function and Lambda then reports the new code's hash.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { median, report, type Sample } from '../harness.ts';
import { motoProcessEnv, startMoto } from '../../test/helpers/moto-server.ts';
import { cheapBootstrap, recordImages, synthHotswapApp, V0, type AppVersion } from '../../test/helpers/hotswap-app.ts';

const ROUNDS = 5;

export async function hotswap(): Promise<boolean> {
  const work = mkdtempSync(join(tmpdir(), 'watchpoint-bench-hotswap-'));
  const moto = await startMoto({ timeoutMs: 120_000 });
  const saved = { ...process.env };
  let endRuntime: (() => void) | undefined;
  try {
    Object.assign(process.env, motoProcessEnv(moto.endpoint));
    const account = '123456789012';
    const region = 'eu-west-1';
    const client = { region, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
    const { applyTargetToProcessEnv, awsTarget } = await import('../../src/cli/aws/target.ts');
    applyTargetToProcessEnv(awsTarget({ region, awsEndpointUrl: moto.endpoint }));
    const { createToolkitCloud } = await import('../../src/cli/deploy/toolkit.ts');
    // Every call toolkit-lib makes goes through the CLI's handler; its verbose log counts them.
    const { startAwsRuntime, endAwsRuntime } = await import('../../src/cli/aws/runtime.ts');
    const calls: string[] = [];
    startAwsRuntime({ io: { notify: (_level, text) => void (text.startsWith('aws ← ') && calls.push(text.slice('aws ← '.length).split(' ')[0]!)) }, env: {}, verbose: true });
    endRuntime = endAwsRuntime;
    const stackName = 'watchpoint-bench-hotswap';
    const repositoryName = 'watchpoint-bench-hotswap-img';
    await cheapBootstrap(client, account);
    await recordImages(client, repositoryName, [V0.imageTag]);
    const cloud = await createToolkitCloud({ notify: () => undefined, region });
    let dirs = 0;
    const synth = (version: AppVersion) => {
      const outdir = join(work, `cdk.out-${(dirs += 1)}`);
      synthHotswapApp({ outdir, stackName, account, region, repositoryName, version });
      return outdir;
    };
    const zipFunction = async () => {
      const resources = await new CloudFormationClient(client).send(new ListStackResourcesCommand({ StackName: stackName }));
      const name = resources.StackResourceSummaries?.find((r) => r.LogicalResourceId?.startsWith('ZipHandler') && r.ResourceType === 'AWS::Lambda::Function')?.PhysicalResourceId;
      return (await new LambdaClient(client).send(new GetFunctionCommand({ FunctionName: name! }))).Configuration?.CodeSha256;
    };
    const changed = (label: string): AppVersion => ({ ...V0, code: `export const handler = async () => ${JSON.stringify(label)};` });

    await cloud.deploy(synth(V0), stackName, { approved: 'broadening', onActivity: () => undefined });

    const full: number[] = [];
    const hot: number[] = [];
    const callsOf: { full?: string[]; hot?: string[] } = {};
    const timeFull = async (round: number) => {
      const dir = synth(changed(`full ${round}`));
      calls.length = 0;
      const started = performance.now();
      const result = await cloud.deploy(dir, stackName, { approved: 'broadening', onActivity: () => undefined });
      full.push(performance.now() - started);
      callsOf.full = [...calls];
      if (result.noOp) throw new Error(`full deploy ${round} was a no-op: nothing was measured`);
    };
    const timeHot = async (round: number) => {
      const dir = synth(changed(`hotswap ${round}`));
      const before = await zipFunction();
      calls.length = 0;
      const started = performance.now();
      const result = await cloud.deploy(dir, stackName, { approved: 'broadening', onActivity: () => undefined, method: 'hotswap' });
      hot.push(performance.now() - started);
      callsOf.hot = [...calls];
      if (result.hotswap?.method !== 'hotswap' || !result.hotswap.hotswapped.some((r) => r.logicalId.startsWith('ZipHandler'))) {
        throw new Error(`hotswap ${round} did not hotswap the zip function: ${JSON.stringify(result.hotswap)}`);
      }
      if ((await zipFunction()) === before) throw new Error(`hotswap ${round}: Lambda still reports the old code`);
    };
    // One of each untimed (toolkit-lib's first deploy loads its SDK clients), then alternate the order.
    await timeFull(0);
    await timeHot(0);
    full.length = 0;
    hot.length = 0;
    for (let round = 1; round <= ROUNDS; round += 1) {
      if (round % 2) {
        await timeFull(round);
        await timeHot(round);
      } else {
        await timeHot(round);
        await timeFull(round);
      }
    }
    const sample = (label: string, runs: number[]): Sample => ({ label, runs, median: median(runs), min: Math.min(...runs) });
    const tally = (list: string[] = []) => `${list.length} AWS calls (${[...new Set(list)].map((name) => `${name} ${list.filter((n) => n === name).length}`).join(', ')})`;
    console.log(`  calls of the last full deploy: ${tally(callsOf.full)}`);
    console.log(`  calls of the last hotswap:     ${tally(callsOf.hot)}`);
    // moto creates and executes a change set at once (and executing an UPDATE changes nothing), so
    // the wait a change set costs on AWS is not in the full deploy's figure: see docs/deploy.md.
    return report(
      'hotswap: the stack step of `deploy --hotswap` vs a full deploy (change set) of the same one-handler change (moto, in-process, toolkit-lib)',
      [sample('full deploy (change set)', full), sample('deploy --hotswap (UpdateFunctionCode)', hot)],
      0.3,
    );
  } finally {
    endRuntime?.();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await moto.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
