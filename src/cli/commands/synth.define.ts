import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands `synth`: each flag declared once, below; parseSynthOptions (synth.ts) validates them. */
export interface SynthFlags extends CommonOptions {
  out: string;
  imageTag: string;
  json?: boolean;
  verbose?: boolean;
}

export const defineSynth: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('synth')
      .description('Synthesize the CloudFormation templates offline (no AWS credentials needed).')
      .option('-o, --out <dir>', 'output directory for the cloud assembly', 'cdk.out')
      .option('--image-tag <tag>', 'eval-worker image tag in the registry repository', 'latest')
      .option('--json', 'print the result as JSON on stdout')
      .option('--verbose', 'one line per bundle (size, built or reused, directory) and esbuild warnings (also WATCHPOINT_DEBUG=1)'),
    { listAll: true },
  ).action(async (flags: SynthFlags) => {
    const { parseSynthOptions, runSynth } = await import('./synth.ts');
    definer.exit(await runSynth(parseSynthOptions(flags, definer.context(flags))));
  });
};
