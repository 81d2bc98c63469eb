import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands `drift`: each flag declared once, below; parseDriftOptions (drift.ts) validates them. */
export interface DriftFlags extends CommonOptions {
  fail?: boolean;
  json?: boolean;
  timeout: string;
}

// Every claim about AWS in this help has a source (issue 26 item 10):
// - DetectStackDrift changes no resource; DescribeStackDriftDetectionStatus reports its progress
//   (CloudFormation API reference, DetectStackDrift).
// - UNKNOWN: "CloudFormation could not run drift detection for the resource. See the
//   DriftStatusReason for details." (CloudFormation API reference, StackResourceDrift).
// Not claimed: a limit of one detection per stack at a time. AWS documents that only for StackSets
// (DetectStackSetDrift: "You can only run a single drift detection operation on a given StackSet
// at one time."), not for DetectStackDrift; nor how long a detection takes.
export const defineDrift: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('drift')
      .description('Detect changes made outside CloudFormation to both stacks, resource by resource and property by property.')
      .option('--fail', 'exit 3 when anything drifted (for a scheduled job)')
      .option('--timeout <seconds>', 'stop waiting for detection after this long (it keeps running in CloudFormation)', '600')
      .option('--json', 'print the result as one JSON document on stdout')
      .addHelpText(
        'after',
        `
It runs CloudFormation's drift detection (DetectStackDrift) on the registry and platform stacks at
once; this changes nothing, and \`watchpoint status\` shows the result and its age afterwards. It
waits for the result up to --timeout; a detection still running then goes on in CloudFormation.
Resources CloudFormation could not check are listed as "could not check", with its reason; they are
not drift, and --fail does not count them.

Exit codes: 0 done (drifted or not, without --fail); 3 something drifted (with --fail);
1 detection failed or did not finish in --timeout, or an AWS error; 2 bad usage.

Examples:
  watchpoint drift --env prod
  watchpoint drift --env prod --fail --json > drift.json`,
      ),
  ).action(async (flags: DriftFlags) => {
    const { parseDriftOptions, runDrift } = await import('./drift.ts');
    definer.exit(await runDrift(parseDriftOptions(flags, definer.context(flags))));
  });
};
