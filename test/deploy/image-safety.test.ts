// The image step's safety against what AWS and Docker really do, where no local server reproduces it:
// - an image index (BuildKit attestations) in ECR is refused before anything deploys;
// - docker builds with no attestations, so it pushes one image manifest;
// - the build process runs while the synth blocks the thread, and a failed build stops deploy
//   before any question or change (a recording `docker` stand-in on PATH).
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createRegistryPort } from '../../src/cli/deploy/aws-ports.ts';
import { existsSync } from 'node:fs';
import { buildArgs, buildFix, createContainerCli } from '../../src/cli/deploy/container.ts';
import { formatError } from '../../src/cli/errors.ts';
import { deploy } from '../../src/cli/deploy/plan.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { fakes, request, projectWithImageContext } from './fakes.ts';

let dir: string;
beforeEach(async () => {
  dir = await projectWithImageContext();
});

describe('an image index in ECR', () => {
  // What ECR's DescribeImages returns for a tag BuildKit pushed with a provenance attestation:
  // imageManifestMediaType is the OCI index type
  // (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageDetail.html).
  const ecr = new ECRClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const ecrMock = mockClient(ecr);

  it('is not "already in ECR": deploy stops in the preflight, before any question or change, and says how to recover', async () => {
    ecrMock.reset();
    ecrMock.on(DescribeImagesCommand).resolves({
      imageDetails: [{ repositoryName: 'watchpoint-prod-eval-worker', imageTags: ['v1'], imageManifestMediaType: 'application/vnd.oci.image.index.v1+json', artifactMediaType: 'application/vnd.oci.image.index.v1+json' }],
    });
    const io = new RecordingIo([true, true], true);
    const f = fakes(io, dir, {});
    f.deps.registry = createRegistryPort(ecr);
    const error = await deploy(request(dir, { envName: 'prod', imageTag: 'v1' }), f.deps).then(() => undefined, (e: unknown) => e as { code: string; fix: string; message: string });
    expect(error).toMatchObject({ code: 'IMAGE_IS_INDEX' });
    expect(error!.message).toContain('watchpoint-prod-eval-worker:v1 is an image index');
    expect(error!.fix).toContain('aws ecr batch-delete-image --region eu-west-1 --repository-name watchpoint-prod-eval-worker --image-ids imageTag=v1');
    expect(io.questions).toEqual([]);
    expect(f.log.filter((l) => /^(synth|build|deploy|db: apply)/.test(l))).toEqual([]);
  });

  it('a Docker manifest list is refused the same way; a single manifest is present', async () => {
    const port = createRegistryPort(ecr);
    ecrMock.reset();
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: ['t'], imageManifestMediaType: 'application/vnd.docker.distribution.manifest.list.v2+json' }] });
    await expect(port.hasImage('r', 't')).rejects.toMatchObject({ code: 'IMAGE_IS_INDEX' });
    ecrMock.reset();
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: ['t'], imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json' }] });
    await expect(port.hasImage('r', 't')).resolves.toBe(true);
  });

  it('a push that leaves an index behind stops before the platform stack', async () => {
    ecrMock.reset();
    ecrMock.on(DescribeImagesCommand)
      .rejectsOnce(Object.assign(new Error('not found'), { name: 'ImageNotFoundException' }))
      .resolves({ imageDetails: [{ imageTags: ['x'], imageManifestMediaType: 'application/vnd.oci.image.index.v1+json' }] });
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, {});
    f.deps.registry = { ...createRegistryPort(ecr), authorization: f.deps.registry.authorization };
    await expect(deploy(request(dir), f.deps)).rejects.toMatchObject({ code: 'IMAGE_IS_INDEX' });
    expect(f.log).toContain('deploy watchpoint-dev-registry');
    expect(f.log).not.toContain('deploy watchpoint-dev');
  });
});

/**
 * A `docker` on PATH that records its argv and its attestation env, then runs `script`. With
 * `legacy`, it is a docker without the buildx plugin: `docker buildx version` fails and `build`
 * rejects --provenance/--sbom with "unknown flag", as the legacy builder does.
 */
