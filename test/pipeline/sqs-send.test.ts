// sendMessageBatches: batches of 10, sent in parallel, failed entries retried, sender faults not.
import { describe, expect, it } from 'vitest';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { sendMessageBatches } from '../../src/lambdas/shared/sqs-send.ts';

const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ Id: `e${i}`, MessageBody: `{"i":${i}}` }));

describe('sendMessageBatches', () => {
  it('splits into batches of 10 and retries only the entries SQS reports as failed (not sender faults)', async () => {
    const mock = mockClient(SQSClient);
    const seen: string[][] = [];
    const failedOnce = new Set<string>();
    mock.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => {
      const ids: string[] = input.Entries.map((e) => e.Id);
      seen.push(ids);
      // e3 and e17 fail on their first attempt only (a server-side hiccup).
      const failNow: string[] = ids.filter((id) => (id === 'e3' || id === 'e17') && !failedOnce.has(id));
      for (const id of failNow) failedOnce.add(id);
      const senderFault: string[] = ids.filter((id) => id === 'e21');
      return {
        Successful: ids.filter((id) => !failNow.includes(id) && !senderFault.includes(id)).map((Id) => ({ Id, MessageId: Id, MD5OfMessageBody: '' })),
        Failed: [
          ...failNow.map((Id) => ({ Id, Code: 'InternalError', SenderFault: false })),
          ...senderFault.map((Id) => ({ Id, Code: 'InvalidParameterValue', SenderFault: true, Message: 'bad' })),
        ],
      };
    });
    const result = await sendMessageBatches(new SQSClient({ region: 'us-east-1' }), 'https://q', entries(25), { backoffMs: 1 });
    // 3 batches, then one retry batch with e3 and e17.
    expect(seen.slice(0, 3).map((b) => b.length).sort()).toEqual([10, 10, 5]);
    expect(seen.slice(3).map((b) => [...b].sort())).toEqual([['e17', 'e3']]);
    expect(result.calls).toBe(4);
    expect(result.sent.sort()).toEqual(entries(25).map((e) => e.Id).filter((id) => id !== 'e21').sort());
    expect(result.failed).toEqual([{ id: 'e21', code: 'InvalidParameterValue', message: 'bad', senderFault: true }]);
    mock.restore();
  });

  it('gives up after maxAttempts and reports what is still unsent', async () => {
    const mock = mockClient(SQSClient);
    mock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: 'e0', Code: 'ServiceUnavailable', SenderFault: false }] });
    const result = await sendMessageBatches(new SQSClient({ region: 'us-east-1' }), 'https://q', entries(1), { maxAttempts: 3, backoffMs: 1 });
    expect(result.calls).toBe(3);
    expect(result.failed.map((f) => f.id)).toEqual(['e0']);
    mock.restore();
  });
});
