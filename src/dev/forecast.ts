// A synthetic forecast run, written the way RunPod writes one (docs/pipeline.md): one Zarr v3 group
// per tile (zarrita, zstd), `manifest.json` with each tile's checksum, then `_SUCCESS`. The field is
// deterministic (a smooth function of place and lead time), so a run is reproducible; a "hot point"
// makes the grid point nearest to a location read a given value, so a watchpoint there triggers.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as zarr from 'zarrita';
import { tileChecksum, type TileArray } from '../lambdas/eval-worker/tile.ts';
import type { Bounds, ForecastType, Manifest } from '../lambdas/shared/messages.ts';

export interface TileSpec {
  id: string;
  bounds: Bounds;
  lat: number[];
  lon: number[];
  leadHours: number[];
  /** name -> fn(leadIndex, latIndex, lonIndex) giving the value there. */
  variables: Record<string, (t: number, y: number, x: number) => number>;
}

const ZSTD_CODECS = [
  { name: 'bytes', configuration: { endian: 'little' } },
  { name: 'zstd', configuration: { level: 1, checksum: false } },
];

/** The arrays of a tile as the producer holds them (before writing), and their checksum. */
export function tileArrays(spec: TileSpec): TileArray[] {
  const [nt, ny, nx] = [spec.leadHours.length, spec.lat.length, spec.lon.length];
  const arrays: TileArray[] = [
    { name: 'lead_hours', dtype: 'int32', shape: [nt], data: Int32Array.from(spec.leadHours) },
    { name: 'lat', dtype: 'float64', shape: [ny], data: Float64Array.from(spec.lat) },
    { name: 'lon', dtype: 'float64', shape: [nx], data: Float64Array.from(spec.lon) },
  ];
  for (const [name, at] of Object.entries(spec.variables)) {
    const data = new Float32Array(nt * ny * nx);
    for (let t = 0; t < nt; t += 1) for (let y = 0; y < ny; y += 1) for (let x = 0; x < nx; x += 1) data[(t * ny + y) * nx + x] = at(t, y, x);
    arrays.push({ name, dtype: 'float32', shape: [nt, ny, nx], data });
  }
  return arrays;
}

/** Writes a tile as a Zarr v3 group with zarrita (in memory), then uploads every object to S3. */
export async function writeTile(s3: S3Client, bucket: string, key: string, arrays: TileArray[], producer = 'watchpoint-dev'): Promise<Map<string, Uint8Array>> {
  const store = new Map<string, Uint8Array>();
  const root = await zarr.create(store as unknown as zarr.Mutable, { attributes: { producer } });
  for (const array of arrays) {
    const chunkShape = array.shape.length === 3 ? [Math.max(1, Math.ceil(array.shape[0]! / 2)), array.shape[1]!, array.shape[2]!] : array.shape;
    const created = await zarr.create(root.resolve(array.name), {
      shape: array.shape,
      chunkShape,
      dtype: array.dtype as 'float32' | 'float64' | 'int32',
      codecs: ZSTD_CODECS,
    });
    await zarr.set(created, null, { data: array.data, shape: array.shape, stride: stridesOf(array.shape) } as never);
  }
  await Promise.all([...store].map(([path, bytes]) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${key}${path}`, Body: Buffer.from(bytes) }))));
  return store;
}

function stridesOf(shape: number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i -= 1) strides[i] = strides[i + 1]! * shape[i + 1]!;
  return strides;
}

export interface WrittenRun {
  forecastType: ForecastType;
  runId: string;
  manifest: Manifest;
  successKey: string;
  /** tile id -> the Zarr objects written (path inside the group -> bytes). */
  objects: Map<string, Map<string, Uint8Array>>;
}

/** Tiles, then the manifest, then `_SUCCESS` last (unless success is false), as RunPod does. */
export async function writeRun(
  s3: S3Client,
  bucket: string,
  options: { forecastType: ForecastType; runId: string; issuedAt: string; tiles: TileSpec[]; success?: boolean; concurrency?: number; /** Drill: each tile's data no longer matches its manifest checksum. */ corrupt?: boolean },
): Promise<WrittenRun> {
  const prefix = `${options.forecastType}/${options.runId}/`;
  const objects = new Map<string, Map<string, Uint8Array>>();
  const tiles: Manifest['tiles'] = [];
  const queue = [...options.tiles];
  const worker = async () => {
    for (let spec = queue.shift(); spec; spec = queue.shift()) {
      const arrays = tileArrays(spec);
      const path = `tiles/${spec.id}.zarr`;
      // A corrupt tile: one value changed after the producer computed the checksum (a bad write, bit rot).
      const written = options.corrupt ? arrays.map((a, i) => (i === arrays.length - 1 ? { ...a, data: a.data.map((v, j) => (j === 0 ? v + 7 : v)) as typeof a.data } : a)) : arrays;
      objects.set(spec.id, await writeTile(s3, bucket, `${prefix}${path}`, written));
      tiles.push({ id: spec.id, path, bounds: spec.bounds, variables: Object.keys(spec.variables), checksum: tileChecksum(arrays) });
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  const order = new Map(options.tiles.map((t, i) => [t.id, i]));
  tiles.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  const manifest: Manifest = { version: 1, run_id: options.runId, forecast_type: options.forecastType, issued_at: options.issuedAt, tiles };
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}manifest.json`, Body: JSON.stringify(manifest) }));
  const successKey = `${prefix}_SUCCESS`;
  if (options.success !== false) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: successKey, Body: new Uint8Array(0), ContentLength: 0 }));
  return { forecastType: options.forecastType, runId: options.runId, manifest, successKey, objects };
}

