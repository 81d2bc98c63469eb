// The real image path: buildah builds a tiny context (FROM scratch: no base image to pull) and pushes
// it to a docker-registry this test starts on 127.0.0.1; only the ECR API is mocked, and its
// DescribeImages answers from that registry, so "already there" is real.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DescribeImagesCommand, ECRClient, GetAuthorizationTokenCommand, ImageNotFoundException } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageCommand } from '../../src/cli/commands/image.ts';
import { createRegistryPort } from '../../src/cli/deploy/aws-ports.ts';
import { createContainerCli } from '../../src/cli/deploy/container.ts';
import { deploy } from '../../src/cli/deploy/plan.ts';
import type { ContainerCli } from '../../src/cli/deploy/ports.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { VALID_DEV, tempDir, writeConfig } from '../helpers/cli.ts';
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

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// On a developer machine without the tools these tests are skipped; in CI (.ci/run installs the
// tools) they always run, so a missing install step fails instead of passing silently.
describe.skipIf(!haveTools && !process.env.CI)('eval-worker image: real buildah build and push to a local registry', () => {
  let work: string;
  let registry: ChildProcess;
  let endpoint: string;
  let buildahEnv: NodeJS.ProcessEnv;
  const counts = { build: 0, login: 0, push: 0 };
  let cli: ContainerCli;
  const ecr = new ECRClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const ecrMock = mockClient(ecr);

  beforeAll(async () => {
    work = await tempDir();
    const port = await freePort();
    endpoint = `127.0.0.1:${port}`;
    await mkdir(join(work, 'registry'));
    await writeFile(
      join(work, 'registry.yml'),
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry')}\nhttp:\n  addr: ${endpoint}\n`,
    );
    registry = spawn('docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
    for (let i = 0; i < 100; i += 1) {
      const ready = await fetch(`http://${endpoint}/v2/`).then((r) => r.ok, () => false);
      if (ready) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // buildah's storage and login file live in the temp dir, nowhere else.
    await writeFile(join(work, 'storage.conf'), `[storage]\ndriver = "vfs"\ngraphroot = "${join(work, 'storage')}"\nrunroot = "${join(work, 'run')}"\n`);
    buildahEnv = {
      PATH: process.env.PATH,
      HOME: work,
      STORAGE_DRIVER: 'vfs',
      BUILDAH_ISOLATION: 'chroot',
      CONTAINERS_STORAGE_CONF: join(work, 'storage.conf'),
      REGISTRY_AUTH_FILE: join(work, 'auth.json'),
      XDG_RUNTIME_DIR: join(work, 'xdg'),
    };
    await mkdir(join(work, 'xdg'));
    const real = createContainerCli('buildah', { env: buildahEnv });
    cli = {
      name: real.name,
      build: async (input) => {
        counts.build += 1;
        await real.build(input);
      },
      login: async (input) => {
        counts.login += 1;
        await real.login(input);
      },
      push: async (image) => {
        counts.push += 1;
        await real.push(image);
      },
    };

    ecrMock.on(GetAuthorizationTokenCommand).resolves({
      authorizationData: [{ authorizationToken: Buffer.from('AWS:password').toString('base64'), proxyEndpoint: `http://${endpoint}` }],
    });
    ecrMock.on(DescribeImagesCommand).callsFake(async (input: { repositoryName: string; imageIds: { imageTag: string }[] }) => {
      const tag = input.imageIds[0]!.imageTag;
      const response = await fetch(`http://${endpoint}/v2/${input.repositoryName}/manifests/${tag}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
      });
      if (!response.ok) throw new ImageNotFoundException({ message: `tag ${tag} not found`, $metadata: {} });
      return { imageDetails: [{ repositoryName: input.repositoryName, imageTags: [tag] }] };
    });
  }, 60_000);

  afterAll(async () => {
    registry?.kill('SIGTERM');
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
    expect(ecrMock.commandCalls(DescribeImagesCommand)).toHaveLength(2);
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
