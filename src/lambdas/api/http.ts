// The API's own request/response shapes (independent of API Gateway), and RFC 9457 problem details.
// The router works on these; index.ts converts to and from the HTTP API v2 event.

export interface ApiRequest {
  method: string;
  /** Path without the stage or a trailing slash, e.g. /v1/watchpoints/1b… */
  path: string;
  /** Header names lowercased. */
  headers: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
  /** The body as text (base64 bodies decoded by the adapter), or undefined. */
  body: string | undefined;
  requestId: string;
  /** The client's address as API Gateway saw it (for audit lines). */
  sourceIp?: string;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const JSON_TYPE = 'application/json';
export const PROBLEM_TYPE = 'application/problem+json';

export function json(status: number, value: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(value) };
}

export function noContent(): ApiResponse {
  return { status: 204, headers: {}, body: '' };
}

export interface ProblemDetails {
  /** Short slug, rendered as the problem type URN `urn:watchpoint:problem:<slug>`. */
  type: string;
  title: string;
  detail: string;
  /** Extra members, e.g. `errors` for validation problems. Never secrets or stack traces. */
  extra?: Record<string, unknown>;
}

/** An application/problem+json response (RFC 9457). */
export function problem(status: number, details: ProblemDetails, requestId: string, headers: Record<string, string> = {}): ApiResponse {
  return {
    status,
    headers: { 'content-type': PROBLEM_TYPE, ...headers },
    body: JSON.stringify({
      type: `urn:watchpoint:problem:${details.type}`,
      title: details.title,
      status,
      detail: details.detail,
      ...details.extra,
      request_id: requestId,
    }),
  };
}

/** Thrown by route code for an expected client error; the router turns it into a problem response. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly details: ProblemDetails;
  readonly headers: Record<string, string>;

  constructor(status: number, details: ProblemDetails, headers: Record<string, string> = {}) {
    super(details.detail);
    this.name = 'HttpProblem';
    this.status = status;
    this.details = details;
    this.headers = headers;
  }
}

export const badRequest = (detail: string, extra?: Record<string, unknown>): HttpProblem =>
  new HttpProblem(400, { type: 'validation-error', title: 'The request is not valid', detail, ...(extra ? { extra } : {}) });

export const notFound = (detail: string): HttpProblem => new HttpProblem(404, { type: 'not-found', title: 'Not found', detail });
