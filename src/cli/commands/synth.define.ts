import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

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
  ).action(async (options: CommonOptions & { out: string; imageTag: string; json?: boolean; verbose?: boolean }) => {
    const { synthCommand } = await import('./synth.ts');
    const context = definer.context(options);
    definer.exit(
      await synthCommand({
        ...context,
        out: options.out,
        imageTag: options.imageTag,
        json: Boolean(options.json),
        verbose: Boolean(options.verbose || context.verbose),
      }),
    );
  });
};
