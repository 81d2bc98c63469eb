// Real sockets on 127.0.0.1 for the failure paths no protocol server reproduces on demand: a
// black hole (accepts, never answers), and a recording AWS endpoint that answers every call with
// what a test scripts (an AWS error in the caller's protocol, or a small success), and records them.
import dns from 'node:dns';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer, type Server as NetServer, type Socket } from 'node:net';

export interface BlackHole {
  url: string;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/** Accepts every connection and never writes a byte. */
export async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: NetServer = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    accepted: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Protocol = 'query' | 'json' | 'rest';

export interface RecordedCall {
  protocol: Protocol;
  /** IAM-style service prefix from the signature scope (sts, cloudformation, ssm, sqs, monitoring...). */
  service: string;
  action: string;
  host: string;
  body: string;
}

export interface Reply {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export type Responder = (call: RecordedCall) => Reply | undefined;

export interface AwsRecorder {
  url: string;
  calls: RecordedCall[];
  close(): Promise<void>;
}

function protocolOf(request: IncomingMessage): Protocol {
  const type = String(request.headers['content-type'] ?? '');
  if (request.headers['x-amz-target']) return 'json';
  if (type.includes('x-www-form-urlencoded')) return 'query';
  return 'rest';
}

/** An AWS error as the caller's protocol carries it, so the SDK parses its name and message. */
export function awsError(call: RecordedCall, code: string, message: string, status = 400): Reply {
  if (call.protocol === 'json') {
    return {
      status,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': code, 'x-amzn-query-error': `${code};Sender` },
      body: JSON.stringify({ __type: code, message }),
    };
  }
  const xml = call.protocol === 'query'
    ? `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${escape(message)}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`
    : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${escape(message)}</Message><RequestId>req-1</RequestId></Error>`;
  return { status, headers: { 'content-type': 'text/xml' }, body: xml };
}

/** STS GetCallerIdentity for account 123456789012. */
export function callerIdentity(): Reply {
  return {
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body: '<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/oncall</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
  };
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A recording endpoint. Each call gets `respond(call)`, or by default an AWS error telling that the
 * resource does not exist (so commands fail fast and say so).
 */
export async function startAwsRecorder(respond: Responder = () => undefined): Promise<AwsRecorder> {
  const calls: RecordedCall[] = [];
  const server: Server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const protocol = protocolOf(request);
      const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(String(request.headers.authorization ?? ''));
      const action = protocol === 'json'
        ? String(request.headers['x-amz-target']).split('.').pop()!
        : protocol === 'query'
        ? (/(?:^|&)Action=([A-Za-z0-9]+)/.exec(body)?.[1] ?? '?')
        : `${request.method} ${request.url}`;
      const call: RecordedCall = { protocol, service: scope?.[1] ?? '?', action, host: String(request.headers.host), body };
      calls.push(call);
      const reply = respond(call) ?? awsError(call, 'ResourceNotFoundException', `${action}: not found in this test endpoint`);
      response.writeHead(reply.status, { 'x-amzn-requestid': 'req-1', ...reply.headers });
      response.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Records every host name this process resolves, and fails the AWS ones at once without a DNS query:
 * the proof that no request left for a real AWS endpoint. Returns the names and the undo.
 */
export function guardAwsHostnames(): { looked: string[]; restore: () => void } {
  const looked: string[] = [];
  const original = dns.lookup;
  const patched = function (this: unknown, hostname: string, ...rest: unknown[]) {
    looked.push(hostname);
    const callback = rest.find((arg) => typeof arg === 'function') as ((error: Error) => void) | undefined;
    if (/amazonaws\.com$|\.aws$/.test(hostname) && callback) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (blocked by the test)`), { code: 'ENOTFOUND', hostname });
      process.nextTick(() => callback(error));
      return {};
    }
    return (original as unknown as (...args: unknown[]) => unknown).call(this, hostname, ...rest);
  };
  (dns as unknown as { lookup: unknown }).lookup = patched;
  return { looked, restore: () => ((dns as unknown as { lookup: unknown }).lookup = original) };
}
