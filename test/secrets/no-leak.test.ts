// Every command and every failure path, with all output captured (stdout, stderr, the formatted
// error, the thrown error inspected with its causes, the questions asked): no secret value may appear.
// Runs against moto (through a recording proxy, test/helpers/moto.ts); the AWS errors that echo a
// value (as SSM's validation errors do) are injected by the proxy in AWS's wire format.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMotoRecorder, useMotoCredentials, type MotoRecorder } from '../helpers/moto.ts';
import { MotoSsm, type SecretsEnvs } from './moto-ssm.ts';
import { LIVE_SECRET_KEY, VALUES, direct, writeFileIn, type DirectResult } from './helpers.ts';

const SENTINEL_DB = 'postgres://leaky:Pa55wordSENTINEL@db.example.com:5432/wp';
const SENTINEL_BAD = 'mysql://leaky:Pa55wordSENTINELbad@db.example.com/wp';
const SENTINEL_OLD_BAD = 'old-invalid-SENTINEL-session';
const GENERATED = Buffer.alloc(48, 7).map((_, i) => (i * 91 + 3) % 256);
const GENERATED_VALUE = Buffer.from(GENERATED).toString('base64url');
const ALL_SECRETS = [...Object.values(VALUES), LIVE_SECRET_KEY, SENTINEL_DB, SENTINEL_BAD, SENTINEL_OLD_BAD, GENERATED_VALUE, 'x'.repeat(9000)];

useMotoCredentials();
let recorder: MotoRecorder;
let ssm: MotoSsm;
let cwd: string;
let envs: SecretsEnvs;
let dev: string;
beforeAll(async () => {
  recorder = await startMotoRecorder();
  ssm = new MotoSsm(recorder, 'eu-west-1', 'ap-southeast-2');
});
afterAll(() => recorder.stop());
beforeEach(async () => {
  ({ cwd, envs } = await ssm.project());
  dev = envs.dev;
  for (const [name, value] of Object.entries(VALUES)) await ssm.seed(`/${dev}/watchpoint/${name}`, value);
  await ssm.seed(`/${dev}/watchpoint/auth/session_key`, SENTINEL_OLD_BAD);
  await ssm.seed(`/${dev}/watchpoint/auth/session_key`, VALUES['auth/session_key']);
  recorder.reset();
});

const echo = (value: string) => ({ code: 'ValidationException', message: `1 validation error detected: Value '${value}' at 'value' failed to satisfy constraint` });

type Scenario = [string, () => Promise<DirectResult>];

