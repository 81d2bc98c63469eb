// The small interfaces `deploy` talks through. The orchestration (plan.ts) sees only these, so it is
// tested with fakes; the real implementations wrap @aws-cdk/toolkit-lib (toolkit.ts), the container
// CLI (container.ts) and the SDK clients (aws-ports.ts).
import type { StageConfig } from '../../config/schema.ts';

/** What the security review of a diff found, as toolkit-lib classifies it. */
export type PermissionChange = 'none' | 'non-broadening' | 'broadening';

export interface StackDiff {
  stackName: string;
  /** True when the stack does not exist yet (the diff is against an empty template). */
  isNew: boolean;
  /** Number of changed resources, outputs, parameters... (0 = nothing to deploy). */
  changes: number;
  permissionChange: PermissionChange;
  /** Resources that would be replaced or removed: data loss risk. */
  destructive: { logicalId: string; resourceType: string; impact: string }[];
  /** toolkit-lib's formatted diff text (no colour), shown to the operator. */
  formatted: string;
  /** Each changed resource by logical id and type (what decides whether --hotswap may short-circuit CloudFormation). */
  resources?: { logicalId: string; resourceType: string }[];
  /** Changed stack outputs (logical ids). */
  outputs?: string[];
}

/** How one stack is deployed: a CloudFormation change set, or toolkit-lib's hotswap (falling back to a change set). */
export type DeployMethod = 'change-set' | 'hotswap';

/** What a --hotswap deploy of one stack did, from toolkit-lib's hotswap messages (CDK_TOOLKIT_I5401 plan, I5410 result). */
export interface HotswapOutcome {
  /** 'hotswap': the changes went straight to Lambda; 'cloudformation': the stack went through a change set; 'unchanged': nothing to deploy. */
  method: 'hotswap' | 'cloudformation' | 'unchanged';
  /** Resources updated through the Lambda API (functions, and the versions/aliases published for them). */
  hotswapped: { logicalId: string; resourceType: string; physicalName?: string }[];
  /** Changes that sent the stack through CloudFormation, each with why. */
  viaCloudFormation: { logicalId: string; resourceType: string; reason: string }[];
}

export interface ResourceActivity {
  stackName: string;
  logicalId: string;
  resourceType: string;
  status: string;
  reason?: string;
  /** "3/27" style progress when toolkit-lib knows it. */
  progress?: string;
}

/** What the deploy of one stack gave back. */
export interface StackDeployResult {
  stackName: string;
  noOp: boolean;
  outputs: Record<string, string>;
  /** Set when the stack was deployed with method 'hotswap'. */
  hotswap?: HotswapOutcome;
}

/**
 * The CDK side: one cloud assembly directory (written once by `synthesize()`), read through
 * toolkit-lib. Every method opens and disposes its own assembly, so no read lock is left behind.
 */
export interface CloudPort {
  diff(assemblyDir: string, stackName: string): Promise<StackDiff>;
  /**
   * Deploys one stack (no dependencies) and resolves with its outputs. `approved` is the strongest
   * permission change the operator approved; a deploy-time diff that goes beyond it is refused.
   */
  deploy(
    assemblyDir: string,
    stackName: string,
    options: {
      approved: PermissionChange;
      onActivity: (activity: ResourceActivity) => void;
      method?: DeployMethod;
      /** For a hotswap: the fingerprint (hotswap.ts templateFingerprint) of the template the last completed hotswap of this stack applied, per the marker. */
      hotswapBaseline?: string | undefined;
    },
  ): Promise<StackDeployResult>;
  destroy(assemblyDir: string, stackName: string, onActivity: (activity: ResourceActivity) => void): Promise<void>;
  /** Runs `cdk bootstrap` for aws://account/region through toolkit-lib. */
  bootstrap(account: string, region: string): Promise<void>;
}

export interface CallerIdentity {
  account: string;
  arn: string;
}

export interface StackEvent {
  logicalId: string;
  resourceType: string;
  status: string;
  reason: string;
  timestamp: Date;
}

/** The AWS calls deploy makes besides toolkit-lib. */
export interface AwsPort {
  callerIdentity(): Promise<CallerIdentity>;
  /** Status of the CDK bootstrap stack (CDKToolkit), or undefined when it does not exist. */
  bootstrapStatus(): Promise<string | undefined>;
  /**
   * The bootstrap version (SSM /cdk-bootstrap/hnb659fds/version, which the templates' CheckBootstrapVersion
   * rule reads), or undefined when the parameter does not exist.
   */
  bootstrapVersion?(): Promise<number | undefined>;
  /** Status of a stack, or undefined when it does not exist. */
  stackStatus(stackName: string): Promise<string | undefined>;
  /** The stack's events newest first, back to the start of the latest operation. */
  latestStackEvents(stackName: string): Promise<StackEvent[]>;
}

/** ECR as the image step needs it. */
export interface RegistryPort {
  /**
   * True when the repository holds that tag (one DescribeImages). False when the repository is missing
   * too. Throws IMAGE_IS_INDEX when the tag is an image index (manifest list), which Lambda cannot run.
   */
  hasImage(repositoryName: string, tag: string): Promise<boolean>;
  /**
   * GetAuthorizationToken, decoded: the registry host (from the proxy endpoint) and the login. The
   * password never goes to argv or logs.
   */
  authorization(): Promise<{ registry: string; username: string; password: string }>;
}

/** A container CLI (docker, podman, finch, buildah) driven through execa. */
export interface ContainerCli {
  readonly name: string;
  /**
   * Builds one single-platform image with a single manifest (no image index, no attestations: Lambda
   * rejects an index). Resolves when the build is done; `onSpawn` is called once the build process
   * exists, so a caller can hand the thread to a blocking synth knowing the build really runs.
   * `onNote` hears, before the build starts, how it differs from the usual one (docker without buildx).
   */
  build(input: { contextDir: string; dockerfile: string; image: string; platform: string; logFile: string; onSpawn?: () => void; onNote?: (text: string) => void }): Promise<void>;
  login(input: { registry: string; username: string; password: string }): Promise<void>;
  push(image: string): Promise<void>;
}

export interface SecretsPreflightInput {
  envName: string;
  stage: StageConfig;
}

/** `secrets check` as a preflight: ok, or the problems to show (never a secret value). */
export type SecretsPreflight = (input: SecretsPreflightInput) => Promise<{ ok: boolean; problems: string[]; /** How to make them ready (secrets/report.ts notReadyFix). */ fix?: string }>;

export interface MigrationsInput {
  envName: string;
  stage: StageConfig;
}

/**
 * `watchpoint db migrate` as a deploy step. The database URL (it holds the password) stays inside the
 * implementation; the orchestration only ever sees it masked (postgres://user:****@host/db).
 */
export interface MigrationsPort {
  /** Reads the URL and lists the pending migrations, writing nothing. Throws when the database cannot be reached. */
  pending(input: MigrationsInput): Promise<{ database: string; pending: string[] }>;
  /** Applies every pending migration in one transaction; resolves with the names applied. */
  apply(input: MigrationsInput): Promise<{ database: string; applied: string[] }>;
}
