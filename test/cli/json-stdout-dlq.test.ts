// `dlq ... --json` through the whole CLI (run(argv), with its JSON-only net) against fauxqs: stdout
// parses as JSON on an empty DLQ and a full one. (A separate file: aws-sdk-client-mock in
// json-stdout.test.ts mocks every SQSClient of its worker.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';
import { startFauxqsWithDlqSource, type FauxqsWithDlqSource } from '../dlq/fauxqs-dlq.ts';
import { createDlqFixture, failInto, sqsClient } from '../dlq/fixture.ts';

describe('dlq --json through the CLI (fauxqs)', () => {
  let faux: FauxqsWithDlqSource;
  let dir: string;
  const saved = { ...process.env };
  beforeAll(async () => {
    faux = await startFauxqsWithDlqSource();
    dir = await tempDir();
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' });
    delete process.env.AWS_PROFILE;
  });
  afterAll(async () => {
    process.env = saved;
    await faux.close();
  });

  it('inspect, and a selective redrive on an empty and a full DLQ: stdout parses as JSON every time', async () => {
    const sqs = sqsClient(faux.endpoint);
    const fx = await createDlqFixture(faux, sqs);
    await writeConfig(dir, { [fx.envName]: { ...VALID_DEV, awsEndpointUrl: faux.endpoint } });
    const cli = (args: string[]) => runCli(['dlq', ...args, '--env', fx.envName, '--json'], { cwd: dir });
    for (const args of [['inspect'], ['redrive', '--match', 'x'], ['redrive', '--match', 'x', '--dry-run']]) {
      const r = await cli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(() => JSON.parse(r.stdout), `${args.join(' ')} printed: ${r.stdout}`).not.toThrow();
    }
    expect(JSON.parse((await cli(['redrive', '--match', 'x'])).stdout)).toMatchObject({ empty: true, moved: 0 });
    await failInto(sqs, fx.sources.EvalQueueStandard!, ['{"x":1}', '{"y":2}']);
    for (const args of [['inspect'], ['redrive', '--match', 'y', '--yes']]) {
      const r = await cli(args);
      expect(r.code, r.stderr).toBe(0);
      expect(() => JSON.parse(r.stdout), `${args.join(' ')} printed: ${r.stdout}`).not.toThrow();
    }
    sqs.destroy();
  });
});

