// Reading a forecast tile: a Zarr v3 group in S3 read with zarrita through a store over S3 GetObject
// (signed by the Lambda role's credentials, honouring AWS_ENDPOINT_URL), then its checksum verified
// against the manifest's. The checksum definition is a contract with the producer (docs/pipeline.md).
import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as zarr from 'zarrita';
import type { AbsolutePath, AsyncReadable, RangeQuery } from '@zarrita/storage';

/** Coordinate arrays every tile has, besides one array per variable. */
export const COORDINATE_ARRAYS = ['lead_hours', 'lat', 'lon'] as const;

export interface TileArray {
  name: string;
  dtype: string;
  shape: number[];
  data: Float32Array | Float64Array | Int32Array;
}

export interface Tile {
  /** Forecast lead times in hours after issued_at, ascending: shape [nt]. */
  leadHours: Float64Array | Float32Array | Int32Array;
  /** Grid latitudes, ascending: shape [ny]. */
  lat: Float64Array | Float32Array;
  /** Grid longitudes, ascending: shape [nx]. */
  lon: Float64Array | Float32Array;
  /** Variable name -> values of shape [nt, ny, nx], C order. */
  variables: Map<string, Float32Array | Float64Array>;
  /** The checksum computed from what was read. */
  checksum: string;
}

/** Transient S3 failures; the job is retried. Anything else while decoding means a corrupt tile. */
export class TileReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TileReadError';
  }
}

/** Bad data in the tile that no retry can fix. Its name is what the CorruptForecast filter matches. */
export class ZarrChecksumError extends Error {
  readonly kind: 'checksum_mismatch' | 'format';
  constructor(kind: 'checksum_mismatch' | 'format', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ZarrChecksumError';
    this.kind = kind;
  }
}

/**
 * A read-only zarrita store over S3 (`s3://bucket/prefix/<zarr key>`). A custom store rather than
 * FetchStore: FetchStore would need a presigned URL per object, while this one signs each GetObject
 * with the function's role through the SDK and reports throttling/network errors as TileReadError.
 */
export class S3ZarrStore implements AsyncReadable {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  /** Object keys fetched, for logs and tests. */
  readonly fetched: string[] = [];

  constructor(s3: S3Client, bucket: string, prefix: string) {
    this.#s3 = s3;
    this.#bucket = bucket;
    this.#prefix = prefix.replace(/\/+$/, '');
  }

  async get(key: AbsolutePath): Promise<Uint8Array | undefined> {
    return this.#fetch(key);
  }

  async getRange(key: AbsolutePath, range: RangeQuery): Promise<Uint8Array | undefined> {
    const header = 'suffixLength' in range ? `bytes=-${range.suffixLength}` : `bytes=${range.offset}-${range.offset + range.length - 1}`;
    return this.#fetch(key, header);
  }

  async #fetch(key: AbsolutePath, range?: string): Promise<Uint8Array | undefined> {
    const objectKey = `${this.#prefix}${key}`;
    this.fetched.push(objectKey);
    try {
      const response = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: objectKey, ...(range ? { Range: range } : {}) }));
      if (!response.Body) return new Uint8Array();
      return await response.Body.transformToByteArray();
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      // Zarr reads a missing chunk as "all fill value"; the checksum then catches a chunk that should exist.
      if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
      throw new TileReadError(`GetObject s3://${this.#bucket}/${objectKey} failed: ${name || String(error)}`, { cause: error });
    }
  }
}

/**
 * The tile checksum: sha256 over the arrays in ascending name order, each as
 * `<name>\n<dtype>\n<shape joined by ",">\n` followed by its decoded values as little-endian bytes.
 * Independent of chunking and compression, so the producer may choose either freely.
 */
export function tileChecksum(arrays: readonly TileArray[]): string {
  const hash = createHash('sha256');
  for (const array of [...arrays].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    hash.update(`${array.name}\n${array.dtype}\n${array.shape.join(',')}\n`);
    hash.update(littleEndianBytes(array.data));
  }
  return `sha256:${hash.digest('hex')}`;
}

function littleEndianBytes(data: TileArray['data']): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes;
  const copy = new Uint8Array(bytes);
  const width = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < copy.length; i += width) copy.subarray(i, i + width).reverse();
  return copy;
}

const ALLOWED = new Set(['float32', 'float64', 'int32']);

async function readArray(root: zarr.Location<AsyncReadable>, name: string): Promise<TileArray> {
  let array: zarr.Array<zarr.DataType, AsyncReadable>;
  try {
    array = await zarr.open(root.resolve(name), { kind: 'array' });
  } catch (error) {
    if (error instanceof TileReadError) throw error;
    throw new ZarrChecksumError('format', `array "${name}" is missing or has invalid metadata`, { cause: error });
  }
  if (!ALLOWED.has(array.dtype)) throw new ZarrChecksumError('format', `array "${name}" has dtype ${array.dtype}; expected float32, float64 or int32`);
  try {
    const chunk = await zarr.get(array);
    return { name, dtype: array.dtype, shape: [...chunk.shape], data: chunk.data as TileArray['data'] };
  } catch (error) {
    if (error instanceof TileReadError) throw error;
    throw new ZarrChecksumError('format', `array "${name}" could not be decoded`, { cause: error });
  }
}

/** Reads the coordinates and the given variables, verifies shapes and the checksum. */
export async function readTile(store: AsyncReadable, variables: readonly string[], expectedChecksum: string): Promise<Tile> {
  const root = zarr.root(store);
  const names = [...COORDINATE_ARRAYS, ...variables];
  const arrays = await Promise.all(names.map((name) => readArray(root, name)));
  const checksum = tileChecksum(arrays);
  if (checksum !== expectedChecksum) {
    throw new ZarrChecksumError('checksum_mismatch', `tile checksum ${checksum} does not match the manifest's ${expectedChecksum}`);
  }
  const byName = new Map(arrays.map((array) => [array.name, array]));
  const leadHours = byName.get('lead_hours')!;
  const lat = byName.get('lat')!;
  const lon = byName.get('lon')!;
  const [nt, ny, nx] = [leadHours.data.length, lat.data.length, lon.data.length];
  if (leadHours.shape.length !== 1 || lat.shape.length !== 1 || lon.shape.length !== 1 || lat.dtype === 'int32' || lon.dtype === 'int32') {
    throw new ZarrChecksumError('format', 'coordinate arrays lead_hours, lat and lon must be 1-dimensional (lat/lon floating point)');
  }
  const values = new Map<string, Float32Array | Float64Array>();
  for (const name of variables) {
    const array = byName.get(name)!;
    if (array.dtype === 'int32' || array.shape.join(',') !== `${nt},${ny},${nx}`) {
      throw new ZarrChecksumError('format', `variable "${name}" must be floating point with shape [${nt},${ny},${nx}] (lead_hours, lat, lon); it is ${array.dtype} [${array.shape.join(',')}]`);
    }
    values.set(name, array.data as Float32Array | Float64Array);
  }
  return {
    leadHours: leadHours.data,
    lat: lat.data as Float64Array | Float32Array,
    lon: lon.data as Float64Array | Float32Array,
    variables: values,
    checksum,
  };
}
