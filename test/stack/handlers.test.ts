import { describe, expect, it } from 'vitest';
import { handler as api } from '../../src/lambdas/api/index.ts';
import { handler as archiver } from '../../src/lambdas/archiver/index.ts';
import { handler as emailWorker } from '../../src/lambdas/email-worker/index.ts';

describe('placeholder handlers', () => {
  it('throw with the issue that implements them', async () => {
    await expect(api({})).rejects.toThrow('api handler is not implemented yet (see issue 10)');
    await expect(archiver({})).rejects.toThrow('archiver handler is not implemented yet (see issue 10)');
    await expect(emailWorker({})).rejects.toThrow('email-worker handler is not implemented yet (see issue 9)');
  });
});
