// The zip-packaged Lambda handlers, by their directory under src/lambdas. Kept free of aws-cdk-lib so
// the bundler (and `watchpoint dev`) can import it cheaply.
export const ZIP_HANDLERS = ['api', 'batcher', 'data-poller', 'archiver', 'email-worker', 'webhook-worker'] as const;

export type ZipHandler = (typeof ZIP_HANDLERS)[number];

/** Entry module of a handler, relative to the project root. */
export function handlerEntry(handler: ZipHandler): string {
  return `src/lambdas/${handler}/index.ts`;
}

/**
 * Which handler (src/lambdas/<dir>/index.ts) each function runs, by construct id. The stack builds
 * the functions from it and `watchpoint dev` finds each template function's module through it
 * (from here, so that a warm `watchpoint dev` start does not load aws-cdk-lib).
 */
export const FUNCTION_HANDLERS = {
  ApiFunction: 'api',
  BatcherFunction: 'batcher',
  DataPollerFunction: 'data-poller',
  ArchiverFunction: 'archiver',
  EmailWorkerFunction: 'email-worker',
  WebhookWorkerFunction: 'webhook-worker',
  EvalWorkerUrgent: 'eval-worker',
  EvalWorkerStandard: 'eval-worker',
} as const satisfies Record<string, ZipHandler | 'eval-worker'>;
