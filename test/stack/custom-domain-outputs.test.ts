// Issue 14 item 14: with a custom domain the platform stack outputs what DNS must point at (the
// API Gateway regional domain name and its hosted zone id), and deploy prints it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { logicalId, removeOutdirs, synth, type Synthesized } from './fixture.ts';

afterAll(removeOutdirs);

let withDomain: Synthesized;
let without: Synthesized;
beforeAll(() => {
  withDomain = synth({ domainName: 'api.watchpoint.io', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555' });
  without = synth({});
});

it('outputs the regional domain name and hosted zone id of the custom domain', () => {
  const domain = logicalId(withDomain.platform.api.customDomain!);
  expect(withDomain.json.Outputs.ApiDomainTarget!.Value).toEqual({ 'Fn::GetAtt': [domain, 'RegionalDomainName'] });
  expect(withDomain.json.Outputs.ApiDomainHostedZoneId!.Value).toEqual({ 'Fn::GetAtt': [domain, 'RegionalHostedZoneId'] });
});

it('has no DNS outputs without a custom domain', () => {
  expect(without.json.Outputs.ApiDomainTarget).toBeUndefined();
  expect(without.json.Outputs.ApiDomainHostedZoneId).toBeUndefined();
});
