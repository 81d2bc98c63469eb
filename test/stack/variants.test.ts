import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logicalId, resourceOf, synth, removeOutdirs } from './fixture.ts';
import type { Synthesized } from './fixture.ts';

afterAll(removeOutdirs);

const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

describe('with a custom domain and a LocalStack endpoint', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synth({
      domainName: 'api.watchpoint.io',
      certificateArn: CERTIFICATE_ARN,
      awsEndpointUrl: 'http://localhost:4566',
      corsAllowedOrigins: ['https://a.example.com', 'https://b.example.com'],
    });
  });

  it('creates the domain name and maps it to the default stage', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'api.watchpoint.io',
      DomainNameConfigurations: [{ CertificateArn: CERTIFICATE_ARN, EndpointType: 'REGIONAL' }],
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', {
      ApiId: { Ref: logicalId(s.platform.api.httpApi) },
      DomainName: { Ref: logicalId(s.platform.api.customDomain!) },
      Stage: '$default',
    });
  });

  it('uses the custom domain for API_EXTERNAL_URL and the ApiEndpoint output', () => {
    expect(s.json.Outputs.ApiEndpoint!.Value).toBe('https://api.watchpoint.io');
    for (const f of s.platform.functions.all()) {
      expect(resourceOf(s, f.function).Properties.Environment.Variables.API_EXTERNAL_URL).toBe('https://api.watchpoint.io');
    }
  });

  it('sets AWS_ENDPOINT_URL on every function', () => {
    for (const f of s.platform.functions.all()) {
      expect(resourceOf(s, f.function).Properties.Environment.Variables.AWS_ENDPOINT_URL).toBe('http://localhost:4566');
    }
  });

  it('passes every CORS origin', () => {
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: { AllowOrigins: ['https://a.example.com', 'https://b.example.com'] },
    });
  });
});

describe('without an account (environment-agnostic account)', () => {
  it('synthesizes, scoping SSM and SES to the deploying account', () => {
    const s = synth({ account: undefined });
    expect(s.platform.region).toBe('eu-west-1');
    const policies = JSON.stringify(
      Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy'),
    );
    expect(policies).toContain(':ssm:eu-west-1:');
    expect(policies).toContain('{"Ref":"AWS::AccountId"},":parameter/dev/watchpoint/');
    expect(policies).toContain('{"Ref":"AWS::AccountId"},":identity/*"');
  });
});
