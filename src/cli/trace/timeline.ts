// From the log lines that carry an id to the story of a run, a job or a notification: the pipeline's
// steps in order, each eval job's and each delivery's outcome, durations between steps, and which
// messages have probably reached the dead-letter queue. Pure: no AWS, no clock.
import type { TraceKind } from './ids.ts';

export interface TraceLine {
  timestamp: number;
  /** The function's short name (batcher, eval-urgent, email, ...). */
  alias: string;
  /** The Powertools line's fields. */
  fields: Record<string, unknown>;
}

export type JobOutcome = 'done' | 'corrupt' | 'failed' | 'retrying';
export type DeliveryOutcome = 'delivered' | 'failed' | 'dropped' | 'retrying' | 'duplicate';

export interface JobStory {
  jobId: string;
  worker: string;
  outcome: JobOutcome;
  /** Failed attempts seen (EvalJobFailed lines). */
  failedAttempts: number;
  /** The highest SQS receive count seen on a failure. */
  lastReceiveCount: number | undefined;
  notificationsEnqueued: number | undefined;
  firstAt: string;
  lastAt: string;
  error: string | undefined;
}

export interface DeliveryStory {
  notificationId: string;
  channel: string;
  watchpointId: string | undefined;
  jobId: string | undefined;
  outcome: DeliveryOutcome;
  /** Failed attempts before the outcome (DeliveryRetry lines). */
  retries: number;
  attempt: number | undefined;
  lastReceiveCount: number | undefined;
  reason: string | undefined;
  firstAt: string;
  lastAt: string;
}

export interface Suspect {
  kind: 'job' | 'notification';
  id: string;
  why: string;
}

export interface Step {
  at: string;
  function: string;
  text: string;
  /** Milliseconds since the previous step. */
  sincePreviousMs: number | null;
}

export interface Timeline {
  schemaVersion: 1;
  id: string;
  kind: TraceKind;
  run: { runId: string; forecastType: string | undefined; readyAt: string | undefined; tiles: number | undefined; jobsEnqueued: number | undefined; queue: string | undefined } | undefined;
  steps: Step[];
  jobs: { total: number; byOutcome: Record<JobOutcome, number>; retried: number; items: JobStory[] };
  deliveries: { total: number; byOutcome: Record<DeliveryOutcome, number>; retried: number; items: DeliveryStory[] };
  durations: { readyToLastJobMs: number | null; lastJobToLastDeliveryMs: number | null; totalMs: number | null };
  deadLetter: { depth: number | undefined; suspects: Suspect[]; note: string };
  /** Other lines (API, poller, errors without an outcome), in time order, for the text view. */
  other: { at: string; function: string; level: string; message: string }[];
  lines: number;
}

export interface TimelineInput {
  id: string;
  kind: TraceKind;
  lines: readonly TraceLine[];
  /** The source queue's maxReceiveCount per consumer alias (eval-urgent, email, ...). */
  maxReceiveCount: Record<string, number | undefined>;
  /** Messages in the DLQ now (ApproximateNumberOfMessages), when read. */
  dlqDepth: number | undefined;
}

/** Which queue a forecast type's jobs go to (src/lambdas/batcher/batcher.ts queueFor). */
const QUEUE_OF: Record<string, string> = { nowcast: 'EvalQueueUrgent', medium_range: 'EvalQueueStandard' };

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const num = (value: unknown): number | undefined => {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
};
const iso = (ms: number) => new Date(ms).toISOString();

