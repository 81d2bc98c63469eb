import { Option, type Command } from 'commander';
import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands each subcommand: each flag declared once, below. */
export interface ApiKeysFlags extends CommonOptions {
  recipient?: string;
  key?: string;
  json?: boolean;
}

export type ApiKeysAction = 'list' | 'revoke' | 'pause' | 'resume';

export const defineApiKeys: DefineCommand = (program, definer) => {
  const apiKeys: Command = program
    .command('api-keys')
    .description("Find API keys and pause or resume their watchpoints in an incident, through the platform's admin API (never SQL).")
    .addHelpText('after', `
Every call goes to the deployed API (its ApiEndpoint output; --env local: the running watchpoint dev)
with the admin key from SSM (/<env>/watchpoint/security/admin_api_key); the key is never printed.
A paused watchpoint sends nothing from the next eval job on (NotificationSuppressed in the eval
worker's log); revoking a key pauses all its watchpoints; resume lifts either.

Exit codes: 0 done; 1 the API or AWS failed; 2 bad flags, or the key is unknown.

Examples:
  watchpoint api-keys list --env prod
  watchpoint api-keys list --env prod --recipient victim@example.com --json
  watchpoint api-keys pause --env prod --recipient victim@example.com
  watchpoint api-keys pause --env prod --key 1b4e28ba-2fa1-11d2-883f-0016d3cca427
  watchpoint api-keys revoke 1b4e28ba-2fa1-11d2-883f-0016d3cca427 --env prod --yes
  watchpoint api-keys resume --env prod --key 1b4e28ba-2fa1-11d2-883f-0016d3cca427`);

  const run = (action: ApiKeysAction) => async (...args: unknown[]) => {
    // commander passes the positional argument (revoke's KEY_ID) first when there is one.
    const flags = args.find((arg): arg is ApiKeysFlags => typeof arg === 'object' && arg !== null && !Array.isArray(arg) && !('commands' in arg)) ?? {};
    const keyId = typeof args[0] === 'string' ? args[0] : undefined;
    const { parseApiKeysOptions, runApiKeys } = await import('./api-keys.ts');
    definer.exit(await runApiKeys(parseApiKeysOptions(action, { ...flags, ...(keyId !== undefined ? { key: keyId } : {}) }, definer.context(flags))));
  };

  stageOptions(
    apiKeys
      .command('list')
      .description('Every API key (newest first): prefix, name, watchpoints, paused, recipients, quotas, revoked or not. Never a key itself.')
      .option('--recipient <email>', 'only the keys whose watchpoints email this address, counting those watchpoints')
      .option('--json', 'print the result as JSON on stdout and nothing else'),
  ).action(run('list'));

  stageOptions(
    apiKeys
      .command('revoke')
      .argument('<key-id>', 'the API key\'s id (from `api-keys list`)')
      .description('Revoke an API key (it can never authenticate again) and pause all its watchpoints. Asks first.')
      .addOption(new Option('-y, --yes', 'confirm without asking (required without a terminal)'))
      .option('--json', 'print the result as JSON on stdout and nothing else'),
  ).action(run('revoke'));

  for (const action of ['pause', 'resume'] as const) {
    stageOptions(
      apiKeys
        .command(action)
        .description(action === 'pause'
          ? "Pause the watchpoints of one key (--key) or every watchpoint that emails one address (--recipient), whoever's key."
          : 'Resume the watchpoints of one key (--key) or of one email address (--recipient), whatever paused them (a revocation too).')
        .option('--key <key-id>', 'the API key\'s id (from `api-keys list`)')
        .option('--recipient <email>', 'an email address the watchpoints send to')
        .option('--json', 'print the result as JSON on stdout and nothing else'),
    ).action(run(action));
  }
};
