// One pg Pool per container. The URL is read from SSM (DATABASE_URL_SSM_PARAM, a SecureString) once
// per container through the Powertools SSM provider's cache; a failed start is retried on the next
// invocation instead of poisoning the container.
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import pg from 'pg';
import { clientOptions } from './aws.ts';
import { readStackEnv } from './env.ts';

/** A Lambda handles one event at a time; a few connections let one job run queries in parallel. */
const POOL_SIZE = 3;
/** The URL changes only when the operator rotates it; a new container picks the new one up. */
const URL_CACHE_SECONDS = 24 * 3600;

let provider: SSMProvider | undefined;
let pool: Promise<pg.Pool> | undefined;

export async function databaseUrl(): Promise<string> {
  const { databaseUrlParam } = readStackEnv(['databaseUrlParam']);
  provider ??= new SSMProvider({ clientConfig: clientOptions() });
  const url = await provider.get(databaseUrlParam, { decrypt: true, maxAge: URL_CACHE_SECONDS });
  if (typeof url !== 'string' || url === '') throw new Error(`SSM parameter ${databaseUrlParam} is empty.`);
  return url;
}

export function getPool(): Promise<pg.Pool> {
  pool ??= databaseUrl().then(
    (connectionString) => {
      const created = new pg.Pool({ connectionString, max: POOL_SIZE, idleTimeoutMillis: 60_000, connectionTimeoutMillis: 5_000 });
      // An idle client that loses its connection must not crash the container.
      created.on('error', () => undefined);
      return created;
    },
    (error: unknown) => {
      pool = undefined;
      throw error;
    },
  );
  return pool;
}

/** For tests and shutdown hooks: closes the pool so the next getPool() reads SSM and connects again. */
export async function closePool(): Promise<void> {
  const current = pool;
  pool = undefined;
  provider = undefined;
  if (current) await (await current).end();
}

export type { Pool } from 'pg';
