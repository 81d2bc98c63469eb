// The zip-packaged Lambda handlers, by their directory under src/lambdas. Kept free of aws-cdk-lib so
// the bundler (and `watchpoint dev`) can import it cheaply.
export const ZIP_HANDLERS = ['api', 'batcher', 'data-poller', 'archiver', 'email-worker', 'webhook-worker'] as const;

export type ZipHandler = (typeof ZIP_HANDLERS)[number];

/** Entry module of a handler, relative to the project root. */
export function handlerEntry(handler: ZipHandler): string {
  return `src/lambdas/${handler}/index.ts`;
}
