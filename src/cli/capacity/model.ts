// The capacity model: a forecast cycle's wall time, usage and cost on AWS, from the unit costs the
// capacity bench measured on real handlers and PostgreSQL (measured.json) and the settings of the
// synthesized template (settings.ts). Every number not measured is a named assumption below, with
// its source; docs/capacity.md explains the model.
import type { FunctionSettings, PipelineFunction, TemplateSettings } from './settings.ts';

/** What `npm run bench capacity` writes (CAPACITY_WRITE=1) to src/cli/capacity/measured.json. */
export interface MeasuredUnitCosts {
  schemaVersion: 1;
  measuredAt: string;
  machine: { cpus: string; node: string; loadAverage: number };
  tileShape: string;
  /** The baseline invocation (webhook handler, one already-delivered notification), ms. */
  baselineMs: number;
  batcher: { fixed: UnitCost; perTile: UnitCost; perWatchpoint: UnitCost; fit: FitInfo };
  eval: {
    perTile: UnitCost;
    perWatchpoint: UnitCost;
    perNotification: UnitCost;
    bytesPerTile: number;
    getsPerTile: number;
    /** evaluateWatchpoint alone, measured on its own (a floor under perWatchpoint.cpuMs). */
    pureCpuMsPerWatchpoint: number;
    /** CPU the local S3/SQS stand-ins spent per job (AWS's side of the calls; used for the local prediction only). */
    standInCpuMsPerTile: number;
    fit: FitInfo;
  };
  delivery: Record<Channel, { perNotification: UnitCost; samples: number }>;
  measurements: unknown[];
  /** Whole cycles through `watchpoint dev` against the local prediction (predictLocalCycle). */
  validation: {
    watchpoints: number;
    share: number;
    jobs: number;
    notifications: number;
    predictedMs: number;
    predictedStagesMs: Record<'batcher' | 'eval' | 'email' | 'webhook', number>;
    measuredMs: number;
    measuredStagesMs: { batcher: number; eval: number; deliveryAfterEval: number };
    /** Event-loop utilization of the platform's main thread during the cycle, 0-1. */
    mainThreadBusy: number;
    /** CPU the platform's process used during the cycle, in cores. */
    processCores: number;
    /** CPU of the platform's process by the unit costs, and as measured, ms. */
    predictedCpuMs: number;
    measuredCpuMs: number;
    differencePercent: number;
  }[];
}

/**
 * One unit's measured cost: the wall time on the bench machine, the CPU the handler's own process
 * used (its code, the SDK, the pg client), and the time inside PostgreSQL calls (round trip included).
 */
export interface UnitCost {
  wallMs: number;
  cpuMs: number;
  dbMs: number;
}

interface FitInfo {
  r2: number;
  rmseMs: number;
  points: number;
}

export type Channel = 'email' | 'webhook';
export type ForecastType = 'nowcast' | 'medium_range';

// --- assumptions (each named, with its source) ---------------------------------------------------

