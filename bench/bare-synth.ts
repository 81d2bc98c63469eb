// Baseline for the synth benchmark: the same stacks through a bare in-process app.synth(), no CLI.
import { stageConfigSchema } from '../src/config/schema.ts';
import { createPlatformApp } from '../src/stack/app.ts';
import { BENCH_ENV, BENCH_STAGE_INPUT } from './stage.ts';

const outdir = process.argv[2];
if (!outdir) throw new Error('usage: node bench/bare-synth.ts OUTDIR');
const { app } = createPlatformApp({ envName: BENCH_ENV, stage: stageConfigSchema.parse(BENCH_STAGE_INPUT), imageTag: 'latest', outdir });
app.synth();
