// DataPollerFunction: every 15 minutes (DataPollerSchedule). Starts due forecast runs on RunPod and
// follows the ones in flight (poller.ts).
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { clientOptions, s3Client } from '../shared/aws.ts';
import { getPool } from '../shared/db.ts';
import { ConfigError } from '../shared/env.ts';
import { createLogger } from '../shared/observability.ts';
import { RunPodClient } from '../shared/runpod-client.ts';
import { poll, type PollerDeps, type PollResult } from './poller.ts';

export const DEFAULT_RUNPOD_API_BASE_URL = 'https://api.runpod.ai/v2';
/** A rotated RunPod key is picked up within this time (and at once after a 401). */
const KEY_CACHE_SECONDS = 300;
const RUNPOD_TIMEOUT_MS = 10_000;

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new ConfigError(`Missing environment variable ${name} (set by the WatchPoint stack).`);
  return value;
}

let deps: PollerDeps | undefined;

function containerDeps(): PollerDeps {
  if (deps) return deps;
  const keyParam = required('RUNPOD_API_KEY_SSM_PARAM');
  const ssm = new SSMProvider({ clientConfig: clientOptions() });
  deps = {
    pool: getPool,
    s3: s3Client(),
    forecastBucket: required('FORECAST_BUCKET'),
    runpod: new RunPodClient({
      baseUrl: process.env.RUNPOD_API_BASE_URL || DEFAULT_RUNPOD_API_BASE_URL,
      endpointId: required('RUNPOD_ENDPOINT_ID'),
      timeoutMs: RUNPOD_TIMEOUT_MS,
      apiKey: async (options) => {
        const value = await ssm.get(keyParam, { decrypt: true, maxAge: KEY_CACHE_SECONDS, forceFetch: Boolean(options?.refresh) });
        if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(`SSM parameter ${keyParam} is empty.`);
        return value.trim();
      },
    }),
    logger: createLogger('data-poller'),
  };
  return deps;
}

export class PollErrors extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PollErrors';
  }
}

/**
 * The poll handles every run it can; if any call failed, the invocation then fails too, so the
 * Lambda Errors metric shows it (the retries EventBridge makes are harmless: the poll is idempotent).
 */
export const handler = async (): Promise<PollResult> => {
  const result = await poll(containerDeps());
  if (result.errors.length > 0) {
    throw new PollErrors(`${result.errors.length} RunPod/S3 call(s) failed: ${result.errors.map((e) => `${e.step}${e.run_id ? ` ${e.run_id}` : ''}: ${e.error}`).join('; ').slice(0, 1000)}`);
  }
  return result;
};
