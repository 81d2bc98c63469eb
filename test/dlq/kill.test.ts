// Fault injection: the real CLI (bin/watchpoint, a child process) runs a selective redrive against
// fauxqs and is killed with SIGKILL mid-run. Then every original message must still be in the DLQ or
// in its source queue, and the duplicates (in both) must be at most the batches in flight.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_CONCURRENCY } from '../../src/cli/dlq/walk.ts';
import { tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';
import { startFauxqsWithDlqSource, type FauxqsWithDlqSource } from './fauxqs-dlq.ts';
import { createDlqFixture, failInto, sqsClient } from './fixture.ts';

const root = join(import.meta.dirname, '..', '..');
let faux: FauxqsWithDlqSource;
let sqs: SQSClient;

beforeAll(async () => {
  faux = await startFauxqsWithDlqSource();
  sqs = sqsClient(faux.endpoint);
});

afterAll(async () => {
  sqs.destroy();
  await faux.close();
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

for (const killAfter of [150, 1200]) {
  it(`SIGKILL after ~${killAfter} moved messages loses nothing; duplicates <= batches in flight`, async () => {
    const fx = await createDlqFixture(faux, sqs);
    const dir = await tempDir();
    await writeConfig(dir, { [fx.envName]: { ...VALID_DEV, awsEndpointUrl: faux.endpoint } });
    const evalSource = fx.sources.EvalQueueStandard!;
    const webhookSource = fx.sources.WebhookNotificationQueue!;
    const evalBodies = Array.from({ length: 3000 }, (_, i) => `{"eval":${i},"retry":${i % 3 !== 0}}`);
    const webhookBodies = Array.from({ length: 1000 }, (_, i) => `{"hook":${i},"retry":true}`);
    await failInto(sqs, evalSource, evalBodies);
    await failInto(sqs, webhookSource, webhookBodies);
    const matching = [...evalBodies, ...webhookBodies].filter((body) => body.includes('"retry":true')).length;

    const child = spawn(process.execPath, [join(root, 'bin', 'watchpoint'), 'dlq', 'redrive', '--env', fx.envName, '--match', '"retry":true', '--yes'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true', CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const movedSoFar = () => faux.bodies(evalSource.name).length + faux.bodies(webhookSource.name).length;
    const started = Date.now();
    while (movedSoFar() < killAfter && child.exitCode === null && Date.now() - started < 30_000) await sleep(2);
    child.kill('SIGKILL');
    await exited;
    expect(stderr).not.toContain('error:');

    const atKill = movedSoFar();
    // The kill really landed mid-run: some messages had moved, not all of them.
    expect(atKill).toBeGreaterThanOrEqual(killAfter);
    expect(atKill).toBeLessThan(matching);

    const inDlq = faux.bodies(fx.dlq.name);
    const inEval = faux.bodies(evalSource.name);
    const inWebhook = faux.bodies(webhookSource.name);
    const everywhere = new Map<string, number>();
    for (const body of [...inDlq, ...inEval, ...inWebhook]) everywhere.set(body, (everywhere.get(body) ?? 0) + 1);
    const lost = [...evalBodies, ...webhookBodies].filter((body) => !everywhere.has(body));
    expect(lost).toEqual([]);
    // Each message went only to its own source queue, and only matching ones moved.
    expect(inEval.every((body) => body.startsWith('{"eval"') && body.includes('"retry":true'))).toBe(true);
    expect(inWebhook.every((body) => body.startsWith('{"hook"'))).toBe(true);
    const duplicates = [...everywhere.values()].reduce((sum, n) => sum + n - 1, 0);
    expect(duplicates).toBeLessThanOrEqual(DEFAULT_CONCURRENCY * 10);
    expect(inDlq.length + inEval.length + inWebhook.length).toBe(evalBodies.length + webhookBodies.length + duplicates);
  });
}
