// Issue 14: how long a command takes to give up against an endpoint that accepts connections and
// never answers, and against one that throttles every call, as a ratio of the configured budget
// (WATCHPOINT_AWS_TIMEOUT) measured in the same run. Real sockets on 127.0.0.1, run(argv) in-process.
import { RecordingIo } from '../../src/cli/io.ts';
import { run } from '../../src/cli/run.ts';
import { awsError, startAwsRecorder, startBlackHole } from '../../test/helpers/aws-fake.ts';
import { tempDir, VALID_DEV, writeConfig } from '../../test/helpers/cli.ts';
import { median } from '../harness.ts';

const BUDGETS_S = [1, 3];
const RUNS = 3;
const MAX_RATIO = 1.5;

async function timedRun(cwd: string, argv: string[], budget: number): Promise<{ ms: number; code: number }> {
  const io = new RecordingIo([], false);
  const started = process.hrtime.bigint();
  const code = await run(argv, { io, cwd, env: { WATCHPOINT_AWS_TIMEOUT: String(budget) }, streams: { stdout: { write: () => true }, stderr: { write: () => true } } });
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, code };
}

async function giveUp(title: string, endpoint: string, commands: string[][]): Promise<boolean> {
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_EC2_METADATA_DISABLED: 'true' });
  const cwd = await tempDir();
  await writeConfig(cwd, { dev: { ...VALID_DEV, awsEndpointUrl: endpoint } });
  console.log(title);
  let ok = true;
  for (const budget of BUDGETS_S) {
    for (const argv of commands) {
      const runs: number[] = [];
      for (let i = 0; i < RUNS; i += 1) {
        const { ms, code } = await timedRun(cwd, [...argv, '--env', 'dev'], budget);
        if (code !== 1) throw new Error(`${argv.join(' ')} exited ${code}, expected 1`);
        runs.push(ms);
      }
      const ratio = median(runs) / (budget * 1000);
      const pass = ratio <= MAX_RATIO;
      ok &&= pass;
      console.log(`  ${argv.join(' ').padEnd(16)} budget ${budget} s: gave up after ${(median(runs) / 1000).toFixed(2)} s (median of ${RUNS}), ${ratio.toFixed(2)}x the budget (max ${MAX_RATIO}x): ${pass ? 'PASS' : 'FAIL'}`);
    }
  }
  console.log('');
  return ok;
}

const COMMANDS = [['status'], ['secrets', 'list'], ['dlq', 'inspect'], ['deploy', '--dry-run', '--skip-image', '--skip-migrations']];

export async function blackHole(): Promise<boolean> {
  const hole = await startBlackHole();
  try {
    return await giveUp('AWS calls against an endpoint that never answers: time to give up / WATCHPOINT_AWS_TIMEOUT', hole.url, COMMANDS);
  } finally {
    await hole.close();
  }
}

export async function throttled(): Promise<boolean> {
  const recorder = await startAwsRecorder((call) => awsError(call, call.protocol === 'json' ? 'ThrottlingException' : 'Throttling', 'Rate exceeded'));
  try {
    return await giveUp('AWS calls against an endpoint that throttles every call: time to give up / WATCHPOINT_AWS_TIMEOUT', recorder.url, COMMANDS);
  } finally {
    await recorder.close();
  }
}