export const ASSUMPTIONS = {
  /**
   * Lambda gives a function CPU in proportion to its memory: "At 1,769 MB, a function has the
   * equivalent of one vCPU" (AWS Lambda Developer Guide, "Configure Lambda function memory").
   */
  lambdaMbPerVcpu: 1769,
  /**
   * One Lambda vCPU (arm64, Graviton) taken as equal to one core of the bench machine. NOT measured:
   * there is no AWS account. Graviton2's single-thread speed is below a current x86 desktop core, so
   * 1.0 is optimistic; the CPU-bound part of every figure scales linearly with it.
   */
  machineCoreToLambdaVcpu: 1.0,
  /** S3 first-byte latency for small objects, "roughly 100-200 ms" (Amazon S3 User Guide, "Performance guidelines"); the low end. */
  s3FirstByteMs: 100,
  /** Sequential S3 waves per tile read: each array's zarr.json, then its chunks (zarrita; arrays in parallel). From the code. */
  s3WavesPerTile: 2,
  /** One SQS API call from Lambda in the same region. Assumed; AWS publishes no figure. */
  sqsRequestMs: 20,
  /** One PostgreSQL round trip to RDS in the same region. Assumed. */
  databaseRoundTripMs: 1,
  /** Round trips the eval worker makes per tile (select; claim, status, mark when it notifies). From the code. */
  evalRoundTrips: 4,
  /** Round trips per delivered notification (claim, mark). From the code (delivery-records.ts). */
  deliveryRoundTrips: 2,
  /** SES SendEmail answer time. Assumed. */
  sesSendMs: 100,
  /** A customer's webhook endpoint answer time. Assumed; the worker's timeout (10 s) is the worst case. */
  webhookResponseMs: 250,
  /** SES maximum send rate per second: the default production quota in many regions (SES quotas page); an account setting. */
  sesMaxSendRate: 14,
  /** Lambda concurrency per account and region (default quota; Lambda quotas page). */
  accountConcurrency: 1000,
  /** SQS event sources: start with 5 concurrent invocations, add up to 300 a minute, up to 1,250 per mapping (Lambda Developer Guide, "Scaling for SQS event sources"). */
  sqsInitialConcurrency: 5,
  sqsScaleUpPerMinute: 300,
  sqsMappingMaxConcurrency: 1250,
  /** Tiles of a forecast run (the docs/pipeline.md example manifest: 2,000); watchpoints spread uniformly over them (occupiedTiles). */
  tilesPerRun: 2000,
  /** Share of notifications that are emails (the rest webhooks); the bench's mix. */
  emailShare: 0.5,
  /** Channels per triggering watchpoint. */
  channelsPerWatchpoint: 1,
  /** Lead times per tile: nowcast 7 (0-6 h), medium range 13 (src/dev/forecast.ts); bytes and per-tile time scale with them. */
  leads: { nowcast: 7, medium_range: 13 } as Record<ForecastType, number>,
  /** Cycles: nowcast every 15 minutes, medium range every 8 hours (the issue; the stale alarms' periods). */
  intervalSeconds: { nowcast: 900, medium_range: 28_800 } as Record<ForecastType, number>,
  /** 30-day month. */
  daysPerMonth: 30,
  /** Bytes of log per record (one JSON line per job or notification) plus Lambda's START/END/REPORT lines per invocation. Assumed. */
  logBytesPerRecord: 500,
  logBytesPerInvocation: 350,
  /** Bytes of a webhook POST (JSON body and headers). Assumed. */
  webhookBytes: 1500,
  /** StartMessageMoveTask's maximum rate (SQS API reference): a DLQ redrive's speed. */
  redriveMessagesPerSecond: 500,
} as const;

/** AWS prices, us-east-1, on-demand, read 2026-12-06 from the AWS pricing pages (see docs/capacity.md). */
export const PRICES = {
  region: 'us-east-1',
  readOn: '2026-12-06',
  /** aws.amazon.com/lambda/pricing: Arm, first 7.5 billion GB-s a month. */
  lambdaArmGbSecondUsd: 0.0000133334,
  lambdaX86GbSecondUsd: 0.0000166667,
  lambdaRequestUsd: 0.2 / 1e6,
  /** aws.amazon.com/lambda/pricing: Provisioned Concurrency, Arm, per GB-s configured. */
  lambdaArmProvisionedGbSecondUsd: 0.0000033334,
  /** aws.amazon.com/sqs/pricing: standard queue, per request (64 KB chunk), after the free tier. */
  sqsRequestUsd: 0.4 / 1e6,
  /** aws.amazon.com/s3/pricing: GET, S3 Standard / Intelligent-Tiering frequent access, per request. */
  s3GetUsd: 0.0004 / 1000,
  /** aws.amazon.com/ses/pricing: per outbound email. */
  sesEmailUsd: 0.1 / 1000,
  /** aws.amazon.com/ec2/pricing/on-demand: data transfer out to the internet, first 10 TB, per GB (webhooks). */
  dataOutGbUsd: 0.09,
  /** aws.amazon.com/cloudwatch/pricing: Logs ingestion (standard), per GB. */
  logsIngestGbUsd: 0.5,
} as const;

// --- per-unit times on AWS ----------------------------------------------------------------------

/** How much slower the CPU-bound part runs at this memory size than on one bench-machine core. */
export function cpuFactor(memoryMb: number): number {
  return ASSUMPTIONS.machineCoreToLambdaVcpu * Math.max(1, ASSUMPTIONS.lambdaMbPerVcpu / memoryMb);
}

/**
 * A unit's time on Lambda: the handler's CPU slowed by cpuFactor, plus its time in PostgreSQL as
 * measured. The rest of the local wall time was the local S3/SQS/SES stand-ins answering; on AWS the
 * named latencies take its place.
 */
export function onLambda(cost: UnitCost, memoryMb: number): number {
  return cost.cpuMs * cpuFactor(memoryMb) + cost.dbMs;
}

/** a*x + b*y + ... of unit costs. */
function combine(...terms: [UnitCost, number][]): UnitCost {
  return terms.reduce((sum, [c, n]) => ({ wallMs: sum.wallMs + c.wallMs * n, cpuMs: sum.cpuMs + c.cpuMs * n, dbMs: sum.dbMs + c.dbMs * n }), { wallMs: 0, cpuMs: 0, dbMs: 0 });
}

export interface Workload {
  watchpoints: number;
  triggerShare: number;
  tiles: number;
}