async function standIn(script: string, name = 'docker', options: { legacy?: boolean } = {}): Promise<{ env: NodeJS.ProcessEnv; calls: () => Promise<string[]> }> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const calls = join(dir, 'calls');
  await writeFile(join(bin, name), [
    '#!/bin/sh',
    options.legacy
      ? 'if [ "$1" = buildx ]; then echo "docker: \'buildx\' is not a docker command." >&2; exit 1; fi'
      : 'if [ "$1" = buildx ]; then echo "github.com/docker/buildx v0.23.0"; exit 0; fi',
    `echo "START $*" >> ${calls}`,
    `echo "ENV BUILDX_NO_DEFAULT_ATTESTATIONS=$BUILDX_NO_DEFAULT_ATTESTATIONS" >> ${calls}`,
    'if [ "$1" = login ]; then cat > /dev/null; exit 0; fi',
    'if [ "$1" = push ]; then exit 0; fi',
    ...(options.legacy
      ? [
          'for a in "$@"; do case "$a" in --provenance*|--sbom*) echo "unknown flag: ${a%%=*}" >&2; echo "See \'docker build --help\'." >&2; exit 125;; esac; done',
          'echo "DEPRECATED: The legacy builder is deprecated and will be removed in a future release." >&2',
          'echo "            Install the buildx component to build images with BuildKit:" >&2',
          'echo "            https://docs.docker.com/go/buildx/" >&2',
        ]
      : []),
    script,
  ].join('\n'), { mode: 0o755 });
  return { env: { PATH: `${bin}:${process.env.PATH}` }, calls: async () => (await readFile(calls, 'utf8')).trim().split('\n') };
}

/** This machine's architecture as a container platform names it, so a build needs no emulation. */
const hostPlatform = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;

describe('docker builds one image manifest', () => {
  it('passes --provenance=false --sbom=false and BUILDX_NO_DEFAULT_ATTESTATIONS=1; podman and buildah need no flags', async () => {
    const docker = await standIn('exit 0');
    const cli = createContainerCli('docker', { env: docker.env });
    await cli.build({ contextDir: join(dir, 'ctx'), dockerfile: 'Dockerfile', image: 'r/x:1', platform: 'linux/arm64', logFile: join(dir, 'build.log') });
    const calls = await docker.calls();
    expect(calls[0]).toMatch(/^START build --platform linux\/arm64 --provenance=false --sbom=false -f .*Dockerfile -t r\/x:1 /);
    expect(calls[1]).toBe('ENV BUILDX_NO_DEFAULT_ATTESTATIONS=1');
    expect(buildArgs('buildah', { contextDir: 'c', dockerfile: 'D', image: 'i', platform: 'linux/arm64' })).toEqual(['bud', '--platform', 'linux/arm64', '-f', 'c/D', '-t', 'i', 'c']);
  });

  it('podman (and buildah) get the Dockerfile\'s own ignore file, which BuildKit reads by itself', async () => {
    await writeFile(join(dir, 'ctx', 'Dockerfile.dockerignore'), '*\n!hello.txt\n');
    const podman = await standIn('exit 0', 'podman');
    await createContainerCli('podman', { env: podman.env }).build({ contextDir: join(dir, 'ctx'), dockerfile: 'Dockerfile', image: 'r/x:1', platform: 'linux/arm64', logFile: join(dir, 'build.log') });
    expect((await podman.calls())[0]).toContain(`--ignorefile ${join(dir, 'ctx', 'Dockerfile.dockerignore')} -f`);
  });
});

