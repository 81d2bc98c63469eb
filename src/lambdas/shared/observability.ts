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

/** Error details safe to log: name, message and AWS error code, never the request or credentials. */
export function errorFields(error: unknown): Record<string, string> {
  if (!(error instanceof Error)) return { error: String(error) };
  const code = (error as { Code?: unknown; code?: unknown }).Code ?? (error as { code?: unknown }).code;
  return { error_name: error.name, error: error.message, ...(typeof code === 'string' ? { error_code: code } : {}) };
}
