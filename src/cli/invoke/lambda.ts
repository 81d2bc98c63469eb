// The AWS side of `watchpoint invoke`: which deployed function (and alias) a name means, from the
// platform stack's resources, and one Lambda Invoke (RequestResponse, LogType Tail) on it. With
// `--env local` the same calls go to the running `watchpoint dev`, whose endpoint serves both
// (src/dev/aws-layer.ts for CloudFormation, src/dev/lambda-api.ts for Invoke).
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { stackNames } from '../context.ts';
import { userError } from '../errors.ts';
import { describeDeployedStack } from '../stack-resources.ts';
import type { InvokableFunction } from './catalogue.ts';

export interface FunctionTarget {
  /** The deployed function's name (physical id). */
  functionName: string;
  /** The alias invoked (its name), when the function has one: what its triggers call. */
  qualifier?: string;
  logicalId: string;
}

export interface InvokeOutcome {
  statusCode: number | undefined;
  executedVersion: string | undefined;
  /** "Unhandled" (or "Handled") when the function threw; its payload then holds errorType/errorMessage. */
  functionError: string | undefined;
  /** The response payload: parsed JSON, else the text. */
  payload: unknown;
  /** The last 4 KB of the invocation's log, decoded, one entry per line. */
  logTail: string[];
}

/** The function and alias the platform stack holds for this name. */
export async function findTarget(cloudformation: CloudFormationClient, envName: string, fn: InvokableFunction): Promise<FunctionTarget> {
  const stack = await describeDeployedStack(cloudformation, stackNames(envName).platform, envName);
  const prefix = `Functions${fn.constructId}`;
  const own = stack.resources.filter((r) => r.logicalId.startsWith(prefix));
  const lambdaFunction = own.find((r) => r.type === 'AWS::Lambda::Function');
  if (!lambdaFunction || lambdaFunction.physicalId === '') {
    throw userError(
      'FUNCTION_NOT_DEPLOYED',
      `The stack ${stack.name} has no ${fn.constructId} function (${fn.name}).`,
      `Deploy it first with \`watchpoint deploy --env ${envName}\`, or check the name with \`watchpoint invoke --help\`.`,
    );
  }
  // An alias's physical id is its ARN, ending in its name (CloudFormation's Ref of AWS::Lambda::Alias).
  const alias = own.find((r) => r.type === 'AWS::Lambda::Alias' && r.physicalId.startsWith('arn:'));
  const qualifier = alias?.physicalId.split(':').pop();
  return { functionName: lambdaFunction.physicalId, logicalId: lambdaFunction.logicalId, ...(qualifier ? { qualifier } : {}) };
}

export async function invokeFunction(lambda: LambdaClient, target: FunctionTarget, event: unknown): Promise<InvokeOutcome> {
  const { InvokeCommand } = await import('@aws-sdk/client-lambda');
  const response = await lambda.send(
    new InvokeCommand({
      FunctionName: target.functionName,
      ...(target.qualifier ? { Qualifier: target.qualifier } : {}),
      InvocationType: 'RequestResponse',
      LogType: 'Tail',
      Payload: new TextEncoder().encode(JSON.stringify(event)),
    }),
  );
  const text = response.Payload ? new TextDecoder().decode(response.Payload) : '';
  let payload: unknown = text;
  try {
    payload = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: shown as text
  }
  return {
    statusCode: response.StatusCode,
    executedVersion: response.ExecutedVersion,
    functionError: response.FunctionError,
    payload,
    logTail: decodeLogTail(response.LogResult),
  };
}

/** LogResult is the base64 of the invocation's last 4 KB of log; the first line may be cut. */
export function decodeLogTail(logResult: string | undefined): string[] {
  if (!logResult) return [];
  return Buffer.from(logResult, 'base64').toString('utf8').split('\n').map((line) => line.trimEnd()).filter((line) => line !== '');
}
