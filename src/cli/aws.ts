// How every command builds its AWS SDK clients. Clients are imported by the commands that use them,
// never here, so that loading this module costs nothing.
import type { StageConfig } from '../config/schema.ts';

export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  maxAttempts: number;
  retryMode: 'adaptive';
}

/**
 * The region comes from the stage, never from the shell's AWS_REGION, so a command cannot act on
 * the wrong region by accident. awsEndpointUrl (LocalStack) applies to the CLI too. Credentials come
 * from the SDK's default chain (AWS_PROFILE, SSO, env vars, instance roles); no secret passes argv.
 */
export function awsClientConfig(stage: Pick<StageConfig, 'region' | 'awsEndpointUrl'>): AwsClientConfig {
  return {
    region: stage.region,
    ...(stage.awsEndpointUrl ? { endpoint: stage.awsEndpointUrl } : {}),
    maxAttempts: 5,
    retryMode: 'adaptive',
  };
}

const CREDENTIAL_ERRORS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'CredentialsProviderError',
  'TokenRefreshRequired',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
]);

/** True when the error means "your AWS credentials are missing, expired or wrong". */
export function isCredentialError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return CREDENTIAL_ERRORS.has(error.name) || /could not load credentials|security token .* expired/i.test(error.message);
}

/** True when CloudFormation says the stack does not exist. */
export function isStackMissing(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message);
}
