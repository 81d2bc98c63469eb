// Test-side helpers for the moto server that test/global-setup.ts starts once per run.
//
// Isolation: test files run in parallel forks against one moto, so tests never reset it
// (POST /moto-api/reset would wipe another file's state mid-test). Each test takes its own names
// instead: `uniqueEnvName()` gives a fresh WatchPoint environment, and every resource the CLI
// derives from it (SSM paths /<env>/watchpoint/*, stacks watchpoint-<env>*, alarms, IAM users,
// ECR repositories) is then unique too. Use `uniqueName()` for anything else.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { VALID_DEV } from './cli.ts';

/** moto's account for every request signed with a key it did not issue. */
export const MOTO_ACCOUNT = '123456789012';

/** moto accepts any credentials and does not check signatures. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

/** `http://127.0.0.1:PORT` of the run's moto. */
export function motoEndpoint(): string {
  const endpoint = inject('motoEndpoint');
  if (!endpoint) throw new Error('motoEndpoint was not provided: test/global-setup.ts must start moto (vitest.config.ts globalSetup).');
  return endpoint;
}

/**
 * SDK client options pointed at moto: no retries (a failure shows at once) and a request timeout,
 * so a moto that stops answering fails the test instead of hanging it.
 */
export function motoClientConfig(region = VALID_DEV.region): {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  maxAttempts: number;
  requestHandler: { requestTimeout: number; connectionTimeout: number };
} {
  return {
    region,
    endpoint: motoEndpoint(),
    credentials: { ...MOTO_CREDENTIALS },
    maxAttempts: 1,
    requestHandler: { requestTimeout: 15_000, connectionTimeout: 5_000 },
  };
}

/** A client of any SDK v3 service, pointed at moto: `motoClient(SSMClient)`. */
export function motoClient<T>(Client: new (config: ReturnType<typeof motoClientConfig>) => T, region?: string): T {
  return new Client(motoClientConfig(region));
}

/**
 * The CLI builds its clients from the SDK's default credential chain, which reads process.env (not
 * run()'s `env`). Call this in a test file that drives `run(argv)` in-process against moto: it
 * gives this worker moto's test credentials and keeps the chain from looking at profiles or IMDS.
 * Each test file runs in its own fork, so this does not leak into other files.
 */
export function useMotoCredentials(credentials: { accessKeyId: string; secretAccessKey: string } = MOTO_CREDENTIALS): void {
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_CONFIG_FILE = '/dev/null';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null';
}

export interface MotoAccount {
  accountId: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/**
 * A fresh moto account of its own, for tests whose state is account-wide rather than named (CloudWatch
 * metrics such as ForecastReady, the STS identity): an IAM user created in a random account (moto's
 * x-moto-account-id header), whose access key then makes moto file every request it signs under that
 * account. Give its credentials to the CLI (useMotoCredentials) and to the test's own clients.
 */
export async function isolatedAccount(): Promise<MotoAccount> {
  const { CreateAccessKeyCommand, CreateUserCommand, IAMClient } = await import('@aws-sdk/client-iam');
  const accountId = String(100_000_000_000 + Number.parseInt(randomBytes(5).toString('hex'), 16) % 800_000_000_000);
  const iam = motoClient(IAMClient);
  iam.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-moto-account-id'] = accountId;
      return next(args);
    },
    { step: 'build', name: 'motoAccountHeader' },
  );
  await iam.send(new CreateUserCommand({ UserName: 'watchpoint-test-operator' }));
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'watchpoint-test-operator' }));
  return { accountId, credentials: { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! } };
}

/** A client of moto signing with an isolated account's key. */
export function accountClient<T>(Client: new (config: ReturnType<typeof motoClientConfig>) => T, account: MotoAccount, region?: string): T {
  return new Client({ ...motoClientConfig(region), credentials: account.credentials });
}

/** Environment for running bin/watchpoint as a child process against moto. */
export function motoProcessEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    ...extra,
  };
}

