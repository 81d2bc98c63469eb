// Captures what the Lambda code writes to stdout/stderr (Powertools writes JSON lines there, which is
// what CloudWatch Logs receives), so tests can check a line against a metric filter.
import { vi } from 'vitest';

export interface CapturedLogs {
  lines(): string[];
  json(): Record<string, unknown>[];
  restore(): void;
}

export function captureLogs(): CapturedLogs {
  const chunks: string[] = [];
  const record = (chunk: unknown): boolean => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(record as never);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(record as never);
  const lines = () => chunks.join('').split('\n').filter((line) => line.trim() !== '');
  return {
    lines,
    json: () =>
      lines().flatMap((line) => {
        try {
          const parsed: unknown = JSON.parse(line);
          return parsed && typeof parsed === 'object' ? [parsed as Record<string, unknown>] : [];
        } catch {
          return [];
        }
      }),
    restore: () => {
      out.mockRestore();
      err.mockRestore();
    },
  };
}

/**
 * The stack's ForecastReady filter, `{ $.event = "ForecastReady" }` with ForecastType = $.forecast_type,
 * applied to one log line the way CloudWatch Logs does: the line must be a JSON object.
 */
export function forecastReadyFilter(line: string): { matches: boolean; forecastType?: unknown } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { matches: false };
  }
  if (!parsed || typeof parsed !== 'object' || (parsed as { event?: unknown }).event !== 'ForecastReady') return { matches: false };
  return { matches: true, forecastType: (parsed as { forecast_type?: unknown }).forecast_type };
}
