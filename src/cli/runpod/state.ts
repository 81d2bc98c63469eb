// The RunPod key rotation as a pure function of what IAM and SSM say right now. No local state:
// every run reads the user's keys and the two SSM parameters and works out the stage from them.
// docs/runpod-key-rotation.md describes the same state machine for operators.

export type KeyStatus = 'Active' | 'Inactive';

export interface KeyInfo {
  id: string;
  status: KeyStatus;
  created: Date;
  /** From GetAccessKeyLastUsed; undefined when IAM has never seen the key used. */
  lastUsed?: Date;
  lastService?: string;
  lastRegion?: string;
}

export interface SsmInfo {
  /** The access key id stored in .../runpod_aws_access_key_id; undefined when the parameter is missing. */
  keyId?: string;
  /** LastModifiedDate of the secret parameter; undefined when it is missing. */
  secretModified?: Date;
  secretExists: boolean;
}

export interface Snapshot {
  userName: string;
  keys: KeyInfo[];
  ssm: SsmInfo;
  now: Date;
}

export type StageName = 'create' | 'verify' | 'deactivate' | 'reactivate' | 'delete';
export const STAGES: readonly StageName[] = ['create', 'verify', 'deactivate', 'reactivate', 'delete'];

export type StateCode =
  | 'no-keys'
  | 'ready'
  | 'unverified'
  | 'no-active-key'
  | 'verify'
  | 'deactivated'
  | 'orphan-key'
  | 'interrupted-create'
  | 'new-key-inactive'
  | 'ssm-secret-stale'
  | 'ssm-points-to-older'
  | 'untracked';

/**
 * A key used within this many days counts as "used recently": it is never deleted while it is the
 * only recently used key, and `create` never deletes a key used within it. A week covers RunPod
 * endpoints that scale to zero for days and an operator who rotates on Friday and checks on Monday.
 */
export const RECENT_DAYS = 7;
const DAY_MS = 86_400_000;

export interface Analysis {
  state: StateCode;
  /** The stage to run next; undefined when a person must act first (see guidance). */
  next?: StageName;
  /** One line: where the rotation is. */
  summary: string;
  /** What to do, for states that need a person. */
  guidance: string[];
  /** The key SSM points to, when it exists in IAM. */
  current?: KeyInfo;
  /** The other key (the one being retired, or the one to clean up). */
  other?: KeyInfo;
  /** For orphan-key / interrupted-create: the never-used key `create` deletes before creating a new one. */
  strayKey?: KeyInfo;
  /** For interrupted-create: the key the id parameter must point back to before strayKey is deleted. */
  repointTo?: KeyInfo;
}

export function last4(id: string): string {
  return `…${id.slice(-4)}`;
}

function newer(a: KeyInfo, b: KeyInfo): boolean {
  return a.created.getTime() > b.created.getTime();
}

/** The SSM secret can only belong to a key if it was written after that key was created. */
export function secretMatches(ssm: SsmInfo, key: KeyInfo): boolean {
  return ssm.secretExists && ssm.secretModified !== undefined && ssm.secretModified.getTime() >= key.created.getTime();
}

export function usedWithin(key: KeyInfo, now: Date, days: number): boolean {
  return key.lastUsed !== undefined && now.getTime() - key.lastUsed.getTime() < days * DAY_MS;
}

