// The drills `watchpoint dev --drill NAME` runs (drills.ts), by name: light, for --help and flag checks.
export const DRILLS = {
  'webhook-failing': "a customer's webhook receiver answers 503: SQS retries each notification 3 times, then the shared DLQ holds it and DeadLetterQueueNotEmptyAlarm fires",
  'forecasts-stop': "RunPod stops accepting forecast runs: no ForecastReady arrives, and the dead man's switch (NowcastStaleAlarm) fires",
  'corrupt-tile': 'a forecast run arrives with a tile whose data does not match its checksum: the eval job fails with ZarrChecksumError and CorruptForecastAlarm fires',
} as const;

export type DrillName = keyof typeof DRILLS;
