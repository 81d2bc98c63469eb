// Issue 14 item 9: ask first, then touch AWS. Without a terminal and without --yes, a command that
// will need a confirmation exits 2 before its first AWS call; an interactive `secrets set` checks
// credentials and the parameter before the value is typed, so it is never typed twice.
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { awsError, startAwsRecorder, type AwsRecorder } from '../helpers/aws-fake.ts';
import { runCli, tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';

let recorder: AwsRecorder;
let cwd: string;
beforeAll(async () => {
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIATEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' });
  recorder = await startAwsRecorder((call) => awsError(call, call.protocol === 'json' ? 'AccessDeniedException' : 'AccessDenied', `User: arn:aws:iam::123456789012:user/oncall is not authorized to perform: ${call.service}:${call.action}`, 403));
  cwd = await tempDir();
  const stage = { ...VALID_DEV, awsEndpointUrl: recorder.url };
  await writeConfig(cwd, { dev: stage, prod: stage });
});
afterAll(async () => recorder.close());
beforeEach(() => {
  recorder.calls.length = 0;
});

it.each([
  [['deploy', '--env', 'prod', '--skip-image']],
  [['destroy', '--env', 'dev']],
  [['dlq', 'redrive', '--env', 'dev']],
  [['dlq', 'purge', '--env', 'dev']],
  [['runpod', 'rotate-keys', '--env', 'dev', '--stage', 'delete']],
  [['runpod', 'rotate-keys', '--env', 'dev', '--stage', 'deactivate']],
])('%j without a terminal or --yes exits 2 before any AWS call', async (argv) => {
  const result = await runCli(argv, { cwd });
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toContain('--yes');
  expect(recorder.calls).toEqual([]);
});

it('dry runs need no --yes', async () => {
  const result = await runCli(['dlq', 'redrive', '--env', 'dev', '--dry-run'], { cwd });
  expect(result.stderr).not.toContain('CONFIRMATION');
  expect(recorder.calls.length).toBeGreaterThan(0);
});

it('interactive secrets set: a refused AWS call comes before the hidden prompt', async () => {
  const result = await runCli(['secrets', 'set', 'billing/stripe_secret_key', '--env', 'dev'], { cwd, interactive: true, answers: ['sk_test_not-asked'] });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('AWS denied DescribeParameters');
  expect(result.io.questions).toEqual([]);
});