export interface StagePrediction {
  function: PipelineFunction;
  records: number;
  invocations: number;
  /** Mean duration of one invocation (a full batch). */
  invocationMs: number;
  /** The stage's wall time, with Lambda's scaling and the concurrency limit. */
  wallMs: number;
  /** The concurrency the stage reached. */
  concurrency: number;
  gbSeconds: number;
}

export interface CyclePrediction {
  forecastType: ForecastType;
  jobs: number;
  watchpointsPerJob: number;
  notifications: Record<Channel, number>;
  stages: { batcher: StagePrediction; eval: StagePrediction; email: StagePrediction; webhook: StagePrediction };
  wallMs: number;
  intervalMs: number;
  headroomMs: number;
  usage: {
    lambdaRequests: number;
    lambdaGbSeconds: number;
    sqsRequests: number;
    s3Gets: number;
    s3Bytes: number;
    sesSends: number;
    webhookCalls: number;
    logBytes: number;
  };
  costUsd: CostBreakdown;
}

export interface CostBreakdown {
  lambda: number;
  sqs: number;
  s3: number;
  ses: number;
  dataTransfer: number;
  logs: number;
  total: number;
}

/** Tiles holding at least one watchpoint, for N spread uniformly over `tiles`. */
export function occupiedTiles(watchpoints: number, tiles: number): number {
  if (watchpoints <= 0) return 0;
  return Math.max(1, Math.min(watchpoints, Math.round(tiles * (1 - Math.exp(-watchpoints / tiles)))));
}

function evalFunction(forecastType: ForecastType): PipelineFunction {
  return forecastType === 'nowcast' ? 'evalUrgent' : 'evalStandard';
}

/** The concurrency an SQS-triggered function can reach: reserved, else the mapping's and the account's limits. */
export function concurrencyCap(fn: FunctionSettings): number {
  return Math.min(fn.reservedConcurrency ?? ASSUMPTIONS.accountConcurrency, ASSUMPTIONS.sqsMappingMaxConcurrency);
}

/**
 * Wall time to run `invocations` of `invocationMs` each when concurrency starts at the provisioned
 * or initial level and grows by sqsScaleUpPerMinute up to `cap`, and starts are limited to
 * `maxStartsPerSecond` (SES's rate for email). Closed form: the slots in use grow linearly, then stay
 * at the cap; the last invocation started ends `invocationMs` later.
 */
export function stageWallMs(invocations: number, invocationMs: number, cap: number, options: { initial?: number; maxStartsPerSecond?: number } = {}): { wallMs: number; concurrency: number } {
  if (invocations <= 0) return { wallMs: 0, concurrency: 0 };
  const d = Math.max(invocationMs, 1);
  // A start rate of s per ms keeps at most s * d slots busy.
  const ceiling = Math.min(cap, options.maxStartsPerSecond === undefined ? Infinity : (options.maxStartsPerSecond / 1000) * d);
  const c0 = Math.min(ceiling, Math.max(options.initial ?? 0, ASSUMPTIONS.sqsInitialConcurrency));
  const k = ASSUMPTIONS.sqsScaleUpPerMinute / 60_000; // slots per ms
  const work = invocations * d; // slot-ms
  const rampMs = (ceiling - c0) / k;
  const rampWork = c0 * rampMs + (k * rampMs * rampMs) / 2;
  const startsEndMs = work <= rampWork ? (-c0 + Math.sqrt(c0 * c0 + 2 * k * work)) / k : rampMs + (work - rampWork) / ceiling;
  const reached = Math.min(ceiling, c0 + k * startsEndMs);
  return { wallMs: startsEndMs + d, concurrency: Math.max(1, Math.min(Math.floor(reached), Math.ceil(invocations))) };
}

function stage(fn: FunctionSettings, key: PipelineFunction, records: number, recordMs: number, batchOverheadMs: number, options: { maxStartsPerSecond?: number } = {}): StagePrediction {
  const batch = Math.max(1, fn.batchSize);
  const invocations = Math.ceil(records / batch);
  const invocationMs = batchOverheadMs + Math.min(batch, Math.max(records, 1)) * recordMs;
  const { wallMs, concurrency } = records === 0 ? { wallMs: 0, concurrency: 0 } : stageWallMs(invocations, invocationMs, concurrencyCap(fn), { ...(fn.provisionedConcurrency ? { initial: fn.provisionedConcurrency } : {}), ...options });
  const totalMs = records === 0 ? 0 : batchOverheadMs * invocations + records * recordMs;
  return { function: key, records, invocations: records === 0 ? 0 : invocations, invocationMs: records === 0 ? 0 : invocationMs, wallMs, concurrency, gbSeconds: (totalMs / 1000) * (fn.memoryMb / 1024) };
}

function gbSecondPrice(fn: FunctionSettings): number {
  return fn.architecture === 'arm64' ? PRICES.lambdaArmGbSecondUsd : PRICES.lambdaX86GbSecondUsd;
}

