// Issue 10's stack changes: the DataPoller knows ForecastBucket (for HeadObject on _SUCCESS) and the
// RunPod API base URL, and its role can read exactly that bucket's objects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RUNPOD_API_BASE_URL } from '../../src/lambdas/data-poller/index.ts';
import { RUNPOD_API_BASE_URL } from '../../src/stack/constructs/functions.ts';
import { grantsOf, logicalId, removeOutdirs, resourceOf, synth, type Synthesized } from './fixture.ts';

afterAll(removeOutdirs);

let s: Synthesized;
beforeAll(() => {
  s = synth();
});

describe('DataPollerFunction (issue 10)', () => {
  it('gets FORECAST_BUCKET and RUNPOD_API_BASE_URL (the real RunPod API by default)', () => {
    const poller = s.platform.functions.dataPollerFunction;
    const vars = resourceOf(s, poller.function).Properties.Environment.Variables;
    expect(vars.FORECAST_BUCKET).toEqual({ Ref: logicalId(s.platform.storage.forecastBucket) });
    expect(vars.RUNPOD_API_BASE_URL).toBe('https://api.runpod.ai/v2');
    expect(RUNPOD_API_BASE_URL).toBe(DEFAULT_RUNPOD_API_BASE_URL);
    expect(vars.RUNPOD_ENDPOINT_ID).toBe('abc123xyz');
    expect(vars.RUNPOD_API_KEY_SSM_PARAM).toBe('/dev/watchpoint/forecast/runpod_api_key');
    for (const other of [s.platform.functions.apiFunction, s.platform.functions.archiverFunction]) {
      expect(resourceOf(s, other.function).Properties.Environment.Variables).not.toHaveProperty('RUNPOD_API_BASE_URL');
    }
  });

  it('may HeadObject (s3:GetObject) on ForecastBucket objects, and write nothing there', () => {
    const grants = grantsOf(s, logicalId(s.platform.functions.dataPollerFunction.role));
    const objects = `<${logicalId(s.platform.storage.forecastBucket)}.Arn>/*`;
    expect(grants.get('s3:GetObject')).toEqual([objects]);
    expect(grants.get('s3:ListBucket')).toEqual([`<${logicalId(s.platform.storage.forecastBucket)}.Arn>`]);
    expect([...grants.keys()].filter((action) => action.startsWith('s3:Put') || action.startsWith('s3:Delete'))).toEqual([]);
  });

  it('Archiver may read back (GetObject) and write the archive objects it verifies', () => {
    const grants = grantsOf(s, logicalId(s.platform.functions.archiverFunction.role));
    const objects = `<${logicalId(s.platform.storage.archiveBucket)}.Arn>/*`;
    expect(grants.get('s3:PutObject')).toEqual([objects]);
    expect(grants.get('s3:GetObject')).toEqual([objects]);
    const vars = resourceOf(s, s.platform.functions.archiverFunction.function).Properties.Environment.Variables;
    expect(vars.ARCHIVE_BUCKET).toEqual({ Ref: logicalId(s.platform.storage.archiveBucket) });
  });
});
