// What `trace` can follow: each kind of id, the log field that carries it, and how a line is checked.
import { userError } from '../errors.ts';

export const TRACE_KINDS = ['run', 'job', 'notification', 'watchpoint', 'request'] as const;
export type TraceKind = (typeof TRACE_KINDS)[number];

export const FIELD_OF: Record<TraceKind, string> = {
  run: 'run_id',
  job: 'job_id',
  notification: 'notification_id',
  watchpoint: 'watchpoint_id',
  request: 'request_id',
};

export const KIND_LABEL: Record<TraceKind, string> = {
  run: 'forecast run',
  job: 'eval job',
  notification: 'notification',
  watchpoint: 'watchpoint',
  request: 'API request',
};

/** Ids are put inside a quoted Insights string: only characters ids have, never a quote or backslash. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const JOB = /^[0-9a-f]{64}$/;

/**
 * True for a string shaped like an id: the same pattern as an id typed by the operator. Ids read from
 * log lines (round 2's job and run ids) pass this before they go into a query, so a malformed or
 * hostile line can never change the query's text.
 */
export function isTraceId(value: string): boolean {
  return ID.test(value);
}

export function parseTraceId(raw: string): string {
  const id = raw.trim();
  if (!ID.test(id)) {
    throw userError(
      'TRACE_ID_INVALID',
      `"${raw}" is not a run, job, notification, watchpoint or request id.`,
      'Give the id as it appears in a log line or an API response, e.g. a run id like 2026-03-01T06Z or a notification UUID.',
    );
  }
  return id;
}

export function parseKind(raw: string | undefined): TraceKind | undefined {
  if (raw === undefined) return undefined;
  const kind = raw.trim().toLowerCase();
  if (!(TRACE_KINDS as readonly string[]).includes(kind)) {
    throw userError('TRACE_KIND_INVALID', `--kind "${raw}" is not one of ${TRACE_KINDS.join(', ')}.`, 'Leave --kind out to detect it from the log lines, or give one of those.');
  }
  return kind as TraceKind;
}

/** The kinds an id can be, from its shape: a job id is 64 hex digits, notifications and watchpoints are UUIDs. */
export function candidateKinds(id: string): TraceKind[] {
  if (JOB.test(id)) return ['job', 'run', 'request'];
  if (UUID.test(id)) return ['notification', 'watchpoint', 'request', 'run'];
  return ['run', 'request'];
}

/** The Insights filter clause that matches any of these fields equal to the id. */
export function fieldFilter(fields: readonly string[], id: string): string {
  return fields.map((field) => `${field} = "${id}"`).join(' or ');
}