/** One forecast cycle of `forecastType` on AWS. */
export function predictCycle(units: MeasuredUnitCosts, settings: TemplateSettings, workload: Workload, forecastType: ForecastType): CyclePrediction {
  const a = ASSUMPTIONS;
  const f = settings.functions;
  const jobs = occupiedTiles(workload.watchpoints, workload.tiles);
  const perJob = jobs === 0 ? 0 : workload.watchpoints / jobs;
  const notificationsTotal = Math.round(workload.watchpoints * workload.triggerShare * a.channelsPerWatchpoint);
  const emails = Math.round(notificationsTotal * a.emailShare);
  const notifications = { email: emails, webhook: notificationsTotal - emails };
  const leadScale = a.leads[forecastType] / a.leads.nowcast;

  // Batcher: one invocation; the query and the enqueue of every job (10 per SendMessageBatch, 10 in flight).
  const batcherUnits = combine([units.batcher.fixed, 1], [units.batcher.perTile, workload.tiles], [units.batcher.perWatchpoint, workload.watchpoints]);
  const batcherMs = onLambda(batcherUnits, f.batcher.memoryMb) + a.s3FirstByteMs + a.databaseRoundTripMs + Math.ceil(jobs / 100) * a.sqsRequestMs;
  const batcher = stage(f.batcher, 'batcher', 1, batcherMs, 0);

  // Eval: one record per job; the tile's CPU and waits scaled, plus S3's and SQS's latency.
  const evalFn = f[evalFunction(forecastType)];
  const notesPerJob = jobs === 0 ? 0 : notificationsTotal / jobs;
  const tileUnits = combine([units.eval.perTile, leadScale], [units.eval.perWatchpoint, perJob], [units.eval.perNotification, notesPerJob]);
  const tileMs = onLambda(tileUnits, evalFn.memoryMb) + a.s3WavesPerTile * a.s3FirstByteMs + a.evalRoundTrips * a.databaseRoundTripMs + (notesPerJob > 0 ? a.sqsRequestMs : 0);
  const evalStage = stage(evalFn, evalFunction(forecastType), jobs, tileMs, 0);

  // Delivery: records of a batch run in parallel, so a batch costs the records' CPU plus one wait.
  const delivery = (channel: Channel, key: 'email' | 'webhook', waitMs: number, maxStartsPerSecond?: number): StagePrediction => {
    const fn = f[key];
    const unit = units.delivery[channel].perNotification;
    // The records' CPU adds up (one thread); their waits overlap (in parallel): one per batch.
    const recordMs = unit.cpuMs * cpuFactor(fn.memoryMb);
    // SES's rate limits emails, i.e. invocations of `batch` records each.
    return stage(fn, key, notifications[channel], recordMs, waitMs + unit.dbMs + a.deliveryRoundTrips * a.databaseRoundTripMs, maxStartsPerSecond === undefined ? {} : { maxStartsPerSecond: maxStartsPerSecond / Math.max(1, fn.batchSize) });
  };
  const email = delivery('email', 'email', a.sesSendMs, a.sesMaxSendRate);
  const webhook = delivery('webhook', 'webhook', a.webhookResponseMs);

  // Stages in sequence (deliveries start as jobs finish, so this is an upper bound); email and webhook in parallel.
  const wallMs = batcher.wallMs + evalStage.wallMs + Math.max(email.wallMs, webhook.wallMs);
  const intervalMs = a.intervalSeconds[forecastType] * 1000;
  const stages = { batcher, eval: evalStage, email, webhook };
  const all = Object.values(stages);
  const lambdaRequests = all.reduce((s, x) => s + x.invocations, 0);
  const lambdaGbSeconds = all.reduce((s, x) => s + x.gbSeconds, 0);
  // SQS: the Batcher's SendMessageBatch; each consumer invocation's receive and delete; the eval's
  // SendMessageBatch per channel queue and job with notifications.
  const sqsRequests = Math.ceil(jobs / 10) + 2 * (evalStage.invocations + email.invocations + webhook.invocations) + Math.ceil(notifications.email / 10) + Math.ceil(notifications.webhook / 10) + Math.min(jobs, notificationsTotal);
  const s3Gets = 1 + Math.round(jobs * units.eval.getsPerTile);
  const s3Bytes = jobs * units.eval.bytesPerTile * leadScale;
  const logBytes = (jobs + notificationsTotal + 1) * a.logBytesPerRecord + lambdaRequests * a.logBytesPerInvocation;
  const lambdaCost = all.reduce((s, x) => s + x.gbSeconds * gbSecondPrice(f[x.function]), 0) + lambdaRequests * PRICES.lambdaRequestUsd;
  const costUsd = withTotal({
    lambda: lambdaCost,
    sqs: sqsRequests * PRICES.sqsRequestUsd,
    s3: s3Gets * PRICES.s3GetUsd,
    ses: notifications.email * PRICES.sesEmailUsd,
    dataTransfer: (notifications.webhook * a.webhookBytes / 1e9) * PRICES.dataOutGbUsd,
    logs: (logBytes / 1e9) * PRICES.logsIngestGbUsd,
  });
  return {
    forecastType,
    jobs,
    watchpointsPerJob: perJob,
    notifications,
    stages,
    wallMs,
    intervalMs,
    headroomMs: intervalMs - wallMs,
    usage: { lambdaRequests, lambdaGbSeconds, sqsRequests, s3Gets, s3Bytes, sesSends: notifications.email, webhookCalls: notifications.webhook, logBytes },
    costUsd,
  };
}

