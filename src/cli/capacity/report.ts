// `watchpoint capacity`'s output: the model as text for a person, or as one JSON document.
import { duration, table, type Style } from '../output.ts';
import type { CapacityModel, CostBreakdown, CyclePrediction, Limit } from './model.ts';

export const CAPACITY_SCHEMA_VERSION = 1;

interface Target {
  envName: string;
  region: string;
}

export function buildCapacityJson(model: CapacityModel, target: Target): Record<string, unknown> {
  return { schemaVersion: CAPACITY_SCHEMA_VERSION, env: target.envName, region: target.region, ...model };
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const usd = (n: number) => (n >= 100 ? `$${n.toLocaleString('en-US', { maximumFractionDigits: 0 })}` : n >= 0.01 ? `$${n.toFixed(2)}` : n > 0 ? `$${n.toPrecision(2)}` : '$0');
const seconds = (ms: number) => (Number.isFinite(ms) ? (ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : duration(ms / 1000)) : 'never');
const bytes = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(0)} KB`);

const LABEL = { nowcast: 'nowcast', medium_range: 'medium range' } as const;

function headroom(cycle: CyclePrediction, style: Style): string {
  const text = cycle.headroomMs >= 0 ? seconds(cycle.headroomMs) : `-${seconds(-cycle.headroomMs)}`;
  return cycle.headroomMs < 0 ? style.red(text) : cycle.headroomMs < cycle.intervalMs * 0.2 ? style.yellow(text) : style.green(text);
}

function limitValue(limit: Limit): string {
  const show = (v: number) => (limit.unit === 's' ? seconds(v * 1000) : count(v));
  return `${show(limit.value)} / ${Number.isFinite(limit.limit) ? show(limit.limit) : 'none'}`;
}

export function renderCapacity(model: CapacityModel, target: Target, style: Style): string {
  const { input, nowcast, mediumRange, monthly, settings } = model;
  const lines: string[] = [];
  lines.push(style.bold(`Capacity of ${settings.stackName} (${target.region}): ${count(input.watchpoints)} watchpoints, ${(input.triggerShare * 100).toFixed(input.triggerShare * 100 < 1 ? 2 : 0)}% triggering, ${count(input.tiles)} tiles per run`));
  lines.push(style.dim(`Unit costs measured ${model.units.measuredAt.slice(0, 10)} on ${model.units.machine.cpus} (npm run bench capacity); one Lambda vCPU = ${model.assumptions.machineCoreToLambdaVcpu} core of that machine (assumed); prices ${model.prices.region}, read ${model.prices.readOn}.`));
  lines.push('');
  lines.push(...table(
    ['CYCLE', 'JOBS', 'NOTIFICATIONS', 'WALL', 'EVERY', 'HEADROOM', 'COST'],
    [nowcast, mediumRange].map((c) => [LABEL[c.forecastType], count(c.jobs), count(c.notifications.email + c.notifications.webhook), seconds(c.wallMs), duration(c.intervalMs / 1000), headroom(c, style), usd(c.costUsd.total)]),
    { rightAlign: [false, true, true, true, true, true, true] },
  ));
  for (const cycle of [nowcast, mediumRange]) {
    lines.push('');
    lines.push(style.bold(`Stages of a ${LABEL[cycle.forecastType]} cycle`));
    lines.push(...table(
      ['FUNCTION', 'RECORDS', 'BATCH', 'INVOCATIONS', 'ONE INVOCATION', 'CONCURRENCY', 'WALL', 'GB-S'],
      Object.values(cycle.stages).map((s) => {
        const fn = settings.functions[s.function];
        return [fn.id, count(s.records), String(fn.batchSize), count(s.invocations), `${seconds(s.invocationMs)} of ${fn.timeoutSeconds}s`, `${s.concurrency} of ${fn.reservedConcurrency ?? 'unreserved'}`, seconds(s.wallMs), s.gbSeconds.toFixed(1)];
      }),
      { rightAlign: [false, true, true, true, true, true, true, true] },
    ));
  }
  lines.push('');
  lines.push(style.bold('Usage per cycle'));
  lines.push(...table(
    ['CYCLE', 'LAMBDA GB-S', 'REQUESTS', 'SQS REQUESTS', 'S3 GETS', 'S3 READ', 'SES SENDS', 'WEBHOOKS'],
    [nowcast, mediumRange].map((c) => [LABEL[c.forecastType], c.usage.lambdaGbSeconds.toFixed(1), count(c.usage.lambdaRequests), count(c.usage.sqsRequests), count(c.usage.s3Gets), bytes(c.usage.s3Bytes), count(c.usage.sesSends), count(c.usage.webhookCalls)]),
    { rightAlign: [false, true, true, true, true, true, true, true] },
  ));
  lines.push('');
  lines.push(style.bold(`Monthly cost (${count(monthly.cycles.nowcast)} nowcast and ${count(monthly.cycles.medium_range)} medium-range cycles)`));
  const services: [string, keyof CostBreakdown][] = [['Lambda', 'lambda'], ['SQS', 'sqs'], ['S3 GETs', 's3'], ['SES', 'ses'], ['Data transfer (webhooks)', 'dataTransfer'], ['CloudWatch Logs', 'logs']];
  const provisioned = settings.functions.evalUrgent.provisionedConcurrency ?? 0;
  lines.push(...table(
    ['SERVICE', 'PER MONTH'],
    [
      ...services.map(([name, key]) => [name, usd(monthly.costUsd[key])]),
      ...(provisioned > 0 ? [[`Provisioned concurrency (${settings.functions.evalUrgent.id}, ${provisioned} x ${settings.functions.evalUrgent.memoryMb} MB)`, usd(monthly.provisionedConcurrencyUsd)]] : []),
      [style.bold('Total'), style.bold(usd(monthly.totalUsd))],
    ],
    { rightAlign: [false, true] },
  ));
  lines.push(style.dim('  Not included: the database (RDS), the API, the DataPoller and archiver, RunPod, and the free tiers.'));
  lines.push('');
  lines.push(style.bold('Limits, first hit first'));
  lines.push(...table(
    ['LIMIT', 'FIRST HIT AT', 'HERE (VALUE / LIMIT)', 'SETTING'],
    model.limits.map((l) => [l.id, l.hitAt === null ? 'not below 100M' : `${count(l.hitAt)} wp`, l.hit ? style.red(limitValue(l)) : limitValue(l), `${l.setting}: ${l.where}`]),
  ));
  lines.push('');
  if (model.firstLimit) {
    const first = model.firstLimit;
    lines.push(`First limit: ${first.id} at ${count(first.hitAt!)} watchpoints: ${first.what}.`);
  } else {
    lines.push('No limit is hit below 100 million watchpoints at this share.');
  }
  const hit = model.limits.filter((l) => l.hit);
  if (hit.length > 0) {
    lines.push(style.yellow(`${hit.length} limit(s) hit at ${count(input.watchpoints)} watchpoints:`));
    for (const l of hit) lines.push(`  ${l.id}: ${l.change ?? `change ${l.setting} (${l.where})`}.`);
  }
  return lines.join('\n');
}
