// `dlq ... --json` through the whole CLI (run(argv), with its JSON-only net) against fauxqs: stdout
// parses as JSON on an empty DLQ and a full one. (A separate file: aws-sdk-client-mock in
// json-stdout.test.ts mocks every SQSClient of its worker.)
import { describe, expect, it } from 'vitest';
import { runCli, VALID_DEV, writeConfig } from '../helpers/cli.ts';
import { createDlqFixture, failInto, useFauxqsDlq } from '../dlq/fixture.ts';

const server = useFauxqsDlq();

describe('dlq --json through the CLI (fauxqs)', () => {
  it('inspect, and a selective redrive on an empty and a full DLQ: stdout parses as JSON every time', async () => {
    const fx = await createDlqFixture(server.faux, server.sqs);
    await writeConfig(server.dir, { [fx.envName]: { ...VALID_DEV, awsEndpointUrl: server.faux.endpoint } });
    const cli = (args: string[]) => runCli(['dlq', ...args, '--env', fx.envName, '--json'], { cwd: server.dir });
    for (const args of [['inspect'], ['redrive', '--match', 'x', '--yes'], ['redrive', '--match', 'x', '--dry-run']]) {
      const r = await cli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(() => JSON.parse(r.stdout), `${args.join(' ')} printed: ${r.stdout}`).not.toThrow();
    }
    expect(JSON.parse((await cli(['redrive', '--match', 'x', '--yes'])).stdout)).toMatchObject({ empty: true, moved: 0 });
    await failInto(server.sqs, fx.sources.EvalQueueStandard!, ['{"x":1}', '{"y":2}']);
    for (const args of [['inspect'], ['redrive', '--match', 'y', '--yes']]) {
      const r = await cli(args);
      expect(r.code, r.stderr).toBe(0);
      expect(() => JSON.parse(r.stdout), `${args.join(' ')} printed: ${r.stdout}`).not.toThrow();
    }
  });
});