function withTotal(c: Omit<CostBreakdown, 'total'>): CostBreakdown {
  return { ...c, total: c.lambda + c.sqs + c.s3 + c.ses + c.dataTransfer + c.logs };
}

// --- limits ---------------------------------------------------------------------------------------

export interface Limit {
  id: string;
  what: string;
  /** The smallest watchpoint count (same share and tiles) at which it is hit; null: not below 100 million. */
  hitAt: number | null;
  /** Whether the requested size hits it. */
  hit: boolean;
  /** At the requested size: the value and the limit it is compared with. */
  value: number;
  limit: number;
  unit: string;
  /** The setting that moves the limit, and where it lives. */
  setting: string;
  where: string;
  /** When hit at the requested size: the change that clears it. */
  change?: string;
}

const MAX_SEARCH = 100_000_000;

interface LimitSpec {
  id: string;
  what: string;
  unit: string;
  setting: string;
  where: string;
  measure: (model: Model) => { value: number; limit: number };
  change?: (model: Model, input: ModelInput) => string;
}

interface Model {
  nowcast: CyclePrediction;
  mediumRange: CyclePrediction;
  settings: TemplateSettings;
}

const STACK = (file: string) => `stack code (${file}); no stage option`;

function limitSpecs(): LimitSpec[] {
  return [
    {
      id: 'nowcast-cycle',
      what: 'a nowcast cycle takes longer than the 15 minutes to the next one',
      unit: 's',
      setting: 'EvalWorkerUrgent concurrency (unreserved: the account quota) and the delivery workers\' concurrency',
      where: 'account quota (Service Quotas) and stack code (src/stack/constructs/functions.ts)',
      measure: (m) => ({ value: m.nowcast.wallMs / 1000, limit: m.nowcast.intervalMs / 1000 }),
      change: (m) => slowestStageChange(m.nowcast, m.settings),
    },
    {
      id: 'medium-range-cycle',
      what: 'a medium-range cycle takes longer than the 8 hours to the next one',
      unit: 's',
      setting: 'EvalWorkerStandard ReservedConcurrentExecutions and the delivery workers\' concurrency',
      where: 'stack code (src/stack/constructs/functions.ts; no stage option) and account quotas',
      measure: (m) => ({ value: m.mediumRange.wallMs / 1000, limit: m.mediumRange.intervalMs / 1000 }),
      change: (m) => slowestStageChange(m.mediumRange, m.settings),
    },
    {
      id: 'eval-timeout',
      what: 'one EvalWorkerStandard invocation (a batch of jobs, evaluated one after another) exceeds its timeout',
      unit: 's',
      setting: 'EvalWorkerStandard batch size, or EVAL_WORKER_TIMEOUT (visibility timeouts follow at 6x)',
      where: STACK('src/stack/constructs/functions.ts, src/stack/constructs/queues.ts'),
      measure: (m) => ({ value: m.mediumRange.stages.eval.invocationMs / 1000, limit: m.settings.functions.evalStandard.timeoutSeconds }),
      change: (m) => {
        const perJob = m.mediumRange.stages.eval.invocationMs / Math.max(1, Math.min(m.settings.functions.evalStandard.batchSize, m.mediumRange.jobs));
        const batch = Math.floor((m.settings.functions.evalStandard.timeoutSeconds * 1000) / perJob);
        return batch >= 1 ? `lower EvalWorkerStandard's batch size from ${m.settings.functions.evalStandard.batchSize} to ${batch}` : `one tile alone takes ${(perJob / 1000).toFixed(0)} s: raise EVAL_WORKER_TIMEOUT above that (at most 900 s) or split tiles`;
      },
    },
    {
      id: 'nowcast-tile-timeout',
      what: 'one nowcast tile takes longer than EvalWorkerUrgent\'s timeout',
      unit: 's',
      setting: 'EVAL_WORKER_TIMEOUT, or smaller tiles',
      where: STACK('src/stack/constructs/queues.ts'),
      measure: (m) => ({ value: m.nowcast.stages.eval.invocationMs / 1000, limit: m.settings.functions.evalUrgent.timeoutSeconds }),
    },
    {
      id: 'batcher-timeout',
      what: 'the Batcher\'s query and enqueue take longer than its timeout',
      unit: 's',
      setting: 'BatcherFunction timeout',
      where: STACK('src/stack/constructs/functions.ts'),
      measure: (m) => ({ value: m.nowcast.stages.batcher.invocationMs / 1000, limit: m.settings.functions.batcher.timeoutSeconds }),
      change: (m) => `raise BatcherFunction's timeout from ${m.settings.functions.batcher.timeoutSeconds} s to ${Math.ceil(m.nowcast.stages.batcher.invocationMs / 1000 * 1.5)} s`,
    },
    {
      id: 'eval-urgent-depth-alarm',
      what: 'EvalQueueUrgentDepthAlarm fires: more nowcast jobs waiting than its threshold while the workers scale up',
      unit: 'jobs',
      setting: 'EvalQueueUrgentDepthAlarm threshold',
      where: STACK('src/stack/constructs/alarms.ts'),
      measure: (m) => ({ value: Math.max(0, m.nowcast.jobs - Math.max(m.settings.functions.evalUrgent.provisionedConcurrency ?? 0, ASSUMPTIONS.sqsInitialConcurrency)), limit: m.settings.functions.evalUrgent.queue?.depthAlarm ?? Infinity }),
      change: (m) => `raise EvalQueueUrgentDepthAlarm's threshold from ${m.settings.functions.evalUrgent.queue?.depthAlarm} to above ${m.nowcast.jobs} (the jobs of one cycle), or alarm on the age of the oldest message instead`,
    },
    {
      id: 'eval-standard-depth-alarm',
      what: 'EvalQueueDepthAlarm fires: more medium-range jobs waiting than its threshold',
      unit: 'jobs',
      setting: 'EvalQueueDepthAlarm threshold',
      where: STACK('src/stack/constructs/alarms.ts'),
      measure: (m) => ({ value: Math.max(0, m.mediumRange.jobs - ASSUMPTIONS.sqsInitialConcurrency * m.settings.functions.evalStandard.batchSize), limit: m.settings.functions.evalStandard.queue?.depthAlarm ?? Infinity }),
      change: (m) => `raise EvalQueueDepthAlarm's threshold from ${m.settings.functions.evalStandard.queue?.depthAlarm} to above ${m.mediumRange.jobs}`,
    },
    ...(['email', 'webhook'] as const).map((channel): LimitSpec => ({
      id: `${channel}-queue-depth-alarm`,
      what: `${channel === 'email' ? 'NotificationQueueDepthAlarm' : 'WebhookNotificationQueueDepthAlarm'} fires: ${channel} notifications pile up faster than they are delivered`,
      unit: 'messages',
      setting: `${channel === 'email' ? 'NotificationQueueDepthAlarm' : 'WebhookNotificationQueueDepthAlarm'} threshold${channel === 'email' ? ' (or the SES sending rate)' : ''}`,
      where: channel === 'email' ? 'stack code (src/stack/constructs/alarms.ts); the SES rate is an account quota' : STACK('src/stack/constructs/alarms.ts'),
      measure: (m) => ({ value: peakDepth(m.nowcast, channel), limit: m.settings.functions[channel].queue?.depthAlarm ?? Infinity }),
      change: (m) => `the queue peaks near ${Math.round(peakDepth(m.nowcast, channel))} messages: raise the alarm's threshold from ${m.settings.functions[channel].queue?.depthAlarm} above that${channel === 'email' ? ` or raise the SES sending rate from ${ASSUMPTIONS.sesMaxSendRate}/s` : ''}`,
    })),
    {
      id: 'notification-spike-alarm',
      what: 'NotificationSpikeAlarm fires: more delivery attempts in its period than its threshold, from an ordinary cycle',
      unit: 'attempts',
      setting: 'NotificationSpikeAlarm threshold',
      where: STACK('src/stack/constructs/alarms.ts'),
      measure: (m) => ({ value: attemptsInPeriod(m.nowcast, m.settings), limit: m.settings.notificationSpike?.threshold ?? Infinity }),
      change: (m) => `raise NotificationSpikeAlarm's threshold from ${m.settings.notificationSpike?.threshold} to above ${Math.ceil(attemptsInPeriod(m.nowcast, m.settings))} (one cycle's deliveries), or make it relative to the watchpoint count`,
    },
    {
      id: 'account-concurrency',
      what: 'the pipeline\'s concurrent invocations exceed the account\'s Lambda concurrency',
      unit: 'invocations',
      setting: 'the account\'s concurrent executions quota',
      where: 'account quota (Service Quotas), not the stack',
      measure: (m) => ({ value: (m.settings.functions.evalStandard.reservedConcurrency ?? 0) + m.nowcast.stages.eval.concurrency + Math.max(m.nowcast.stages.email.concurrency, 0) + m.nowcast.stages.webhook.concurrency, limit: ASSUMPTIONS.accountConcurrency }),
      change: (m) => `request a concurrency quota above ${Math.ceil(((m.settings.functions.evalStandard.reservedConcurrency ?? 0) + m.nowcast.stages.eval.concurrency + m.nowcast.stages.email.concurrency + m.nowcast.stages.webhook.concurrency) * 1.2)}`,
    },
    {
      id: 'dlq-retention',
      what: 'redriving one day of failed notifications (every webhook receiver down) outlasts the DLQ\'s retention',
      unit: 's',
      setting: 'DeadLetterQueueShared retention',
      where: STACK('src/stack/constructs/queues.ts'),
      measure: (m) => ({ value: (m.nowcast.notifications.webhook * 86_400) / (m.nowcast.intervalMs / 1000) / ASSUMPTIONS.redriveMessagesPerSecond, limit: m.settings.deadLetter.retentionSeconds }),
    },
  ];
}

