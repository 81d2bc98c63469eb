// `watchpoint invoke` (issue 23 item 4): flags validated before anything, every built-in sample fits
// its trigger, bad events are refused naming the field, prod writers ask first, remote invoke at the
// SDK boundary, and --env local's Lambda Invoke on the wire against a real function container.
//
// aws-sdk-client-mock, and why: moto's Lambda runs a function only in Docker (absent here), so the
// remote Invoke (and the stack listing that leads to it, in the same test) is mocked with the shapes
// the Lambda API reference documents (StatusCode, FunctionError, LogResult = base64 of the last 4 KB
// of log, Payload bytes; Qualifier = the alias name). The local path below needs no mock: the SDK
// talks to the dev platform's own Lambda Invoke (src/dev/lambda-api.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStackResourcesCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { FUNCTION_HANDLERS } from '../../src/stack/bundling/handlers.ts';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { parseInvokeOptions, runInvoke, sampleNames } from '../../src/cli/commands/invoke.ts';
import type { InvokeFlags } from '../../src/cli/commands/invoke.define.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { FUNCTIONS, findFunction } from '../../src/cli/invoke/catalogue.ts';
import { invokeFunction } from '../../src/cli/invoke/lambda.ts';
import { samplesFor } from '../../src/cli/invoke/samples.ts';
import { validateEvent } from '../../src/cli/invoke/validate.ts';
import { FunctionHost } from '../../src/dev/function-host.ts';
import { startGateway, type GatewayTargets } from '../../src/dev/gateway.ts';
import { LambdaApi } from '../../src/dev/lambda-api.ts';
import { LogStore } from '../../src/dev/log-store.ts';
import { tempDir } from '../helpers/cli.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const sampleContext = { envName: 'dev', region: 'eu-west-1', account: '123456789012', now: new Date('2026-12-06T12:00:00Z') };
const stageFlags = (env: string) => ({ env, region: 'eu-west-1', alertEmail: 'oncall@example.com', runpodEndpointId: 'abc123xyz', config: '/nonexistent/watchpoint.json' });

function context(io: RecordingIo, extra: Record<string, unknown> = {}) {
  return { io, options: {}, env: {}, cwd: '/tmp', stdoutIsTty: false, ...extra };
}

async function failure(promise: Promise<unknown>): Promise<{ exitCode: number; code: string; message: string; fix: string }> {
  const error = (await promise.then(() => undefined, (e: unknown) => e)) as { exitCode: number; code: string; message: string; fix: string } | undefined;
  if (!error) throw new Error('expected a failure');
  return error;
}

describe('invoke: flags, validated before anything', () => {
  const parse = (name: string, flags: InvokeFlags) => () => parseInvokeOptions(name, flags, context(new RecordingIo([], false)));
  it.each([
    ['an unknown function', 'mailer', { sample: 'batch' }, /"mailer" is not a WatchPoint function/],
    ['both --event and --sample', 'api', { event: 'e.json', sample: 'health' }, /--event and --sample both give the event/],
    ['neither', 'api', {}, /--event or --sample is needed/],
    ['a sample of another trigger', 'api', { sample: 'batch' }, /--sample "batch" is not a sample for api/],
    ['an empty --event', 'api', { event: ' ' }, /--event is empty/],
  ] as const)('refuses %s with exit 2 and a fix', (_what, name, flags, message) => {
    expect(parse(name, flags)).toThrow(message);
    try {
      parse(name, flags)();
    } catch (error) {
      expect(error).toMatchObject({ exitCode: 2 });
      expect((error as { fix?: string }).fix).toBeTruthy();
    }
  });

  it('takes a function by its name or its construct id, and - as stdin', () => {
    expect(parse('EmailWorkerFunction', { sample: 'batch' })().fn.name).toBe('email-worker');
    expect(parse('batcher', { event: '-' })().source).toEqual({ kind: 'stdin' });
  });
});

