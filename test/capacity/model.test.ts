// The capacity model's arithmetic (fit, scaling, Lambda's scale-up, limits and their fixes), on
// fixed unit costs and settings, so each expectation can be worked out by hand.
import { describe, expect, it } from 'vitest';
import { leastSquares, nonNegativeLeastSquares } from '../../src/cli/capacity/fit.ts';
import { ASSUMPTIONS, capacityModel, cpuFactor, occupiedTiles, onLambda, predictCycle, predictLocalCycle, stageWallMs } from '../../src/cli/capacity/model.ts';
import { SETTINGS, UNITS } from './fixtures.ts';

describe('fit', () => {
  it('recovers the coefficients of exact data, with R² 1', () => {
    const x = [[1, 1, 0], [1, 2, 1], [1, 5, 2], [1, 9, 7], [1, 3, 3]];
    const y = x.map(([a, b, c]) => 4 * a! + 0.5 * b! + 2 * c!);
    const fit = leastSquares(x, y);
    expect(fit.coefficients.map((c) => Number(c.toFixed(9)))).toEqual([4, 0.5, 2]);
    expect(fit.r2).toBeCloseTo(1, 12);
  });

  it('refuses a column that is a combination of the others (a size that was never varied)', () => {
    expect(() => leastSquares([[1, 200], [1, 200], [1, 200]], [1, 2, 3])).toThrow(/column 1/);
  });

  it('drops a negative unit cost and refits the rest', () => {
    // y falls slightly with x1 (noise): the cost of x1 becomes 0, the intercept absorbs it.
    const x = [[1, 1], [1, 2], [1, 3]];
    const fit = nonNegativeLeastSquares(x, [10, 9.9, 9.8]);
    expect(fit.coefficients[1]).toBe(0);
    expect(fit.coefficients[0]).toBeCloseTo(9.9, 9);
    expect(fit.dropped).toEqual([1]);
  });
});

describe('scaling to Lambda', () => {
  it('slows the handler CPU by 1769 MB / memory, keeps the database time, and drops the local stand-ins\' wait', () => {
    expect(cpuFactor(1769)).toBe(ASSUMPTIONS.machineCoreToLambdaVcpu);
    expect(cpuFactor(3538)).toBe(ASSUMPTIONS.machineCoreToLambdaVcpu); // one thread gains nothing past 1 vCPU
    expect(onLambda({ wallMs: 100, cpuMs: 50, dbMs: 10 }, 1769 / 2)).toBeCloseTo(50 * 2 * ASSUMPTIONS.machineCoreToLambdaVcpu + 10, 9);
  });

  it('counts the tiles that hold watchpoints (uniform spread)', () => {
    expect(occupiedTiles(0, 2000)).toBe(0);
    expect(occupiedTiles(10, 2000)).toBe(10);
    expect(occupiedTiles(2000, 2000)).toBe(Math.round(2000 * (1 - Math.exp(-1))));
    expect(occupiedTiles(1_000_000, 2000)).toBe(2000);
  });

  it('runs a stage at the concurrency cap once Lambda has scaled up, and never faster', () => {
    const capped = stageWallMs(10_000, 1000, 50);
    expect(capped.concurrency).toBe(50);
    // 10,000 one-second invocations on 50 slots: at least 200 s, plus the ramp from 5.
    expect(capped.wallMs).toBeGreaterThan(200_000);
    expect(capped.wallMs).toBeLessThan(215_000);
    const wider = stageWallMs(10_000, 1000, 500);
    expect(wider.wallMs).toBeLessThan(capped.wallMs);
    // A start rate (SES) caps it whatever the concurrency.
    expect(stageWallMs(1000, 10, 1000, { maxStartsPerSecond: 1 }).wallMs).toBeGreaterThanOrEqual(1_000_000);
  });
});

describe('a cycle', () => {
  it('counts usage from the jobs and notifications', () => {
    const cycle = predictCycle(UNITS, SETTINGS, { watchpoints: 100_000, triggerShare: 0.1, tiles: 2000 }, 'nowcast');
    expect(cycle.jobs).toBe(2000);
    expect(cycle.notifications).toEqual({ email: 5000, webhook: 5000 });
    expect(cycle.usage.sesSends).toBe(5000);
    expect(cycle.usage.webhookCalls).toBe(5000);
    expect(cycle.usage.s3Gets).toBe(1 + 2000 * 15);
    expect(cycle.usage.s3Bytes).toBe(2000 * 40_000);
    // Batcher 1 + one per job (batch 1) + 500 email and 500 webhook invocations (batch 10).
    expect(cycle.usage.lambdaRequests).toBe(1 + 2000 + 500 + 500);
    expect(cycle.costUsd.ses).toBeCloseTo(5000 * 0.1 / 1000, 9);
    expect(cycle.costUsd.total).toBeCloseTo(cycle.costUsd.lambda + cycle.costUsd.sqs + cycle.costUsd.s3 + cycle.costUsd.ses + cycle.costUsd.dataTransfer + cycle.costUsd.logs, 12);
  });

  it('medium range reads more per tile (13 leads against 7) and goes through the standard queue in batches of 10', () => {
    const cycle = predictCycle(UNITS, SETTINGS, { watchpoints: 100_000, triggerShare: 0.01, tiles: 2000 }, 'medium_range');
    expect(cycle.stages.eval.function).toBe('evalStandard');
    expect(cycle.stages.eval.invocations).toBe(200);
    expect(cycle.usage.s3Bytes).toBeCloseTo(2000 * 40_000 * 13 / 7, 3);
    expect(cycle.stages.eval.concurrency).toBeLessThanOrEqual(50);
  });

  it('grows with the watchpoints', () => {
    const at = (n: number) => predictCycle(UNITS, SETTINGS, { watchpoints: n, triggerShare: 0.1, tiles: 2000 }, 'nowcast');
    expect(at(1_000_000).wallMs).toBeGreaterThan(at(100_000).wallMs);
    expect(at(1_000_000).costUsd.total).toBeGreaterThan(at(100_000).costUsd.total);
  });
});

