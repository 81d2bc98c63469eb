// One "container" of a function: a worker thread with its own module instances (so its own SDK
// clients and pg pool, as in Lambda) and its own process.env (the template's variables for this
// function). It imports the same handler module Lambda runs and invokes it with a Lambda context.
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
// Before the handler module (and its SDK clients) load.
installNetworkGuard(data.dnsLog);
const port = parentPort!;
const mod = (await import(data.modulePath)) as { handler: (event: unknown, context: Context) => Promise<unknown> };

port.on('message', (message: Invoke) => {
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
});
port.postMessage({ ready: true });