describe('invoke: built-in samples and the trigger shapes', () => {
  it('names a construct id of the stack for every function (FUNCTION_HANDLERS, which the stack builds its functions from)', () => {
    const ids = Object.keys(FUNCTION_HANDLERS);
    expect(ids.length).toBeGreaterThan(5);
    expect(FUNCTIONS.map((fn) => fn.constructId).sort()).toEqual(ids.sort());
  });

  for (const fn of FUNCTIONS) {
    it(`every sample of ${fn.name} fits its trigger (${sampleNames(fn).join(', ')})`, () => {
      expect(samplesFor(fn).map((s) => s.name)).toEqual(sampleNames(fn));
      for (const sample of samplesFor(fn)) expect(validateEvent(fn, sample.event(sampleContext))).toEqual([]);
    });
  }

  const event = (name: string, sample: string) => structuredClone(samplesFor(findFunction(name)!).find((s) => s.name === sample)!.event(sampleContext)) as Record<string, any>;
  it.each([
    ['an SQS body that breaks the notification schema', 'email-worker', 'batch', (e: Record<string, any>) => {
      const body = JSON.parse(e.Records[1].body);
      body.watchpoint.id = 'not-a-uuid';
      e.Records[1].body = JSON.stringify(body);
    }, 'Records[1].body.watchpoint.id: expected a valid uuid'],
    ['a webhook notification on the email queue', 'email-worker', 'batch', (e: Record<string, any>) => {
      const body = JSON.parse(e.Records[0].body);
      body.channel = { type: 'webhook', url: 'https://example.com/x' };
      e.Records[0].body = JSON.stringify(body);
    }, 'Records[0].body.channel.type: the email queue carries email notifications only'],
    ['a body that is not JSON', 'webhook-worker', 'batch', (e: Record<string, any>) => (e.Records[0].body = '{oops'), 'Records[0].body: is not JSON'],
    ['more records than the urgent queue delivers', 'eval-worker-urgent', 'batch', (e: Record<string, any>) => e.Records.push(e.Records[0]), 'Records: holds 2 records; the trigger delivers at most 1'],
    ['an S3 key that is not a _SUCCESS object', 'batcher', 'success', (e: Record<string, any>) => (e.Records[0].s3.object.key = 'nowcast/run1/manifest.json'), 'Records[0].s3.object.key: expected <nowcast|medium_range>/<run_id>/_SUCCESS'],
    ['an unknown archiver task', 'archiver', 'archive', (e: Record<string, any>) => (e.task = 'purge'), 'task: expected one of'],
    ['an API request without its method', 'api', 'health', (e: Record<string, any>) => delete e.requestContext.http.method, 'requestContext.http.method: expected a string, got undefined'],
    ['an API request of payload version 1.0', 'api', 'health', (e: Record<string, any>) => (e.version = '1.0'), 'version: expected "2.0", got "1.0"'],
    ['a schedule event from another source', 'data-poller', 'schedule', (e: Record<string, any>) => (e.source = 'custom'), 'source: expected "aws.events"'],
  ])('refuses %s, naming the field', (_what, name, sample, mutate, problem) => {
    const e = event(name, sample);
    mutate(e);
    expect(validateEvent(findFunction(name)!, e).join('\n')).toContain(problem);
  });
});

