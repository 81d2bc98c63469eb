// Issue 27's stack addition: the HTTP API stage's throttling from the stage settings (the default
// stage and the quota variables are checked in platform.test.ts, on the full stack).
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { API_LIMIT_DEFAULTS, stageConfigSchema } from '../../src/config/schema.ts';
import { Api } from '../../src/stack/constructs/api.ts';

describe('API limits from the stage settings', () => {
  it('the stage takes the throttling it is given', () => {
    const stack = new Stack(new App(), 'S', { env: { region: 'eu-west-1', account: '123456789012' } });
    new Api(stack, 'Api', { corsAllowedOrigins: ['*'], domainName: '', certificateArn: '', throttle: { rateLimit: 7, burstLimit: 9 } });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: '$default', DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 } });
  });

  it('the settings have defaults, take flag text, and refuse what is not a whole number in range', () => {
    const base = { region: 'eu-west-1', alertEmail: 'a@example.com', runPodEndpointId: 'abcd' };
    expect(stageConfigSchema.parse(base)).toMatchObject(API_LIMIT_DEFAULTS);
    expect(stageConfigSchema.parse({ ...base, quotaWatchpointsPerKey: '25' }).quotaWatchpointsPerKey).toBe(25);
    for (const [key, value] of [['quotaChannelsPerWatchpoint', 11], ['quotaWatchpointsPerKey', 0], ['apiThrottleRate', 'fast'], ['apiThrottleBurst', 1.5]] as const) {
      const result = stageConfigSchema.safeParse({ ...base, [key]: value });
      expect(result.success, key).toBe(false);
      expect(result.error!.issues[0]!.path).toEqual([key]);
    }
  });
});