export function buildTimeline(input: TimelineInput): Timeline {
  const lines = [...input.lines].sort((a, b) => a.timestamp - b.timestamp);
  const jobs = new Map<string, JobStory>();
  const deliveries = new Map<string, DeliveryStory>();
  const other: Timeline['other'] = [];
  let run: Timeline['run'];
  let readyAt: number | undefined;

  // First and last times as numbers while building; turned into ISO strings once at the end.
  const span = new Map<JobStory | DeliveryStory, [number, number]>();
  const touch = (story: JobStory | DeliveryStory, ms: number) => {
    const known = span.get(story);
    if (known) known[1] = ms;
    else span.set(story, [ms, ms]);
  };
  for (const line of lines) {
    const f = line.fields;
    const event = str(f.event);
    if (event === 'ForecastReady') {
      const at = iso(line.timestamp);
      readyAt ??= line.timestamp;
      const forecastType = str(f.forecast_type);
      run = { runId: str(f.run_id) ?? '', forecastType, readyAt: at, tiles: num(f.tiles), jobsEnqueued: num(f.jobs), queue: forecastType ? QUEUE_OF[forecastType] : undefined };
      continue;
    }
    const jobId = str(f.job_id);
    if (jobId && (event === 'EvalJobDone' || event === 'EvalJobFailed' || event === 'ZarrChecksumError')) {
      const job = jobs.get(jobId) ?? {
        jobId, worker: line.alias, outcome: 'retrying' as JobOutcome, failedAttempts: 0, lastReceiveCount: undefined, notificationsEnqueued: undefined, firstAt: '', lastAt: '', error: undefined,
      };
      touch(job, line.timestamp);
      if (event === 'EvalJobDone') {
        job.outcome = 'done';
        job.notificationsEnqueued = (job.notificationsEnqueued ?? 0) + (num(f.enqueued) ?? 0);
      } else if (event === 'ZarrChecksumError') {
        job.outcome = 'corrupt';
        job.error = str(f.detail) ?? str(f.kind);
      } else if (job.outcome !== 'done' && job.outcome !== 'corrupt') {
        job.failedAttempts += 1;
        job.lastReceiveCount = Math.max(job.lastReceiveCount ?? 0, num(f.receive_count) ?? 0) || undefined;
        job.error = str(f.error);
        const limit = input.maxReceiveCount[line.alias];
        job.outcome = limit !== undefined && (job.lastReceiveCount ?? 0) >= limit ? 'failed' : 'retrying';
      }
      jobs.set(jobId, job);
      continue;
    }
    const notificationId = str(f.notification_id);
    if (notificationId && event?.startsWith('Delivery')) {
      const story = deliveries.get(notificationId) ?? {
        notificationId, channel: line.alias, watchpointId: str(f.watchpoint_id), jobId: undefined, outcome: 'retrying' as DeliveryOutcome,
        retries: 0, attempt: undefined, lastReceiveCount: undefined, reason: undefined, firstAt: '', lastAt: '',
      };
      touch(story, line.timestamp);
      story.jobId ??= str(f.job_id);
      story.watchpointId ??= str(f.watchpoint_id);
      const settled = story.outcome === 'delivered' || story.outcome === 'failed' || story.outcome === 'dropped';
      if (event === 'DeliverySucceeded') Object.assign(story, { outcome: 'delivered', attempt: num(f.attempt) });
      else if (event === 'DeliveryFailed') Object.assign(story, { outcome: 'failed', attempt: num(f.attempt), reason: str(f.reason) });
      else if (event === 'DeliveryDropped') Object.assign(story, { outcome: 'dropped', reason: 'no notification record (watchpoint deleted?)' });
      else if (event === 'DeliveryDuplicate') {
        if (!settled) story.outcome = 'duplicate';
      } else if (event === 'DeliveryRetry' && !settled) {
        story.retries += 1;
        story.lastReceiveCount = Math.max(story.lastReceiveCount ?? 0, num(f.receive_count) ?? 0) || undefined;
        story.reason = str(f.error);
        story.outcome = 'retrying';
      }
      deliveries.set(notificationId, story);
      continue;
    }
    if (event === 'WebhookTestAllowance') continue;
    other.push({ at: iso(line.timestamp), function: line.alias, level: str(f.level) ?? '', message: str(f.message) ?? '' });
  }

  for (const [story, [first, last]] of span) {
    story.firstAt = iso(first);
    story.lastAt = iso(last);
  }
  const jobItems = [...jobs.values()];
  const deliveryItems = [...deliveries.values()];
  const suspects: Suspect[] = [];
  for (const job of jobItems) {
    if (job.outcome === 'corrupt') suspects.push({ kind: 'job', id: job.jobId, why: 'corrupt tile: the eval worker parked the job in the DLQ' });
    else if (job.outcome === 'failed') suspects.push({ kind: 'job', id: job.jobId, why: `failed on receive ${job.lastReceiveCount} of ${input.maxReceiveCount[job.worker]}: SQS moves it to the DLQ` });
  }
  for (const story of deliveryItems) {
    const limit = input.maxReceiveCount[story.channel];
    if (story.outcome === 'retrying' && limit !== undefined && (story.lastReceiveCount ?? 0) >= limit) {
      suspects.push({ kind: 'notification', id: story.notificationId, why: `failed on receive ${story.lastReceiveCount} of ${limit}: SQS moves it to the DLQ` });
    }
  }

  const lastJob = maxTime(jobItems.map((j) => j.lastAt));
  const lastDelivery = maxTime(deliveryItems.map((d) => d.lastAt));
  const first = lines[0]?.timestamp;
  const last = lines[lines.length - 1]?.timestamp;
  const timeline: Timeline = {
    schemaVersion: 1,
    id: input.id,
    kind: input.kind,
    run,
    steps: [],
    jobs: { total: jobItems.length, byOutcome: countBy(jobItems, ['done', 'corrupt', 'failed', 'retrying']), retried: jobItems.filter((j) => j.failedAttempts > 0).length, items: jobItems },
    deliveries: {
      total: deliveryItems.length,
      byOutcome: countBy(deliveryItems, ['delivered', 'failed', 'dropped', 'retrying', 'duplicate']),
      retried: deliveryItems.filter((d) => d.retries > 0).length,
      items: deliveryItems,
    },
    durations: {
      readyToLastJobMs: readyAt !== undefined && lastJob !== undefined ? lastJob - readyAt : null,
      lastJobToLastDeliveryMs: lastJob !== undefined && lastDelivery !== undefined ? lastDelivery - lastJob : null,
      totalMs: first !== undefined && last !== undefined ? last - first : null,
    },
    deadLetter: {
      depth: input.dlqDepth,
      suspects,
      note: 'Read without receiving: the DLQ depth is exact, but which messages it holds is inferred from the logs. `watchpoint dlq inspect` shows them (receiving hides them briefly and adds 1 to their receive count).',
    },
    other,
    lines: lines.length,
  };
  timeline.steps = steps(timeline);
  return timeline;
}

