// Renders `releases` and `releases show N`: a table for people, the full records for --json.
import { clock, coarseAge, duration, pickStyle, table, type Style } from '../output.ts';
import type { Restorable } from './collect.ts';
import { changeCounts, type Outcome, type ReleaseRecord } from './record.ts';

export const RELEASES_SCHEMA_VERSION = 1;

export interface ReleasesReport {
  schemaVersion: typeof RELEASES_SCHEMA_VERSION;
  env: string;
  account: string;
  region: string;
  bucket: string;
  /** The newest release that succeeded: what is deployed now. */
  current: number | null;
  releases: (ReleaseRecord & { current: boolean; restorable: Restorable })[];
}

export function buildReleasesReport(input: { env: string; account: string; region: string; bucket: string; current: ReleaseRecord | undefined; records: ReleaseRecord[]; restorable: Map<number, Restorable> }): ReleasesReport {
  return {
    schemaVersion: RELEASES_SCHEMA_VERSION,
    env: input.env,
    account: input.account,
    region: input.region,
    bucket: input.bucket,
    current: input.current?.sequence ?? null,
    releases: input.records.map((record) => ({
      ...record,
      current: record.sequence === input.current?.sequence,
      restorable: input.restorable.get(record.sequence) ?? { ok: false, reasons: ['not checked'] },
    })),
  };
}

const OUTCOME_WORDS: Record<Outcome, string> = {
  succeeded: 'succeeded',
  failed: 'failed',
  'rolled-back-by-cloudformation': 'rolled back (CloudFormation)',
  'rolled-back-by-alarm': 'rolled back (alarm)',
};

function outcomeText(outcome: Outcome, style: Style): string {
  const words = OUTCOME_WORDS[outcome];
  return outcome === 'succeeded' ? style.green(words) : style.red(words);
}

/** The operator's name: the last part of the STS ARN (role session, or user). */
export function operatorName(arn: string): string {
  return arn.split(/[:/]/).filter(Boolean).at(-1) ?? arn;
}

function commitText(record: ReleaseRecord): string {
  if (!record.git.commit) return '-';
  return `${record.git.commit.slice(0, 7)}${record.git.dirty ? '+dirty' : ''}`;
}

function tookSeconds(record: ReleaseRecord): number {
  return (Date.parse(record.endedAt) - Date.parse(record.startedAt)) / 1000;
}

export function renderReleases(report: ReleasesReport, now: Date, style: Style): string {
  if (report.releases.length === 0) return `No releases recorded for "${report.env}" yet (ledger s3://${report.bucket}).`;
  const rows = report.releases.map((release) => {
    const counts = changeCounts(release);
    return [
      `${release.current ? '*' : ' '}${release.sequence}`,
      `${coarseAge(new Date(release.startedAt), now)} ago`,
      clock(release.startedAt),
      operatorName(release.operator),
      commitText(release),
      release.imageTag.slice(0, 12),
      release.description,
      `+${counts.added} ~${counts.modified} -${counts.removed}`,
      outcomeText(release.outcome, style),
      duration(tookSeconds(release)),
      release.restorable.ok ? 'yes' : style.yellow(`no: ${release.restorable.reasons[0]}${release.restorable.reasons.length > 1 ? ` (+${release.restorable.reasons.length - 1} more)` : ''}`),
    ];
  });
  const lines = [
    style.bold(`Releases of "${report.env}" (account ${report.account}, ${report.region}; ledger s3://${report.bucket}), newest first:`),
    ...table(['#', 'age', 'started', 'operator', 'commit', 'image', 'what', 'changes', 'outcome', 'took', 'restorable'], rows),
    '',
    report.current === null ? 'No release has succeeded yet: nothing to roll back to.' : `* current release: #${report.current}. \`watchpoint releases show N\` shows one release and its diff against it.`,
  ];
  return lines.join('\n');
}

export interface ResourceDiffLine {
  logicalId: string;
  type: string;
  change: 'added' | 'removed' | 'modified';
  /** Top-level keys of the resource that differ (Properties.X, DependsOn...). */
  fields: string[];
}

export interface StackDiffReport {
  stackName: string;
  /** What restoring this release would do to the current one. */
  resources: ResourceDiffLine[];
}

