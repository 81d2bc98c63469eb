// How every command builds its AWS SDK clients. Clients are imported by the commands that use them,
// never here, so that loading this module costs nothing. The pieces live in ./aws/: calls.ts (one
// time budget per call, the waiting notice, --verbose), target.ts (which endpoint), explain.ts
// (what an AWS error means and how to fix it).
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import type { RetryStrategyV2 } from '@smithy/types';
import type { StageConfig } from '../config/schema.ts';
import { awsRuntime } from './aws/runtime.ts';

export { isCredentialError, isStackMissing } from './aws/explain.ts';

export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  /** Only for `--env local` (watchpoint dev's endpoint): real credentials never go there. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts: number;
  retryStrategy: RetryStrategyV2;
  requestHandler: NodeHttpHandler;
}

/**
 * The region comes from the stage, never from the shell's AWS_REGION, so a command cannot act on
 * the wrong region by accident; the endpoint is the stage's awsEndpointUrl or real AWS, never the
 * shell's AWS_ENDPOINT_URL (see aws/target.ts). Every call gets the run's time budget
 * (WATCHPOINT_AWS_TIMEOUT, default 30 s, retries included). Credentials come from the SDK's default
 * chain (AWS_PROFILE, SSO, env vars, instance roles); no secret passes argv.
 */
export function awsClientConfig(stage: Pick<StageConfig, 'region' | 'awsEndpointUrl'>): AwsClientConfig {
  return {
    region: stage.region,
    ...(stage.awsEndpointUrl ? { endpoint: stage.awsEndpointUrl } : {}),
    ...(devEndpoints.has(stage.awsEndpointUrl) ? { credentials: devEndpoints.get(stage.awsEndpointUrl)! } : {}),
    maxAttempts: 5,
    // Standard retries that stop when the next attempt would start past the call's budget.
    retryStrategy: awsRuntime().retryStrategy,
    // One handler for the whole run: it owns the budget, the waiting notice and the call ledger.
    requestHandler: awsRuntime().handler as unknown as NodeHttpHandler,
  };
}

const devEndpoints = new Map<string, { accessKeyId: string; secretAccessKey: string }>();

/**
 * `--env local` resolved to the running watchpoint dev's endpoint (context.ts): its clients get the
 * session's credentials from .watchpoint/dev.json (the only ones that endpoint accepts), so the
 * operator's real credentials and the SDK's default chain (profiles, SSO, instance metadata) are
 * never used there.
 */
export function useDevEndpoint(url: string, credentials: { accessKeyId: string; secretAccessKey: string }): void {
  devEndpoints.set(url, credentials);
}

// Each SDK client by the name commands give it; a client's package is imported only when asked for.
const CLIENTS = {
  cloudformation: async () => (await import('@aws-sdk/client-cloudformation')).CloudFormationClient,
  cloudwatch: async () => (await import('@aws-sdk/client-cloudwatch')).CloudWatchClient,
  codedeploy: async () => (await import('@aws-sdk/client-codedeploy')).CodeDeployClient,
  logs: async () => (await import('@aws-sdk/client-cloudwatch-logs')).CloudWatchLogsClient,
  sqs: async () => (await import('@aws-sdk/client-sqs')).SQSClient,
  ssm: async () => (await import('@aws-sdk/client-ssm')).SSMClient,
  iam: async () => (await import('@aws-sdk/client-iam')).IAMClient,
  s3: async () => (await import('@aws-sdk/client-s3')).S3Client,
  sts: async () => (await import('@aws-sdk/client-sts')).STSClient,
  ecr: async () => (await import('@aws-sdk/client-ecr')).ECRClient,
  lambda: async () => (await import('@aws-sdk/client-lambda')).LambdaClient,
};

export type ClientName = keyof typeof CLIENTS;
export type SdkClients = { [K in ClientName]: InstanceType<Awaited<ReturnType<(typeof CLIENTS)[K]>>> };

/**
 * The one way a command builds its clients: `await sdkClients(stage, ['cloudformation', 'sqs'])`.
 * All share awsClientConfig(stage): the stage's region and endpoint, and the run's time budget.
 */
export async function sdkClients<K extends ClientName>(stage: Pick<StageConfig, 'region' | 'awsEndpointUrl'>, names: readonly K[]): Promise<Pick<SdkClients, K>> {
  const config = awsClientConfig(stage);
  const made = await Promise.all(names.map(async (name) => [name, new (await CLIENTS[name]())(config)] as const));
  return Object.fromEntries(made) as Pick<SdkClients, K>;
}