/** A fresh WatchPoint environment name (matches ^[a-z][a-z0-9-]{0,15}$): `m` + 8 hex by default. */
export function uniqueEnvName(prefix = 'm'): string {
  const name = `${prefix}${randomBytes(4).toString('hex')}`;
  if (!/^[a-z][a-z0-9-]{0,15}$/.test(name)) throw new Error(`uniqueEnvName: prefix "${prefix}" makes an invalid env name "${name}"`);
  return name;
}

/** A unique AWS resource name: `<prefix>-<10 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** A valid stage section whose AWS calls all go to moto (the CLI's awsEndpointUrl setting). */
export function motoStage(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...VALID_DEV, account: MOTO_ACCOUNT, awsEndpointUrl: motoEndpoint(), ...overrides };
}

// ---------- a recording proxy in front of moto ----------

/** One AWS call that passed through a MotoRecorder: `ssm` + `PutParameter`. */
export interface RecordedCall {
  service: string;
  action: string;
  /** The request body as sent (JSON for SSM, CloudWatch, ECR, SQS; form-encoded for IAM, STS, CloudFormation). */
  body: string;
  /** The answer's HTTP status and body, once it has been sent (moto's, or the injected error). */
  status?: number;
  response?: string;
}

/** An AWS error the recorder answers instead of moto, in the wire format of the request's protocol. */
export interface InjectedError {
  code: string;
  message: string;
  status?: number;
}

/**
 * What to do with one call: answer `error` instead of forwarding it, or (`afterForward`) forward it
 * so that moto applies it and then answer `error` anyway (a write that landed but whose answer was
 * lost). `die` then makes every later call fail until `revive()`, as if the process had crashed.
 */
export interface Verdict {
  error: InjectedError;
  afterForward?: boolean;
  die?: boolean;
}

export type Interceptor = (call: RecordedCall) => Verdict | undefined | void | Promise<Verdict | undefined | void>;

export interface MotoRecorder {
  /** Point the CLI here (awsEndpointUrl) instead of at moto itself. */
  endpoint: string;
  calls: RecordedCall[];
  /** Action names seen, optionally of one service (the signing name: ssm, iam, sts, monitoring, cloudformation, ecr, sqs). */
  actions(service?: string): string[];
  count(action: string): number;
  /** The inputs of every call of `action`, parsed (JSON protocols) or as form fields (query protocols). */
  inputs(action: string): Record<string, any>[];
  /** Answer the next `times` calls of `action` with this error instead of forwarding them (no `times`: every call). */
  fail(action: string, error: InjectedError, options?: { times?: number; when?: (body: string) => boolean; afterForward?: boolean }): void;
  /** Run `hook` before forwarding the next call of `action` (e.g. change moto's state "meanwhile"). */
  before(action: string, hook: () => Promise<void>): void;
  /** Consulted for every call, in the order added, until one returns a verdict. Cleared by reset(). */
  intercept(interceptor: Interceptor): void;
  /** Called after every answer (with `status` and `response` filled in). Cleared by reset(). */
  watch(watcher: (call: RecordedCall) => void | Promise<void>): void;
  /** After a `die` verdict: every call fails with ProcessCrashed until this is called. */
  revive(): void;
  readonly dead: boolean;
  reset(): void;
  stop(): Promise<void>;
}

const CRASHED: InjectedError = { code: 'ProcessCrashed', message: 'simulated crash: this process is dead' };

/**
 * An HTTP proxy on 127.0.0.1 that forwards every request to moto and records which AWS action it
 * was, so a test can check what the CLI called (and that it called nothing) while the answers come
 * from the real server. It can also answer a call with an AWS error moto cannot produce
 * (AccessDenied, throttling, expired tokens: moto checks no credentials), serialized the way AWS
 * sends it so the SDK's real error parsing runs, and play a crash at a chosen call. One per test
 * file; `stop()` in afterAll. `route` sends some calls elsewhere (e.g. S3 and SQS to fauxqs, so that
 * code with one AWS_ENDPOINT_URL, like the Lambda handlers, reaches SSM on moto and the rest on fauxqs).
 */
