// The secrets commands end to end on moto's Parameter Store: the CLI builds its own SSM client from
// the config (awsEndpointUrl → a recording proxy in front of moto), so pagination, error names,
// versions, tags and tiers are the server's, not the test's. Only the AWS failures moto cannot
// produce (AccessDenied, throttling, expired tokens, KMS refusals) are injected, by the proxy, as
// AWS's own wire-format errors.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { checkSecrets } from '../../src/cli/secrets/check.ts';
import { runCli } from '../helpers/cli.ts';
import { motoClient, startMotoRecorder, useMotoCredentials, type MotoRecorder } from '../helpers/moto.ts';
import { MotoSsm, type SecretsEnvs } from './moto-ssm.ts';
import { LIVE_SECRET_KEY, VALUES, direct, writeFileIn } from './helpers.ts';

useMotoCredentials();
let recorder: MotoRecorder;
let ssm: MotoSsm;
let cwd: string;
let envs: SecretsEnvs;
beforeAll(async () => {
  recorder = await startMotoRecorder();
  ssm = new MotoSsm(recorder, 'eu-west-1', 'us-east-2');
});
afterAll(() => recorder.stop());
beforeEach(async () => {
  ({ cwd, envs } = await ssm.project());
});

const path = (env: string, name: string) => `/${env}/watchpoint/${name}`;
async function seedAll(env: string, values: Partial<Record<keyof typeof VALUES, string>> = VALUES): Promise<void> {
  for (const [name, value] of Object.entries(values)) if (value !== undefined) await ssm.seed(path(env, name), value);
  recorder.reset();
}
const putInputs = () => recorder.inputs('PutParameter');

