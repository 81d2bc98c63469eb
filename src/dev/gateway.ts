// One local AWS endpoint for every client of the dev platform (handlers and operator commands alike):
// each request goes by the service of its SigV4 credential scope (or its X-Amz-Target) to fauxqs
// (SQS, S3), aws-ses-v2-local (SES) or the in-memory layer (SSM, CloudFormation reads, STS,
// CloudWatch, CloudWatch Logs). So the stack's single AWS_ENDPOINT_URL is all a client needs.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AwsLayer } from './aws-layer.ts';
import { DlqSourceTracker } from './dlq-source.ts';
import { closeServer, listenLoopback } from './serve.ts';

export interface GatewayTargets {
  fauxqs: string;
  ses: string;
  layer: AwsLayer;
  /** Sets DeadLetterQueueSourceArn on redriven messages, which fauxqs does not (dlq-source.ts). */
  dlqSources: DlqSourceTracker;
  /** Lambda Invoke into the function containers (lambda-api.ts; `watchpoint invoke --env local`). */
  lambda?: (req: IncomingMessage, res: ServerResponse) => void;
  /** The session's access key id: a request signed with any other is refused (issue 27). */
  accessKeyId: string;
}

export interface Gateway {
  url: string;
  /** Set once the servers behind it are up (the gateway starts first: the template needs its URL). */
  route(targets: GatewayTargets): void;
  close(): Promise<void>;
}

/**
 * The one SigV4 credential-scope parser: `AKID/yyyymmdd/region/service/aws4_request` from the
 * Authorization header's Credential= or a presigned URL's X-Amz-Credential. `service` only when the
 * scope is complete.
 */
export function credentialScope(req: Pick<IncomingMessage, 'headers' | 'url'>): { accessKeyId: string; service?: string } | undefined {
  let raw: string | undefined;
  const header = /Credential=([^/,\s]+\/[^,\s]*)/.exec(req.headers.authorization ?? '');
  if (header) raw = header[1];
  else {
    const query = /[?&]X-Amz-Credential=([^&]+)/i.exec(req.url ?? '');
    if (query) {
      try {
        raw = decodeURIComponent(query[1]!);
      } catch {
        return undefined;
      }
    }
  }
  if (raw === undefined) return undefined;
  const [accessKeyId, date, , service, terminator] = raw.split('/');
  if (!accessKeyId) return undefined;
  return { accessKeyId, ...(/^\d{8}$/.test(date ?? '') && terminator === 'aws4_request' && service && /^[a-z0-9-]+$/i.test(service) ? { service } : {}) };
}

/** The service a request is for: its credential scope's, else X-Amz-Target's. */
export function serviceOf(req: Pick<IncomingMessage, 'headers' | 'url'>): string | undefined {
  const service = credentialScope(req)?.service;
  if (service) return service;
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    if (target.startsWith('AmazonSQS.')) return 'sqs';
    if (target.startsWith('AmazonSSM.')) return 'ssm';
    if (target.startsWith('GraniteServiceVersion20100801.')) return 'monitoring';
    if (target.startsWith('Logs_20140328.')) return 'logs';
  }
  return undefined;
}

/** The SigV4 access key id a request is signed with (Authorization header or presigned URL), or undefined. */
export function accessKeyOf(req: Pick<IncomingMessage, 'headers' | 'url'>): string | undefined {
  return credentialScope(req)?.accessKeyId;
}

const REFUSED_MESSAGE = 'The security token included in the request is invalid: watchpoint dev accepts only the credentials it generated for this session (.watchpoint/dev.json).';

