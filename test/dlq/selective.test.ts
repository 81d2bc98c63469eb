// `watchpoint dlq inspect | export | redrive (selective) | purge` end to end against fauxqs: the CLI
// finds the queues through CloudFormation reads answered by the test server, and moves real messages.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectiveRedrive, SKIP } from '../../src/cli/dlq/walk.ts';
import { runCli, tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';
import { startFauxqsWithDlqSource, type FauxqsWithDlqSource } from './fauxqs-dlq.ts';
import { createDlqFixture, failInto, sqsClient, type DlqFixture } from './fixture.ts';

let faux: FauxqsWithDlqSource;
let sqs: SQSClient;
let dir: string;
const saved = { ...process.env };

beforeAll(async () => {
  faux = await startFauxqsWithDlqSource();
  sqs = sqsClient(faux.endpoint);
  dir = await tempDir();
  // The CLI builds its clients from the SDK's default credential chain.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' });
  delete process.env.AWS_PROFILE;
});

afterAll(async () => {
  process.env = saved;
  sqs.destroy();
  await faux.close();
});

async function setup(fixture: DlqFixture): Promise<string> {
  return writeConfig(dir, { [fixture.envName]: { ...VALID_DEV, awsEndpointUrl: faux.endpoint } });
}

function cli(fixture: DlqFixture, args: string[], options: { answers?: (string | boolean)[]; interactive?: boolean } = {}) {
  return runCli(['dlq', ...args, '--env', fixture.envName], { cwd: dir, ...options });
}

/** Visible messages only, received and left visible again at once (VisibilityTimeout 0). */
async function visibleBodies(url: string): Promise<string[]> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(Attributes?.ApproximateNumberOfMessages) === 0 ? [] : (await receiveAll(url)).map((m) => m.Body!);
}

async function receiveAll(url: string) {
  const seen = new Map<string, import('@aws-sdk/client-sqs').Message>();
  for (;;) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 30, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
    if (!Messages?.length) break;
    for (const m of Messages) seen.set(m.MessageId!, m);
  }
  // Put them back: these helpers must not change what the next assertion sees.
  const { ChangeMessageVisibilityBatchCommand } = await import('@aws-sdk/client-sqs');
  const handles = [...seen.values()];
  for (let i = 0; i < handles.length; i += 10) {
    await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: handles.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })) }));
  }
  return handles;
}

const sorted = (values: string[]) => [...values].sort();

