// Issue 14 items 7 and 8: a mistyped --env lists the environments that exist; each command validates
// only the stage keys it uses; config errors name the right source and a fix that works.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { freeLoopbackPort } from '../helpers/net.ts';
import { runCli, tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';

const fixLine = (stderr: string) => stderr.trimEnd().split('\n').at(-1) ?? '';

it('a mistyped --env lists the configured environments and the closest, exit 2', async () => {
  const cwd = await tempDir();
  await writeConfig(cwd, { dev: VALID_DEV, prod: { ...VALID_DEV, runPodEndpointId: 'prodendpoint1' } });
  const result = await runCli(['status', '--env', 'prdo'], { cwd });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('No environment prdo in watchpoint.config.json; configured: dev, prod (did you mean prod?).');
  expect(fixLine(result.stderr)).toBe('  fix: Use --env prod, or create "prdo" with `watchpoint init --env prdo`.');
  expect(result.stderr).not.toContain('alertEmail');
});

it('an unknown --env with nothing close lists them without a guess', async () => {
  const cwd = await tempDir();
  await writeConfig(cwd, { dev: VALID_DEV, prod: VALID_DEV });
  const result = await runCli(['secrets', 'list', '--env', 'staging'], { cwd });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('No environment staging in watchpoint.config.json; configured: dev, prod.');
});

it('status does not ask for settings it does not use', async () => {
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIATEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' });
  const cwd = await tempDir();
  const port = await freeLoopbackPort();
  // No alertEmail, no runPodEndpointId, a bad corsAllowedOrigins: none of them matter to status.
  await writeConfig(cwd, { dev: { region: 'eu-west-1', corsAllowedOrigins: ['not an origin'], awsEndpointUrl: `http://127.0.0.1:${port}` } });
  const result = await runCli(['status', '--env', 'dev'], { cwd, env: { WATCHPOINT_AWS_TIMEOUT: '1' } });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('Cannot reach cloudformation:');
  expect(result.stderr).not.toMatch(/alertEmail|runPodEndpointId|corsAllowedOrigins/);
});

it('deploy, which builds the stacks, still checks every setting', async () => {
  const cwd = await tempDir();
  await writeConfig(cwd, { dev: { region: 'eu-west-1' } });
  const result = await runCli(['deploy', '--env', 'dev', '--dry-run'], { cwd });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('alertEmail is missing (flag --alert-email)');
});

it('a bad flag value is blamed on the flag, and the fix says to fix the flag', async () => {
  const cwd = await tempDir();
  const result = await runCli(['init', '--env', 'dev', '--yes', '--region', 'eu-west-1', '--runpod-endpoint-id', 'abc123', '--alert-email', 'bad'], { cwd });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('alertEmail = "bad" (from --alert-email)');
  expect(fixLine(result.stderr)).toBe('  fix: Give --alert-email a valid value.');
  expect(result.stderr).not.toContain('config file');
});

it('a setting that is in neither the flags nor the file is "not set", not blamed on the file', async () => {
  const cwd = await tempDir();
  await writeConfig(cwd, { dev: VALID_DEV });
  const result = await runCli(['synth', '--env', 'dev', '--domain-name', 'api.example.com', '--out', 'never'], { cwd });
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/certificateArn \(not set\): is required when domainName is set/);
  expect(result.stderr).not.toContain('(from the config file)');
  expect(fixLine(result.stderr)).toContain('Set certificateArn (--certificate-arn)');
});

it('a config file that is not an object of environments gets a fix that works (init refuses it too)', async () => {
  const cwd = await tempDir();
  await writeFile(join(cwd, 'watchpoint.config.json'), '[]\n');
  const status = await runCli(['status', '--env', 'dev'], { cwd });
  expect(status.code).toBe(2);
  expect(fixLine(status.stderr)).toContain(`move it away (\`mv ${join(cwd, 'watchpoint.config.json')} ${join(cwd, 'watchpoint.config.json')}.bak\`)`);
  const init = await runCli(['init', '--env', 'dev', '--yes', '--region', 'eu-west-1', '--alert-email', 'a@example.com', '--runpod-endpoint-id', 'abc123'], { cwd });
  expect(init.code).toBe(2);
  expect(fixLine(init.stderr)).toBe(fixLine(status.stderr));
});
