import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';

/** Repository root, resolved from this file so synth works from any working directory. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Every function log group (zip and image) keeps 30 days, as the spec's Globals say. */
export const FUNCTION_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

export interface WatchPointFunctionProps {
  /** Directory under src/lambdas holding index.ts, e.g. 'email-worker'. */
  readonly handlerName: string;
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
 * ESM + minified + source-mapped bundles built by the local esbuild (never Docker), and an explicit
 * 30-day log group.
 */
export class WatchPointFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: WatchPointFunctionProps) {
    super(scope, id);
    const { logGroup, role } = createFunctionLogGroupAndRole(this);
    this.logGroup = logGroup;
    this.role = role;

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(REPO_ROOT, 'src', 'lambdas', props.handlerName, 'index.ts'),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
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
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        target: 'node24',
        forceDockerBundling: false,
        mainFields: ['module', 'main'],
        // Bundle the AWS SDK v3 clients too (CDK's default leaves @aws-sdk/* to the runtime's copy):
        // the SDK version is then the one package-lock.json pins and tests ran against, and a
        // minified single file loads about twice as fast as the runtime's node_modules (issue 8,
        // bench pipeline-bundles: Batcher init 85 ms instead of 167 ms, 700 KB).
        externalModules: [],
        // Lets CommonJS dependencies that call require() work inside the ESM bundle.
        banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      },
    });
  }
}
