// moto (`moto_server`, Python package `moto[server]` 5.2.1): a real AWS protocol server for SSM, IAM,
// STS, CloudWatch, CloudWatch Logs, CloudFormation, ECR's API, KMS, SNS, SQS and S3. Started once per
// vitest run by test/global-setup.ts (`inject('motoEndpoint')`); test files use test/helpers/moto.ts.
// Its gaps are listed in ../shared/NOTES.md. moto is a test server only: nothing under src/ uses it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MOTO_VERSION = '5.2.1';

export const MOTO_INSTALL_HINT =
  `install it with \`python3 -m venv .tools/moto && .tools/moto/bin/pip install 'moto[server]==${MOTO_VERSION}'\` ` +
  '(.ci/run does this when PyPI is reachable), or put a `moto_server` on PATH, or set WATCHPOINT_MOTO_SERVER to its path';

export interface TestMoto {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  stop(): Promise<void>;
}

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** WATCHPOINT_MOTO_SERVER, else the one .ci/run installs under .tools/moto, else `moto_server` on PATH. */
export function motoServerCommand(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WATCHPOINT_MOTO_SERVER) return env.WATCHPOINT_MOTO_SERVER;
  const local = join(REPO, '.tools', 'moto', 'bin', 'moto_server');
  return existsSync(local) ? local : 'moto_server';
}

/**
 * Starts moto on 127.0.0.1 with port 0 and reads the port it bound from its banner, so no other
 * process can take the port between a probe and the bind. Fails (never skips) when moto is missing.
 */
export async function startMoto(options: { timeoutMs?: number; command?: string } = {}): Promise<TestMoto> {
  const command = options.command ?? motoServerCommand();
  // moto-plugins/sitecustomize.py teaches moto's CloudFormation AWS::CloudWatch::Alarm and scopes change-set names to their stack, as AWS does (see there).
  const plugins = join(REPO, 'test', 'helpers', 'moto-plugins');
  const env = { ...process.env, PYTHONPATH: [plugins, process.env.PYTHONPATH].filter(Boolean).join(':') };
  const child = spawn(command, ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  // moto logs every request to stderr; keep draining it (a full pipe would stall the server) and keep
  // the last lines for the error when it dies.
  const tail: string[] = [];
  let buffered = '';
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`moto_server (${command}) did not report its port within ${(options.timeoutMs ?? 30_000) / 1000} s. Last output:\n${tail.join('\n')}`));
    }, options.timeoutMs ?? 30_000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      }
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      process.removeListener('exit', killOnExit);
      reject(
        error.code === 'ENOENT'
          ? new Error(`The tests need moto ${MOTO_VERSION} (an AWS protocol server), and \`${command}\` was not found: ${MOTO_INSTALL_HINT}.`)
          : error,
      );
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('exit', killOnExit);
      reject(new Error(`moto_server (${command}) exited (${signal ?? `code ${code}`}) before it was ready. Last output:\n${tail.join('\n')}\nIf moto is broken or missing: ${MOTO_INSTALL_HINT}.`));
    });
  });

  // The banner comes before the first request is served; wait until moto answers.
  for (let i = 0; ; i += 1) {
    const ready = await fetch(`${endpoint}/moto-api/`).then((r) => r.ok, () => false);
    if (ready) break;
    if (i >= 200) {
      child.kill('SIGKILL');
      throw new Error(`moto_server at ${endpoint} did not answer GET /moto-api/ within 10 s.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    endpoint,
    stop: async () => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The process environment an in-process run against moto needs: fixed test credentials, no
 * instance-metadata or profile lookups, and the S3 host CloudFormation's template URLs must name
 * (toolkit-lib's override; ../shared/NOTES.md). Callers save process.env and restore it afterwards.
 */
export function motoProcessEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION: endpoint.replace('127.0.0.1', 'localhost'),
  };
}
