// Issue 14 item 6: every command's AWS failure paths go through the one explainer, and every error
// the CLI prints ends with a `fix:` line. Each command runs through run(argv) against a recording
// AWS endpoint on 127.0.0.1 that answers every call with one kind of failure.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsError, startAwsRecorder, type AwsRecorder, type RecordedCall, type Reply } from '../helpers/aws-fake.ts';
import { freeLoopbackPort } from '../helpers/net.ts';
import { runCli, tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';

/** Every command that talks to AWS, with the arguments that take it to its first AWS call. */
const COMMANDS: string[][] = [
  ['status'],
  ['dlq', 'inspect'],
  ['dlq', 'export', '--out', 'backup.jsonl'],
  ['dlq', 'redrive', '--dry-run'],
  ['dlq', 'purge', '--yes', '--confirm-name', 'x'],
  ['secrets', 'list'],
  ['secrets', 'check'],
  ['secrets', 'get', 'auth/session_key'],
  ['secrets', 'set', 'auth/session_key', '--generate', '--overwrite'],
  ['secrets', 'history', 'auth/session_key'],
  ['secrets', 'rollback', 'auth/session_key', '--to-version', '1', '--yes'],
  ['secrets', 'import', '--file', 'secrets.env', '--overwrite'],
  ['db', 'migrate', '--dry-run'],
  ['deploy', '--dry-run', '--skip-image', '--skip-migrations'],
  ['destroy', '--yes'],
  ['runpod', 'rotate-keys', '--status'],
  ['logs'],
  ['trace', 'r-123'],
  ['drift'],
];

interface Kind {
  name: string;
  region?: string;
  reply: (call: RecordedCall) => Reply;
  /** What the explained error says: the explainer's own words, which the raw SDK error never has. */
  says: RegExp;
  /** The exact exit code. */
  exit: number;
  /** The explainer's fix for this kind, on the last line. */
  fix?: RegExp;
}

const denied = (call: RecordedCall) =>
  awsError(call, call.protocol === 'json' ? 'AccessDeniedException' : 'AccessDenied', `User: arn:aws:iam::123456789012:user/oncall is not authorized to perform: ${call.service === 'monitoring' ? 'cloudwatch' : call.service}:${call.action} on resource: arn:aws:${call.service}:eu-west-1:123456789012:thing`, 403);

const KINDS: Kind[] = [
  { name: 'access denied', reply: denied, says: /denied/i, exit: 1 },
  { name: 'unknown action (wrong endpoint)', reply: (call) => awsError(call, call.protocol === 'json' ? 'UnknownOperationException' : 'InvalidAction', `Unknown action ${call.action}`), says: /does not know that action/, exit: 1 },
  // Not /throttl/: the raw SDK name ThrottlingException matches that without the explainer.
  { name: 'throttling', reply: (call) => awsError(call, call.protocol === 'json' ? 'ThrottlingException' : 'Throttling', 'Rate exceeded'), says: /^Error: (AWS|SSM) kept throttling .+ after the SDK's/m, exit: 1, fix: /^ {2}fix: Wait a minute and run the command again; another process/ },
  { name: 'expired credentials', reply: (call) => awsError(call, call.protocol === 'json' ? 'ExpiredTokenException' : 'ExpiredToken', 'The security token included in the request is expired'), says: /credentials are missing, expired or invalid/, exit: 1 },
  { name: 'region not enabled', region: 'af-south-1', reply: (call) => awsError(call, call.protocol === 'json' ? 'UnrecognizedClientException' : 'InvalidClientTokenId', 'The security token included in the request is invalid', 403), says: /region af-south-1 is not enabled/, exit: 1 },
];

let recorder: AwsRecorder;
let current: Kind = KINDS[0]!;

beforeAll(async () => {
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIATEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' });
  recorder = await startAwsRecorder((call) => current.reply(call));
});
afterAll(async () => recorder.close());

function expectFixLast(stderr: string): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines.at(-1), stderr).toMatch(/^ {2}fix: \S/);
}

async function configured(stage: Record<string, unknown>): Promise<string> {
  const cwd = await tempDir();
  await writeConfig(cwd, { dev: { ...VALID_DEV, ...stage } });
  await writeFile(join(cwd, 'secrets.env'), 'auth/session_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n');
  return cwd;
}

describe.each(KINDS)('$name', (kind) => {
  let cwd: string;
  beforeAll(async () => {
    current = kind;
    cwd = await configured({ awsEndpointUrl: recorder.url, ...(kind.region ? { region: kind.region } : {}) });
  });
  it.each(COMMANDS.map((argv) => [argv.join(' '), argv] as const))('%s', async (_name, argv) => {
    current = kind;
    const result = await runCli([...argv, '--env', 'dev'], { cwd, env: { WATCHPOINT_AWS_TIMEOUT: '1.5' } });
    expect(result.code, result.stderr).toBe(kind.exit);
    expect(result.stderr).toMatch(kind.says);
    expectFixLast(result.stderr);
    if (kind.fix) expect(result.stderr.trimEnd().split('\n').at(-1)).toMatch(kind.fix);
    if (kind.name === 'access denied') expect(result.stderr.trimEnd().split('\n').at(-1)).toMatch(/[a-z0-9-]+:[A-Z][A-Za-z]+/);
  });
});

describe('unreachable endpoint', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await configured({ awsEndpointUrl: `http://127.0.0.1:${await freeLoopbackPort()}` });
  });
  it.each(COMMANDS.map((argv) => [argv.join(' '), argv] as const))('%s', async (_name, argv) => {
    const result = await runCli([...argv, '--env', 'dev'], { cwd, env: { WATCHPOINT_AWS_TIMEOUT: '1.5' } });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/Cannot reach .* \(ECONNREFUSED\)/);
    expectFixLast(result.stderr);
  });
});
