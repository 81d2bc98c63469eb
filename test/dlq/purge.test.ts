// `dlq purge --export` deletes exactly the messages written to the backup, never the rest; and an
// export or a selective redrive that SQS's in-flight quota cut short says so instead of "done".
// Against fauxqs; the in-flight quota (which no local server has) through sqsClientWithInFlightLimit.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { exportCommand, purgeCommand, redriveCommand, type DlqDeps } from '../../src/cli/commands/dlq.ts';
import { ExitCode, formatError } from '../../src/cli/errors.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { VALID_DEV, writeConfig } from '../helpers/cli.ts';
import { createDlqFixture, failInto, sqsClientWithInFlightLimit, useFauxqsDlq, type DlqFixture } from './fixture.ts';

const server = useFauxqsDlq();

async function fixture(bodies: number): Promise<DlqFixture> {
  const fx = await createDlqFixture(server.faux, server.sqs);
  await writeConfig(server.dir, { [fx.envName]: { ...VALID_DEV, awsEndpointUrl: server.faux.endpoint } });
  await failInto(server.sqs, fx.sources.EvalQueueStandard!, Array.from({ length: bodies }, (_, i) => `m-${i}`));
  return fx;
}

async function call<F>(command: (c: Parameters<typeof purgeCommand>[0], f: F, d?: DlqDeps) => Promise<number>, fx: DlqFixture, flags: F, deps: DlqDeps = {}, answers: boolean[] = []) {
  const io = new RecordingIo(answers, false);
  try {
    const code = await command({ io, options: { env: fx.envName, yes: true }, env: {}, cwd: server.dir }, flags, deps);
    return { code, io, stdout: io.stdout, stderr: io.stderr };
  } catch (error) {
    return { code: -1, io, stdout: io.stdout, stderr: `${io.stderr}\n${formatError(error)}` };
  }
}

const lines = async (path: string) => (await readFile(path, 'utf8')).trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { Body: string });

describe('dlq purge --export', () => {
  it('deletes only what the backup holds: a message in flight elsewhere stays in the DLQ', async () => {
    const fx = await fixture(6);
    // Another consumer holds one message (in flight): no receive can return it, so no backup has it.
    const { Messages } = await server.sqs.send(new ReceiveMessageCommand({ QueueUrl: fx.dlq.url, MaxNumberOfMessages: 1, VisibilityTimeout: 300 }));
    const held = Messages![0]!.Body!;
    const out = join(server.dir, `${fx.envName}-inflight.jsonl`);
    const run = await call(purgeCommand, fx, { confirmName: fx.dlq.name, export: out });
    const backup = (await lines(out)).map((l) => l.Body);
    expect(backup).toHaveLength(5);
    expect(backup).not.toContain(held);
    // Exactly the message without a copy is left; PurgeQueue would have deleted it.
    expect(server.faux.bodies(fx.dlq.name)).toEqual([held]);
    expect(run.code).toBe(ExitCode.failure);
    expect(run.stdout).toContain('Deleted 5 messages');
    expect(run.stdout).toMatch(/Not purged: .*1 were in flight or delayed/);
  });

  it('names no backup when nothing could be exported, and deletes nothing', async () => {
    const fx = await fixture(2);
    await server.sqs.send(new ReceiveMessageCommand({ QueueUrl: fx.dlq.url, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }));
    const out = join(server.dir, `${fx.envName}-none.jsonl`);
    const run = await call(purgeCommand, fx, { confirmName: fx.dlq.name, export: out });
    expect(run.code).toBe(-1);
    expect(run.stderr).toContain('No file written, nothing deleted');
    expect(`${run.stdout}${run.stderr}`).not.toContain('the backup is');
    expect(existsSync(out)).toBe(false);
    expect(server.faux.bodies(fx.dlq.name)).toHaveLength(2);
  });

  it('at the in-flight quota (long polling: an empty answer) deletes the exported ones and says the rest were not purged', async () => {
    const fx = await fixture(25);
    const limited = sqsClientWithInFlightLimit(server.faux.endpoint, 10);
    const out = join(server.dir, `${fx.envName}-limit.jsonl`);
    const run = await call(purgeCommand, fx, { confirmName: fx.dlq.name, export: out }, { sqs: limited });
    limited.destroy();
    const backup = (await lines(out)).map((l) => l.Body);
    expect(backup).toHaveLength(10);
    const left = server.faux.bodies(fx.dlq.name);
    expect(left).toHaveLength(15);
    expect(left.filter((body) => backup.includes(body))).toEqual([]);
    expect(run.code).toBe(ExitCode.failure);
    expect(run.stdout).toMatch(/Not purged: about 15 messages were still visible and never received/);
  });

  it('a complete export is followed by deleting exactly those messages (exit 0)', async () => {
    const fx = await fixture(23);
    const out = join(server.dir, `${fx.envName}-all.jsonl`);
    const run = await call(purgeCommand, fx, { confirmName: fx.dlq.name, export: out });
    expect(run.code).toBe(ExitCode.ok);
    expect(await lines(out)).toHaveLength(23);
    expect(server.faux.bodies(fx.dlq.name)).toEqual([]);
    expect(run.stdout).toContain(`Deleted 23 messages from ${fx.dlq.name}; each is in the backup ${out}`);
  });
});

describe('the in-flight quota is reported, not taken for the end of the queue', () => {
  it('export: a PARTIAL export exits 1 and says how many were never received (short polling: OverLimit)', async () => {
    const fx = await fixture(18);
    const limited = sqsClientWithInFlightLimit(server.faux.endpoint, 10);
    // The walk long-polls; make the quota answer OverLimit as it does for short polling.
    limited.middlewareStack.add((next) => async (args) => next({ ...args, input: { ...(args.input as object), WaitTimeSeconds: 0 } as typeof args.input }), { step: 'initialize', name: 'shortPoll', priority: 'high' });
    const out = join(server.dir, `${fx.envName}-export.jsonl`);
    const run = await call(exportCommand, fx, { out }, { sqs: limited });
    limited.destroy();
    expect(run.code).toBe(ExitCode.failure);
    expect(run.stdout).toMatch(/PARTIAL export: wrote 10 messages .* about 8 messages were still visible and never received \(SQS stops returning messages once about 120,000/);
    expect(await lines(out)).toHaveLength(10);
    expect(server.faux.bodies(fx.dlq.name)).toHaveLength(18);
  });

  it('selective redrive: moved, skipped and left, and not reported as complete', async () => {
    const fx = await fixture(30);
    // Selective walks hold skipped messages; with a quota of 10 and every message skipped the walk stalls at 10.
    const limited = sqsClientWithInFlightLimit(server.faux.endpoint, 10);
    const run = await call(redriveCommand, fx, { match: '^never$', json: true }, { sqs: limited }, [true]);
    limited.destroy();
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ received: 10, moved: 0, skipped: 10, left: 20, complete: false });
    expect(run.code).toBe(ExitCode.failure);
    expect(server.faux.bodies(fx.dlq.name)).toHaveLength(30);
  });
});
