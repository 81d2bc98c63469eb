// The one sleep of WatchPoint (CLI, local platform, Lambda helpers): waits `ms`, or less when the
// signal aborts. It lives outside src/cli so that src/dev and src/lambdas can use it too.
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
