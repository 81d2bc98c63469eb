// From raw readings to verdicts, the exit code, the --json document and the human table. Pure: no I/O.
import { ExitCode } from '../errors.ts';
import { LOCAL_ENV_NAME } from '../context.ts';
import { clock, duration, table, type Style } from '../output.ts';
import { LOOKBACK_SECONDS, READY_PERIOD_SECONDS, type RawStatus } from './collect.ts';

// Kept for the modules and tests that import them from here; the output kit is their home.
export { COLOR, PLAIN, duration, pickStyle, type Style } from '../output.ts';

/** Bump when a field changes meaning or disappears; adding fields keeps the version. */
export const STATUS_SCHEMA_VERSION = 1;

/**
 * Slack after the expected time before a series counts as late: metric filters publish a log line's
 * datapoint a few minutes after it is written, and a datapoint is stamped with the start of its minute.
 */
export const LATE_GRACE_SECONDS = 300;

export type Verdict = 'on_time' | 'late' | 'never_seen';

export interface StatusReport {
  schemaVersion: typeof STATUS_SCHEMA_VERSION;
  env: string;
  region: string;
  checkedAt: string;
  healthy: boolean;
  exitCode: number;
  /** Why the platform is unhealthy (exit 3): alarms in ALARM, late or never-seen series. */
  problems: string[];
  /** Worth a look but not unhealthy: INSUFFICIENT_DATA, missing resources, stacks mid-update, partial data. */
  warnings: string[];
  stacks: {
    name: string;
    role: 'registry' | 'platform';
    status: string;
    lastUpdatedAt: string | null;
    drift: { status: string; checkedAt: string | null } | null;
    /** Changes `deploy --hotswap` made that the stack's template does not describe, until a deploy through CloudFormation changes it. */
    hotswapped: { at: string; operator: string; resources: string[] } | null;
  }[];
  alarms: {
    name: string;
    logicalId: string;
    state: 'ALARM' | 'INSUFFICIENT_DATA' | 'OK' | 'MISSING';
    since: string | null;
    forSeconds: number | null;
    reason: string | null;
    description: string | null;
  }[];
  deadMansSwitch: {
    forecastType: string;
    expectedIntervalSeconds: number;
    lastSeenAt: string | null;
    nextExpectedAt: string | null;
    verdict: Verdict;
    lateBySeconds: number | null;
    lookbackSeconds: number;
    resolutionSeconds: number;
  }[];
  queues: {
    name: string;
    queueName: string;
    url: string;
    exists: boolean;
    isDeadLetterQueue: boolean;
    visible: number | null;
    inFlight: number | null;
    delayed: number | null;
    oldestMessageAgeSeconds: number | null;
    oldestMessageAgeAt: string | null;
    deadLetterQueue: string | null;
    /** DLQ only: the queues whose redrive policy targets it. */
    sourceQueues: string[] | null;
    /** DLQ only: always null; counting per source needs ReceiveMessage, which status never does. */
    countsPerSource: null;
  }[];
}

const STATE_ORDER: Record<string, number> = { ALARM: 0, INSUFFICIENT_DATA: 1, MISSING: 2, OK: 3 };

/**
 * `local` (watchpoint dev) evaluates the template's alarms with time compressed by its --speed, so
 * its alarms count as anywhere (the stale alarms are the dead man's switch there); the switch's own
 * verdict below reads ForecastReady in real time, where a compressed schedule makes "late"
 * meaningless, so locally it is shown but never a problem. Stacks and queues are read as anywhere.
 */