describe('limits', () => {
  it('orders the limits by the size at which each is first hit, and that size is the boundary', () => {
    const model = capacityModel(UNITS, SETTINGS, { watchpoints: 10_000, triggerShare: 0.1, tiles: 2000 });
    const sizes = model.limits.map((l) => l.hitAt ?? Infinity);
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
    expect(model.firstLimit?.id).toBe(model.limits[0]!.id);
    for (const limit of model.limits.filter((l) => l.hitAt !== null && l.hitAt > 2)) {
      const below = capacityModel(UNITS, SETTINGS, { watchpoints: Math.floor(limit.hitAt! * 0.98), triggerShare: 0.1, tiles: 2000 }).limits.find((l) => l.id === limit.id)!;
      const at = capacityModel(UNITS, SETTINGS, { watchpoints: limit.hitAt!, triggerShare: 0.1, tiles: 2000 }).limits.find((l) => l.id === limit.id)!;
      expect(below.hit, `${limit.id} below ${limit.hitAt}`).toBe(false);
      expect(at.hit, `${limit.id} at ${limit.hitAt}`).toBe(true);
    }
  });

  it('the urgent queue depth alarm (100) fires as soon as a cycle has more than 105 jobs', () => {
    const model = capacityModel(UNITS, SETTINGS, { watchpoints: 10_000, triggerShare: 0.01, tiles: 2000 });
    const alarm = model.limits.find((l) => l.id === 'eval-urgent-depth-alarm')!;
    expect(alarm.hit).toBe(true);
    expect(alarm.limit).toBe(100);
    // occupiedTiles(n) - 5 > 100 from n = 106 or so.
    expect(alarm.hitAt).toBeGreaterThan(100);
    expect(alarm.hitAt).toBeLessThan(115);
    expect(alarm.change).toMatch(/EvalQueueUrgentDepthAlarm's threshold from 100/);
    expect(alarm.where).toMatch(/stack code \(src\/stack\/constructs\/alarms\.ts\); no stage option/);
  });

  it('when a limit is hit at the requested size, it names the setting and the change', () => {
    const model = capacityModel(UNITS, SETTINGS, { watchpoints: 100_000, triggerShare: 0.1, tiles: 2000 });
    const spike = model.limits.find((l) => l.id === 'notification-spike-alarm')!;
    expect(spike.hit).toBe(true);
    expect(spike.change).toMatch(/NotificationSpikeAlarm's threshold from 1000 to above \d+/);
    const hit = model.limits.filter((l) => l.hit);
    for (const l of hit) expect(l.where, l.id).toMatch(/stack code|account quota/);
  });

  it('costs per month: cycles times the cost per cycle, plus provisioned concurrency', () => {
    const model = capacityModel(UNITS, SETTINGS, { watchpoints: 100_000, triggerShare: 0.01, tiles: 2000 });
    expect(model.monthly.cycles).toEqual({ nowcast: 2880, medium_range: 90 });
    expect(model.monthly.costUsd.ses).toBeCloseTo(2880 * model.nowcast.costUsd.ses + 90 * model.mediumRange.costUsd.ses, 9);
    expect(model.monthly.provisionedConcurrencyUsd).toBeCloseTo(5 * 1 * 30 * 86_400 * model.prices.lambdaArmProvisionedGbSecondUsd, 6);
    expect(model.monthly.totalUsd).toBeCloseTo(model.monthly.costUsd.total + model.monthly.provisionedConcurrencyUsd, 9);
  });
});

describe('the local prediction', () => {
  it('adds the stages, eval shared by the containers', () => {
    const p = predictLocalCycle(UNITS, { watchpoints: 10_000, jobs: 200, tiles: 200, emails: 500, webhooks: 500, evalContainers: 2 });
    expect(p.stagesMs.batcher).toBeCloseTo(10 + 0.5 * 200 + 0.001 * 10_000, 9);
    expect(p.stagesMs.eval).toBeCloseTo((200 * (50 + 0.01 * 50 + 0.5 * 5)) / 2, 9);
    expect(p.stagesMs.email).toBeCloseTo(500 * 5, 9);
    expect(p.totalMs).toBeCloseTo(p.stagesMs.batcher + p.stagesMs.eval + Math.max(p.stagesMs.email, p.stagesMs.webhook), 9);
  });
});
