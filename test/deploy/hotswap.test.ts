// `deploy --hotswap`: the refusal (prod, "protected": true) before any AWS call, the orchestration
// against fakes of every port (which method each stack gets, what the output says, the marker
// `status` reads, the ledger record), and the marker in SSM on moto.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SSMClient } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { hotswapMarkerName, nextMarker, restoreCommand, ssmHotswapMarker, templateFingerprint, type HotswapMarker, type HotswapMarkerPort } from '../../src/cli/deploy/hotswap.ts';
import { deploy } from '../../src/cli/deploy/plan.ts';
import type { StackDiff } from '../../src/cli/deploy/ports.ts';
import type { ReleaseInput } from '../../src/cli/releases/recorder.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { VALID_DEV, readConfig, runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import { motoClient, uniqueEnvName } from '../helpers/moto.ts';
import { fakes, projectWithImageContext, request } from './fakes.ts';

const FN = { logicalId: 'FunctionsApiHandler1A2B3C4D', resourceType: 'AWS::Lambda::Function' };
const lambdaOnly = (stackName: string): StackDiff => ({ stackName, isNew: false, changes: 1, permissionChange: 'none', destructive: [], formatted: '', resources: [FN] });

function memoryMarker(initial?: HotswapMarker, log?: string[]): HotswapMarkerPort & { value: () => HotswapMarker | undefined; writes: number } {
  let value = initial;
  const port = {
    writes: 0,
    value: () => value,
    async read() {
      return value;
    },
    async write(next: HotswapMarker | undefined) {
      port.writes += 1;
      log?.push(`marker ${next ? next.stacks.map((s) => `${s.stackName}:${s.resources.map((r) => r.logicalId).join('+')}`).join(',') : '(deleted)'}`);
      value = next;
    },
  };
  return port;
}

