// The local webhook receiver: accepts WatchPoint's signed POSTs on 127.0.0.1, verifies each signature
// with the secret registered for its path (the watchpoint's webhook_secret), and answers with the
// status scripted for that path (200 by default; the fault drill makes one fail).
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { closeServer, listenLoopback } from './serve.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature, type Verification } from '../lambdas/webhook-worker/sign.ts';

export interface ReceivedWebhook {
  path: string;
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
  /** undefined when no secret is registered for the path. */
  verification?: Verification;
  at: Date;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Registers the signing secret of the watchpoint that posts to `path`. */
  expect(path: string, secret: string): void;
  /** Answers `status` to every POST on `path` from now on (200 restores). */
  answer(path: string, status: number): void;
  /** Resolves with the first verified POST on `path`, or rejects after timeoutMs. */
  waitFor(path: string, timeoutMs: number): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const secrets = new Map<string, string>();
  const answers = new Map<string, number>();
  const received: ReceivedWebhook[] = [];
  const waiters: { path: string; resolve: (hook: ReceivedWebhook) => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://local').pathname;
      const body = Buffer.concat(chunks).toString('utf8');
      const secret = secrets.get(path);
      const header = (name: string) => {
        const value = req.headers[name.toLowerCase()];
        return Array.isArray(value) ? value[0] : value;
      };
      const verification = secret === undefined ? undefined : verifySignature(secret, { signature: header(SIGNATURE_HEADER), timestamp: header(TIMESTAMP_HEADER) }, body);
      const status = req.method !== 'POST' ? 405 : verification && !verification.ok ? 401 : (answers.get(path) ?? 200);
      const hook: ReceivedWebhook = { path, status, body, headers: req.headers, ...(verification ? { verification } : {}), at: new Date() };
      received.push(hook);
      if (status >= 200 && status < 300 && verification?.ok) {
        for (const waiter of waiters.filter((w) => w.path === path)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(hook);
        }
      }
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'refused');
    });
  });
  const url = await listenLoopback(server);
  return {
    url,
    received,
    expect: (path, secret) => secrets.set(path, secret),
    answer: (path, status) => answers.set(path, status),
    waitFor: (path, timeoutMs) =>
      new Promise((resolve, reject) => {
        const done = received.find((h) => h.path === path && h.status < 300 && h.verification?.ok);
        if (done) return resolve(done);
        const timer = setTimeout(() => reject(new Error(`no verified webhook at ${path} within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
        waiters.push({ path, resolve: (hook) => (clearTimeout(timer), resolve(hook)) });
      }),
    close: () => closeServer(server),
  };
}
