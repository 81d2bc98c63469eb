// `watchpoint drift`: CloudFormation drift detection on both stacks of an environment.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { sdkClients } from '../aws.ts';
import { resolveStage, stackNames, type CommandContext } from '../context.ts';
import { ExitCode } from '../errors.ts';
import { flagError, runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import { pickStyle } from '../output.ts';
import { detectDrift } from '../drift/detect.ts';
import { driftDocument, renderDrift } from '../drift/report.ts';
import type { DriftFlags } from './drift.define.ts';

/** Raw flags and injections in one object (tests). */
export interface DriftContext extends CommandContext {
  flags: DriftFlags;
  cloudformation?: CloudFormationClient;
  stdoutIsTty?: boolean;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Epoch ms; tests move it with their sleep. */
  now?: () => number;
}

/** Everything `drift` runs on, validated. */
export interface DriftOptions extends Runtime {
  /** How long to wait for each detection, in seconds (the text the messages quote). */
  timeoutSeconds: number;
  json: boolean;
  fail: boolean;
  /** Between DescribeStackDriftDetectionStatus polls. */
  pollMs: number;
  cloudformation: CloudFormationClient | undefined;
}

/** The flag contract: --timeout validated once, before any AWS call (exit 2 naming it). */
export function parseDriftOptions(flags: DriftFlags, context: CommandContext & Injectable & { cloudformation?: CloudFormationClient; pollMs?: number }): DriftOptions {
  const timeoutText = String(flags.timeout ?? '600').trim();
  if (!/^\d+$/.test(timeoutText) || Number(timeoutText) < 10 || Number(timeoutText) > 3600) {
    throw flagError('--timeout', `"${flags.timeout}" is not a whole number of seconds from 10 to 3600.`, 'Give e.g. --timeout 900.', 'TIMEOUT_INVALID');
  }
  return {
    ...runtimeOf(context),
    timeoutSeconds: Number(timeoutText),
    json: Boolean(flags.json),
    fail: Boolean(flags.fail),
    pollMs: context.pollMs ?? 5000,
    cloudformation: context.cloudformation,
  };
}

/** Raw flags, context and injections (tests): parse, then run. */
export async function driftCommand(context: DriftContext): Promise<number> {
  const { now, sleep, ...rest } = context;
  return runDrift(parseDriftOptions(context.flags, { ...rest, ...(now ? { now: () => new Date(now()) } : {}), ...(sleep ? { sleep: (ms: number) => sleep(ms) } : {}) }));
}

export async function runDrift(options: DriftOptions): Promise<number> {
  // Flags are valid (parseDriftOptions); the config next. No AWS call before both are.
  const { envName, stage } = await resolveStage(options);
  const cloudformation = options.cloudformation ?? (await sdkClients(stage, ['cloudformation'])).cloudformation;
  const names = stackNames(envName);
  options.io.notify('info', `Detecting drift on ${names.registry} and ${names.platform} (read-only; usually under a few minutes)...`);
  let lastProgress = 0;
  const detection = {
    envName,
    timeoutMs: options.timeoutSeconds * 1000,
    pollMs: options.pollMs,
    sleep: (ms: number) => options.sleep(ms),
    now: () => options.now().getTime(),
    onProgress: (text: string) => {
      if (Date.now() - lastProgress < 15_000) return;
      lastProgress = Date.now();
      options.io.notify('info', text);
    },
  };
  const stacks = await Promise.all([detectDrift(cloudformation, names.registry, detection), detectDrift(cloudformation, names.platform, detection)]);

  if (options.json) options.io.result(JSON.stringify(driftDocument(stacks), null, 2));
  else options.io.result(renderDrift(stacks, pickStyle(options.stdoutIsTty, options.env)));

  const incomplete = stacks.filter((s) => s.detection !== 'COMPLETE');
  for (const stack of incomplete) {
    options.io.notify(
      'error',
      stack.detection === 'TIMED_OUT'
        ? `Drift detection on ${stack.stackName} did not finish within ${options.timeoutSeconds} s.\n  fix: Wait and run \`watchpoint status --env ${envName}\` for its result, or run again with a longer --timeout.`
        : `Drift detection on ${stack.stackName} failed: ${stack.reason ?? 'no reason given'}.\n  fix: Resources CloudFormation could not check are usually missing permissions or deleted by hand; run again once fixed.`,
    );
  }
  const unchecked = stacks.reduce((n, s) => n + s.unchecked.length, 0);
  if (unchecked > 0) {
    options.io.notify(
      'warn',
      `CloudFormation could not check ${unchecked} resource${unchecked === 1 ? '' : 's'} (drift status UNKNOWN; the reason is shown with each)${options.fail ? '; --fail does not count them as drift' : ''}. Their state is unknown, not in sync.`,
    );
  }
  if (options.fail && stacks.some((s) => s.status === 'DRIFTED')) return ExitCode.unhealthy;
  return incomplete.length > 0 ? ExitCode.failure : ExitCode.ok;
}
