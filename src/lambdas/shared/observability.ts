// Powertools logger and metrics with the WatchPoint defaults. Log lines are JSON on stdout, one per
// call, with the extra keys at the top level (the stack's metric filters read `event` etc. there).
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, logLevel: (process.env.POWERTOOLS_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO' });
}

/**
 * EMF metrics in the stack's namespace (METRIC_NAMESPACE, default WatchPoint) with NO default
 * dimensions. Powertools adds a `service` dimension by default, and CloudWatch alarms match dimension
 * sets exactly, so an alarm on e.g. DeliveryAttempt (no dimensions) would never see those data.
 */
export function createMetrics(serviceName: string): Metrics {
  const metrics = new Metrics({ namespace: process.env.METRIC_NAMESPACE || 'WatchPoint', serviceName });
  metrics.clearDefaultDimensions();
  return metrics;
}

const ID_FORMATS = {
  run_id: /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
  job_id: /^[0-9a-f]{64}$/,
  notification_id: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  watchpoint_id: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
} as const;

/**
 * The ids in a message body (eval job or notification) that tie a failure line to its run, job,
 * notification and watchpoint, for `watchpoint trace`. Only those ids, and only when each has its
 * id format, so a malformed body puts nothing of itself (no address, no URL) in the logs.
 */
export function correlationIds(body: string): Partial<Record<keyof typeof ID_FORMATS, string>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return {};
  }
  if (!parsed || typeof parsed !== 'object') return {};
  const message = parsed as { run_id?: unknown; job_id?: unknown; notification_id?: unknown; watchpoint?: { id?: unknown }; forecast?: { run_id?: unknown } };
  const candidates: Record<keyof typeof ID_FORMATS, unknown> = {
    run_id: message.run_id ?? message.forecast?.run_id,
    job_id: message.job_id,
    notification_id: message.notification_id,
    watchpoint_id: message.watchpoint?.id,
  };
  const ids: Partial<Record<keyof typeof ID_FORMATS, string>> = {};
  for (const [key, value] of Object.entries(candidates) as [keyof typeof ID_FORMATS, unknown][]) {
    if (typeof value === 'string' && ID_FORMATS[key].test(value)) ids[key] = value;
  }
  return ids;
}

/**
 * Email addresses in a text replaced by `<address>`. SES puts recipients into its error messages (in
 * the sandbox: "The following identities failed the check in region EU-WEST-1: a@example.com"),
 * and those messages are logged and stored as the failure reason.
 */
export function redactAddresses(text: string): string {
  return text.replace(/[^\s<>()[\]{}"',;:]+@[^\s<>()[\]{}"',;:]+\.[^\s<>()[\]{}"',;:]+/g, '<address>');
}

/** Error details safe to log: name, message and AWS error code, never the request or credentials. */
export function errorFields(error: unknown): Record<string, string> {
  if (!(error instanceof Error)) return { error: String(error) };
  const code = (error as { Code?: unknown; code?: unknown }).Code ?? (error as { code?: unknown }).code;
  return { error_name: error.name, error: error.message, ...(typeof code === 'string' ? { error_code: code } : {}) };
}
