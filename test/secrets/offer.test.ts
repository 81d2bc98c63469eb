import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { RecordingIo } from '../../src/cli/io.ts';
import { offerMissingSecrets } from '../../src/cli/secrets/offer.ts';
import { stageConfigSchema } from '../../src/config/schema.ts';
import { FakeSsm, awsError } from './fake-ssm.ts';
import { VALUES } from './helpers.ts';

const stage = stageConfigSchema.parse({ region: 'eu-west-1', alertEmail: 'oncall@example.com', runPodEndpointId: 'abc123xyz' });
let ssm: FakeSsm;
beforeEach(() => {
  ssm = new FakeSsm();
});
afterEach(() => ssm.restore());

describe('init offers to set missing required secrets', () => {
  it('asks for every missing one first (generating where allowed, empty skips), then writes', async () => {
    for (const name of ['database/url', 'billing/stripe_secret_key', 'billing/stripe_publishable_key', 'auth/session_key'] as const) ssm.seed(`/dev/watchpoint/${name}`, VALUES[name]);
    // Missing: stripe_webhook_secret, runpod_api_key, admin_api_key (generatable).
    const answers = [true, VALUES['billing/stripe_webhook_secret'], '', true];
    const io = new RecordingIo(answers, true);
    const written = await offerMissingSecrets({ io, envName: 'dev', stage, ssm: new SSMClient({ region: 'eu-west-1' }), randomBytes: (n) => Buffer.from(Buffer.alloc(n, 0).map((_, i) => i * 7)) });
    expect(io.questions.map((q) => q.kind)).toEqual(['confirm', 'secret', 'secret', 'confirm']);
    expect(written).toEqual(['billing/stripe_webhook_secret', 'security/admin_api_key']);
    expect(ssm.calls.indexOf('PutParameter')).toBeGreaterThan(ssm.calls.lastIndexOf('GetParameters'));
    expect(ssm.latest('/dev/watchpoint/billing/stripe_webhook_secret')?.value).toBe(VALUES['billing/stripe_webhook_secret']);
    expect(io.stderr).toContain('Still missing: forecast/runpod_api_key');
    expect(io.stderr).not.toContain(VALUES['billing/stripe_webhook_secret']);
  });

  it('says what to run later when SSM cannot be read, without failing', async () => {
    ssm.mock.on(GetParametersCommand).rejects(awsError('ExpiredTokenException', 'The security token included in the request is expired'));
    const io = new RecordingIo([true], true);
    expect(await offerMissingSecrets({ io, envName: 'dev', stage, ssm: new SSMClient({ region: 'eu-west-1' }) })).toEqual([]);
    expect(io.stderr).toContain('watchpoint secrets check --env dev');
    expect(ssm.count('PutParameter')).toBe(0);
  });

  it('does nothing when declined', async () => {
    const io = new RecordingIo([false], true);
    expect(await offerMissingSecrets({ io, envName: 'dev', stage, ssm: new SSMClient({ region: 'eu-west-1' }) })).toEqual([]);
    expect(ssm.calls).toEqual([]);
  });
});
