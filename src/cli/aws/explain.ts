// The one AWS error explainer. Every command's AWS failures end up here (run.ts passes anything
// unexplained through it too), so "access denied", "cannot reach", "timed out", "throttled",
// "wrong endpoint", "expired credentials" and "region not enabled" read the same everywhere, name
// the call and the endpoint, and end with a fix.
import { WatchpointError, userError } from '../errors.ts';
import { AWS_TIMEOUT_ENV, AwsCallInterruptedError, AwsCallTimeoutError, awsCallOf, callName, seconds, type AwsCall } from './calls.ts';
import { awsRuntime, type LocalPlatform } from './runtime.ts';

export interface ExplainContext {
  envName?: string;
  /** A stack the caller looked up: "does not exist" becomes "deploy it first". */
  stackName?: string;
  /** "ssm:GetParameter": names the call when the error carries none (injected clients). */
  action?: string;
  /** The resource the call was about, for access-denied messages. */
  resource?: string;
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
  'InvalidAccessKeyId',
  'AuthFailure',
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

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError', 'AuthorizationErrorException', 'UnauthorizedException']);

/** The one test for "AWS said no" by error name (every explainer of an access-denied error uses it). */
export function isAccessDenied(error: unknown): boolean {
  return error instanceof Error && (ACCESS_DENIED.has(error.name) || /AccessDenied/.test(error.name));
}
const UNKNOWN_ACTION = new Set(['InvalidAction', 'UnknownOperationException', 'UnknownOperation', 'InvalidActionException', 'NotImplemented', 'UnsupportedOperation']);
const THROTTLING = new Set([
  'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottled', 'RequestThrottledException', 'TooManyRequestsException',
  'RequestLimitExceeded', 'SlowDown', 'PriorRequestNotComplete', 'RequestThrottledException', 'BandwidthLimitExceeded', 'TooManyUpdates',
]);
const REGION_DISABLED = new Set(['OptInRequired', 'RegionDisabledException', 'InvalidRegion']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED', 'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']);

/** Regions an account must opt in to; a call there before enabling fails like bad credentials. */
const OPT_IN_REGIONS = new Set([
  'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-south-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7',
  'ca-west-1', 'eu-central-2', 'eu-south-1', 'eu-south-2', 'il-central-1', 'me-central-1', 'me-south-1', 'mx-central-1',
]);

/** Connection failures, which the SDK passes through with the socket's error code. */
export function isNetworkError(error: unknown): boolean {
  return networkCode(error) !== undefined || (error instanceof Error && error.name === 'TimeoutError');
}

function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth += 1) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    current = current.cause;
  }
  return undefined;
}

function isSdkError(error: unknown): error is Error & { $metadata?: { httpStatusCode?: number } } {
  return error instanceof Error && ('$metadata' in error || '$fault' in error);
}

/** What the operator is told the call was: "cloudformation:DescribeStacks at https://..." */
function whatCall(call: AwsCall | undefined, context: ExplainContext): string {
  if (call) return `${callName(call)} at ${call.endpoint}`;
  const target = awsRuntime().target;
  const where = target?.endpoint ? ` at ${target.endpoint}` : '';
  return `${context.action ?? 'the AWS API'}${where}`;
}

function endpointAdvice(call: AwsCall | undefined, context: ExplainContext): string {
  const target = awsRuntime().target;
  const env = context.envName ? ` --env ${context.envName}` : '';
  if (target?.endpoint || (call && !/amazonaws\.com(\.cn)?$/.test(new URL(call.endpoint).hostname))) {
    const endpoint = target?.endpoint ?? call!.endpoint;
    return `check that ${endpoint} is running and serves ${call?.service ?? 'that service'} (it is the environment's awsEndpointUrl); for real AWS, run with --aws-endpoint-url "" or clear it with \`watchpoint init${env} --aws-endpoint-url ""\``;
  }
  return 'check the network, VPN or proxy of this machine, and the region in the config';
}

/**
 * Maps an AWS failure to a WatchpointError that names the call and says what to do. Errors that are
 * not AWS errors come back unchanged.
 */
