// One "container" of a function: a worker thread with its own module instances (so its own SDK
// clients and pg pool, as in Lambda) and its own process.env (the template's variables for this
// function). It imports the same handler module Lambda runs and invokes it with a Lambda context.
//
// The module is imported as soon as the thread starts, while the platform's servers are still
// starting; the variables arrive in an `init` message and are in place before the first
// invocation. That is safe because neither the handlers nor their dependencies read the
// environment at import time (src/lambdas reads it in functions only), and it takes the slowest
// part of a start off the critical path.
import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { Context } from 'aws-lambda';
import { installNetworkGuard } from './network-guard.ts';

interface Data {
  modulePath: string;
  dnsLog?: string;
  functionName: string;
  functionArn: string;
  memoryMb: number;
  logStreamName: string;
  logGroupName: string;
}

interface Invoke {
  id: number;
  /** Lambda's request id, in the START/END/REPORT lines and the context. */
  requestId?: string;
  event: unknown;
  /** Epoch ms when the function's timeout ends. */
  deadline: number;
}

const data = workerData as Data;
const port = parentPort!;
// Before the handler module (and its SDK clients) load.
installNetworkGuard(data.dnsLog, data.functionName);

let ready = false;
const queued: { environment: Record<string, string> }[] = [];
port.on('message', (message: { init?: Record<string, string> } & Partial<Invoke>) => {
  if (message.init) {
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, message.init);
    if (loaded) port.postMessage({ ready: true });
    else queued.push({ environment: message.init });
    ready = true;
    return;
  }
  if (ready) invoke(message as Invoke);
});

let loaded = false;
const mod = (await import(data.modulePath)) as { handler: (event: unknown, context: Context) => Promise<unknown> };
loaded = true;
if (queued.length > 0) port.postMessage({ ready: true });

let initDuration: number | undefined = performance.now();

/** A runtime line in the container's log stream, in order with the handler's own stdout lines. */
function runtimeLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

function invoke(message: Invoke): void {
  const requestId = message.requestId ?? randomUUID();
  runtimeLine(`START RequestId: ${requestId} Version: $LATEST`);
  const started = performance.now();
  const end = () => {
    const ms = performance.now() - started;
    const init = initDuration === undefined ? '' : `\tInit Duration: ${initDuration.toFixed(2)} ms`;
    initDuration = undefined;
    runtimeLine(`END RequestId: ${requestId}`);
    runtimeLine(`REPORT RequestId: ${requestId}\tDuration: ${ms.toFixed(2)} ms\tBilled Duration: ${Math.ceil(ms)} ms\tMemory Size: ${data.memoryMb} MB\tMax Memory Used: ${Math.round(process.memoryUsage().heapUsed / 1048576)} MB${init}`);
  };
  const context: Context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: data.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: data.functionArn,
    memoryLimitInMB: String(data.memoryMb),
    awsRequestId: requestId,
    logGroupName: data.logGroupName,
    logStreamName: data.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  mod.handler(message.event, context).then(
    (result) => {
      end();
      port.postMessage({ id: message.id, ok: true, result });
    },
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      // The Node.js runtime's line for a handler that threw (text log format).
      runtimeLine(`${new Date().toISOString()}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify({ errorType: e.name, errorMessage: e.message, stack: (e.stack ?? '').split('\n') })}`);
      end();
      port.postMessage({ id: message.id, ok: false, error: { name: e.name, message: e.message } });
    },
  );
}