/** Which stage makes a cycle too long, and what to change so it fits its interval. */
function slowestStageChange(cycle: CyclePrediction, settings: TemplateSettings): string {
  const slowest = (['eval', 'email', 'webhook'] as const).map((k) => cycle.stages[k]).sort((x, y) => y.wallMs - x.wallMs)[0]!;
  const fn = settings.functions[slowest.function];
  const others = cycle.wallMs - slowest.wallMs;
  const budgetS = Math.max(1, cycle.intervalMs / 1000 - others / 1000 - 60);
  const head = `the slowest stage is ${fn.id} (${Math.round(slowest.wallMs / 1000)} s at concurrency ${slowest.concurrency})`;
  if (slowest.function === 'email') {
    return `${head}: SES's sending rate limits it; raise the account's SES maximum send rate from ${ASSUMPTIONS.sesMaxSendRate}/s to at least ${Math.ceil(cycle.notifications.email / budgetS)}/s (an account quota, Service Quotas; not the stack)`;
  }
  const needed = Math.ceil((slowest.invocations * slowest.invocationMs) / 1000 / budgetS);
  return fn.reservedConcurrency !== undefined
    ? `${head}: raise ${fn.id}'s ReservedConcurrentExecutions from ${fn.reservedConcurrency} to at least ${needed} (${STACK('src/stack/constructs/functions.ts')})`
    : `${head}: it needs about ${needed} concurrent invocations; raise the account's Lambda concurrency quota (Service Quotas) or give ${fn.id} provisioned concurrency (${STACK('src/stack/constructs/functions.ts')})`;
}

