// The flags every environment-aware command shares, and how they become stage overrides.
import { Option, type Command } from 'commander';
import type { StageKey } from '../config/schema.ts';

export interface CommonOptions {
  env?: string;
  config?: string;
  yes?: boolean;
  [flag: string]: unknown;
}

/** Stage flags with their help text, keyed by the stage key they override. */
const STAGE_FLAGS: readonly [StageKey, string, string][] = [
  ['region', '--region <region>', 'AWS region, e.g. eu-west-1'],
  ['account', '--account <id>', 'AWS account ID (12 digits); deploy refuses other accounts'],
  ['alertEmail', '--alert-email <email>', 'address that receives alarm emails'],
  ['runPodEndpointId', '--runpod-endpoint-id <id>', 'ID of the RunPod serverless endpoint'],
  ['domainName', '--domain-name <host>', 'custom API domain, e.g. api.watchpoint.io ("" for none)'],
  ['certificateArn', '--certificate-arn <arn>', 'ACM certificate for the custom domain, in the same region'],
  ['corsAllowedOrigins', '--cors-allowed-origins <list>', 'comma-separated origins allowed by CORS, or "*"'],
  ['googleClientId', '--google-client-id <id>', 'Google OAuth client ID ("" to disable)'],
  ['githubClientId', '--github-client-id <id>', 'GitHub OAuth client ID ("" to disable)'],
  ['awsEndpointUrl', '--aws-endpoint-url <url>', 'SDK endpoint override for LocalStack ("" for real AWS)'],
  ['apiThrottleRate', '--api-throttle-rate <n>', 'HTTP API stage throttling: requests per second (default 50)'],
  ['apiThrottleBurst', '--api-throttle-burst <n>', 'HTTP API stage throttling: burst (default 100)'],
  ['quotaWatchpointsPerKey', '--quota-watchpoints-per-key <n>', 'watchpoints one API key may own (default 100)'],
  ['quotaChannelsPerWatchpoint', '--quota-channels-per-watchpoint <n>', 'channels per watchpoint, 1-10 (default 5)'],
  ['quotaRecipientsPerKey', '--quota-recipients-per-key <n>', 'distinct email recipients per API key (default 20)'],
  ['deployment', '--deployment <style>', 'how new function code takes traffic: all-at-once, canary or linear (default: canary for prod, else all-at-once)'],
];

/** How each stage flag is declared ("--region <region>"): the ones a command with --env accepts, declared or not yet. */
export function stageFlagDeclarations(): string[] {
  return STAGE_FLAGS.map(([, flags]) => flags);
}

/** Flags that matter to every AWS-facing command, so their help always lists them. */
const ALWAYS_LISTED: ReadonlySet<StageKey> = new Set(['region', 'awsEndpointUrl']);

/**
 * --env, --config and one flag per stage key. `init` and `synth` list every stage flag; other
 * commands accept them all (a flag overrides its key for that run) but list only the ones that
 * change what they do, so their help stays readable.
 *
 * The stage flags are declared when the command is about to parse its flags or print its help:
 * declaring all of them on every command (over 500 options) was a third of `watchpoint --help`,
 * which lists the commands and none of their options.
 */
export function stageOptions(command: Command, options: { listAll?: boolean } = {}): Command {
  command
    .option('-e, --env <name>', 'environment name (default: $WATCHPOINT_ENV or "dev")')
    .option('-c, --config <path>', 'config file (default: ./watchpoint.config.json)');
  let declared = false;
  const declare = () => {
    if (declared) return;
    declared = true;
    const list = command.options as Option[];
    const before = list.length;
    for (const [key, flags, description] of STAGE_FLAGS) {
      command.addOption(new Option(flags, description).hideHelp(!options.listAll && !ALWAYS_LISTED.has(key)));
    }
    // Where they were always listed: right after --config, before any option the define file added later.
    const at = list.findIndex((option) => option.long === '--config') + 1;
    list.splice(at, 0, ...list.splice(before));
  };
  // Parsing reaches a command through its parent (preSubcommand); `watchpoint help <command>` prints its help directly.
  command.parent?.hook('preSubcommand', (_parent, subcommand) => {
    if (subcommand === command) declare();
  });
  command.on('beforeHelp', declare);
  if (!options.listAll) {
    command.addHelpText('after', '\nAny other stage setting can be overridden for one run with its flag (see `watchpoint init --help`).');
  }
  return command;
}
