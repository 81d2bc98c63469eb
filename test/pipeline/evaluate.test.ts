// The pure evaluation core and the deterministic ids.
import { describe, expect, it } from 'vitest';
import { evaluateWatchpoint, nearestIndex, type WatchpointRow } from '../../src/lambdas/eval-worker/evaluate.ts';
import type { Tile } from '../../src/lambdas/eval-worker/tile.ts';
import { tileChecksum } from '../../src/lambdas/eval-worker/tile.ts';
import { channelKey, evalJobId, notificationId } from '../../src/lambdas/shared/ids.ts';
import { EvalJob, InvalidMessageError, Manifest, NotificationMessage, parseMessage } from '../../src/lambdas/shared/messages.ts';

// 3 leads (0, 6, 12 h) x 2 lat (10, 11) x 2 lon (20, 21); value = lead + 100*y + 1000*x.
const tile: Tile = {
  leadHours: Int32Array.from([0, 6, 12]),
  lat: Float64Array.from([10, 11]),
  lon: Float64Array.from([20, 21]),
  variables: new Map([['v', Float32Array.from({ length: 12 }, (_, i) => [0, 6, 12][Math.floor(i / 4)]! + 100 * (Math.floor(i / 2) % 2) + 1000 * (i % 2))]]),
  checksum: '',
};
const wp = (over: Partial<WatchpointRow>): WatchpointRow => ({
  id: '00000000-0000-4000-8000-000000000000', name: '', latitude: 10, longitude: 20, variable: 'v', condition: 'gt', threshold: 0,
  window_start_hours: 0, window_end_hours: 12, channels: [], ...over,
});

describe('evaluateWatchpoint', () => {
  it('reads the nearest grid point and reports the first time the condition holds', () => {
    const result = evaluateWatchpoint(tile, wp({ latitude: 10.9, longitude: 20.9, threshold: 1105 }));
    expect(result).toEqual({ status: 'triggered', trigger: { leadHours: 6, value: 1106, extremeValue: 1112, gridLatitude: 11, gridLongitude: 21 } });
  });

  it('respects the window and each condition', () => {
    expect(evaluateWatchpoint(tile, wp({ threshold: 6, window_end_hours: 6 })).status).toBe('not_triggered');
    expect(evaluateWatchpoint(tile, wp({ condition: 'gte', threshold: 6, window_end_hours: 6 })).status).toBe('triggered');
    expect(evaluateWatchpoint(tile, wp({ condition: 'lt', threshold: 6, window_start_hours: 6 })).status).toBe('not_triggered');
    const lte = evaluateWatchpoint(tile, wp({ condition: 'lte', threshold: 6, window_start_hours: 6 }));
    expect(lte).toMatchObject({ status: 'triggered', trigger: { leadHours: 6, value: 6, extremeValue: 6 } });
  });

  it('skips what the tile cannot answer', () => {
    expect(evaluateWatchpoint(tile, wp({ variable: 'snow' }))).toMatchObject({ status: 'skipped' });
    expect(evaluateWatchpoint(tile, wp({ window_start_hours: 13, window_end_hours: 20 }))).toMatchObject({ status: 'skipped' });
    const gaps: Tile = { ...tile, variables: new Map([['v', new Float32Array(12).fill(Number.NaN)]]) };
    expect(evaluateWatchpoint(gaps, wp({}))).toMatchObject({ status: 'skipped' });
  });

  it('nearestIndex', () => {
    const xs = [0, 1, 2, 3];
    expect([-5, 0.4, 0.5, 0.6, 2.9, 10].map((x) => nearestIndex(xs, x))).toEqual([0, 0, 0, 1, 3, 3]);
    expect(nearestIndex([5], 100)).toBe(0);
  });
});

describe('contracts', () => {
  it('job and notification ids are deterministic and distinct', () => {
    expect(evalJobId('r1', 'nowcast', 't1')).toBe(evalJobId('r1', 'nowcast', 't1'));
    expect(evalJobId('r1', 'nowcast', 't1')).not.toBe(evalJobId('r1', 'nowcast', 't2'));
    expect(evalJobId('r1', 'nowcast', 't1')).toMatch(/^[0-9a-f]{64}$/);
    const wpId = '3f1c2b9e-1111-4222-8333-444455556666';
    const id = notificationId(wpId, 'nowcast', 'r1', channelKey({ type: 'email', address: 'A@B.com' }));
    expect(id).toBe(notificationId(wpId.toUpperCase(), 'nowcast', 'r1', 'email:a@b.com'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id).not.toBe(notificationId(wpId, 'nowcast', 'r2', 'email:a@b.com'));
    // A nowcast and a medium-range run of the same slot (00:00, 08:00, 16:00 UTC) share the run id: two runs, two notifications.
    expect(id).not.toBe(notificationId(wpId, 'medium_range', 'r1', 'email:a@b.com'));
  });

  it('the tile checksum covers names, dtypes, shapes and values, in name order', () => {
    const a = { name: 'a', dtype: 'float32', shape: [2], data: Float32Array.from([1, 2]) };
    const b = { name: 'b', dtype: 'int32', shape: [1], data: Int32Array.from([7]) };
    const sum = tileChecksum([a, b]);
    expect(sum).toBe(tileChecksum([b, a]));
    expect(sum).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(tileChecksum([{ ...a, data: Float32Array.from([1, 3]) }, b])).not.toBe(sum);
    expect(tileChecksum([{ ...a, shape: [1, 2] }, b])).not.toBe(sum);
    expect(tileChecksum([{ ...a, name: 'c' }, b])).not.toBe(sum);
  });

  it('parseMessage says what is wrong without echoing the body', () => {
    expect(() => parseMessage(EvalJob, 'nope', 'eval job')).toThrow(new InvalidMessageError('eval job: body is not JSON'));
    expect(() => parseMessage(EvalJob, '{"version":2}', 'eval job')).toThrow(/version/);
    expect(() => parseMessage(Manifest, JSON.stringify({ version: 1, run_id: 'r', forecast_type: 'nowcast', issued_at: '2026-01-01T00:00:00Z', tiles: [
      { id: 't', path: '../x', bounds: { lat_min: 0, lat_max: 1, lon_min: 0, lon_max: 1 }, variables: ['v'], checksum: `sha256:${'a'.repeat(64)}` },
    ] }), 'manifest')).toThrow(/relative to the run prefix/);
    expect(NotificationMessage.safeParse({}).success).toBe(false);
  });
});
