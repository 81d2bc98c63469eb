import * as path from 'node:path';
import { AssetHashType, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PROJECT_ROOT, type ZipBundles } from '../bundling/build.ts';
import type { ZipHandler } from '../bundling/handlers.ts';

/** Repository root, resolved from this file so synth works from any working directory. */
export const REPO_ROOT = PROJECT_ROOT;

/** Every function log group (zip and image) keeps 30 days, as the spec's Globals say. */
export const FUNCTION_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/**
 * The code of each zip function: the bundles buildZipBundles() made (one esbuild pass, reused across
 * commands), or, when bundling is skipped (stack tests, destroy), the handler's source directory
 * under a fixed per-handler hash, as CDK's own skipped bundling does.
 */
export type ZipCode = { bundles: ZipBundles } | { unbundled: true };

/** lambda.Code for a handler. The asset hash is the bundle's output hash, so it changes exactly when the bytes do. */
export function zipCodeFor(code: ZipCode, handler: ZipHandler): lambda.Code {
  if ('bundles' in code) {
    const bundle = code.bundles[handler];
    if (!bundle) throw new Error(`no bundle was built for the ${handler} handler`);
    return lambda.Code.fromAsset(bundle.dir, { assetHash: bundle.hash, assetHashType: AssetHashType.CUSTOM });
  }
  return lambda.Code.fromAsset(path.join(REPO_ROOT, 'src', 'lambdas', handler), {
    assetHash: `unbundled-${handler}`,
    assetHashType: AssetHashType.CUSTOM,
  });
}

export interface WatchPointFunctionProps {
  /** Directory under src/lambdas holding index.ts, e.g. 'email-worker'. */
  readonly handlerName: ZipHandler;
  readonly code: ZipCode;
  readonly environment: Record<string, string>;
  /** Defaults to the spec's global 30 s. */
  readonly timeout?: Duration;
  readonly description?: string;
}

/**
 * Creates the log group a function writes to, with 30-day retention, and an execution role that may
 * write only to that log group (instead of the AWSLambdaBasicExecutionRole managed policy, whose
 * logs:* on every log group cdk-nag flags as IAM4).
 */
export function createFunctionLogGroupAndRole(scope: Construct): { logGroup: logs.LogGroup; role: iam.Role } {
  const logGroup = new logs.LogGroup(scope, 'LogGroup', {
    retention: FUNCTION_LOG_RETENTION,
  });
  const role = new iam.Role(scope, 'ServiceRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  logGroup.grantWrite(role);
  return { logGroup, role };
}

/**
 * The one base for every zip-packaged WatchPoint Lambda: Node 24 on arm64, X-Ray active tracing,
 * ESM + minified + source-mapped bundles (src/stack/bundling, esbuild in-process, never Docker), and
 * an explicit 30-day log group.
 */
export class WatchPointFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly logGroup: logs.LogGroup;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: WatchPointFunctionProps) {
    super(scope, id);
    const { logGroup, role } = createFunctionLogGroupAndRole(this);
    this.logGroup = logGroup;
    this.role = role;

    this.function = new lambda.Function(this, 'Function', {
      code: zipCodeFor(props.code, props.handlerName),
      // Each bundle is index.mjs exporting `handler`.
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      role,
      ...(props.description === undefined ? {} : { description: props.description }),
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
  }
}