export function analyze(snapshot: Snapshot): Analysis {
  const { keys, ssm } = snapshot;
  const current = ssm.keyId ? keys.find((key) => key.id === ssm.keyId) : undefined;
  const ssmDangling = ssm.keyId !== undefined && current === undefined;
  const danglingNote = ssmDangling ? [`SSM points to ${last4(ssm.keyId!)}, which no longer exists; the next create overwrites it.`] : [];
  const activeCount = keys.filter((key) => key.status === 'Active').length;

  if (keys.length === 0) {
    return { state: 'no-keys', next: 'create', summary: 'The user has no access key: ready to create the first one.', guidance: danglingNote };
  }

  if (activeCount === 0) {
    return {
      state: 'no-active-key',
      next: 'reactivate',
      summary: 'No key is active: RunPod cannot upload forecasts.',
      guidance: ['Run `--stage reactivate` now to turn the inactive key(s) back on.'],
      ...(current ? { current } : {}),
    };
  }

  if (keys.length === 1) {
    const only = keys[0]!;
    const notes = [...danglingNote];
    if (ssm.keyId === undefined) notes.push(`SSM does not record ${last4(only.id)} (made outside this tool?); create stores the new key in SSM.`);
    if (current && !secretMatches(ssm, current)) notes.push(`The SSM secret was not written for ${last4(only.id)}; create stores a matching id and secret.`);
    if (current && secretMatches(ssm, current) && !usedByRunPodSinceCreation(current)) {
      return {
        state: 'unverified',
        next: 'verify',
        summary: `The only key ${last4(only.id)} is in SSM but RunPod has not used it yet: put it into RunPod, then verify.`,
        guidance: notes,
        current,
      };
    }
    return {
      state: 'ready',
      next: 'create',
      summary: `One key (${last4(only.id)}): no rotation in progress; ready to create a new key.`,
      guidance: notes,
      ...(current ? { current } : {}),
    };
  }

  // Two keys (IAM allows no more).
  const [a, b] = keys as [KeyInfo, KeyInfo];
  const newest = newer(a, b) ? a : b;
  const oldest = newest === a ? b : a;

  if (!current) {
    // SSM is missing or points to neither key. A never-used newest key is what a crash right after
    // CreateAccessKey leaves behind: nobody has its secret, so deleting it is safe.
    if (newest.lastUsed === undefined) {
      return {
        state: 'orphan-key',
        next: 'create',
        summary: `${last4(newest.id)} is not in SSM and was never used (an interrupted create): create deletes it, then creates a new key.`,
        guidance: danglingNote,
        strayKey: newest,
        other: oldest,
      };
    }
    return {
      state: 'untracked',
      summary: 'Two keys, and SSM records neither: this tool cannot tell which one RunPod should use.',
      guidance: [
        ...danglingNote,
        'Look at "last used" above and at RunPod\'s settings to find the key RunPod uses.',
        'Deactivate the other one in the IAM console, wait a forecast cycle, delete it, then run create.',
      ],
    };
  }

  const other = current === a ? b : a;

  if (newer(other, current)) {
    if (other.lastUsed === undefined) {
      return {
        state: 'orphan-key',
        next: 'create',
        summary: `${last4(other.id)} is newer than the SSM key, not in SSM and never used (an interrupted create): create deletes it, then creates a new key.`,
        guidance: [],
        current,
        other,
        strayKey: other,
      };
    }
    return {
      state: 'ssm-points-to-older',
      summary: `SSM points to the older key ${last4(current.id)}, but the newer ${last4(other.id)} has been used and SSM lacks its secret.`,
      guidance: [
        `Someone created ${last4(other.id)} outside this tool. Check which key RunPod uses.`,
        `If RunPod uses ${last4(other.id)}: retire ${last4(current.id)} in the IAM console, then run create to put a tracked key in place.`,
        `If RunPod uses ${last4(current.id)}: deactivate ${last4(other.id)} in the IAM console, watch for breakage, then delete it.`,
      ],
      current,
      other,
    };
  }

  if (!secretMatches(ssm, current)) {
    if (current.lastUsed === undefined) {
      return {
        state: 'interrupted-create',
        next: 'create',
        summary: `SSM points to ${last4(current.id)} but holds no secret written for it (create stopped between the two writes): create points SSM back to ${last4(other.id)}, deletes ${last4(current.id)}, then creates a new key.`,
        guidance: [],
        current,
        other,
        strayKey: current,
        repointTo: other,
      };
    }
    return {
      state: 'ssm-secret-stale',
      summary: `SSM points to ${last4(current.id)}, which has been used, but the SSM secret predates that key.`,
      guidance: [
        'SSM does not hold the secret of the key in use. Nothing here deletes or deactivates a key in this state.',
        `Store the secret of ${last4(current.id)} with \`watchpoint runpod rotate-keys --store-secret --stdin\` (pipe it in; it is checked against IAM before it is stored), or start a fresh rotation after retiring the extra key by hand.`,
      ],
      current,
      other,
    };
  }

  if (current.status === 'Inactive') {
    return {
      state: 'new-key-inactive',
      next: 'reactivate',
      summary: `The SSM key ${last4(current.id)} is inactive while the older ${last4(other.id)} is active.`,
      guidance: ['The wrong key was probably deactivated by hand. Run `--stage reactivate`.'],
      current,
      other,
    };
  }

  if (other.status === 'Active') {
    return {
      state: 'verify',
      next: 'verify',
      summary: `Rotation in progress: new key ${last4(current.id)} is in SSM; old key ${last4(other.id)} is still active. Next: verify RunPod has switched, then deactivate.`,
      guidance: [],
      current,
      other,
    };
  }

  return {
    state: 'deactivated',
    next: 'delete',
    summary: `Old key ${last4(other.id)} is deactivated; the new key ${last4(current.id)} is active. Next: delete the old key (or reactivate it).`,
    guidance: [],
    current,
    other,
  };
}

