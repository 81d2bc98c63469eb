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
];

export function stageOptions(command: Command): Command {
  command
    .option('-e, --env <name>', 'environment name (default: $WATCHPOINT_ENV or "dev")')
    .option('-c, --config <path>', 'config file (default: ./watchpoint.config.json)');
  for (const [, flags, description] of STAGE_FLAGS) command.addOption(new Option(flags, description));
  return command;
}
