// Starts the protocol servers the suite uses (fauxqs, aws-ses-v2-local, PostgreSQL, moto), on 127.0.0.1 with ephemeral ports, once per run, and
// stops them when the run ends. Tests read the endpoints with `inject('fauxqsEndpoint')` etc.
// If one fails to start, the ones already running are stopped before the error propagates, so a
// broken setup fails the run at once instead of leaving servers that keep the process alive.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** fauxqs: SQS, S3 and SNS. */
    fauxqsEndpoint: string;
    /** aws-ses-v2-local: SES v1/v2 sends; GET /store lists them, POST /clear-store resets. */
    sesEndpoint: string;
    /** PostgreSQL 15 superuser URL (test/helpers/postgres.ts); take a database with createTestDatabase(). */
    databaseUrl: string;
    /** moto (test/helpers/moto-server.ts): `http://127.0.0.1:PORT`; clients via test/helpers/moto.ts. */
    motoEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  // All at once: one slow stop (moto under load) must not use up vitest's teardown time before the
  // others have even started, which left PostgreSQL running after the run.
  const stopAll = async () => {
    const results = await Promise.allSettled(stops.splice(0).reverse().map((stop) => stop()));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  };
  // moto takes 1-2 s to start (Python); start it first and collect it last, so it overlaps the others.
  const { startMoto } = await import('./helpers/moto-server.ts');
  const motoStarting = startMoto();
  motoStarting.catch(() => undefined);
  try {
    const { buildApp } = await import('fauxqs');
    const fauxqs = buildApp({ logger: false });
    const fauxqsEndpoint = await fauxqs.listen({ host: '127.0.0.1', port: 0 });
    stops.push(() => fauxqs.close());
    project.provide('fauxqsEndpoint', fauxqsEndpoint);

    const sesModule = (await import('aws-ses-v2-local')) as unknown as { default: { default?: unknown } | unknown };
    const startSes = ((sesModule.default as { default?: unknown }).default ?? sesModule.default) as (config: { host: string; port: number }) => Promise<Server>;
    const ses = await startSes({ host: '127.0.0.1', port: 0 });
    stops.push(async () => {
      ses.closeAllConnections();
      await new Promise<void>((resolve) => ses.close(() => resolve()));
    });
    project.provide('sesEndpoint', `http://127.0.0.1:${(ses.address() as AddressInfo).port}`);

    // PostgreSQL (issue 8): one throwaway cluster per run, about 1 s to start.
    const { startPostgres } = await import('./helpers/postgres.ts');
    const postgres = await startPostgres();
    stops.push(() => postgres.stop());
    project.provide('databaseUrl', postgres.url);

    const moto = await motoStarting;
    stops.push(() => moto.stop());
    project.provide('motoEndpoint', moto.endpoint);
  } catch (error) {
    await motoStarting.then((moto) => moto.stop(), () => undefined);
    await stopAll();
    throw error;
  }
  return stopAll;
}
