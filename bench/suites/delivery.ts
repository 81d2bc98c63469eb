// Webhook worker throughput (issue 9): batches of 10 notifications through the production handler
// (claim in PostgreSQL, sign, POST, mark delivered) against a loopback receiver, with the records
// of a batch sent in parallel (the deployed setting) against one after another, in the same run and
// interleaved so machine noise hits both alike. The receiver answers after a fixed delay, standing in
// for a real endpoint's response time; 0 ms shows the worker's own overhead.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { createDeliveryHandler } from '../../src/lambdas/shared/delivery-handler.ts';
import { webhookChannel } from '../../src/lambdas/webhook-worker/worker.ts';
import { createTestDatabase, startPostgres } from '../../test/helpers/postgres.ts';
import { notifications } from '../../test/delivery/helpers.ts';
import { sqsRecord } from '../../test/pipeline/fixtures.ts';
import { median } from '../harness.ts';

const BATCH = 10;
const BATCHES_PER_ROUND = 5;
const ROUNDS = 4;

export async function webhookThroughput(): Promise<boolean> {
  const postgres = await startPostgres();
  const db = await createTestDatabase(postgres.url);
  let delayMs = 0;
  let posts = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      posts += 1;
      setTimeout(() => response.writeHead(204).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  try {
    const make = (parallel: boolean) => {
      const deps = {
        pool: async () => db.pool,
        logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
        channel: webhookChannel({ policy: { allowLoopback: true } }),
      };
      return createDeliveryHandler(() => deps, { parallel });
    };
    const handlers = { parallel: make(true), sequential: make(false) };

    /** Deliveries per second for `BATCHES_PER_ROUND` batches of fresh notifications. */
    const round = async (mode: keyof typeof handlers): Promise<number> => {
      const made = await notifications(db.pool, Array.from({ length: BATCH * BATCHES_PER_ROUND }, () => ({ type: 'webhook' as const, url })));
      const before = posts;
      const started = performance.now();
      for (let i = 0; i < made.length; i += BATCH) {
        const response = await handlers[mode]({ Records: made.slice(i, i + BATCH).map((n) => sqsRecord({ Body: n.body })) });
        if (response.batchItemFailures.length > 0) throw new Error(`${mode}: ${response.batchItemFailures.length} failures`);
      }
      const seconds = (performance.now() - started) / 1000;
      if (posts - before !== made.length) throw new Error(`${mode}: ${posts - before} posts for ${made.length} notifications`);
      return made.length / seconds;
    };

    console.log(`Webhook worker: batches of ${BATCH}, ${ROUNDS} rounds x ${BATCHES_PER_ROUND} batches per mode, loopback receiver, PostgreSQL records`);
    let ok = true;
    for (const delay of [0, 25]) {
      delayMs = delay;
      await round('parallel');
      await round('sequential');
      const rates = { parallel: [] as number[], sequential: [] as number[] };
      for (let r = 0; r < ROUNDS; r += 1) {
        for (const mode of (r % 2 === 0 ? ['sequential', 'parallel'] : ['parallel', 'sequential']) as (keyof typeof handlers)[]) rates[mode].push(await round(mode));
      }
      const parallel = median(rates.parallel);
      const sequential = median(rates.sequential);
      const ratio = parallel / sequential;
      // With a receiver that takes time to answer, parallel sends must pay off; at 0 ms only overhead shows.
      const pass = delay === 0 ? parallel >= sequential * 0.8 : ratio >= 3;
      ok &&= pass;
      console.log(`  receiver answers after ${String(delay).padStart(2)} ms`);
      console.log(`    sequential (baseline)   median ${sequential.toFixed(0).padStart(6)} deliveries/s`);
      console.log(`    parallel in a batch     median ${parallel.toFixed(0).padStart(6)} deliveries/s   ratio ${ratio.toFixed(2)}   ${pass ? 'PASS' : 'FAIL'} (${delay === 0 ? '>= 0.8' : '>= 3'})`);
    }
    return ok;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await db.drop();
    await postgres.stop();
  }
}
