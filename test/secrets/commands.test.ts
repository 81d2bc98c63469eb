import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PutParameterCommand, GetParametersCommand, DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { checkSecrets } from '../../src/cli/secrets/check.ts';
import { runCli } from '../helpers/cli.ts';
import { FakeSsm, awsError } from './fake-ssm.ts';
import { LIVE_SECRET_KEY, VALUES, direct, project, writeFileIn } from './helpers.ts';

let ssm: FakeSsm;
beforeEach(() => {
  ssm = new FakeSsm();
});
afterEach(() => ssm.restore());

const path = (env: string, name: string) => `/${env}/watchpoint/${name}`;
function seedAll(env: string, values: Record<string, string> = VALUES): void {
  for (const [name, value] of Object.entries(values)) ssm.seed(path(env, name), value);
}

describe('secrets set', () => {
  it('reads stdin, removes one trailing newline and says so, and creates a tagged SecureString', async () => {
    const cwd = await project();
    const r = await direct('set', 'database/url', { stdin: true }, { cwd, stdin: `${VALUES['database/url']}\n` });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Removed one trailing newline from stdin');
    const put = ssm.mock.commandCalls(PutParameterCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ Name: '/dev/watchpoint/database/url', Type: 'SecureString', Overwrite: false, Tier: 'Standard', Tags: [{ Key: 'app', Value: 'watchpoint' }, { Key: 'env', Value: 'dev' }] });
    expect(put.KeyId).toBeUndefined();
    expect(ssm.latest(path('dev', 'database/url'))?.value).toBe(VALUES['database/url']);
    expect(r.stdout).toContain('version 1');
  });

  it('removes only one trailing newline: a second one makes the value invalid', async () => {
    const cwd = await project();
    const r = await direct('set', 'database/url', { stdin: true }, { cwd, stdin: `${VALUES['database/url']}\n\n` });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('line break');
    expect(ssm.count('PutParameter')).toBe(0);
  });

  it('refuses an empty value from stdin or --value before any AWS call', async () => {
    const cwd = await project();
    expect((await direct('set', 'database/url', { stdin: true }, { cwd, stdin: '\n' })).code).toBe(2);
    expect((await direct('set', 'database/url', { value: '' }, { cwd })).code).toBe(2);
    expect(ssm.calls).toEqual([]);
  });

  it('refuses a value over 8 KB, and uses the Advanced tier above 4 KB', async () => {
    const cwd = await project();
    const big = (n: number) => `postgres://u:p@h:5432/db?opt=${'x'.repeat(n)}`;
    const over = await direct('set', 'database/url', { stdin: true }, { cwd, stdin: big(8200) });
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/at most 8192 bytes/);
    expect(ssm.calls).toEqual([]);
    const large = await direct('set', 'database/url', { stdin: true }, { cwd, stdin: big(5000) });
    expect(large.code).toBe(0);
    expect(ssm.mock.commandCalls(PutParameterCommand)[0]!.args[0].input.Tier).toBe('Advanced');
  });

  it('names the closest catalogue entry for an unknown name, and does not echo a name that looks like a value', async () => {
    const cwd = await project();
    const r = await runCli(['secrets', 'set', 'database/uri', '--generate'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"database/uri" is not a WatchPoint secret. Did you mean database/url?');
    const pasted = await runCli(['secrets', 'get', LIVE_SECRET_KEY], { cwd });
    expect(pasted.code).toBe(2);
    expect(pasted.stderr).not.toContain(LIVE_SECRET_KEY);
    expect(ssm.calls).toEqual([]);
  });

  it('rejects a wrong environment before touching AWS', async () => {
    const cwd = await project();
    const bad = await runCli(['secrets', 'set', 'auth/session_key', '--generate', '--env', 'Prod!'], { cwd });
    expect(bad.code).toBe(2);
    const unknown = await runCli(['secrets', 'list', '--env', 'nosuchenv'], { cwd });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/nosuchenv/);
    expect(ssm.calls).toEqual([]);
  });

  it('without a terminal and without --stdin/--generate/--value, exits 2 naming the flags', async () => {
    const cwd = await project();
    const r = await runCli(['secrets', 'set', 'auth/session_key'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no terminal');
    expect(r.stderr).toContain('--stdin');
    expect(r.stderr).toContain('--generate');
    expect(ssm.calls).toEqual([]);
  });

  it('asks at a hidden prompt on a terminal', async () => {
    const cwd = await project();
    const r = await direct('set', 'forecast/runpod_api_key', {}, { cwd, interactive: true, answers: [VALUES['forecast/runpod_api_key']] });
    expect(r.code).toBe(0);
    expect(r.io.questions[0]).toMatchObject({ kind: 'secret' });
    expect(ssm.latest(path('dev', 'forecast/runpod_api_key'))?.value).toBe(VALUES['forecast/runpod_api_key']);
  });

  it('--generate writes 48 random bytes as base64url and never shows them', async () => {
    const cwd = await project();
    const bytes = Buffer.alloc(48, 0).map((_, i) => (i * 37 + 11) % 256);
    const expected = Buffer.from(bytes).toString('base64url');
    const r = await direct('set', 'auth/session_key', { generate: true }, { cwd, randomBytes: () => Buffer.from(bytes) });
    expect(r.code).toBe(0);
    expect(ssm.latest(path('dev', 'auth/session_key'))?.value).toBe(expected);
    expect(r.everything).not.toContain(expected);
    const refused = await direct('set', 'billing/stripe_secret_key', { generate: true }, { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('cannot be generated');
  });

  it('--value works but warns about shell history', async () => {
    const cwd = await project();
    const r = await direct('set', 'billing/stripe_webhook_secret', { value: VALUES['billing/stripe_webhook_secret'] }, { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('shell history');
  });

  it('refuses two value sources at once', async () => {
    const cwd = await project();
    const r = await direct('set', 'auth/session_key', { generate: true, stdin: true }, { cwd, stdin: 'x' });
    expect(r.code).toBe(2);
    expect(ssm.calls).toEqual([]);
  });

  it('refuses live Stripe keys outside prod and test keys in prod, unless --force', async () => {
    const cwd = await project();
    const dev = await direct('set', 'billing/stripe_secret_key', { stdin: true }, { cwd, stdin: LIVE_SECRET_KEY });
    expect(dev.code).toBe(2);
    expect(dev.stderr).toContain('live-mode');
    const prod = await direct('set', 'billing/stripe_secret_key', { stdin: true, env: 'prod' }, { cwd, stdin: VALUES['billing/stripe_secret_key'] });
    expect(prod.code).toBe(2);
    expect(ssm.count('PutParameter')).toBe(0);
    const forced = await direct('set', 'billing/stripe_secret_key', { stdin: true, force: true }, { cwd, stdin: LIVE_SECRET_KEY });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('--force');
    const live = await direct('set', 'billing/stripe_secret_key', { stdin: true, env: 'prod' }, { cwd, stdin: LIVE_SECRET_KEY });
    expect(live.code).toBe(0);
  });

  it('overwriting without a terminal needs --overwrite; with it, keeps history, re-tags and names the previous version', async () => {
    const cwd = await project();
    ssm.seed(path('dev', 'auth/session_key'), VALUES['auth/session_key']);
    const refused = await direct('set', 'auth/session_key', { generate: true }, { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--overwrite');
    expect(ssm.count('PutParameter')).toBe(0);
    const r = await direct('set', 'auth/session_key', { generate: true, overwrite: true }, { cwd });
    expect(r.code).toBe(0);
    const put = ssm.mock.commandCalls(PutParameterCommand)[0]!.args[0].input;
    expect(put.Overwrite).toBe(true);
    expect(put.Tags).toBeUndefined();
    expect(ssm.tags.get(path('dev', 'auth/session_key'))?.get('env')).toBe('dev');
    expect(ssm.parameters.get(path('dev', 'auth/session_key'))).toHaveLength(2);
    expect(r.stdout).toContain('version 2');
    expect(r.stdout).toContain('rollback auth/session_key --to-version 1');
  });

  it('asks before overwriting on a terminal, and writes nothing on "no"', async () => {
    const cwd = await project();
    ssm.seed(path('dev', 'auth/session_key'), VALUES['auth/session_key']);
    const r = await direct('set', 'auth/session_key', { generate: true }, { cwd, interactive: true, answers: [false] });
    expect(r.code).toBe(0);
    expect(r.io.questions[0]).toMatchObject({ kind: 'confirm', dangerous: true });
    expect(ssm.count('PutParameter')).toBe(0);
  });

  it('keeps an existing customer-managed key and tier, and validates --kms-key-id', async () => {
    const cwd = await project();
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    ssm.seed(path('dev', 'auth/session_key'), VALUES['auth/session_key'], { keyId: key, tier: 'Advanced' });
    expect((await direct('set', 'auth/session_key', { generate: true, overwrite: true }, { cwd })).code).toBe(0);
    expect(ssm.mock.commandCalls(PutParameterCommand)[0]!.args[0].input).toMatchObject({ KeyId: key, Tier: 'Advanced' });
    const bad = await direct('set', 'database/url', { stdin: true, kmsKeyId: 'my-key' }, { cwd, stdin: VALUES['database/url'] });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--kms-key-id');
    expect((await direct('set', 'database/url', { stdin: true, kmsKeyId: 'alias/watchpoint' }, { cwd, stdin: VALUES['database/url'] })).code).toBe(0);
    expect(ssm.latest(path('dev', 'database/url'))?.keyId).toBe('alias/watchpoint');
  });

  it('--dry-run prints the PutParameter call without the value and writes nothing', async () => {
    const cwd = await project();
    const r = await direct('set', 'database/url', { stdin: true, dryRun: true }, { cwd, stdin: VALUES['database/url'] });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ssm:PutParameter');
    expect(r.stdout).toContain('withheld');
    expect(ssm.count('PutParameter')).toBe(0);
  });

  it('refuses entries managed by another command', async () => {
    const cwd = await project();
    const r = await direct('set', 'forecast/runpod_aws_secret_access_key', { stdin: true }, { cwd, stdin: 'x'.repeat(40) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('watchpoint runpod rotate-keys');
  });

  it('reports a parameter created meanwhile instead of overwriting it', async () => {
    const cwd = await project();
    ssm.mock.on(PutParameterCommand).rejects(awsError('ParameterAlreadyExists', 'The parameter already exists.'));
    const r = await direct('set', 'database/url', { stdin: true }, { cwd, stdin: VALUES['database/url'] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('created by someone else');
  });
});

describe('secrets list', () => {
  it('shows every entry with version, date and user from one DescribeParameters page, and no values', async () => {
    const cwd = await project();
    ssm.seed(path('dev', 'database/url'), VALUES['database/url']);
    ssm.seed(path('dev', 'database/url'), `${VALUES['database/url']}2`);
    ssm.seed(path('dev', 'legacy/thing'), 'legacy-value');
    ssm.seed(path('prod', 'database/url'), 'postgres://prod/db');
    const r = await runCli(['secrets', 'list'], { cwd });
    expect(r.code).toBe(0);
    expect(ssm.calls).toEqual(['DescribeParameters']);
    expect(r.stdout).toMatch(/database\/url\s+set\s+2\s+2026-01-02T00:00:00Z\s+arn:aws:iam::123456789012:user\/ops/);
    expect(r.stdout).toMatch(/billing\/stripe_secret_key\s+MISSING \(required\)/);
    expect(r.stdout).toMatch(/auth\/google_secret\s+missing \(optional\)/);
    expect(r.stderr).toContain('/dev/watchpoint/legacy/thing');
    expect(r.stdout + r.stderr).not.toContain('S3cretDbPassw0rd');
  });

  it('--json gives the same rows for scripts, and warns about plain String parameters', async () => {
    const cwd = await project();
    ssm.seed(path('oauth', 'auth/google_secret'), VALUES['auth/google_secret'], { type: 'String' });
    const r = await runCli(['secrets', 'list', '--json', '--env', 'oauth'], { cwd });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    const google = json.secrets.find((s: { name: string }) => s.name === 'auth/google_secret');
    expect(google).toMatchObject({ set: true, required: true, version: 1, type: 'String' });
    expect(r.stderr).toContain('not encrypted');
  });
});

describe('secrets check', () => {
  it('passes when every required secret is set and valid, with ⌈entries/10⌉ GetParameters calls', async () => {
    const cwd = await project();
    seedAll('dev');
    const r = await runCli(['secrets', 'check'], { cwd });
    expect(r.code).toBe(0);
    expect(ssm.count('GetParameters')).toBe(2);
    expect(ssm.count('DescribeParameters')).toBe(0);
    for (const call of ssm.mock.commandCalls(GetParametersCommand)) expect(call.args[0].input.Names!.length).toBeLessThanOrEqual(10);
    expect(r.stdout).not.toContain(VALUES['database/url']);
  });

  it('exits 1 naming each missing and invalid secret, never its value', async () => {
    const cwd = await project();
    seedAll('dev', { ...VALUES, 'database/url': 'mysql://nope/db', 'auth/session_key': undefined as unknown as string });
    ssm.parameters.delete(path('dev', 'auth/session_key'));
    const r = await runCli(['secrets', 'check', '--json'], { cwd });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(false);
    expect(report.failing).toEqual(['auth/session_key', 'database/url']);
    expect(r.stderr).toContain('auth/session_key, database/url');
    expect(r.stdout + r.stderr).not.toContain('mysql://nope/db');
  });

  it('requires the OAuth secrets only where their client IDs are configured', async () => {
    const cwd = await project();
    const { 'auth/google_secret': _g, 'auth/github_secret': _h, ...rest } = VALUES;
    seedAll('oauth', rest);
    const r = await runCli(['secrets', 'check', '--env', 'oauth', '--json'], { cwd });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).failing).toEqual(['auth/google_secret', 'auth/github_secret']);
    seedAll('dev', rest);
    expect((await runCli(['secrets', 'check'], { cwd })).code).toBe(0);
  });

  it('fails test-mode Stripe keys in prod (a warning with --force) and mixed modes', async () => {
    const cwd = await project();
    seedAll('prod');
    expect((await runCli(['secrets', 'check', '--env', 'prod'], { cwd })).code).toBe(1);
    const forced = await runCli(['secrets', 'check', '--env', 'prod', '--force'], { cwd });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain('test-mode');
    seedAll('dev', { ...VALUES, 'billing/stripe_secret_key': LIVE_SECRET_KEY });
    const mixed = await checkSecrets({ ssm: new SSMClient({ region: 'eu-west-1' }), envName: 'dev', stage: { region: 'eu-west-1', googleClientId: '', githubClientId: '' }, allowStripeModeMismatch: true });
    expect(mixed.ok).toBe(false);
    expect(mixed.failing).toEqual(['billing/stripe_publishable_key']);
  });

  it('checkSecrets reports without printing and without values, for deploy', async () => {
    seedAll('dev');
    const report = await checkSecrets({ ssm: new SSMClient({ region: 'eu-west-1' }), envName: 'dev', stage: { region: 'eu-west-1', googleClientId: '', githubClientId: '' } });
    expect(report).toMatchObject({ envName: 'dev', ok: true, failing: [], calls: 2 });
    expect(JSON.stringify(report)).not.toContain(VALUES['database/url']);
  });

  it('explains AccessDenied, throttling and expired credentials', async () => {
    const cwd = await project();
    ssm.mock.on(GetParametersCommand).rejects(awsError('AccessDeniedException', 'User is not authorized to perform ssm:GetParameters'));
    const denied = await runCli(['secrets', 'check'], { cwd });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('AWS denied GetParameters on /dev/watchpoint/*');
    ssm.mock.on(GetParametersCommand).rejects(awsError('AccessDeniedException', 'The ciphertext refers to a customer master key that does not exist, or KMS denied kms:Decrypt'));
    expect((await runCli(['secrets', 'check'], { cwd })).stderr).toContain('KMS key');
    ssm.mock.on(GetParametersCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    expect((await runCli(['secrets', 'check'], { cwd })).stderr).toContain('throttling');
    ssm.mock.on(DescribeParametersCommand).rejects(awsError('ExpiredTokenException', 'The security token included in the request is expired'));
    const expired = await runCli(['secrets', 'list'], { cwd });
    expect(expired.code).toBe(1);
    expect(expired.stderr).toContain('credentials are missing, expired or invalid');
  });
});

describe('secrets get, history, rollback', () => {
  it('get masks by default and --reveal prints only the value on stdout', async () => {
    const cwd = await project();
    seedAll('dev');
    const masked = await runCli(['secrets', 'get', 'billing/stripe_secret_key'], { cwd });
    expect(masked.code).toBe(0);
    expect(masked.stdout).toMatch(/^billing\/stripe_secret_key: set, version 1, sk_test_… \(\d+ chars, sha256:[0-9a-f]{8}\)\n$/);
    expect(masked.stdout + masked.stderr).not.toContain(VALUES['billing/stripe_secret_key']);
    const revealed = await runCli(['secrets', 'get', 'billing/stripe_secret_key', '--reveal'], { cwd });
    expect(revealed.stdout).toBe(`${VALUES['billing/stripe_secret_key']}\n`);
    expect(revealed.stderr).not.toContain(VALUES['billing/stripe_secret_key']);
  });

  it('get of an unset secret says how to set it', async () => {
    const cwd = await project();
    const r = await runCli(['secrets', 'get', 'database/url'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/dev/watchpoint/database/url is not set');
    expect(r.stderr).toContain('secrets set');
  });

  it('history lists versions without values unless --reveal', async () => {
    const cwd = await project();
    ssm.seed(path('dev', 'auth/session_key'), VALUES['auth/session_key']);
    ssm.seed(path('dev', 'auth/session_key'), 'Z'.repeat(10) + VALUES['auth/session_key'], { user: 'arn:aws:iam::123456789012:user/alice' });
    const r = await runCli(['secrets', 'history', 'auth/session_key', '--json'], { cwd });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(json.versions[0].lastModifiedBy).toContain('alice');
    expect(r.stdout).not.toContain(VALUES['auth/session_key']);
    expect(ssm.mock.commandCalls(GetParametersCommand)).toHaveLength(0);
    const revealed = await runCli(['secrets', 'history', 'auth/session_key', '--reveal'], { cwd });
    expect(revealed.stdout).toContain(VALUES['auth/session_key']);
    expect(revealed.stderr).not.toContain(VALUES['auth/session_key']);
  });

  it('rollback writes the old value as a new version after confirmation; nothing is deleted', async () => {
    const cwd = await project();
    const p = path('dev', 'forecast/runpod_api_key');
    ssm.seed(p, VALUES['forecast/runpod_api_key']);
    ssm.seed(p, `${VALUES['forecast/runpod_api_key']}NEW`);
    const noTty = await runCli(['secrets', 'rollback', 'forecast/runpod_api_key', '--to-version', '1'], { cwd });
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toContain('--yes');
    const r = await runCli(['secrets', 'rollback', 'forecast/runpod_api_key', '--to-version', '1', '--yes'], { cwd });
    expect(r.code).toBe(0);
    expect(ssm.parameters.get(p)!.map((v) => v.value)).toEqual([VALUES['forecast/runpod_api_key'], `${VALUES['forecast/runpod_api_key']}NEW`, VALUES['forecast/runpod_api_key']]);
    expect(r.stdout).toContain('written as version 3');
    expect(r.stdout).toContain('--to-version 2');
  });

  it('rollback refuses a bad or unknown version', async () => {
    const cwd = await project();
    ssm.seed(path('dev', 'database/url'), VALUES['database/url']);
    ssm.seed(path('dev', 'database/url'), `${VALUES['database/url']}x`);
    expect((await runCli(['secrets', 'rollback', 'database/url', '--to-version', 'two', '--yes'], { cwd })).code).toBe(2);
    const missing = await runCli(['secrets', 'rollback', 'database/url', '--to-version', '9', '--yes'], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such version');
    expect(ssm.count('PutParameter')).toBe(0);
  });
});

describe('secrets import', () => {
  it('validates every entry, then writes them all (dotenv with aliases)', async () => {
    const cwd = await project();
    const file = await writeFileIn(cwd, 'secrets.env', [
      `database/url=${VALUES['database/url']}`,
      `STRIPE_SECRET_KEY=${VALUES['billing/stripe_secret_key']}`,
      `auth/session_key="${VALUES['auth/session_key']}"`,
    ].join('\n'));
    const r = await runCli(['secrets', 'import', '--file', file], { cwd });
    expect(r.code).toBe(0);
    expect(ssm.count('PutParameter')).toBe(3);
    expect(ssm.latest(path('dev', 'billing/stripe_secret_key'))?.value).toBe(VALUES['billing/stripe_secret_key']);
    expect(r.stdout).toContain('Imported 3 secret(s)');
  });

  it('a file with one bad entry writes nothing, and names every problem (not the values)', async () => {
    const cwd = await project();
    const file = await writeFileIn(cwd, 'secrets.json', JSON.stringify({
      'database/url': VALUES['database/url'],
      'billing/stripe_secret_kye': VALUES['billing/stripe_secret_key'],
      'auth/session_key': 'short-secret-value',
      'billing/stripe_publishable_key': 'pk_live_51HqLyjWDarjtT1zdpLIVEKEY',
      DATABASE_URL: VALUES['database/url'],
    }));
    const r = await runCli(['secrets', 'import', '--file', file], { cwd });
    expect(r.code).toBe(2);
    expect(ssm.calls).toEqual([]);
    expect(r.stderr).toContain('did you mean billing/stripe_secret_key');
    expect(r.stderr).toContain('auth/session_key must encode at least 32 random bytes');
    expect(r.stderr).toContain('live-mode');
    expect(r.stderr).toContain('appears twice');
    for (const value of ['short-secret-value', 'pk_live_51HqLyjWDarjtT1zdpLIVEKEY', VALUES['database/url']]) expect(r.stderr).not.toContain(value);
  });

  it('needs --overwrite (or confirmation) to replace existing values', async () => {
    const cwd = await project();
    ssm.seed(path('dev', 'database/url'), VALUES['database/url']);
    const file = await writeFileIn(cwd, 'secrets.env', `database/url=${VALUES['database/url']}x\nforecast/runpod_api_key=${VALUES['forecast/runpod_api_key']}\n`);
    const refused = await runCli(['secrets', 'import', '--file', file], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('database/url (version 1)');
    expect(ssm.count('PutParameter')).toBe(0);
    const r = await runCli(['secrets', 'import', '--file', file, '--overwrite'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('previous version 1 kept');
  });

  it('says what was and was not written when a write fails midway', async () => {
    const cwd = await project();
    const file = await writeFileIn(cwd, 'secrets.env', `database/url=${VALUES['database/url']}\nforecast/runpod_api_key=${VALUES['forecast/runpod_api_key']}\n`);
    ssm.mock.on(PutParameterCommand, { Name: path('dev', 'forecast/runpod_api_key') }).rejects(awsError('AccessDeniedException', 'not authorized'));
    const r = await runCli(['secrets', 'import', '--file', file], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Written: database/url. Not written: forecast/runpod_api_key.');
  });

  it('rejects missing and malformed files', async () => {
    const cwd = await project();
    expect((await runCli(['secrets', 'import', '--file', 'nope.env'], { cwd })).code).toBe(2);
    const empty = await writeFileIn(cwd, 'empty.env', '# nothing\n');
    expect((await runCli(['secrets', 'import', '--file', empty], { cwd })).code).toBe(2);
    expect(ssm.calls).toEqual([]);
  });
});