/** The pipeline's milestones, one per stage and function, in time order. */
function steps(t: Timeline): Step[] {
  const raw: { at: string; function: string; text: string }[] = [];
  if (t.run?.readyAt) {
    raw.push({
      at: t.run.readyAt,
      function: 'batcher',
      text: `ForecastReady ${t.run.forecastType ?? ''} ${t.run.runId}: ${t.run.tiles ?? '?'} tiles, ${t.run.jobsEnqueued ?? '?'} jobs enqueued${t.run.queue ? ` on ${t.run.queue}` : ''}`,
    });
  }
  for (const worker of unique(t.jobs.items.map((j) => j.worker))) {
    const mine = t.jobs.items.filter((j) => j.worker === worker);
    const counts = countBy(mine, ['done', 'corrupt', 'failed', 'retrying']);
    const enqueued = mine.reduce((sum, j) => sum + (j.notificationsEnqueued ?? 0), 0);
    raw.push({
      at: new Date(maxTime(mine.map((j) => j.lastAt))!).toISOString(),
      function: worker,
      text: `${mine.length} eval job${mine.length === 1 ? '' : 's'}: ${summary(counts)}${retriedText(mine.filter((j) => j.outcome === 'done' && j.failedAttempts > 0).length, 'done')}; ${enqueued} notification${enqueued === 1 ? '' : 's'} enqueued`,
    });
  }
  for (const channel of unique(t.deliveries.items.map((d) => d.channel))) {
    const mine = t.deliveries.items.filter((d) => d.channel === channel);
    const counts = countBy(mine, ['delivered', 'failed', 'dropped', 'retrying', 'duplicate']);
    raw.push({
      at: new Date(maxTime(mine.map((d) => d.lastAt))!).toISOString(),
      function: channel,
      text: `${mine.length} ${channel} deliver${mine.length === 1 ? 'y' : 'ies'}: ${summary({ ...counts, failed: 0, ...(counts.failed ? { 'failed permanently': counts.failed } : {}) })}${retriedText(mine.filter((d) => d.outcome === 'delivered' && d.retries > 0).length, 'delivered')}`,
    });
  }
  raw.sort((a, b) => a.at.localeCompare(b.at));
  return raw.map((step, i) => ({ ...step, sincePreviousMs: i === 0 ? null : Date.parse(step.at) - Date.parse(raw[i - 1]!.at) }));
}

function summary(counts: Record<string, number>): string {
  return Object.entries(counts).filter(([, n]) => n > 0).map(([outcome, n]) => `${n} ${outcome}`).join(', ') || 'none';
}

function retriedText(n: number, outcome: string): string {
  return n > 0 ? ` (${n} ${outcome} after a retry)` : '';
}

function countBy<T extends { outcome: string }, K extends string>(items: readonly T[], keys: readonly K[]): Record<K, number> {
  const counts = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const item of items) counts[item.outcome as K] = (counts[item.outcome as K] ?? 0) + 1;
  return counts;
}

function maxTime(values: readonly string[]): number | undefined {
  return values.length === 0 ? undefined : Math.max(...values.map((v) => Date.parse(v)));
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