export interface Evidence {
  /** RunPod (S3) has used the new key since it was created. */
  newUsed: boolean;
  /** The old key has never been used (as far as IAM records). */
  oldNeverUsed: boolean;
  /** The old key's last use is before the new key's last use. */
  oldBeforeNew: boolean;
  /** RunPod has switched: newUsed and (oldNeverUsed or oldBeforeNew). */
  switched: boolean;
  lines: string[];
}

/**
 * RunPod's user may only call S3, so an S3 use is RunPod's. Other uses do not count as evidence: in
 * particular verify's own STS GetCallerIdentity shows up as a use by "sts".
 */
export const RUNPOD_SERVICE = 's3';

export function usedByRunPodSinceCreation(key: KeyInfo): boolean {
  return key.lastUsed !== undefined && key.lastService === RUNPOD_SERVICE && key.lastUsed.getTime() >= key.created.getTime();
}

export function evidence(current: KeyInfo, old: KeyInfo): Evidence {
  const newUsed = usedByRunPodSinceCreation(current);
  const oldNeverUsed = old.lastUsed === undefined;
  const oldBeforeNew = newUsed && (oldNeverUsed || old.lastUsed!.getTime() < current.lastUsed!.getTime());
  const switched = newUsed && oldBeforeNew;
  const lines = [
    newUsed
      ? `new key ${last4(current.id)} used by ${RUNPOD_SERVICE} (RunPod) at ${current.lastUsed!.toISOString()}, after its creation`
      : current.lastUsed
        ? `new key ${last4(current.id)} not used by ${RUNPOD_SERVICE} yet (last use: ${current.lastService ?? 'unknown service'} at ${current.lastUsed.toISOString()}, e.g. verify's own check)`
        : `new key ${last4(current.id)} has not been used yet`,
    oldNeverUsed
      ? `old key ${last4(old.id)} has never been used`
      : oldBeforeNew
        ? `old key ${last4(old.id)} last used at ${old.lastUsed!.toISOString()}, before the new key's last use`
        : `old key ${last4(old.id)} last used at ${old.lastUsed!.toISOString()}${newUsed ? ', after the new key\'s last use' : ''}`,
  ];
  return { newUsed, oldNeverUsed, oldBeforeNew, switched, lines };
}

export interface Verdict {
  allowed: boolean;
  /** True when --force turns a refusal into a go. False for the hard rules. */
  forceable: boolean;
  reasons: string[];
}

