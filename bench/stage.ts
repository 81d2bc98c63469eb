// The stage both sides of the synth benchmark build: the CLI gets it as flags, the bare baseline
// parses the same values with the same schema, so they synthesize the same stacks.
export const BENCH_ENV = 'bench';
export const BENCH_STAGE_INPUT = { region: 'eu-west-1', alertEmail: 'oncall@example.com', runPodEndpointId: 'abc123xyz' } as const;

export const BENCH_STAGE_FLAGS = [
  '--env', BENCH_ENV,
  '--region', BENCH_STAGE_INPUT.region,
  '--alert-email', BENCH_STAGE_INPUT.alertEmail,
  '--runpod-endpoint-id', BENCH_STAGE_INPUT.runPodEndpointId,
];
