// The real image path: buildah builds a tiny context (FROM scratch: no base image to pull) and pushes
// it to a docker-registry this test starts on 127.0.0.1; only the ECR API is mocked, and its
// DescribeImages answers from that registry, so "already there" is real.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeImagesCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageCommand } from '../../src/cli/commands/image.ts';
import { createRegistryPort } from '../../src/cli/deploy/aws-ports.ts';
import { createContainerCli } from '../../src/cli/deploy/container.ts';
import { deploy } from '../../src/cli/deploy/plan.ts';
import type { ContainerCli } from '../../src/cli/deploy/ports.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { VALID_DEV, tempDir, writeConfig } from '../helpers/cli.ts';
import { countingContainerCli, mockEcrOnRegistry, startLocalRegistry, type LocalRegistry } from '../helpers/local-registry.ts';
import { fakes, request } from './fakes.ts';

const haveTools = await Promise.all(['buildah', 'docker-registry'].map(onPath)).then((found) => found.every(Boolean));

async function onPath(name: string): Promise<boolean> {
  const { access } = await import('node:fs/promises');
  for (const dir of (process.env.PATH ?? '').split(':')) {
    try {
      await access(join(dir, name));
      return true;
    } catch {
      // next
    }
  }
  return false;
}


// On a developer machine without the tools these tests are skipped; in CI (.ci/run installs the
// tools) they always run, so a missing install step fails instead of passing silently.
describe.skipIf(!haveTools && !process.env.CI)('eval-worker image: real buildah build and push to a local registry', () => {
  let work: string;
  let registry: LocalRegistry | undefined;
  let endpoint: string;
  let buildahEnv: NodeJS.ProcessEnv;
  const counts = { build: 0, login: 0, push: 0 };
  let cli: ContainerCli;
  const ecr = new ECRClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const ecrMock = mockClient(ecr);

  beforeAll(async () => {
    work = await tempDir();
    registry = await startLocalRegistry(work);
    endpoint = registry.endpoint;
    buildahEnv = registry.buildahEnv;
    cli = countingContainerCli(createContainerCli('buildah', { env: buildahEnv }), counts);
    mockEcrOnRegistry(ecrMock, endpoint);
  }, 60_000);

  afterAll(async () => {
    registry?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('builds and pushes on the first deploy, and builds and pushes nothing on a second deploy of the same context', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'ctx'));
    await writeFile(join(dir, 'ctx', 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    await writeFile(join(dir, 'ctx', 'hello.txt'), 'hello from the eval worker\n');

    const first = fakes(new RecordingIo([], true), dir, {});
    first.deps.registry = createRegistryPort(ecr);
    first.deps.container = async () => cli;
    expect(await deploy(request(dir), first.deps)).toBe(0);
    expect(counts).toEqual({ build: 1, login: 1, push: 1 });

    const tag = first.log.find((l) => l.startsWith('synth '))!.slice('synth '.length);
    const tags = (await (await fetch(`http://${endpoint}/v2/watchpoint-dev-eval-worker/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toEqual([tag]);
    // Built for linux/arm64, as Lambda's arm64 functions need.
    const manifest = (await (
      await fetch(`http://${endpoint}/v2/watchpoint-dev-eval-worker/manifests/${tag}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
      })
    ).json()) as { config: { digest: string } };
    const config = (await (await fetch(`http://${endpoint}/v2/watchpoint-dev-eval-worker/blobs/${manifest.config.digest}`)).json()) as { architecture: string; os: string };
    expect(config).toMatchObject({ architecture: 'arm64', os: 'linux' });

    const second = fakes(new RecordingIo([], true), dir, {});
    second.deps.registry = createRegistryPort(ecr);
    second.deps.container = async () => cli;
    expect(await deploy(request(dir), second.deps)).toBe(0);
    expect(counts).toEqual({ build: 1, login: 1, push: 1 });
    expect(second.log.filter((l) => l.startsWith('ecr:'))).toEqual([]);
    // First deploy: the check and the post-push check; second deploy: the check.
    expect(ecrMock.commandCalls(DescribeImagesCommand)).toHaveLength(3);
    expect(ecrMock.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(1);

    // `watchpoint image push` agrees: the tag is there, nothing to do.
    await writeConfig(dir, { dev: VALID_DEV });
    const io = new RecordingIo([], true);
    const code = await imageCommand(
      { io, options: {}, env: {}, cwd: dir, action: 'push' },
      { clients: { ecr }, container: cli, imageInputs: second.deps.imageInputs },
    );
    expect(code).toBe(0);
    expect(io.stderr).toContain(`ECR already has watchpoint-dev-eval-worker:${tag}: nothing to build or push.`);
    expect(counts).toEqual({ build: 1, login: 1, push: 1 });
  }, 120_000);

  it('reports a failing build with the tail of its log, and pushes nothing', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY missing-file.txt /x\n');
    const real = createContainerCli('buildah', { env: buildahEnv });
    const logFile = join(dir, 'build.log');
    await writeFile(logFile, '');
    const error = await real
      .build({ contextDir: dir, dockerfile: 'Dockerfile', image: `${endpoint}/broken:1`, platform: 'linux/arm64', logFile })
      .then(() => undefined, (e: unknown) => e as Error & { code: string });
    if (!error) throw new Error('the build should have failed');
    expect(error).toMatchObject({ code: 'CONTAINER_CLI_FAILED' });
    expect(error.message).toContain('missing-file.txt');
    expect(error.message).toContain(logFile);
  }, 60_000);

  it('logs in with the password on stdin only', async () => {
    const dir = await tempDir();
    const seen: string[] = [];
    // A fake "buildah" on PATH that records its argv and stdin.
    await writeFile(join(dir, 'buildah'), `#!/bin/sh\necho "ARGV $*" >> ${join(dir, 'calls')}\ncat >> ${join(dir, 'calls')}\n`, { mode: 0o755 });
    const fake = createContainerCli('buildah', { env: { PATH: `${dir}:${process.env.PATH}` } });
    await fake.login({ registry: endpoint, username: 'AWS', password: 'top-secret-token' });
    const { readFile } = await import('node:fs/promises');
    seen.push(await readFile(join(dir, 'calls'), 'utf8'));
    const [argv, stdin] = seen[0]!.split('\n');
    expect(argv).toBe(`ARGV login --tls-verify=false --username AWS --password-stdin ${endpoint}`);
    expect(argv).not.toContain('top-secret-token');
    expect(stdin).toBe('top-secret-token');
  });
});
