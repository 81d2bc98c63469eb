// `watchpoint releases` and `releases show N`: the release ledger, read-only. Reads live in
// ../releases/collect.ts, rendering in ../releases/report.ts.
import { ExitCode, userError } from '../errors.ts';
import { resolveStage, type CommandContext } from '../context.ts';
import { sdkClients } from '../aws.ts';
import { runtimeOf, wholeNumberFlag, flagError, type Injectable, type Runtime } from '../flags.ts';
import { pickStyle } from '../output.ts';
import { checkRestorable, readLedger, type ReleaseClients } from '../releases/collect.ts';
import { buildReleasesReport, renderReleases, renderShow, templateDiff, RELEASES_SCHEMA_VERSION, type ShowReport } from '../releases/report.ts';
import type { ReleasesFlags, ReleasesShowFlags } from './releases.define.ts';

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 1000;

export interface ReleasesOptions extends Runtime {
  json: boolean;
  limit: number;
  clients: ReleaseClients | undefined;
}

export interface ReleasesShowOptions extends Runtime {
  json: boolean;
  sequence: number;
  clients: ReleaseClients | undefined;
}

type Context = CommandContext & Injectable & { clients?: ReleaseClients };

export function parseReleasesOptions(flags: ReleasesFlags, context: Context): ReleasesOptions {
  return {
    ...runtimeOf(context),
    json: Boolean(flags.json),
    limit: flags.limit === undefined ? DEFAULT_LIMIT : wholeNumberFlag('--limit', flags.limit, 1, MAX_LIMIT),
    clients: context.clients,
  };
}

export function parseReleaseNumber(raw: string, what = 'release number'): number {
  if (!/^#?\d+$/.test(raw.trim()) || Number(raw.trim().replace('#', '')) < 1) {
    throw flagError(`The ${what}`, `"${raw}" is not a release number.`, 'Give the number from the # column of `watchpoint releases`, e.g. 41.', 'RELEASE_NUMBER_INVALID');
  }
  return Number(raw.trim().replace('#', ''));
}

export function parseReleasesShowOptions(number: string, flags: ReleasesShowFlags, context: Context): ReleasesShowOptions {
  return {
    ...runtimeOf(context),
    json: Boolean(flags.json),
    sequence: parseReleaseNumber(number),
    clients: context.clients,
  };
}

export async function releaseClients(stage: Parameters<typeof sdkClients>[0]): Promise<ReleaseClients> {
  return sdkClients(stage, ['sts', 's3', 'ecr']);
}

export async function runReleases(options: ReleasesOptions): Promise<number> {
  const { envName, stage } = await resolveStage(options);
  const clients = options.clients ?? (await releaseClients(stage));
  const view = await readLedger(clients, envName, stage.region, options.limit);
  const restorable = await checkRestorable(clients, view, view.records);
  const report = buildReleasesReport({ env: envName, account: view.account, region: view.region, bucket: view.ledger.bucket, current: view.current, records: view.records, restorable });
  if (options.json) options.io.result(JSON.stringify(report, null, 2));
  else options.io.result(renderReleases(report, options.now(), pickStyle(options.stdoutIsTty, options.env)));
  return ExitCode.ok;
}

export async function runReleasesShow(options: ReleasesShowOptions): Promise<number> {
  const { envName, stage } = await resolveStage(options);
  const clients = options.clients ?? (await releaseClients(stage));
  const view = await readLedger(clients, envName, stage.region, 1);
  const release = view.records[0]?.sequence === options.sequence ? view.records[0] : await view.ledger.get(options.sequence);
  if (!release) {
    throw userError(
      'RELEASE_NOT_FOUND',
      `"${envName}" has no release #${options.sequence} (the newest is #${view.records[0]?.sequence ?? 'none'}).`,
      `Pick a number from \`watchpoint releases --env ${envName}\`.`,
    );
  }
  const restorable = (await checkRestorable(clients, view, [release])).get(release.sequence)!;
  const current = view.current;
  const diff = [];
  if (current && current.sequence !== release.sequence) {
    for (const stack of release.stacks) {
      const now = current.stacks.find((s) => s.stackName === stack.stackName);
      const target = await view.ledger.getTemplate(stack.templateKey);
      const from = now ? await view.ledger.getTemplate(now.templateKey) : undefined;
      diff.push({ stackName: stack.stackName, resources: target === undefined ? [] : templateDiff(from, target) });
    }
  }
  const report: ShowReport = {
    schemaVersion: RELEASES_SCHEMA_VERSION,
    release: { ...release, current: release.sequence === current?.sequence, restorable },
    against: current?.sequence ?? null,
    diff,
  };
  if (options.json) options.io.result(JSON.stringify(report, null, 2));
  else options.io.result(renderShow(report, options.now(), pickStyle(options.stdoutIsTty, options.env)));
  return ExitCode.ok;
}
