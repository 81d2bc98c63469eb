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
