// The drills `watchpoint dev --drill NAME` runs (src/dev/drills.ts), by name. Here, in the bundled part of the
// tree, so `--help` and the flag checks do not load a .ts file from src/dev (Node's type stripper costs ~30 ms).
export const DRILLS = {
  'webhook-failing': "a customer's webhook receiver answers 503: SQS retries each notification 3 times, then the shared DLQ holds it and DeadLetterQueueNotEmptyAlarm fires",
  'forecasts-stop': "RunPod stops accepting forecast runs: no ForecastReady arrives, and the dead man's switch (NowcastStaleAlarm) fires",
  'corrupt-tile': 'a forecast run arrives with a tile whose data does not match its checksum: the eval job fails with ZarrChecksumError and CorruptForecastAlarm fires',
} as const;

export type DrillName = keyof typeof DRILLS;