/** Peak depth of a notification queue: produced during the eval stage, consumed at the stage's rate. */
function peakDepth(cycle: CyclePrediction, channel: Channel): number {
  const total = cycle.notifications[channel];
  const delivery = cycle.stages[channel];
  if (total === 0 || delivery.wallMs === 0) return 0;
  const produceMs = Math.max(1, cycle.stages.eval.wallMs);
  const consumePerMs = total / delivery.wallMs;
  return Math.max(0, total - consumePerMs * produceMs);
}

/** Delivery attempts in the spike alarm's period at the cycle's delivery rate. */
function attemptsInPeriod(cycle: CyclePrediction, settings: TemplateSettings): number {
  const periodMs = (settings.notificationSpike?.periodSeconds ?? 300) * 1000;
  const perChannel = (['email', 'webhook'] as const).map((c) => {
    const s = cycle.stages[c];
    return s.wallMs === 0 ? 0 : Math.min(cycle.notifications[c], (cycle.notifications[c] * periodMs) / s.wallMs);
  });
  return perChannel[0]! + perChannel[1]!;
}

export interface ModelInput {
  watchpoints: number;
  triggerShare: number;
  tiles: number;
}

export interface CapacityModel {
  input: ModelInput;
  settings: TemplateSettings;
  units: { measuredAt: string; machine: MeasuredUnitCosts['machine']; tileShape: string };
  assumptions: typeof ASSUMPTIONS;
  prices: typeof PRICES;
  nowcast: CyclePrediction;
  mediumRange: CyclePrediction;
  monthly: { cycles: Record<ForecastType, number>; costUsd: CostBreakdown; provisionedConcurrencyUsd: number; totalUsd: number };
  limits: Limit[];
  /** The limit hit at the smallest size (null when none is below 100 million watchpoints). */
  firstLimit: Limit | null;
}

