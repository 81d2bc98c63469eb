// Per-key quotas (issue 27): how many watchpoints a key may own, how many channels one watchpoint
// may have, and how many distinct email addresses the key's watchpoints may send to. The stage sets
// the defaults (ApiFunction's API_QUOTA_* variables); the admin may give one key its own.
import { HttpProblem } from './http.ts';
import * as store from './store.ts';

export interface Quotas {
  watchpoints: number;
  channels_per_watchpoint: number;
  recipients: number;
}

/** The stage settings' defaults (src/config/schema.ts API_LIMIT_DEFAULTS; a test keeps them equal). */
export const QUOTA_DEFAULTS: Quotas = { watchpoints: 100, channels_per_watchpoint: 5, recipients: 20 };

const QUOTA_VARIABLES = {
  watchpoints: 'API_QUOTA_WATCHPOINTS_PER_KEY',
  channels_per_watchpoint: 'API_QUOTA_CHANNELS_PER_WATCHPOINT',
  recipients: 'API_QUOTA_RECIPIENTS_PER_KEY',
} as const satisfies Record<keyof Quotas, string>;

/** The stage's quotas from the environment; a variable that is unset or not a whole number keeps the default. */
export function quotasFromEnv(env: NodeJS.ProcessEnv): Quotas {
  const read = (name: string, fallback: number): number => {
    const value = env[name];
    return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : fallback;
  };
  return {
    watchpoints: read(QUOTA_VARIABLES.watchpoints, QUOTA_DEFAULTS.watchpoints),
    channels_per_watchpoint: read(QUOTA_VARIABLES.channels_per_watchpoint, QUOTA_DEFAULTS.channels_per_watchpoint),
    recipients: read(QUOTA_VARIABLES.recipients, QUOTA_DEFAULTS.recipients),
  };
}

/** The key's own quota where it has one, else the stage's. */
export function effectiveQuotas(stage: Quotas, own: store.KeyQuotas): Quotas {
  return {
    watchpoints: own.watchpoints ?? stage.watchpoints,
    channels_per_watchpoint: own.channels_per_watchpoint ?? stage.channels_per_watchpoint,
    recipients: own.recipients ?? stage.recipients,
  };
}

const LIMIT_NAMES = { watchpoints: 'watchpoints_per_key', channels_per_watchpoint: 'channels_per_watchpoint', recipients: 'recipients_per_key' } as const;

function exceeded(quota: keyof Quotas, max: number, requested: number, detail: string): HttpProblem {
  return new HttpProblem(403, {
    type: 'quota-exceeded',
    title: 'Quota exceeded',
    detail: `${detail} Ask the platform's operator if this key needs a higher quota.`,
    extra: { limit: LIMIT_NAMES[quota], max, requested },
  });
}

interface Change {
  /** A new watchpoint (counts against the watchpoints quota), or the id of the one being changed. */
  watchpoint: 'new' | string;
  /** The watchpoint's channels after the change; undefined when a PATCH leaves them alone. */
  channels: readonly { type: string; address?: string }[] | undefined;
}

/**
 * Checks a create or change against the key's quotas inside the caller's transaction, with the
 * key's row locked first, so concurrent requests of one key cannot overshoot together.
 */
export async function enforceQuotas(db: store.Db, keyId: string, stage: Quotas, change: Change): Promise<void> {
  if (change.watchpoint !== 'new' && change.channels === undefined) return;
  const quotas = effectiveQuotas(stage, await store.lockKeyQuotas(db, keyId));
  if (change.watchpoint === 'new') {
    const owned = await store.countWatchpoints(db, keyId);
    if (owned + 1 > quotas.watchpoints) {
      throw exceeded('watchpoints', quotas.watchpoints, owned + 1, `This API key owns ${owned} watchpoint(s) and may own at most ${quotas.watchpoints} (quota watchpoints_per_key). Delete one first.`);
    }
  }
  if (change.channels === undefined) return;
  if (change.channels.length > quotas.channels_per_watchpoint) {
    throw exceeded('channels_per_watchpoint', quotas.channels_per_watchpoint, change.channels.length, `A watchpoint of this API key may have at most ${quotas.channels_per_watchpoint} channel(s) (quota channels_per_watchpoint); this one has ${change.channels.length}.`);
  }
  const addresses = change.channels.flatMap((channel) => (channel.type === 'email' && channel.address !== undefined ? [channel.address.toLowerCase()] : []));
  if (addresses.length === 0) return;
  const recipients = await store.recipientsOf(db, keyId, change.watchpoint === 'new' ? null : change.watchpoint);
  for (const address of addresses) recipients.add(address);
  if (recipients.size > quotas.recipients) {
    throw exceeded('recipients', quotas.recipients, recipients.size, `This API key's watchpoints would send to ${recipients.size} distinct email addresses; at most ${quotas.recipients} are allowed (quota recipients_per_key). Reuse an address already in use, or remove one.`);
  }
}
