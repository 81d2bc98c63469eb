// The running `watchpoint dev` of a directory: `.watchpoint/dev.json`, created exclusively at start
// (the lock: a second `watchpoint dev` in the same directory is refused), filled with the URLs once
// ready, removed at stop. Operator commands with `--env local` read it to find the platform.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WatchpointError } from '../errors.ts';

export const STATE_FILE = join('.watchpoint', 'dev.json');

export interface DevState {
  pid: number;
  cwd: string;
  startedAt: string;
  region: string;
  endpoint: string;
  api: string;
  mail: string;
  webhooks: string;
  runpod: string;
  stacks: string[];
  /** The only credentials the local endpoint accepts (this file is mode 0600). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export class DevAlreadyRunningError extends WatchpointError {
  readonly state: DevState;
  constructor(state: DevState, path: string) {
    super(`watchpoint dev is already running in ${state.cwd} (pid ${state.pid}, API ${state.api}).`, {
      code: 'DEV_ALREADY_RUNNING',
      fault: 'user',
      fix: `Use that one, or stop it (Ctrl-C in its terminal, or kill ${state.pid}); ${path} is removed when it stops.`,
    });
    this.name = 'DevAlreadyRunningError';
    this.state = state;
  }
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running platform's state for this directory, or undefined (a stale file from a crash is ignored). */
export function readDevState(cwd: string): DevState | undefined {
  const path = join(cwd, STATE_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as DevState;
    return processAlive(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the directory's lock: the state file, created exclusively; a stale one is replaced. */
export function lock(cwd: string, state: Partial<DevState>): () => void {
  const path = join(cwd, STATE_FILE);
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(path, JSON.stringify(state), { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if ((JSON.parse(readFileSync(path, 'utf8')) as DevState).pid === process.pid) rmSync(path, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const running = readDevState(cwd);
      if (running && running.pid !== process.pid) throw new DevAlreadyRunningError(running, path);
      rmSync(path, { force: true });
    }
  }
  throw new Error(`Could not take ${path}.`);
}