describe('invoke: remote, at the SDK boundary (aws-sdk-client-mock: see the header)', () => {
  const cloudformation = new CloudFormationClient({ region: 'eu-west-1', credentials });
  const lambda = new LambdaClient({ region: 'eu-west-1', credentials });
  const cfn = mockClient(cloudformation);
  const lam = mockClient(lambda);
  afterAll(() => {
    cfn.restore();
    lam.restore();
  });
  beforeEach(() => {
    cfn.reset();
    lam.reset();
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'watchpoint-prod', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date() }] });
    cfn.on(DescribeStackResourcesCommand).resolves({
      StackResources: [
        { LogicalResourceId: 'FunctionsEvalWorkerUrgentFunctionD572B0F8', PhysicalResourceId: 'watchpoint-prod-EvalWorkerUrgent-abc', ResourceType: 'AWS::Lambda::Function', ResourceStatus: 'UPDATE_COMPLETE', Timestamp: new Date() },
        { LogicalResourceId: 'FunctionsEvalWorkerUrgentFunctionAliasliveE6EE2E7C', PhysicalResourceId: 'arn:aws:lambda:eu-west-1:123456789012:function:watchpoint-prod-EvalWorkerUrgent-abc:live', ResourceType: 'AWS::Lambda::Alias', ResourceStatus: 'UPDATE_COMPLETE', Timestamp: new Date() },
        { LogicalResourceId: 'FunctionsApiFunction7CCE6205', PhysicalResourceId: 'watchpoint-prod-ApiFunction-xyz', ResourceType: 'AWS::Lambda::Function', ResourceStatus: 'UPDATE_COMPLETE', Timestamp: new Date() },
      ],
    });
  });
  const tail = ['START RequestId: 1f Version: 7', '{"level":"ERROR","message":"tile checksum mismatch"}', 'END RequestId: 1f', 'REPORT RequestId: 1f\tDuration: 12.00 ms'].join('\n');
  const run = (io: RecordingIo, name: string, flags: InvokeFlags, extra: Record<string, unknown> = {}) =>
    runInvoke(parseInvokeOptions(name, flags, { ...context(io, { options: stageFlags('prod'), now: () => sampleContext.now }), clients: { cloudformation, lambda }, ...extra }));

  it('invokes the alias with the event and the log tail; shows the result, the function error and the decoded tail; exit 1 with a fix', async () => {
    lam.on(InvokeCommand).resolves({
      StatusCode: 200,
      ExecutedVersion: '7',
      FunctionError: 'Unhandled',
      LogResult: Buffer.from(tail).toString('base64'),
      Payload: new TextEncoder().encode(JSON.stringify({ errorType: 'ChecksumError', errorMessage: 'tile checksum mismatch' })) as never,
    });
    const io = new RecordingIo([], false);
    const error = await failure(run(io, 'eval-worker-urgent', { sample: 'batch', yes: true }));
    expect(error).toMatchObject({ exitCode: 1, code: 'FUNCTION_ERROR' });
    expect(error.fix).toMatch(/watchpoint logs --env prod/);
    const call = lam.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(call).toMatchObject({ FunctionName: 'watchpoint-prod-EvalWorkerUrgent-abc', Qualifier: 'live', InvocationType: 'RequestResponse', LogType: 'Tail' });
    const sent = JSON.parse(new TextDecoder().decode(call.Payload as Uint8Array));
    expect(validateEvent(findFunction('eval-worker-urgent')!, sent)).toEqual([]);
    expect(io.stderr).toContain('{"level":"ERROR","message":"tile checksum mismatch"}');
    expect(io.stderr).toContain('Function error (Unhandled): ChecksumError: tile checksum mismatch');
    expect(JSON.parse(io.stdout)).toEqual({ errorType: 'ChecksumError', errorMessage: 'tile checksum mismatch' });
  });

  it('--json puts one document on stdout (a function without an alias: no Qualifier)', async () => {
    lam.on(InvokeCommand).resolves({ StatusCode: 200, ExecutedVersion: '$LATEST', LogResult: Buffer.from('START RequestId: 2a\nREPORT RequestId: 2a').toString('base64'), Payload: new TextEncoder().encode('{"statusCode":200,"body":"{\\"status\\":\\"ok\\"}"}') as never });
    const io = new RecordingIo([], false);
    expect(await run(io, 'api', { sample: 'health', json: true })).toBe(0);
    expect(lam.commandCalls(InvokeCommand)[0]!.args[0].input.Qualifier).toBeUndefined();
    const doc = JSON.parse(io.stdout);
    expect(doc).toMatchObject({ env: 'prod', function: 'api', event: 'sample:health', statusCode: 200, functionError: null, payload: { statusCode: 200 }, logTail: ['START RequestId: 2a', 'REPORT RequestId: 2a'] });
  });

  it('a writing function in prod without a terminal needs --yes: exit 2 before any AWS call', async () => {
    const error = await failure(run(new RecordingIo([], false), 'email-worker', { sample: 'batch' }));
    expect(error).toMatchObject({ exitCode: 2, code: 'CONFIRMATION_REQUIRED' });
    expect(cfn.calls()).toHaveLength(0);
    expect(lam.calls()).toHaveLength(0);
  });

  it('in a terminal, a writing function in prod asks for the environment name first', async () => {
    lam.on(InvokeCommand).resolves({ StatusCode: 200, Payload: new TextEncoder().encode('{"batchItemFailures":[]}') as never });
    const io = new RecordingIo(['prod'], true);
    cfn.on(DescribeStackResourcesCommand).resolves({ StackResources: [{ LogicalResourceId: 'FunctionsEmailWorkerFunction277C1FAF', PhysicalResourceId: 'watchpoint-prod-EmailWorker', ResourceType: 'AWS::Lambda::Function', ResourceStatus: 'UPDATE_COMPLETE', Timestamp: new Date() }] });
    expect(await run(io, 'email-worker', { sample: 'batch' })).toBe(0);
    expect(io.questions[0]).toMatchObject({ kind: 'input', field: 'confirmation' });
  });

  it('a bad event file is refused naming the field, before any AWS call', async () => {
    const dir = await tempDir();
    const file = join(dir, 'event.json');
    writeFileSync(file, JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: 'x/y' } } }] }));
    const error = await failure(run(new RecordingIo([], false), 'batcher', { event: file }, { cwd: dir }));
    expect(error).toMatchObject({ exitCode: 2, code: 'EVENT_INVALID' });
    expect(error.message).toContain('Records[0].s3.object.key');
    expect(error.fix).toContain('--sample success');
    expect(cfn.calls()).toHaveLength(0);
  });

  it('reads the event from stdin with --event -, and refuses stdin that is not JSON', async () => {
    const error = await failure(run(new RecordingIo([], false), 'archiver', { event: '-' }, { readStdin: async () => '{"task":' }));
    expect(error).toMatchObject({ exitCode: 2 });
    expect(error.message).toMatch(/^--event stdin is not JSON/);
    lam.on(InvokeCommand).resolves({ StatusCode: 200, Payload: new TextEncoder().encode('{"task":"cleanup"}') as never });
    cfn.on(DescribeStackResourcesCommand).resolves({ StackResources: [{ LogicalResourceId: 'FunctionsArchiverFunctionE9862A7F', PhysicalResourceId: 'watchpoint-prod-Archiver', ResourceType: 'AWS::Lambda::Function', ResourceStatus: 'UPDATE_COMPLETE', Timestamp: new Date() }] });
    expect(await run(new RecordingIo([], false), 'archiver', { event: '-' }, { readStdin: async () => '{"task":"cleanup"}' })).toBe(0);
  });
});

