/**
 * Placeholder handler for a Lambda whose real implementation lands in a later issue.
 * It fails loudly when invoked, so a deployed-but-unfinished function can never look healthy.
 */
export type NotImplementedHandler = (event: unknown) => Promise<never>;

const ISSUE_BY_HANDLER: Readonly<Record<string, number>> = {
  api: 10,
  'data-poller': 10,
  archiver: 10,
  batcher: 8,
  'eval-worker': 8,
  'email-worker': 9,
  'webhook-worker': 9,
};

export function notImplemented(name: string): NotImplementedHandler {
  const issue = ISSUE_BY_HANDLER[name];
  const where = issue === undefined ? 'see the issue tracker' : `see issue ${issue}`;
  return async () => {
    throw new Error(`${name} handler is not implemented yet (${where})`);
  };
}
