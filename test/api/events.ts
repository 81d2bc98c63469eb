// HTTP API (payload format 2.0) events as API Gateway delivers them to ApiFunction, and the
// SecurityAbuse metric filter applied to a log line the way CloudWatch Logs does.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export interface EventOptions {
  headers?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  base64?: boolean;
}

export function httpEvent(method: string, path: string, options: EventOptions = {}): APIGatewayProxyEventV2 {
  const rawBody = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const query = options.query ?? {};
  const rawQueryString = new URLSearchParams(query).toString();
  const time = new Date();
  return {
    version: '2.0',
    routeKey: 'ANY /{proxy+}',
    rawPath: path,
    rawQueryString,
    // API Gateway lowercases header names in v2 events.
    headers: Object.fromEntries(Object.entries({ 'content-type': 'application/json', 'user-agent': 'vitest', ...options.headers }).map(([k, v]) => [k.toLowerCase(), v])),
    ...(rawQueryString === '' ? {} : { queryStringParameters: query }),
    pathParameters: { proxy: path.replace(/^\//, '') },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey: 'ANY /{proxy+}',
      stage: '$default',
      time: time.toISOString(),
      timeEpoch: time.getTime(),
    },
    ...(rawBody === undefined ? {} : { body: options.base64 ? Buffer.from(rawBody).toString('base64') : rawBody }),
    isBase64Encoded: Boolean(options.base64),
  };
}

/** The stack's SecurityAbuse filter pattern (asserted in test/stack/platform.test.ts). */
export const SECURITY_ABUSE_FILTER = '{ $.action = "apikey.created" }';

/**
 * Evaluates a CloudWatch Logs JSON filter of the form `{ $.a.b = "value" }` on one log line: the
 * line must be a JSON object whose selector resolves to exactly that string.
 */
export function matchesJsonFilter(pattern: string, line: string): boolean {
  const match = /^\{\s*\$\.([A-Za-z0-9_.]+)\s*=\s*"([^"]*)"\s*\}$/.exec(pattern);
  if (!match) throw new Error(`unsupported filter pattern ${pattern}`);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return false;
  }
  for (const part of match[1]!.split('.')) {
    if (!value || typeof value !== 'object') return false;
    value = (value as Record<string, unknown>)[part];
  }
  return value === match[2];
}