describe('invoke --env local: Lambda Invoke served by the dev platform (no mock)', () => {
  it('runs the event in the function\'s container and answers with the payload, the function error and the log tail', { timeout: 30_000 }, async () => {
    const dir = await tempDir();
    const module = join(dir, 'handler.mjs');
    writeFileSync(module, `export const handler = async (event) => {\n  console.log(JSON.stringify({ level: 'INFO', message: 'got', records: event.Records?.length ?? 0 }));\n  if (event.fail) throw new RangeError('bad tile');\n  return { batchItemFailures: [] };\n};\n`);
    const logStore = new LogStore();
    const host = new FunctionHost({ name: 'EmailWorkerFunction', modulePath: module, timeoutSeconds: 5, memoryMb: 128, concurrency: 1, arn: 'arn:aws:lambda:us-east-1:000000000000:function:watchpoint-local-EmailWorkerFunction' }, (_fn, line, stream) => logStore.put('/aws/lambda/email', stream, line));
    host.configure({ PATH: process.env.PATH ?? '' });
    await host.start();
    const api = new LambdaApi((name) => (name === 'watchpoint-local-EmailWorkerFunction' ? host : undefined), logStore);
    const gateway = await startGateway();
    gateway.route({ lambda: (req, res) => api.handle(req, res), accessKeyId: credentials.accessKeyId } as Partial<GatewayTargets> as GatewayTargets);
    const client = new LambdaClient({ region: 'us-east-1', endpoint: gateway.url, credentials });
    try {
      const event = samplesFor(findFunction('email-worker')!)[0]!.event(sampleContext);
      const ok = await invokeFunction(client, { functionName: 'watchpoint-local-EmailWorkerFunction', logicalId: 'x' }, event);
      expect(ok).toMatchObject({ statusCode: 200, functionError: undefined, payload: { batchItemFailures: [] } });
      expect(ok.logTail[0]).toMatch(/^START RequestId: /);
      expect(ok.logTail.some((line) => line.includes('"records":2'))).toBe(true);
      expect(ok.logTail.at(-1)).toMatch(/^REPORT RequestId: /);

      const failed = await invokeFunction(client, { functionName: 'watchpoint-local-EmailWorkerFunction', logicalId: 'x' }, { fail: true });
      expect(failed).toMatchObject({ functionError: 'Unhandled', payload: { errorType: 'RangeError', errorMessage: 'bad tile' } });

      await expect(invokeFunction(client, { functionName: 'watchpoint-local-Nope', logicalId: 'x' }, {})).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    } finally {
      client.destroy();
      await gateway.close();
      await host.stop();
    }
  });
});
