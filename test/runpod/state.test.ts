// The state machine on its own: every state, including the odd ones, and the delete/deactivate rules.
import { describe, expect, it } from 'vitest';
import { analyze, canDeactivate, canDelete, createPlan, type KeyInfo, type Snapshot } from '../../src/cli/runpod/state.ts';

const NOW = new Date('2026-11-27T12:00:00Z');
const DAY = 86_400_000;
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);

function key(id: string, createdDaysAgo: number, options: Partial<Pick<KeyInfo, 'status' | 'lastService'>> & { usedDaysAgo?: number } = {}): KeyInfo {
  return {
    id,
    status: options.status ?? 'Active',
    created: ago(createdDaysAgo),
    ...(options.usedDaysAgo !== undefined ? { lastUsed: ago(options.usedDaysAgo), lastService: options.lastService ?? 's3' } : {}),
  };
}

function snap(keys: KeyInfo[], ssm: { keyId?: string; secretDaysAgo?: number }): Snapshot {
  return {
    userName: 'u',
    keys,
    now: NOW,
    ssm: {
      ...(ssm.keyId ? { keyId: ssm.keyId } : {}),
      secretExists: ssm.secretDaysAgo !== undefined,
      ...(ssm.secretDaysAgo !== undefined ? { secretModified: ago(ssm.secretDaysAgo) } : {}),
    },
  };
}

const OLD = 'AKIAOLD00000000OLD1';
const NEW = 'AKIANEW00000000NEW2';

describe('analyze', () => {
  const cases: [string, Snapshot, string, string | undefined][] = [
    ['no keys, no SSM', snap([], {}), 'no-keys', 'create'],
    ['no keys, SSM points to a deleted key', snap([], { keyId: OLD, secretDaysAgo: 5 }), 'no-keys', 'create'],
    ['1 key in SSM, used by RunPod', snap([key(OLD, 90, { usedDaysAgo: 0.1 })], { keyId: OLD, secretDaysAgo: 89 }), 'ready', 'create'],
    ['1 key, SSM missing (made by hand)', snap([key(OLD, 90, { usedDaysAgo: 0.1 })], {}), 'ready', 'create'],
    ['1 key, SSM points to a key that no longer exists', snap([key(OLD, 90, { usedDaysAgo: 0.1 })], { keyId: NEW, secretDaysAgo: 1 }), 'ready', 'create'],
    ['1 key in SSM, never used by RunPod', snap([key(NEW, 1, { usedDaysAgo: 0.5, lastService: 'sts' })], { keyId: NEW, secretDaysAgo: 1 }), 'unverified', 'verify'],
    ['1 inactive key', snap([key(OLD, 90, { status: 'Inactive', usedDaysAgo: 3 })], { keyId: OLD, secretDaysAgo: 89 }), 'no-active-key', 'reactivate'],
    ['2 keys, both inactive', snap([key(OLD, 90, { status: 'Inactive' }), key(NEW, 1, { status: 'Inactive' })], { keyId: NEW, secretDaysAgo: 1 }), 'no-active-key', 'reactivate'],
    ['rotation: both active, SSM on the new one', snap([key(OLD, 90, { usedDaysAgo: 0.1 }), key(NEW, 1)], { keyId: NEW, secretDaysAgo: 1 }), 'verify', 'verify'],
    ['rotation: old deactivated', snap([key(OLD, 90, { status: 'Inactive', usedDaysAgo: 0.5 }), key(NEW, 1, { usedDaysAgo: 0.1 })], { keyId: NEW, secretDaysAgo: 1 }), 'deactivated', 'delete'],
    ['the SSM key is inactive, the old one active', snap([key(OLD, 90, { usedDaysAgo: 0.1 }), key(NEW, 1, { status: 'Inactive' })], { keyId: NEW, secretDaysAgo: 1 }), 'new-key-inactive', 'reactivate'],
    ['newer key unknown to SSM, never used (crash after CreateAccessKey)', snap([key(OLD, 90, { usedDaysAgo: 0.1 }), key(NEW, 0.01)], { keyId: OLD, secretDaysAgo: 89 }), 'orphan-key', 'create'],
    ['2 keys, SSM missing, newest never used', snap([key(OLD, 90, { usedDaysAgo: 0.1 }), key(NEW, 0.01)], {}), 'orphan-key', 'create'],
    ['SSM id on the new key, secret older than it (crash between writes)', snap([key(OLD, 90, { usedDaysAgo: 0.1 }), key(NEW, 0.01)], { keyId: NEW, secretDaysAgo: 89 }), 'interrupted-create', 'create'],
    ['SSM id on the new key, no secret at all', snap([key(OLD, 90, { usedDaysAgo: 0.1 }), key(NEW, 0.01)], { keyId: NEW }), 'interrupted-create', 'create'],
    ['SSM id on a used key whose secret is older', snap([key(OLD, 90, { usedDaysAgo: 0.1 }), key(NEW, 2, { usedDaysAgo: 0.1 })], { keyId: NEW, secretDaysAgo: 89 }), 'ssm-secret-stale', undefined],
    ['SSM on the older key, the newer one used', snap([key(OLD, 90, { usedDaysAgo: 0.1 }), key(NEW, 2, { usedDaysAgo: 0.1 })], { keyId: OLD, secretDaysAgo: 89 }), 'ssm-points-to-older', undefined],
    ['2 used keys, SSM on neither', snap([key(OLD, 90, { usedDaysAgo: 0.1 }), key(NEW, 2, { usedDaysAgo: 0.1 })], { keyId: 'AKIAGONE', secretDaysAgo: 100 }), 'untracked', undefined],
  ];
  for (const [name, input, state, next] of cases) {
    it(name, () => {
      const analysis = analyze(input);
      expect(analysis.state).toBe(state);
      expect(analysis.next).toBe(next);
      if (!next) expect(analysis.guidance.length).toBeGreaterThan(0);
    });
  }

  it('interrupted-create points SSM back to the old key before deleting the stray one', () => {
    const analysis = analyze(snap([key(OLD, 90, { usedDaysAgo: 0.1 }), key(NEW, 0.01)], { keyId: NEW, secretDaysAgo: 89 }));
    const plan = createPlan(analysis, NOW);
    expect(plan).toMatchObject({ allowed: true, remove: { id: NEW }, repointTo: { id: OLD } });
  });
});

