// The HTTP API locally: each request becomes the API Gateway v2 (payload 2.0) event of the
// template's route, the route's function answers, and its result becomes the HTTP response.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { closeServer, listenLoopback } from './serve.ts';

/** API Gateway's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export function apiEvent(req: IncomingMessage, body: Buffer, routeKey: string, apiId: string, region: string): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://local');
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') cookies.push(...String(value).split(/;\s*/));
    // v2 joins repeated headers with commas.
    else headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const text = /^(application\/(json|x-www-form-urlencoded|xml)|text\/)/.test(headers['content-type'] ?? 'application/json');
  const now = new Date();
  const proxy = url.pathname.replace(/^\//, '');
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(url.search === '' ? {} : { queryStringParameters: query }),
    ...(routeKey.includes('{proxy+}') ? { pathParameters: { proxy } } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId,
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: apiId,
      http: { method: req.method ?? 'GET', path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length === 0 ? {} : { body: text ? body.toString('utf8') : body.toString('base64') }),
    isBase64Encoded: body.length > 0 && !text,
  } as APIGatewayProxyEventV2;
}

export interface HttpApi {
  url: string;
  close(): Promise<void>;
}

/** API Gateway's $context variables for one request, for the stage's access log line. */
export type AccessLogContext = Record<string, string>;

/** `06/Dec/2026:21:53:00 +0000`, as $context.requestTime gives it. */
function requestTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

export async function startHttpApi(options: {
  invoke: (event: APIGatewayProxyEventV2) => Promise<unknown>;
  routeKey: string;
  apiId: string;
  region: string;
  /** Called once per answered request with its $context variables (the stage's access log). */
  accessLog?: (context: AccessLogContext) => void;
}): Promise<HttpApi> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      const event = apiEvent(req, Buffer.concat(chunks), options.routeKey, options.apiId, options.region);
      const started = Date.now();
      const logAccess = (status: number, length: number, integrationError: string) =>
        options.accessLog?.({
          requestId: event.requestContext.requestId,
          'identity.sourceIp': event.requestContext.http.sourceIp,
          requestTime: requestTime(new Date(started)),
          httpMethod: event.requestContext.http.method,
          routeKey: event.routeKey,
          path: event.rawPath,
          status: String(status),
          protocol: event.requestContext.http.protocol,
          responseLength: String(length),
          responseLatency: String(Date.now() - started),
          integrationLatency: String(Date.now() - started),
          integrationErrorMessage: integrationError,
          'identity.userAgent': event.requestContext.http.userAgent,
        });
      options.invoke(event).then(
        (raw) => {
          const result = (typeof raw === 'object' && raw !== null && 'statusCode' in raw ? raw : { statusCode: 200, body: JSON.stringify(raw) }) as APIGatewayProxyStructuredResultV2;
          const headers: Record<string, string | string[]> = { ...(result.headers as Record<string, string>) };
          if (result.cookies?.length) headers['set-cookie'] = result.cookies;
          const body = result.body === undefined ? undefined : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
          res.writeHead(result.statusCode ?? 200, headers);
          res.end(body);
          logAccess(result.statusCode ?? 200, body === undefined ? 0 : Buffer.byteLength(body), '-');
        },
        (error: Error) => {
          // What API Gateway answers when the integration fails or times out.
          const timedOut = error.name === 'Sandbox.Timedout';
          const body = JSON.stringify({ message: timedOut ? 'Service Unavailable' : 'Internal Server Error' });
          res.writeHead(timedOut ? 503 : 500, { 'content-type': 'application/json' });
          res.end(body);
          logAccess(timedOut ? 503 : 500, Buffer.byteLength(body), timedOut ? 'The Lambda function timed out' : 'The Lambda function returned an error');
        },
      );
    });
  });
  const url = await listenLoopback(server);
  return {
    url,
    close: () => closeServer(server),
  };
}
