// Every command and every failure path, with all output captured (stdout, stderr, the formatted
// error, the thrown error inspected with its causes, the questions asked): no secret value may appear.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GetParametersCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { FakeSsm, awsError } from './fake-ssm.ts';
import { LIVE_SECRET_KEY, VALUES, direct, project, writeFileIn, type DirectResult } from './helpers.ts';

const SENTINEL_DB = 'postgres://leaky:Pa55wordSENTINEL@db.example.com:5432/wp';
const SENTINEL_BAD = 'mysql://leaky:Pa55wordSENTINELbad@db.example.com/wp';
const SENTINEL_OLD_BAD = 'old-invalid-SENTINEL-session';
const GENERATED = Buffer.alloc(48, 7).map((_, i) => (i * 91 + 3) % 256);
const GENERATED_VALUE = Buffer.from(GENERATED).toString('base64url');
const ALL_SECRETS = [...Object.values(VALUES), LIVE_SECRET_KEY, SENTINEL_DB, SENTINEL_BAD, SENTINEL_OLD_BAD, GENERATED_VALUE, 'x'.repeat(9000)];

let ssm: FakeSsm;
let cwd: string;
beforeEach(async () => {
  ssm = new FakeSsm();
  cwd = await project();
  for (const [name, value] of Object.entries(VALUES)) ssm.seed(`/dev/watchpoint/${name}`, value);
  ssm.seed('/dev/watchpoint/auth/session_key', SENTINEL_OLD_BAD);
  ssm.seed('/dev/watchpoint/auth/session_key', VALUES['auth/session_key']);
});
afterEach(() => ssm.restore());

const echo = (value: string) => awsError('ValidationException', `1 validation error detected: Value '${value}' at 'value' failed to satisfy constraint`);

