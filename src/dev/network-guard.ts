// Local mode must never reach AWS (or RunPod): every thread of `watchpoint dev` (the main one and
// each function's worker) installs this guard before anything else loads. A lookup of an AWS or
// RunPod host name fails at once with an error naming the host, so a client that missed the local
// endpoint shows up as a clear failure instead of a call to a real account. Loopback addresses are
// used as IP literals and resolve nothing. With WATCHPOINT_DEV_DNS_LOG set (tests), every name
// looked up is appended to that file, after a `# guard <thread>` line saying the guard is on in that
// thread: a test reading only host names would pass with no guard at all (nothing gets logged).
import dns from 'node:dns';
import { appendFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const REFUSED = [/(^|\.)amazonaws\.com(\.cn)?$/i, /(^|\.)aws\.amazon\.com$/i, /(^|\.)api\.aws$/i, /(^|\.)runpod\.(ai|io)$/i];

export function refusedHost(hostname: string): boolean {
  return REFUSED.some((pattern) => pattern.test(hostname.replace(/\.$/, '')));
}

function refusal(hostname: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`watchpoint dev refused to resolve ${hostname}: local mode never reaches AWS or RunPod (a client is missing the local endpoint).`);
  error.code = 'ENOTFOUND';
  return error;
}

let installed = false;

export function installNetworkGuard(logFile = process.env.WATCHPOINT_DEV_DNS_LOG, thread = 'main'): void {
  if (installed) return;
  installed = true;
  const record = (hostname: string) => {
    if (logFile) appendFileSync(logFile, `${hostname}\n`);
  };
  record(`# guard ${thread}`);
  const lookup = dns.lookup;
  const guardedLookup = function (this: unknown, hostname: string, ...rest: unknown[]) {
    record(hostname);
    if (refusedHost(hostname)) {
      const callback = rest.find((arg) => typeof arg === 'function') as ((error: Error) => void) | undefined;
      process.nextTick(() => callback?.(refusal(hostname)));
      return {};
    }
    return (lookup as (...args: unknown[]) => unknown).call(this, hostname, ...rest);
  } as typeof dns.lookup;
  dns.lookup = guardedLookup;
  const promisesLookup = dns.promises.lookup;
  dns.promises.lookup = (async (hostname: string, options?: unknown) => {
    record(hostname);
    if (refusedHost(hostname)) throw refusal(hostname);
    return (promisesLookup as (h: string, o?: unknown) => Promise<unknown>)(hostname, options);
  }) as typeof dns.promises.lookup;
  // ESM named imports of node:dns (e.g. `import { lookup } from 'node:dns/promises'`) see the guard too.
  syncBuiltinESMExports();
}