describe('rules', () => {
  const rotation = (oldUsed: number | undefined, newUsed: number | undefined, newService = 's3') =>
    analyze(snap([key(OLD, 90, oldUsed !== undefined ? { usedDaysAgo: oldUsed } : {}), key(NEW, 1, newUsed !== undefined ? { usedDaysAgo: newUsed, lastService: newService } : {})], { keyId: NEW, secretDaysAgo: 1 }));
  const deactivated = (oldUsed: number | undefined, newUsed: number | undefined) =>
    analyze(snap([key(OLD, 90, { status: 'Inactive', ...(oldUsed !== undefined ? { usedDaysAgo: oldUsed } : {}) }), key(NEW, 1, newUsed !== undefined ? { usedDaysAgo: newUsed } : {})], { keyId: NEW, secretDaysAgo: 1 }));

  it('deactivate: allowed once the new key was used by S3 after the old key last was', () => {
    expect(canDeactivate(rotation(0.5, 0.1)).allowed).toBe(true);
  });
  it('deactivate: forceable when the old key was used after the new one, or the new one only by sts', () => {
    expect(canDeactivate(rotation(0.1, 0.5))).toMatchObject({ allowed: false, forceable: true });
    expect(canDeactivate(rotation(0.5, 0.1, 'sts'))).toMatchObject({ allowed: false, forceable: true });
  });
  it('deactivate: allowed when the old key was never used', () => {
    expect(canDeactivate(rotation(undefined, undefined)).allowed).toBe(true);
  });
  it('deactivate: never outside the verify state', () => {
    expect(canDeactivate(deactivated(1, 0.1))).toMatchObject({ allowed: false, forceable: false });
  });
  it('delete: allowed after a switch; never when the old key is the only one used recently', () => {
    expect(canDelete(deactivated(0.5, 0.1), NOW).allowed).toBe(true);
    expect(canDelete(deactivated(0.5, undefined), NOW)).toMatchObject({ allowed: false, forceable: false });
    expect(canDelete(deactivated(30, undefined), NOW)).toMatchObject({ allowed: false, forceable: true });
  });
  it('delete: never while the old key is active', () => {
    expect(canDelete(rotation(0.5, 0.1), NOW)).toMatchObject({ allowed: false, forceable: false });
  });
});