function modelAt(units: MeasuredUnitCosts, settings: TemplateSettings, input: ModelInput): Model {
  const workload = { watchpoints: input.watchpoints, triggerShare: input.triggerShare, tiles: input.tiles };
  return { nowcast: predictCycle(units, settings, workload, 'nowcast'), mediumRange: predictCycle(units, settings, workload, 'medium_range'), settings };
}

/** The smallest N in [1, MAX_SEARCH] at which `breached(N)` holds, assuming it stays breached above; null if none. */
function smallestBreach(breached: (n: number) => boolean): number | null {
  if (!breached(MAX_SEARCH)) return null;
  let lo = 1;
  let hi = MAX_SEARCH;
  if (breached(lo)) return lo;
  while (hi - lo > Math.max(1, lo * 0.005)) {
    const mid = Math.round(Math.sqrt(lo * hi));
    if (mid <= lo || mid >= hi) break;
    if (breached(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

export function capacityModel(units: MeasuredUnitCosts, settings: TemplateSettings, input: ModelInput): CapacityModel {
  const model = modelAt(units, settings, input);
  const limits = limitSpecs().map((spec): Limit => {
    const { value, limit } = spec.measure(model);
    const hit = value > limit;
    const hitAt = smallestBreach((n) => {
      const m = spec.measure(modelAt(units, settings, { ...input, watchpoints: n }));
      return m.value > m.limit;
    });
    return { id: spec.id, what: spec.what, hitAt, hit, value, limit, unit: spec.unit, setting: spec.setting, where: spec.where, ...(hit && spec.change ? { change: spec.change(model, input) } : {}) };
  });
  const ordered = [...limits].sort((x, y) => (x.hitAt ?? Infinity) - (y.hitAt ?? Infinity));
  const cyclesPerMonth = (t: ForecastType) => (ASSUMPTIONS.daysPerMonth * 86_400) / ASSUMPTIONS.intervalSeconds[t];
  const cycles = { nowcast: cyclesPerMonth('nowcast'), medium_range: cyclesPerMonth('medium_range') };
  const monthly = withTotal(
    Object.fromEntries((['lambda', 'sqs', 's3', 'ses', 'dataTransfer', 'logs'] as const).map((k) => [k, model.nowcast.costUsd[k] * cycles.nowcast + model.mediumRange.costUsd[k] * cycles.medium_range])) as Omit<CostBreakdown, 'total'>,
  );
  const provisioned = settings.functions.evalUrgent.provisionedConcurrency ?? 0;
  const provisionedConcurrencyUsd = provisioned * (settings.functions.evalUrgent.memoryMb / 1024) * ASSUMPTIONS.daysPerMonth * 86_400 * PRICES.lambdaArmProvisionedGbSecondUsd;
  return {
    input,
    settings,
    units: { measuredAt: units.measuredAt, machine: units.machine, tileShape: units.tileShape },
    assumptions: ASSUMPTIONS,
    prices: PRICES,
    nowcast: model.nowcast,
    mediumRange: model.mediumRange,
    monthly: { cycles, costUsd: monthly, provisionedConcurrencyUsd, totalUsd: monthly.total + provisionedConcurrencyUsd },
    limits: ordered,
    firstLimit: ordered[0]?.hitAt == null ? null : ordered[0]!,
  };
}

// --- the local prediction (validation against `watchpoint dev`) -----------------------------------

/**
 * A cycle through the dev platform on this machine, from the same unit costs with no scaling: the
 * Batcher, the eval jobs shared by `evalContainers` containers, then each delivery worker (one
 * container each, batches of the template's size, both at once). Stages in sequence: an upper bound.
 */
export function predictLocalCycle(
  units: Pick<MeasuredUnitCosts, 'batcher' | 'eval' | 'delivery'>,
  cycle: { watchpoints: number; jobs: number; tiles: number; emails: number; webhooks: number; evalContainers: number },
): { totalMs: number; stagesMs: Record<'batcher' | 'eval' | 'email' | 'webhook', number> } {
  const batcher = combine([units.batcher.fixed, 1], [units.batcher.perTile, cycle.tiles], [units.batcher.perWatchpoint, cycle.watchpoints]).wallMs;
  const perJob = cycle.jobs === 0 ? 0 : cycle.watchpoints / cycle.jobs;
  const notesPerJob = cycle.jobs === 0 ? 0 : (cycle.emails + cycle.webhooks) / cycle.jobs;
  const evalMs = (cycle.jobs * combine([units.eval.perTile, 1], [units.eval.perWatchpoint, perJob], [units.eval.perNotification, notesPerJob]).wallMs) / Math.max(1, cycle.evalContainers);
  const email = cycle.emails * units.delivery.email.perNotification.wallMs;
  const webhook = cycle.webhooks * units.delivery.webhook.perNotification.wallMs;
  return { totalMs: batcher + evalMs + Math.max(email, webhook), stagesMs: { batcher, eval: evalMs, email, webhook } };
}
