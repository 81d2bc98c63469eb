// One forecast run through the real handlers (src/lambdas/*/index.ts) with their real Powertools
// loggers, as test/delivery/e2e.test.ts runs it: Batcher -> eval worker -> EmailWorker and
// WebhookWorker, against fauxqs, aws-ses-v2-local and PostgreSQL. What each handler writes to stdout
// is kept per function, exactly as Lambda would ship it to that function's log group.
//
// The run: tile "a" holds one watchpoint with an email and a webhook channel (both delivered), tile
// "b" one whose webhook answers 500 once and then 200 (retried, then delivered) and one whose webhook
// answers 404 (failed permanently). A tile with no watchpoints gets no job.
//
// A second run, `failing`, has two jobs: one whose tile is not in S3 (the eval worker calls it corrupt
// and parks it in the DLQ itself), and one whose bucket does not exist, which fails on every receive
// up to the third (the queue's maxReceiveCount), so SQS moves it to the DLQ.
import type { S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { captureLogs } from '../pipeline/logs.ts';
import { DATABASE_URL_PARAM, PARAM_PREFIX, handlerEndpoint, putSecureParameter, clients, createBucket, createQueues, drain, gridTile, insertWatchpoints, lambdaEnv, s3Event, sqsRecord, writeRun } from '../pipeline/fixtures.ts';
import { pollOnce, startReceiver, unique } from '../delivery/helpers.ts';
import { createTestDatabase } from '../helpers/postgres.ts';

export interface RunLogs {
  runId: string;
  failing: { runId: string; corruptJobId: string; failedJobId: string };
  /** Bodies the eval worker sent to the DLQ itself (the corrupt job). */
  parked: string[];
  jobIds: string[];
  /** Notification ids by outcome. */
  notifications: { delivered: string[]; retriedThenDelivered: string[]; failed: string[] };
  watchpointIds: string[];
  /** Log lines per function alias (batcher, eval-urgent, email, webhook), in the order written. */
  lines: Record<string, string[]>;
}

type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export async function runForecastThroughHandlers(endpoints: { fauxqs: string; ses: string; databaseUrl: string }): Promise<RunLogs> {
  const { s3, sqs } = clients(endpoints.fauxqs);
  const router = await handlerEndpoint(endpoints.fauxqs);
  const db = await createTestDatabase(endpoints.databaseUrl);
  const secrets = new Map<string, string>();
  const receiver = await startReceiver((id) => secrets.get(id));
  const saved = { ...process.env };
  const lines: Record<string, string[]> = { batcher: [], 'eval-urgent': [], email: [], webhook: [] };
  let closePool: (() => Promise<void>) | undefined;
  try {
    const queues = await createQueues(sqs);
    const bucket = await createBucket(s3);
    await putSecureParameter(DATABASE_URL_PARAM, db.url);
    await putSecureParameter(`${PARAM_PREFIX}/email/sender`, 'WatchPoint <alerts@watchpoint.test>', 'String');
    Object.assign(process.env, {
      ...lambdaEnv(router.endpoint, queues),
      AWS_ENDPOINT_URL_SESV2: endpoints.ses,
      EMAIL_SENDER_SSM_PARAM: `${PARAM_PREFIX}/email/sender`,
      WEBHOOK_ALLOW_INSECURE_TARGETS: 'loopback',
    });
    delete process.env.AWS_LAMBDA_FUNCTION_NAME;
    const batcher: (event: S3Event) => Promise<void> = (await import('../../src/lambdas/batcher/index.ts')).handler;
    const evalWorker: SqsHandler = (await import('../../src/lambdas/eval-worker/index.ts')).handler;
    const emailWorker: SqsHandler = (await import('../../src/lambdas/email-worker/index.ts')).handler;
    const webhookWorker: SqsHandler = (await import('../../src/lambdas/webhook-worker/index.ts')).handler;
    closePool = (await import('../../src/lambdas/shared/db.ts')).closePool;

    const as = async <T>(alias: string, work: () => Promise<T>): Promise<T> => {
      const logs = captureLogs();
      try {
        return await work();
      } finally {
        logs.restore();
        lines[alias]!.push(...logs.lines());
      }
    };

    const leads = [0, 1, 2, 3, 4, 5, 6];
    const hot = { variable: 'temperature_2m', condition: 'gt' as const, threshold: 32.5, window_end_hours: 6 };
    const [both, flaky, gone] = await insertWatchpoints(db.pool, [
      { name: 'both', latitude: 40.4, longitude: -3.7, ...hot, channels: [{ type: 'email', address: `${unique('ops')}@example.com` }, { type: 'webhook', url: receiver.url('/ok') }] },
      { name: 'flaky', latitude: 41.4, longitude: -3.7, ...hot, channels: [{ type: 'webhook', url: receiver.url('/flaky') }] },
      { name: 'gone', latitude: 41.6, longitude: -3.2, ...hot, channels: [{ type: 'webhook', url: receiver.url('/gone') }] },
    ]);
    const { rows } = await db.pool.query<{ id: string; webhook_secret: string }>('SELECT id::text, webhook_secret FROM watchpoints');
    for (const row of rows) secrets.set(row.id, row.webhook_secret);
    receiver.script('/flaky', [500, 200]);
    receiver.script('/gone', [404]);

    const tiles = [
      gridTile('a', 40, -4, 1, 4, leads, { temperature_2m: (t) => 30 + t }),
      gridTile('b', 41, -4, 1, 4, leads, { temperature_2m: (t) => 30 + t }),
      gridTile('empty', 10, 10, 1, 4, leads, { temperature_2m: () => 99 }),
    ];
    const run = await writeRun(s3, bucket, { forecastType: 'nowcast', tiles, issuedAt: '2026-11-27T06:00:00Z' });
    await as('batcher', () => batcher(s3Event(bucket, run.successKey)));
    const jobs = await drain(sqs, queues.urgent);
    await as('eval-urgent', () => evalWorker({ Records: jobs.map((m) => sqsRecord(m, 'arn:aws:sqs:us-east-1:000000000000:eval-urgent')) }));
    await as('email', () => pollOnce(sqs, queues.email, emailWorker));
    // Three polls: the first fails /flaky (500), the second delivers it; /gone fails permanently at once.
    for (let poll = 0; poll < 3; poll += 1) await as('webhook', () => pollOnce(sqs, queues.webhook, webhookWorker));

    const failingRun = unique('run');
    const template = JSON.parse(jobs[0]!.Body!) as { job_id: string; run_id: string; tile: { key: string } };
    const corruptJob = { ...template, run_id: failingRun, job_id: template.job_id.replace(/^.{8}/, 'c0c0c0c0'), tile: { ...template.tile, key: `nowcast/${failingRun}/tiles/missing.zarr` } };
    const failedJob = { ...corruptJob, job_id: template.job_id.replace(/^.{8}/, 'deadbeef'), bucket: unique('no-such-bucket') };
    const record = (job: object, receive: string) => sqsRecord({ Body: JSON.stringify(job), MessageId: unique('msg'), Attributes: { ApproximateReceiveCount: receive } }, 'arn:aws:sqs:us-east-1:000000000000:eval-urgent');
    await as('eval-urgent', () => evalWorker({ Records: [record(corruptJob, '1')] }));
    for (const receive of ['1', '2', '3']) await as('eval-urgent', () => evalWorker({ Records: [record(failedJob, receive)] }));
    const parked = (await drain(sqs, queues.deadLetter)).map((m) => m.Body!);

    const records = await db.pool.query<{ id: string; watchpoint_id: string; status: string; attempts: number }>(
      'SELECT id::text, watchpoint_id::text, status, attempts FROM notification_records WHERE run_id = $1',
      [run.runId],
    );
    const ofWatchpoint = (id: string | undefined) => records.rows.filter((r) => r.watchpoint_id === id);
    return {
      runId: run.runId,
      failing: { runId: failingRun, corruptJobId: corruptJob.job_id, failedJobId: failedJob.job_id },
      parked,
      jobIds: jobs.map((m) => (JSON.parse(m.Body!) as { job_id: string }).job_id),
      notifications: {
        delivered: ofWatchpoint(both).map((r) => r.id),
        retriedThenDelivered: ofWatchpoint(flaky).map((r) => r.id),
        failed: ofWatchpoint(gone).map((r) => r.id),
      },
      watchpointIds: [both!, flaky!, gone!],
      lines,
    };
  } finally {
    await closePool?.();
    await receiver.close();
    await db.drop();
    await router.stop();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}
