// What `watchpoint api-keys` prints: a table for people, one JSON document for --json. Never a key.
import { coarseAge, table, type Style } from '../output.ts';
import type { ApiKeyRow, Selector } from './admin.ts';

export function renderList(rows: readonly ApiKeyRow[], truncated: boolean, recipient: string | undefined, style: Style, now: Date): string[] {
  if (rows.length === 0) return [recipient === undefined ? 'No API keys.' : `No API key has a watchpoint emailing ${recipient}.`];
  const quota = (row: ApiKeyRow) => {
    const own = (value: number | null, text: string) => (value === null ? text : style.bold(text));
    return `${own(row.own_quotas.watchpoints, String(row.quotas.watchpoints))}/${own(row.own_quotas.channels_per_watchpoint, String(row.quotas.channels_per_watchpoint))}/${own(row.own_quotas.recipients, String(row.quotas.recipients))}`;
  };
  const lines = table(
    ['ID', 'PREFIX', 'NAME', 'AGE', 'STATE', recipient === undefined ? 'WATCHPOINTS' : 'MATCHING', 'PAUSED', 'RECIPIENTS', 'QUOTAS (wp/ch/rcpt)'],
    rows.map((row) => [
      row.id,
      row.key_prefix,
      row.name === '' ? style.dim('-') : row.name,
      coarseAge(new Date(row.created_at), now),
      row.revoked_at === null ? style.green('active') : style.red('revoked'),
      String(row.watchpoints),
      row.paused > 0 ? style.yellow(String(row.paused)) : '0',
      String(row.recipients),
      quota(row),
    ]),
    { rightAlign: [false, false, false, false, false, true, true, true] },
  );
  if (recipient !== undefined) lines.push('', `MATCHING counts the watchpoints that email ${recipient}.`);
  lines.push('', 'Quotas in bold are the key\'s own; the others are the stage\'s defaults.');
  if (truncated) lines.push(style.yellow(`Only the newest ${rows.length} keys are listed.`));
  return lines;
}

const whose = (selector: Selector) => ('key' in selector ? `of API key ${selector.key}` : `emailing ${selector.recipient}`);

export function renderChange(action: 'pause' | 'resume', selector: Selector, count: number): string {
  if (action === 'pause') {
    return count === 0
      ? `No watchpoint ${whose(selector)} was unpaused; nothing changed.`
      : `Paused ${count} watchpoint(s) ${whose(selector)}: they send nothing from the next eval job on (NotificationSuppressed in the eval worker's log). Undo with \`watchpoint api-keys resume\`.`;
  }
  return count === 0 ? `No paused watchpoint ${whose(selector)}; nothing changed.` : `Resumed ${count} watchpoint(s) ${whose(selector)}: they notify again from the next eval job on.`;
}

export function renderRevoked(keyId: string, paused: number, watchpoints: number): string {
  return `Revoked API key ${keyId}: it can no longer authenticate, and ${paused} of its ${watchpoints} watchpoint(s) are paused now. Resume them with \`watchpoint api-keys resume --key ${keyId}\` if they should keep running.`;
}
