// What `--env local` (the platform `watchpoint dev` runs in this directory) supports, and the
// commands it refuses up front, before any call, each saying what to use instead. The local platform
// runs the synthesized template as is: there is no deployment to change, compare, drift from or tear
// down, no image registry and no IAM user.
import { userError, type WatchpointError } from './errors.ts';

/** Said in every refusal and in the README: the commands that work against `watchpoint dev`. */
export const LOCAL_SUPPORTED =
  'status, logs (--follow polls), trace, dlq inspect|export|redrive|purge, secrets list|get|set|history|check, db migrate, invoke, api-keys list|revoke|pause|resume';

const REFUSED: Record<string, { why: string; instead: string }> = {
  drift: {
    why: 'watchpoint dev runs the synthesized template as is, so nothing can drift from it',
    instead: 'check a deployed environment with `watchpoint drift --env <name>`; locally, `watchpoint status --env local` shows what runs',
  },
  deploy: {
    why: 'watchpoint dev runs the template from src/stack directly; there is nothing to deploy to',
    instead: 'restart `watchpoint dev` (Ctrl-C, then start it again: it re-synthesizes when src/stack changes); deploy a real environment with `watchpoint deploy --env <name>`',
  },
  diff: {
    why: 'watchpoint dev has no deployed template to compare with: it always runs the current one',
    instead: 'see the local template with `watchpoint synth`; compare with a deployed environment with `watchpoint diff --env <name>`',
  },
  destroy: {
    why: 'watchpoint dev keeps everything in memory and a temporary directory, removed when it stops',
    instead: 'stop it with Ctrl-C in its terminal (or `kill <pid>` from .watchpoint/dev.json)',
  },
  'image push': {
    why: 'watchpoint dev runs the eval worker from source, with no image and no registry',
    instead: 'build locally with `watchpoint image build`; push to a deployed environment with `watchpoint image push --env <name>`',
  },
  releases: {
    why: 'watchpoint dev is never deployed, so it has no release ledger: every start runs the current source',
    instead: 'list the releases of a deployed environment with `watchpoint releases --env <name>`',
  },
  'releases show': {
    why: 'watchpoint dev is never deployed, so it has no release ledger: every start runs the current source',
    instead: 'show a deployed release with `watchpoint releases show N --env <name>`',
  },
  rollback: {
    why: 'watchpoint dev runs the current source and has no recorded releases to go back to',
    instead: 'check out the older commit and restart `watchpoint dev`; roll back a deployed environment with `watchpoint rollback --env <name>`',
  },
  'runpod rotate-keys': {
    why: "watchpoint dev's RunPod stand-in has no IAM user: its key is generated at each start and seeded in SSM",
    instead: 'restart `watchpoint dev` for a new key; `watchpoint secrets get forecast/runpod_api_key --env local` shows the current one is set',
  },
};

/** The refusal for a command `--env local` does not provide (exit 2), or undefined. */
export function localRefusal(command: string | undefined): WatchpointError | undefined {
  const refused = command ? REFUSED[command] : undefined;
  if (!command || !refused) return undefined;
  return userError(
    'LOCAL_NOT_SUPPORTED',
    `\`watchpoint ${command}\` does not work with --env local: ${refused.why}. --env local supports ${LOCAL_SUPPORTED}.`,
    `${refused.instead.charAt(0).toUpperCase()}${refused.instead.slice(1)}.`,
  );
}
