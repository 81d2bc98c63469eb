// The one stdin reader (src/cli/stdin.ts), on node:stream/consumers.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readStdinText } from '../../src/cli/stdin.ts';

describe('readStdinText', () => {
  it('decodes UTF-8 whole when a character is split across chunks', async () => {
    const bytes = Buffer.from('pässwörd→ok', 'utf8');
    const chunks = [bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)];
    expect(await readStdinText({ stream: Readable.from(chunks) })).toBe('pässwörd→ok');
  });

  it('stops at the size limit with the caller\'s error, and refuses a terminal', async () => {
    let pulled = 0;
    const endless = Readable.from((function* () {
      for (;;) {
        pulled += 1;
        yield Buffer.alloc(1024, 'a');
      }
    })());
    await expect(readStdinText({ stream: endless, maxBytes: 4096, onTooLarge: (max) => new Error(`over ${max}`) })).rejects.toThrow('over 4096');
    expect(pulled).toBeLessThan(64);
    const tty = Object.assign(Readable.from([]), { isTTY: true });
    await expect(readStdinText({ stream: tty, onTerminal: () => new Error('a terminal') })).rejects.toThrow('a terminal');
    expect(await readStdinText({ stream: Readable.from([Buffer.from('x'.repeat(4096))]), maxBytes: 4096 })).toHaveLength(4096);
  });
});
