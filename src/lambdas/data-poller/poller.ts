// DataPollerFunction's work, every 15 minutes:
//   1. each run in flight: complete when `<type>/<run>/_SUCCESS` exists in ForecastBucket; failed
//      when RunPod says so, or when it is still not done at its deadline (ForecastRunStuck);
//   2. each forecast type whose current slot has no run yet: start one on RunPod.
// No lock file: the UNIQUE (forecast_type, slot) constraint of forecast_runs decides which of two
// overlapping invocations starts a run (the other's INSERT does nothing), and retries of a start
// are claimed with a conditional UPDATE. See docs/api.md ("DataPoller").
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Pool } from 'pg';
import { FORECAST_TYPES, type ForecastType } from '../shared/messages.ts';
import { errorFields } from '../shared/observability.ts';
import { RunPodError, TERMINAL_FAILURES, type RunPodClient } from '../shared/runpod-client.ts';

export interface Schedule {
  /** A run is due once per slot: slots start every `intervalMinutes` from 00:00 UTC. */
  intervalMinutes: number;
  /** A run not complete this long after it was started is failed as stuck. */
  deadlineMinutes: number;
}

/**
 * nowcast: every 30 minutes (slots :00 and :30), stuck 45 minutes after its start.
 * medium_range: every 8 hours (00:00, 08:00, 16:00 UTC), stuck 6 hours after its start.
 * The stale alarms (30 min, 8 h) fire on a missing ForecastReady regardless.
 */
export const SCHEDULES: Readonly<Record<ForecastType, Schedule>> = {
  nowcast: { intervalMinutes: 30, deadlineMinutes: 45 },
  medium_range: { intervalMinutes: 480, deadlineMinutes: 360 },
};

/** A start that did not record a RunPod job id (a crash or a RunPod error) is retried after this (database clock). */
export const START_RETRY_AFTER_MS = 2 * 60_000;

export interface PollerDeps {
  pool: () => Promise<Pool>;
  s3: S3Client;
  forecastBucket: string;
  runpod: RunPodClient;
  logger: Logger;
  now?: () => Date;
  schedules?: Readonly<Record<ForecastType, Schedule>>;
}

export interface ForecastRun {
  id: string;
  forecast_type: ForecastType;
  run_id: string;
  slot: Date;
  status: 'starting' | 'running' | 'complete' | 'failed';
  runpod_job_id: string | null;
  runpod_status: string | null;
  start_attempts: number;
  last_error: string | null;
  deadline_at: Date;
  updated_at: Date;
}

export interface PollResult {
  started: string[];
  completed: string[];
  failed: string[];
  running: string[];
  /** Calls that failed (RunPod, S3); the runs stay as they were and are retried on the next poll. */
  errors: { run_id?: string; forecast_type?: ForecastType; step: string; error: string }[];
}

/** The slot (scheduled issue time) that contains `now`. */
export function currentSlot(now: Date, schedule: Schedule): Date {
  const interval = schedule.intervalMinutes * 60_000;
  return new Date(Math.floor(now.getTime() / interval) * interval);
}

