import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingIo } from '../../src/cli/io.ts';
import { run } from '../../src/cli/run.ts';

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'watchpoint-test-'));
}

export const VALID_DEV = { region: 'eu-west-1', alertEmail: 'oncall@example.com', runPodEndpointId: 'abc123xyz' };

export async function writeConfig(dir: string, environments: Record<string, unknown>): Promise<string> {
  const path = join(dir, 'watchpoint.config.json');
  await writeFile(path, JSON.stringify({ environments }, null, 2));
  return path;
}

export async function readConfig(dir: string): Promise<{ environments: Record<string, Record<string, unknown>> }> {
  return JSON.parse(await readFile(join(dir, 'watchpoint.config.json'), 'utf8'));
}

/** Runs the CLI core in-process with a recording Io, as a script or a person would. */
export async function runCli(
  argv: string[],
  options: { cwd: string; answers?: (string | boolean | Error)[]; interactive?: boolean; env?: NodeJS.ProcessEnv },
): Promise<{ code: number; io: RecordingIo; stderr: string; stdout: string }> {
  // Interactive runs get scripted answers; non-interactive ones get the real NonInteractiveIo.
  const interactive = options.interactive ?? false;
  const io = new RecordingIo(options.answers ?? [], interactive);
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, {
    ...(interactive ? { io } : { tty: false }),
    cwd: options.cwd,
    env: options.env ?? {},
    streams: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
  });
  return { code, io, stdout: out.join('') + io.stdout, stderr: err.join('') + io.stderr };
}
