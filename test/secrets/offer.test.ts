// init's offer to set missing secrets, on moto's Parameter Store (through the recording proxy, so the
// order of reads and writes is checked; the expired-token failure is injected in AWS's wire format).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SSMClient } from '@aws-sdk/client-ssm';
import { RecordingIo } from '../../src/cli/io.ts';
import { offerMissingSecrets } from '../../src/cli/secrets/offer.ts';
import { stageConfigSchema } from '../../src/config/schema.ts';
import { motoClientConfig, startMotoRecorder, uniqueEnvName, type MotoRecorder } from '../helpers/moto.ts';
import { MotoSsm } from './moto-ssm.ts';
import { VALUES } from './helpers.ts';

const stage = stageConfigSchema.parse({ region: 'eu-west-1', alertEmail: 'oncall@example.com', runPodEndpointId: 'abc123xyz' });
let recorder: MotoRecorder;
let ssm: MotoSsm;
let client: SSMClient;
let env: string;
beforeAll(async () => {
  recorder = await startMotoRecorder();
  ssm = new MotoSsm(recorder, 'eu-west-1', 'eu-west-1');
  client = new SSMClient({ ...motoClientConfig(), endpoint: recorder.endpoint });
});
afterAll(() => recorder.stop());
beforeEach(() => {
  env = uniqueEnvName();
  recorder.reset();
});

describe('init offers to set missing required secrets', () => {
  it('asks for every missing one first (generating where allowed, empty skips), then writes', async () => {
    for (const name of ['database/url', 'billing/stripe_secret_key', 'billing/stripe_publishable_key', 'auth/session_key'] as const) await ssm.seed(`/${env}/watchpoint/${name}`, VALUES[name]);
    recorder.reset();
    // Missing: stripe_webhook_secret, runpod_api_key, admin_api_key (generatable).
    const answers = [true, VALUES['billing/stripe_webhook_secret'], '', true];
    const io = new RecordingIo(answers, true);
    const bytes = (n: number) => Buffer.from(Buffer.alloc(n, 0).map((_, i) => i * 7));
    const written = await offerMissingSecrets({ io, envName: env, stage, ssm: client, randomBytes: bytes });
    expect(io.questions.map((q) => q.kind)).toEqual(['confirm', 'secret', 'secret', 'confirm']);
    expect(written).toEqual(['billing/stripe_webhook_secret', 'security/admin_api_key']);
    const calls = ssm.calls;
    expect(calls.indexOf('PutParameter')).toBeGreaterThan(calls.lastIndexOf('GetParameters'));
    expect((await ssm.latest(`/${env}/watchpoint/billing/stripe_webhook_secret`))?.value).toBe(VALUES['billing/stripe_webhook_secret']);
    expect((await ssm.latest(`/${env}/watchpoint/security/admin_api_key`))?.value).toBe(bytes(48).toString('base64url'));
    expect(await ssm.latest(`/${env}/watchpoint/forecast/runpod_api_key`)).toBeUndefined();
    expect(io.stderr).toContain('Still missing: forecast/runpod_api_key');
    expect(io.stderr).not.toContain(VALUES['billing/stripe_webhook_secret']);
  });

  it('says what to run later when SSM cannot be read, without failing', async () => {
    recorder.fail('GetParameters', { code: 'ExpiredTokenException', message: 'The security token included in the request is expired' });
    const io = new RecordingIo([true], true);
    expect(await offerMissingSecrets({ io, envName: env, stage, ssm: client })).toEqual([]);
    expect(io.stderr).toContain(`watchpoint secrets check --env ${env}`);
    expect(ssm.count('PutParameter')).toBe(0);
  });

  it('does nothing when declined', async () => {
    const io = new RecordingIo([false], true);
    expect(await offerMissingSecrets({ io, envName: env, stage, ssm: client })).toEqual([]);
    expect(ssm.calls).toEqual([]);
  });
});