export function buildReport(raw: RawStatus, region: string, options: { local?: boolean } = {}): StatusReport {
  const now = raw.checkedAt.getTime();
  const problems: string[] = [];
  const warnings: string[] = [...raw.notes];

  const alarms = raw.alarms
    .map((alarm) => ({
      name: alarm.name,
      logicalId: alarm.logicalId,
      state: (alarm.state in STATE_ORDER ? alarm.state : 'INSUFFICIENT_DATA') as StatusReport['alarms'][number]['state'],
      since: iso(alarm.since),
      forSeconds: alarm.since ? Math.max(0, Math.round((now - alarm.since.getTime()) / 1000)) : null,
      reason: alarm.reason ?? null,
      description: alarm.description ?? null,
    }))
    .sort((a, b) => STATE_ORDER[a.state]! - STATE_ORDER[b.state]! || (b.forSeconds ?? 0) - (a.forSeconds ?? 0) || a.name.localeCompare(b.name));
  for (const alarm of alarms) {
    if (alarm.state === 'ALARM') problems.push(`alarm ${alarm.name} is in ALARM${alarm.forSeconds !== null ? ` for ${duration(alarm.forSeconds)}` : ''}`);
    if (alarm.state === 'INSUFFICIENT_DATA') warnings.push(`alarm ${alarm.name} has INSUFFICIENT_DATA`);
  }
  // Problems of the dead man's switch go to `deadManProblems`: locally they are only a note.
  const deadManProblems: string[] = [];
  if (options.local) warnings.push("alarms are evaluated by watchpoint dev, in time compressed by its --speed (NowcastStaleAlarm and MediumRangeStaleAlarm are the dead man's switch there); the dead man's switch below reads ForecastReady in real time and is informational locally");

  const deadMansSwitch = raw.deadMan.map((series) => {
    const base = { forecastType: series.forecastType, expectedIntervalSeconds: series.expectedIntervalSeconds, lookbackSeconds: LOOKBACK_SECONDS, resolutionSeconds: READY_PERIOD_SECONDS };
    if (!series.lastSeen) {
      deadManProblems.push(`${series.forecastType}: never seen (no ForecastReady in the last ${hours(LOOKBACK_SECONDS)})`);
      return { ...base, lastSeenAt: null, nextExpectedAt: null, verdict: 'never_seen' as Verdict, lateBySeconds: null };
    }
    const next = series.lastSeen.getTime() + series.expectedIntervalSeconds * 1000;
    const lateBy = Math.round((now - next) / 1000);
    const late = lateBy > LATE_GRACE_SECONDS;
    if (late) deadManProblems.push(`${series.forecastType}: forecast late by ${duration(lateBy)}`);
    return { ...base, lastSeenAt: iso(series.lastSeen), nextExpectedAt: new Date(next).toISOString(), verdict: (late ? 'late' : 'on_time') as Verdict, lateBySeconds: late ? lateBy : null };
  });

  if (!options.local) problems.push(...deadManProblems);

  const dlq = raw.queues.find((queue) => queue.isDeadLetterQueue);
  const queues = raw.queues.map((queue) => {
    const target = queue.deadLetterTargetArn ? raw.queues.find((other) => other.arn === queue.deadLetterTargetArn) : undefined;
    const sources = queue.isDeadLetterQueue && queue.arn ? raw.queues.filter((other) => other.deadLetterTargetArn === queue.arn).map((other) => other.name) : null;
    return {
      name: queue.name,
      queueName: queue.queueName,
      url: queue.url,
      exists: queue.exists,
      isDeadLetterQueue: queue.isDeadLetterQueue,
      visible: queue.visible ?? null,
      inFlight: queue.inFlight ?? null,
      delayed: queue.delayed ?? null,
      oldestMessageAgeSeconds: queue.oldestAgeSeconds ?? null,
      oldestMessageAgeAt: iso(queue.oldestAgeAt),
      deadLetterQueue: target ? target.name : queue.deadLetterTargetArn ?? null,
      sourceQueues: queue.isDeadLetterQueue ? (sources ?? []) : null,
      countsPerSource: null,
    };
  });
  // The DLQ first, then the queues in the order the stack lists them.
  queues.sort((a, b) => Number(b.isDeadLetterQueue) - Number(a.isDeadLetterQueue));
  if (!dlq) warnings.push('The stack has no DeadLetterQueueUrl output naming one of its queues; no queue is shown as the DLQ.');

  const stacks = raw.stacks.map((stack) => {
    if (!/_COMPLETE$/.test(stack.status) || /ROLLBACK|DELETE/.test(stack.status)) warnings.push(`stack ${stack.name} is ${stack.status}`);
    if (stack.driftStatus === 'DRIFTED') {
      const age = stack.driftCheckedAt ? ` (checked ${duration((now - stack.driftCheckedAt.getTime()) / 1000)} ago)` : '';
      warnings.push(`stack ${stack.name} has drifted from its template${age}; \`watchpoint drift --env ${raw.envName}\` shows what changed`);
    }
    const hot = raw.hotswap?.stacks.find((entry) => entry.stackName === stack.name);
    if (hot) {
      const when = Number.isNaN(Date.parse(raw.hotswap!.at)) ? '' : ` ${duration((now - Date.parse(raw.hotswap!.at)) / 1000)} ago`;
      warnings.push(
        `stack ${stack.name} holds hotswapped changes its template does not describe (${hot.resources.map((r) => r.logicalId).join(', ') || 'resources not recorded'}; \`deploy --hotswap\`${when} by ${raw.hotswap!.operator}); a \`watchpoint deploy --env ${raw.envName}\` whose change set updates them clears this`,
      );
    }
    return {
      name: stack.name,
      role: stack.role,
      status: stack.status,
      lastUpdatedAt: iso(stack.lastUpdated),
      drift: stack.driftStatus && stack.driftStatus !== 'NOT_CHECKED' ? { status: stack.driftStatus, checkedAt: iso(stack.driftCheckedAt) } : null,
      hotswapped: hot ? { at: raw.hotswap!.at, operator: raw.hotswap!.operator, resources: hot.resources.map((r) => r.logicalId) } : null,
    };
  });

  const healthy = problems.length === 0;
  return {
    schemaVersion: STATUS_SCHEMA_VERSION,
    env: raw.envName,
    region,
    checkedAt: raw.checkedAt.toISOString(),
    healthy,
    exitCode: healthy ? ExitCode.ok : ExitCode.unhealthy,
    problems,
    warnings,
    stacks,
    alarms,
    deadMansSwitch,
    queues,
  };
}

function hours(seconds: number): string {
  return `${Math.round(seconds / 3600)}h`;
}

function iso(date: Date | undefined): string | null {
  return date ? date.toISOString() : null;
}

