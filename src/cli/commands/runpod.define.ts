import { Option } from 'commander';
import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands `runpod rotate-keys`: each flag declared once, below; parseRotateKeysOptions (runpod.ts) validates them. */
export interface RotateKeysFlags extends CommonOptions {
  stage?: string;
  status?: boolean;
  showSecret?: boolean;
  force?: boolean;
  timeout?: string;
  json?: boolean;
  dryRun?: boolean;
  /** Store the secret of the key SSM names (read from stdin or a hidden prompt, verified first). */
  storeSecret?: boolean;
  /** With storeSecret: read the secret from stdin (a pipe), not a prompt. */
  stdin?: boolean;
  yes?: boolean;
}

export const defineRunpod: DefineCommand = (program, definer) => {
  const runpod = program.command('runpod').description('Manage RunPod\'s access to the platform (its IAM user\'s keys).');
  stageOptions(
    runpod
      .command('rotate-keys')
      .description('Rotate the RunPod IAM user\'s access keys in stages (create, verify, deactivate, delete), resumable from IAM and SSM.')
      .option('--stage <stage>', 'run one stage: create, verify, deactivate, reactivate or delete')
      .option('--status', 'show the keys and the rotation stage, change nothing')
      .option('--json', 'with --status: print the status as JSON on stdout')
      .option('--show-secret', 'create: print the new key id and secret on stdout, once, to paste into RunPod')
      .option('--force', 'deactivate/delete without evidence that RunPod has switched (the risk is printed)')
      .option('--timeout <seconds>', 'verify: how long to wait for the new key to authenticate (default 60)')
      .option('--dry-run', 'print the AWS calls a stage would make, change nothing')
      .option('--store-secret', 'store the secret of the key SSM names (hidden prompt, or --stdin); checked with sts:GetCallerIdentity first')
      .option('--stdin', 'with --store-secret: read the secret from stdin (a pipe), never from argv')
      .addOption(new Option('-y, --yes', 'confirm dangerous steps without a terminal (with --stage)')),
  )
    .addHelpText(
      'after',
      `
Without --stage on a terminal, walks through the stages with confirmations. Without a terminal,
--stage or --status is required. The stage is read from IAM and SSM on every run; re-running after
an interruption is safe. Key ids show only their last 4 characters. See docs/runpod-key-rotation.md.

Examples:
  watchpoint runpod rotate-keys --env prod --status
  watchpoint runpod rotate-keys --env prod --stage create --show-secret
  watchpoint runpod rotate-keys --env prod --stage verify --timeout 120
  watchpoint runpod rotate-keys --env prod --stage deactivate --yes
  pbpaste | watchpoint runpod rotate-keys --env prod --store-secret --stdin`,
    )
    .action(async (flags: RotateKeysFlags) => {
      const { parseRotateKeysOptions, runRotateKeys } = await import('./runpod.ts');
      definer.exit(await runRotateKeys(parseRotateKeysOptions(flags, definer.context(flags))));
    });
};