describe('a docker without the buildx plugin (legacy builder)', () => {
  it('builds without --provenance/--sbom, and says so', async () => {
    const docker = await standIn('exit 0', 'docker', { legacy: true });
    const notes: string[] = [];
    const logFile = join(dir, 'build.log');
    await writeFile(logFile, '');
    await createContainerCli('docker', { env: docker.env }).build({ contextDir: join(dir, 'ctx'), dockerfile: 'Dockerfile', image: 'r/x:1', platform: 'linux/arm64', logFile, onNote: (text) => notes.push(text) });
    const calls = await docker.calls();
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatch(/^START build --platform linux\/arm64 -f .*Dockerfile -t r\/x:1 /);
    expect(calls[1]).toBe('ENV BUILDX_NO_DEFAULT_ATTESTATIONS=');
    expect(notes).toEqual([expect.stringContaining('docker has no buildx plugin (`docker buildx version` failed): building with the legacy builder, without --provenance/--sbom')]);
    expect(await readFile(logFile, 'utf8')).toContain('# docker has no buildx plugin');
  });

  it('a failed legacy build prints docker\'s output once and a fix that names buildx, not QEMU, when no emulation is needed', async () => {
    const docker = await standIn('echo "pull access denied for node, repository does not exist" >&2; exit 1', 'docker', { legacy: true });
    const logFile = join(dir, 'build.log');
    await writeFile(logFile, '');
    const error = await createContainerCli('docker', { env: docker.env })
      .build({ contextDir: join(dir, 'ctx'), dockerfile: 'Dockerfile', image: 'r/x:1', platform: hostPlatform, logFile })
      .then(() => undefined, (e: unknown) => e as { code: string; fix: string });
    expect(error).toMatchObject({ code: 'CONTAINER_CLI_FAILED' });
    const text = formatError(error);
    expect(text.split('pull access denied').length - 1).toBe(1);
    expect(error!.fix).toContain('install buildx');
    expect(error!.fix).not.toMatch(/QEMU/i);
  });

  it('QEMU is named only when the platform is not this machine\'s architecture', () => {
    const base = { name: 'docker', logFile: 'l', legacy: false, log: '' };
    expect(buildFix({ ...base, platform: 'linux/arm64', arch: 'x64' })).toContain('on this amd64 machine needs QEMU');
    expect(buildFix({ ...base, platform: 'linux/arm64', arch: 'arm64' })).not.toMatch(/QEMU|buildx/);
    expect(buildFix({ ...base, platform: 'linux/arm64', arch: 'arm64', log: 'unknown flag: --provenance' })).toContain('install buildx');
  });
});

describe('the build runs during the synth, and its failure stops deploy first', () => {
  it('the build process starts while a synth that blocks the thread still runs', async () => {
    const started = join(dir, 'build-started');
    const docker = await standIn(`[ "$1" = build ] && touch ${started}; exit 0`);
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, {});
    f.deps.container = async () => createContainerCli('docker', { env: docker.env });
    // ECR lists the tag once the stand-in has "pushed" it.
    let describes = 0;
    f.deps.registry = { ...f.deps.registry, hasImage: async () => (describes += 1) > 1 };
    let seenDuringSynth = false;
    f.deps.synth = async () => {
      // In-process synthesis: CPU with the event loop blocked. It holds the thread until the build
      // process has left its mark, which only a process already running can do (order, not a time
      // limit: the 20 s bound only keeps a broken build from hanging the test).
      const giveUp = Date.now() + 20_000;
      while (!(seenDuringSynth = existsSync(started)) && Date.now() < giveUp) { /* busy */ }
    };
    expect(await deploy(request(dir), f.deps)).toBe(0);
    expect(seenDuringSynth).toBe(true);
  });

  it('a build that fails (dead Docker daemon) stops a prod deploy before the confirmation and before any change', async () => {
    const docker = await standIn('sleep 0.4; echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1');
    const io = new RecordingIo([true], true);
    const f = fakes(io, dir, { pendingMigrations: ['1_init'] });
    f.deps.container = async () => createContainerCli('docker', { env: docker.env });
    const error = await deploy(request(dir, { envName: 'prod' }), f.deps).then(() => undefined, (e: unknown) => e as { code: string; message: string });
    expect(error).toMatchObject({ code: 'CONTAINER_CLI_FAILED' });
    expect(error!.message).toContain('Cannot connect to the Docker daemon');
    expect(io.questions).toEqual([]);
    expect(f.log.filter((l) => /^(deploy|db: apply|bootstrap)/.test(l))).toEqual([]);
  });
});