// --- Human rendering ----------------------------------------------------------------------------

const REASON_WIDTH = 100;

/** A drift result older than this gets a pointer to `watchpoint drift`. */
const DRIFT_STALE_MS = 24 * 3600 * 1000;

export function renderHuman(report: StatusReport, style: Style): string {
  const now = Date.parse(report.checkedAt);
  const ago = (at: string | null) => (at ? `${duration((now - Date.parse(at)) / 1000)} ago` : '');
  const lines: string[] = [];
  const local = report.env === LOCAL_ENV_NAME;
  const verdict = report.healthy ? style.green('HEALTHY') : style.red('UNHEALTHY');
  lines.push(`${style.bold(`WatchPoint ${report.env}`)} (${report.region})  ${verdict}  checked ${clock(report.checkedAt)}`);
  for (const problem of report.problems) lines.push(`  ${style.red('✗')} ${problem}`);
  for (const warning of report.warnings) lines.push(`  ${style.yellow('!')} ${warning}`);

  lines.push('', style.bold('Stacks'));
  lines.push(
    ...table(
      ['STACK', 'STATUS', 'UPDATED', 'DRIFT'],
      report.stacks.map((stack) => [
        stack.name,
        /FAILED|ROLLBACK/.test(stack.status) ? style.red(stack.status) : /IN_PROGRESS/.test(stack.status) ? style.yellow(stack.status) : stack.status,
        stack.lastUpdatedAt ? `${clock(stack.lastUpdatedAt)} (${ago(stack.lastUpdatedAt)})` : '-',
        local ? 'n/a (local)' : stack.drift ? `${stack.drift.status}${stack.drift.checkedAt ? ` (checked ${ago(stack.drift.checkedAt)})` : ''}` : 'not checked',
      ]),
    ),
  );
  // watchpoint dev runs the template as is: nothing drifts there, and `drift --env local` is refused.
  const stale = local ? [] : report.stacks.filter((s) => !s.drift?.checkedAt || now - Date.parse(s.drift.checkedAt) > DRIFT_STALE_MS);
  if (stale.length > 0) lines.push(style.dim(`  Drift ${stale.length === report.stacks.length ? 'is' : `of ${stale.map((s) => s.name).join(', ')} is`} not checked in the last 24 h: \`watchpoint drift --env ${report.env}\` checks it now.`));

  lines.push('', style.bold(`Alarms (${report.alarms.length})`));
  if (report.alarms.length === 0) lines.push('  (the stack has no alarms)');
  else
    lines.push(
      ...table(
        ['STATE', 'ALARM', 'FOR', 'REASON'],
        report.alarms.map((alarm) => [
          alarm.state === 'ALARM' ? style.red(alarm.state) : alarm.state === 'OK' ? style.green(alarm.state) : style.yellow(alarm.state),
          alarm.name,
          alarm.forSeconds !== null ? `for ${duration(alarm.forSeconds)}` : '-',
          truncate(alarm.reason ?? '', REASON_WIDTH),
        ]),
      ),
    );

  lines.push('', style.bold("Dead man's switch (ForecastReady)"));
  lines.push(
    ...table(
      ['FORECAST', 'EXPECTED', 'LAST SEEN', 'NEXT DUE', 'VERDICT'],
      report.deadMansSwitch.map((series) => [
        series.forecastType,
        `every ${duration(series.expectedIntervalSeconds)}`,
        series.lastSeenAt ? `${clock(series.lastSeenAt)} (${ago(series.lastSeenAt)})` : '-',
        series.nextExpectedAt ? clock(series.nextExpectedAt) : '-',
        series.verdict === 'on_time'
          ? style.green('on time')
          : series.verdict === 'late'
            ? style.red(`late by ${duration(series.lateBySeconds ?? 0)}`)
            : style.red(`never seen in the last ${hours(series.lookbackSeconds)}`),
      ]),
    ),
  );

  lines.push('', style.bold('Queues'));
  lines.push(
    ...table(
      ['QUEUE', 'VISIBLE', 'IN FLIGHT', 'OLDEST'],
      report.queues.map((queue) => [
        `${queue.name}${queue.isDeadLetterQueue ? ' (DLQ)' : ''}`,
        queue.exists ? String(queue.visible ?? '?') : style.red('missing'),
        queue.exists ? String(queue.inFlight ?? '?') : '',
        queue.oldestMessageAgeSeconds !== null ? duration(queue.oldestMessageAgeSeconds) : queue.exists && queue.visible === 0 ? '-' : 'no metric',
      ]),
      { rightAlign: [false, true, true, true] },
    ),
  );
  for (const queue of report.queues.filter((q) => q.isDeadLetterQueue)) {
    const sources = queue.sourceQueues && queue.sourceQueues.length ? queue.sourceQueues.join(', ') : 'none found';
    lines.push(`  ${queue.name} collects from: ${sources}.`);
    lines.push(style.dim(`  Per-source counts need ReceiveMessage, which status never does: run \`watchpoint dlq inspect --env ${report.env}\`.`));
  }
  return lines.join('\n');
}

function truncate(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}
