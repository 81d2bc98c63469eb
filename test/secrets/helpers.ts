import { inspect } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { secretsCommand } from '../../src/cli/commands/secrets.ts';
import type { SecretsAction, SecretsFlags } from '../../src/cli/commands/secrets.define.ts';
import { formatError, isWatchpointError } from '../../src/cli/errors.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { VALID_DEV, tempDir, writeConfig } from '../helpers/cli.ts';

/** Valid values for each catalogue entry (test mode: for any env but prod). */
export const VALUES = {
  'database/url': 'postgres://wp:S3cretDbPassw0rd@db.internal:5432/watchpoint',
  'billing/stripe_secret_key': 'sk_test_51HqLyjWDarjtT1zdp7dcXYZsecret',
  'billing/stripe_webhook_secret': 'whsec_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2secret',
  'billing/stripe_publishable_key': 'pk_test_51HqLyjWDarjtT1zdpPUBLISHABLE',
  'forecast/runpod_api_key': 'rpa_ABCDEF1234567890GHIJKLsecret',
  'auth/session_key': 'k9Xc2mQ7vB4nL1pZ8rT5wY3hJ6gF0dSaE2uI7oP4kM1qW9eR',
  'security/admin_api_key': 'adm_7Gh2Kp9Lq4Wx8Zc3Vb6Nm1Rt5Yu0Io',
  'auth/google_secret': 'GOCSPX-abcdefghijklmnopSECRET12',
  'auth/github_secret': 'a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0',
} as const;

export const LIVE_SECRET_KEY = 'sk_live_51HqLyjWDarjtT1zdLIVEsecretKEY';

export async function project(environments: Record<string, unknown> = { dev: VALID_DEV, prod: { ...VALID_DEV, region: 'us-east-1' }, oauth: { ...VALID_DEV, googleClientId: 'g-123', githubClientId: 'gh-456' } }): Promise<string> {
  const cwd = await tempDir();
  await writeConfig(cwd, environments);
  return cwd;
}

export async function writeFileIn(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

export interface DirectResult {
  code: number;
  io: RecordingIo;
  stdout: string;
  stderr: string;
  error: unknown;
  /** stdout, stderr, the formatted error and the error object inspected to full depth (with causes). */
  everything: string;
}

/** Calls the command implementation in-process, as run() would, capturing every byte it emits. */
export async function direct(
  action: SecretsAction,
  name: string | undefined,
  flags: SecretsFlags,
  options: { cwd: string; answers?: (string | boolean | Error)[]; interactive?: boolean; stdin?: string; randomBytes?: (n: number) => Buffer },
): Promise<DirectResult> {
  const io = new RecordingIo(options.answers ?? [], options.interactive ?? false);
  let code: number;
  let error: unknown;
  try {
    code = await secretsCommand({
      io,
      options: flags,
      env: {},
      cwd: options.cwd,
      action,
      name,
      flags,
      ...(options.stdin !== undefined ? { readStdin: async () => options.stdin! } : {}),
      ...(options.randomBytes ? { randomBytes: options.randomBytes } : {}),
    });
  } catch (caught) {
    error = caught;
    code = isWatchpointError(caught) ? caught.exitCode : 1;
  }
  const errorText = error === undefined ? '' : `${formatError(error)}\n${inspect(error, { depth: 20, showHidden: true })}\n${String((error as Error).stack)}`;
  return { code, io, error, stdout: io.stdout, stderr: io.stderr + (error ? `\n${formatError(error)}` : ''), everything: `${io.stdout}\n${io.stderr}\n${errorText}\n${JSON.stringify(io.questions)}` };
}