describe('dlq redrive, selective', () => {
  it('moves only the matching messages to their own source, keeps attributes, and leaves the rest visible', async () => {
    const fx = await createDlqFixture(faux, sqs);
    await setup(fx);
    const evalSource = fx.sources.EvalQueueStandard!;
    const webhookSource = fx.sources.WebhookNotificationQueue!;
    await failInto(sqs, evalSource, Array.from({ length: 23 }, (_, i) => `{"job":"eval-${i}","kind":${i % 2 ? '"retry"' : '"keep"'}}`), {
      trace: { DataType: 'String', StringValue: 'abc' },
      blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
      n: { DataType: 'Number', StringValue: '42' },
    });
    await failInto(sqs, webhookSource, Array.from({ length: 7 }, (_, i) => `{"hook":${i},"kind":"retry"}`));

    const { code, stdout, stderr } = await cli(fx, ['redrive', '--source', 'EvalQueueStandard', '--match', '"kind":"retry"', '--yes']);
    expect(stderr).toContain('ApproximateReceiveCount');
    expect(code).toBe(0);
    expect(stdout).toContain('moved 11, skipped 19, failed 0, left 0 (of 30 received)');
    expect(stdout).toContain('skipped 7: not from --source');
    expect(stdout).toContain('skipped 12: body does not match --match');

    const moved = await receiveAll(evalSource.url);
    expect(sorted(moved.map((m) => m.Body!))).toEqual(sorted(Array.from({ length: 23 }, (_, i) => i).filter((i) => i % 2).map((i) => `{"job":"eval-${i}","kind":"retry"}`)));
    const attributes = moved[0]!.MessageAttributes!;
    expect(attributes.trace?.StringValue).toBe('abc');
    expect(attributes.n).toMatchObject({ DataType: 'Number', StringValue: '42' });
    expect([...(attributes.blob?.BinaryValue ?? [])]).toEqual([1, 2, 3]);
    // Everything else is back in the DLQ and visible right now, not after a timeout.
    const left = await visibleBodies(fx.dlq.url);
    expect(left).toHaveLength(19);
    expect(left.filter((body) => body.includes('"hook"'))).toHaveLength(7);
    expect(await visibleBodies(webhookSource.url)).toEqual([]);
  });

  it('--max caps the moves; --dry-run moves nothing and says where each would go', async () => {
    const fx = await createDlqFixture(faux, sqs);
    await setup(fx);
    await failInto(sqs, fx.sources.EvalQueueStandard!, Array.from({ length: 12 }, (_, i) => `e${i}`));
    await failInto(sqs, fx.sources.WebhookNotificationQueue!, Array.from({ length: 5 }, (_, i) => `w${i}`));

    const dry = await cli(fx, ['redrive', '--match', '^[ew]', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan).toMatchObject({ dryRun: true, wouldMove: 17, moved: 0, bySource: { EvalQueueStandard: 12, WebhookNotificationQueue: 5 } });
    expect(await visibleBodies(fx.dlq.url)).toHaveLength(17);
    expect(await visibleBodies(fx.sources.EvalQueueStandard!.url)).toEqual([]);

    const capped = await cli(fx, ['redrive', '--match', '^e', '--max', '4', '--yes', '--json']);
    expect(capped.code).toBe(0);
    expect(JSON.parse(capped.stdout)).toMatchObject({ moved: 4, failed: 0 });
    expect(await visibleBodies(fx.sources.EvalQueueStandard!.url)).toHaveLength(4);
    expect(await visibleBodies(fx.dlq.url)).toHaveLength(13);
  });

  it('--older-than compares SentTimestamp with now', async () => {
    const fx = await createDlqFixture(faux, sqs);
    await failInto(sqs, fx.sources.EvalQueueStandard!, ['a', 'b', 'c']);
    const destinations = new Map(Object.values(fx.sources).map((q) => [q.arn, q.url]));
    const base = { sqs, dlqUrl: fx.dlq.url, destinations, visibilityTimeout: 60, waitTimeSeconds: 0 };
    const young = await selectiveRedrive({ ...base, filter: { olderThanMs: 3_600_000 } });
    expect(young).toMatchObject({ moved: 0, skipped: { [SKIP.tooNew]: 3 }, released: 3 });
    const later = await selectiveRedrive({ ...base, filter: { olderThanMs: 3_600_000 }, now: () => Date.now() + 2 * 3_600_000 });
    expect(later).toMatchObject({ moved: 3, skipped: {} });
    expect(sorted(await visibleBodies(fx.sources.EvalQueueStandard!.url))).toEqual(['a', 'b', 'c']);
  });

  it('deletes nothing whose send failed: a vanished source queue leaves every message in the DLQ, visible', async () => {
    const fx = await createDlqFixture(faux, sqs);
    const source = fx.sources.EvalQueueStandard!;
    await failInto(sqs, source, Array.from({ length: 25 }, (_, i) => `gone-${i}`));
    await sqs.send(new DeleteQueueCommand({ QueueUrl: source.url }));
    const result = await selectiveRedrive({
      sqs, dlqUrl: fx.dlq.url, destinations: new Map([[source.arn, source.url]]), filter: { match: /gone/ }, visibilityTimeout: 60, waitTimeSeconds: 0,
    });
    expect(result.moved).toBe(0);
    expect(Object.entries(result.failed)).toEqual([[expect.stringMatching(/^send failed: /), 25]]);
    expect(result.released).toBe(25);
    expect(await visibleBodies(fx.dlq.url)).toHaveLength(25);
  });

  it('a stop request (Ctrl-C) finishes the batches in flight and makes the rest visible again', async () => {
    const fx = await createDlqFixture(faux, sqs);
    const source = fx.sources.EvalQueueStandard!;
    await failInto(sqs, source, Array.from({ length: 200 }, (_, i) => `s-${i}`));
    let batches = 0;
    const result = await selectiveRedrive({
      sqs, dlqUrl: fx.dlq.url, destinations: new Map([[source.arn, source.url]]), filter: { match: /^s-/ }, visibilityTimeout: 60, waitTimeSeconds: 0,
      concurrency: 2, onProgress: () => (batches += 1), shouldStop: () => batches >= 3,
    });
    expect(result.interrupted).toBe(true);
    expect(result.moved).toBeGreaterThan(0);
    expect(result.moved).toBeLessThan(200);
    const back = await visibleBodies(fx.dlq.url);
    const moved = await visibleBodies(source.url);
    expect(back.length + moved.length).toBe(200);
    expect(moved).toHaveLength(result.moved);
  });

  it('leaves messages whose source queue is not in the stack, and says why', async () => {
    const fx = await createDlqFixture(faux, sqs);
    await setup(fx);
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({
      QueueName: `stray-${fx.envName}`,
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: fx.dlq.arn, maxReceiveCount: 1 }) },
    }));
    await failInto(sqs, { label: 'stray', logicalId: 'x', name: `stray-${fx.envName}`, url: QueueUrl!, arn: '' }, ['stray-1', 'stray-2']);
    await failInto(sqs, fx.sources.EvalQueueStandard!, ['ok-1']);
    const { code, stdout } = await cli(fx, ['redrive', '--match', '.', '--yes']);
    expect(code).toBe(0);
    expect(stdout).toContain('moved 1, skipped 2, failed 0');
    expect(stdout).toContain(`skipped 2: ${SKIP.unknownSource}`);
    expect(sorted(await visibleBodies(fx.dlq.url))).toEqual(['stray-1', 'stray-2']);
  });

  it('an empty DLQ is not an error', async () => {
    const fx = await createDlqFixture(faux, sqs);
    await setup(fx);
    const selective = await cli(fx, ['redrive', '--match', 'x', '--yes']);
    expect(selective.code).toBe(0);
    expect(selective.stdout).toContain('is empty; nothing to redrive');
    const inspect = await cli(fx, ['inspect']);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toContain('is empty');
    // export says it in the same words (docs/dlq.md: every command says "empty"), and writes nothing.
    const out = join(dir, `${fx.envName}-empty.jsonl`);
    const exported = await cli(fx, ['export', '--out', out]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toBe(`The DLQ ${fx.dlq.name} is empty; no file written.\n`);
    expect(existsSync(out)).toBe(false);
  });

  it('an unknown --source exits 2 and lists the valid ones', async () => {
    const fx = await createDlqFixture(faux, sqs);
    await setup(fx);
    const { code, stderr } = await cli(fx, ['redrive', '--source', 'NoSuchQueue', '--yes']);
    expect(code).toBe(2);
    expect(stderr).toContain('--source "NoSuchQueue" is not a source queue');
    expect(stderr).toContain(`EvalQueueStandard (${fx.sources.EvalQueueStandard!.name})`);
    expect(stderr).toContain('WebhookNotificationQueue');
    // The queue name and the logical ID are accepted too.
    const byName = await cli(fx, ['redrive', '--source', fx.sources.WebhookNotificationQueue!.name, '--dry-run']);
    expect(byName.code).toBe(0);
  });

  it('bad flags exit 2 before any AWS call (there is not even a stack)', async () => {
    const nowhere = { envName: 'nostack', dlq: {} as never, sources: {} };
    await writeConfig(dir, { nostack: { ...VALID_DEV, awsEndpointUrl: 'http://127.0.0.1:9' } });
    const cases: [string[], string][] = [
      [['redrive', '--match', '([a-z'], '--match "([a-z" is not a valid regular expression'],
      [['redrive', '--older-than', '2 weeks'], '--older-than "2 weeks" is not a duration'],
      [['redrive', '--max', '0'], '--max 0 is out of range'],
      [['redrive', '--max-per-second', '501'], '--max-per-second 501 is out of range'],
      [['redrive', '--match', 'x', '--max-per-second', '10'], '--max-per-second applies to the native move task'],
      [['inspect', '--limit', 'many'], '--limit "many" is not a whole number'],
      [['export'], "required option '-o, --out <file>'"],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await cli(nowhere, args);
      expect({ args, code }).toEqual({ args, code: 2 });
      expect(stderr).toContain(message);
    }
  });
});

