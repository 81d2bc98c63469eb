// StartLiveTail on the wire, for tests: no local server (moto, LocalStack's free tier, watchpoint
// dev) implements it. An HTTP server on 127.0.0.1 answers StartLiveTail with a real
// `application/vnd.amazon.eventstream` body, frame by frame, in the binary format the SDK decodes
// (prelude, headers, payload, CRC32s: "Event stream encoding" in the AWS SDK docs), so the SDK's own
// event-stream code runs: events arrive as stream items, and modeled exceptions
// (SessionTimeoutException, SessionStreamingException) are THROWN from the iterator, as
// @smithy/core's getUnmarshalledStream does. Errors before the stream (ResourceNotFoundException,
// LimitExceededException) are answered as the JSON 1.1 protocol sends them. Every other request is
// forwarded to `forward` (moto), so the polling fallback runs against moto for real.
// The shapes follow the CloudWatch Logs API reference: StartLiveTail, StartLiveTailResponseStream,
// LiveTailSessionStart, LiveTailSessionUpdate.
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { awsRuntime } from '../../src/cli/aws/runtime.ts';
import { VALID_DEV } from '../helpers/cli.ts';
import { MOTO_CREDENTIALS, motoClient, motoEndpoint } from '../helpers/moto.ts';

export interface LiveTailRequest {
  logGroupIdentifiers: string[];
  logEventFilterPattern?: string;
}

export interface Session {
  input: LiveTailRequest;
  /** Sends one event (sessionStart, sessionUpdate) as an event-stream frame. */
  event(type: 'sessionStart' | 'sessionUpdate', body: unknown): void;
  /** Sends a modeled exception frame (the SDK throws it from the iterator). */
  exception(type: 'SessionTimeoutException' | 'SessionStreamingException', message: string): void;
  end(): void;
  /** True once the client has closed the connection. */
  readonly closed: boolean;
  /** Resolves when the client closes the connection (Ctrl-C must get here). */
  closedAt: Promise<number>;
}

export type LiveTailScript = (session: Session) => void | Promise<void>;
export type LiveTailAnswer = { error: { code: string; message: string; status?: number } } | { stream: LiveTailScript };

export interface LiveTailServer {
  url: string;
  sessions: Session[];
  /** Actions of the requests forwarded to `forward`. */
  forwarded: string[];
  stop(): Promise<void>;
}

function header(name: string, value: string): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const valueBytes = Buffer.from(value, 'utf8');
  const out = Buffer.alloc(1 + nameBytes.length + 1 + 2 + valueBytes.length);
  let at = out.writeUInt8(nameBytes.length, 0);
  at += nameBytes.copy(out, at);
  at = out.writeUInt8(7, at); // type 7: string
  at = out.writeUInt16BE(valueBytes.length, at);
  valueBytes.copy(out, at);
  return out;
}

/** One event-stream message: total length, headers length, prelude CRC, headers, payload, message CRC. */
export function frame(headers: Record<string, string>, payload: unknown): Buffer {
  const headerBytes = Buffer.concat(Object.entries(headers).map(([k, v]) => header(k, v)));
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  const total = 12 + headerBytes.length + body.length + 4;
  const prelude = Buffer.alloc(8);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(headerBytes.length, 4);
  const preludeCrc = Buffer.alloc(4);
  preludeCrc.writeUInt32BE(crc32(prelude), 0);
  const withoutCrc = Buffer.concat([prelude, preludeCrc, headerBytes, body]);
  const messageCrc = Buffer.alloc(4);
  messageCrc.writeUInt32BE(crc32(withoutCrc), 0);
  return Buffer.concat([withoutCrc, messageCrc]);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts)));
  });
}

export async function startLiveTailServer(answer: (input: LiveTailRequest, index: number) => LiveTailAnswer, forward: string): Promise<LiveTailServer> {
  const sessions: Session[] = [];
  const forwarded: string[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const action = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    if (action !== 'StartLiveTail') {
      forwarded.push(action);
      const target = new URL(forward);
      const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (answerRes) => {
        res.writeHead(answerRes.statusCode ?? 502, answerRes.headers);
        answerRes.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      upstream.end(body);
      return;
    }
    const input = JSON.parse(body.toString('utf8')) as LiveTailRequest;
    const verdict = answer(input, sessions.length);
    if ('error' in verdict) {
      const payload = JSON.stringify({ __type: verdict.error.code, message: verdict.error.message });
      res.writeHead(verdict.error.status ?? 400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': verdict.error.code, 'x-amzn-requestid': 'fake', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
      sessions.push({ input } as Session);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'fake' });
    res.flushHeaders();
    open.add(res);
    let closed = false;
    let markClosed!: (at: number) => void;
    const closedAt = new Promise<number>((resolve) => (markClosed = resolve));
    res.on('close', () => {
      closed = true;
      open.delete(res);
      markClosed(Date.now());
    });
    const write = (chunk: Buffer) => {
      if (!closed) res.write(chunk);
    };
    const session: Session = {
      input,
      event: (type, payload) => write(frame({ ':message-type': 'event', ':event-type': type, ':content-type': 'application/json' }, payload)),
      exception: (type, message) => write(frame({ ':message-type': 'exception', ':exception-type': type, ':content-type': 'application/json' }, { message })),
      end: () => {
        if (!closed) res.end();
      },
      get closed() {
        return closed;
      },
      closedAt,
    };
    sessions.push(session);
    await verdict.stream(session);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    sessions,
    forwarded,
    stop: async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Waits `ms` (the fake's pace between updates). */
export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The clients `logs` is given in these tests: CloudFormation on moto, and CloudWatch Logs through the
 * CLI's own HTTP handler (aws/calls.ts) to the fake, which forwards all but StartLiveTail to moto.
 */
export async function wireLogs(answer: (input: LiveTailRequest, index: number) => LiveTailAnswer) {
  const server = await startLiveTailServer(answer, motoEndpoint());
  const logs = new CloudWatchLogsClient({
    region: VALID_DEV.region,
    endpoint: server.url,
    credentials: { ...MOTO_CREDENTIALS },
    // The fake has no streaming-<host> name: the SDK's host prefix for StartLiveTail is turned off.
    disableHostPrefix: true,
    maxAttempts: 1,
    requestHandler: awsRuntime().handler as never,
  });
  return { server, clients: { cloudformation: motoClient(CloudFormationClient), logs } };
}
