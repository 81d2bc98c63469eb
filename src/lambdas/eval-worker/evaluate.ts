// The pure core: does a watchpoint's condition hold over its window at its location in this tile?
import type { Condition } from '../shared/messages.ts';
import type { Tile } from './tile.ts';

export interface WatchpointRow {
  id: string;
  name: string;
  latitude: number;
  longitude: number;
  variable: string;
  condition: Condition;
  threshold: number;
  window_start_hours: number;
  window_end_hours: number;
  channels: unknown;
}

export interface Trigger {
  leadHours: number;
  value: number;
  extremeValue: number;
  gridLatitude: number;
  gridLongitude: number;
}

export type Evaluation =
  | { status: 'triggered'; trigger: Trigger }
  | { status: 'not_triggered' }
  /** The tile cannot answer: unknown variable, no lead time in the window, or only missing values. */
  | { status: 'skipped'; reason: string };

/** Index of the value in an ascending array nearest to x (ties go to the lower index). */
export function nearestIndex(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs((sorted[lo - 1] as number) - x) <= Math.abs((sorted[lo] as number) - x)) return lo - 1;
  return lo;
}

const HOLDS: Record<Condition, (value: number, threshold: number) => boolean> = {
  gt: (v, t) => v > t,
  gte: (v, t) => v >= t,
  lt: (v, t) => v < t,
  lte: (v, t) => v <= t,
};

export function evaluateWatchpoint(tile: Tile, watchpoint: WatchpointRow): Evaluation {
  const values = tile.variables.get(watchpoint.variable);
  if (!values) return { status: 'skipped', reason: `variable ${watchpoint.variable} is not in this tile` };
  const ny = tile.lat.length;
  const nx = tile.lon.length;
  const iy = nearestIndex(tile.lat, watchpoint.latitude);
  const ix = nearestIndex(tile.lon, watchpoint.longitude);
  const holds = HOLDS[watchpoint.condition];
  const upward = watchpoint.condition === 'gt' || watchpoint.condition === 'gte';
  let first: { leadHours: number; value: number } | undefined;
  let extreme = upward ? -Infinity : Infinity;
  let seen = 0;
  for (let t = 0; t < tile.leadHours.length; t += 1) {
    const lead = tile.leadHours[t] as number;
    if (lead < watchpoint.window_start_hours || lead > watchpoint.window_end_hours) continue;
    const value = values[(t * ny + iy) * nx + ix] as number;
    if (Number.isNaN(value)) continue;
    seen += 1;
    extreme = upward ? Math.max(extreme, value) : Math.min(extreme, value);
    if (first === undefined && holds(value, watchpoint.threshold)) first = { leadHours: lead, value };
  }
  if (seen === 0) return { status: 'skipped', reason: 'no forecast value in the window at this location' };
  if (first === undefined) return { status: 'not_triggered' };
  return {
    status: 'triggered',
    trigger: {
      leadHours: first.leadHours,
      value: first.value,
      extremeValue: extreme,
      gridLatitude: tile.lat[iy] as number,
      gridLongitude: tile.lon[ix] as number,
    },
  };
}