/** `YYYY-MM-DDTHHMMZ`, e.g. 2026-11-27T0630Z: a valid RunId (docs/pipeline.md) and an S3 prefix. */
export function runIdFor(slot: Date): string {
  const iso = slot.toISOString();
  return `${iso.slice(0, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
}

export function runPodInput(forecastType: ForecastType, runId: string, slot: Date, bucket: string): Record<string, unknown> {
  return {
    forecast_type: forecastType,
    run_id: runId,
    issued_at: slot.toISOString().replace('.000Z', 'Z'),
    output: { bucket, prefix: `${forecastType}/${runId}/` },
  };
}

const RUN_COLUMNS = 'id, forecast_type, run_id, slot, status, runpod_job_id, runpod_status, start_attempts, last_error, deadline_at, updated_at';

async function successExists(deps: PollerDeps, run: ForecastRun): Promise<boolean> {
  try {
    await deps.s3.send(new HeadObjectCommand({ Bucket: deps.forecastBucket, Key: `${run.forecast_type}/${run.run_id}/_SUCCESS` }));
    return true;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((error as { name?: string }).name === 'NotFound' || status === 404) return false;
    throw error;
  }
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error)).slice(0, 500);

export async function poll(deps: PollerDeps): Promise<PollResult> {
  const now = deps.now?.() ?? new Date();
  const schedules = deps.schedules ?? SCHEDULES;
  const pool = await deps.pool();
  const result: PollResult = { started: [], completed: [], failed: [], running: [], errors: [] };

  const markFailed = async (run: ForecastRun, event: 'ForecastRunFailed' | 'ForecastRunStuck', reason: string): Promise<void> => {
    const { rowCount } = await pool.query(
      `UPDATE forecast_runs SET status = 'failed', last_error = $2, updated_at = now() WHERE id = $1 AND status IN ('starting', 'running')`,
      [run.id, reason],
    );
    if (!rowCount) return;
    result.failed.push(run.run_id);
    deps.logger.error(event === 'ForecastRunStuck' ? 'Forecast run stuck past its deadline' : 'Forecast run failed', {
      event,
      forecast_type: run.forecast_type,
      run_id: run.run_id,
      runpod_job_id: run.runpod_job_id,
      runpod_status: run.runpod_status,
      deadline_at: run.deadline_at.toISOString(),
      reason,
    });
  };

  const submit = async (run: Pick<ForecastRun, 'id' | 'forecast_type' | 'run_id' | 'slot'>): Promise<void> => {
    try {
      const job = await deps.runpod.run(runPodInput(run.forecast_type, run.run_id, run.slot, deps.forecastBucket));
      await pool.query(
        `UPDATE forecast_runs SET status = 'running', runpod_job_id = $2, runpod_status = $3, last_error = NULL, updated_at = now() WHERE id = $1`,
        [run.id, job.id, job.status],
      );
      result.started.push(run.run_id);
      deps.logger.info('Forecast run started', { event: 'ForecastRunStarted', forecast_type: run.forecast_type, run_id: run.run_id, runpod_job_id: job.id });
    } catch (error) {
      await pool.query('UPDATE forecast_runs SET last_error = $2, updated_at = now() WHERE id = $1', [run.id, describe(error)]);
      result.errors.push({ run_id: run.run_id, forecast_type: run.forecast_type, step: 'start', error: describe(error) });
      deps.logger.error('Could not start forecast run; retrying on the next poll', { event: 'ForecastRunStartFailed', forecast_type: run.forecast_type, run_id: run.run_id, ...errorFields(error) });
    }
  };

  // 1. Runs in flight.
  const inFlight = await pool.query<ForecastRun>(`SELECT ${RUN_COLUMNS} FROM forecast_runs WHERE status IN ('starting', 'running') ORDER BY created_at`);
  for (const run of inFlight.rows) {
    const pastDeadline = now.getTime() > run.deadline_at.getTime();
    try {
      if (run.runpod_job_id === null) {
        if (pastDeadline) {
          await markFailed(run, 'ForecastRunStuck', `never started on RunPod (${run.start_attempts} attempt(s); last error: ${run.last_error ?? 'none'})`);
          continue;
        }
        // Claim the retry, so two overlapping polls do not both submit it.
        const claimed = await pool.query(
          `UPDATE forecast_runs SET start_attempts = start_attempts + 1, updated_at = now()
            WHERE id = $1 AND status = 'starting' AND runpod_job_id IS NULL AND updated_at <= now() - make_interval(secs => $2)`,
          [run.id, START_RETRY_AFTER_MS / 1000],
        );
        if (claimed.rowCount) await submit(run);
        else result.running.push(run.run_id);
        continue;
      }
      if (await successExists(deps, run)) {
        await complete(pool, deps, run, result);
        continue;
      }
      const job = await deps.runpod.status(run.runpod_job_id);
      await pool.query('UPDATE forecast_runs SET runpod_status = $2, updated_at = now() WHERE id = $1', [run.id, job.status]);
      const current = { ...run, runpod_status: job.status };
      if ((TERMINAL_FAILURES as readonly string[]).includes(job.status)) {
        await markFailed(current, 'ForecastRunFailed', `RunPod job ${job.status}${job.error ? `: ${job.error}` : ''}`);
      } else if (job.status === 'COMPLETED') {
        // RunPod writes _SUCCESS last and then returns, so the object must be there now.
        if (await successExists(deps, run)) await complete(pool, deps, current, result);
        else await markFailed(current, 'ForecastRunFailed', 'RunPod reports COMPLETED but _SUCCESS is missing in ForecastBucket');
      } else if (pastDeadline) {
        await markFailed(current, 'ForecastRunStuck', `still ${job.status} on RunPod at the deadline`);
      } else {
        result.running.push(run.run_id);
      }
    } catch (error) {
      result.errors.push({ run_id: run.run_id, forecast_type: run.forecast_type, step: 'poll', error: describe(error) });
      deps.logger.error('Could not poll forecast run', { event: 'ForecastRunPollFailed', forecast_type: run.forecast_type, run_id: run.run_id, ...errorFields(error) });
      await pool.query('UPDATE forecast_runs SET last_error = $2 WHERE id = $1', [run.id, describe(error)]);
      if (pastDeadline) await markFailed(run, 'ForecastRunStuck', `not complete at the deadline; last error: ${describe(error)}`);
      else result.running.push(run.run_id);
    }
  }

  // 2. Runs that are due.
  const due: { forecastType: ForecastType; slot: Date; runId: string }[] = [];
  for (const forecastType of FORECAST_TYPES) {
    const slot = currentSlot(now, schedules[forecastType]);
    const existing = await pool.query('SELECT 1 FROM forecast_runs WHERE forecast_type = $1 AND slot = $2', [forecastType, slot]);
    if (existing.rowCount === 0) due.push({ forecastType, slot, runId: runIdFor(slot) });
  }
  if (due.length > 0) {
    // One cheap call tells whether RunPod (and our key) works before any run is recorded.
    try {
      const health = await deps.runpod.health();
      deps.logger.info('RunPod endpoint health', { event: 'RunPodHealth', jobs: health.jobs, workers: health.workers });
    } catch (error) {
      result.errors.push({ step: 'health', error: describe(error) });
      deps.logger.error('RunPod health check failed; no run started', {
        event: error instanceof RunPodError && error.kind === 'auth' ? 'RunPodAuthFailed' : 'RunPodUnavailable',
        due: due.map((d) => d.runId),
        ...errorFields(error),
      });
      return result;
    }
    for (const { forecastType, slot, runId } of due) {
      // From the start, not the slot: a run started late (poller or RunPod down) still gets its full time.
      const deadline = new Date(now.getTime() + schedules[forecastType].deadlineMinutes * 60_000);
      const inserted = await pool.query<{ id: string }>(
        `INSERT INTO forecast_runs (forecast_type, run_id, slot, status, start_attempts, deadline_at)
         VALUES ($1, $2, $3, 'starting', 1, $4) ON CONFLICT DO NOTHING RETURNING id`,
        [forecastType, runId, slot, deadline],
      );
      const id = inserted.rows[0]?.id;
      // Another invocation recorded this slot first: it starts the run, not us.
      if (id === undefined) continue;
      await submit({ id, forecast_type: forecastType, run_id: runId, slot });
    }
  }
  deps.logger.info('Poll finished', { event: 'PollDone', started: result.started.length, completed: result.completed.length, failed: result.failed.length, running: result.running.length, errors: result.errors.length });
  return result;
}

async function complete(pool: Pool, deps: PollerDeps, run: ForecastRun, result: PollResult): Promise<void> {
  const { rowCount } = await pool.query(
    `UPDATE forecast_runs SET status = 'complete', completed_at = now(), updated_at = now() WHERE id = $1 AND status IN ('starting', 'running')`,
    [run.id],
  );
  if (!rowCount) return;
  result.completed.push(run.run_id);
  deps.logger.info('Forecast run complete', { event: 'ForecastRunComplete', forecast_type: run.forecast_type, run_id: run.run_id, runpod_job_id: run.runpod_job_id });
}
