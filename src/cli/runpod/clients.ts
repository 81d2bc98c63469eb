// The clients rotate-keys uses: IAM, SSM and CloudFormation for the stage, and an STS client that
// signs with a key under test (one attempt: the verify loop does its own backoff).
import type { StageConfig } from '../../config/schema.ts';
import { awsClientConfig, sdkClients } from '../aws.ts';
import { BudgetRetryStrategy } from '../aws/calls.ts';
import { awsRuntime } from '../aws/runtime.ts';
import type { RunPodClients } from './aws.ts';

export async function runpodClients(stage: Pick<StageConfig, 'region' | 'awsEndpointUrl'>): Promise<RunPodClients> {
  const [clients, { STSClient }] = await Promise.all([sdkClients(stage, ['iam', 'ssm', 'cloudformation']), import('@aws-sdk/client-sts')]);
  const config = awsClientConfig(stage);
  return {
    ...clients,
    stsWith: (credentials) => new STSClient({ ...config, maxAttempts: 1, retryStrategy: new BudgetRetryStrategy(awsRuntime().ledger.settings.timeoutMs, 1), credentials }),
  };
}
