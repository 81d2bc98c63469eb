// `watchpoint image build|push`: the eval-worker image on its own, the same way deploy handles it.
import { resolveStage, type CommandContext } from '../context.ts';
import { ExitCode } from '../errors.ts';
import { explainAwsError } from '../stack-resources.ts';
import { createRegistryPort } from '../deploy/aws-ports.ts';
import { evalWorkerRepositoryName, finishPush, planImage, startBuild } from '../deploy/image.ts';
import { evalWorkerInputs, imageTag, validateImageTag, type ImageInputs } from '../deploy/image-tag.ts';
import type { ContainerCli } from '../deploy/ports.ts';
import type { ContainerCliName } from '../deploy/container.ts';
import { runtimeOf, type Injectable, type Runtime } from '../flags.ts';
import type { ImageFlags } from './image.define.ts';
import { awsClients, chooseContainerCli, containerFactory, projectRoot, validateContainerCli, workPaths, type AwsClients } from '../deploy/support.ts';

export interface ImageContext extends CommandContext {
  action: 'build' | 'push';
  containerCli?: string | undefined;
  imageTag?: string | undefined;
}

export interface ImageInjections {
  clients?: Partial<AwsClients>;
  container?: ContainerCli;
  imageInputs?: ImageInputs;
}

/** Everything `image build|push` runs on, validated. */
export interface ImageOptions extends Runtime {
  clients: Partial<AwsClients> | undefined;
  container: ContainerCli | undefined;
  imageInputs: ImageInputs | undefined;
  action: 'build' | 'push';
  imageTag: string | undefined;
  containerCli: ContainerCliName | undefined;
}

/** The flag contract: --image-tag and --container-cli checked once, before any build or AWS call. */
export function parseImageOptions(action: 'build' | 'push', flags: ImageFlags, context: CommandContext & Injectable & ImageInjections): ImageOptions {
  validateImageTag(flags.imageTag);
  const containerCli = validateContainerCli(flags.containerCli);
  return {
    ...runtimeOf(context),
    action,
    imageTag: flags.imageTag,
    containerCli,
    clients: context.clients,
    container: context.container,
    imageInputs: context.imageInputs,
  };
}

/** Raw flags, context and injections (tests): parse, then run. */
export function imageCommand(context: ImageContext, injected: ImageInjections = {}): Promise<number> {
  return runImage(parseImageOptions(context.action, { containerCli: context.containerCli, imageTag: context.imageTag }, { ...context, ...injected }));
}

export async function runImage(context: ImageOptions): Promise<number> {
  const { io, env, cwd } = context;
  const injected = context;
  const flag = context.containerCli;
  const { envName, stage } = await resolveStage(context);
  const inputs = injected.imageInputs ?? evalWorkerInputs(projectRoot());
  const injectedContainer = injected.container;
  const container = injectedContainer ? async () => injectedContainer : containerFactory(await chooseContainerCli(flag, env), env);
  const { buildLogFile } = workPaths(cwd, envName);

  if (context.action === 'build') {
    const tag = context.imageTag ?? (await imageTag(inputs)).tag;
    const cli = await container();
    const image = `${evalWorkerRepositoryName(envName)}:${tag}`;
    io.notify('info', `Building ${image} for ${inputs.platform} with ${cli.name} (log: ${buildLogFile}) ...`);
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { dirname } = await import('node:path');
    await mkdir(dirname(buildLogFile), { recursive: true });
    await writeFile(buildLogFile, `# ${cli.name} build of ${image}\n`);
    await cli.build({ contextDir: inputs.contextDir, dockerfile: inputs.dockerfile, image, platform: inputs.platform, logFile: buildLogFile, onNote: (text) => io.notify('warn', text) });
    io.result(image);
    return ExitCode.ok;
  }

  const clients = await awsClients(stage, injected.clients ?? {}, ['ecr']);
  const registry = createRegistryPort(clients.ecr);
  try {
    const plan = await planImage({ envName, inputs, registry, ...(context.imageTag ? { tag: context.imageTag } : {}) });
    if (plan.present) {
      io.notify('info', `ECR already has ${plan.repositoryName}:${plan.tag}: nothing to build or push.`);
      io.result(`${plan.repositoryName}:${plan.tag}`);
      return ExitCode.ok;
    }
    const cli = await container();
    io.notify('info', `Building ${plan.repositoryName}:${plan.tag} with ${cli.name} (log: ${buildLogFile}), then pushing ...`);
    const build = await startBuild({ plan, inputs, registry, cli, logFile: buildLogFile });
    if (build.note) io.notify('warn', build.note);
    await finishPush(build, cli, registry);
    io.result(build.image);
    return ExitCode.ok;
  } catch (error) {
    throw explainAwsError(error, { envName });
  }
}