async function invalidOldVersion(): Promise<void> {
  await ssm.seed(`/${dev}/watchpoint/database/url`, SENTINEL_BAD);
  await ssm.seed(`/${dev}/watchpoint/database/url`, SENTINEL_DB);
}
const scenarios: Scenario[] = [
  ['set --stdin (new)', () => direct('set', 'billing/stripe_webhook_secret', { stdin: true, env: 'prod' }, { cwd, stdin: `${VALUES['billing/stripe_webhook_secret']}\n` })],
  ['set --stdin invalid value', () => direct('set', 'database/url', { stdin: true, overwrite: true, env: dev }, { cwd, stdin: SENTINEL_BAD })],
  ['set --stdin oversize', () => direct('set', 'database/url', { stdin: true, env: dev }, { cwd, stdin: 'x'.repeat(9000) })],
  ['set live key outside prod', () => direct('set', 'billing/stripe_secret_key', { stdin: true, overwrite: true, env: dev }, { cwd, stdin: LIVE_SECRET_KEY })],
  ['set live key outside prod --force', () => direct('set', 'billing/stripe_secret_key', { stdin: true, overwrite: true, force: true, env: dev }, { cwd, stdin: LIVE_SECRET_KEY })],
  ['set existing without --overwrite', () => direct('set', 'database/url', { stdin: true, env: dev }, { cwd, stdin: SENTINEL_DB })],
  ['set existing with --overwrite', () => direct('set', 'database/url', { stdin: true, overwrite: true, env: dev }, { cwd, stdin: SENTINEL_DB })],
  // The replace confirmation comes first, then the hidden prompt.
  ['set at the hidden prompt', () => direct('set', 'database/url', { env: dev }, { cwd, interactive: true, answers: [true, SENTINEL_DB] })],
  ['set --value', () => direct('set', 'database/url', { value: SENTINEL_DB, overwrite: true, env: dev }, { cwd })],
  ['set --generate', () => direct('set', 'security/admin_api_key', { generate: true, overwrite: true, env: dev }, { cwd, randomBytes: () => Buffer.from(GENERATED) })],
  ['set --dry-run', () => direct('set', 'database/url', { stdin: true, dryRun: true, env: dev }, { cwd, stdin: SENTINEL_DB })],
  ['set, AWS echoes the value', async () => {
    recorder.fail('PutParameter', echo(SENTINEL_DB));
    return direct('set', 'database/url', { stdin: true, overwrite: true, env: dev }, { cwd, stdin: SENTINEL_DB });
  }],
  ['set, AWS error quotes part of the value', async () => {
    recorder.fail('PutParameter', { code: 'AccessDeniedException', message: `denied for input ${SENTINEL_DB.slice(5, 30)}` });
    return direct('set', 'database/url', { stdin: true, overwrite: true, env: dev }, { cwd, stdin: SENTINEL_DB });
  }],
  ['set, KMS key unusable', async () => {
    recorder.fail('PutParameter', { code: 'InvalidKeyId', message: 'Invalid keyId alias/nope' });
    return direct('set', 'database/url', { stdin: true, overwrite: true, kmsKeyId: 'alias/nope', env: dev }, { cwd, stdin: SENTINEL_DB });
  }],
  ['set, a value pasted as the name', () => direct('set', LIVE_SECRET_KEY, { generate: true, env: dev }, { cwd })],
  ['set, no terminal', () => direct('set', 'database/url', { env: dev }, { cwd })],
  ['list', () => direct('list', undefined, { env: dev }, { cwd })],
  ['list --json', () => direct('list', undefined, { json: true, env: dev }, { cwd })],
  ['check', () => direct('check', undefined, { env: dev }, { cwd })],
  ['check --json, invalid values', async () => {
    await ssm.seed(`/${dev}/watchpoint/database/url`, SENTINEL_BAD);
    await ssm.seed(`/${dev}/watchpoint/billing/stripe_secret_key`, LIVE_SECRET_KEY);
    return direct('check', undefined, { json: true, env: dev }, { cwd });
  }],
  ['check in prod (test keys refused)', () => direct('check', undefined, { env: 'prod' }, { cwd })],
  ['check, GetParameters fails echoing', async () => {
    recorder.fail('GetParameters', echo(VALUES['database/url']));
    return direct('check', undefined, { env: dev }, { cwd });
  }],
  ['get (masked)', () => direct('get', 'database/url', { env: dev }, { cwd })],
  ['get, not set', () => direct('get', 'database/url', { env: 'prod' }, { cwd })],
  ['history', () => direct('history', 'auth/session_key', { env: dev }, { cwd })],
  ['history --json', () => direct('history', 'auth/session_key', { json: true, env: dev }, { cwd })],
  // database/url: version 2 holds a value its schema refuses (a MySQL URL), version 3 a good one.
  ['rollback to an old value that is now invalid', async () => {
    await invalidOldVersion();
    return direct('rollback', 'database/url', { toVersion: '2', yes: true, env: dev }, { cwd, interactive: true, answers: [true] });
  }],
  // --force lets through only a Stripe mode mismatch: version 2 holds a live key outside prod.
  ['rollback --force of an invalid old value, AWS echoes it', async () => {
    await ssm.seed(`/${dev}/watchpoint/billing/stripe_secret_key`, LIVE_SECRET_KEY);
    await ssm.seed(`/${dev}/watchpoint/billing/stripe_secret_key`, VALUES['billing/stripe_secret_key']!);
    recorder.fail('PutParameter', echo(LIVE_SECRET_KEY));
    return direct('rollback', 'billing/stripe_secret_key', { toVersion: '2', force: true, env: dev }, { cwd, interactive: true, answers: [true] });
  }],
  ['rollback --dry-run', () => direct('rollback', 'auth/session_key', { toVersion: '1', force: true, dryRun: true, env: dev }, { cwd })],
  ['import ok', async () => direct('import', undefined, { file: await writeFileIn(cwd, 'a.env', `database/url=${SENTINEL_DB}\n`), overwrite: true, env: dev }, { cwd })],
  ['import invalid', async () => direct('import', undefined, { file: await writeFileIn(cwd, 'b.json', JSON.stringify({ 'database/url': SENTINEL_BAD, 'billing/stripe_secret_key': LIVE_SECRET_KEY, [LIVE_SECRET_KEY]: 'x' })), env: dev }, { cwd })],
  ['import malformed JSON', async () => direct('import', undefined, { file: await writeFileIn(cwd, 'c.json', `{"database/url": ${SENTINEL_DB}}`), env: dev }, { cwd })],
  ['import malformed dotenv', async () => direct('import', undefined, { file: await writeFileIn(cwd, 'd.env', `database/url="${SENTINEL_DB}\n${SENTINEL_BAD}\n`), env: dev }, { cwd })],
  ['import, write fails echoing', async () => {
    recorder.fail('PutParameter', echo(SENTINEL_DB));
    return direct('import', undefined, { file: await writeFileIn(cwd, 'e.env', `database/url=${SENTINEL_DB}\n`), overwrite: true, env: dev }, { cwd });
  }],
  ['import --dry-run', async () => direct('import', undefined, { file: await writeFileIn(cwd, 'f.env', `database/url=${SENTINEL_DB}\n`), dryRun: true, env: dev }, { cwd })],
];

