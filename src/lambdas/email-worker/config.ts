// Where the email worker's settings come from in a deployed stack: the sender address is a plain
// (non-secret) SSM String parameter whose path the stack passes in EMAIL_SENDER_SSM_PARAM
// (/<env>/watchpoint/email/sender). The operator sets it once the SES identity is verified (spec 13),
// without a redeploy; the worker caches it for 5 minutes.
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { clientOptions } from '../shared/aws.ts';
import { ConfigError } from '../shared/env.ts';

const SENDER_CACHE_SECONDS = 300;
/** An address, or `Display Name <address>`: enough to catch an unset or mistyped parameter early. */
const SENDER_PATTERN = /^(?:[^<>\r\n]*<[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+)$/;

let provider: SSMProvider | undefined;

export function senderFromSsm(env: NodeJS.ProcessEnv = process.env): () => Promise<string> {
  const name = env.EMAIL_SENDER_SSM_PARAM;
  return async () => {
    if (!name) throw new ConfigError('Missing environment variable EMAIL_SENDER_SSM_PARAM (set by the WatchPoint stack).');
    provider ??= new SSMProvider({ clientConfig: clientOptions(env) });
    const value = await provider.get(name, { maxAge: SENDER_CACHE_SECONDS });
    if (typeof value !== 'string' || !SENDER_PATTERN.test(value.trim())) {
      throw new ConfigError(`SSM parameter ${name} must hold the verified SES sender, e.g. "WatchPoint <alerts@example.com>"; set it with aws ssm put-parameter --type String.`);
    }
    return value.trim();
  };
}

let ses: SESv2Client | undefined;

/**
 * One SES v2 client per container. AWS_ENDPOINT_URL_SESV2 (the SDK's service-specific override) wins
 * over AWS_ENDPOINT_URL, so a local stack can run SES somewhere other than SQS. SES answers in well
 * under a second; the timeouts keep a hung connection from eating the function's 30 s.
 */
export function sesClient(env: NodeJS.ProcessEnv = process.env): SESv2Client {
  const options = clientOptions(env);
  const endpoint = env.AWS_ENDPOINT_URL_SESV2 || options.endpoint;
  ses ??= new SESv2Client({
    ...options,
    ...(endpoint ? { endpoint } : {}),
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
  });
  return ses;
}
