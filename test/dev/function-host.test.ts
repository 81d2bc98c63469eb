// A function's containers as the dev runtime runs them: the template's timeout ends an invocation
// (and its container, as Lambda does), the next invocation starts a fresh container, the handler
// sees its environment and a context whose remaining time follows the timeout.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { FunctionHost } from '../../src/dev/function-host.ts';
import { tempDir } from '../helpers/cli.ts';

const hosts: FunctionHost[] = [];
afterAll(async () => {
  for (const host of hosts) await host.stop();
});

describe('FunctionHost', () => {
  it('times an invocation out after the template timeout, replaces the container, and passes env and context', { timeout: 30_000 }, async () => {
    const dir = await tempDir();
    const module = join(dir, 'handler.mjs');
    writeFileSync(
      module,
      `export const handler = async (event, context) => {
  if (event.hang) await new Promise(() => setInterval(() => {}, 1000));
  if (event.fail) throw new TypeError('boom');
  return { stage: process.env.APP_ENV, home: process.env.HOME ?? null, remaining: context.getRemainingTimeInMillis(), name: context.functionName };
};\n`,
    );
    const lines: string[] = [];
    const streams = new Set<string>();
    const host = new FunctionHost({ name: 'Probe', modulePath: module, timeoutSeconds: 1, memoryMb: 128, concurrency: 1, arn: 'arn:aws:lambda:us-east-1:000000000000:function:probe' }, (_fn, line, stream) => {
      lines.push(line);
      streams.add(stream);
    });
    hosts.push(host);
    host.prewarm();
    host.configure({ APP_ENV: 'local', PATH: process.env.PATH ?? '' });
    await host.start();

    const first = (await host.invoke({})) as { stage: string; home: string | null; remaining: number; name: string };
    // Exactly the given environment: nothing of the parent's (HOME) leaks in.
    expect(first).toMatchObject({ stage: 'local', home: null, name: 'Probe' });
    expect(first.remaining).toBeGreaterThan(500);
    expect(first.remaining).toBeLessThanOrEqual(1000);

    // The template's 1 s ends it: not earlier (a lower bound, which load cannot break: a timer never
    // fires early), and not at some longer default (that would run into this test's own timeout).
    const hangStarted = performance.now();
    await expect(host.invoke({ hang: true })).rejects.toMatchObject({ name: 'Sandbox.Timedout', message: 'Task timed out after 1.00 seconds' });
    expect(performance.now() - hangStarted).toBeGreaterThanOrEqual(990);
    // A fresh container answers the next invocation.
    expect(await host.invoke({})).toMatchObject({ stage: 'local' });
    await expect(host.invoke({ fail: true })).rejects.toMatchObject({ name: 'TypeError', message: 'boom' });
    expect(host.errors).toBe(2);

    // The lines Lambda writes around each invocation, and the crash lines, in the container's own stream.
    // They arrive from the worker threads after the answers: wait for all four (no fixed sleep).
    const reports = () => lines.filter((line) => /^REPORT RequestId: [0-9a-f-]{36}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB/.test(line));
    await vi.waitFor(() => expect(reports()).toHaveLength(4), { timeout: 10_000, interval: 20 });
    expect(lines.filter((line) => /^START RequestId: [0-9a-f-]{36} Version: \$LATEST$/.test(line))).toHaveLength(4);
    // The timed-out invocation's REPORT bills its whole timeout, as Lambda's does.
    expect(reports().filter((line) => line.includes('Status: timeout'))).toEqual([expect.stringMatching(/\tDuration: 1000(\.0+)? ms\tBilled Duration: 1000 ms/)]);
    expect(lines).toContainEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z [0-9a-f-]{36} Task timed out after 1.00 seconds$/));
    expect(lines).toContainEqual(expect.stringMatching(/\tERROR\tInvoke Error \t\{"errorType":"TypeError","errorMessage":"boom"/));
    expect([...streams].every((stream) => /^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/.test(stream))).toBe(true);
    // The timed-out container was replaced: a second stream.
    expect(streams.size).toBe(2);
  });

  it('starts no container until the first invocation, and stops one idle past idleMs (the next starts cold)', { timeout: 30_000 }, async () => {
    const dir = await tempDir();
    const module = join(dir, 'handler.mjs');
    writeFileSync(module, 'export const handler = async () => ({ ok: true });\n');
    const streams: string[] = [];
    const host = new FunctionHost({ name: 'Lazy', modulePath: module, timeoutSeconds: 5, memoryMb: 128, concurrency: 1, arn: 'arn:aws:lambda:us-east-1:000000000000:function:lazy', idleMs: 300 }, (_fn, line, stream) => {
      if (line.startsWith('START')) streams.push(stream);
    });
    hosts.push(host);
    host.configure({ PATH: process.env.PATH ?? '' });
    expect(await host.invoke({})).toEqual({ ok: true });
    expect(await host.invoke({})).toEqual({ ok: true });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await host.invoke({})).toEqual({ ok: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Two back-to-back invocations share a container; after the idle time the next one is in a new one.
    expect(streams).toHaveLength(3);
    expect(streams[0]).toBe(streams[1]);
    expect(streams[2]).not.toBe(streams[1]);
  });
});
