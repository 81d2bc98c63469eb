// API keys: `wp_` + 43 base64url characters (256 random bits). Only sha256(key) is stored: with a
// key of that entropy a fast hash is safe (nobody can brute-force 2^256), and lookup is by the
// hash's unique index, so the database never sees the key and no comparison leaks its prefix.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_PATTERN = /^wp_[A-Za-z0-9_-]{43}$/;

export interface NewApiKey {
  /** Shown to the caller once, never stored or logged. */
  key: string;
  hash: Buffer;
  /** `wp_` and the next 8 characters: enough to recognise a key in a list, useless to an attacker. */
  prefix: string;
}

export function generateApiKey(): NewApiKey {
  const key = `wp_${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, 11) };
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * Constant-time comparison of a presented secret with the expected one. Both are hashed first, so
 * the comparison takes the same time whatever their lengths, and timingSafeEqual sees equal lengths.
 * An empty expected secret never matches (an unset admin key disables admin access).
 */
export function secretEquals(presented: string, expected: string): boolean {
  if (expected === '') return false;
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The bearer token of an Authorization header, or undefined when there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}
