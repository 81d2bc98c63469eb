// Issue 5: `watchpoint status` — AWS calls for one status of the full stack against the minimum,
// and wall time with a mock adding 50 ms to every call: parallel against the same fetch functions
// awaited one by one (collectStatus's 'sequential' mode), measured in the same run, interleaved.
import { collectStatus, type Mode, type StatusClients } from '../../src/cli/status/collect.ts';
import { buildReport, PLAIN, renderHuman } from '../../src/cli/status/report.ts';
import { FakeEnvironment, callNames } from '../../test/status/fake-aws.ts';
import { median } from '../harness.ts';

const ROUND_TRIP_MS = 50;

async function clients(): Promise<StatusClients> {
  const [{ CloudFormationClient }, { CloudWatchClient }, { SQSClient }] = await Promise.all([
    import('@aws-sdk/client-cloudformation'),
    import('@aws-sdk/client-cloudwatch'),
    import('@aws-sdk/client-sqs'),
  ]);
  const config = { region: 'eu-west-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  return { cloudformation: new CloudFormationClient(config), cloudwatch: new CloudWatchClient(config), sqs: new SQSClient(config) };
}

/** One whole status: the calls, the verdicts and the rendered table. */
async function oneStatus(world: FakeEnvironment, aws: StatusClients, mode: Mode): Promise<number> {
  const started = process.hrtime.bigint();
  const raw = await collectStatus(aws, { envName: world.envName, now: world.now, mode });
  renderHuman(buildReport(raw, 'eu-west-1'), PLAIN);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function calls(): Promise<boolean> {
  const world = new FakeEnvironment();
  const mocks = world.install();
  try {
    await oneStatus(world, await clients(), 'parallel');
    const counted = callNames(mocks);
    const total = Object.values(counted).reduce((a, b) => a + b, 0);
    const stacks = 2;
    const alarms = world.alarms.length;
    const queues = world.queues.length;
    // One DescribeStacks per stack, the platform's resources once, ⌈alarms/100⌉ DescribeAlarms,
    // one GetMetricData, one GetQueueAttributes per queue.
    const minimum = stacks + 1 + Math.ceil(alarms / 100) + 1 + queues;
    const ok = total === minimum;
    console.log(`watchpoint status: AWS calls for one status (${stacks} stacks, ${alarms} alarms, ${queues} queues)`);
    for (const [name, count] of Object.entries(counted)) console.log(`  ${name.replace(/Command$/, '').padEnd(24)} ${count}`);
    console.log(`  total ${total}, minimum ${minimum}: ${ok ? 'PASS' : 'OVER MINIMUM'}\n`);
    return ok;
  } finally {
    mocks.restore();
  }
}

export async function wall(): Promise<boolean> {
  const world = new FakeEnvironment();
  const mocks = world.install();
  const aws = await clients();
  const runs = 15;
  try {
    // CPU alone (no added latency), so the budget is 3 round trips plus what the code itself costs.
    world.delayMs = 0;
    for (let i = 0; i < 5; i += 1) await oneStatus(world, aws, 'parallel');
    const cpu: number[] = [];
    for (let i = 0; i < runs; i += 1) cpu.push(await oneStatus(world, aws, 'parallel'));

    world.delayMs = ROUND_TRIP_MS;
    const parallel: number[] = [];
    const sequential: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      if (i % 2 === 0) {
        parallel.push(await oneStatus(world, aws, 'parallel'));
        sequential.push(await oneStatus(world, aws, 'sequential'));
      } else {
        sequential.push(await oneStatus(world, aws, 'sequential'));
        parallel.push(await oneStatus(world, aws, 'parallel'));
      }
    }
    const budget = 3 * ROUND_TRIP_MS + median(cpu);
    const ok = median(parallel) <= budget;
    const row = (label: string, values: number[]) =>
      `  ${label.padEnd(44)} median ${median(values).toFixed(1).padStart(8)} ms   min ${Math.min(...values).toFixed(1).padStart(8)} ms   (n=${values.length})`;
    console.log(`watchpoint status with ${ROUND_TRIP_MS} ms per AWS call (collect + verdicts + table)`);
    console.log(row('CPU only (no added latency), parallel', cpu));
    console.log(row('sequential (same calls awaited one by one)', sequential));
    console.log(row('parallel', parallel));
    console.log(`  parallel/sequential ${(median(parallel) / median(sequential)).toFixed(2)}x; budget 3 round trips + CPU = ${budget.toFixed(1)} ms: ${ok ? 'PASS' : 'OVER BUDGET'}\n`);
    return ok;
  } finally {
    mocks.restore();
  }
}
