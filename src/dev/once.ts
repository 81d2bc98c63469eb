// `watchpoint dev --once`: the platform's whole job, scripted. Through the local HTTP API it creates
// an API key and a watchpoint with an email and a webhook channel, makes the synthetic forecast
// exceed the watchpoint's threshold at its location, runs one forecast cycle (DataPoller -> RunPod
// stand-in -> ForecastBucket -> Batcher -> eval worker -> delivery workers), and waits for the email
// in the SES store and the signed webhook at the local receiver. Each step has a name and a time
// limit; the first that fails is the one reported.
import type { DevPlatform } from './platform.ts';
import { abortableSleep } from '../sleep.ts';

export interface StepResult {
  step: string;
  ms: number;
  detail?: string;
}

export class StepFailed extends Error {
  readonly step: string;
  constructor(step: string, cause: unknown) {
    super(`step "${step}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StepFailed';
    this.step = step;
  }
}

export interface OnceResult {
  steps: StepResult[];
  watchpointId: string;
  email: { to: string; subject: string };
  webhook: { path: string; signature: 'verified' };
}

/** Madrid: inside the default synthetic grid (src/dev/forecast.ts DEFAULT_GRID). */
export const ONCE_WATCHPOINT = { latitude: 40.4, longitude: -3.7, variable: 'temperature_2m', threshold: 35, hotValue: 41.5 } as const;
export const ONCE_EMAIL = 'oncall@example.com';
export const ONCE_WEBHOOK_PATH = '/hooks/once';

async function api(platform: DevPlatform, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${platform.state.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `once-${Date.now()}-${Math.random()}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${Math.round(timeoutMs / 1000)} s`);
    await abortableSleep(intervalMs);
  }
}

export interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
}

export async function sesStore(mailUrl: string): Promise<StoredEmail[]> {
  const response = await fetch(`${mailUrl.replace(/\/+$/, '')}/store`, { signal: AbortSignal.timeout(5_000) });
  return ((await response.json()) as { emails: StoredEmail[] }).emails;
}

export async function runOnce(platform: DevPlatform, options: { timeoutMs?: number; notify?: (line: string) => void } = {}): Promise<OnceResult> {
  const limit = options.timeoutMs ?? 60_000;
  const steps: StepResult[] = [];
  const step = async <T>(name: string, run: () => Promise<T>, detail?: (value: T) => string): Promise<T> => {
    const started = performance.now();
    options.notify?.(`--once: ${name}...`);
    try {
      const value = await run();
      steps.push({ step: name, ms: Math.round(performance.now() - started), ...(detail ? { detail: detail(value) } : {}) });
      return value;
    } catch (error) {
      throw new StepFailed(name, error);
    }
  };

  const key = await step('create an API key', async () => {
    const reply = await api(platform, 'POST', '/v1/api-keys', platform.adminKey, { name: 'dev --once' });
    if (reply.status !== 201 || typeof reply.json.key !== 'string') throw new Error(`POST /v1/api-keys answered ${reply.status}: ${JSON.stringify(reply.json).slice(0, 300)}`);
    return reply.json.key;
  });

  const hookUrl = `${platform.receiver.url}${ONCE_WEBHOOK_PATH}`;
  const watchpoint = await step(
    'create a watchpoint (email + webhook)',
    async () => {
      const reply = await api(platform, 'POST', '/v1/watchpoints', key, {
        name: 'Madrid heat (dev --once)',
        latitude: ONCE_WATCHPOINT.latitude,
        longitude: ONCE_WATCHPOINT.longitude,
        variable: ONCE_WATCHPOINT.variable,
        condition: 'gt',
        threshold: ONCE_WATCHPOINT.threshold,
        window_start_hours: 0,
        window_end_hours: 6,
        channels: [
          { type: 'email', address: ONCE_EMAIL },
          { type: 'webhook', url: hookUrl },
        ],
      });
      if (reply.status !== 201 || typeof reply.json.id !== 'string' || typeof reply.json.webhook_secret !== 'string') {
        throw new Error(`POST /v1/watchpoints answered ${reply.status}: ${JSON.stringify(reply.json).slice(0, 300)}`);
      }
      platform.receiver.expect(ONCE_WEBHOOK_PATH, reply.json.webhook_secret);
      return { id: reply.json.id, name: String(reply.json.name) };
    },
    (wp) => wp.id,
  );

  await step('make the forecast exceed the threshold there', async () => {
    platform.runpod.hotPoints.push({ latitude: ONCE_WATCHPOINT.latitude, longitude: ONCE_WATCHPOINT.longitude, variable: ONCE_WATCHPOINT.variable, value: ONCE_WATCHPOINT.hotValue });
  });

  await step('run a forecast cycle (DataPoller -> RunPod stand-in)', async () => {
    const result = (await platform.pollNow()) as { started?: string[] };
    if (!result.started || result.started.length === 0) throw new Error(`the DataPoller started no forecast run: ${JSON.stringify(result).slice(0, 300)}`);
    return result.started;
  }, (runs) => `runs ${runs.join(', ')}`);

  const email = await step(
    'email in the SES store',
    () =>
      waitUntil('an email to the watchpoint', limit, async () => {
        const emails = await sesStore(platform.state.mail);
        return emails.find((e) => e.destination.to.includes(ONCE_EMAIL) && `${e.subject} ${e.body.text ?? ''}`.includes(watchpoint.name));
      }),
    (e) => `"${e.subject}" to ${ONCE_EMAIL}`,
  );

  const hook = await step('signed webhook at the local receiver', () => platform.receiver.waitFor(ONCE_WEBHOOK_PATH, limit), (h) => `POST ${h.path}, signature verified`);
  const body = JSON.parse(hook.body) as { watchpoint?: { id?: string } };
  if (body.watchpoint?.id !== watchpoint.id) throw new StepFailed('signed webhook at the local receiver', new Error(`the webhook is for watchpoint ${body.watchpoint?.id}, not ${watchpoint.id}`));

  return { steps, watchpointId: watchpoint.id, email: { to: ONCE_EMAIL, subject: email.subject }, webhook: { path: hook.path, signature: 'verified' } };
}
