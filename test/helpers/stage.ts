import { API_LIMIT_DEFAULTS, type StageConfig } from '../../src/config/schema.ts';

/** A complete, valid stage as the schema outputs it, for tests that skip the config file. */
export const TEST_STAGE: StageConfig = {
  region: 'eu-west-1',
  account: '123456789012',
  alertEmail: 'oncall@example.com',
  runPodEndpointId: 'abc123xyz',
  domainName: '',
  certificateArn: '',
  corsAllowedOrigins: ['https://app.example.com'],
  googleClientId: '',
  githubClientId: '',
  awsEndpointUrl: '',
  ...API_LIMIT_DEFAULTS,
};
