import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';
import { FUNCTIONS } from '../invoke/catalogue.ts';

/** What commander hands over: each flag declared once, below. */
export interface InvokeFlags extends CommonOptions {
  event?: string;
  sample?: string;
  json?: boolean;
}

export const defineInvoke: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('invoke')
      .argument('<function>', `the function: ${FUNCTIONS.map((fn) => fn.name).join(', ')}`)
      .description("Call one function with an event: Lambda Invoke on its alias (or, with --env local, its container in the running `watchpoint dev`), showing the result, the function error and the log tail.")
      .option('--event <file>', "the event as a JSON file, or '-' to read it from stdin")
      .option('--sample <name>', 'a built-in event for the function\'s trigger (see below)')
      .option('--json', 'print one JSON document (target, status, function error, payload, log tail) on stdout')
      .addHelpText(
        'after',
        `
Samples (--sample): api: health, list-watchpoints (API Gateway v2 requests); batcher: success (the S3
_SUCCESS event); data-poller: schedule; archiver: archive, digest_trigger, billing_sync, cleanup (each
rule's input); eval-worker-urgent, eval-worker-standard, email-worker, webhook-worker: batch (an SQS
batch from the function's queue, with bodies that pass the worker's schema).

Every event is checked against the trigger's shape before the call; a problem names the field.
In a production environment, the eval workers, the email worker and the webhook worker ask first:
type the environment name, or pass --yes without a terminal.

Exit codes: 0 the function returned; 1 it failed (function error) or the call failed; 2 bad usage,
bad event, or the function is not deployed.

Examples:
  watchpoint invoke api --sample health --env dev
  watchpoint invoke email-worker --sample batch --env local
  watchpoint invoke batcher --event ./success.json --env dev --json | jq .payload
  cat event.json | watchpoint invoke archiver --event - --env dev`,
      ),
  ).action(async (name: string, flags: InvokeFlags) => {
    const { parseInvokeOptions, runInvoke } = await import('./invoke.ts');
    definer.exit(await runInvoke(parseInvokeOptions(name, flags, definer.context(flags))));
  });
};
