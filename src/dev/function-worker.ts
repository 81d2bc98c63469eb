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
}

interface Invoke {
  id: number;
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

function invoke(message: Invoke): void {
  const context: Context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: data.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: data.functionArn,
    memoryLimitInMB: String(data.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${data.functionName}`,
    logStreamName: 'watchpoint-dev',
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  mod.handler(message.event, context).then(
    (result) => port.postMessage({ id: message.id, ok: true, result }),
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      port.postMessage({ id: message.id, ok: false, error: { name: e.name, message: e.message } });
    },
  );
}
