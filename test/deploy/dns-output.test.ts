// Issue 14 item 14: deploy prints where DNS for a custom domain must point.
import { expect, it } from 'vitest';
import { deploy } from '../../src/cli/deploy/plan.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { tempDir } from '../helpers/cli.ts';
import { STAGE, diffOf, fakes, request } from './fakes.ts';

it('with a custom domain, deploy says what to point DNS at', async () => {
  const dir = await tempDir();
  const io = new RecordingIo([], true);
  const outputs = { 'watchpoint-dev': { ApiEndpoint: 'https://api.example.com', ApiDomainTarget: 'd-abc123.execute-api.eu-west-1.amazonaws.com', ApiDomainHostedZoneId: 'ZLY8HYME6SFDD' } };
  const f = fakes(io, dir, { imagePresent: true, outputs, diffs: { 'watchpoint-dev': diffOf('watchpoint-dev', 1) } });
  const stage = { ...STAGE, domainName: 'api.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555' };
  expect(await deploy(request(dir, { stage }), f.deps)).toBe(0);
  expect(io.stdout).toContain('watchpoint-dev.ApiDomainTarget = d-abc123.execute-api.eu-west-1.amazonaws.com');
  expect(io.stderr).toContain('DNS for api.example.com: point it at d-abc123.execute-api.eu-west-1.amazonaws.com');
  expect(io.stderr).toContain('hosted zone ZLY8HYME6SFDD');
});