export function explainAwsError(error: unknown, context: ExplainContext = {}): unknown {
  if (error instanceof WatchpointError) return error;
  if (!(error instanceof Error)) return error;
  const call = awsCallOf(error);
  const env = context.envName ? ` --env ${context.envName}` : '';

  if (error instanceof AwsCallInterruptedError) return error;
  const local = awsRuntime().localPlatform;
  if (local) return explainLocalError(error, call, context, local);
  if (context.stackName && isStackMissing(error)) {
    return userError(
      'STACK_NOT_FOUND',
      `Stack ${context.stackName} does not exist in this account and region.`,
      `Deploy it with \`watchpoint deploy${env}\`, or check --env, the region in the config, and AWS_PROFILE.`,
    );
  }
  if (error instanceof AwsCallTimeoutError) {
    return new WatchpointError(`${whatCall(error.call, context)} did not answer within ${seconds(error.timeoutMs)} (retries included); gave up.`, {
      code: 'AWS_TIMEOUT',
      fault: 'system',
      fix: `${capitalize(endpointAdvice(error.call, context))}. If the API is only slow, allow more time with ${AWS_TIMEOUT_ENV}=<seconds> (now ${seconds(error.timeoutMs)}).`,
      cause: error,
    });
  }
  const region = call?.region ?? awsRuntime().target?.region;
  if (REGION_DISABLED.has(error.name) || (region && OPT_IN_REGIONS.has(region) && (error.name === 'InvalidClientTokenId' || error.name === 'UnrecognizedClientException'))) {
    return new WatchpointError(`${whatCall(call, context)} was refused: region ${region ?? '(unknown)'} is not enabled for this account (or the credentials are not valid there).`, {
      code: 'AWS_REGION_NOT_ENABLED',
      fault: 'user',
      exitCode: 1,
      fix: `Enable ${region ?? 'the region'} for the account (AWS console → Account → AWS Regions; it takes a few minutes), or fix "region" with \`watchpoint init${env}\`.`,
      cause: error,
    });
  }
  if (isCredentialError(error)) {
    const none = /could not load credentials/i.test(error.message) || error.name === 'CredentialsProviderError';
    const what = none ? 'The SDK found none (AWS_PROFILE, SSO, environment variables, instance role).' : `Refused: ${whatCall(call, context)}.`;
    return new WatchpointError(`AWS credentials are missing, expired or invalid. ${what}`, {
      code: 'AWS_CREDENTIALS',
      fault: 'user',
      exitCode: 1,
      fix: 'Renew them (e.g. `aws sso login --profile <profile>`), export AWS_PROFILE, and run the command again.',
      cause: error,
    });
  }
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const denied = /is not authorized to perform:?\s+([a-z0-9-]+:[A-Za-z0-9*]+)(?:\s+on resource:?\s+(\S+))?/i.exec(error.message);
  if (isAccessDenied(error) || denied || (status === 403 && /denied|not authorized/i.test(error.message))) {
    const permission = denied?.[1] ?? (call && /^[A-Z]/.test(call.action) ? callName(call) : context.action);
    const resource = (denied?.[2] ?? context.resource)?.replace(/[.,;]+$/, '');
    const principal = /User:\s+(arn:\S+)/.exec(error.message)?.[1];
    return new WatchpointError(`AWS denied ${whatCall(call, context)}${principal ? ` to ${principal}` : ''}.`, {
      code: 'AWS_ACCESS_DENIED',
      fault: 'system',
      exitCode: 1,
      fix: `${permission ? `Grant ${permission}` : 'Grant the IAM permission for this call'}${resource ? ` on ${resource}` : ''} to ${principal ?? 'the role you use'} (or switch AWS_PROFILE to a role that has it), then run the command again.`,
      cause: error,
    });
  }
  if (UNKNOWN_ACTION.has(error.name) || /unknown (action|operation)|not (a )?valid action|operation is not supported/i.test(error.message)) {
    return new WatchpointError(`${whatCall(call, context)} answered that it does not know that action: this endpoint is not the ${call?.service ?? 'right'} API.`, {
      code: 'AWS_WRONG_ENDPOINT',
      fault: 'user',
      exitCode: 1,
      fix: `${capitalize(endpointAdvice(call, context))}. A local emulator must implement ${call?.service ?? 'the service'} (and the action).`,
      cause: error,
    });
  }
  if (THROTTLING.has(error.name) || status === 429 || /rate exceeded/i.test(error.message)) {
    return new WatchpointError(`AWS kept throttling ${whatCall(call, context)} after the SDK's retries.`, {
      code: 'AWS_THROTTLED',
      fault: 'system',
      fix: 'Wait a minute and run the command again; another process (or a --watch loop) may be calling this API heavily in the account.',
      cause: error,
    });
  }
  if (isNetworkError(error)) {
    const code = networkCode(error) ?? error.name;
    const dns = code === 'ENOTFOUND' || code === 'EAI_AGAIN';
    return new WatchpointError(`Cannot reach ${whatCall(call, context)} (${code}).`, {
      code: 'AWS_UNREACHABLE',
      fault: 'system',
      fix: `${capitalize(endpointAdvice(call, context))}${dns && !awsRuntime().target?.endpoint ? `; a host that does not resolve can also mean a region name that does not exist (${region ?? 'see the config'})` : ''}.`,
      cause: error,
    });
  }
  if (isSdkError(error) || call) {
    const server = status !== undefined && status >= 500;
    return new WatchpointError(`${whatCall(call, context)} failed${status ? ` (HTTP ${status})` : ''}.`, {
      code: 'AWS_FAILED',
      fault: 'system',
      fix: server
        ? 'AWS had an internal error: run the command again in a minute; if it persists, check the AWS Health Dashboard for the region.'
        : `Read the AWS message in the "caused by" line above; run again with --verbose to see every AWS call${call ? '' : `, and ${endpointAdvice(call, context)}`}.`,
      cause: error,
    });
  }
  return error;
}

