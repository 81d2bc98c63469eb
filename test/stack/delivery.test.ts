// The stack changes of issue 9: the email worker learns where its sender address lives, its role can
// read it, and no function gets the webhook worker's test allowance.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logicalId, removeOutdirs, resourceOf, statementsOf, synth } from './fixture.ts';
import type { Synthesized } from './fixture.ts';

afterAll(removeOutdirs);

let s: Synthesized;
beforeAll(() => {
  s = synth();
});

describe('delivery workers in the stack', () => {
  it('EmailWorkerFunction gets EMAIL_SENDER_SSM_PARAM, and only it', () => {
    const f = s.platform.functions;
    const vars = (fn: { function: object }) => resourceOf(s, fn.function as never).Properties.Environment.Variables as Record<string, unknown>;
    expect(vars(f.emailWorkerFunction).EMAIL_SENDER_SSM_PARAM).toBe('/dev/watchpoint/email/sender');
    for (const other of f.all().filter((fn) => fn !== f.emailWorkerFunction)) {
      expect(vars(other)).not.toHaveProperty('EMAIL_SENDER_SSM_PARAM');
    }
  });

  it('the email worker role can read the sender parameter (under /<env>/watchpoint/)', () => {
    const statements = statementsOf(s, logicalId(s.platform.functions.emailWorkerFunction.role));
    const ssm = statements.filter((st) => st.effect === 'Allow' && st.actions.includes('ssm:GetParameter'));
    // The sender path /dev/watchpoint/email/sender falls under the role's one SSM grant.
    expect(ssm.flatMap((st) => st.resources)).toEqual([expect.stringMatching(/:parameter\/dev\/watchpoint\/\*$/)]);
  });

  it('no function is deployed with the webhook test allowance', () => {
    for (const fn of s.platform.functions.all()) {
      const vars = resourceOf(s, fn.function).Properties.Environment.Variables as Record<string, unknown>;
      expect(vars).not.toHaveProperty('WEBHOOK_ALLOW_INSECURE_TARGETS');
    }
  });
});