describe('dlq inspect and export', () => {
  it('inspect counts per source from a sample, warns that it receives, and leaves every message visible', async () => {
    const fx = await createDlqFixture(faux, sqs);
    await setup(fx);
    await failInto(sqs, fx.sources.EvalQueueStandard!, Array.from({ length: 4 }, (_, i) => `{"eval":${i}}`));
    await failInto(sqs, fx.sources.WebhookNotificationQueue!, ['{"hook":1}']);
    const text = await cli(fx, ['inspect']);
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(/hidden for a moment .* adds 1 to their ApproximateReceiveCount/);
    expect(text.stdout).toContain('about 5 messages');
    expect(text.stdout).toMatch(/EvalQueueStandard\s+4/);
    expect(text.stdout).toContain('{"hook":1}');
    expect(await visibleBodies(fx.dlq.url)).toHaveLength(5);

    const sampled = await cli(fx, ['inspect', '--limit', '2', '--json']);
    const json = JSON.parse(sampled.stdout);
    expect(json).toMatchObject({ approximateMessages: 5, sampled: 2, countsAreSample: true });
    expect(json.messages[0]).toMatchObject({ source: expect.stringMatching(/Queue/), receiveCount: expect.any(Number), firstReceived: expect.any(String) });
    expect(await visibleBodies(fx.dlq.url)).toHaveLength(5);
  });

  it('export writes every message once with body, attributes and source, deletes nothing, refuses to overwrite', async () => {
    const fx = await createDlqFixture(faux, sqs);
    await setup(fx);
    await failInto(sqs, fx.sources.EvalQueueStandard!, Array.from({ length: 35 }, (_, i) => `eval-${i}`), { k: { DataType: 'String', StringValue: 'v' } });
    await failInto(sqs, fx.sources.WebhookNotificationQueue!, ['hook-0']);
    const out = join(dir, `${fx.envName}.jsonl`);
    const first = await cli(fx, ['export', '--out', out]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Exported 36 messages');
    const lines = (await readFile(out, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toHaveLength(36);
    expect(new Set(lines.map((l) => l.MessageId)).size).toBe(36);
    const hook = lines.find((l) => l.Body === 'hook-0');
    expect(hook).toMatchObject({ SourceQueue: 'WebhookNotificationQueue', SourceQueueArn: fx.sources.WebhookNotificationQueue!.arn });
    expect(hook.Attributes.SentTimestamp).toMatch(/^\d+$/);
    expect(lines.find((l) => l.Body === 'eval-3').MessageAttributes).toEqual({ k: { DataType: 'String', StringValue: 'v' } });
    expect(await visibleBodies(fx.dlq.url)).toHaveLength(36);
    expect(existsSync(`${out}.partial-${process.pid}`)).toBe(false);

    const again = await cli(fx, ['export', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
    expect((await cli(fx, ['export', '--out', out, '--force'])).code).toBe(0);
  });
});

describe('dlq purge', () => {
  it('needs --yes and --confirm-name without a terminal, and the name must be the DLQ\'s', async () => {
    const fx = await createDlqFixture(faux, sqs);
    await setup(fx);
    await failInto(sqs, fx.sources.EvalQueueStandard!, ['p1', 'p2']);
    const bare = await cli(fx, ['purge', '--yes']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('--confirm-name');
    const wrong = await cli(fx, ['purge', '--yes', '--confirm-name', 'watchpoint-prod-dlq']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`The DLQ of watchpoint-${fx.envName} is ${fx.dlq.name}`);
    expect(await visibleBodies(fx.dlq.url)).toHaveLength(2);

    const out = join(dir, `purge-${fx.envName}.jsonl`);
    const done = await cli(fx, ['purge', '--yes', '--confirm-name', fx.dlq.name, '--export', out]);
    expect(done.code).toBe(0);
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(2);
    expect(faux.bodies(fx.dlq.name)).toEqual([]);
  });

  it('on a terminal offers an export, then asks for the typed name', async () => {
    const fx = await createDlqFixture(faux, sqs);
    await setup(fx);
    await failInto(sqs, fx.sources.EvalQueueStandard!, ['q1']);
    const out = join(dir, `typed-${fx.envName}.jsonl`);
    await writeFile(join(dir, 'taken.jsonl'), '');
    const { code, io } = await cli(fx, ['purge'], { interactive: true, answers: [true, out, fx.dlq.name] });
    expect(code).toBe(0);
    expect(io.questions.map((q) => q.kind)).toEqual(['confirm', 'input', 'input']);
    const typed = io.questions[2]!;
    expect(typed.kind === 'input' && typed.validate?.('wrong-name')).toMatch(/does not match/);
    const exportQuestion = io.questions[1]!;
    expect(exportQuestion.kind === 'input' && exportQuestion.validate?.(join(dir, 'taken.jsonl'))).toMatch(/already exists/);
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(1);
    expect(faux.bodies(fx.dlq.name)).toEqual([]);
  });
});