/** A regular grid tile: n x n points from (latMin, lonMin) with the given step. */
export function gridTile(id: string, latMin: number, lonMin: number, size: number, n: number, leadHours: number[], variables: TileSpec['variables']): TileSpec {
  const step = size / n;
  return {
    id,
    bounds: { lat_min: latMin, lat_max: latMin + size, lon_min: lonMin, lon_max: lonMin + size },
    lat: Array.from({ length: n }, (_, i) => latMin + step / 2 + i * step),
    lon: Array.from({ length: n }, (_, i) => lonMin + step / 2 + i * step),
    leadHours,
    variables,
  };
}

// --- the synthetic field -------------------------------------------------------------------------

export interface HotPoint {
  latitude: number;
  longitude: number;
  variable: string;
  value: number;
}

export interface SyntheticGrid {
  /** South-west corner of the tiled area and its tiles' size in degrees. */
  latMin: number;
  lonMin: number;
  tileDegrees: number;
  /** Tiles along longitude, then rows of them northwards, until `tiles` are placed. */
  columns: number;
  tiles: number;
  pointsPerSide: number;
}

/** Europe (35-50 N, 15 W-25 E), 24 tiles of 5 degrees with 8 x 8 points each: written in a moment. */
export const DEFAULT_GRID: SyntheticGrid = { latMin: 35, lonMin: -15, tileDegrees: 5, columns: 8, tiles: 24, pointsPerSide: 8 };

export const LEAD_HOURS: Record<ForecastType, number[]> = {
  nowcast: [0, 1, 2, 3, 4, 5, 6],
  medium_range: [0, 6, 12, 24, 48, 72, 96, 120, 144, 168, 192, 216, 240],
};

/** Mild everywhere (below 30 °C, under 5 mm/h, under 20 m/s): nothing triggers without a hot point. */
export function baseValue(variable: string, lat: number, lon: number, leadHours: number): number {
  const wave = Math.sin((lat * Math.PI) / 18) * Math.cos((lon * Math.PI) / 24);
  if (variable === 'temperature_2m') return 28 - 0.4 * Math.abs(lat - 30) + 3 * wave + 2 * Math.sin((leadHours * Math.PI) / 12);
  if (variable === 'precipitation') return Math.max(0, 2 + 2 * wave);
  return 8 + 6 * wave; // wind_speed_10m
}

export const VARIABLES = ['temperature_2m', 'precipitation', 'wind_speed_10m'] as const;

export function syntheticTiles(forecastType: ForecastType, grid: SyntheticGrid, hotPoints: readonly HotPoint[]): TileSpec[] {
  const leadHours = LEAD_HOURS[forecastType];
  const specs: TileSpec[] = [];
  for (let i = 0; i < grid.tiles; i += 1) {
    const latMin = grid.latMin + Math.floor(i / grid.columns) * grid.tileDegrees;
    const lonMin = grid.lonMin + (i % grid.columns) * grid.tileDegrees;
    const shell = gridTile(`t${String(i).padStart(4, '0')}`, latMin, lonMin, grid.tileDegrees, grid.pointsPerSide, leadHours, {});
    const variables: TileSpec['variables'] = {};
    for (const variable of VARIABLES) {
      // The hot point's nearest grid point (of this tile, if the point lies in it) reads its value.
      const hot = hotPoints
        .filter((p) => p.variable === variable && p.latitude >= shell.bounds.lat_min && p.latitude < shell.bounds.lat_max && p.longitude >= shell.bounds.lon_min && p.longitude < shell.bounds.lon_max)
        .map((p) => ({ p, y: nearest(shell.lat, p.latitude), x: nearest(shell.lon, p.longitude) }));
      variables[variable] = (t, y, x) => hot.find((h) => h.y === y && h.x === x)?.p.value ?? baseValue(variable, shell.lat[y]!, shell.lon[x]!, leadHours[t]!);
    }
    specs.push({ ...shell, variables });
  }
  return specs;
}

function nearest(values: number[], x: number): number {
  let best = 0;
  for (let i = 1; i < values.length; i += 1) if (Math.abs(values[i]! - x) < Math.abs(values[best]! - x)) best = i;
  return best;
}
