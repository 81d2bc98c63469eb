// Child process for the deploy benchmark: `watchpoint deploy --dry-run` as a fresh process would run
// it (preflight, hash, synth with bundling, toolkit-lib load and two diffs), with the AWS API mocked.
// Usage: node bench/suites/deploy-child.ts <cwd> <deployed-templates-dir>
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { deployCommand } from '../../src/cli/commands/deploy.ts';
import { createToolkitCloud } from '../../src/cli/deploy/toolkit.ts';
import { NonInteractiveIo } from '../../src/cli/io.ts';

const [cwd, templates] = process.argv.slice(2) as [string, string];
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const sts = new STSClient({ region: 'eu-west-1', credentials });
const cloudformation = new CloudFormationClient({ region: 'eu-west-1', credentials });
const ecr = new ECRClient({ region: 'eu-west-1', credentials });
const ssm = new SSMClient({ region: 'eu-west-1', credentials });
mockClient(sts).on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:role/bench' });
mockClient(cloudformation).on(DescribeStacksCommand).callsFake((input: { StackName: string }) => ({ Stacks: [{ StackName: input.StackName, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date() }] }));
mockClient(ecr).on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: ['x'] }] });
// The preflight's CDK bootstrap version (SSM /cdk-bootstrap/hnb659fds/version): a current bootstrap.
mockClient(ssm).on(GetParameterCommand).resolves({ Parameter: { Name: '/cdk-bootstrap/hnb659fds/version', Type: 'String', Value: '30' } });

const io = new NonInteractiveIo({ stdout: process.stdout, stderr: { write: () => true } }, true);
const code = await deployCommand(
  {
    io,
    options: { region: 'eu-west-1', alertEmail: 'oncall@example.com', runpodEndpointId: 'abc123xyz', config: join(cwd, 'none.json'), env: 'bench' },
    // The bundle and assembly caches the benchmark's synth baseline uses.
    env: Object.fromEntries(['WATCHPOINT_BUNDLE_CACHE', 'WATCHPOINT_SYNTH_CACHE'].flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : []))),
    cwd,
    // The tag the "deployed" templates were synthesized with: nothing changed, the diff is empty.
    flags: { dryRun: true, skipMigrations: true, imageTag: 'bench' },
  },
  {
    clients: { sts, cloudformation, ecr, ssm },
    secrets: async () => ({ ok: true, problems: [] }),
    cloud: await createToolkitCloud({ notify: () => undefined, localTemplateFor: (name) => join(templates, `${name}.template.json`) }),
  },
);
process.exitCode = code;
