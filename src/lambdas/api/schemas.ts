// Request bodies and query parameters of the API, validated with zod/mini (the same checks as classic
// zod at a fraction of the bundle size). Unknown keys are rejected, so a typo is an error, not a no-op.
import * as z from 'zod/mini';
import { Channel, Condition, VariableName, describeIssue } from '../shared/messages.ts';
import { badRequest } from './http.ts';

const MAX_WINDOW_HOURS = 384;
export const MAX_CHANNELS = 10;

const fields = {
  name: z.string().check(z.maxLength(200)),
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

export const CreateApiKey = z.strictObject({ name: z.optional(z.string().check(z.minLength(1), z.maxLength(200))) });
export type CreateApiKey = z.infer<typeof CreateApiKey>;

export const Uuid = z.uuid();

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

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Opaque to clients: base64url of `<created_at>|<id>`. */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.createdAt}|${cursor.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(raw: string | undefined): Cursor | undefined {
  if (raw === undefined) return undefined;
  const invalid = () => badRequest('cursor is not valid: pass next_cursor from the previous page unchanged.', { errors: [{ field: 'cursor', message: 'not a cursor this API returned' }] });
  if (raw.length > 200 || !/^[A-Za-z0-9_-]+$/.test(raw)) throw invalid();
  const [createdAt, id, ...rest] = Buffer.from(raw, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || createdAt === undefined || id === undefined || !CURSOR_TIME.test(createdAt) || !Uuid.safeParse(id).success) throw invalid();
  return { createdAt, id };
}
