// What `runpod rotate-keys --status` shows: the user's keys (last 4 characters only), where SSM
// points, and the stage, as lines or as the --json document.
import { coarseAge } from '../output.ts';
import { last4, type Analysis, type KeyInfo, type Snapshot } from './state.ts';

function lastUsedText(key: KeyInfo, now: Date): string {
  if (!key.lastUsed) return 'never';
  const where = [key.lastService, key.lastRegion].filter(Boolean).join(', ');
  return `${coarseAge(key.lastUsed, now)} ago (${key.lastUsed.toISOString()}${where ? `, ${where}` : ''})`;
}

export function statusLines(envName: string, snap: Snapshot, analysis: Analysis): string[] {
  const lines = [`RunPod user ${snap.userName} (env ${envName}):`];
  if (snap.keys.length === 0) lines.push('  no access keys');
  for (const key of snap.keys) {
    const marker = key.id === snap.ssm.keyId ? '  <- in SSM' : '';
    lines.push(`  key ${last4(key.id)}  ${key.status.padEnd(8)}  age ${coarseAge(key.created, snap.now).padEnd(4)}  last used ${lastUsedText(key, snap.now)}${marker}`);
  }
  if (snap.ssm.keyId === undefined) lines.push('  SSM: no access key id stored');
  lines.push(`Stage: ${analysis.state}${analysis.next ? ` (next: ${analysis.next})` : ' (needs a person)'} - ${analysis.summary}`);
  for (const line of analysis.guidance) lines.push(`  ${line}`);
  return lines;
}

export function statusJson(envName: string, snap: Snapshot, analysis: Analysis) {
  return {
    env: envName,
    user: snap.userName,
    keys: snap.keys.map((key) => ({
      id: last4(key.id),
      status: key.status,
      created: key.created.toISOString(),
      lastUsed: key.lastUsed?.toISOString() ?? null,
      lastService: key.lastService ?? null,
      lastRegion: key.lastRegion ?? null,
      inSsm: key.id === snap.ssm.keyId,
    })),
    ssm: { keyId: snap.ssm.keyId ? last4(snap.ssm.keyId) : null, secretStored: snap.ssm.secretExists },
    state: analysis.state,
    next: analysis.next ?? null,
    summary: analysis.summary,
    guidance: analysis.guidance,
  };
}
