// `checkSecrets`: is every secret this stage needs present and valid? No printing, no values in the
// report, so `deploy` can call it as a preflight.
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { StageConfig } from '../../config/schema.ts';
import { SECRET_CATALOGUE, secretPath, stripeModeOf, valueProblems } from '../../config/secrets-catalogue.ts';
import { explainSsmError, readValues } from './ssm.ts';

export type SecretStatus = 'ok' | 'missing' | 'invalid' | 'not-required';

export interface CheckedSecret {
  name: string;
  path: string;
  required: boolean;
  status: SecretStatus;
  version?: number;
  /** Why it is invalid (or the warnings it passed with); never the value. */
  problems: string[];
  warnings: string[];
}

export interface CheckReport {
  envName: string;
  /** True when nothing required is missing and nothing present is invalid. */
  ok: boolean;
  secrets: CheckedSecret[];
  /** Names that make `ok` false: missing required ones first, then invalid ones. */
  failing: string[];
  /** SSM calls made: ⌈entries/10⌉ GetParameters. */
  calls: number;
}

export interface CheckOptions {
  ssm: SSMClient;
  envName: string;
  stage: Pick<StageConfig, 'googleClientId' | 'githubClientId' | 'region'>;
  /** Treat a Stripe live/test mode mismatch as a warning instead of a failure. */
  allowStripeModeMismatch?: boolean;
}

/**
 * Reads every catalogue entry with GetParameters (10 a call, batches in parallel), runs each
 * validator and returns what is missing or invalid. Throws a WatchpointError only when SSM itself
 * fails (credentials, permissions, throttling); its message never holds a value.
 */
export async function checkSecrets(options: CheckOptions): Promise<CheckReport> {
  const { ssm, envName, stage } = options;
  const entries = SECRET_CATALOGUE.map((entry) => ({ entry, path: secretPath(envName, entry.name), required: entry.required(stage) }));
  let read: Awaited<ReturnType<typeof readValues>>;
  try {
    read = await readValues(ssm, entries.map((e) => e.path));
  } catch (error) {
    throw explainSsmError(error, { envName, action: 'GetParameters', region: stage.region });
  }
  const secrets: CheckedSecret[] = entries.map(({ entry, path, required }) => {
    const stored = read.values.get(path);
    if (!stored) return { name: entry.name, path, required, status: required ? 'missing' : 'not-required', problems: [], warnings: [] };
    const { errors, modeMismatch } = valueProblems(entry, stored.value, envName);
    const warnings: string[] = [];
    if (modeMismatch) (options.allowStripeModeMismatch ? warnings : errors).push(modeMismatch);
    return {
      name: entry.name,
      path,
      required,
      status: errors.length > 0 ? 'invalid' : 'ok',
      ...(stored.version !== undefined ? { version: stored.version } : {}),
      problems: errors,
      warnings,
    };
  });
  // The secret and publishable Stripe keys must belong to the same mode.
  const stripeSecret = read.values.get(secretPath(envName, 'billing/stripe_secret_key'));
  const stripePublishable = read.values.get(secretPath(envName, 'billing/stripe_publishable_key'));
  const secretMode = stripeSecret && stripeModeOf(stripeSecret.value);
  const publishableMode = stripePublishable && stripeModeOf(stripePublishable.value);
  if (secretMode && publishableMode && secretMode !== publishableMode) {
    const publishable = secrets.find((s) => s.name === 'billing/stripe_publishable_key')!;
    publishable.status = 'invalid';
    publishable.problems.push(`is a ${publishableMode}-mode key but billing/stripe_secret_key is ${secretMode}-mode; both must be the same mode`);
  }
  const failing = [
    ...secrets.filter((s) => s.status === 'missing').map((s) => s.name),
    ...secrets.filter((s) => s.status === 'invalid').map((s) => s.name),
  ];
  return { envName, ok: failing.length === 0, secrets, failing, calls: Math.ceil(entries.length / 10) };
}
