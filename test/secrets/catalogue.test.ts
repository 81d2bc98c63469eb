import { describe, expect, it } from 'vitest';
import {
  KMS_KEY_ID_PATTERN,
  SECRET_CATALOGUE,
  closestSecretName,
  findSecret,
  findSecretByNameOrAlias,
  generateSecretValue,
  maskedValue,
  secretPath,
  valueProblems,
} from '../../src/config/secrets-catalogue.ts';
import { parseSecretsFile } from '../../src/cli/commands/secrets.ts';
import { NonInteractiveIo } from '../../src/cli/io.ts';
import { redactedError } from '../../src/cli/secrets/ssm.ts';
import { randomBytes } from 'node:crypto';
import { LIVE_SECRET_KEY, VALUES } from './helpers.ts';

const entry = (name: string) => findSecret(name)!;

describe('secrets catalogue', () => {
  it('covers every *_SSM_PARAM path the stack gives the functions', () => {
    const names = SECRET_CATALOGUE.map((e) => e.name);
    for (const name of Object.keys(VALUES)) expect(names).toContain(name);
    expect(secretPath('prod', 'database/url')).toBe('/prod/watchpoint/database/url');
  });

  it('accepts a valid value for every settable entry', () => {
    for (const [name, value] of Object.entries(VALUES)) expect(valueProblems(entry(name), value, 'dev')).toEqual({ errors: [] });
  });

  it.each([
    ['database/url', 'mysql://u:p@h/db'],
    ['database/url', 'postgres://host-only'],
    ['database/url', 'not a url'],
    ['billing/stripe_secret_key', 'pk_test_abcdefghijkl'],
    ['billing/stripe_webhook_secret', 'wh_abcdefghijklmn'],
    ['billing/stripe_publishable_key', 'sk_test_abcdefghijkl'],
    ['forecast/runpod_api_key', 'short'],
    ['auth/session_key', 'abc'],
    ['auth/session_key', 'a'.repeat(64)],
    ['security/admin_api_key', 'x'.repeat(40)],
    ['auth/github_secret', 'has space in it and is long enough'],
    ['database/url', ''],
    ['database/url', `${VALUES['database/url']}\n`],
    ['database/url', ` ${VALUES['database/url']}`],
  ])('rejects %s = %j, without quoting it', (name, value) => {
    const { errors } = valueProblems(entry(name), value, 'dev');
    expect(errors.length).toBeGreaterThan(0);
    if (value.length > 3) for (const message of errors) expect(message).not.toContain(value.trim());
  });

  it('refuses values over 8 KB', () => {
    expect(valueProblems(entry('forecast/runpod_api_key'), 'a'.repeat(8193), 'dev').errors.join()).toContain('8193 bytes');
  });

  it('keeps live Stripe keys in prod and test keys elsewhere', () => {
    expect(valueProblems(entry('billing/stripe_secret_key'), LIVE_SECRET_KEY, 'prod').modeMismatch).toBeUndefined();
    expect(valueProblems(entry('billing/stripe_secret_key'), LIVE_SECRET_KEY, 'staging').modeMismatch).toContain('live-mode');
    expect(valueProblems(entry('billing/stripe_publishable_key'), VALUES['billing/stripe_publishable_key'], 'prod').modeMismatch).toContain('test-mode');
    expect(valueProblems(entry('billing/stripe_secret_key'), VALUES['billing/stripe_secret_key'], 'dev').modeMismatch).toBeUndefined();
  });

  it('makes google/github secrets required only when their client ID is set', () => {
    expect(entry('auth/google_secret').required({ googleClientId: '', githubClientId: '' })).toBe(false);
    expect(entry('auth/google_secret').required({ googleClientId: 'g', githubClientId: '' })).toBe(true);
    expect(entry('auth/github_secret').required({ googleClientId: 'g', githubClientId: '' })).toBe(false);
    expect(entry('database/url').required({ googleClientId: '', githubClientId: '' })).toBe(true);
    expect(entry('forecast/runpod_aws_access_key_id').required({ googleClientId: '', githubClientId: '' })).toBe(false);
  });

  it('masks with length, fingerprint and only a non-secret prefix', () => {
    const masked = maskedValue(VALUES['billing/stripe_secret_key']);
    expect(masked).toMatch(/^sk_test_… \(\d+ chars, sha256:[0-9a-f]{8}\)$/);
    expect(masked).not.toContain(VALUES['billing/stripe_secret_key'].slice(8, 16));
    expect(maskedValue(VALUES['auth/session_key'])).toMatch(/^\(48 chars, sha256:[0-9a-f]{8}\)$/);
  });

  it('generates values that pass their own validators', () => {
    const value = generateSecretValue(randomBytes);
    expect(value).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(valueProblems(entry('auth/session_key'), value, 'prod').errors).toEqual([]);
    expect(valueProblems(entry('security/admin_api_key'), value, 'prod').errors).toEqual([]);
  });

  it('names the closest catalogue entry and accepts env-var aliases', () => {
    expect(closestSecretName('database/uri')).toBe('database/url');
    expect(closestSecretName('stripe_secret')).toBe('billing/stripe_secret_key');
    expect(closestSecretName('auth/sesion_key')).toBe('auth/session_key');
    // Nothing close: no suggestion, rather than an unrelated name.
    expect(closestSecretName('grafana/token')).toBeUndefined();
    expect(closestSecretName('x')).toBeUndefined();
    expect(findSecretByNameOrAlias('STRIPE_WEBHOOK_SECRET')?.name).toBe('billing/stripe_webhook_secret');
    expect(findSecretByNameOrAlias('GOOGLE_CLIENT_SECRET_SSM_PARAM')?.name).toBe('auth/google_secret');
  });

  it.each([
    ['1234abcd-12ab-34cd-56ef-1234567890ab', true],
    ['mrk-1234abcd12ab34cd56ef1234567890ab', true],
    ['alias/watchpoint-secrets', true],
    ['arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', true],
    ['arn:aws:kms:eu-west-1:123456789012:alias/watchpoint', true],
    ['watchpoint', false],
    ['arn:aws:kms:eu-west-1:123456789012:key/nope', false],
    ['alias/', false],
  ])('KMS key id %s valid: %s', (value, valid) => {
    expect(KMS_KEY_ID_PATTERN.test(value)).toBe(valid);
  });
});

