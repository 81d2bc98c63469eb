import { Option } from 'commander';
import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands `deploy`: each flag declared once, below; parseDeployOptions (deploy.ts) validates them. */
export interface DeployFlags extends CommonOptions {
  yes?: boolean;
  requireApproval?: string;
  imageTag?: string;
  skipImage?: boolean;
  skipMigrations?: boolean;
  containerCli?: string;
  dryRun?: boolean;
  hotswap?: boolean;
  allAtOnce?: boolean;
}

export const defineDeploy: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('deploy')
      .description('Deploy an environment: preflight, registry stack, eval-worker image, platform stack (shows the diff first).')
      .addOption(new Option('-y, --yes', 'confirm without asking (needed without a terminal for prod and for approvals)'))
      .addOption(
        // No commander `choices`: parseDeployOptions checks the value (one place, exit 2 naming the flag).
        new Option('--require-approval <mode>', 'which changes need approval: broadening (IAM/resource-policy widening), any-change, never').default('broadening'),
      )
      .option('--image-tag <tag>', 'deploy this eval-worker image tag instead of the content hash of its inputs')
      .option('--skip-image', 'do not build or push the eval-worker image (refused when ECR lacks its tag)')
      .option('--skip-migrations', 'do not check or apply the database migrations (e.g. the database is not reachable from here yet); run `watchpoint db migrate` later')
      .option('--container-cli <cli>', 'container CLI for the image build: docker, podman, finch or buildah (default: first of these on PATH)')
      .option('--dry-run', 'run the preflight and the diff, print every step deploy would take, change nothing')
      .option('--all-at-once', 'for an urgent release: in a canary or linear environment, new function versions take all traffic in one step and the shift alarms are not checked, for this deploy only (the prod confirmation says so)')
      .option('--hotswap', 'Lambda code (zip and image) and environment changes go straight to Lambda (toolkit-lib hotswap); any other change goes through CloudFormation. Refused for prod and for stages with "protected": true'),
  )
    .addHelpText(
      'after',
      `
Exit codes: 0 deployed (or nothing to do, or declined), 1 failed (the failed resources and reasons are shown),
2 bad input or a confirmation needed without a terminal (pass --yes), 130 interrupted.
Outputs are printed and saved to .watchpoint/outputs-<env>.json. A deploy that changes something is
recorded in the release ledger (\`watchpoint releases\`, \`watchpoint rollback\`; docs/releases.md); a
failed ledger write never fails the deploy (it is kept in .watchpoint/ledger-pending-<env>/ and written
by the next deploy).
Database migrations (SSM /<env>/watchpoint/database/url; never printed) are listed in the preflight
and applied after the confirmations, before any stack changes; --dry-run only lists them. They must be
backward compatible with the code still running (expand, then contract in a later deploy).
--hotswap (not for prod or "protected": true stages, exit 2) leaves the stack drifted from its template:
\`watchpoint status\` shows it holds hotswapped changes until a deploy's change set updates those
functions. It is recorded in the release ledger as kind "hotswap".
In a canary or linear environment (stage setting "deployment"; canary is prod's default), CodeDeploy
shifts traffic to the new versions of the API, notification and eval workers while CloudFormation
waits; deploy shows each function's share, the next step and the alarm states. When an alarm stops a
shift, CodeDeploy moves all traffic back, deploy says which alarm fired on which function, records the
release as rolled back by an alarm and exits 1. Ctrl-C leaves the shift running and prints how to
follow or stop it (aws deploy get-deployment / stop-deployment). docs/releases.md.`,
    )
    .action(async (flags: DeployFlags) => {
      const { parseDeployOptions, runDeploy } = await import('./deploy.ts');
      definer.exit(await runDeploy(parseDeployOptions(flags, definer.context(flags))));
    });
};
