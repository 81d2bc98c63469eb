// Request bodies and query parameters of the API, validated with zod/mini (the same checks as classic
// zod at a fraction of the bundle size). Unknown keys are rejected, so a typo is an error, not a no-op.
import * as z from 'zod/mini';
import { Condition, VariableName, describeIssue, isSqsText } from '../shared/messages.ts';
import { badRequest } from './http.ts';

const MAX_WINDOW_HOURS = 384;
export const MAX_CHANNELS = 10;

/**
 * Every string the API stores may end up in a notification message, so every string field holds
 * only what SQS accepts (isSqsText). That also refuses NUL (which PostgreSQL refuses in text) and
 * unpaired surrogates (which pg would silently turn into U+FFFD).
 */
export const SAFE_TEXT_MESSAGE = 'must not contain control characters, U+FFFE, U+FFFF or unpaired surrogates';
const safeText = () => z.refine<string>(isSqsText, SAFE_TEXT_MESSAGE);

/**
 * The channel shapes of shared/messages.ts, but strict: the docs promise that an unknown field is a
 * 400 at every level, not only at the top. (The pipeline's own schema stays lenient for old rows.)
 */
const EmailChannel = z.strictObject({ type: z.literal('email'), address: z.email().check(z.maxLength(320), safeText()) });
const WebhookChannel = z.strictObject({ type: z.literal('webhook'), url: z.url({ protocol: /^https?$/ }).check(z.maxLength(2048), safeText()) });
const Channel = z.discriminatedUnion('type', [EmailChannel, WebhookChannel]);

const fields = {
  name: z.string().check(z.maxLength(200), safeText()),
  latitude: z.number().check(z.gte(-90), z.lte(90)),
  longitude: z.number().check(z.gte(-180), z.lt(180)),
  variable: VariableName,
  condition: Condition,
  threshold: z.number(),
  window_start_hours: z.int().check(z.gte(0), z.lte(MAX_WINDOW_HOURS)),
  window_end_hours: z.int().check(z.gte(0), z.lte(MAX_WINDOW_HOURS)),
  channels: z.array(Channel).check(z.minLength(1), z.maxLength(MAX_CHANNELS)),
  active: z.boolean(),
};

const windowOrdered = (value: { window_start_hours?: number | undefined; window_end_hours?: number | undefined }): boolean =>
  value.window_start_hours === undefined || value.window_end_hours === undefined || value.window_start_hours <= value.window_end_hours;

export const CreateWatchpoint = z
  .strictObject({
    name: z.optional(fields.name),
    latitude: fields.latitude,
    longitude: fields.longitude,
    variable: fields.variable,
    condition: fields.condition,
    threshold: fields.threshold,
    window_start_hours: z.optional(fields.window_start_hours),
    window_end_hours: fields.window_end_hours,
    channels: fields.channels,
    active: z.optional(fields.active),
  })
  .check(z.refine(windowOrdered, { message: 'window_start_hours must be <= window_end_hours', path: ['window_start_hours'] }));
export type CreateWatchpoint = z.infer<typeof CreateWatchpoint>;

export const UpdateWatchpoint = z
  .strictObject({
    name: z.optional(fields.name),
    latitude: z.optional(fields.latitude),
    longitude: z.optional(fields.longitude),
    variable: z.optional(fields.variable),
    condition: z.optional(fields.condition),
    threshold: z.optional(fields.threshold),
    window_start_hours: z.optional(fields.window_start_hours),
    window_end_hours: z.optional(fields.window_end_hours),
    channels: z.optional(fields.channels),
    active: z.optional(fields.active),
  })
  .check(
    z.refine((value) => Object.keys(value).length > 0, 'must change at least one field'),
    z.refine(windowOrdered, { message: 'window_start_hours must be <= window_end_hours', path: ['window_start_hours'] }),
  );
export type UpdateWatchpoint = z.infer<typeof UpdateWatchpoint>;

/** A key's own quotas (issue 27); a quota left out takes the stage's default. */
const KeyQuotas = z.strictObject({
  watchpoints: z.optional(z.int().check(z.gte(0), z.lte(1_000_000))),
  channels_per_watchpoint: z.optional(z.int().check(z.gte(1), z.lte(MAX_CHANNELS))),
  recipients: z.optional(z.int().check(z.gte(0), z.lte(100_000))),
});

export const CreateApiKey = z.strictObject({
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(200), safeText())),
  quotas: z.optional(KeyQuotas),
});
export type CreateApiKey = z.infer<typeof CreateApiKey>;

export const Uuid = z.uuid();

const Recipient = z.email().check(z.maxLength(320), safeText());

/** Whose watchpoints an admin pauses or resumes: exactly one of a key id or an email recipient. */
export const PauseSelector = z
  .strictObject({ api_key_id: z.optional(Uuid), recipient: z.optional(Recipient) })
  .check(z.refine((value) => (value.api_key_id === undefined) !== (value.recipient === undefined), 'give exactly one of api_key_id and recipient'));

/** `?recipient=` of GET /v1/api-keys: an email address, or absent. */
export function parseRecipientQuery(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!Recipient.safeParse(raw).success) throw badRequest('recipient must be an email address.', { errors: [{ field: 'recipient', message: 'expected a valid email' }] });
  return raw;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

/** Parses a JSON body and validates it; a 400 problem lists what is wrong, field by field (never values). */
export function parseBody<S extends z.ZodMiniType>(schema: S, body: string | undefined): z.output<S> {
  if (body === undefined || body.trim() === '') throw badRequest('The request body must be a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const errors = result.error.issues.slice(0, 20).map((issue) => ({ field: issue.path.join('.') || '(body)', message: describeIssue(issue) }));
    throw badRequest(`${errors.length} field(s) are invalid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, { errors });
  }
  return result.data;
}

/** `?limit=` as an integer in 1..MAX_PAGE_SIZE (default DEFAULT_PAGE_SIZE). */
export function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PAGE_SIZE;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PAGE_SIZE) {
    throw badRequest(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}.`, { errors: [{ field: 'limit', message: `must be 1..${MAX_PAGE_SIZE}` }] });
  }
  return Number(raw);
}

export interface Cursor {
  /** created_at of the last row of the previous page, as exact text (microseconds). */
  createdAt: string;
  id: string;
}

const CURSOR_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;

/**
 * The shape alone lets 2026-02-30, month 13 or year 0000 through, and PostgreSQL then refuses the
 * cast (a 500). A real calendar date (year 1..9999) and a real time of day are checked here.
 */
export function isCursorTime(text: string): boolean {
  const match = CURSOR_TIME.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  // Day 0 of the next month is the last day of this one (Date.UTC maps years 0-99 to 1900+, so use setUTCFullYear).
  const last = new Date(0);
  last.setUTCFullYear(year, month, 0);
  return day <= last.getUTCDate();
}

/** Opaque to clients: base64url of `<created_at>|<id>`. */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.createdAt}|${cursor.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(raw: string | undefined): Cursor | undefined {
  if (raw === undefined) return undefined;
  const invalid = () => badRequest('cursor is not valid: pass next_cursor from the previous page unchanged.', { errors: [{ field: 'cursor', message: 'not a cursor this API returned' }] });
  if (raw.length > 200 || !/^[A-Za-z0-9_-]+$/.test(raw)) throw invalid();
  const [createdAt, id, ...rest] = Buffer.from(raw, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || createdAt === undefined || id === undefined || !isCursorTime(createdAt) || !Uuid.safeParse(id).success) throw invalid();
  return { createdAt, id };
}