/** AWS's answer to an unknown access key, in the shape of the request's protocol, so SDKs name the error. */
function refuseCredentials(req: IncomingMessage, res: ServerResponse, service: string | undefined): void {
  req.resume();
  if (service === 's3') {
    res.writeHead(403, { 'content-type': 'application/xml', 'x-amz-request-id': 'local' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId</Code><Message>${REFUSED_MESSAGE}</Message><RequestId>local</RequestId></Error>`);
    return;
  }
  const contentType = String(req.headers['content-type'] ?? '');
  if (req.headers['x-amz-target'] !== undefined || contentType.includes('json')) return fail(res, 403, 'UnrecognizedClientException', REFUSED_MESSAGE);
  // Query protocol (STS, CloudFormation, SQS/CloudWatch query): an ErrorResponse document.
  res.writeHead(403, { 'content-type': 'text/xml', 'x-amzn-requestid': 'local' });
  res.end(`<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>${REFUSED_MESSAGE}</Message></Error><RequestId>local</RequestId></ErrorResponse>`);
}

/** How long the gateway keeps an idle client connection open. */
export const SERVER_KEEP_ALIVE_MS = 65_000;
/** How long the platform's own SDK clients keep an idle socket to the gateway: well under the server's. */
export const CLIENT_IDLE_SOCKET_MS = 4_000;

// Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection: the upstream's Keep-Alive hint
// (fauxqs says timeout=72) must not reach a client whose connection is the gateway's.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

export function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = { ...headers };
  const named = String(headers.connection ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  for (const name of [...HOP_BY_HOP, ...named]) delete out[name];
  return out;
}

export async function startGateway(): Promise<Gateway> {
  let targets: GatewayTargets | undefined;
  const server: Server = createServer((req, res) => {
    if (!targets) return fail(res, 503, 'ServiceUnavailable', 'watchpoint dev is still starting.');
    const service = serviceOf(req);
    if (accessKeyOf(req) !== targets.accessKeyId) return refuseCredentials(req, res, service);
    const target = req.headers['x-amz-target'] as string | undefined;
    if (service === 'sqs' && DlqSourceTracker.watches(target)) return proxyBuffered(req, res, targets.fauxqs, (request, response) => targets!.dlqSources.observe(target!, request, response));
    if (service === 'sqs' || service === 's3') return proxy(req, res, targets.fauxqs);
    if (service === 'ses' || service === 'email') return proxy(req, res, targets.ses);
    if (service === 'lambda' && targets.lambda) return targets.lambda(req, res);
    if (service === 'ssm' || service === 'cloudformation' || service === 'sts' || service === 'monitoring' || service === 'logs') {
      const layer = targets.layer;
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const answer = layer.handle({ service, target: req.headers['x-amz-target'] as string | undefined, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(answer.status, { 'content-type': answer.contentType, 'x-amzn-requestid': 'local' });
        res.end(answer.body);
      });
      return;
    }
    return fail(res, 400, 'UnsupportedService', `watchpoint dev does not serve AWS service "${service ?? 'unknown'}" (it serves sqs, s3, ses, ssm, cloudformation, sts, monitoring, logs, lambda Invoke).`);
  });
  // An idle keep-alive socket is closed by the server only after it has long been dropped by every
  // local client (the platform's own agents drop theirs after CLIENT_IDLE_SOCKET_MS). A client that
  // reuses a socket in the instant the server closes it gets ECONNRESET (a fault drill failed on it).
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
  const url = await listenLoopback(server);
  return {
    url,
    route: (next) => (targets = next),
    close: () => closeServer(server),
  };
}

function proxy(req: IncomingMessage, res: ServerResponse, target: string): void {
  const url = new URL(target);
  const upstream = httpRequest(
    { host: url.hostname, port: url.port, method: req.method, path: req.url, headers: endToEnd(req.headers), timeout: 60_000 },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
      answer.pipe(res);
    },
  );
  upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
  upstream.on('error', (error) => {
    if (!res.headersSent) fail(res, 502, 'BadGateway', `${target} did not answer: ${error.message}`);
    else res.destroy();
  });
  req.pipe(upstream);
}

/** For the few SQS JSON calls the gateway must read: request and response buffered, response maybe rewritten. */
function proxyBuffered(req: IncomingMessage, res: ServerResponse, target: string, rewrite: (request: string, response: string) => string): void {
  const url = new URL(target);
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const requestBody = Buffer.concat(chunks);
    const headers = { ...endToEnd(req.headers), 'content-length': String(requestBody.length) };
    const upstream = httpRequest({ host: url.hostname, port: url.port, method: req.method, path: req.url, headers, timeout: 60_000 }, (answer) => {
      const parts: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => parts.push(chunk));
      answer.on('end', () => {
        const raw = Buffer.concat(parts).toString('utf8');
        const body = (answer.statusCode ?? 500) < 300 ? rewrite(requestBody.toString('utf8'), raw) : raw;
        const out = { ...endToEnd(answer.headers), 'content-length': String(Buffer.byteLength(body)) };
        res.writeHead(answer.statusCode ?? 502, out);
        res.end(body);
      });
    });
    upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
    upstream.on('error', (error) => {
      if (!res.headersSent) fail(res, 502, 'BadGateway', `${target} did not answer: ${error.message}`);
      else res.destroy();
    });
    upstream.end(requestBody);
  });
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': code });
  res.end(JSON.stringify({ __type: code, message }));
}
