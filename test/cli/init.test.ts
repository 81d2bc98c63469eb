import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VALID_DEV, readConfig, runCli, tempDir, writeConfig } from '../helpers/cli.ts';

function cancelled(): Error {
  const error = new Error('User force closed the prompt with SIGINT');
  error.name = 'ExitPromptError';
  return error;
}

describe('watchpoint init, non-interactive', () => {
  it('writes a new environment from flags', async () => {
    const cwd = await tempDir();
    const r = await runCli(['init', '--env', 'staging', '--region', 'eu-west-1', '--alert-email', 'ops@example.com', '--runpod-endpoint-id', 'abc123', '--cors-allowed-origins', 'https://a.example.com, https://b.example.com'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Wrote environment "staging"');
    expect((await readConfig(cwd)).environments.staging).toEqual({
      region: 'eu-west-1', alertEmail: 'ops@example.com', runPodEndpointId: 'abc123', corsAllowedOrigins: ['https://a.example.com', 'https://b.example.com'],
    });
  });

  it('exits 2 listing the missing flags, and writes nothing', async () => {
    const cwd = await tempDir();
    const r = await runCli(['init', '--region', 'eu-west-1', '--yes'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--alert-email --runpod-endpoint-id');
    await expect(readFile(join(cwd, 'watchpoint.config.json'))).rejects.toThrow(/ENOENT/);
  });

  it('changes one key and keeps the rest of the saved section and other environments', async () => {
    const cwd = await tempDir();
    await writeConfig(cwd, { dev: { ...VALID_DEV, googleClientId: 'g-1' }, prod: { ...VALID_DEV, region: 'us-east-1' } });
    const r = await runCli(['init', '--alert-email', 'new@example.com', '--yes'], { cwd });
    expect(r.code).toBe(0);
    const config = await readConfig(cwd);
    expect(config.environments.dev).toEqual({ ...VALID_DEV, googleClientId: 'g-1', alertEmail: 'new@example.com' });
    expect(config.environments.prod).toEqual({ ...VALID_DEV, region: 'us-east-1' });
  });

  it('refuses to change a saved environment without --yes when it cannot ask', async () => {
    const cwd = await tempDir();
    await writeConfig(cwd, { dev: VALID_DEV });
    const before = await readFile(join(cwd, 'watchpoint.config.json'), 'utf8');
    const r = await runCli(['init', '--region', 'us-east-1'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(await readFile(join(cwd, 'watchpoint.config.json'), 'utf8')).toBe(before);
  });

  it('uses WATCHPOINT_ENV when --env is absent', async () => {
    const cwd = await tempDir();
    const r = await runCli(['init', '--region', 'eu-west-1', '--alert-email', 'ops@example.com', '--runpod-endpoint-id', 'abc123'], { cwd, env: { WATCHPOINT_ENV: 'qa' } });
    expect(r.code).toBe(0);
    expect(Object.keys((await readConfig(cwd)).environments)).toEqual(['qa']);
  });

  it('honours --config', async () => {
    const cwd = await tempDir();
    const r = await runCli(['init', '--config', 'ops/wp.json', '--region', 'eu-west-1', '--alert-email', 'ops@example.com', '--runpod-endpoint-id', 'abc123'], { cwd });
    expect(r.code).toBe(2); // the directory does not exist: a clear error, not a crash
    await writeFile(join(cwd, 'wp.json'), '{"environments":{}}');
    const ok = await runCli(['init', '--config', 'wp.json', '--region', 'eu-west-1', '--alert-email', 'ops@example.com', '--runpod-endpoint-id', 'abc123'], { cwd });
    expect(ok.code).toBe(0);
    expect(JSON.parse(await readFile(join(cwd, 'wp.json'), 'utf8')).environments.dev.region).toBe('eu-west-1');
  });

  it('says there is nothing to do when nothing changes', async () => {
    const cwd = await tempDir();
    await writeConfig(cwd, { dev: VALID_DEV });
    const r = await runCli(['init', '--yes'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('already up to date');
  });
});

describe('watchpoint init, interactive', () => {
  // Answers in the order asked: region, account, alertEmail, runPodEndpointId, domainName,
  // (certificateArn only with a domain), corsAllowedOrigins, googleClientId, githubClientId, awsEndpointUrl,
  // apiThrottleRate, apiThrottleBurst, quotaWatchpointsPerKey, quotaChannelsPerWatchpoint, quotaRecipientsPerKey, deployment, confirm.
  it('asks for every setting, pre-filled with saved values, and writes on confirmation', async () => {
    const cwd = await tempDir();
    await writeConfig(cwd, { dev: { ...VALID_DEV, githubClientId: 'gh-1' } });
    const answers = ['eu-west-1', '123456789012', 'oncall@example.com', 'abc123xyz', 'api.example.com',
      'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012', 'https://app.example.com', '', 'gh-1', '', '', '', '25', '', '', 'linear', true];
    const r = await runCli(['init'], { cwd, answers, interactive: true });
    expect(r.code).toBe(0);
    const asked = r.io.questions.filter((q) => q.kind === 'input');
    expect(asked.map((q) => q.kind === 'input' && q.field.split(' ')[0])).toEqual([
      'region', 'account', 'alertEmail', 'runPodEndpointId', 'domainName', 'certificateArn', 'corsAllowedOrigins', 'googleClientId', 'githubClientId', 'awsEndpointUrl',
      'apiThrottleRate', 'apiThrottleBurst', 'quotaWatchpointsPerKey', 'quotaChannelsPerWatchpoint', 'quotaRecipientsPerKey', 'deployment',
    ]);
    const prefill = Object.fromEntries(asked.map((q) => [q.kind === 'input' ? q.field.split(' ')[0] : '', q.kind === 'input' ? q.default : '']));
    // The deployment style is pre-filled with the environment's default (all-at-once outside prod).
    expect(prefill).toMatchObject({ region: 'eu-west-1', alertEmail: 'oncall@example.com', githubClientId: 'gh-1', corsAllowedOrigins: '', deployment: 'all-at-once' });
    const saved = (await readConfig(cwd)).environments.dev;
    expect(saved).toMatchObject({ account: '123456789012', domainName: 'api.example.com', corsAllowedOrigins: ['https://app.example.com'], quotaWatchpointsPerKey: 25, deployment: 'linear' });
    // Quotas and throttling left at their defaults are not written.
    expect(saved).not.toHaveProperty('apiThrottleRate');
    expect(saved).not.toHaveProperty('quotaRecipientsPerKey');
  });

  it('asks prod for its deployment style with canary pre-filled; an empty answer keeps the default and writes nothing', async () => {
    const cwd = await tempDir();
    const r = await runCli(['init', '--env', 'prod', '--region', 'eu-west-1', '--alert-email', 'ops@example.com', '--runpod-endpoint-id', 'abc123'],
      { cwd, answers: ['', '', '', '', '', '', '', '', '', '', '', '', true], interactive: true });
    expect(r.code).toBe(0);
    const question = r.io.questions.find((q) => q.kind === 'input' && q.field.startsWith('deployment'));
    expect(question?.kind === 'input' && question.default).toBe('canary');
    expect(question?.kind === 'input' && question.validate?.('blue-green')).toMatch(/^deployment must be all-at-once, canary .* or linear/);
    expect((await readConfig(cwd)).environments.prod).not.toHaveProperty('deployment');
  });

  it('validates the quota and throttling answers (empty keeps the default)', async () => {
    const { validateField } = await import('../../src/cli/commands/init.ts');
    expect(validateField('deployment', '')).toBe(true);
    expect(validateField('deployment', 'canary')).toBe(true);
    expect(validateField('quotaChannelsPerWatchpoint', '')).toBe(true);
    expect(validateField('quotaChannelsPerWatchpoint', '11')).toMatch(/^quotaChannelsPerWatchpoint must be at most 10/);
    expect(validateField('apiThrottleRate', 'fast')).toMatch(/whole number/);
    expect(validateField('quotaWatchpointsPerKey', '250')).toBe(true);
  });

  it('validates each answer with the config rules', async () => {
    const cwd = await tempDir();
    const r = await runCli(['init'], { cwd, answers: ['eu-west-1'], interactive: true }).catch((e) => e);
    const io = r.io;
    const region = io.questions[0];
    expect(region.kind === 'input' && region.validate?.('mars-north-1')).toMatch(/AWS region/);
    const email = io.questions[1];
    expect(email.kind === 'input' && email.validate?.('')).toBe(true); // account is optional
  });

  it('does not ask for keys given as flags', async () => {
    const cwd = await tempDir();
    const r = await runCli(['init', '--region', 'eu-west-1', '--alert-email', 'ops@example.com', '--runpod-endpoint-id', 'abc123'],
      { cwd, answers: ['', '', '', '', '', '', '', '', '', '', '', '', true], interactive: true });
    expect(r.code).toBe(0);
    expect(r.io.questions.some((q) => q.kind === 'input' && q.field.startsWith('region'))).toBe(false);
  });

  it('leaves the config file as it was when Ctrl-C interrupts a prompt', async () => {
    const cwd = await tempDir();
    await writeConfig(cwd, { dev: VALID_DEV });
    const before = await readFile(join(cwd, 'watchpoint.config.json'), 'utf8');
    const r = await runCli(['init'], { cwd, answers: ['us-east-1', '', cancelled()], interactive: true });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('Nothing was changed');
    expect(await readFile(join(cwd, 'watchpoint.config.json'), 'utf8')).toBe(before);
  });

  it('writes nothing when the operator declines', async () => {
    const cwd = await tempDir();
    const r = await runCli(['init'], { cwd, answers: ['eu-west-1', '', 'ops@example.com', 'abc123', '', '', '', '', '', '', '', '', '', '', '', false], interactive: true });
    expect(r.code).toBe(0);
    await expect(readFile(join(cwd, 'watchpoint.config.json'))).rejects.toThrow(/ENOENT/);
  });
});

describe('watchpoint init --deployment', () => {
  it('writes the style from the flag, and refuses an unknown one naming the flag (exit 2)', async () => {
    const cwd = await tempDir();
    const base = ['init', '--region', 'eu-west-1', '--alert-email', 'ops@example.com', '--runpod-endpoint-id', 'abc123'];
    const bad = await runCli([...base, '--deployment', 'blue-green'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/deployment = "blue-green" \(from --deployment\): must be all-at-once, canary/);
    expect(bad.stderr).toMatch(/fix: .*--deployment/);
    const ok = await runCli([...base, '--deployment', 'canary'], { cwd });
    expect(ok.code).toBe(0);
    expect((await readConfig(cwd)).environments.dev?.deployment).toBe('canary');
  });
});
