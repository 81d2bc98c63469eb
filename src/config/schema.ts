// The one place where stage configuration is described and validated.
// Everything downstream (CLI commands, the CDK app) receives a parsed `StageConfig`.
import { z } from 'zod';

export const ENV_NAME_PATTERN = /^[a-z][a-z0-9-]{0,15}$/;

/** prod, production and prod-*: confirmations, stricter refusals, and canary shifting by default. */
export function isProduction(envName: string): boolean {
  return envName === 'prod' || envName === 'production' || envName.startsWith('prod-');
}

/**
 * How new code of the aliased functions takes traffic (CodeDeploy, docs/releases.md): all at once,
 * canary (10% for 5 minutes, then the rest) or linear (10% more every minute).
 */
export const DEPLOYMENT_STYLES = ['all-at-once', 'canary', 'linear'] as const;
export type DeploymentStyle = (typeof DEPLOYMENT_STYLES)[number];

/** The stage's `deployment`, or its default: canary for production, all-at-once elsewhere. */
export function deploymentStyleFor(envName: string, stage: { deployment?: DeploymentStyle | undefined }): DeploymentStyle {
  return stage.deployment ?? (isProduction(envName) ? 'canary' : 'all-at-once');
}

const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const ACCOUNT_PATTERN = /^\d{12}$/;
const HOSTNAME_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ACM_ARN_PATTERN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):(\d{12}):certificate\/[0-9a-f-]{36}$/;
const RUNPOD_ENDPOINT_PATTERN = /^[a-z0-9]{4,64}$/;
const OAUTH_CLIENT_ID_PATTERN = /^[A-Za-z0-9._-]{1,200}$/;

