import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

export const defineSynth: DefineCommand = (program, definer) => {
  stageOptions(
    program
      .command('synth')
      .description('Synthesize the CloudFormation templates offline (no AWS credentials needed).')
      .option('-o, --out <dir>', 'output directory for the cloud assembly', 'cdk.out')
      .option('--image-tag <tag>', 'eval-worker image tag in the registry repository', 'latest')
      .option('--json', 'print the result as JSON on stdout'),
    { listAll: true },
  ).action(async (options: CommonOptions & { out: string; imageTag: string; json?: boolean }) => {
    const { synthCommand } = await import('./synth.ts');
    definer.exit(await synthCommand({ ...definer.context(options), out: options.out, imageTag: options.imageTag, json: Boolean(options.json) }));
  });
};
