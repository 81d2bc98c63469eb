// Deterministic identifiers: the same input always gives the same id, so a redelivered S3 event, a
// redriven job or a retried evaluation produces the same job and the same notification record.
import { createHash } from 'node:crypto';
import type { Channel, ForecastType } from './messages.ts';

const sha256 = (parts: readonly string[]): string => createHash('sha256').update(parts.join('\u0000')).digest('hex');

export const EVAL_JOB_VERSION = 1;

export function evalJobId(runId: string, forecastType: ForecastType, tileId: string): string {
  return sha256(['eval-job', String(EVAL_JOB_VERSION), forecastType, runId, tileId]);
}

/** The channel's identity in notification_records.channel: `email:<address, lowercased>` or `webhook:<url>`. */
export function channelKey(channel: Channel): string {
  return channel.type === 'email' ? `email:${channel.address.toLowerCase()}` : `webhook:${channel.url}`;
}

/**
 * A UUID (version 8, RFC 9562 "custom") made of the sha256 of (watchpoint, run, channel), where a run
 * is its forecast type and run id: a nowcast and a medium-range run of the same slot share the run id.
 */
export function notificationId(watchpointId: string, forecastType: ForecastType, runId: string, channel: string): string {
  const hex = sha256(['notification', watchpointId.toLowerCase(), forecastType, runId, channel]).slice(0, 32).split('');
  hex[12] = '8';
  hex[16] = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
