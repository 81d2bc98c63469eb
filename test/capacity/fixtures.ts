// Fixed unit costs and stack settings for the capacity tests: round numbers, so each expectation can
// be worked out by hand (the real ones come from the bench and the synthesized template).
import type { MeasuredUnitCosts } from '../../src/cli/capacity/model.ts';
import type { TemplateSettings } from '../../src/cli/capacity/settings.ts';

export const UNITS: MeasuredUnitCosts = {
  schemaVersion: 1,
  measuredAt: '2026-12-06T20:00:00.000Z',
  machine: { cpus: '2 x test', node: 'v22', loadAverage: 1 },
  tileShape: '32x32 points, 7 leads, 3 variables',
  baselineMs: 1,
  batcher: { fixed: { wallMs: 10, cpuMs: 4, dbMs: 1 }, perTile: { wallMs: 0.5, cpuMs: 0.1, dbMs: 0.01 }, perWatchpoint: { wallMs: 0.001, cpuMs: 0, dbMs: 0.0005 }, fit: { r2: 1, rmseMs: 0, points: 4 } },
  eval: {
    perTile: { wallMs: 50, cpuMs: 10, dbMs: 2 },
    perWatchpoint: { wallMs: 0.01, cpuMs: 0.004, dbMs: 0.002 },
    perNotification: { wallMs: 0.5, cpuMs: 0.2, dbMs: 0.05 },
    bytesPerTile: 40_000,
    getsPerTile: 15,
    pureCpuMsPerWatchpoint: 0.002,
    standInCpuMsPerTile: 10,
    fit: { r2: 1, rmseMs: 0, points: 100 },
  },
  delivery: { email: { perNotification: { wallMs: 5, cpuMs: 1, dbMs: 1 }, samples: 100 }, webhook: { perNotification: { wallMs: 3, cpuMs: 1, dbMs: 0.8 }, samples: 100 } },
  measurements: [],
  validation: [],
};

const queue = (id: string, visibility: number, depthAlarm?: number) => ({ id, visibilityTimeoutSeconds: visibility, retentionSeconds: 345_600, maxReceiveCount: 3, ...(depthAlarm === undefined ? {} : { depthAlarm }) });

export const SETTINGS: TemplateSettings = {
  stackName: 'watchpoint-test',
  functions: {
    batcher: { id: 'BatcherFunction', memoryMb: 256, timeoutSeconds: 30, architecture: 'arm64', batchSize: 1 },
    evalUrgent: { id: 'EvalWorkerUrgent', memoryMb: 1024, timeoutSeconds: 300, architecture: 'arm64', provisionedConcurrency: 5, batchSize: 1, queue: queue('EvalQueueUrgent', 1800, 100) },
    evalStandard: { id: 'EvalWorkerStandard', memoryMb: 1024, timeoutSeconds: 300, architecture: 'arm64', reservedConcurrency: 50, batchSize: 10, queue: queue('EvalQueueStandard', 1800, 1000) },
    email: { id: 'EmailWorkerFunction', memoryMb: 256, timeoutSeconds: 30, architecture: 'arm64', batchSize: 10, queue: queue('NotificationQueue', 180, 500) },
    webhook: { id: 'WebhookWorkerFunction', memoryMb: 256, timeoutSeconds: 30, architecture: 'arm64', batchSize: 10, queue: queue('WebhookNotificationQueue', 180, 500) },
  },
  deadLetter: { id: 'DeadLetterQueueShared', visibilityTimeoutSeconds: 30, retentionSeconds: 1_209_600 },
  notificationSpike: { threshold: 1000, periodSeconds: 300 },
  pollSchedule: 'rate(15 minutes)',
};