export async function startMotoRecorder(options: { route?: (call: RecordedCall) => string } = {}): Promise<MotoRecorder> {
  const { createServer, request } = await import('node:http');
  const moto = motoEndpoint();
  const calls: RecordedCall[] = [];
  let interceptors: Interceptor[] = [];
  let watchers: ((call: RecordedCall) => void | Promise<void>)[] = [];
  let dead = false;

  const forward = (req: import('node:http').IncomingMessage, body: Buffer, call: RecordedCall) =>
    new Promise<{ status: number; headers: import('node:http').IncomingHttpHeaders; body: Buffer }>((resolve) => {
      const target = new URL(options.route?.(call) ?? moto);
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (part: Buffer) => parts.push(part));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(parts) }));
        },
      );
      upstream.on('error', (error) => resolve({ status: 502, headers: {}, body: Buffer.from(String(error)) }));
      upstream.end(body);
    });

  const errorAnswer = (json: boolean, error: InjectedError): { status: number; headers: Record<string, string>; body: Buffer } => {
    const status = error.status ?? 400;
    if (json) {
      return {
        status,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': error.code, 'x-amzn-requestid': 'injected' },
        body: Buffer.from(JSON.stringify({ __type: error.code, message: error.message })),
      };
    }
    const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    return {
      status,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': 'injected' },
      body: Buffer.from(`<ErrorResponse><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${escape(error.code)}</Code><Message>${escape(error.message)}</Message></Error><RequestId>injected</RequestId></ErrorResponse>`),
    };
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        const targetHeader = req.headers['x-amz-target'];
        const json = typeof targetHeader === 'string';
        const action = json ? targetHeader.split('.').pop()! : (new URLSearchParams(text).get('Action') ?? new URL(req.url ?? '/', 'http://x').searchParams.get('Action') ?? `${req.method} ${req.url}`);
        const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? 'unknown';
        const call: RecordedCall = { service, action, body: text };
        calls.push(call);
        let verdict: Verdict | undefined;
        if (dead) verdict = { error: CRASHED };
        for (const interceptor of verdict ? [] : interceptors) {
          verdict = (await interceptor(call)) ?? undefined;
          if (verdict) break;
        }
        let answer: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };
        if (verdict && !verdict.afterForward) answer = errorAnswer(json, verdict.error);
        else {
          answer = await forward(req, body, call);
          if (verdict) answer = errorAnswer(json, verdict.error);
        }
        if (verdict?.die) dead = true;
        call.status = answer.status;
        call.response = answer.body.toString('utf8');
        for (const watcher of watchers) await watcher(call);
        const headers = { ...answer.headers };
        delete headers['transfer-encoding'];
        headers['content-length'] = String(answer.body.length);
        res.writeHead(answer.status, headers);
        res.end(answer.body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    actions: (service) => calls.filter((c) => service === undefined || c.service === service).map((c) => c.action),
    count: (action) => calls.filter((c) => c.action === action).length,
    inputs: (action) =>
      calls
        .filter((c) => c.action === action)
        .map((c) => (c.body.trimStart().startsWith('{') ? JSON.parse(c.body) : Object.fromEntries(new URLSearchParams(c.body)))),
    fail: (action, error, options = {}) => {
      let left = options.times ?? Number.POSITIVE_INFINITY;
      interceptors.push((call) => {
        if (call.action !== action || left <= 0 || (options.when && !options.when(call.body))) return undefined;
        left -= 1;
        return { error, ...(options.afterForward ? { afterForward: true } : {}) };
      });
    },
    before: (action, hook) => {
      let done = false;
      interceptors.push(async (call) => {
        if (done || call.action !== action) return undefined;
        done = true;
        await hook();
        return undefined;
      });
    },
    intercept: (interceptor) => {
      interceptors.push(interceptor);
    },
    watch: (watcher) => {
      watchers.push(watcher);
    },
    revive: () => {
      dead = false;
    },
    get dead() {
      return dead;
    },
    reset: () => {
      calls.length = 0;
      interceptors = [];
      watchers = [];
      dead = false;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
