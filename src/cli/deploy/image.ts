// The eval-worker image step: hash the inputs, ask ECR whether that tag exists (one DescribeImages),
// and only when it does not, build for linux/arm64, log in and push.
import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { WatchpointError, userError } from '../errors.ts';
import { imageTag, type ImageInputs } from './image-tag.ts';
import { buildArgs, isContainerCliName } from './container.ts';
import type { ContainerCli, RegistryPort } from './ports.ts';

/**
 * Same name as the registry stack's evalWorkerRepositoryName (a test keeps them equal); not imported
 * from src/stack, which would load aws-cdk-lib into every command.
 */
export function evalWorkerRepositoryName(envName: string): string {
  return `watchpoint-${envName}-eval-worker`;
}

export interface ImagePlan {
  repositoryName: string;
  tag: string;
  /** Where the tag came from: the content hash, or --image-tag. */
  source: 'content-hash' | 'flag';
  /** ECR already has the tag: nothing to build or push. */
  present: boolean;
}

/** Hash (unless a tag is given) and one DescribeImages. */
export async function planImage(input: { envName: string; inputs: ImageInputs; registry: RegistryPort; tag?: string }): Promise<ImagePlan> {
  const repositoryName = evalWorkerRepositoryName(input.envName);
  const tag = input.tag ?? (await imageTag(input.inputs)).tag;
  const present = await input.registry.hasImage(repositoryName, tag);
  return { repositoryName, tag, source: input.tag ? 'flag' : 'content-hash', present };
}

/** A build started ahead of the push; its promise never rejects unhandled. */
export interface StartedBuild {
  image: string;
  repositoryName: string;
  tag: string;
  /** Resolves when the build is done; rejects with the build's error. */
  done: Promise<void>;
  registry: string;
  username: string;
  password: string;
  /** How this build differs from the usual one (docker without buildx), said before it started. */
  note?: string;
}

/**
 * GetAuthorizationToken (for the registry host and the login), then starts the build. The build runs
 * as a child process writing to logFile, so it goes on while the synth blocks this thread.
 */
export async function startBuild(input: { plan: ImagePlan; inputs: ImageInputs; registry: RegistryPort; cli: ContainerCli; logFile: string }): Promise<StartedBuild> {
  // Fail before anything is deployed, not at the push.
  const dockerfile = join(input.inputs.contextDir, input.inputs.dockerfile);
  try {
    await access(dockerfile);
  } catch {
    throw userError('DOCKERFILE_MISSING', `${dockerfile} does not exist, and ECR has no image ${input.plan.repositoryName}:${input.plan.tag}.`, 'Add the eval-worker Dockerfile, or pass --skip-image (with --image-tag for an image already in ECR).');
  }
  const auth = await input.registry.authorization();
  const image = `${auth.registry}/${input.plan.repositoryName}:${input.plan.tag}`;
  await mkdir(dirname(input.logFile), { recursive: true });
  await writeFile(input.logFile, `# ${input.cli.name} build of ${image} (${input.inputs.platform}), ${new Date().toISOString()}\n`);
  let spawned!: () => void;
  const running = new Promise<void>((resolve) => (spawned = resolve));
  let note: string | undefined;
  const done = input.cli.build({ contextDir: input.inputs.contextDir, dockerfile: input.inputs.dockerfile, image, platform: input.inputs.platform, logFile: input.logFile, onSpawn: spawned, onNote: (text) => (note = text) });
  // Observed here so that a failure while other steps run is not an unhandled rejection; awaited later.
  done.catch(() => undefined);
  // Return only once the build process exists (or already ended): the caller's next step, the synth,
  // blocks this thread, and a spawn still queued behind it would start only when the synth ends.
  await Promise.race([running, done.then(() => undefined, () => undefined)]);
  return { image, done, repositoryName: input.plan.repositoryName, tag: input.plan.tag, ...auth, ...(note ? { note } : {}) };
}

/**
 * Waits for the build, logs in with the password on stdin, pushes, then asks ECR what it got: a
 * tag that is missing or is an image index stops the deploy before the platform stack uses it.
 */
export async function finishPush(build: StartedBuild, cli: ContainerCli, registry: RegistryPort): Promise<void> {
  await build.done;
  await cli.login({ registry: build.registry, username: build.username, password: build.password });
  await cli.push(build.image);
  if (!(await registry.hasImage(build.repositoryName, build.tag))) {
    throw new WatchpointError(`${cli.name} pushed ${build.image}, but ECR does not list ${build.repositoryName}:${build.tag}.`, {
      code: 'IMAGE_NOT_IN_ECR', fault: 'system',
      fix: `Check the push in the build log and the repository in the ECR console, then deploy again.`,
    });
  }
}

/** The exact commands the image step would run, for --dry-run (no password, which goes on stdin). */
export function describeImageCommands(cli: string, plan: ImagePlan, inputs: ImageInputs, registryHost: string): string[] {
  const image = `${registryHost}/${plan.repositoryName}:${plan.tag}`;
  const push = cli === 'buildah' ? `buildah push ${image} docker://${image}` : `${cli} push ${image}`;
  const build = isContainerCliName(cli) ? buildArgs(cli, { ...inputs, image }).join(' ') : `build --platform ${inputs.platform} -f ${join(inputs.contextDir, inputs.dockerfile)} -t ${image} ${inputs.contextDir}`;
  return [
    'ecr:GetAuthorizationToken',
    `${cli}${cli === 'docker' ? ' (BUILDX_NO_DEFAULT_ATTESTATIONS=1)' : ''} ${build}`,
    `${cli} login --username AWS --password-stdin ${registryHost}   (password on stdin)`,
    push,
    `ecr:DescribeImages ${plan.repositoryName}:${plan.tag}   (the pushed tag must be one image manifest, not an index)`,
  ];
}
