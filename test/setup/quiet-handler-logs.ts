// Keeps the test run's output readable: the Lambda code's Powertools loggers write one JSON line per
// event straight to process.stdout/stderr, hundreds per run. Those lines are dropped here, in every
// test worker, unless WATCHPOINT_TEST_LOGS=1. A test that needs them captures them
// (test/pipeline/logs.ts captureLogs(), whose spy replaces these writers and restores them after).
const POWERTOOLS_LINE = /^\{"level":"(DEBUG|INFO|WARN|ERROR|CRITICAL)","message":/;

function quiet(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : '';
    if (text !== '' && text.split('\n').every((line) => line === '' || POWERTOOLS_LINE.test(line))) {
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

if (process.env.WATCHPOINT_TEST_LOGS !== '1') {
  quiet(process.stdout);
  quiet(process.stderr);
}
