// Preflight reads the CDK bootstrap version (SSM /cdk-bootstrap/hnb659fds/version), not only the
// CDKToolkit stack's status: below what the synthesizer requires, deploy asks to upgrade first.
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { createAwsPort, MIN_BOOTSTRAP_VERSION } from '../../src/cli/deploy/aws-ports.ts';
import { deploy } from '../../src/cli/deploy/plan.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { fakes, projectWithImageContext, request } from '../deploy/fakes.ts';
import { isolatedAccount, accountClient } from '../helpers/moto.ts';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { STSClient } from '@aws-sdk/client-sts';

describe('preflight: CDK bootstrap version', () => {
  it('reads the version from SSM on moto (undefined when the parameter is missing)', async () => {
    const account = await isolatedAccount();
    const ssm = accountClient(SSMClient, account);
    const port = createAwsPort({ sts: accountClient(STSClient, account), cloudformation: accountClient(CloudFormationClient, account), ssm });
    expect(await port.bootstrapVersion!()).toBeUndefined();
    await ssm.send(new PutParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version', Value: '30', Type: 'String' }));
    expect(await port.bootstrapVersion!()).toBe(30);
    expect((await ssm.send(new GetParameterCommand({ Name: '/cdk-bootstrap/hnb659fds/version' }))).Parameter?.Value).toBe('30');
  });

  it('an outdated bootstrap stops deploy before any change unless the upgrade is accepted', async () => {
    const dir = await projectWithImageContext();
    const io = new RecordingIo([false], true);
    const f = fakes(io, dir, { imagePresent: true });
    f.deps.aws.bootstrapVersion = async () => MIN_BOOTSTRAP_VERSION - 1;
    await expect(deploy(request(dir), f.deps)).rejects.toMatchObject({ code: 'BOOTSTRAP_REQUIRED', exitCode: 2 });
    expect(io.questions[0]!.message).toContain(`version ${MIN_BOOTSTRAP_VERSION - 1}, older than the ${MIN_BOOTSTRAP_VERSION}`);
    expect(f.log.filter((line) => line.startsWith('deploy ') || line.startsWith('bootstrap '))).toEqual([]);

    const yes = new RecordingIo([true], true);
    const g = fakes(yes, dir, { imagePresent: true });
    g.deps.aws.bootstrapVersion = async () => 5;
    expect(await deploy(request(dir), g.deps)).toBe(0);
    expect(g.log).toContain('bootstrap aws://123456789012/eu-west-1');
    expect(g.log.indexOf('bootstrap aws://123456789012/eu-west-1')).toBeLessThan(g.log.indexOf('deploy watchpoint-dev-registry'));
  });

  it('a current bootstrap asks nothing', async () => {
    const dir = await projectWithImageContext();
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true });
    f.deps.aws.bootstrapVersion = async () => 30;
    expect(await deploy(request(dir), f.deps)).toBe(0);
    expect(io.questions).toEqual([]);
    expect(f.log.some((line) => line.startsWith('bootstrap '))).toBe(false);
  });
});
