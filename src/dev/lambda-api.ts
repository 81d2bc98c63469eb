// Lambda's Invoke API (POST /2015-03-31/functions/{name}/invocations) on the dev platform's endpoint,
// so `watchpoint invoke --env local` makes the same SDK call it makes against AWS: the event goes to
// the function's container (function-host.ts) and the answer carries what Lambda's does: the
// payload, X-Amz-Function-Error when the handler threw, and with LogType Tail the base64 of the
// invocation's last 4 KB of log (its START ... REPORT lines from the container's stream).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FunctionHost } from './function-host.ts';
import type { LogStore, StoredEvent } from './log-store.ts';

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?.*)?$/;
/** Lambda's LogResult holds at most the last 4 KB of the log. */
const LOG_TAIL_BYTES = 4096;
/** The REPORT line is written after the result is posted; wait this long for it. */
const REPORT_WAIT_MS = 500;

export class LambdaApi {
  private readonly resolve: (name: string) => FunctionHost | undefined;
  private readonly logStore: LogStore;

  /** `resolve` maps a function name (as DescribeStackResources gives it locally, or the template id) to its host. */
  constructor(resolve: (name: string) => FunctionHost | undefined, logStore: LogStore) {
    this.resolve = resolve;
    this.logStore = logStore;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const match = INVOKE_PATH.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) return reply(res, 400, { 'x-amzn-errortype': 'UnsupportedOperation' }, { Type: 'User', message: `watchpoint dev serves only Lambda Invoke (POST /2015-03-31/functions/NAME/invocations), not ${req.method} ${req.url}.` });
    const raw = decodeURIComponent(match[1]!);
    // arn:aws:lambda:region:account:function:NAME[:QUALIFIER] or NAME[:QUALIFIER]; every qualifier runs the one local version.
    const name = raw.startsWith('arn:') ? (raw.split(':')[6] ?? '') : raw.split(':')[0]!;
    const host = this.resolve(name);
    if (!host) return reply(res, 404, { 'x-amzn-errortype': 'ResourceNotFoundException' }, { Type: 'User', message: `Function not found: ${raw} (watchpoint dev runs the functions of the local stack).` });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let event: unknown;
      try {
        event = text === '' ? {} : JSON.parse(text);
      } catch {
        return reply(res, 400, { 'x-amzn-errortype': 'InvalidRequestContentException' }, { Type: 'User', message: 'Could not parse request body into json.' });
      }
      const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
      if (type === 'DryRun') return reply(res, 204, {}, undefined);
      if (type === 'Event') {
        host.invoke(event).catch(() => undefined);
        return reply(res, 202, {}, undefined);
      }
      void this.invoke(host, event, req.headers['x-amz-log-type'] === 'Tail').then(({ status, headers, body }) => reply(res, status, headers, body));
    });
  }

  private async invoke(host: FunctionHost, event: unknown, tail: boolean): Promise<{ status: number; headers: Record<string, string>; body: unknown }> {
    let started: { requestId: string; stream: string } | undefined;
    const lines: StoredEvent[] = [];
    const unsubscribe = this.logStore.subscribe((line) => {
      if (started && line.logStreamName === started.stream) lines.push(line);
    });
    const headers: Record<string, string> = { 'x-amz-executed-version': '$LATEST' };
    let body: unknown;
    try {
      body = (await host.invoke(event, (requestId, stream) => (started = { requestId, stream }))) ?? null;
    } catch (error) {
      headers['x-amz-function-error'] = 'Unhandled';
      body = { errorType: (error as Error).name ?? 'Error', errorMessage: (error as Error).message ?? String(error), trace: [] };
    }
    try {
      if (tail && started) {
        const done = `REPORT RequestId: ${started.requestId}`;
        const deadline = Date.now() + REPORT_WAIT_MS;
        while (!lines.some((line) => line.message.startsWith(done)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        headers['x-amz-log-result'] = logTail(lines.map((line) => line.message), started.requestId);
      }
    } finally {
      unsubscribe();
    }
    return { status: 200, headers, body };
  }
}

/** base64 of the invocation's lines (START to REPORT), cut to the last 4 KB as Lambda does. */
export function logTail(messages: readonly string[], requestId: string): string {
  const start = messages.findIndex((line) => line.startsWith(`START RequestId: ${requestId}`));
  const own = start >= 0 ? messages.slice(start) : messages;
  const end = own.findIndex((line) => line.startsWith(`REPORT RequestId: ${requestId}`));
  const bytes = Buffer.from(`${(end >= 0 ? own.slice(0, end + 1) : own).join('\n')}\n`, 'utf8');
  return bytes.subarray(Math.max(0, bytes.length - LOG_TAIL_BYTES)).toString('base64');
}

function reply(res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': 'local', ...headers });
  res.end(text);
}
