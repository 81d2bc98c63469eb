// One HTTP POST to a checked webhook target: connects to the pinned address only (the `lookup` hook
// answers with it, so the TLS certificate is still checked against the host name), never follows a
// redirect (node:http does not), and gives up after a deadline covering connect, TLS and the response
// headers. The response body is drained and ignored.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedTarget } from './target.ts';

const MAX_RESPONSE_BYTES = 64 * 1024;

export type PostResult = { kind: 'response'; status: number } | { kind: 'timeout' } | { kind: 'network'; code: string };

// Keep-alive pools: a socket is reused only for the same host and port, and was itself connected to
// an address that passed the check.
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 10 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 10 }),
};

export function postJson(target: ResolvedTarget, body: string, headers: Record<string, string>, timeoutMs: number): Promise<PostResult> {
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const secure = target.url.protocol === 'https:';
  const options: https.RequestOptions = {
    method: 'POST',
    host: target.hostname,
    port: target.port,
    path: `${target.url.pathname}${target.url.search}`,
    headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
    lookup: pinned,
    // The agent derives TLS SNI and the certificate check from `host` (none for an IP literal).
    agent: secure ? agents.https : agents.http,
  };
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: PostResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = (secure ? https : http).request(options, (response) => {
      finish({ kind: 'response', status: response.statusCode ?? 0 });
      // Only the status matters. Drain a short body (keeps the connection reusable); cut off a long
      // or endless one so it cannot hold the socket.
      let bytes = 0;
      const cutOff = setTimeout(() => response.destroy(), timeoutMs).unref();
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_RESPONSE_BYTES) response.destroy();
      });
      response.on('close', () => clearTimeout(cutOff));
      response.on('error', () => undefined);
    });
    const timer = setTimeout(() => {
      finish({ kind: 'timeout' });
      request.destroy();
    }, timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => finish({ kind: 'network', code: error.code ?? error.name }));
    request.end(body);
  });
}
