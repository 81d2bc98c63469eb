// The platform's secrets: every SSM parameter the functions read (spec 04 section 1, the
// `*_SSM_PARAM` variables), with the rule its value must follow. Pure: no SDK, no I/O.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { editDistance } from './closest.ts';
import type { StageConfig } from './schema.ts';

/** Standard-tier SecureStrings hold 4 KB; Advanced ones 8 KB (AWS's limits, counted in bytes). */
export const STANDARD_TIER_MAX_BYTES = 4096;
export const ADVANCED_TIER_MAX_BYTES = 8192;
/** Random bytes in a generated value: 48 bytes = 64 base64url characters, above the 32-byte floor. */
export const GENERATED_BYTES = 48;

export interface SecretEntry {
  /** Short name, relative to /<env>/watchpoint/, e.g. "billing/stripe_secret_key". */
  name: string;
  /** The function environment variable that points at it, without `_SSM_PARAM` (an import alias). */
  envVar: string;
  description: string;
  /** Required in this stage (Google/GitHub secrets only when their client ID is configured). */
  required: (stage: Pick<StageConfig, 'googleClientId' | 'githubClientId'>) => boolean;
  /** Whether `--generate` may create it. */
  generatable: boolean;
  /** Written by another command, never by `secrets set`/`import`/`rollback`. */
  managedBy?: string;
  /** Parses the value; issue messages never contain the value. */
  schema: z.ZodType<string>;
  /** Stripe keys: live keys belong in prod, test keys everywhere else. */
  stripeMode?: boolean;
}

const noSurroundingSpace = (value: string) => value.trim() === value && !/[\r\n]/.test(value);
const base = () =>
  z
    .string()
    .min(1, 'is empty')
    .refine(noSurroundingSpace, 'has leading/trailing whitespace or a line break (paste it again without them)');

function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '' && url.pathname.length > 1;
  } catch {
    return false;
  }
}

/** Bytes a base64/base64url or hex string decodes to, or 0 when it is neither. */
function encodedBytes(value: string): number {
  if (/^[0-9a-f]+$/i.test(value) && value.length % 2 === 0) return value.length / 2;
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return Math.floor((value.replace(/=+$/, '').length * 3) / 4);
  return 0;
}

const always = () => true;

export const SECRET_CATALOGUE: readonly SecretEntry[] = [
  {
    name: 'database/url',
    envVar: 'DATABASE_URL',
    description: 'PostgreSQL connection URL (postgres://user:password@host:5432/db)',
    required: always,
    generatable: false,
    schema: base().refine(isPostgresUrl, 'must be a postgres:// or postgresql:// URL with a host and a database name'),
  },
  {
    name: 'billing/stripe_secret_key',
    envVar: 'STRIPE_SECRET_KEY',
    description: 'Stripe secret API key (sk_live_... in prod, sk_test_... elsewhere)',
    required: always,
    generatable: false,
    stripeMode: true,
    schema: base().regex(/^sk_(live|test)_[A-Za-z0-9]{10,}$/, 'must start with sk_live_ or sk_test_ followed by letters and digits'),
  },
  {
    name: 'billing/stripe_webhook_secret',
    envVar: 'STRIPE_WEBHOOK_SECRET',
    description: 'Stripe webhook signing secret (whsec_...)',
    required: always,
    generatable: false,
    schema: base().regex(/^whsec_[A-Za-z0-9+/=]{10,}$/, 'must start with whsec_ followed by the signing secret'),
  },
  {
    name: 'billing/stripe_publishable_key',
    envVar: 'STRIPE_PUBLISHABLE_KEY',
    description: 'Stripe publishable key (pk_live_... in prod, pk_test_... elsewhere)',
    required: always,
    generatable: false,
    stripeMode: true,
    schema: base().regex(/^pk_(live|test)_[A-Za-z0-9]{10,}$/, 'must start with pk_live_ or pk_test_ followed by letters and digits'),
  },
  {
    name: 'forecast/runpod_api_key',
    envVar: 'RUNPOD_API_KEY',
    description: 'RunPod API key, used to start and poll forecast jobs',
    required: always,
    generatable: false,
    schema: base().refine((v) => /^[A-Za-z0-9_-]{20,200}$/.test(v), 'must be a RunPod API key: 20-200 letters, digits, "_" or "-"'),
  },
  {
    name: 'auth/session_key',
    envVar: 'SESSION_KEY',
    description: 'Session signing key: at least 32 random bytes, base64/base64url or hex (use --generate)',
    required: always,
    generatable: true,
    schema: base()
      .refine((v) => encodedBytes(v) >= 32, 'must encode at least 32 random bytes in base64, base64url or hex (use --generate)')
      .refine((v) => new Set(v).size >= 12, 'does not look random (too few distinct characters; use --generate)'),
  },
  {
    name: 'security/admin_api_key',
    envVar: 'ADMIN_API_KEY',
    description: 'Admin API key for operator endpoints (use --generate)',
    required: always,
    generatable: true,
    schema: base()
      .refine((v) => v.length >= 32 && !/\s/.test(v), 'must be at least 32 characters with no whitespace (use --generate)')
      .refine((v) => new Set(v).size >= 12, 'does not look random (too few distinct characters; use --generate)'),
  },
  {
    name: 'auth/google_secret',
    envVar: 'GOOGLE_CLIENT_SECRET',
    description: 'Google OAuth client secret (required when googleClientId is set)',
    required: (stage) => stage.googleClientId !== '',
    generatable: false,
    schema: base().refine((v) => /^[A-Za-z0-9_-]{16,200}$/.test(v), 'must be a Google OAuth client secret (e.g. GOCSPX-...): 16-200 letters, digits, "_" or "-"'),
  },
  {
    name: 'auth/github_secret',
    envVar: 'GITHUB_CLIENT_SECRET',
    description: 'GitHub OAuth client secret (required when githubClientId is set)',
    required: (stage) => stage.githubClientId !== '',
    generatable: false,
    schema: base().refine((v) => /^[A-Za-z0-9_-]{20,200}$/.test(v), 'must be a GitHub OAuth client secret: 20-200 letters, digits, "_" or "-"'),
  },
  {
    name: 'forecast/runpod_aws_access_key_id',
    envVar: 'RUNPOD_AWS_ACCESS_KEY_ID',
    description: "Access key ID of the RunPod IAM user (written by `watchpoint runpod rotate-keys`)",
    required: () => false,
    generatable: false,
    managedBy: 'watchpoint runpod rotate-keys',
    schema: base().regex(/^(AKIA|ASIA)[A-Z0-9]{16}$/, 'must be an AWS access key ID (AKIA followed by 16 capitals and digits)'),
  },
  {
    name: 'forecast/runpod_aws_secret_access_key',
    envVar: 'RUNPOD_AWS_SECRET_ACCESS_KEY',
    description: "Secret access key of the RunPod IAM user (written by `watchpoint runpod rotate-keys`)",
    required: () => false,
    generatable: false,
    managedBy: 'watchpoint runpod rotate-keys',
    schema: base().regex(/^[A-Za-z0-9/+]{40}$/, 'must be an AWS secret access key (40 characters)'),
  },
];