describe('deploy --hotswap is refused for prod and protected stages, before any AWS call (exit 2)', () => {
  let cwd: string;
  beforeEach(async () => {
    cwd = await tempDir();
    // An endpoint nothing listens on: any AWS call would fail with a connection error, not exit 2.
    const unreachable = { ...VALID_DEV, awsEndpointUrl: 'http://127.0.0.1:9' };
    await writeConfig(cwd, { prod: unreachable, staging: { ...unreachable, protected: true }, dev: unreachable });
  });

  it.each([
    ['prod', /"prod" is production/],
    ['staging', /"staging" is marked "protected": true/],
  ])('--env %s', async (env, why) => {
    const r = await runCli(['deploy', '--env', env, '--hotswap', '--yes'], { cwd, env: { PATH: '/nonexistent' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--hotswap is refused');
    expect(r.stderr).toMatch(why);
    expect(r.stderr).toContain('drifts from its CloudFormation template');
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^\\s*fix: Deploy it through CloudFormation: \`watchpoint deploy --env ${env}\``));
    expect(r.stdout).toBe('');
    expect(existsSync(join(cwd, '.watchpoint'))).toBe(false);
  });

  it('"protected" must be a boolean (exit 2 naming the field)', async () => {
    await writeConfig(cwd, { dev: { ...VALID_DEV, protected: 'yes' } });
    const r = await runCli(['deploy', '--env', 'dev', '--hotswap'], { cwd, env: { PATH: '/nonexistent' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('protected');
    expect(r.stderr).toContain('fix:');
  });

  it('`init` rewriting an environment keeps its "protected" marker (init does not ask for it)', async () => {
    const r = await runCli(['init', '--env', 'staging', '--region', 'eu-west-2', '--yes'], { cwd });
    expect(r.code).toBe(0);
    expect((await readConfig(cwd)).environments.staging).toMatchObject({ region: 'eu-west-2', protected: true });
  });

  it('--help lists --hotswap and what it leaves behind', async () => {
    const r = await runCli(['deploy', '--help'], { cwd });
    expect(r.stdout).toContain('--hotswap');
    expect(r.stdout).toContain('watchpoint status');
  });
});

describe('deploy --hotswap orchestration', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await projectWithImageContext();
  });

  it('a Lambda-only change goes to toolkit-lib as a hotswap; the output names each hotswapped function; the marker and a "hotswap" release are written', async () => {
    const io = new RecordingIo([], true);
    const marker = memoryMarker();
    const records: ReleaseInput[] = [];
    const f = fakes(io, dir, {
      imagePresent: true,
      diffs: { 'watchpoint-dev': lambdaOnly('watchpoint-dev') },
      hotswap: { 'watchpoint-dev': { method: 'hotswap', hotswapped: [{ ...FN, physicalName: 'watchpoint-dev-api' }], viaCloudFormation: [] } },
    });
    const code = await deploy(request(dir, { hotswap: true }), { ...f.deps, hotswapMarker: marker, recordRelease: async (input) => void records.push(input) });
    expect(code).toBe(0);
    expect(f.log).toContain('deploy watchpoint-dev (hotswap)');
    expect(io.stdout).toContain('watchpoint-dev: hotswapped 1 resource(s) straight to Lambda; nothing went through CloudFormation');
    expect(io.stdout).toContain('hotswapped  FunctionsApiHandler1A2B3C4D (AWS::Lambda::Function, watchpoint-dev-api)');
    expect(marker.value()?.stacks).toEqual([{ stackName: 'watchpoint-dev', resources: [{ ...FN, physicalName: 'watchpoint-dev-api' }] }]);
    expect(marker.value()?.operator).toBe('arn:aws:iam::123456789012:role/ops');
    expect(records.map((r) => [r.kind, r.outcome])).toEqual([['hotswap', 'succeeded']]);
    expect(io.stderr).toContain('Hotswapped "dev"');
  });

  it('any non-Lambda change sends that stack through a change set, and the output says which change and why; no marker, a "deploy" release', async () => {
    const io = new RecordingIo([], true);
    const marker = memoryMarker();
    const records: ReleaseInput[] = [];
    const queue = { logicalId: 'QueuesEval9F8E7D6C', resourceType: 'AWS::SQS::Queue' };
    const f = fakes(io, dir, { imagePresent: true, diffs: { 'watchpoint-dev': { ...lambdaOnly('watchpoint-dev'), changes: 2, resources: [FN, queue] } } });
    const code = await deploy(request(dir, { hotswap: true }), { ...f.deps, hotswapMarker: marker, recordRelease: async (input) => void records.push(input) });
    expect(code).toBe(0);
    expect(f.log).toContain('deploy watchpoint-dev');
    expect(f.log).not.toContain('deploy watchpoint-dev (hotswap)');
    expect(io.stdout).toContain('watchpoint-dev: deployed through CloudFormation (change set); nothing was hotswapped');
    expect(io.stdout).toContain('cloudformation  QueuesEval9F8E7D6C (AWS::SQS::Queue): not a Lambda change: goes through CloudFormation');
    expect(marker.writes).toBe(0);
    expect(records.map((r) => r.kind)).toEqual(['deploy']);
  });

  it('the next normal deploy that changes the stack clears the marker; one CloudFormation finds unchanged keeps it and says so, with a fix', async () => {
    const previous: HotswapMarker = { at: '2026-12-06T22:00:00.000Z', operator: 'arn:aws:iam::123456789012:role/ops', stacks: [{ stackName: 'watchpoint-dev', resources: [FN] }] };

    const unchanged = memoryMarker(previous);
    const quiet = new RecordingIo([], true);
    // The template this checkout synthesized (the fake synth writes none): the function's code is in it.
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(join(dir, 'cdk.out'), { recursive: true });
    await writeFile(join(dir, 'cdk.out', 'watchpoint-dev.template.json'), JSON.stringify({ Resources: { [FN.logicalId]: { Type: FN.resourceType, Properties: { Code: { S3Bucket: 'assets-bucket', S3Key: 'v1.zip' } } } } }));
    await deploy(request(dir), { ...fakes(quiet, dir, { imagePresent: true, noOp: ['watchpoint-dev'] }).deps, hotswapMarker: unchanged });
    expect(unchanged.value()).toEqual(previous);
    expect(quiet.stderr).toMatch(/watchpoint-dev still holds hotswapped changes \(FunctionsApiHandler1A2B3C4D\): its template already is this checkout's, so CloudFormation found nothing to change/);
    expect(quiet.stderr).toContain("fix: put each back on its template's code");
    expect(quiet.stderr).toContain('aws lambda update-function-code --region eu-west-1 --function-name "$(aws cloudformation describe-stack-resource --region eu-west-1 --stack-name watchpoint-dev --logical-resource-id FunctionsApiHandler1A2B3C4D');
    expect(quiet.stderr).toContain('--s3-bucket assets-bucket --s3-key v1.zip');

    const cleared = memoryMarker(previous);
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, diffs: { 'watchpoint-dev': lambdaOnly('watchpoint-dev') } });
    expect(await deploy(request(dir), { ...f.deps, hotswapMarker: cleared })).toBe(0);
    expect(f.log).toContain('deploy watchpoint-dev');
    expect(cleared.value()).toBeUndefined();
    expect(io.stderr).not.toContain('hotswapped changes');
  });

  it('the marker names the stack and its functions before any is hotswapped; a hotswap that changed nothing takes it back', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, diffs: { 'watchpoint-dev': lambdaOnly('watchpoint-dev') } });
    const marker = memoryMarker(undefined, f.log);
    expect(await deploy(request(dir, { hotswap: true }), { ...f.deps, hotswapMarker: marker })).toBe(0);
    const at = (line: string) => f.log.indexOf(line);
    expect(at('marker watchpoint-dev:FunctionsApiHandler1A2B3C4D')).toBeGreaterThan(-1);
    expect(at('marker watchpoint-dev:FunctionsApiHandler1A2B3C4D')).toBeLessThan(at('deploy watchpoint-dev (hotswap)'));
    // The fake's toolkit-lib found nothing to hotswap: the final marker is the one from before (none).
    expect(marker.value()).toBeUndefined();
  });

  it('a marker that cannot be written before the hotswap stops it: nothing of that stack is hotswapped (exit 1, with a fix)', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, diffs: { 'watchpoint-dev': lambdaOnly('watchpoint-dev') } });
    const broken: HotswapMarkerPort = {
      read: async () => undefined,
      write: async () => {
        throw Object.assign(new Error('User is not authorized to perform: ssm:PutParameter'), { name: 'AccessDeniedException' });
      },
    };
    await expect(deploy(request(dir, { hotswap: true }), { ...f.deps, hotswapMarker: broken })).rejects.toMatchObject({ code: 'HOTSWAP_MARKER_FAILED', exitCode: 1, fix: expect.stringContaining('ssm:PutParameter on /dev/watchpoint-deploy/*') });
    expect(f.log).not.toContain('deploy watchpoint-dev (hotswap)');
  });

  it('a hotswap that fails calling Lambda says so (not CloudFormation stack events), and the marker still names the stack', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, diffs: { 'watchpoint-dev': lambdaOnly('watchpoint-dev') }, failHotswap: 'watchpoint-dev' });
    const marker = memoryMarker();
    const error = await deploy(request(dir, { hotswap: true }), { ...f.deps, hotswapMarker: marker }).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'HOTSWAP_FAILED', fix: expect.stringContaining('watchpoint deploy --env dev --hotswap') });
    const { formatError } = await import('../../src/cli/errors.ts');
    const text = formatError(error);
    expect(text).toContain('ResourceConflictException');
    expect(text).not.toContain('DescribeStackEvents');
    expect(f.log).not.toContain('cfn:DescribeStackEvents watchpoint-dev');
    expect(marker.value()?.stacks.map((s) => s.stackName)).toEqual(['watchpoint-dev']);
  });

  it('Ctrl-C during a hotswap says what state the functions are in, not that CloudFormation keeps going (exit 130); the marker names the stack', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, diffs: { 'watchpoint-dev': lambdaOnly('watchpoint-dev') }, hangDeploy: 'watchpoint-dev' });
    const marker = memoryMarker();
    const running = deploy(request(dir, { hotswap: true }), { ...f.deps, hotswapMarker: marker });
    await vi.waitFor(() => expect(f.log).toContain('deploy watchpoint-dev (hotswap)'));
    f.interrupt();
    expect(await running).toBe(130);
    expect(io.stderr).toContain('Interrupted while hotswapping watchpoint-dev: a function may be partly updated (its code, its environment, or its `live` alias not yet moved to the new version)');
    expect(io.stderr).not.toContain('CloudFormation keeps going');
    expect(marker.value()?.stacks.map((s) => s.stackName)).toEqual(['watchpoint-dev']);
  });

  it('a hotswap back to the template CloudFormation holds: toolkit-lib gets the marker\'s fingerprint of what was hotswapped, and the stack leaves the marker', async () => {
    const previous: HotswapMarker = { at: '2026-12-06T22:00:00.000Z', operator: 'arn:aws:iam::123456789012:role/ops', stacks: [{ stackName: 'watchpoint-dev', resources: [FN], templateSha256: 'abc123' }] };
    const io = new RecordingIo([], true);
    const records: ReleaseInput[] = [];
    const f = fakes(io, dir, {
      imagePresent: true,
      // No diff against CloudFormation's template: this checkout is back on what CloudFormation holds.
      hotswap: { 'watchpoint-dev': { method: 'hotswap', hotswapped: [FN], viaCloudFormation: [] } },
    });
    const marker = memoryMarker(previous, f.log);
    expect(await deploy(request(dir, { hotswap: true }), { ...f.deps, hotswapMarker: marker, recordRelease: async (input) => void records.push(input) })).toBe(0);
    expect(f.log).toContain('deploy watchpoint-dev (hotswap, baseline abc123)');
    // Marked (fingerprint unset) before the hotswap, cleared after it.
    expect(f.log.filter((line) => line.startsWith('marker '))).toEqual(['marker watchpoint-dev:FunctionsApiHandler1A2B3C4D', 'marker (deleted)']);
    expect(marker.value()).toBeUndefined();
    expect(records.map((r) => r.kind)).toEqual(['hotswap']);
    expect(io.stderr).not.toContain('Nothing to change');
  });

  it('a completed hotswap records the fingerprint of the template it applied', async () => {
    const io = new RecordingIo([], true);
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(join(dir, 'cdk.out'), { recursive: true });
    const template = { Resources: { [FN.logicalId]: { Type: FN.resourceType, Properties: { Code: { S3Bucket: 'b', S3Key: 'v2.zip' } } } } };
    await writeFile(join(dir, 'cdk.out', 'watchpoint-dev.template.json'), JSON.stringify(template, null, 1));
    const f = fakes(io, dir, { imagePresent: true, diffs: { 'watchpoint-dev': lambdaOnly('watchpoint-dev') }, hotswap: { 'watchpoint-dev': { method: 'hotswap', hotswapped: [FN], viaCloudFormation: [] } } });
    const marker = memoryMarker();
    expect(await deploy(request(dir, { hotswap: true }), { ...f.deps, hotswapMarker: marker })).toBe(0);
    expect(marker.value()?.stacks[0]?.templateSha256).toBe(templateFingerprint(template));
  });

  it('a change set puts back only what it changes: a hotswapped function it leaves alone stays in the marker', async () => {
    const other = { logicalId: 'FunctionsEmailWorker11112222', resourceType: 'AWS::Lambda::Function' };
    const previous: HotswapMarker = { at: '2026-12-06T22:00:00.000Z', operator: 'arn:aws:iam::123456789012:role/ops', stacks: [{ stackName: 'watchpoint-dev', resources: [FN, other] }] };
    const marker = memoryMarker(previous);
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, diffs: { 'watchpoint-dev': { ...lambdaOnly('watchpoint-dev'), changes: 2, resources: [FN, { logicalId: 'QueuesEval9F8E7D6C', resourceType: 'AWS::SQS::Queue' }] } } });
    expect(await deploy(request(dir), { ...f.deps, hotswapMarker: marker })).toBe(0);
    expect(marker.value()?.stacks).toEqual([{ stackName: 'watchpoint-dev', resources: [other] }]);
  });

  it('a final marker that cannot be written is a warning with a fix, never a failed deploy (the functions were updated)', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, {
      imagePresent: true,
      diffs: { 'watchpoint-dev': lambdaOnly('watchpoint-dev') },
      hotswap: { 'watchpoint-dev': { method: 'hotswap', hotswapped: [FN], viaCloudFormation: [] } },
    });
    let writes = 0;
    const broken: HotswapMarkerPort = {
      read: async () => undefined,
      // The mark before the hotswap goes through; the final write fails.
      write: async () => {
        writes += 1;
        if (writes > 1) throw Object.assign(new Error('User is not authorized to perform: ssm:PutParameter'), { name: 'AccessDeniedException' });
      },
    };
    expect(await deploy(request(dir, { hotswap: true }), { ...f.deps, hotswapMarker: broken })).toBe(0);
    expect(io.stderr).toContain('the hotswap marker (SSM) could not be written: AccessDeniedException');
    expect(io.stderr).toContain('fix: check that this identity may ssm:GetParameter, ssm:PutParameter and ssm:DeleteParameter on /dev/watchpoint-deploy/*');
  });

  it('--dry-run --hotswap says per stack whether it would hotswap or go through a change set, and changes nothing', async () => {
    const io = new RecordingIo([], true);
    const marker = memoryMarker();
    const f = fakes(io, dir, {
      imagePresent: true,
      diffs: { 'watchpoint-dev-registry': { ...lambdaOnly('watchpoint-dev-registry'), resources: [{ logicalId: 'Ledger', resourceType: 'AWS::S3::Bucket' }] }, 'watchpoint-dev': lambdaOnly('watchpoint-dev') },
    });
    expect(await deploy(request(dir, { hotswap: true, dryRun: true }), { ...f.deps, hotswapMarker: marker })).toBe(0);
    expect(io.stdout).toContain('toolkit-lib hotswap watchpoint-dev (lambda:UpdateFunctionCode / UpdateFunctionConfiguration for FunctionsApiHandler1A2B3C4D;');
    expect(io.stdout).toContain('not hotswapped: Ledger (AWS::S3::Bucket): not a Lambda change');
    expect(f.log.filter((l) => l.startsWith('deploy '))).toEqual([]);
    expect(marker.writes).toBe(0);
  });
});

