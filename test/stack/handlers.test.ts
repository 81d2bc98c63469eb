import { describe, expect, it } from 'vitest';
import { handler as api } from '../../src/lambdas/api/index.ts';
import { handler as batcher } from '../../src/lambdas/batcher/index.ts';
import { handler as emailWorker } from '../../src/lambdas/email-worker/index.ts';

describe('placeholder handlers', () => {
  it('throw with the issue that implements them', async () => {
    await expect(api({})).rejects.toThrow('api handler is not implemented yet (see issue 10)');
    await expect(batcher({})).rejects.toThrow('batcher handler is not implemented yet (see issue 8)');
    await expect(emailWorker({})).rejects.toThrow('email-worker handler is not implemented yet (see issue 9)');
  });
});
