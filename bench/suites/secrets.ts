// Issue 3: SSM calls made by `secrets check` and `secrets list` over the whole catalogue, against
// the budget (⌈entries/10⌉ GetParameters + one metadata page), and the wall time of `check` with
// 50 ms per SSM call: batches in parallel (as shipped) vs the same batches one after another.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { secretsCommand } from '../../src/cli/commands/secrets.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { checkSecrets } from '../../src/cli/secrets/check.ts';
import { SECRET_CATALOGUE, secretPath } from '../../src/config/secrets-catalogue.ts';
import { FakeSsm } from '../../test/secrets/fake-ssm.ts';
import { VALUES } from '../../test/secrets/helpers.ts';
import { median } from '../harness.ts';

const STAGE = { region: 'eu-west-1', googleClientId: 'g-1', githubClientId: 'gh-1' };

function seeded(): FakeSsm {
  const ssm = new FakeSsm();
  for (const [name, value] of Object.entries(VALUES)) ssm.seed(secretPath('bench', name), value);
  return ssm;
}

export async function secretsCalls(): Promise<boolean> {
  const work = mkdtempSync(join(tmpdir(), 'watchpoint-bench-'));
  writeFileSync(join(work, 'watchpoint.config.json'), JSON.stringify({ environments: { bench: { ...STAGE, alertEmail: 'oncall@example.com', runPodEndpointId: 'abc123xyz' } } }));
  const ssm = seeded();
  try {
    const entries = SECRET_CATALOGUE.length;
    const budget = Math.ceil(entries / 10);
    const run = async (action: 'check' | 'list') => {
      ssm.calls.length = 0;
      const io = new RecordingIo([], false);
      const code = await secretsCommand({ io, options: { env: 'bench' }, env: {}, cwd: work, action, name: undefined, flags: { env: 'bench' } });
      return { code, calls: [...ssm.calls] };
    };
    const check = await run('check');
    const list = await run('list');
    const count = (calls: string[], name: string) => calls.filter((c) => c === name).length;
    const checkOk = check.code === 0 && count(check.calls, 'GetParameters') <= budget && check.calls.length === count(check.calls, 'GetParameters');
    const listOk = list.code === 0 && list.calls.length === 1;
    console.log(`secrets check / list: SSM calls over the whole catalogue (${entries} entries)`);
    console.log(`  secrets check   ${check.calls.length} calls: ${summary(check.calls)}   budget ≤ ${budget} GetParameters (⌈${entries}/10⌉), no other call: ${checkOk ? 'PASS' : 'OVER BUDGET'}`);
    console.log(`  secrets list    ${list.calls.length} call:  ${summary(list.calls)}   budget 1 metadata page: ${listOk ? 'PASS' : 'OVER BUDGET'}`);
    console.log('  (list reads its page with DescribeParameters, not GetParametersByPath: only DescribeParameters returns LastModifiedUser)\n');
    return checkOk && listOk;
  } finally {
    ssm.restore();
    rmSync(work, { recursive: true, force: true });
  }
}

function summary(calls: string[]): string {
  const counts = new Map<string, number>();
  for (const call of calls) counts.set(call, (counts.get(call) ?? 0) + 1);
  return [...counts].map(([name, n]) => `${n}× ${name}`).join(', ');
}

/** The shipped check against its batches sent one after another, and one GetParameter per secret, at 50 ms a call. */
export async function secretsLatency(): Promise<boolean> {
  const ssm = seeded();
  ssm.latency = 50;
  const client = new SSMClient({ region: 'eu-west-1' });
  const paths = SECRET_CATALOGUE.map((entry) => secretPath('bench', entry.name));
  const sequentialBatches = async () => {
    for (let i = 0; i < paths.length; i += 10) await client.send(new GetParametersCommand({ Names: paths.slice(i, i + 10), WithDecryption: true }));
  };
  const onePerSecret = async () => {
    for (const path of paths) await client.send(new GetParametersCommand({ Names: [path], WithDecryption: true }));
  };
  const parallel = async () => {
    const report = await checkSecrets({ ssm: client, envName: 'bench', stage: STAGE });
    if (!report.ok) throw new Error(`bench catalogue not valid: ${report.failing.join(', ')}`);
  };
  const time = async (fn: () => Promise<void>) => {
    const started = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  try {
    const samples: Record<'one' | 'seq' | 'par', number[]> = { one: [], seq: [], par: [] };
    await parallel();
    for (let i = 0; i < 7; i += 1) {
      // Interleaved so that machine noise hits every variant alike.
      samples.par.push(await time(parallel));
      samples.seq.push(await time(sequentialBatches));
      samples.one.push(await time(onePerSecret));
    }
    const [one, seq, par] = [median(samples.one), median(samples.seq), median(samples.par)];
    const ratio = par / seq;
    const budget = 0.6;
    const ok = ratio <= budget;
    console.log(`secrets check with 50 ms per SSM call (${paths.length} secrets, n=7, medians)`);
    console.log(`  one GetParameters per secret, sequential  ${one.toFixed(1).padStart(8)} ms  (${paths.length} calls)`);
    console.log(`  batches of 10, sequential (baseline)      ${seq.toFixed(1).padStart(8)} ms  (${Math.ceil(paths.length / 10)} calls)`);
    console.log(`  batches of 10, parallel (shipped check)   ${par.toFixed(1).padStart(8)} ms  (${Math.ceil(paths.length / 10)} calls, validation included)`);
    console.log(`  ratio parallel/sequential ${ratio.toFixed(2)}x (budget ${budget}x): ${ok ? 'PASS' : 'OVER BUDGET'}\n`);
    return ok;
  } finally {
    ssm.restore();
  }
}
