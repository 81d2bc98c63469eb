// Test-side helpers for the moto server that test/global-setup.ts starts once per run.
//
// Isolation: test files run in parallel forks against one moto, so tests never reset it
// (POST /moto-api/reset would wipe another file's state mid-test). Each test takes its own names
// instead: `uniqueEnvName()` gives a fresh WatchPoint environment, and every resource the CLI
// derives from it (SSM paths /<env>/watchpoint/*, stacks watchpoint-<env>*, alarms, IAM users,
// ECR repositories) is then unique too. Use `uniqueName()` for anything else.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { VALID_DEV } from './cli.ts';

/** moto's account for every request signed with a key it did not issue. */
export const MOTO_ACCOUNT = '123456789012';

/** moto accepts any credentials and does not check signatures. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

/** `http://127.0.0.1:PORT` of the run's moto. */
export function motoEndpoint(): string {
  const endpoint = inject('motoEndpoint');
  if (!endpoint) throw new Error('motoEndpoint was not provided: test/global-setup.ts must start moto (vitest.config.ts globalSetup).');
  return endpoint;
}

/**
 * SDK client options pointed at moto: no retries (a failure shows at once) and a request timeout,
 * so a moto that stops answering fails the test instead of hanging it.
 */
export function motoClientConfig(region = VALID_DEV.region): {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  maxAttempts: number;
  requestHandler: { requestTimeout: number; connectionTimeout: number };
} {
  return {
    region,
    endpoint: motoEndpoint(),
    credentials: { ...MOTO_CREDENTIALS },
    maxAttempts: 1,
    requestHandler: { requestTimeout: 15_000, connectionTimeout: 5_000 },
  };
}

/** A client of any SDK v3 service, pointed at moto: `motoClient(SSMClient)`. */
export function motoClient<T>(Client: new (config: ReturnType<typeof motoClientConfig>) => T, region?: string): T {
  return new Client(motoClientConfig(region));
}

/**
 * The CLI builds its clients from the SDK's default credential chain, which reads process.env (not
 * run()'s `env`). Call this in a test file that drives `run(argv)` in-process against moto: it
 * gives this worker moto's test credentials and keeps the chain from looking at profiles or IMDS.
 * Each test file runs in its own fork, so this does not leak into other files.
 */
export function useMotoCredentials(credentials: { accessKeyId: string; secretAccessKey: string } = MOTO_CREDENTIALS): void {
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_CONFIG_FILE = '/dev/null';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null';
}

/** Environment for running bin/watchpoint as a child process against moto. */
export function motoProcessEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    ...extra,
  };
}

/** A fresh WatchPoint environment name (matches ^[a-z][a-z0-9-]{0,15}$): `m` + 8 hex by default. */
export function uniqueEnvName(prefix = 'm'): string {
  const name = `${prefix}${randomBytes(4).toString('hex')}`;
  if (!/^[a-z][a-z0-9-]{0,15}$/.test(name)) throw new Error(`uniqueEnvName: prefix "${prefix}" makes an invalid env name "${name}"`);
  return name;
}

/** A unique AWS resource name: `<prefix>-<10 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** A valid stage section whose AWS calls all go to moto (the CLI's awsEndpointUrl setting). */
export function motoStage(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...VALID_DEV, account: MOTO_ACCOUNT, awsEndpointUrl: motoEndpoint(), ...overrides };
}
