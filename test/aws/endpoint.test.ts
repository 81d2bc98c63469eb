// Issue 14 items 4 and 5: the stage's awsEndpointUrl (and region) is the only endpoint any client
// uses, toolkit-lib's included; a shell AWS_ENDPOINT_URL never redirects a command. A recording
// AWS endpoint on 127.0.0.1, and every host name the process resolves, are checked.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deployCommand } from '../../src/cli/commands/deploy.ts';
import { diffCommand } from '../../src/cli/commands/diff.ts';
import { startAwsRuntime, endAwsRuntime } from '../../src/cli/aws/runtime.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { awsError, callerIdentity, guardAwsHostnames, startAwsRecorder, type AwsRecorder, type RecordedCall } from '../helpers/aws-fake.ts';
import { runCli, tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';

/** STS answers; a stack "does not exist"; everything else is an AWS "not found". */
function respond(call: RecordedCall) {
  if (call.action === 'GetCallerIdentity') return callerIdentity();
  if (call.service === 'cloudformation') {
    const stack = decodeURIComponent(/StackName=([^&]+)/.exec(call.body)?.[1] ?? 'x');
    return awsError(call, 'ValidationError', `Stack with id ${stack} does not exist`);
  }
  if (call.action === 'DescribeImages') {
    return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify({ imageDetails: [{ imageTags: ['v1'], imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json' }] }) };
  }
  return undefined;
}

let recorder: AwsRecorder;
let decoy: AwsRecorder;
let guard: ReturnType<typeof guardAwsHostnames>;
const saved = { ...process.env };
const imageInputs = { contextDir: '/tmp', dockerfile: 'Dockerfile', include: [], platform: 'linux/arm64' };

beforeAll(async () => {
  recorder = await startAwsRecorder(respond);
  decoy = await startAwsRecorder(respond);
});
afterAll(async () => {
  await recorder.close();
  await decoy.close();
});
function clean() {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved, { AWS_ACCESS_KEY_ID: 'AKIATEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' });
  delete process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_REGION;
}
afterEach(() => {
  guard?.restore();
  endAwsRuntime();
  clean();
  recorder.calls.length = 0;
  decoy.calls.length = 0;
});

describe('the stage endpoint is the only one', () => {
  it('diff: toolkit-lib sends every call to awsEndpointUrl, none to an AWS host name', async () => {
    clean();
    const cwd = await tempDir();
    await writeConfig(cwd, { dev: { ...VALID_DEV, awsEndpointUrl: recorder.url } });
    guard = guardAwsHostnames();
    const io = new RecordingIo([], false);
    startAwsRuntime({ io, env: {}, verbose: false });
    const code = await diffCommand({ io, options: { env: 'dev' }, env: {}, cwd, imageTag: 'abc123', json: true }, { bundling: false, imageInputs }).catch((error: Error) => error);
    expect(code, io.stderr).toBe(0);
    expect(recorder.calls.map((call) => `${call.service}:${call.action}`)).toContain('cloudformation:DescribeStacks');
    expect(guard.looked.filter((host) => /amazonaws|\.aws$/.test(host))).toEqual([]);
    expect(JSON.parse(io.stdout).map((diff: { stackName: string }) => diff.stackName)).toEqual(['watchpoint-dev-registry', 'watchpoint-dev']);
  }, 120_000);

  it('deploy --dry-run: preflight and toolkit-lib both go to awsEndpointUrl, and the plan says so; a shell AWS_ENDPOINT_URL is ignored with a warning', async () => {
    clean();
    process.env.AWS_ENDPOINT_URL = decoy.url;
    process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = decoy.url;
    const cwd = await tempDir();
    await writeConfig(cwd, { dev: { ...VALID_DEV, awsEndpointUrl: recorder.url } });
    guard = guardAwsHostnames();
    const io = new RecordingIo([], false);
    startAwsRuntime({ io, env: process.env, verbose: false });
    const code = await deployCommand(
      { io, options: { env: 'dev' }, env: process.env, cwd, flags: { dryRun: true, skipImage: true, skipMigrations: true, imageTag: 'v1' } },
      { secrets: async () => ({ ok: true, problems: [] }), bundling: false, imageInputs },
    );
    expect(code, io.stderr).toBe(0);
    const actions = recorder.calls.map((call) => `${call.service}:${call.action}`);
    expect(actions).toContain('sts:GetCallerIdentity');
    expect(actions.filter((a) => a === 'cloudformation:DescribeStacks').length).toBeGreaterThanOrEqual(3);
    expect(decoy.calls).toEqual([]);
    expect(guard.looked.filter((host) => /amazonaws|\.aws$/.test(host))).toEqual([]);
    expect(io.stderr).toContain(`ignoring AWS_ENDPOINT_URL=${decoy.url}, AWS_ENDPOINT_URL_CLOUDFORMATION=${decoy.url} from the shell`);
    expect(io.stderr).toContain(`--aws-endpoint-url ${decoy.url}`);
    expect(io.stdout).toContain(`endpoint ${recorder.url} (not AWS)`);
    // Item 10: a missing bootstrap stack is a warning, not a pass.
    expect(io.stderr).toContain('aws://123456789012/eu-west-1 is not bootstrapped for the CDK (no CDKToolkit stack): a real deploy would ask to bootstrap it first.');
    // The shell is as it was once the run is over.
    endAwsRuntime();
    expect(process.env.AWS_ENDPOINT_URL).toBe(decoy.url);
  }, 120_000);
});

describe('a shell AWS_ENDPOINT_URL never redirects a command', () => {
  it('with no awsEndpointUrl the calls go to real AWS (blocked here), never to the shell endpoint, with a warning whose fix works', async () => {
    clean();
    process.env.AWS_ENDPOINT_URL = decoy.url;
    const cwd = await tempDir();
    await writeConfig(cwd, { dev: VALID_DEV });
    guard = guardAwsHostnames();
    const result = await runCli(['secrets', 'list', '--env', 'dev'], { cwd, env: { ...process.env, WATCHPOINT_AWS_TIMEOUT: '2' } });
    expect(result.code).toBe(1);
    expect(decoy.calls).toEqual([]);
    expect(guard.looked).toContain('ssm.eu-west-1.amazonaws.com');
    expect(result.stderr).toContain(`ignoring AWS_ENDPOINT_URL=${decoy.url} from the shell: environment "dev" talks to real AWS`);
    // The fix the warning gives: the same endpoint as a flag reaches it.
    const fixed = await runCli(['secrets', 'list', '--env', 'dev', '--aws-endpoint-url', decoy.url], { cwd, env: { ...process.env, WATCHPOINT_AWS_TIMEOUT: '2' } });
    expect(decoy.calls.map((call) => call.action)).toContain('DescribeParameters');
    expect(fixed.stderr).not.toContain('ignoring');
  });

  it('--aws-endpoint-url "" undoes a stage endpoint: real AWS, not the stage endpoint', async () => {
    clean();
    const cwd = await tempDir();
    await writeConfig(cwd, { dev: { ...VALID_DEV, awsEndpointUrl: recorder.url } });
    guard = guardAwsHostnames();
    const result = await runCli(['secrets', 'list', '--env', 'dev', '--aws-endpoint-url', ''], { cwd, env: { WATCHPOINT_AWS_TIMEOUT: '2' } });
    expect(result.code).toBe(1);
    expect(recorder.calls).toEqual([]);
    expect(guard.looked).toContain('ssm.eu-west-1.amazonaws.com');
    expect(result.stderr).toContain('Cannot reach ssm:DescribeParameters at https://ssm.eu-west-1.amazonaws.com');
  });
});