describe('the hotswap marker', () => {
  it('merges what was hotswapped before, and a CloudFormation deploy of a stack removes it', () => {
    const at = new Date('2026-12-06T23:00:00Z');
    const first = nextMarker(undefined, [{ stackName: 's', method: 'hotswap', resources: [FN] }], at, 'me');
    const other = { logicalId: 'FunctionsEmailWorker11112222', resourceType: 'AWS::Lambda::Function' };
    const second = nextMarker(first, [{ stackName: 's', method: 'hotswap', resources: [other] }, { stackName: 'r', method: 'unchanged', resources: [] }], at, 'me');
    expect(second?.stacks[0]?.resources.map((r) => r.logicalId)).toEqual(['FunctionsApiHandler1A2B3C4D', 'FunctionsEmailWorker11112222']);
    expect(nextMarker(second, [{ stackName: 's', method: 'unchanged', resources: [] }], at, 'me')).toEqual(second);
    expect(nextMarker(second, [{ stackName: 's', method: 'cloudformation', resources: [] }], at, 'me')).toBeUndefined();
  });

  it('restoreCommand: the update-function-code that puts a function back on its template\'s code (zip or image, names resolved)', () => {
    const template = JSON.stringify({
      Resources: {
        Api: { Type: 'AWS::Lambda::Function', Properties: { Code: { S3Bucket: { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' }, S3Key: 'abc.zip' } } },
        Eval: { Type: 'AWS::Lambda::Function', Properties: { Code: { ImageUri: { 'Fn::Join': ['', [{ Ref: 'AWS::AccountId' }, '.dkr.ecr.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/watchpoint-dev-eval-worker:t1']] } } } },
        Odd: { Type: 'AWS::Lambda::Function', Properties: { Code: { S3Bucket: { 'Fn::ImportValue': 'x' }, S3Key: 'k' } } },
      },
    });
    expect(restoreCommand(template, 'watchpoint-dev', { logicalId: 'Api', physicalName: 'watchpoint-dev-api' }, '123456789012', 'eu-west-1')).toBe(
      'aws lambda update-function-code --region eu-west-1 --function-name watchpoint-dev-api --s3-bucket cdk-hnb659fds-assets-123456789012-eu-west-1 --s3-key abc.zip',
    );
    expect(restoreCommand(template, 'watchpoint-dev', { logicalId: 'Eval' }, '123456789012', 'eu-west-1')).toBe(
      'aws lambda update-function-code --region eu-west-1 --function-name "$(aws cloudformation describe-stack-resource --region eu-west-1 --stack-name watchpoint-dev --logical-resource-id Eval --query StackResourceDetail.PhysicalResourceId --output text)" --image-uri 123456789012.dkr.ecr.eu-west-1.amazonaws.com/watchpoint-dev-eval-worker:t1',
    );
    // Behind an alias (what the triggers invoke): the alias goes back to the version CloudFormation holds too.
    const aliased = JSON.parse(template);
    aliased.Resources.ApiVersion1 = { Type: 'AWS::Lambda::Version', Properties: { FunctionName: { Ref: 'Api' } } };
    aliased.Resources.ApiLive = { Type: 'AWS::Lambda::Alias', Properties: { FunctionName: { Ref: 'Api' }, FunctionVersion: { 'Fn::GetAtt': ['ApiVersion1', 'Version'] }, Name: 'live' } };
    expect(restoreCommand(JSON.stringify(aliased), 'watchpoint-dev', { logicalId: 'Api', physicalName: 'watchpoint-dev-api' }, '123456789012', 'eu-west-1')).toBe(
      'aws lambda update-function-code --region eu-west-1 --function-name watchpoint-dev-api --s3-bucket cdk-hnb659fds-assets-123456789012-eu-west-1 --s3-key abc.zip' +
        ' && aws lambda update-alias --region eu-west-1 --function-name watchpoint-dev-api --name live --function-version "$(aws cloudformation describe-stack-resource --region eu-west-1 --stack-name watchpoint-dev --logical-resource-id ApiVersion1 --query StackResourceDetail.PhysicalResourceId --output text | sed \'s/.*://\')"',
    );
    expect(restoreCommand(template, 'watchpoint-dev', { logicalId: 'Odd' }, '123456789012', 'eu-west-1')).toBeUndefined();
  });

  it('lives in SSM (moto): written, read back, deleted; deleting an absent one is fine', async () => {
    const ssm = motoClient(SSMClient);
    const env = uniqueEnvName('h');
    const port = ssmHotswapMarker(ssm, env);
    expect(await port.read()).toBeUndefined();
    const marker: HotswapMarker = { at: '2026-12-06T23:00:00.000Z', operator: 'arn:aws:sts::123456789012:assumed-role/ops/me', stacks: [{ stackName: `watchpoint-${env}`, resources: [FN] }] };
    await port.write(marker);
    expect(await port.read()).toEqual(marker);
    expect(hotswapMarkerName(env)).toBe(`/${env}/watchpoint-deploy/hotswapped`);
    await port.write(undefined);
    expect(await port.read()).toBeUndefined();
    await port.write(undefined);
  });
});
