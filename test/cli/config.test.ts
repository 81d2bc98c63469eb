import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadConfigFile,
  mergeStage,
  resolveEnvName,
  validateStage,
  writeConfigFile,
} from '../../src/config/config-file.ts';
import { WatchpointError } from '../../src/cli/errors.ts';
import { VALID_DEV, tempDir } from '../helpers/cli.ts';

const context = { envName: 'dev', configPath: '/x/watchpoint.config.json', fromFlags: new Set<string>() };

function expectInvalid(stage: Record<string, unknown>, ...fragments: string[]): WatchpointError {
  try {
    validateStage(stage, context);
  } catch (error) {
    expect(error).toBeInstanceOf(WatchpointError);
    const e = error as WatchpointError;
    expect(e.exitCode).toBe(2);
    for (const fragment of fragments) expect(`${e.message}\n${e.fix}`).toContain(fragment);
    return e;
  }
  throw new Error('expected validation to fail');
}

describe('stage config validation', () => {
  it('accepts a minimal stage and fills the defaults', () => {
    const stage = validateStage({ ...VALID_DEV }, context);
    expect(stage).toMatchObject({ ...VALID_DEV, domainName: '', certificateArn: '', corsAllowedOrigins: ['*'], awsEndpointUrl: '' });
  });

  it('lists every missing required key with its flag', () => {
    expectInvalid({}, 'region is missing (flag --region)', 'alertEmail is missing (flag --alert-email)', 'runPodEndpointId is missing (flag --runpod-endpoint-id)', 'watchpoint init --env dev');
  });

  it.each([
    ['region', 'eu-west', 'must be an AWS region'],
    ['account', '12345', '12-digit AWS account ID'],
    ['alertEmail', 'not-an-email', 'must be an email address'],
    ['runPodEndpointId', 'ABC 123', 'RunPod endpoint ID'],
    ['domainName', 'https://api.example.com', 'host name'],
    ['corsAllowedOrigins', ['https://app.example.com/'], 'no path or trailing slash'],
    ['awsEndpointUrl', 'localhost:4566', 'http(s) URL'],
    ['googleClientId', 'has spaces in it', 'Google OAuth client ID'],
  ])('names the field, the bad value and the fix for %s', (key, value, message) => {
    const shown = JSON.stringify(Array.isArray(value) ? value[0] : value);
    const e = expectInvalid({ ...VALID_DEV, [key]: value }, key, shown, message);
    expect(e.code).toBe('CONFIG_INVALID');
  });

  it('rejects unknown keys, naming the known ones', () => {
    expectInvalid({ ...VALID_DEV, alertEmial: 'x@example.com' }, 'unknown setting "alertEmial"', 'alertEmail');
  });

  it('needs a certificate with a custom domain, in the same region', () => {
    expectInvalid({ ...VALID_DEV, domainName: 'api.example.com' }, 'certificateArn', 'is required when domainName is set');
    expectInvalid(
      { ...VALID_DEV, domainName: 'api.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012' },
      'is in region us-east-1',
    );
    const ok = validateStage(
      { ...VALID_DEV, domainName: 'api.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012' },
      context,
    );
    expect(ok.domainName).toBe('api.example.com');
  });

  it('says where a bad value came from', () => {
    expect(() => validateStage({ ...VALID_DEV, region: 'nowhere' }, { ...context, fromFlags: new Set(['region']) })).toThrow('(from --region)');
    expect(() => validateStage({ ...VALID_DEV, region: 'nowhere' }, context)).toThrow('(from the config file)');
  });

  it('lets a flag override one key and keeps the rest', () => {
    const saved = { ...VALID_DEV, googleClientId: 'g-123' };
    expect(mergeStage(saved, { region: 'us-east-1' })).toEqual({ ...saved, region: 'us-east-1' });
  });
});

describe('environment name', () => {
  it('comes from --env, then WATCHPOINT_ENV, then dev', () => {
    expect(resolveEnvName('prod', { WATCHPOINT_ENV: 'staging' })).toBe('prod');
    expect(resolveEnvName(undefined, { WATCHPOINT_ENV: 'staging' })).toBe('staging');
    expect(resolveEnvName(undefined, {})).toBe('dev');
  });
  it.each(['Prod', '1dev', 'a-very-long-environment-name', 'dev_1', ''])('rejects %j with exit 2', (name) => {
    expect(() => resolveEnvName(name, {})).toThrow(/not a valid environment name/);
  });
});

describe('config file', () => {
  it('reports bad JSON with exit 2', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'watchpoint.config.json'), '{"environments": {');
    await expect(loadConfigFile(join(dir, 'watchpoint.config.json'))).rejects.toMatchObject({ code: 'CONFIG_NOT_JSON', exitCode: 2 });
  });

  it('rejects bad environment names inside the file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'watchpoint.config.json'), JSON.stringify({ environments: { PROD: {} } }));
    await expect(loadConfigFile(join(dir, 'watchpoint.config.json'))).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('treats a missing file as empty', async () => {
    const dir = await tempDir();
    const loaded = await loadConfigFile(join(dir, 'watchpoint.config.json'));
    expect(loaded).toMatchObject({ exists: false, file: { environments: {} } });
  });

  it('leaves the old file intact and no temp file behind when a write fails', async () => {
    const dir = await tempDir();
    const target = join(dir, 'watchpoint.config.json');
    await mkdir(target); // rename onto a directory fails after the temp file was written
    await expect(writeConfigFile(target, { environments: { dev: VALID_DEV } })).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['watchpoint.config.json']);
  });
});

describe('formatError', () => {
  it('walks causes, prints the fix last, and names SDK errors that have no message', async () => {
    const { formatError, userError } = await import('../../src/cli/errors.ts');
    const sdk = Object.assign(new Error(''), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400, requestId: 'r-1' } });
    const text = formatError(userError('X', 'Top message.', 'Do this.', sdk));
    expect(text).toBe('Error: Top message.\n  caused by: ThrottlingException (HTTP 400) [request r-1]\n  fix: Do this.');
  });
  it('does not repeat "Error" for network failures', async () => {
    const { formatError } = await import('../../src/cli/errors.ts');
    const network = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { $metadata: {} });
    expect(formatError(network).split('\n')[0]).toBe('Error: connect ECONNREFUSED 127.0.0.1:1');
  });
  it('says a message once when a wrapper reuses its cause\'s message', async () => {
    const { formatError, userError } = await import('../../src/cli/errors.ts');
    const report = 'esbuild could not bundle api:\nsrc/lambdas/api/index.ts:63:22: Unexpected ";"';
    const text = formatError(userError('BUNDLE_FAILED', report, 'Fix the source.', new Error(report, { cause: new Error('Build failed with 1 error') })));
    expect(text).toBe(`Error: ${report}\n  caused by: Build failed with 1 error\n  fix: Fix the source.`);
  });
  it('ends with a fix even when nothing in the chain has one', async () => {
    const { formatError, FALLBACK_FIX } = await import('../../src/cli/errors.ts');
    expect(formatError(new Error('boom')).split('\n').at(-1)).toBe(`  fix: ${FALLBACK_FIX}`);
  });
});