export interface ShowReport {
  schemaVersion: typeof RELEASES_SCHEMA_VERSION;
  release: ReleaseRecord & { current: boolean; restorable: Restorable };
  /** Against the current release: undefined when there is none. */
  against: number | null;
  diff: StackDiffReport[];
}

type Resources = Record<string, { Type?: string; Properties?: Record<string, unknown>; [key: string]: unknown }>;

/** Resource by resource: what going from `from` (current) to `to` (this release) changes. */
export function templateDiff(from: string | undefined, to: string): ResourceDiffLine[] {
  const before = (from ? (JSON.parse(from) as { Resources?: Resources }).Resources : undefined) ?? {};
  const after = (JSON.parse(to) as { Resources?: Resources }).Resources ?? {};
  const lines: ResourceDiffLine[] = [];
  for (const [id, resource] of Object.entries(after)) {
    const old = before[id];
    if (!old) {
      lines.push({ logicalId: id, type: resource.Type ?? '', change: 'added', fields: [] });
      continue;
    }
    const fields = new Set<string>();
    for (const key of new Set([...Object.keys(old), ...Object.keys(resource)])) {
      if (key === 'Properties') {
        const a = old.Properties ?? {};
        const b = resource.Properties ?? {};
        for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) if (JSON.stringify(a[name]) !== JSON.stringify(b[name])) fields.add(`Properties.${name}`);
      } else if (JSON.stringify(old[key]) !== JSON.stringify(resource[key])) fields.add(key);
    }
    if (fields.size > 0) lines.push({ logicalId: id, type: resource.Type ?? '', change: 'modified', fields: [...fields].sort() });
  }
  for (const [id, resource] of Object.entries(before)) if (!(id in after)) lines.push({ logicalId: id, type: resource.Type ?? '', change: 'removed', fields: [] });
  return lines.sort((a, b) => a.logicalId.localeCompare(b.logicalId));
}

export function renderShow(report: ShowReport, now: Date, style: Style): string {
  const r = report.release;
  const counts = changeCounts(r);
  const lines = [
    style.bold(`Release #${r.sequence} of "${r.env}"${r.current ? ' (current)' : ''}: ${r.description}, ${outcomeText(r.outcome, style)}`),
    `  started   ${clock(r.startedAt)} (${coarseAge(new Date(r.startedAt), now)} ago), took ${duration(tookSeconds(r))}`,
    `  operator  ${r.operator}`,
    `  commit    ${r.git.commit ?? 'unknown (not a git checkout)'}${r.git.dirty ? ' (uncommitted changes)' : ''}; CLI ${r.cliVersion}`,
    `  image     ${r.imageTag}`,
    `  database  ${r.migrationLevel ?? 'not checked (--skip-migrations)'}`,
    `  changed   +${counts.added} ~${counts.modified} -${counts.removed} resources against the release before it`,
    ...(r.reason ? [`  reason    ${r.reason}`] : []),
    ...(r.backfilledAt ? [`  recorded  ${clock(r.backfilledAt)} (backfilled: the ledger could not be written at the time)`] : []),
    `  restorable ${r.restorable.ok ? 'yes' : `no:\n${r.restorable.reasons.map((reason) => `    - ${reason}`).join('\n')}`}`,
    '',
  ];
  for (const stack of r.stacks) lines.push(`  ${stack.stackName}: template ${stack.templateKey}, ${stack.zipAssets.length} zip asset(s), parameters ${Object.entries(stack.parameters).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'}`);
  lines.push('');
  if (report.against === null) lines.push('No current release to diff against.');
  else if (report.against === r.sequence) lines.push('This is the current release: no diff.');
  else {
    lines.push(style.bold(`Rolling back to #${r.sequence} from the current #${report.against} would change:`));
    for (const stack of report.diff) {
      if (stack.resources.length === 0) {
        lines.push(`  ${stack.stackName}: no changes`);
        continue;
      }
      lines.push(`  ${stack.stackName}:`);
      for (const line of stack.resources) {
        const mark = line.change === 'added' ? style.green('+') : line.change === 'removed' ? style.red('-') : style.yellow('~');
        lines.push(`    ${mark} ${line.logicalId} (${line.type})${line.fields.length ? `: ${line.fields.join(', ')}` : ''}`);
      }
    }
  }
  return lines.join('\n');
}

export { pickStyle };