describe('secrets files', () => {
  it('parses dotenv: comments, export, quotes, inline comments, aliases', () => {
    const entries = parseSecretsFile('/x/secrets.env', [
      '# WatchPoint secrets',
      'export database/url="postgres://u:p#1@h:5432/db"',
      "STRIPE_SECRET_KEY='sk_test_abc#def'",
      'auth/session_key = abc  # generated',
      '',
    ].join('\n'));
    expect(entries.map((e) => [e.key, e.value, e.where])).toEqual([
      ['database/url', 'postgres://u:p#1@h:5432/db', 'line 2'],
      ['STRIPE_SECRET_KEY', 'sk_test_abc#def', 'line 3'],
      ['auth/session_key', 'abc', 'line 4'],
    ]);
  });

  it('parses JSON by extension or by content', () => {
    expect(parseSecretsFile('/x/s.json', '{"database/url":"postgres://h/db"}')[0]?.value).toBe('postgres://h/db');
    expect(parseSecretsFile('/x/secrets', ' {"a":"b"}')[0]?.key).toBe('a');
  });

  it('reports malformed files without quoting their values', () => {
    const secret = 'sk_live_SHOULDNOTAPPEAR123';
    const bad = [
      () => parseSecretsFile('/x/s.json', `{"billing/stripe_secret_key": ${secret}}`),
      () => parseSecretsFile('/x/s.json', `{"billing/stripe_secret_key": ["${secret}"]}`),
      () => parseSecretsFile('/x/s.env', `billing/stripe_secret_key="${secret}`),
      () => parseSecretsFile('/x/s.env', `${secret}`),
    ];
    for (const parse of bad) {
      let message = '';
      try {
        parse();
      } catch (error) {
        message = String((error as Error).message);
      }
      expect(message).not.toBe('');
      expect(message).not.toContain(secret);
    }
  });
});

describe('redaction and the hidden prompt', () => {
  it('cuts a value out of an AWS error, even a truncated echo', () => {
    const value = 'sk_live_abcdefghijklmnopqrstuvwxyz';
    const echoed = new Error(`1 validation error detected: Value '${value}' at 'value' failed`);
    expect(redactedError(echoed, [value]).message).not.toContain(value);
    const partial = new Error(`bad input starting ${value.slice(0, 20)}`);
    expect(redactedError(partial, [value]).message).toBe('(message withheld: it may contain the value)');
  });

  it('NonInteractiveIo refuses a secret question with exit 2 naming the flags', async () => {
    const io = new NonInteractiveIo({ stdout: { write: () => true }, stderr: { write: () => true } }, true);
    await expect(io.ask({ kind: 'secret', field: 'The value for x', message: 'x', noTerminalFix: 'Pass --stdin.' })).rejects.toMatchObject({ exitCode: 2, fix: 'Pass --stdin; or run it without --yes to be asked.' });
  });
});