type Scenario = [string, () => Promise<DirectResult>];
const scenarios: Scenario[] = [
  ['set --stdin (new)', () => direct('set', 'billing/stripe_webhook_secret', { stdin: true, env: 'prod' }, { cwd, stdin: `${VALUES['billing/stripe_webhook_secret']}\n` })],
  ['set --stdin invalid value', () => direct('set', 'database/url', { stdin: true, overwrite: true }, { cwd, stdin: SENTINEL_BAD })],
  ['set --stdin oversize', () => direct('set', 'database/url', { stdin: true }, { cwd, stdin: 'x'.repeat(9000) })],
  ['set live key outside prod', () => direct('set', 'billing/stripe_secret_key', { stdin: true, overwrite: true }, { cwd, stdin: LIVE_SECRET_KEY })],
  ['set live key outside prod --force', () => direct('set', 'billing/stripe_secret_key', { stdin: true, overwrite: true, force: true }, { cwd, stdin: LIVE_SECRET_KEY })],
  ['set existing without --overwrite', () => direct('set', 'database/url', { stdin: true }, { cwd, stdin: SENTINEL_DB })],
  ['set existing with --overwrite', () => direct('set', 'database/url', { stdin: true, overwrite: true }, { cwd, stdin: SENTINEL_DB })],
  ['set at the hidden prompt', () => direct('set', 'database/url', {}, { cwd, interactive: true, answers: [SENTINEL_DB, true] })],
  ['set --value', () => direct('set', 'database/url', { value: SENTINEL_DB, overwrite: true }, { cwd })],
  ['set --generate', () => direct('set', 'security/admin_api_key', { generate: true, overwrite: true }, { cwd, randomBytes: () => Buffer.from(GENERATED) })],
  ['set --dry-run', () => direct('set', 'database/url', { stdin: true, dryRun: true }, { cwd, stdin: SENTINEL_DB })],
  ['set, AWS echoes the value', async () => {
    ssm.mock.on(PutParameterCommand).rejects(echo(SENTINEL_DB));
    return direct('set', 'database/url', { stdin: true, overwrite: true }, { cwd, stdin: SENTINEL_DB });
  }],
  ['set, AWS error quotes part of the value', async () => {
    ssm.mock.on(PutParameterCommand).rejects(awsError('AccessDeniedException', `denied for input ${SENTINEL_DB.slice(5, 30)}`));
    return direct('set', 'database/url', { stdin: true, overwrite: true }, { cwd, stdin: SENTINEL_DB });
  }],
  ['set, KMS key unusable', async () => {
    ssm.mock.on(PutParameterCommand).rejects(awsError('InvalidKeyId', 'Invalid keyId alias/nope'));
    return direct('set', 'database/url', { stdin: true, overwrite: true, kmsKeyId: 'alias/nope' }, { cwd, stdin: SENTINEL_DB });
  }],
  ['set, a value pasted as the name', () => direct('set', LIVE_SECRET_KEY, { generate: true }, { cwd })],
  ['set, no terminal', () => direct('set', 'database/url', {}, { cwd })],
  ['list', () => direct('list', undefined, {}, { cwd })],
  ['list --json', () => direct('list', undefined, { json: true }, { cwd })],
  ['check', () => direct('check', undefined, {}, { cwd })],
  ['check --json, invalid values', async () => {
    ssm.seed('/dev/watchpoint/database/url', SENTINEL_BAD);
    ssm.seed('/dev/watchpoint/billing/stripe_secret_key', LIVE_SECRET_KEY);
    return direct('check', undefined, { json: true }, { cwd });
  }],
  ['check in prod (test keys refused)', () => direct('check', undefined, { env: 'prod' }, { cwd })],
  ['check, GetParameters fails echoing', async () => {
    ssm.mock.on(GetParametersCommand).rejects(echo(VALUES['database/url']));
    return direct('check', undefined, {}, { cwd });
  }],
  ['get (masked)', () => direct('get', 'database/url', {}, { cwd })],
  ['get, not set', () => direct('get', 'database/url', { env: 'prod' }, { cwd })],
  ['history', () => direct('history', 'auth/session_key', {}, { cwd })],
  ['history --json', () => direct('history', 'auth/session_key', { json: true }, { cwd })],
  ['rollback to an old value that is now invalid', () => direct('rollback', 'auth/session_key', { toVersion: '1', yes: true }, { cwd, interactive: true, answers: [true] })],
  ['rollback --force of an invalid old value, AWS echoes it', async () => {
    ssm.mock.on(PutParameterCommand).rejects(echo(SENTINEL_OLD_BAD));
    return direct('rollback', 'auth/session_key', { toVersion: '1', force: true }, { cwd, interactive: true, answers: [true] });
  }],
  ['rollback --dry-run', () => direct('rollback', 'auth/session_key', { toVersion: '1', force: true, dryRun: true }, { cwd })],
  ['import ok', async () => direct('import', undefined, { file: await writeFileIn(cwd, 'a.env', `database/url=${SENTINEL_DB}\n`), overwrite: true }, { cwd })],
  ['import invalid', async () => direct('import', undefined, { file: await writeFileIn(cwd, 'b.json', JSON.stringify({ 'database/url': SENTINEL_BAD, 'billing/stripe_secret_key': LIVE_SECRET_KEY, [LIVE_SECRET_KEY]: 'x' })) }, { cwd })],
  ['import malformed JSON', async () => direct('import', undefined, { file: await writeFileIn(cwd, 'c.json', `{"database/url": ${SENTINEL_DB}}`) }, { cwd })],
  ['import malformed dotenv', async () => direct('import', undefined, { file: await writeFileIn(cwd, 'd.env', `database/url="${SENTINEL_DB}\n${SENTINEL_BAD}\n`) }, { cwd })],
  ['import, write fails echoing', async () => {
    ssm.mock.on(PutParameterCommand).rejects(echo(SENTINEL_DB));
    return direct('import', undefined, { file: await writeFileIn(cwd, 'e.env', `database/url=${SENTINEL_DB}\n`), overwrite: true }, { cwd });
  }],
  ['import --dry-run', async () => direct('import', undefined, { file: await writeFileIn(cwd, 'f.env', `database/url=${SENTINEL_DB}\n`), dryRun: true }, { cwd })],
];

describe('no secret value ever reaches the output', () => {
  it.each(scenarios)('%s', async (_label, scenario) => {
    const result = await scenario();
    for (const secret of ALL_SECRETS) expect(result.everything, `leaked ${secret.slice(0, 12)}…`).not.toContain(secret);
  });

  it('the sweep covers both success and failure exits', async () => {
    const codes = new Set<number>();
    for (const [, scenario] of scenarios) {
      const before = ssm;
      codes.add((await scenario()).code);
      expect(ssm).toBe(before);
    }
    expect([...codes].sort()).toEqual([0, 1, 2]);
  });

  it('--reveal puts the value on stdout and nowhere else', async () => {
    const get = await direct('get', 'database/url', { reveal: true }, { cwd });
    expect(get.stdout).toBe(VALUES['database/url']);
    expect(get.stderr).not.toContain(VALUES['database/url']);
    const history = await direct('history', 'auth/session_key', { reveal: true }, { cwd });
    expect(history.stdout).toContain(SENTINEL_OLD_BAD);
    expect(history.stdout).toContain(VALUES['auth/session_key']);
    expect(history.stderr).not.toContain(SENTINEL_OLD_BAD);
  });
});