/** Deactivating the old key: reversible, so missing evidence can be overridden with --force. */
export function canDeactivate(analysis: Analysis): Verdict {
  const { current, other } = analysis;
  if (analysis.state !== 'verify' || !current || !other) {
    return { allowed: false, forceable: false, reasons: [`deactivate runs only while both keys are active and SSM points to the newer one (now: ${analysis.state}).`] };
  }
  const proof = evidence(current, other);
  if (proof.switched || proof.oldNeverUsed) return { allowed: true, forceable: false, reasons: proof.lines };
  return {
    allowed: false,
    forceable: true,
    reasons: [
      ...proof.lines,
      `No evidence that RunPod has switched to ${last4(current.id)}. If it still uses ${last4(other.id)}, every upload fails from the moment it is deactivated, and the dead-man alarms only fire hours later.`,
    ],
  };
}

/**
 * Deleting the old key (irreversible). Hard rules, never overridden: it is inactive, it is not the
 * key SSM points to, the SSM key is active, and it is not the only key used in the last RECENT_DAYS.
 * Evidence rule (--force overrides): the new key has been used, after the old key's last use.
 */
export function canDelete(analysis: Analysis, now: Date): Verdict {
  const { current, other } = analysis;
  if (analysis.state !== 'deactivated' || !current || !other) {
    return { allowed: false, forceable: false, reasons: [`delete runs only once the old key is inactive and SSM points to the active new key (now: ${analysis.state}).`] };
  }
  const proof = evidence(current, other);
  if (usedWithin(other, now, RECENT_DAYS) && !proof.newUsed) {
    return {
      allowed: false,
      forceable: false,
      reasons: [
        ...proof.lines,
        `${last4(other.id)} is the only key used in the last ${RECENT_DAYS} days; deleting it could cut RunPod off for good. Reactivate it (--stage reactivate), or wait until RunPod uses ${last4(current.id)}.`,
      ],
    };
  }
  if (proof.switched || proof.oldNeverUsed) return { allowed: true, forceable: false, reasons: proof.lines };
  return {
    allowed: false,
    forceable: true,
    reasons: [...proof.lines, `No evidence that RunPod uses ${last4(current.id)} rather than ${last4(other.id)}. Once deleted, the old key cannot be reactivated.`],
  };
}

/**
 * What `create` must clear first when the user already has two keys: a stray never-used key, or an
 * inactive old key that passes the delete rules and was not used in the last RECENT_DAYS.
 */
export function createPlan(analysis: Analysis, now: Date): { allowed: true; remove?: KeyInfo; repointTo?: KeyInfo } | { allowed: false; reasons: string[] } {
  switch (analysis.state) {
    case 'no-keys':
    case 'ready':
    case 'unverified':
      return { allowed: true };
    case 'orphan-key':
    case 'interrupted-create':
      return { allowed: true, remove: analysis.strayKey!, ...(analysis.repointTo ? { repointTo: analysis.repointTo } : {}) };
    case 'deactivated': {
      const verdict = canDelete(analysis, now);
      const old = analysis.other!;
      if (!verdict.allowed) return { allowed: false, reasons: ['There are already 2 keys, and the inactive one may not be deleted:', ...verdict.reasons] };
      if (usedWithin(old, now, RECENT_DAYS)) {
        return {
          allowed: false,
          reasons: [`There are already 2 keys; the inactive ${last4(old.id)} was used in the last ${RECENT_DAYS} days, so create will not delete it. Run --stage delete once you are sure, then create.`],
        };
      }
      return { allowed: true, remove: old };
    }
    case 'verify':
      return { allowed: false, reasons: ['A rotation is in progress (2 active keys). Finish it first: verify, deactivate, delete.'] };
    default:
      return { allowed: false, reasons: [`There are already 2 keys and the state is ${analysis.state}: ${analysis.summary}`, ...analysis.guidance] };
  }
}
