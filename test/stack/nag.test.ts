import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { createPlatformApp } from '../../src/stack/app.ts';
import type { StageConfig } from '../../src/config/schema.ts';
import { STAGE, tempOutdir, removeOutdirs } from './fixture.ts';

afterAll(removeOutdirs);

interface Report {
  pluginReports: { pluginName: string; violations: { ruleName: string; violatingConstructs?: { constructPath: string }[] }[] }[];
}

/** Synthesizes with cdk-nag on; returns the open AwsSolutions findings as "rule at path" lines. */
function openNagFindings(stage: StageConfig, tamper?: (platform: import('aws-cdk-lib').Stack) => void): string[] {
  const outdir = tempOutdir();
  const { app, platformStack } = createPlatformApp({ envName: 'dev', stage, imageTag: 'v1', outdir, bundling: false, nag: true });
  tamper?.(platformStack);
  let synthError: unknown;
  try {
    app.synth();
  } catch (error) {
    synthError = error;
  }
  const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as Report;
  const findings = report.pluginReports
    .filter((r) => r.pluginName === 'AwsSolutions')
    .flatMap((r) => r.violations.flatMap((v) => (v.violatingConstructs ?? [{ constructPath: '?' }]).map((c) => `${v.ruleName} at ${c.constructPath}`)));
  // Synthesis must fail exactly when there are open findings.
  expect(synthError !== undefined, String(synthError)).toBe(findings.length > 0);
  return findings;
}

describe('cdk-nag AwsSolutions', () => {
  it('has no open findings for the default stage', () => {
    expect(openNagFindings(STAGE)).toEqual([]);
  });

  it('has no open findings with a custom domain and no account', () => {
    expect(
      openNagFindings({
        ...STAGE,
        account: undefined,
        domainName: 'api.watchpoint.io',
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
        awsEndpointUrl: 'http://localhost:4566',
      }),
    ).toEqual([]);
  });

  it('has no open findings with gradual deployment (CodeDeploy groups, their role and the shift alarms)', () => {
    expect(openNagFindings({ ...STAGE, deployment: 'canary' })).toEqual([]);
  });

  it('reports a finding that is not acknowledged (the check can fail)', () => {
    const findings = openNagFindings(STAGE, (platform) => {
      new sqs.Queue(platform, 'UnsafeQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    });
    expect(findings).toEqual(expect.arrayContaining([expect.stringMatching(/^AwsSolutions-SQS4 at watchpoint-dev\/UnsafeQueue/)]));
  });
});
