// The log-group lookup against the real stack: every source's logical id prefix matches exactly one
// AWS::Logs::LogGroup of a synthesized platform stack (bundling skipped), so renaming a construct
// breaks this test instead of `watchpoint logs` in production.
import { afterAll, describe, expect, it } from 'vitest';
import { LOG_SOURCES, findLogGroups, resolveSources } from '../../src/cli/logs/groups.ts';
import { removeOutdirs, synth } from '../stack/fixture.ts';

afterAll(() => removeOutdirs());

describe('log groups from the deployed stack', () => {
  it('finds all nine log groups of a synthesized platform stack, one each', () => {
    const { json } = synth();
    const resources = Object.entries(json.Resources).map(([logicalId, r]) => ({ logicalId, physicalId: `pg-${logicalId}`, type: r.Type, status: 'CREATE_COMPLETE' }));
    const logGroups = resources.filter((r) => r.type === 'AWS::Logs::LogGroup');
    expect(logGroups).toHaveLength(LOG_SOURCES.length);
    const { targets, missing } = findLogGroups({ name: 'watchpoint-dev', resources }, LOG_SOURCES);
    expect(missing).toEqual([]);
    expect(new Set(targets.map((t) => t.logGroupName)).size).toBe(LOG_SOURCES.length);
  });

  it('names resolve by alias or spec name, case-insensitively, in pipeline order', () => {
    expect(resolveSources(['WEBHOOK', 'BatcherFunction', 'batcher']).map((s) => s.alias)).toEqual(['batcher', 'webhook']);
    expect(resolveSources([]).map((s) => s.alias)).toEqual(LOG_SOURCES.map((s) => s.alias));
  });
});