describe('secrets set', () => {
  it('reads stdin, removes one trailing newline and says so, and creates a tagged SecureString', async () => {
    const r = await direct('set', 'database/url', { stdin: true, env: envs.dev }, { cwd, stdin: `${VALUES['database/url']}\n` });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Removed one trailing newline from stdin');
    const put = putInputs()[0]!;
    expect(put).toMatchObject({ Name: path(envs.dev, 'database/url'), Type: 'SecureString', Overwrite: false, Tier: 'Standard', Tags: [{ Key: 'app', Value: 'watchpoint' }, { Key: 'env', Value: envs.dev }] });
    expect(put.KeyId).toBeUndefined();
    expect(await ssm.latest(path(envs.dev, 'database/url'))).toEqual({ value: VALUES['database/url'], version: 1 });
    expect(await ssm.describe(path(envs.dev, 'database/url'))).toMatchObject({ Type: 'SecureString', Tier: 'Standard' });
    expect(await ssm.tags(path(envs.dev, 'database/url'))).toEqual({ app: 'watchpoint', env: envs.dev });
    expect(r.stdout).toContain('version 1');
  });

  it('removes only one trailing newline: a second one makes the value invalid', async () => {
    const r = await direct('set', 'database/url', { stdin: true, env: envs.dev }, { cwd, stdin: `${VALUES['database/url']}\n\n` });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('line break');
    expect(ssm.count('PutParameter')).toBe(0);
  });

  it('refuses an empty value from stdin or --value before any AWS call', async () => {
    expect((await direct('set', 'database/url', { stdin: true, env: envs.dev }, { cwd, stdin: '\n' })).code).toBe(2);
    expect((await direct('set', 'database/url', { value: '', env: envs.dev }, { cwd })).code).toBe(2);
    expect(ssm.calls).toEqual([]);
  });

  it('refuses a value over 8 KB, and uses the Advanced tier above 4 KB', async () => {
    const big = (n: number) => `postgres://u:p@h:5432/db?opt=${'x'.repeat(n)}`;
    const over = await direct('set', 'database/url', { stdin: true, env: envs.dev }, { cwd, stdin: big(8200) });
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/at most 8192 bytes/);
    expect(ssm.calls).toEqual([]);
    const large = await direct('set', 'database/url', { stdin: true, env: envs.dev }, { cwd, stdin: big(5000) });
    expect(large.code).toBe(0);
    expect(putInputs()[0]!.Tier).toBe('Advanced');
    expect(await ssm.describe(path(envs.dev, 'database/url'))).toMatchObject({ Tier: 'Advanced' });
  });

  it('names the closest catalogue entry for an unknown name, and does not echo a name that looks like a value', async () => {
    const r = await runCli(['secrets', 'set', 'database/uri', '--generate', '--env', envs.dev], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"database/uri" is not a WatchPoint secret. Did you mean database/url?');
    const unrelated = await runCli(['secrets', 'set', 'grafana/token', '--generate', '--env', envs.dev], { cwd });
    expect(unrelated.code).toBe(2);
    expect(unrelated.stderr).toContain('"grafana/token" is not a WatchPoint secret.\n');
    expect(unrelated.stderr).not.toContain('Did you mean');
    const pasted = await runCli(['secrets', 'get', LIVE_SECRET_KEY, '--env', envs.dev], { cwd });
    expect(pasted.code).toBe(2);
    expect(pasted.stderr).not.toContain(LIVE_SECRET_KEY);
    expect(ssm.calls).toEqual([]);
  });

  it('rejects a wrong environment before touching AWS', async () => {
    const bad = await runCli(['secrets', 'set', 'auth/session_key', '--generate', '--env', 'Prod!'], { cwd });
    expect(bad.code).toBe(2);
    const unknown = await runCli(['secrets', 'list', '--env', 'nosuchenv'], { cwd });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/nosuchenv/);
    expect(recorder.calls).toEqual([]);
  });

  it('without a terminal and without --stdin/--generate/--value, exits 2 naming the flags', async () => {
    const r = await runCli(['secrets', 'set', 'auth/session_key', '--env', envs.dev], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no terminal');
    expect(r.stderr).toContain('--stdin');
    expect(r.stderr).toContain('--generate');
    expect(ssm.calls).toEqual([]);
  });

  it('asks at a hidden prompt on a terminal', async () => {
    const r = await direct('set', 'forecast/runpod_api_key', { env: envs.dev }, { cwd, interactive: true, answers: [VALUES['forecast/runpod_api_key']] });
    expect(r.code).toBe(0);
    expect(r.io.questions[0]).toMatchObject({ kind: 'secret' });
    expect((await ssm.latest(path(envs.dev, 'forecast/runpod_api_key')))?.value).toBe(VALUES['forecast/runpod_api_key']);
  });

  it('--generate writes 48 random bytes as base64url and never shows them', async () => {
    const bytes = Buffer.alloc(48, 0).map((_, i) => (i * 37 + 11) % 256);
    const expected = Buffer.from(bytes).toString('base64url');
    const r = await direct('set', 'auth/session_key', { generate: true, env: envs.dev }, { cwd, randomBytes: () => Buffer.from(bytes) });
    expect(r.code).toBe(0);
    expect((await ssm.latest(path(envs.dev, 'auth/session_key')))?.value).toBe(expected);
    expect(r.everything).not.toContain(expected);
    const refused = await direct('set', 'billing/stripe_secret_key', { generate: true, env: envs.dev }, { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('cannot be generated');
  });

  it('--value works but warns about shell history', async () => {
    const r = await runCli(['secrets', 'set', 'billing/stripe_webhook_secret', '--value', VALUES['billing/stripe_webhook_secret'], '--env', envs.dev], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('shell history');
    expect((await ssm.latest(path(envs.dev, 'billing/stripe_webhook_secret')))?.value).toBe(VALUES['billing/stripe_webhook_secret']);
  });

  it('refuses two value sources at once', async () => {
    const r = await direct('set', 'auth/session_key', { generate: true, stdin: true, env: envs.dev }, { cwd, stdin: 'x' });
    expect(r.code).toBe(2);
    expect(ssm.calls).toEqual([]);
  });

  it('refuses live Stripe keys outside prod and test keys in prod, unless --force', async () => {
    const dev = await direct('set', 'billing/stripe_secret_key', { stdin: true, env: envs.dev }, { cwd, stdin: LIVE_SECRET_KEY });
    expect(dev.code).toBe(2);
    expect(dev.stderr).toContain('live-mode');
    const prod = await direct('set', 'billing/stripe_secret_key', { stdin: true, env: 'prod' }, { cwd, stdin: VALUES['billing/stripe_secret_key'] });
    expect(prod.code).toBe(2);
    expect(ssm.count('PutParameter')).toBe(0);
    const forced = await direct('set', 'billing/stripe_secret_key', { stdin: true, force: true, env: envs.dev }, { cwd, stdin: LIVE_SECRET_KEY });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('--force');
    const live = await direct('set', 'billing/stripe_secret_key', { stdin: true, env: 'prod' }, { cwd, stdin: LIVE_SECRET_KEY });
    expect(live.code).toBe(0);
    expect((await ssm.latest(path('prod', 'billing/stripe_secret_key')))?.value).toBe(LIVE_SECRET_KEY);
  });

  it('overwriting without a terminal needs --overwrite; with it, keeps history, re-tags and names the previous version', async () => {
    await ssm.seed(path(envs.dev, 'auth/session_key'), VALUES['auth/session_key']);
    recorder.reset();
    const refused = await direct('set', 'auth/session_key', { generate: true, env: envs.dev }, { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--overwrite');
    expect(ssm.count('PutParameter')).toBe(0);
    const r = await direct('set', 'auth/session_key', { generate: true, overwrite: true, env: envs.dev }, { cwd });
    expect(r.code).toBe(0);
    const put = putInputs()[0]!;
    expect(put.Overwrite).toBe(true);
    expect(put.Tags).toBeUndefined();
    expect((await ssm.tags(path(envs.dev, 'auth/session_key'))).env).toBe(envs.dev);
    const values = await ssm.values(path(envs.dev, 'auth/session_key'));
    expect(values).toHaveLength(2);
    expect(values[0]).toBe(VALUES['auth/session_key']);
    expect(r.stdout).toContain('version 2');
    expect(r.stdout).toContain('rollback auth/session_key --to-version 1');
  });

  it('asks before overwriting on a terminal, and writes nothing on "no"', async () => {
    await ssm.seed(path(envs.dev, 'auth/session_key'), VALUES['auth/session_key']);
    recorder.reset();
    const r = await direct('set', 'auth/session_key', { generate: true, env: envs.dev }, { cwd, interactive: true, answers: [false] });
    expect(r.code).toBe(0);
    expect(r.io.questions[0]).toMatchObject({ kind: 'confirm', dangerous: true });
    expect(ssm.count('PutParameter')).toBe(0);
    expect((await ssm.latest(path(envs.dev, 'auth/session_key')))?.version).toBe(1);
  });

  it('keeps an existing customer-managed key and tier, and validates --kms-key-id', async () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    await ssm.seed(path(envs.dev, 'auth/session_key'), VALUES['auth/session_key'], { keyId: key, tier: 'Advanced' });
    recorder.reset();
    expect((await direct('set', 'auth/session_key', { generate: true, overwrite: true, env: envs.dev }, { cwd })).code).toBe(0);
    expect(putInputs()[0]).toMatchObject({ KeyId: key, Tier: 'Advanced' });
    expect(await ssm.describe(path(envs.dev, 'auth/session_key'))).toMatchObject({ KeyId: key, Tier: 'Advanced', Version: 2 });
    const bad = await direct('set', 'database/url', { stdin: true, kmsKeyId: 'my-key', env: envs.dev }, { cwd, stdin: VALUES['database/url'] });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--kms-key-id');
    expect((await direct('set', 'database/url', { stdin: true, kmsKeyId: 'alias/watchpoint', env: envs.dev }, { cwd, stdin: VALUES['database/url'] })).code).toBe(0);
    expect((await ssm.describe(path(envs.dev, 'database/url')))?.KeyId).toBe('alias/watchpoint');
  });

  it('--dry-run prints the PutParameter call without the value and writes nothing', async () => {
    const r = await direct('set', 'database/url', { stdin: true, dryRun: true, env: envs.dev }, { cwd, stdin: VALUES['database/url'] });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ssm:PutParameter');
    expect(r.stdout).toContain('withheld');
    expect(ssm.count('PutParameter')).toBe(0);
    expect(await ssm.latest(path(envs.dev, 'database/url'))).toBeUndefined();
  });

  it('refuses entries managed by another command', async () => {
    const r = await direct('set', 'forecast/runpod_aws_secret_access_key', { stdin: true, env: envs.dev }, { cwd, stdin: 'x'.repeat(40) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('watchpoint runpod rotate-keys');
  });

  it('reports a parameter created meanwhile instead of overwriting it (moto answers ParameterAlreadyExists)', async () => {
    const other = 'postgres://someone:else@db.internal:5432/watchpoint';
    recorder.before('PutParameter', () => ssm.seed(path(envs.dev, 'database/url'), other));
    const r = await direct('set', 'database/url', { stdin: true, env: envs.dev }, { cwd, stdin: VALUES['database/url'] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('created by someone else');
    expect(await ssm.values(path(envs.dev, 'database/url'))).toEqual([other]);
  });
});

describe('secrets list', () => {
  it('shows every entry with version, date and user from one DescribeParameters page, and no values', async () => {
    await ssm.seed(path(envs.dev, 'database/url'), VALUES['database/url']);
    await ssm.seed(path(envs.dev, 'database/url'), `${VALUES['database/url']}2`);
    await ssm.seed(path(envs.dev, 'legacy/thing'), 'legacy-value');
    await ssm.seed(path(envs.oauth, 'database/url'), 'postgres://other/db');
    const lastModified = (await ssm.describe(path(envs.dev, 'database/url')))!.LastModifiedDate!.toISOString().replace(/\.\d{3}Z$/, 'Z');
    recorder.reset();
    const r = await runCli(['secrets', 'list', '--env', envs.dev], { cwd });
    expect(r.code).toBe(0);
    expect(ssm.calls).toEqual(['DescribeParameters']);
    // moto reports LastModifiedUser as "N/A"; the column shows whatever SSM says.
    expect(r.stdout).toMatch(new RegExp(`database/url\\s+set\\s+2\\s+${lastModified}\\s+N/A`));
    expect(r.stdout).toMatch(/billing\/stripe_secret_key\s+MISSING \(required\)/);
    expect(r.stdout).toMatch(/auth\/google_secret\s+missing \(optional\)/);
    expect(r.stderr).toContain(`/${envs.dev}/watchpoint/legacy/thing`);
    expect(r.stdout + r.stderr).not.toContain('S3cretDbPassw0rd');
    expect(r.stdout + r.stderr).not.toContain(envs.oauth);
  });

  it('pages through DescribeParameters when an environment holds more than one page', async () => {
    for (let i = 0; i < 55; i += 1) await ssm.seed(path(envs.dev, `legacy/p${String(i).padStart(2, '0')}`), `v${i}`);
    await ssm.seed(path(envs.dev, 'database/url'), VALUES['database/url']);
    recorder.reset();
    const r = await runCli(['secrets', 'list', '--json', '--env', envs.dev], { cwd });
    expect(r.code).toBe(0);
    expect(ssm.count('DescribeParameters')).toBeGreaterThan(1);
    const json = JSON.parse(r.stdout);
    expect(json.secrets.find((s: { name: string }) => s.name === 'database/url')).toMatchObject({ set: true, version: 1 });
    expect(json.notInCatalogue).toHaveLength(55);
    expect(json.notInCatalogue).toContain(`/${envs.dev}/watchpoint/legacy/p54`);
  });

  it('--json gives the same rows for scripts, and warns about plain String parameters', async () => {
    await ssm.seed(path(envs.oauth, 'auth/google_secret'), VALUES['auth/google_secret'], { type: 'String' });
    recorder.reset();
    const r = await runCli(['secrets', 'list', '--json', '--env', envs.oauth], { cwd });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    const google = json.secrets.find((s: { name: string }) => s.name === 'auth/google_secret');
    expect(google).toMatchObject({ set: true, required: true, version: 1, type: 'String' });
    expect(r.stderr).toContain('not encrypted');
  });
});

describe('secrets check', () => {
  it('passes when every required secret is set and valid, with ⌈entries/10⌉ GetParameters calls', async () => {
    await seedAll(envs.dev);
    const r = await runCli(['secrets', 'check', '--env', envs.dev], { cwd });
    expect(r.code).toBe(0);
    expect(ssm.count('GetParameters')).toBe(2);
    expect(ssm.count('DescribeParameters')).toBe(0);
    for (const input of recorder.inputs('GetParameters')) expect(input.Names.length).toBeLessThanOrEqual(10);
    expect(r.stdout).not.toContain(VALUES['database/url']);
  });

  it('exits 1 naming each missing and invalid secret, never its value', async () => {
    await seedAll(envs.dev, { ...VALUES, 'database/url': 'mysql://nope/db', 'auth/session_key': undefined });
    const r = await runCli(['secrets', 'check', '--json', '--env', envs.dev], { cwd });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    expect(report.failing).toEqual(['auth/session_key', 'database/url']);
    expect(r.stderr).toContain('auth/session_key, database/url');
    expect(r.stdout + r.stderr).not.toContain('mysql://nope/db');
  });

  it('requires the OAuth secrets only where their client IDs are configured', async () => {
    const { 'auth/google_secret': _g, 'auth/github_secret': _h, ...rest } = VALUES;
    await seedAll(envs.oauth, rest);
    const r = await runCli(['secrets', 'check', '--env', envs.oauth, '--json'], { cwd });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).failing).toEqual(['auth/google_secret', 'auth/github_secret']);
    await seedAll(envs.dev, rest);
    expect((await runCli(['secrets', 'check', '--env', envs.dev], { cwd })).code).toBe(0);
  });

  it('fails test-mode Stripe keys in prod (a warning with --force) and mixed modes', async () => {
    await seedAll('prod');
    expect((await runCli(['secrets', 'check', '--env', 'prod'], { cwd })).code).toBe(1);
    const forced = await runCli(['secrets', 'check', '--env', 'prod', '--force'], { cwd });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('test-mode');
    await seedAll(envs.dev, { ...VALUES, 'billing/stripe_secret_key': LIVE_SECRET_KEY });
    const mixed = await checkSecrets({ ssm: motoClient(SSMClient), envName: envs.dev, stage: { region: 'eu-west-1', googleClientId: '', githubClientId: '' }, allowStripeModeMismatch: true });
    expect(mixed.ok).toBe(false);
    expect(mixed.failing).toEqual(['billing/stripe_publishable_key']);
  });

  it('checkSecrets reports without printing and without values, for deploy', async () => {
    await seedAll(envs.dev);
    const report = await checkSecrets({ ssm: motoClient(SSMClient), envName: envs.dev, stage: { region: 'eu-west-1', googleClientId: '', githubClientId: '' } });
    expect(report).toMatchObject({ envName: envs.dev, ok: true, failing: [], calls: 2 });
    expect(JSON.stringify(report)).not.toContain(VALUES['database/url']);
  });

  it('explains AccessDenied, throttling and expired credentials (errors moto cannot produce, injected on the wire)', async () => {
    await seedAll(envs.dev);
    // check sends its GetParameters batches in parallel: every call fails until the next reset.
    recorder.fail('GetParameters', { code: 'AccessDeniedException', message: 'User is not authorized to perform ssm:GetParameters' });
    const denied = await runCli(['secrets', 'check', '--env', envs.dev], { cwd });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(`AWS denied GetParameters on /${envs.dev}/watchpoint/*`);
    recorder.reset();
    recorder.fail('GetParameters', { code: 'AccessDeniedException', message: 'The ciphertext refers to a customer master key that does not exist, or KMS denied kms:Decrypt' });
    expect((await runCli(['secrets', 'check', '--env', envs.dev], { cwd })).stderr).toContain('KMS key');
    recorder.reset();
    recorder.fail('GetParameters', { code: 'ThrottlingException', message: 'Rate exceeded' });
    // The SDK retries throttling with backoff; a 2 s budget per call keeps the test short.
    const throttled = await runCli(['secrets', 'check', '--env', envs.dev], { cwd, env: { WATCHPOINT_AWS_TIMEOUT: '2' } });
    expect(throttled.stderr).toContain('throttling');
    expect(recorder.count('GetParameters')).toBeGreaterThan(2);
    // check's other parallel batch can still be retrying when the first one gives up (each within its
    // own 2 s budget): wait until no GetParameters has arrived for a while, so no late call lands in a
    // later test's counts after reset().
    for (let last = -1; last !== recorder.count('GetParameters'); ) {
      last = recorder.count('GetParameters');
      await new Promise((resolve) => setTimeout(resolve, 2_500));
    }
    recorder.reset();
    recorder.fail('DescribeParameters', { code: 'ExpiredTokenException', message: 'The security token included in the request is expired' });
    const expired = await runCli(['secrets', 'list', '--env', envs.dev], { cwd });
    expect(expired.code).toBe(1);
    expect(expired.stderr).toContain('credentials are missing, expired or invalid');
  });
});

describe('secrets get, history, rollback', () => {
  it('get masks by default and --reveal prints only the value on stdout', async () => {
    await seedAll(envs.dev);
    const masked = await runCli(['secrets', 'get', 'billing/stripe_secret_key', '--env', envs.dev], { cwd });
    expect(masked.code).toBe(0);
    expect(masked.stdout).toMatch(/^billing\/stripe_secret_key: set, version 1, sk_test_… \(\d+ chars, sha256:[0-9a-f]{8}\)\n$/);
    expect(masked.stdout + masked.stderr).not.toContain(VALUES['billing/stripe_secret_key']);
    const revealed = await runCli(['secrets', 'get', 'billing/stripe_secret_key', '--reveal', '--env', envs.dev], { cwd });
    expect(revealed.stdout).toBe(`${VALUES['billing/stripe_secret_key']}\n`);
    expect(revealed.stderr).not.toContain(VALUES['billing/stripe_secret_key']);
  });

  it('get of an unset secret says how to set it', async () => {
    const r = await runCli(['secrets', 'get', 'database/url', '--env', envs.dev], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`/${envs.dev}/watchpoint/database/url is not set`);
    expect(r.stderr).toContain('secrets set');
  });

  it('history lists versions without values unless --reveal', async () => {
    await ssm.seed(path(envs.dev, 'auth/session_key'), VALUES['auth/session_key']);
    await ssm.seed(path(envs.dev, 'auth/session_key'), 'Z'.repeat(10) + VALUES['auth/session_key']);
    recorder.reset();
    const r = await runCli(['secrets', 'history', 'auth/session_key', '--json', '--env', envs.dev], { cwd });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    // SSM's LastModifiedUser, as moto reports it.
    expect(json.versions[0].lastModifiedBy).toBe('N/A');
    expect(r.stdout).not.toContain(VALUES['auth/session_key']);
    expect(ssm.count('GetParameters')).toBe(0);
    expect(recorder.inputs('GetParameterHistory').every((input) => input.WithDecryption !== true)).toBe(true);
    const revealed = await runCli(['secrets', 'history', 'auth/session_key', '--reveal', '--env', envs.dev], { cwd });
    expect(revealed.stdout).toContain(VALUES['auth/session_key']);
    expect(revealed.stdout).toContain('Z'.repeat(10) + VALUES['auth/session_key']);
    expect(revealed.stderr).not.toContain(VALUES['auth/session_key']);
  });

  it('rollback writes the old value as a new version after confirmation; nothing is deleted', async () => {
    const p = path(envs.dev, 'forecast/runpod_api_key');
    await ssm.seed(p, VALUES['forecast/runpod_api_key']);
    await ssm.seed(p, `${VALUES['forecast/runpod_api_key']}NEW`);
    recorder.reset();
    const noTty = await runCli(['secrets', 'rollback', 'forecast/runpod_api_key', '--to-version', '1', '--env', envs.dev], { cwd });
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toContain('--yes');
    expect(ssm.count('PutParameter')).toBe(0);
    const r = await runCli(['secrets', 'rollback', 'forecast/runpod_api_key', '--to-version', '1', '--yes', '--env', envs.dev], { cwd });
    expect(r.code).toBe(0);
    expect(await ssm.values(p)).toEqual([VALUES['forecast/runpod_api_key'], `${VALUES['forecast/runpod_api_key']}NEW`, VALUES['forecast/runpod_api_key']]);
    expect(r.stdout).toContain('written as version 3');
    expect(r.stdout).toContain('--to-version 2');
  });

  it('rollback refuses a bad or unknown version', async () => {
    await ssm.seed(path(envs.dev, 'database/url'), VALUES['database/url']);
    await ssm.seed(path(envs.dev, 'database/url'), `${VALUES['database/url']}x`);
    recorder.reset();
    expect((await runCli(['secrets', 'rollback', 'database/url', '--to-version', 'two', '--yes', '--env', envs.dev], { cwd })).code).toBe(2);
    const missing = await runCli(['secrets', 'rollback', 'database/url', '--to-version', '9', '--yes', '--env', envs.dev], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such version');
    expect(ssm.count('PutParameter')).toBe(0);
    expect((await ssm.latest(path(envs.dev, 'database/url')))?.version).toBe(2);
  });
});

describe('secrets import', () => {
  it('validates every entry, then writes them all (dotenv with aliases)', async () => {
    const file = await writeFileIn(cwd, 'secrets.env', [
      `database/url=${VALUES['database/url']}`,
      `STRIPE_SECRET_KEY=${VALUES['billing/stripe_secret_key']}`,
      `auth/session_key="${VALUES['auth/session_key']}"`,
    ].join('\n'));
    const r = await runCli(['secrets', 'import', '--file', file, '--env', envs.dev], { cwd });
    expect(r.code).toBe(0);
    expect(ssm.count('PutParameter')).toBe(3);
    expect((await ssm.latest(path(envs.dev, 'billing/stripe_secret_key')))?.value).toBe(VALUES['billing/stripe_secret_key']);
    expect((await ssm.latest(path(envs.dev, 'auth/session_key')))?.value).toBe(VALUES['auth/session_key']);
    expect(r.stdout).toContain('Imported 3 secret(s)');
  });

  it('a file with one bad entry writes nothing, and names every problem (not the values)', async () => {
    const file = await writeFileIn(cwd, 'secrets.json', JSON.stringify({
      'database/url': VALUES['database/url'],
      'billing/stripe_secret_kye': VALUES['billing/stripe_secret_key'],
      'auth/session_key': 'short-secret-value',
      'billing/stripe_publishable_key': 'pk_live_51HqLyjWDarjtT1zdpLIVEKEY',
      DATABASE_URL: VALUES['database/url'],
    }));
    const r = await runCli(['secrets', 'import', '--file', file, '--env', envs.dev], { cwd });
    expect(r.code).toBe(2);
    expect(ssm.calls).toEqual([]);
    expect(r.stderr).toContain('did you mean billing/stripe_secret_key');
    expect(r.stderr).toContain('auth/session_key must encode at least 32 random bytes');
    expect(r.stderr).toContain('live-mode');
    expect(r.stderr).toContain('appears twice');
    for (const value of ['short-secret-value', 'pk_live_51HqLyjWDarjtT1zdpLIVEKEY', VALUES['database/url']]) expect(r.stderr).not.toContain(value);
  });

  it('needs --overwrite (or confirmation) to replace existing values', async () => {
    await ssm.seed(path(envs.dev, 'database/url'), VALUES['database/url']);
    recorder.reset();
    const file = await writeFileIn(cwd, 'secrets.env', `database/url=${VALUES['database/url']}x\nforecast/runpod_api_key=${VALUES['forecast/runpod_api_key']}\n`);
    const refused = await runCli(['secrets', 'import', '--file', file, '--env', envs.dev], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('database/url (version 1)');
    expect(ssm.count('PutParameter')).toBe(0);
    const r = await runCli(['secrets', 'import', '--file', file, '--overwrite', '--env', envs.dev], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('previous version 1 kept');
    expect(await ssm.values(path(envs.dev, 'database/url'))).toEqual([VALUES['database/url'], `${VALUES['database/url']}x`]);
  });

  it('says what was and was not written when a write fails midway', async () => {
    const file = await writeFileIn(cwd, 'secrets.env', `database/url=${VALUES['database/url']}\nforecast/runpod_api_key=${VALUES['forecast/runpod_api_key']}\n`);
    recorder.fail('PutParameter', { code: 'AccessDeniedException', message: 'not authorized' }, { when: (body) => body.includes('forecast/runpod_api_key') });
    const r = await runCli(['secrets', 'import', '--file', file, '--env', envs.dev], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Written: database/url. Not written: forecast/runpod_api_key.');
    expect((await ssm.latest(path(envs.dev, 'database/url')))?.value).toBe(VALUES['database/url']);
    expect(await ssm.latest(path(envs.dev, 'forecast/runpod_api_key'))).toBeUndefined();
  });

  it('a parameter created meanwhile stops the import at that entry, with moto\'s own ParameterAlreadyExists', async () => {
    const file = await writeFileIn(cwd, 'secrets.env', `database/url=${VALUES['database/url']}\nforecast/runpod_api_key=${VALUES['forecast/runpod_api_key']}\n`);
    let raced = false;
    recorder.intercept(async (call) => {
      if (raced || call.action !== 'PutParameter' || !call.body.includes('forecast/runpod_api_key')) return;
      raced = true;
      await ssm.seed(path(envs.dev, 'forecast/runpod_api_key'), 'rpa_SOMEONEELSE1234567890secret');
    });
    const r = await runCli(['secrets', 'import', '--file', file, '--env', envs.dev], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Written: database/url. Not written: forecast/runpod_api_key.');
    expect(await ssm.values(path(envs.dev, 'forecast/runpod_api_key'))).toEqual(['rpa_SOMEONEELSE1234567890secret']);
  });

  it('rejects missing and malformed files', async () => {
    expect((await runCli(['secrets', 'import', '--file', 'nope.env', '--env', envs.dev], { cwd })).code).toBe(2);
    const empty = await writeFileIn(cwd, 'empty.env', '# nothing\n');
    expect((await runCli(['secrets', 'import', '--file', empty, '--env', envs.dev], { cwd })).code).toBe(2);
    expect(ssm.calls).toEqual([]);
  });
});
