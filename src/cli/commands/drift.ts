// `watchpoint drift`: CloudFormation drift detection on both stacks of an environment.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { sdkClients } from '../aws.ts';
import { resolveStage, stackNames, type CommandContext } from '../context.ts';
import { ExitCode, userError } from '../errors.ts';
import { pickStyle } from '../output.ts';
import { detectDrift } from '../drift/detect.ts';
import { driftDocument, renderDrift } from '../drift/report.ts';
import type { DriftFlags } from './drift.define.ts';

export interface DriftContext extends CommandContext {
  flags: DriftFlags;
  cloudformation?: CloudFormationClient;
  stdoutIsTty?: boolean;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** The flag contract: --timeout validated once, before any AWS call (exit 2 naming it). */
export function parseDriftFlags(flags: DriftFlags): { timeoutText: string; json: boolean; fail: boolean } {
  const timeoutText = String(flags.timeout ?? '600').trim();
  if (!/^\d+$/.test(timeoutText) || Number(timeoutText) < 10 || Number(timeoutText) > 3600) {
    throw userError('TIMEOUT_INVALID', `--timeout "${flags.timeout}" is not a whole number of seconds from 10 to 3600.`, 'Give e.g. --timeout 900.');
  }
  return { timeoutText, json: Boolean(flags.json), fail: Boolean(flags.fail) };
}

export async function driftCommand(context: DriftContext): Promise<number> {
  const flags = parseDriftFlags(context.flags);
  const { timeoutText } = flags;
  const { envName, stage } = await resolveStage(context);
  const cloudformation = context.cloudformation ?? (await sdkClients(stage, ['cloudformation'])).cloudformation;
  const names = stackNames(envName);
  context.io.notify('info', `Detecting drift on ${names.registry} and ${names.platform} (read-only; usually under a few minutes)...`);
  let lastProgress = 0;
  const options = {
    envName,
    timeoutMs: Number(timeoutText) * 1000,
    pollMs: context.pollMs ?? 5000,
    ...(context.sleep ? { sleep: context.sleep } : {}),
    ...(context.now ? { now: context.now } : {}),
    onProgress: (text: string) => {
      if (Date.now() - lastProgress < 15_000) return;
      lastProgress = Date.now();
      context.io.notify('info', text);
    },
  };
  const stacks = await Promise.all([detectDrift(cloudformation, names.registry, options), detectDrift(cloudformation, names.platform, options)]);

  if (flags.json) context.io.result(JSON.stringify(driftDocument(stacks), null, 2));
  else context.io.result(renderDrift(stacks, pickStyle(context.stdoutIsTty ?? Boolean(process.stdout.isTTY), context.env)));

  const incomplete = stacks.filter((s) => s.detection !== 'COMPLETE');
  for (const stack of incomplete) {
    context.io.notify(
      'error',
      stack.detection === 'TIMED_OUT'
        ? `Drift detection on ${stack.stackName} did not finish within ${timeoutText} s.\n  fix: Wait and run \`watchpoint status --env ${envName}\` for its result, or run again with a longer --timeout.`
        : `Drift detection on ${stack.stackName} failed: ${stack.reason ?? 'no reason given'}.\n  fix: Resources CloudFormation could not check are usually missing permissions or deleted by hand; run again once fixed.`,
    );
  }
  const unchecked = stacks.reduce((n, s) => n + s.unchecked.length, 0);
  if (unchecked > 0) {
    context.io.notify(
      'warn',
      `CloudFormation could not check ${unchecked} resource${unchecked === 1 ? '' : 's'} (drift status UNKNOWN; the reason is shown with each)${flags.fail ? '; --fail does not count them as drift' : ''}. Their state is unknown, not in sync.`,
    );
  }
  if (flags.fail && stacks.some((s) => s.status === 'DRIFTED')) return ExitCode.unhealthy;
  return incomplete.length > 0 ? ExitCode.failure : ExitCode.ok;
}
