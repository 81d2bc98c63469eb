// The stack's environment variables (src/stack/constructs/functions.ts `globalEnvironment`), read once
// per container. A missing variable is a deployment bug, so it fails the cold start with its name.

/** Variables every WatchPoint function gets from the stack. */
export const STACK_ENV = {
  appEnv: 'APP_ENV',
  databaseUrlParam: 'DATABASE_URL_SSM_PARAM',
  metricNamespace: 'METRIC_NAMESPACE',
  evalQueueUrgent: 'SQS_EVAL_URGENT',
  evalQueueStandard: 'SQS_EVAL_STANDARD',
  emailQueue: 'SQS_NOTIFICATIONS_EMAIL',
  webhookQueue: 'SQS_NOTIFICATIONS_WEBHOOK',
  deadLetterQueue: 'SQS_DLQ',
} as const;

export type StackEnvKey = keyof typeof STACK_ENV;
export type StackEnv<K extends StackEnvKey> = { readonly [P in K]: string };

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The named variables, or one error naming every missing one. */
export function readStackEnv<K extends StackEnvKey>(keys: readonly K[], env: NodeJS.ProcessEnv = process.env): StackEnv<K> {
  const missing: string[] = [];
  const values: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = env[STACK_ENV[key]];
    if (value === undefined || value === '') missing.push(STACK_ENV[key]);
    else values[key] = value;
  }
  if (missing.length > 0) throw new ConfigError(`Missing environment variable(s): ${missing.join(', ')} (set by the WatchPoint stack).`);
  return values as StackEnv<K>;
}

/** AWS_ENDPOINT_URL when the stage sets one (LocalStack, tests), else undefined (real AWS). */
export function endpointOverride(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.AWS_ENDPOINT_URL;
  return value === undefined || value === '' ? undefined : value;
}
