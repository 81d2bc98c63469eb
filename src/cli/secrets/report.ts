// What `secrets` prints: the list, check and history tables, a dry run's SSM calls, and the fix for
// secrets that are not ready (one text for `secrets check`, `init`'s offer and deploy's preflight).
// Never a value, except history's VALUE column under --reveal.
import { SECRET_CATALOGUE, findSecretByNameOrAlias, secretPath, type SecretEntry } from '../../config/secrets-catalogue.ts';
import type { StageConfig } from '../../config/schema.ts';
import { isoSeconds, table } from '../output.ts';
import type { CheckReport } from './check.ts';
import { putInput, type HistoryVersion, type Metadata, type PutPlan } from './ssm.ts';

export interface ListRow {
  name: string;
  path: string;
  required: boolean;
  set: boolean;
  version: number | null;
  lastModified: string | null;
  lastModifiedBy: string | null;
  type: string | null;
  managedBy?: string;
}

/** One row per catalogue entry, and the parameters under the prefix that are not in the catalogue. */
export function listRows(envName: string, stage: StageConfig, metadata: ReadonlyMap<string, Metadata>): { rows: ListRow[]; others: string[] } {
  const rows = SECRET_CATALOGUE.map((entry) => {
    const path = secretPath(envName, entry.name);
    const meta = metadata.get(path);
    return { name: entry.name, path, required: entry.required(stage), set: meta !== undefined, version: meta?.version ?? null, lastModified: meta?.lastModified?.toISOString() ?? null, lastModifiedBy: meta?.lastModifiedUser ?? null, type: meta?.type ?? null, ...(entry.managedBy ? { managedBy: entry.managedBy } : {}) };
  });
  const known = new Set(rows.map((row) => row.path));
  return { rows, others: [...metadata.keys()].filter((path) => !known.has(path)).sort() };
}

export function unencryptedWarning(row: ListRow): string {
  return `${row.name} is stored as ${row.type}, not SecureString: it is not encrypted. Convert it with \`watchpoint secrets set ${row.name} --overwrite\` (after a confirmation it is deleted and created again as a SecureString; its version history is lost).`;
}

export function listTable(rows: readonly ListRow[]): string {
  return table(
    ['NAME', 'STATUS', 'VERSION', 'LAST MODIFIED', 'MODIFIED BY'],
    rows.map((row) => [
      row.name,
      row.set ? 'set' : row.required ? 'MISSING (required)' : row.managedBy ? `missing (by ${row.managedBy})` : 'missing (optional)',
      row.version === null ? '-' : String(row.version),
      row.lastModified === null ? '-' : isoSeconds(new Date(row.lastModified)),
      row.lastModifiedBy ?? '-',
    ]),
    { indent: '' },
  ).join('\n');
}

export function checkTable(report: CheckReport): string {
  return table(
    ['NAME', 'STATUS', 'VERSION', 'PROBLEM'],
    report.secrets.map((s) => [s.name, s.status, s.version === undefined ? '-' : String(s.version), s.problems.join('; ') || (s.status === 'missing' ? 'required but not set' : '')]),
    { indent: '' },
  ).join('\n');
}

export function historyTable(versions: readonly HistoryVersion[], reveal: boolean): string {
  return table(
    ['VERSION', 'LAST MODIFIED', 'MODIFIED BY', 'KEY', 'TIER', 'LABELS', ...(reveal ? ['VALUE'] : [])],
    versions.map((v) => [String(v.version ?? '?'), v.lastModified ? isoSeconds(new Date(v.lastModified)) : '-', v.lastModifiedBy ?? '-', v.keyId ?? '-', v.tier ?? '-', v.labels.join(',') || '-', ...(reveal ? [v.value ?? ''] : [])]),
    { indent: '' },
  ).join('\n');
}

/** --dry-run: the exact SSM calls, with the value withheld. */
export function planLines(plans: readonly PutPlan[]): string {
  const lines: string[] = [];
  for (const plan of plans) {
    lines.push(`ssm:PutParameter ${JSON.stringify({ ...putInput(plan), Value: `<${plan.bytes} bytes, withheld>` })}`);
    if (plan.existing) lines.push(`ssm:AddTagsToResource ${JSON.stringify({ ResourceType: 'Parameter', ResourceId: plan.path, Tags: [{ Key: 'app', Value: 'watchpoint' }, { Key: 'env', Value: plan.envName }] })}`);
  }
  return lines.join('\n');
}

export function rollbackHint(entry: SecretEntry, envName: string, version: number | undefined): string {
  return version === undefined ? '' : ` The previous value is kept as version ${version}: \`watchpoint secrets rollback ${entry.name} --to-version ${version} --env ${envName}\` restores it.`;
}

/**
 * How to make the named secrets ready: `secrets set` for the ones it writes, and the managing
 * command (e.g. `watchpoint runpod rotate-keys`) for the ones `secrets set` refuses.
 */
export function notReadyFix(envName: string, names: readonly string[]): string {
  const entries = names.map((name) => findSecretByNameOrAlias(name) ?? SECRET_CATALOGUE.find((e) => e.name === name)).filter((e): e is SecretEntry => e !== undefined);
  const byCommand = new Map<string, string[]>();
  for (const entry of entries.filter((e) => e.managedBy)) byCommand.set(entry.managedBy!, [...(byCommand.get(entry.managedBy!) ?? []), entry.name]);
  const plain = entries.length === 0 || entries.some((e) => !e.managedBy);
  const steps = [
    ...(plain ? [`set ${byCommand.size > 0 ? 'the others' : 'each'} with \`watchpoint secrets set --env ${envName} <name>\``] : []),
    ...[...byCommand].map(([command, managed]) => `${managed.join(' and ')}: run \`${command} --env ${envName}\``),
  ];
  const text = steps.join('; ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}; then run \`watchpoint secrets check --env ${envName}\` again.`;
}
