// Issue 27 on the dev runtime (fauxqs refuses the same characters SQS does): a watchpoint row
// holding characters SQS refuses still gets its notification, and fails nothing else; the local AWS
// endpoint answers only the session's credentials.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS, startDevPlatform, type DevPlatform } from '../../src/dev/platform.ts';
import { waitUntil } from '../../src/dev/once.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';

let platform: DevPlatform;
let cwd: string;
let db: TestDatabase;
let sqs: SQSClient;
const lines: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'));
  cwd = await tempDir();
  platform = await startDevPlatform({ cwd, speed: 180, databaseUrl: db.url, allowLoopbackWebhooks: true, runSchedulesAtStart: false, pollerSchedule: false, log: (line) => lines.push(line) });
  sqs = new SQSClient({ region: platform.state.region, endpoint: platform.state.endpoint, credentials: LOCAL_CREDENTIALS });
}, 120_000);

afterAll(async () => {
  sqs?.destroy();
  await platform?.stop();
  await db?.drop();
});

async function post(path: string, token: string, body: unknown): Promise<Record<string, any>> {
  const response = await fetch(`${platform.state.api}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await response.json()) as Record<string, any>;
}

async function depth(logicalIdPart: string): Promise<number> {
  const [, url] = Object.entries(platform.queueUrls).find(([id]) => id.includes(logicalIdPart))!;
  const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
}

describe('poison names on the dev runtime (item 5)', () => {
  it('a row with U+FFFF/U+FFFE in its name gets its webhook, its neighbour too, nothing reaches the DLQ, and the log names the row', { timeout: 90_000 }, async () => {
    const { key } = await post('/v1/api-keys', platform.adminKey, { name: 'poison' });
    const watchpoint = (name: string, path: string) => ({
      name,
      latitude: 45.1,
      longitude: 7.6,
      variable: 'wind_speed_10m',
      condition: 'gte',
      threshold: 30,
      window_end_hours: 6,
      channels: [{ type: 'webhook', url: `${platform.receiver.url}${path}` }],
    });
    // The API refuses the name now ...
    const refused = await post('/v1/watchpoints', key!, watchpoint('bad \uffff', '/hooks/bad'));
    expect(refused.status).toBe(400);
    // ... so the bad row is one stored before that (or written outside the API).
    const bad = await post('/v1/watchpoints', key!, watchpoint('placeholder', '/hooks/bad'));
    const good = await post('/v1/watchpoints', key!, watchpoint('good', '/hooks/good'));
    const poison = 'storm \uffff\ufffe 🌩️';
    await db.pool.query('UPDATE watchpoints SET name = $2 WHERE id = $1', [bad.id, poison]);
    platform.receiver.expect('/hooks/bad', bad.webhook_secret!);
    platform.receiver.expect('/hooks/good', good.webhook_secret!);
    platform.runpod.hotPoints.push({ latitude: 45.1, longitude: 7.6, variable: 'wind_speed_10m', value: 33 });

    const { started } = (await platform.pollNow()) as { started: string[] };
    const runs = started.length;
    expect(runs).toBe(2);
    const delivered = await waitUntil('both watchpoints notified for both runs', 60_000, async () => {
      const ok = platform.receiver.received.filter((hook) => hook.status === 200 && hook.verification?.ok);
      return ok.length === 2 * runs ? ok : undefined;
    }, 250);
    const names = delivered.filter((hook) => hook.path === '/hooks/bad').map((hook) => (JSON.parse(hook.body) as { watchpoint: { name: string } }).watchpoint.name);
    expect(names).toEqual([poison, poison]);
    expect(await depth('DeadLetterQueue')).toBe(0);
    expect(lines.filter((line) => line.includes('event=NotificationEscaped')).every((line) => line.includes(String(bad.id)))).toBe(true);
    expect(lines.some((line) => line.includes('event=NotificationEscaped'))).toBe(true);
    expect(lines.some((line) => line.includes('event=EvalJobFailed'))).toBe(false);
  });
});

describe('the local AWS endpoint answers only the session\'s credentials (item 9)', () => {
  it('refuses other access keys and unsigned requests in each protocol\'s AWS error shape; the session\'s own work', async () => {
    const other = { accessKeyId: 'watchpoint-dev', secretAccessKey: 'watchpoint-dev' };
    const config = (credentials: typeof other) => ({ region: platform.state.region, endpoint: platform.state.endpoint, credentials, maxAttempts: 1 });
    const name = '/local/watchpoint/database/url';
    const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: { name: string; $metadata?: { httpStatusCode?: number } }) => [error.name, error.$metadata?.httpStatusCode]);

    const stranger = new SSMClient(config(other));
    expect(await errorOf(stranger.send(new GetParameterCommand({ Name: name, WithDecryption: true })))).toEqual(['UnrecognizedClientException', 403]);
    expect(await errorOf(new STSClient(config(other)).send(new GetCallerIdentityCommand({})))).toEqual(['InvalidClientTokenId', 403]);
    expect(await errorOf(new S3Client({ ...config(other), forcePathStyle: true }).send(new ListBucketsCommand({})))).toEqual(['InvalidAccessKeyId', 403]);
    const unsigned = await fetch(platform.state.endpoint, { method: 'POST', headers: { 'x-amz-target': 'AmazonSSM.GetParameter', 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify({ Name: name, WithDecryption: true }) });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('UnrecognizedClientException');
    expect(await unsigned.text()).not.toContain('postgres');

    const session = new SSMClient(config(LOCAL_CREDENTIALS));
    expect((await session.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value).toMatch(/^postgres/);
    // Operator commands with --env local sign with the session's credentials from .watchpoint/dev.json.
    const list = await runCli(['secrets', 'list', '--env', 'local'], { cwd });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/database\/url\s+set/);
  });
});

describe('watchpoint api-keys --env local: the admin API end to end (item 1)', () => {
  it('lists keys, pauses and resumes by recipient and by key, revokes with --yes; flags are checked before any call', { timeout: 60_000 }, async () => {
    const { key, id } = await post('/v1/api-keys', platform.adminKey, { name: 'incident' });
    const body = (address: string) => ({ latitude: 10.5, longitude: 10.5, variable: 'wind_speed_10m', condition: 'gte', threshold: 30, window_end_hours: 6, channels: [{ type: 'email', address }] });
    const victim = await post('/v1/watchpoints', key!, body('victim@example.com'));
    const other = await post('/v1/watchpoints', key!, body('other@example.com'));
    const pausedOf = async (wp: string) => (await db.pool.query('SELECT paused_reason FROM watchpoints WHERE id = $1', [wp])).rows[0].paused_reason;

    const list = await runCli(['api-keys', 'list', '--env', 'local', '--recipient', 'victim@example.com', '--json'], { cwd });
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout);
    expect(listed.keys.map((k: { id: string }) => k.id)).toEqual([id]);
    expect(listed.keys[0]).toMatchObject({ watchpoints: 1, paused: 0, recipients: 2, quotas: { watchpoints: 100, channels_per_watchpoint: 5, recipients: 20 } });
    expect(list.stdout + list.stderr).not.toContain(platform.adminKey);

    const pause = await runCli(['api-keys', 'pause', '--env', 'local', '--recipient', 'VICTIM@example.com'], { cwd });
    expect(pause.code, pause.stderr).toBe(0);
    expect(pause.stdout).toContain('Paused 1 watchpoint(s) emailing VICTIM@example.com');
    expect([await pausedOf(victim.id), await pausedOf(other.id)]).toEqual(['operator', null]);

    const human = await runCli(['api-keys', 'list', '--env', 'local'], { cwd });
    expect(human.stdout).toMatch(new RegExp(`${id}\\s+${String(listed.keys[0].key_prefix)}\\s+incident`));

    const resume = await runCli(['api-keys', 'resume', '--env', 'local', '--key', id, '--json'], { cwd });
    expect(resume.code, resume.stderr).toBe(0);
    expect(JSON.parse(resume.stdout)).toMatchObject({ action: 'resume', api_key_id: id, count: 1, watchpoint_ids: [victim.id] });

    const refused = await runCli(['api-keys', 'revoke', id, '--env', 'local'], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('fix: Re-run with --yes');
    const revoke = await runCli(['api-keys', 'revoke', id, '--env', 'local', '--yes', '--json'], { cwd });
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(JSON.parse(revoke.stdout)).toEqual({ env: 'local', revoked: id, watchpoints_paused: 2, watchpoints: 2 });
    expect([await pausedOf(victim.id), await pausedOf(other.id)]).toEqual(['key_revoked', 'key_revoked']);
    const again = await runCli(['api-keys', 'revoke', id, '--env', 'local', '--yes'], { cwd });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/refused with 404[\s\S]*fix: Find the key's id with `watchpoint api-keys list --env local`/);

    for (const argv of [['pause'], ['pause', '--key', id, '--recipient', 'a@example.com'], ['resume', '--key', 'wp_abc'], ['list', '--recipient', 'nobody'], ['revoke', 'not-a-uuid']]) {
      const bad = await runCli(['api-keys', ...argv, '--env', 'nowhere'], { cwd });
      expect(bad.code, argv.join(' ')).toBe(2);
      expect(bad.stderr).toContain('fix:');
      expect(bad.stderr).not.toContain('nowhere');
    }
  });
});
