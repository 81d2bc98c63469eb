// Baseline for the synth benchmark: the same stacks through a bare in-process app.synth(), no CLI.
import { createPlatformApp } from '../src/stack/app.ts';

const outdir = process.argv[2];
if (!outdir) throw new Error('usage: node bench/bare-synth.ts OUTDIR');
const { app } = createPlatformApp({
  envName: 'bench',
  stage: {
    region: 'eu-west-1',
    alertEmail: 'oncall@example.com',
    runPodEndpointId: 'abc123xyz',
    domainName: '',
    certificateArn: '',
    corsAllowedOrigins: ['*'],
    googleClientId: '',
    githubClientId: '',
    awsEndpointUrl: '',
  },
  imageTag: 'latest',
  outdir,
});
app.synth();
