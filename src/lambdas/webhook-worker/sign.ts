// Webhook signatures (docs/webhooks.md): HMAC-SHA256 with the watchpoint's secret over
// `<timestamp>.<body>`, where timestamp is Unix seconds and body the exact bytes POSTed. The
// timestamp is inside the MAC, so a receiver that also checks its age rejects replays.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'WatchPoint-Signature';
export const TIMESTAMP_HEADER = 'WatchPoint-Timestamp';
export const SIGNATURE_VERSION = 'v1';
/** How old a signed request a receiver should accept, in seconds (either direction, for clock skew). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function computeSignature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export function signatureHeaders(secret: string, body: string, now: Date): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: `${SIGNATURE_VERSION}=${computeSignature(secret, timestamp, body)}` };
}

export type Verification = { ok: true; timestamp: number } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };

/**
 * The receiver's check, as documented: a fresh timestamp, and one of the `v1=` signatures in the
 * header equal (in constant time) to the HMAC of `<timestamp>.<raw body>`. Reference implementation
 * for receivers; the tests' receiver uses it.
 */
export function verifySignature(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  rawBody: string,
  options: { now?: Date; toleranceSeconds?: number } = {},
): Verification {
  if (!headers.timestamp || !headers.signature) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(headers.timestamp)) return { ok: false, reason: 'malformed' };
  const timestamp = Number(headers.timestamp);
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(computeSignature(secret, timestamp, rawBody), 'hex');
  const candidates = headers.signature
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${SIGNATURE_VERSION}=`))
    .map((part) => Buffer.from(part.slice(SIGNATURE_VERSION.length + 1), 'hex'));
  if (candidates.length === 0) return { ok: false, reason: 'malformed' };
  return candidates.some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected))
    ? { ok: true, timestamp }
    : { ok: false, reason: 'mismatch' };
}