export function secretPath(envName: string, name: string): string {
  return `/${envName}/watchpoint/${name}`;
}

export function pathPrefix(envName: string): string {
  return `/${envName}/watchpoint/`;
}

export function findSecret(name: string): SecretEntry | undefined {
  return SECRET_CATALOGUE.find((entry) => entry.name === name);
}

/** A catalogue name, or its environment-variable alias (DATABASE_URL, STRIPE_SECRET_KEY, ...). */
export function findSecretByNameOrAlias(key: string): SecretEntry | undefined {
  return findSecret(key) ?? SECRET_CATALOGUE.find((entry) => entry.envVar === key || `${entry.envVar}_SSM_PARAM` === key);
}

/**
 * The catalogue name closest to a mistyped one (edit distance over names, aliases and short names),
 * or undefined when nothing is close: within a quarter of the candidate's length (at least 2 edits),
 * so "Did you mean" never offers an unrelated name.
 */
export function closestSecretName(input: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const lower = input.toLowerCase();
  for (const entry of SECRET_CATALOGUE) {
    for (const candidate of [entry.name, entry.envVar.toLowerCase(), entry.name.split('/')[1] ?? entry.name]) {
      const distance = editDistance(lower, candidate.toLowerCase());
      if (distance > Math.max(2, Math.floor(candidate.length / 4))) continue;
      if (distance < bestDistance) {
        bestDistance = distance;
        best = entry.name;
      }
    }
  }
  return best;
}

/**
 * Every reason a value is not acceptable for an entry in an environment, as messages that never
 * contain the value. `force` turns a Stripe mode mismatch into a warning.
 */
export function valueProblems(entry: SecretEntry, value: string, envName: string): { errors: string[]; modeMismatch?: string } {
  const errors: string[] = [];
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > ADVANCED_TIER_MAX_BYTES) errors.push(`is ${bytes} bytes; SSM holds at most ${ADVANCED_TIER_MAX_BYTES} bytes`);
  const parsed = entry.schema.safeParse(value);
  if (!parsed.success) for (const issue of parsed.error.issues) errors.push(issue.message);
  const mismatch = entry.stripeMode ? stripeModeMismatch(value, envName) : undefined;
  return mismatch ? { errors, modeMismatch: mismatch } : { errors };
}

function stripeModeMismatch(value: string, envName: string): string | undefined {
  const live = /^(sk|pk)_live_/.test(value);
  const test = /^(sk|pk)_test_/.test(value);
  if (envName === 'prod' && test) return 'is a Stripe test-mode key, but this is prod (live keys only; --force to override)';
  if (envName !== 'prod' && live) return `is a Stripe live-mode key, but "${envName}" is not prod (test keys only; --force to override)`;
  return undefined;
}

/** live | test | undefined: the Stripe mode a key belongs to (the prefix is not secret). */
export function stripeModeOf(value: string): 'live' | 'test' | undefined {
  const match = /^(?:sk|pk)_(live|test)_/.exec(value);
  return match ? (match[1] as 'live' | 'test') : undefined;
}

/**
 * What may be shown about a value without revealing it: its length, a 32-bit fingerprint (enough
 * to tell two values apart, useless for recovering a high-entropy secret) and a non-secret
 * prefix (the Stripe mode or the URL scheme).
 */
export function maskedValue(value: string): string {
  const fingerprint = createHash('sha256').update(value).digest('hex').slice(0, 8);
  const prefix = /^(sk_live_|sk_test_|pk_live_|pk_test_|whsec_|postgresql:\/\/|postgres:\/\/)/.exec(value)?.[1];
  return `${prefix ? `${prefix}… ` : ''}(${value.length} chars, sha256:${fingerprint})`;
}

export function generateSecretValue(randomBytes: (size: number) => Buffer): string {
  return randomBytes(GENERATED_BYTES).toString('base64url');
}

/** The shapes --kms-key-id accepts: key ID, multi-Region key ID, alias/..., or a key or alias ARN. */
export const KMS_KEY_ID_PATTERN =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias\/[A-Za-z0-9/_-]{1,250}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})|alias\/[A-Za-z0-9/_-]{1,250}))$/;
