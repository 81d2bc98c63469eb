// The unit costs the capacity bench measured (`CAPACITY_WRITE=1 npm run bench capacity` writes
// measured.json beside this file). Imported as JSON, so the CLI bundle carries it and rebuilds when it
// changes; checked, so a hand-broken file is an error with a fix, not a model built on nothing.
import measured from './measured.json' with { type: 'json' };
import { WatchpointError } from '../errors.ts';
import type { MeasuredUnitCosts } from './model.ts';

const FIX = 'Measure them again on this checkout: CAPACITY_WRITE=1 npm run bench capacity (about 10 minutes), then rerun.';

export function checkUnitCosts(parsed: unknown, source = 'src/cli/capacity/measured.json'): MeasuredUnitCosts {
  const units = parsed as Partial<MeasuredUnitCosts>;
  const costs = [units.batcher?.fixed, units.batcher?.perTile, units.batcher?.perWatchpoint, units.eval?.perTile, units.eval?.perWatchpoint, units.eval?.perNotification, units.delivery?.email?.perNotification, units.delivery?.webhook?.perNotification];
  const numbers = [...costs.flatMap((c) => [c?.wallMs, c?.cpuMs, c?.dbMs]), units.eval?.bytesPerTile, units.eval?.getsPerTile];
  if (units.schemaVersion !== 1 || numbers.some((n) => typeof n !== 'number' || !Number.isFinite(n) || n < 0)) {
    throw new WatchpointError(`The measured unit costs (${source}) are not schemaVersion 1 with every unit cost a number >= 0.`, { code: 'CAPACITY_UNITS_INVALID', fault: 'system', fix: FIX });
  }
  return units as MeasuredUnitCosts;
}

export function loadMeasuredUnitCosts(): MeasuredUnitCosts {
  return checkUnitCosts(measured);
}
