import { Option, type Command } from 'commander';
import type { DefineCommand, Definer } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands every `secrets` subcommand: each flag declared once, below; parseSecretsOptions (secrets.ts) validates them. */
export type SecretsFlags = CommonOptions & {
  yes?: boolean;
  json?: boolean;
  reveal?: boolean;
  stdin?: boolean;
  value?: string;
  generate?: boolean;
  kmsKeyId?: string;
  overwrite?: boolean;
  force?: boolean;
  dryRun?: boolean;
  toVersion?: string;
  file?: string;
};

export type SecretsAction = 'list' | 'get' | 'set' | 'history' | 'rollback' | 'check' | 'import';

function action(definer: Definer, name: SecretsAction) {
  return async (...args: unknown[]) => {
    // commander passes (<name>?, options, command)
    const command = args[args.length - 1] as Command;
    const flags = command.opts() as SecretsFlags;
    const secretName = typeof args[0] === 'string' ? args[0] : undefined;
    const { parseSecretsOptions, runSecrets } = await import('./secrets.ts');
    definer.exit(await runSecrets(parseSecretsOptions(name, secretName, flags, definer.context(flags))));
  };
}

const writeOptions = (command: Command) =>
  command
    .option('--kms-key-id <id>', 'KMS key for the SecureString: key ID, alias/NAME or key ARN (default: the account\'s aws/ssm key, or the key the parameter already uses)')
    .option('--force', 'accept a Stripe live key outside prod, or a test key in prod')
    .option('--dry-run', 'print the SSM calls it would make (without values) and write nothing')
    .addOption(new Option('-y, --yes', 'confirm without asking'));

export const defineSecrets: DefineCommand = (program, definer) => {
  const secrets = program
    .command('secrets')
    .description('Set, check, list and roll back the platform\'s SSM secrets (/<env>/watchpoint/...).')
    .addHelpText('after', `
Values are never printed unless you pass --reveal (stdout only). Names: database/url,
billing/stripe_secret_key, billing/stripe_webhook_secret, billing/stripe_publishable_key,
forecast/runpod_api_key, auth/session_key, security/admin_api_key, auth/google_secret, auth/github_secret,
and, written only by \`watchpoint runpod rotate-keys\`: forecast/runpod_aws_access_key_id,
forecast/runpod_aws_secret_access_key.

Examples:
  watchpoint secrets list --env prod
  watchpoint secrets set auth/session_key --generate --env prod
  pbpaste | watchpoint secrets set billing/stripe_secret_key --stdin --env prod --overwrite
  watchpoint secrets check --env prod --json`);

  stageOptions(secrets.command('list').description('Every catalogue secret: set or missing, version, last modified and by whom (no values).'))
    .option('--json', 'print the result as JSON on stdout')
    .action(action(definer, 'list'));

  stageOptions(secrets.command('check').description('Read and validate every secret; exit 1 naming each missing or invalid one (no values).'))
    .option('--json', 'print the report as JSON on stdout')
    .option('--force', 'report a Stripe live/test mode mismatch as a warning instead of a failure')
    .action(action(definer, 'check'));

  stageOptions(secrets.command('get').argument('<name>', 'catalogue name, e.g. billing/stripe_secret_key').description('Show a secret masked (length and fingerprint), or its value with --reveal.'))
    .option('--reveal', 'print the value itself, on stdout only')
    .action(action(definer, 'get'));

  stageOptions(
    writeOptions(
      secrets
        .command('set')
        .argument('<name>', 'catalogue name, e.g. auth/session_key')
        .description('Write a secret: typed at a hidden prompt, piped with --stdin, or made with --generate.')
        .option('--stdin', 'read the value from stdin (one trailing newline is removed)')
        .option('--generate', 'generate a random value (auth/session_key, security/admin_api_key)')
        .option('--value <value>', 'the value itself (it lands in your shell history; prefer --stdin)')
        .option('--overwrite', 'replace an existing value without asking (needed without a terminal)'),
    ),
  ).action(action(definer, 'set'));

  stageOptions(secrets.command('history').argument('<name>', 'catalogue name').description('Every stored version of a secret: when, by whom, which key (values only with --reveal).'))
    .option('--reveal', 'include each version\'s value, on stdout only')
    .option('--json', 'print the result as JSON on stdout')
    .action(action(definer, 'history'));

  stageOptions(
    writeOptions(
      secrets
        .command('rollback')
        .argument('<name>', 'catalogue name')
        .description('Write the value of an older version as a new version (nothing is deleted).')
        .requiredOption('--to-version <n>', 'the version whose value to restore (see `secrets history`)'),
    ),
  ).action(action(definer, 'rollback'));

  stageOptions(
    writeOptions(
      secrets
        .command('import')
        .description('Write secrets from a dotenv or JSON file; every entry is validated before anything is written.')
        .requiredOption('--file <path>', '.env (NAME=value) or .json ({"name": "value"}) file of catalogue names')
        .option('--overwrite', 'replace existing values without asking (needed without a terminal)'),
    ),
  ).action(action(definer, 'import'));
};