/**
 * The same failures against `watchpoint dev` (--env local): never AWS advice (endpoint settings,
 * credentials, IAM, the AWS Health Dashboard). The platform is a process on this machine, with a
 * terminal that shows what went wrong.
 */
function explainLocalError(error: Error, call: AwsCall | undefined, context: ExplainContext, local: LocalPlatform): unknown {
  const platform = `the local platform at ${local.endpoint} (watchpoint dev, pid ${local.pid})`;
  const what = call ? callName(call) : (context.action ?? 'the call');
  const terminal = `look at the terminal running \`watchpoint dev\` (pid ${local.pid}) for what it printed`;
  const restart = `if it has stopped or does not recover, stop it (Ctrl-C there, or \`kill ${local.pid}\`) and start it again with \`watchpoint dev\` in ${local.cwd}`;
  if (error instanceof AwsCallTimeoutError) {
    return new WatchpointError(`${capitalize(platform)} is not answering: ${what} got no answer within ${seconds(error.timeoutMs)}.`, {
      code: 'LOCAL_TIMEOUT',
      fault: 'system',
      fix: `${capitalize(terminal)}; ${restart}.`,
      cause: error,
    });
  }
  if (isNetworkError(error)) {
    return new WatchpointError(`Cannot reach ${platform} (${networkCode(error) ?? error.name}) for ${what}.`, {
      code: 'LOCAL_UNREACHABLE',
      fault: 'system',
      fix: `It has probably stopped: ${terminal}; start it again with \`watchpoint dev\` in ${local.cwd}.`,
      cause: error,
    });
  }
  if (context.stackName && isStackMissing(error)) {
    return new WatchpointError(`${capitalize(platform)} has no stack ${context.stackName}.`, {
      code: 'STACK_NOT_FOUND',
      fault: 'user',
      fix: `It was started by another version of watchpoint: stop it and start it again with \`watchpoint dev\` in ${local.cwd}.`,
      cause: error,
    });
  }
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const said = error.message && error.message !== error.name ? `: ${error.message}` : '';
  if (UNKNOWN_ACTION.has(error.name) || /not served by watchpoint dev|does not serve/.test(error.message)) {
    return new WatchpointError(`${capitalize(platform)} does not serve ${what}${said}`, {
      code: 'LOCAL_NOT_SERVED',
      fault: 'user',
      fix: 'Run this against a deployed environment (--env <name>); with --env local use what it serves: status, logs, trace, dlq, secrets, db migrate.',
      cause: error,
    });
  }
  if (status !== undefined && status >= 500) {
    return new WatchpointError(`${capitalize(platform)} failed ${what} (HTTP ${status})${said}`, {
      code: 'LOCAL_FAILED',
      fault: 'system',
      fix: `${capitalize(terminal)}: the part that failed printed its error there; ${restart}.`,
      cause: error,
    });
  }
  if (isSdkError(error) || call) {
    return new WatchpointError(`${capitalize(platform)} refused ${what}${status ? ` (HTTP ${status})` : ''} with ${error.name}${said}`, {
      code: 'LOCAL_REFUSED',
      fault: 'user',
      fix: `Check the command's input against that message; run again with --verbose to see every call made to ${local.endpoint}.`,
      cause: error,
    });
  }
  return error;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
