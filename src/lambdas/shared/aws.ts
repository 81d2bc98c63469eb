// SDK clients, one of each per container (module scope), created on first use so that a handler's
// cold start only pays for the clients it uses. They honour AWS_ENDPOINT_URL (LocalStack, tests); S3
// then uses path-style addressing, which endpoint emulators need.
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { endpointOverride } from './env.ts';

export interface ClientOptions {
  region?: string;
  endpoint?: string;
  maxAttempts: number;
}

export function clientOptions(env: NodeJS.ProcessEnv = process.env): ClientOptions {
  const endpoint = endpointOverride(env);
  return {
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(endpoint ? { endpoint } : {}),
    maxAttempts: 3,
  };
}

let sqs: SQSClient | undefined;
let s3: S3Client | undefined;

export function sqsClient(): SQSClient {
  sqs ??= new SQSClient(clientOptions());
  return sqs;
}

export function s3Client(): S3Client {
  const options = clientOptions();
  s3 ??= new S3Client({ ...options, forcePathStyle: options.endpoint !== undefined });
  return s3;
}
