// `watchpoint dev --drill NAME`: a scripted incident on the running local platform, for an on-call
// engineer to practise the incident commands on. Each drill breaks one thing the way it breaks in
// production, waits until the platform's own alarm (evaluated from the template, alarms.ts) fires,
// says what was broken, and ends with the commands that find the cause and fix it. Nothing is
// faked: the handlers, queues, alarms and the operator commands are the real ones.
import type { DevPlatform } from './platform.ts';
import { waitUntil } from './once.ts';

import { DRILLS, type DrillName } from '../config/drills.ts';
export { DRILLS, type DrillName };

export interface DrillReport {
  drill: DrillName;
  broken: string;
  /** The alarm that fired. */
  alarm: string;
  /** The forecast run the drill produced, if any (for `trace`). */
  runId: string | undefined;
  find: string[];
  fix: string[];
}

/** A watchpoint at a hot point, so a run has an eval job (and, with a webhook, a notification). */
async function watchpointAt(platform: DevPlatform, name: string, location: { latitude: number; longitude: number }, webhookUrl: string | undefined): Promise<{ secret: string | undefined }> {
  const call = async (path: string, token: string, body: unknown) => {
    const response = await fetch(`${platform.state.api}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    const json = (await response.json()) as Record<string, string>;
    if (!response.ok) throw new Error(`POST ${path} answered ${response.status}: ${JSON.stringify(json).slice(0, 200)}`);
    return json;
  };
  const { key } = await call('/v1/api-keys', platform.adminKey, { name: `drill ${name}` });
  const watchpoint = await call('/v1/watchpoints', key!, {
    name: `drill ${name}`,
    ...location,
    variable: 'wind_speed_10m',
    condition: 'gte',
    threshold: 30,
    window_end_hours: 6,
    channels: webhookUrl ? [{ type: 'webhook', url: webhookUrl }] : [{ type: 'email', address: 'oncall@example.com' }],
  });
  platform.runpod.hotPoints.push({ ...location, variable: 'wind_speed_10m', value: 33 });
  return { secret: watchpoint.webhook_secret };
}

function runIdFor(drill: DrillName): string {
  return `drill-${drill}-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
}

/** How long (real time) a drill waits for its alarm: its period at --speed, the retries, and slack. */
function alarmDeadlineMs(periodSeconds: number, speed: number, extraSeconds = 0): number {
  return ((periodSeconds + extraSeconds) * 1000) / speed + 60_000;
}

export async function runDrill(platform: DevPlatform, drill: DrillName, options: { speed: number; notify: (line: string) => void }): Promise<DrillReport> {
  const { notify, speed } = options;
  // The bucket whose _SUCCESS objects the Batcher is notified of: where RunPod writes.
  const notification = platform.plan.notifications[0];
  const bucket = notification ? platform.buckets[notification.bucketLogicalId] : undefined;
  const alarmState = (name: string) => platform.alarms.statuses.get(name)?.state;
  const waitForAlarm = async (name: string, deadlineMs: number) => {
    notify(`Waiting for ${name} to fire (the template's alarm, evaluated locally; up to ${Math.round(deadlineMs / 1000)} s at --speed ${speed})...`);
    await waitUntil(`${name} in ALARM`, deadlineMs, async () => (alarmState(name) === 'ALARM' ? true : undefined), 250);
    notify(`${name} is in ALARM; its notification is in the mail store (${platform.state.mail}).`);
  };

  if (drill === 'webhook-failing') {
    const path = '/hooks/drill-webhook-failing';
    const location = { latitude: 45.1, longitude: 7.6 };
    const { secret } = await watchpointAt(platform, drill, location, `${platform.receiver.url}${path}`);
    if (secret) platform.receiver.expect(path, secret);
    platform.receiver.answer(path, 503);
    const broken = `The webhook receiver at ${platform.receiver.url}${path} answers 503 to every POST (a customer's endpoint is down).`;
    notify(`BROKEN: ${broken}`);
    const runId = runIdFor(drill);
    if (!bucket) throw new Error('The template has no forecast bucket.');
    await platform.runpod.writeNow('nowcast', runId, { bucket });
    notify(`Forecast run nowcast/${runId} written; its notification goes to the failing receiver.`);
    const alarm = 'watchpoint-local-DeadLetterQueueNotEmptyAlarm';
    const visibility = Math.max(...platform.plan.queues.map((q) => q.visibilityTimeoutSeconds).filter((s) => s < 1800));
    await waitForAlarm(alarm, alarmDeadlineMs(300, speed, 3 * visibility));
    platform.receiver.answer(path, 200);
    notify(`The customer fixed their endpoint: ${platform.receiver.url}${path} answers 200 again. The notifications are still in the DLQ.`);
    return {
      drill,
      broken,
      alarm,
      runId,
      find: [
        'watchpoint status --env local                                   # DeadLetterQueueNotEmptyAlarm in ALARM, exit 3',
        'watchpoint dlq inspect --env local                              # what is in the DLQ, from which queue',
        'watchpoint logs webhook --env local --since 10m --level warn    # DeliveryRetry: the receiver answered 503',
        `watchpoint trace ${runId} --env local --since 10m                # the run's job and its failed delivery`,
      ],
      fix: ['watchpoint dlq redrive --env local --yes                       # send them back; they are delivered now', 'watchpoint status --env local                                   # the DLQ alarm returns to OK'],
    };
  }

  if (drill === 'forecasts-stop') {
    platform.runpod.down = true;
    const broken = `The RunPod stand-in (${platform.runpod.baseUrl}) answers 503 to every new run: no forecast arrives.`;
    notify(`BROKEN: ${broken}`);
    const alarm = 'watchpoint-local-NowcastStaleAlarm';
    await waitForAlarm(alarm, alarmDeadlineMs(1800, speed));
    platform.runpod.down = false;
    notify("RunPod is back: the DataPoller starts the next 30-minute slot's run, and the stale alarm clears after its ForecastReady (slots follow the wall clock; --speed does not compress them).");
    return {
      drill,
      broken,
      alarm,
      runId: undefined,
      find: [
        "watchpoint status --env local                                   # NowcastStaleAlarm in ALARM: the dead man's switch",
        'watchpoint logs poller batcher --env local --since 30m          # when the last ForecastReady came; the poller\'s RunPod errors',
        'watchpoint logs --env local --since 30m --level error           # crash and error lines of every function',
      ],
      fix: [
        'watchpoint secrets get forecast/runpod_api_key --env local      # the key the poller uses is set (on AWS: RunPod status, the endpoint id)',
        "watchpoint status --env local                                   # OK again after the next slot's ForecastReady (nowcast slots every 30 min of wall-clock time, also locally)",
      ],
    };
  }

  // corrupt-tile
  const location = { latitude: 44.3, longitude: 8.2 };
  await watchpointAt(platform, drill, location, undefined);
  const runId = runIdFor(drill);
  const broken = `Forecast run nowcast/${runId} arrives with every tile's data changed after its checksum was computed.`;
  notify(`BROKEN: ${broken}`);
  if (!bucket) throw new Error('The template has no forecast bucket.');
  await platform.runpod.writeNow('nowcast', runId, { bucket, corrupt: true });
  const alarm = 'watchpoint-local-CorruptForecastAlarm';
  await waitForAlarm(alarm, alarmDeadlineMs(300, speed));
  return {
    drill,
    broken,
    alarm,
    runId,
    find: [
      'watchpoint status --env local                                   # CorruptForecastAlarm in ALARM, exit 3',
      `watchpoint trace ${runId} --env local --since 10m                # the failed job: corrupt tile, ZarrChecksumError`,
      "watchpoint logs eval-urgent eval-standard --env local --since 10m --filter '\"ZarrChecksumError\"'",
      'watchpoint dlq inspect --env local                              # the job parked in the DLQ with reason ZarrChecksumError',
    ],
    fix: [
      '# A corrupt tile is not retried (a redrive would fail it again): the forecast run must be produced again (the next run is clean here).',
      'watchpoint dlq purge --env local --export corrupt-jobs.jsonl     # keep the parked jobs for the post-mortem, then drop them',
      'watchpoint status --env local                                   # CorruptForecastAlarm returns to OK 5 compressed minutes after the last corrupt job',
    ],
  };
}

/** What a drill prints at the end. */
export function drillSummary(report: DrillReport): string {
  return [
    `Drill ${report.drill}: ${report.alarm} fired.`,
    `What was broken: ${report.broken}`,
    '',
    'Find the cause:',
    ...report.find.map((line) => `  ${line}`),
    '',
    'Fix it:',
    ...report.fix.map((line) => `  ${line}`),
    '',
    'The platform keeps running for you to practise; Ctrl-C stops it.',
  ].join('\n');
}
