// The dev gateway's proxying: a connection's own headers stay on their hop. fauxqs (Fastify) answers
// `Keep-Alive: timeout=72`; passed through, it told the platform's clients they could keep an idle
// socket 72 s on a gateway that closed it earlier, and a reused, just-closed socket failed a fault
// drill with ECONNRESET.
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endToEnd, SERVER_KEEP_ALIVE_MS, CLIENT_IDLE_SOCKET_MS, startGateway, type Gateway } from '../../src/dev/gateway.ts';
import { closeServer, listenLoopback } from '../../src/dev/serve.ts';

const ACCESS_KEY = 'LOCALKEY0000000000';
let upstream: Server;
let gateway: Gateway;
const seenByUpstream: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    seenByUpstream.push(req.headers);
    req.resume();
    req.on('end', () => {
      // Chunked (no content-length), with this hop's keep-alive hint.
      res.writeHead(200, { 'content-type': 'application/xml', connection: 'keep-alive, x-hop', 'x-hop': 'upstream only' });
      res.write('<Ok>');
      res.end('</Ok>');
    });
  });
  upstream.keepAliveTimeout = 72_000;
  const url = await listenLoopback(upstream);
  gateway = await startGateway();
  gateway.route({ fauxqs: url, ses: url, layer: undefined as never, dlqSources: undefined as never, accessKeyId: ACCESS_KEY });
});
afterAll(async () => {
  await gateway?.close();
  if (upstream) await closeServer(upstream);
});

function s3Put(): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const target = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        method: 'PUT',
        path: '/bucket/key',
        headers: {
          authorization: `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/20261206/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0`,
          connection: 'keep-alive',
          'keep-alive': 'timeout=999',
          'transfer-encoding': 'chunked',
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.write('tile bytes ');
    req.end('and more');
  });
}

describe('dev gateway', () => {
  it("answers with its own keep-alive, not the upstream's, and passes bodies through whole", async () => {
    const answer = await s3Put();
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('<Ok></Ok>');
    expect(answer.headers['keep-alive']).toBe(`timeout=${SERVER_KEEP_ALIVE_MS / 1000}`);
    expect(answer.headers['x-hop']).toBeUndefined();
    expect(answer.headers['content-type']).toBe('application/xml');
    // Nor does the client's hop reach the upstream.
    expect(seenByUpstream).toHaveLength(1);
    expect(seenByUpstream[0]?.['keep-alive']).toBeUndefined();
    expect(seenByUpstream[0]?.authorization).toContain(ACCESS_KEY);
  });

  it('keeps an idle connection open longer than the platform clients keep theirs', () => {
    expect(CLIENT_IDLE_SOCKET_MS).toBeLessThan(SERVER_KEEP_ALIVE_MS - 1_000);
  });

  it('drops hop-by-hop headers and those Connection names', () => {
    expect(endToEnd({ connection: 'close, x-a', 'x-a': '1', 'x-b': '2', te: 'trailers', upgrade: 'h2c' })).toEqual({ 'x-b': '2' });
  });
});