/**
 * Each scenario's exit code: a scenario that fails before the step it is about (and so prints no
 * secret because it never got there) fails here instead of passing.
 */
const EXIT: Record<string, number> = {
  'set --stdin (new)': 0,
  'set --stdin invalid value': 2,
  'set --stdin oversize': 2,
  'set live key outside prod': 2,
  'set live key outside prod --force': 0,
  'set existing without --overwrite': 2,
  'set existing with --overwrite': 0,
  'set at the hidden prompt': 0,
  'set --value': 0,
  'set --generate': 0,
  'set --dry-run': 0,
  'set, AWS echoes the value': 1,
  'set, AWS error quotes part of the value': 1,
  'set, KMS key unusable': 1,
  'set, a value pasted as the name': 2,
  'set, no terminal': 2,
  'list': 0,
  'list --json': 0,
  'check': 0,
  'check --json, invalid values': 1,
  'check in prod (test keys refused)': 1,
  'check, GetParameters fails echoing': 1,
  'get (masked)': 0,
  'get, not set': 1,
  'history': 0,
  'history --json': 0,
  'rollback to an old value that is now invalid': 2,
  'rollback --force of an invalid old value, AWS echoes it': 1,
  'rollback --dry-run': 0,
  'import ok': 0,
  'import invalid': 2,
  'import malformed JSON': 2,
  'import malformed dotenv': 2,
  'import, write fails echoing': 1,
  'import --dry-run': 0,
};

/** Scenarios whose AWS error echoes a value: the echo must really have been served to the CLI. */
const ECHOES: Record<string, { action: string; value: string }> = {
  'set, AWS echoes the value': { action: 'PutParameter', value: SENTINEL_DB },
  'set, AWS error quotes part of the value': { action: 'PutParameter', value: SENTINEL_DB.slice(5, 30) },
  'check, GetParameters fails echoing': { action: 'GetParameters', value: VALUES['database/url']! },
  'rollback --force of an invalid old value, AWS echoes it': { action: 'PutParameter', value: LIVE_SECRET_KEY },
  'import, write fails echoing': { action: 'PutParameter', value: SENTINEL_DB },
};

describe('no secret value ever reaches the output', () => {
  it('every scenario has its exit code, and each echo names a scenario', () => {
    expect(Object.keys(EXIT).sort()).toEqual(scenarios.map(([label]) => label).sort());
    for (const label of Object.keys(ECHOES)) expect(scenarios.map(([name]) => name)).toContain(label);
  });

  it.each(scenarios)('%s', async (label, scenario) => {
    const result = await scenario();
    for (const secret of ALL_SECRETS) expect(result.everything, `leaked ${secret.slice(0, 12)}…`).not.toContain(secret);
    expect(result.code, result.everything.slice(0, 2000)).toBe(EXIT[label]);
    const echo = ECHOES[label];
    if (echo) {
      // The value reached the CLI inside AWS's answer, and it still did not come out.
      expect(recorder.calls.filter((call) => call.action === echo.action && call.response?.includes(echo.value))).not.toEqual([]);
    }
  });

  it('the sweep covers both success and failure exits', async () => {
    const codes = new Set<number>();
    for (const [, scenario] of scenarios) {
      codes.add((await scenario()).code);
      // An injected failure belongs to its scenario only.
      recorder.reset();
    }
    expect([...codes].sort()).toEqual([0, 1, 2]);
  });

  it('--reveal puts the value on stdout and nowhere else', async () => {
    const get = await direct('get', 'database/url', { reveal: true, env: dev }, { cwd });
    expect(get.stdout).toBe(VALUES['database/url']);
    expect(get.stderr).not.toContain(VALUES['database/url']);
    const history = await direct('history', 'auth/session_key', { reveal: true, env: dev }, { cwd });
    expect(history.stdout).toContain(SENTINEL_OLD_BAD);
    expect(history.stdout).toContain(VALUES['auth/session_key']);
    expect(history.stderr).not.toContain(SENTINEL_OLD_BAD);
  });
});
