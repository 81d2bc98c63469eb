// `watchpoint dev --watch` (issue 23 item 3), by editing files in a temp project laid out as this one
// (src/lambdas/<dir>/index.ts, a shared module): only the function whose bundle changed gets a fresh
// container, an invocation in flight finishes on the old code, and a syntax error is printed with its
// file and line while the previous code keeps serving.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FunctionHost } from '../../src/dev/function-host.ts';
import { startHandlerWatch, type HandlerWatch, type ReloadEvent } from '../../src/dev/watch.ts';

const root = mkdtempSync(join(tmpdir(), 'watchpoint-watch-test-'));
const hosts: FunctionHost[] = [];
let handlerWatch: HandlerWatch | undefined;
afterAll(async () => {
  await handlerWatch?.close();
  for (const host of hosts) await host.stop();
  rmSync(root, { recursive: true, force: true });
});

function write(path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

function saveByRename(path: string, text: string): void {
  writeFileSync(join(root, `${path}.swp`), text);
  renameSync(join(root, `${path}.swp`), join(root, path));
}

function host(name: string, dir: string): FunctionHost {
  const made = new FunctionHost({ name, modulePath: join(root, 'src', 'lambdas', dir, 'index.ts'), timeoutSeconds: 10, memoryMb: 128, concurrency: 1, arn: `arn:aws:lambda:us-east-1:000000000000:function:${name}` }, () => undefined);
  made.configure({ PATH: process.env.PATH ?? '' });
  hosts.push(made);
  return made;
}

describe('dev --watch', () => {
  it('reloads only the changed function, lets in-flight work finish on the old code, and keeps serving through a syntax error', { timeout: 60_000 }, async () => {
    write('src/lambdas/shared/greeting.ts', "export const greeting = 'hello';\n");
    write('src/lambdas/alpha/index.ts', "import { greeting } from '../shared/greeting.ts';\nexport const handler = async (event: { waitMs?: number }) => {\n  if (event.waitMs) await new Promise((resolve) => setTimeout(resolve, event.waitMs));\n  return { greeting };\n};\n");
    write('src/lambdas/beta/index.ts', "export const handler = async () => ({ beta: 1 });\n");
    const alpha = host('AlphaFunction', 'alpha');
    const beta = host('BetaFunction', 'beta');
    await Promise.all([alpha.start(), beta.start()]);

    const events: ReloadEvent[] = [];
    const logs: string[] = [];
    let wake: (() => void) | undefined;
    const nextEvent = () => new Promise<ReloadEvent>((resolve) => (wake = () => resolve(events.at(-1)!)));
    handlerWatch = startHandlerWatch({
      root,
      functions: [{ host: alpha, handlerDir: 'alpha' }, { host: beta, handlerDir: 'beta' }],
      log: (line) => logs.push(line),
      onReload: (event) => {
        events.push(event);
        wake?.();
      },
    });
    await handlerWatch.ready;
    expect(await alpha.invoke({})).toEqual({ greeting: 'hello' });

    // An invocation in flight while the shared module changes.
    const inFlight = alpha.invoke({ waitMs: 1500 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    let reloaded = nextEvent();
    write('src/lambdas/shared/greeting.ts', "export const greeting = 'bonjour';\n");
    const first = await reloaded;
    expect(first).toMatchObject({ changed: ['alpha'], reloaded: ['AlphaFunction'], errors: [] });
    expect(first.files).toContain('src/lambdas/shared/greeting.ts');
    expect(await alpha.invoke({})).toEqual({ greeting: 'bonjour' });
    expect(await inFlight).toEqual({ greeting: 'hello' });
    expect(beta.invocations).toBe(0);

    // A syntax error: printed with its file and line; the last good code keeps serving.
    reloaded = nextEvent();
    write('src/lambdas/alpha/index.ts', "import { greeting } from '../shared/greeting.ts';\nexport const handler = async () => {\n  return { greeting ;\n};\n");
    const broken = await reloaded;
    expect(broken.reloaded).toEqual([]);
    expect(broken.errors.join('\n')).toMatch(/src\/lambdas\/alpha\/index\.ts:3:/);
    expect(logs.at(-1)).toMatch(/keep running the previous code/);
    expect(await alpha.invoke({})).toEqual({ greeting: 'bonjour' });

    // Fixed again, saved the way many editors (and git) save: a new file renamed over the old one.
    reloaded = nextEvent();
    saveByRename('src/lambdas/alpha/index.ts', "import { greeting } from '../shared/greeting.ts';\nexport const handler = async () => ({ greeting, fixed: true });\n");
    expect((await reloaded).reloaded).toEqual(['AlphaFunction']);
    expect(await alpha.invoke({})).toEqual({ greeting: 'bonjour', fixed: true });
    // And the next save of that same file is still seen (Node's recursive watch loses a renamed-over file).
    reloaded = nextEvent();
    write('src/lambdas/alpha/index.ts', "import { greeting } from '../shared/greeting.ts';\nexport const handler = async () => ({ greeting, fixed: 2 });\n");
    expect((await reloaded).reloaded).toEqual(['AlphaFunction']);
    expect(await alpha.invoke({})).toEqual({ greeting: 'bonjour', fixed: 2 });
    expect(events.flatMap((event) => event.reloaded)).not.toContain('BetaFunction');
  });
});
