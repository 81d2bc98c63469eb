// The pipeline's contracts (docs/pipeline.md): the forecast run manifest RunPod writes, the eval job
// (Batcher -> eval queues) and the notification (eval workers -> notification queues). Every
// consumer validates with these schemas; a message that fails is that record's failure alone.
// zod/mini, not classic zod: the same checks at 12 KB instead of ~450 KB in a bundle, and ~15 ms less
// cold start (bench pipeline-bundles).
import * as z from 'zod/mini';

/**
 * The characters SQS accepts in a message (SendMessage: #x9 | #xA | #xD | #x20-#xD7FF |
 * #xE000-#xFFFD | #x10000-#x10FFFF). With the `u` flag an unpaired surrogate is one code point
 * outside every range, so it fails too.
 */
const SQS_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
export const isSqsText = (value: string): boolean => SQS_TEXT.test(value);

export const FORECAST_TYPES = ['nowcast', 'medium_range'] as const;
export const ForecastType = z.enum(FORECAST_TYPES);
export type ForecastType = z.infer<typeof ForecastType>;

/** Run ids appear in S3 keys and in the database: letters, digits, '.', '_', '-', 1..128. */
export const RunId = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 of [A-Za-z0-9._-], starting alphanumeric'));
export const TileId = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 of [A-Za-z0-9._-], starting alphanumeric'));
export const VariableName = z.string().check(z.regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be 1-64 of [a-z0-9_], starting with a letter'));
/** sha256 over the tile's arrays, as defined in docs/pipeline.md ("Tile checksum"). */
export const Checksum = z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" and 64 lowercase hex digits'));
/** A path relative to the run prefix: no leading '/', no '..' segment, no empty segment. */
const RelativePath = z.string().check(
  z.minLength(1),
  z.maxLength(512),
  z.refine((path) => !path.startsWith('/') && path.split('/').every((part) => part !== '' && part !== '.' && part !== '..'), 'must be relative to the run prefix, without "." or ".." segments'),
);

/** Half-open box: lat_min <= lat < lat_max (lat_max = 90 includes 90), lon_min <= lon < lon_max. */
const latitude = () => z.number().check(z.gte(-90), z.lte(90));
const longitude = () => z.number().check(z.gte(-180), z.lte(180));
export const Bounds = z
  .object({ lat_min: latitude(), lat_max: latitude(), lon_min: longitude(), lon_max: longitude() })
  .check(z.refine((b) => b.lat_min < b.lat_max && b.lon_min < b.lon_max, 'must have lat_min < lat_max and lon_min < lon_max'));
export type Bounds = z.infer<typeof Bounds>;

export const ManifestTile = z.object({
  id: TileId,
  path: RelativePath,
  bounds: Bounds,
  variables: z.array(VariableName).check(z.minLength(1), z.maxLength(64)),
  checksum: Checksum,
});
export type ManifestTile = z.infer<typeof ManifestTile>;

/** `<forecast_type>/<run_id>/manifest.json`, written by RunPod before `_SUCCESS`. */
export const Manifest = z
  .object({
    version: z.literal(1),
    run_id: RunId,
    forecast_type: ForecastType,
    issued_at: z.iso.datetime({ offset: true }),
    tiles: z.array(ManifestTile).check(z.maxLength(100_000)),
  })
  .check(z.refine((m) => new Set(m.tiles.map((tile) => tile.id)).size === m.tiles.length, 'tile ids must be unique'));
export type Manifest = z.infer<typeof Manifest>;

/** Batcher -> EvalQueueUrgent (nowcast) / EvalQueueStandard (medium_range). About 600 bytes. */
export const EvalJob = z.object({
  version: z.literal(1),
  /** sha256 of (run_id, forecast_type, tile id, version): the same job every time it is produced. */
  job_id: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')),
  forecast_type: ForecastType,
  run_id: RunId,
  issued_at: z.iso.datetime({ offset: true }),
  bucket: z.string().check(z.minLength(3), z.maxLength(63)),
  /** The tile, with `key` = the S3 key prefix of its Zarr group (`<type>/<run>/<path>`). */
  tile: z.extend(z.omit(ManifestTile, { path: true }), { key: z.string().check(z.minLength(1), z.maxLength(1024)) }),
  /** Active watchpoints the Batcher found in the tile; informational (the worker queries again). */
  watchpoints: z.int().check(z.gte(0)),
});
export type EvalJob = z.infer<typeof EvalJob>;

export const EmailChannel = z.object({ type: z.literal('email'), address: z.email().check(z.maxLength(320)) });
export const WebhookChannel = z.object({
  type: z.literal('webhook'),
  url: z.url({ protocol: /^https?$/ }).check(z.maxLength(2048)),
});
export const Channel = z.discriminatedUnion('type', [EmailChannel, WebhookChannel]);
export type Channel = z.infer<typeof Channel>;

export const CONDITIONS = ['gt', 'gte', 'lt', 'lte'] as const;
export const Condition = z.enum(CONDITIONS);
export type Condition = z.infer<typeof Condition>;

/** Eval worker -> SQS_NOTIFICATIONS_EMAIL or SQS_NOTIFICATIONS_WEBHOOK (by channel.type). Under 4 KB. */
export const NotificationMessage = z.object({
  version: z.literal(1),
  /** = notification_records.id; the delivery workers deduplicate on it. */
  notification_id: z.uuid(),
  /** The eval job that produced it, so a job's notifications can be traced (absent in older messages). */
  job_id: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'))),
  channel: Channel,
  watchpoint: z.object({
    id: z.uuid(),
    name: z.string().check(z.maxLength(200)),
    latitude: z.number(),
    longitude: z.number(),
    variable: VariableName,
    condition: Condition,
    threshold: z.number(),
  }),
  forecast: z.object({ forecast_type: ForecastType, run_id: RunId, issued_at: z.iso.datetime({ offset: true }) }),
  trigger: z.object({
    /** The first forecast time in the window at which the condition holds. */
    valid_time: z.iso.datetime({ offset: true }),
    lead_hours: z.number(),
    value: z.number(),
    /** The most extreme value in the window in the condition's direction (max for gt/gte, min for lt/lte). */
    extreme_value: z.number(),
    /** The grid point that was read (nearest to the watchpoint). */
    grid_latitude: z.number(),
    grid_longitude: z.number(),
  }),
  created_at: z.iso.datetime({ offset: true }),
});
export type NotificationMessage = z.infer<typeof NotificationMessage>;

const ECHOED_KEYS = 5;
const ECHOED_KEY_LENGTH = 40;

/**
 * Unknown keys are the client's own text: name a few, each cut short, so an error can never grow
 * with the body (a 5 MB body of unknown keys once drew an 8 MB answer, past Lambda's 6 MB limit).
 */
export function echoKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, ECHOED_KEYS).map((key) => (key.length > ECHOED_KEY_LENGTH ? `${key.slice(0, ECHOED_KEY_LENGTH)}…` : key));
  return keys.length > ECHOED_KEYS ? `${shown.join(', ')} and ${keys.length - ECHOED_KEYS} more` : shown.join(', ');
}

/** zod/mini carries no locale, so its built-in issues say little; spell out the common ones. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'custom') return issue.message;
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`;
  if (issue.code === 'invalid_value') return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}`;
  if (issue.code === 'invalid_format') return `expected a valid ${issue.format}`;
  if (issue.code === 'too_small') return `must be at least ${String(issue.minimum)}${issue.origin === 'string' || issue.origin === 'array' ? ' long' : ''}`;
  if (issue.code === 'too_big') return `must be at most ${String(issue.maximum)}${issue.origin === 'string' || issue.origin === 'array' ? ' long' : ''}`;
  if (issue.code === 'unrecognized_keys') return `unknown keys ${echoKeys(issue.keys)}`;
  if (issue.code === 'invalid_union') return 'matches none of the allowed shapes';
  return issue.code;
}

export class InvalidMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidMessageError';
  }
}

/** JSON.parse + schema, throwing one InvalidMessageError that says what was wrong (never the body). */
export function parseMessage<S extends z.ZodMiniType>(schema: S, body: string, what: string): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidMessageError(`${what}: body is not JSON`);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(root)'}: ${describeIssue(issue)}`);
    throw new InvalidMessageError(`${what}: ${issues.join('; ')}`);
  }
  return result.data;
}