/** An origin as browsers send it: scheme://host[:port], no path, no trailing slash. */
function isOrigin(value: string): boolean {
  if (value === '*') return true;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

function isEndpointUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * API abuse limits (issue 27). Quotas hold per API key (an admin may give one key its own, see
 * docs/api.md); throttling is the HTTP API stage's default route throttling. Written to the config
 * file only when they differ from these.
 */
export const API_LIMIT_DEFAULTS = {
  apiThrottleRate: 50,
  apiThrottleBurst: 100,
  quotaWatchpointsPerKey: 100,
  quotaChannelsPerWatchpoint: 5,
  quotaRecipientsPerKey: 20,
} as const;

/** A whole number from a flag or a prompt ("25") or from the file (25). */
const limit = (key: keyof typeof API_LIMIT_DEFAULTS, max: number, what: string) =>
  z.coerce
    .number({ error: `must be a whole number: ${what}` })
    .int(`must be a whole number: ${what}`)
    .min(1, `must be at least 1: ${what}`)
    .max(max, `must be at most ${max}: ${what}`)
    .default(API_LIMIT_DEFAULTS[key]);

export const stageConfigSchema = z
  .object({
    region: z
      .string({ error: 'is required: the AWS region to deploy to, e.g. "eu-west-1"' })
      .regex(REGION_PATTERN, 'must be an AWS region such as "us-east-1"'),
    account: z
      .string()
      .regex(ACCOUNT_PATTERN, 'must be a 12-digit AWS account ID such as "123456789012"')
      .optional(),
    alertEmail: z
      .email({ error: 'must be an email address that receives alarms, e.g. "oncall@example.com"' }),
    runPodEndpointId: z
      .string({ error: 'is required: the ID of the RunPod serverless endpoint' })
      .regex(RUNPOD_ENDPOINT_PATTERN, 'must be a RunPod endpoint ID: 4-64 lowercase letters and digits'),
    domainName: z
      .string()
      .refine((v) => v === '' || HOSTNAME_PATTERN.test(v), {
        message: 'must be a lowercase host name such as "api.watchpoint.io", or "" for no custom domain',
      })
      .default(''),
    certificateArn: z
      .string()
      .refine((v) => v === '' || ACM_ARN_PATTERN.test(v), {
        message: 'must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>), or ""',
      })
      .default(''),
    corsAllowedOrigins: z
      .array(
        z.string().refine(isOrigin, {
          message: 'must be "*" or an origin such as "https://app.watchpoint.io" (scheme and host, no path or trailing slash)',
        }),
      )
      .min(1, 'must list at least one origin, or ["*"]')
      .default(['*']),
    googleClientId: z
      .string()
      .refine((v) => v === '' || OAUTH_CLIENT_ID_PATTERN.test(v), {
        message: 'must be a Google OAuth client ID, or "" to disable Google sign-in',
      })
      .default(''),
    githubClientId: z
      .string()
      .refine((v) => v === '' || OAUTH_CLIENT_ID_PATTERN.test(v), {
        message: 'must be a GitHub OAuth client ID, or "" to disable GitHub sign-in',
      })
      .default(''),
    awsEndpointUrl: z
      .string()
      .refine((v) => v === '' || isEndpointUrl(v), {
        message: 'must be an http(s) URL such as "http://localhost:4566", or "" to use real AWS endpoints',
      })
      .default(''),
    apiThrottleRate: limit('apiThrottleRate', 10_000, 'steady requests per second the HTTP API stage accepts (API Gateway answers 429 beyond)'),
    apiThrottleBurst: limit('apiThrottleBurst', 5_000, 'requests the HTTP API stage accepts in a burst'),
    quotaWatchpointsPerKey: limit('quotaWatchpointsPerKey', 1_000_000, 'watchpoints one API key may own'),
    quotaChannelsPerWatchpoint: limit('quotaChannelsPerWatchpoint', 10, 'channels one watchpoint may have (the API never takes more than 10)'),
    quotaRecipientsPerKey: limit('quotaRecipientsPerKey', 100_000, 'distinct email addresses across one API key\'s watchpoints'),
    deployment: z
      .enum(DEPLOYMENT_STYLES, {
        error: 'must be all-at-once, canary (10% for 5 minutes, then the rest) or linear (10% more every minute); unset: canary for production, all-at-once elsewhere',
      })
      .optional(),
    /** true: `deploy --hotswap` is refused (prod always refuses it). Set in the file only. */
    protected: z.boolean({ error: 'must be true or false: true refuses `watchpoint deploy --hotswap` for this environment' }).optional(),
  })
  .strict()
  .superRefine((stage, ctx) => {
    if (stage.domainName !== '' && stage.certificateArn === '') {
      ctx.addIssue({
        code: 'custom',
        path: ['certificateArn'],
        message: `is required when domainName is set ("${stage.domainName}"): give the ACM certificate for that domain, or clear domainName`,
      });
    }
    if (stage.domainName === '' && stage.certificateArn !== '') {
      ctx.addIssue({
        code: 'custom',
        path: ['domainName'],
        message: 'is required when certificateArn is set: give the custom domain, or clear certificateArn',
      });
    }
    const arn = ACM_ARN_PATTERN.exec(stage.certificateArn);
    if (arn) {
      if (arn[1] !== stage.region) {
        ctx.addIssue({
          code: 'custom',
          path: ['certificateArn'],
          message: `is in region ${arn[1]}, but an HTTP API regional domain needs a certificate in ${stage.region}: issue or import the certificate there`,
        });
      }
      if (stage.account !== undefined && arn[2] !== stage.account) {
        ctx.addIssue({
          code: 'custom',
          path: ['certificateArn'],
          message: `belongs to account ${arn[2]}, not the configured account ${stage.account}`,
        });
      }
    }
    if (stage.corsAllowedOrigins.includes('*') && stage.corsAllowedOrigins.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['corsAllowedOrigins'],
        message: 'mixes "*" with explicit origins: use either ["*"] or a list of origins',
      });
    }
  });

export type StageConfigInput = z.input<typeof stageConfigSchema>;
export type StageConfig = z.output<typeof stageConfigSchema>;

/**
 * The stage as the CDK app receives it. `allAtOnce` is `deploy --all-at-once` (an emergency fix):
 * for this one deploy the deployment groups shift in one step and ignore their alarms; the groups
 * and alarms stay, so the next deploy is gradual again. Never read from the config file; part of the
 * stage object so the assembly cache keys on it.
 */
export type AppStage = StageConfig & { readonly allAtOnce?: true };

export const configFileSchema = z
  .object({
    $schema: z.string().optional(),
    environments: z
      .record(
        z.string().regex(ENV_NAME_PATTERN, 'environment names must match ^[a-z][a-z0-9-]{0,15}$, e.g. "dev" or "prod"'),
        z.unknown(),
      )
      .default({}),
  })
  .strict();

export type ConfigFile = z.output<typeof configFileSchema>;

/** The stage keys in the order the wizard asks for them and help lists them. */
export const STAGE_KEYS = [
  'region',
  'account',
  'alertEmail',
  'runPodEndpointId',
  'domainName',
  'certificateArn',
  'corsAllowedOrigins',
  'googleClientId',
  'githubClientId',
  'awsEndpointUrl',
  'apiThrottleRate',
  'apiThrottleBurst',
  'quotaWatchpointsPerKey',
  'quotaChannelsPerWatchpoint',
  'quotaRecipientsPerKey',
  'deployment',
] as const satisfies readonly (keyof StageConfig)[];

export type StageKey = (typeof STAGE_KEYS)[number];
