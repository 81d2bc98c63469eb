// A real image registry for the image tests and benchmarks: docker-registry on 127.0.0.1 with its
// storage in a temp dir, buildah (vfs, chroot) configured to keep everything in that dir, and the ECR
// API mocked on top so that DescribeImages answers from the registry: "already pushed" is real.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeImagesCommand, GetAuthorizationTokenCommand, ImageNotFoundException, type ECRClient } from '@aws-sdk/client-ecr';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import type { ContainerCli } from '../../src/cli/deploy/ports.ts';
import { freeLoopbackPort } from './net.ts';

export interface LocalRegistry {
  /** host:port of the registry. */
  endpoint: string;
  /** Environment for buildah: storage, auth file and runtime dir all under the work dir. */
  buildahEnv: NodeJS.ProcessEnv;
  stop(): void;
}

export async function startLocalRegistry(work: string): Promise<LocalRegistry> {
  const endpoint = `127.0.0.1:${await freeLoopbackPort()}`;
  await mkdir(join(work, 'registry'));
  await writeFile(
    join(work, 'registry.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'registry')}\nhttp:\n  addr: ${endpoint}\n`,
  );
  const registry = spawn('docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i += 1) {
    const ready = await fetch(`http://${endpoint}/v2/`).then((r) => r.ok, () => false);
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await writeFile(join(work, 'storage.conf'), `[storage]\ndriver = "vfs"\ngraphroot = "${join(work, 'storage')}"\nrunroot = "${join(work, 'run')}"\n`);
  await mkdir(join(work, 'xdg'));
  const buildahEnv = {
    PATH: process.env.PATH,
    HOME: work,
    STORAGE_DRIVER: 'vfs',
    BUILDAH_ISOLATION: 'chroot',
    CONTAINERS_STORAGE_CONF: join(work, 'storage.conf'),
    REGISTRY_AUTH_FILE: join(work, 'auth.json'),
    XDG_RUNTIME_DIR: join(work, 'xdg'),
  };
  return { endpoint, buildahEnv, stop: () => registry.kill('SIGTERM') };
}

/**
 * ECR's token points at the local registry; DescribeImages asks the registry whether the tag exists
 * and reports the manifest's real media type as imageManifestMediaType, as ECR does.
 */
const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

export function mockEcrOnRegistry(ecrMock: AwsClientStub<ECRClient>, endpoint: string): void {
  ecrMock.on(GetAuthorizationTokenCommand).resolves({
    authorizationData: [{ authorizationToken: Buffer.from('AWS:password').toString('base64'), proxyEndpoint: `http://${endpoint}` }],
  });
  ecrMock.on(DescribeImagesCommand).callsFake(async (input: { repositoryName: string; imageIds: { imageTag: string }[] }) => {
    const tag = input.imageIds[0]!.imageTag;
    const response = await fetch(`http://${endpoint}/v2/${input.repositoryName}/manifests/${tag}`, {
      method: 'HEAD',
      headers: { accept: MANIFEST_TYPES.join(', ') },
    });
    if (!response.ok) throw new ImageNotFoundException({ message: `tag ${tag} not found`, $metadata: {} });
    const imageManifestMediaType = response.headers.get('content-type') ?? undefined;
    return { imageDetails: [{ repositoryName: input.repositoryName, imageTags: [tag], ...(imageManifestMediaType ? { imageManifestMediaType } : {}) }] };
  });
}

/** Wraps a container CLI so callers can count its builds, logins and pushes. */
export function countingContainerCli(real: ContainerCli, counts: { build: number; login: number; push: number }): ContainerCli {
  return {
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
}
