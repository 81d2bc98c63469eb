// When nobody is asked, the error says why in words true for the run: --yes on a terminal turns
// questions off, which is not "there is no terminal".
import { describe, expect, it } from 'vitest';
import { CI_SET, NonInteractiveIo, YES_FLAG } from '../../src/cli/io.ts';
import { run } from '../../src/cli/run.ts';
import { tempDir } from '../helpers/cli.ts';

const quiet = { stdout: { write: () => true }, stderr: { write: () => true } };
const secret = { kind: 'secret', field: 'the value of x', message: 'x', noTerminalFix: 'Pass --stdin.' } as const;
const input = { kind: 'input', field: 'name (--name)', message: 'name' } as const;
const confirm = { kind: 'confirm', message: 'Purge?', default: false, dangerous: true } as const;

async function failure(io: NonInteractiveIo, question: typeof secret | typeof input | typeof confirm) {
  return io.ask(question).then(() => undefined, (e: unknown) => e as { code: string; message: string; fix: string });
}

describe('NonInteractiveIo', () => {
  it('with --yes (on a terminal): "--yes turns questions off", never "no terminal"', async () => {
    const io = new NonInteractiveIo(quiet, true, YES_FLAG);
    for (const question of [secret, input]) {
      const error = await failure(io, question);
      expect(error).toMatchObject({ code: 'MISSING_INPUT' });
      expect(error!.message).toContain('--yes turns questions off');
      expect(`${error!.message} ${error!.fix}`).not.toMatch(/no terminal|in a terminal/);
      expect(error!.fix).toContain('run it without --yes to be asked');
    }
    expect((await failure(io, secret))!.fix).toBe('Pass --stdin; or run it without --yes to be asked.');
  });

  it('without a terminal: "there is no terminal to ask"; with CI set: says CI', async () => {
    const none = await failure(new NonInteractiveIo(quiet, false), confirm);
    expect(none).toMatchObject({ code: 'CONFIRMATION_REQUIRED', message: '"Purge?" needs confirmation, and there is no terminal to ask.', fix: 'Re-run with --yes to confirm, or run it in a terminal.' });
    const ci = await failure(new NonInteractiveIo(quiet, false, CI_SET), input);
    expect(ci!.message).toBe('name (--name) is required, and CI is set, which turns questions off.');
  });
});

describe('run', () => {
  it('a prod deploy without --yes and without a terminal says "no terminal"', async () => {
    const cwd = await tempDir();
    let stderr = '';
    const streams = { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) } };
    await run(['init', '--env', 'prod', '--region', 'eu-west-1', '--alert-email', 'a@b.co', '--runpod-endpoint-id', 'abc123xyz'], { cwd, streams, tty: false, env: {} });
    stderr = '';
    const code = await run(['deploy', '--env', 'prod'], { cwd, streams, tty: false, env: {} });
    expect(code).toBe(2);
    expect(stderr).toContain('and there is no terminal to ask.');
    expect(stderr).toContain('or run it in a terminal.');
  });
});
