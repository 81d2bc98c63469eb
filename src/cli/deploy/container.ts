// The container CLIs deploy can build and push with, driven through execa. Only the password of a
// registry login ever goes through stdin; argv and logs never see it.
import { constants } from 'node:fs';
import { access, appendFile, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { WatchpointError, userError } from '../errors.ts';
import { findIgnoreFile } from './image-tag.ts';
import type { ContainerCli } from './ports.ts';

export const CONTAINER_CLIS = ['docker', 'podman', 'finch', 'buildah'] as const;
export type ContainerCliName = (typeof CONTAINER_CLIS)[number];

export function isContainerCliName(value: string): value is ContainerCliName {
  return (CONTAINER_CLIS as readonly string[]).includes(value);
}

/** The first of docker, podman, finch, buildah found on PATH, or undefined. */
export async function detectContainerCli(path: string | undefined): Promise<ContainerCliName | undefined> {
  const dirs = (path ?? '').split(delimiter).filter((dir) => dir !== '');
  for (const name of CONTAINER_CLIS) {
    for (const dir of dirs) {
      try {
        await access(join(dir, name), constants.X_OK);
        return name;
      } catch {
        // not in this directory
      }
    }
  }
  return undefined;
}

/** A registry on the loopback interface is a local test registry: plain HTTP, no TLS to verify. */
function isLoopbackRegistry(image: string): boolean {
  return /^(127\.0\.0\.1|localhost)(:\d+)?\//.test(image) || /^(127\.0\.0\.1|localhost)(:\d+)?$/.test(image);
}

export interface ContainerCliOptions {
  /** Environment for the child processes (PATH, DOCKER_HOST, STORAGE_DRIVER, REGISTRY_AUTH_FILE...). */
  env: NodeJS.ProcessEnv;
}

/**
 * docker, podman and finch share docker's verbs; buildah builds with `bud` and pushes with an explicit
 * `docker://` destination. A loopback registry gets `--tls-verify=false` (podman, buildah).
 */
export function createContainerCli(name: ContainerCliName, options: ContainerCliOptions): ContainerCli {
  const tlsFlag = (target: string): string[] => (isLoopbackRegistry(target) && (name === 'podman' || name === 'buildah') ? ['--tls-verify=false'] : []);
  const exec = async (args: string[], input?: { stdin?: string; logFile?: string; what: string | ((log: string) => string); env?: NodeJS.ProcessEnv; onSpawn?: () => void }): Promise<void> => {
    const { execa } = await import('execa');
    try {
      const child = execa(name, args, {
        env: { ...options.env, ...input?.env },
        extendEnv: false,
        ...(input?.stdin !== undefined ? { input: input.stdin } : { stdin: 'ignore' as const }),
        // The build log goes to a file, so the build never waits on a pipe while the synth keeps the
        // event loop busy.
        ...(input?.logFile ? { stdout: { file: input.logFile, append: true }, stderr: { file: input.logFile, append: true } } : {}),
      });
      // execa creates the process synchronously: a pid means the build runs from now on, whatever
      // this thread does next. Without one the spawn failed, and `child` rejects.
      if (input?.onSpawn && child.pid !== undefined) input.onSpawn();
      await child;
    } catch (error) {
      const tail = await logTail(input?.logFile, error);
      const what = input?.what;
      throw new WatchpointError(`\`${name} ${redactedArgs(args)}\` failed${tail.text}`, {
        code: 'CONTAINER_CLI_FAILED',
        fault: 'system',
        fix: typeof what === 'function' ? what(tail.lines.join('\n')) : what ?? `Check that ${name} works: run \`${name} info\`.`,
        // The output is in the log tail above already when it went to a file: print it once.
        cause: sanitize(error, { output: !input?.logFile }),
      });
    }
  };
  // docker without the buildx plugin builds with the legacy builder, which rejects --provenance and
  // --sbom ("unknown flag") and never adds attestations. Asked once per CLI object.
  let buildx: Promise<boolean> | undefined;
  const hasBuildx = async (): Promise<boolean> => {
    buildx ??= (async () => {
      const { execa } = await import('execa');
      try {
        await execa(name, ['buildx', 'version'], { env: options.env, extendEnv: false, stdin: 'ignore', timeout: 30_000 });
        return true;
      } catch {
        return false;
      }
    })();
    return buildx;
  };
  return {
    name,
    async build({ contextDir, dockerfile, image, platform, logFile, onSpawn, onNote }) {
      try {
        await access(join(contextDir, dockerfile));
      } catch {
        throw userError('DOCKERFILE_MISSING', `${join(contextDir, dockerfile)} does not exist.`, 'Add the eval-worker Dockerfile, or pass --skip-image / --image-tag to deploy an image already in ECR.');
      }
      // podman and buildah read only the context's ignore file unless told; give them the
      // Dockerfile's own, which BuildKit (docker, finch) picks up by itself.
      const ignoreFile = name === 'podman' || name === 'buildah' ? await findIgnoreFile(contextDir, dockerfile) : undefined;
      const legacy = name === 'docker' && !(await hasBuildx());
      if (legacy) {
        const note = `${name} has no buildx plugin (\`${name} buildx version\` failed): building with the legacy builder, without --provenance/--sbom (it adds no attestations). Install the buildx plugin to build with BuildKit.`;
        await appendFile(logFile, `# ${note}\n`);
        onNote?.(note);
      }
      await exec(buildArgs(name, { contextDir, dockerfile, image, platform, legacyBuilder: legacy, ...(ignoreFile ? { ignoreFile: join(contextDir, ignoreFile) } : {}) }), {
        logFile,
        ...(name === 'docker' && !legacy ? { env: { BUILDX_NO_DEFAULT_ATTESTATIONS: '1' } } : {}),
        ...(onSpawn ? { onSpawn } : {}),
        what: (log) => buildFix({ name, platform, logFile, legacy, log }),
      });
    },
    async login({ registry, username, password }) {
      await exec(['login', ...tlsFlag(registry), '--username', username, '--password-stdin', registry], {
        stdin: password,
        what: `Check that ${name} can reach ${registry} and that your AWS role may call ecr:GetAuthorizationToken.`,
      });
    },
    async push(image) {
      const args = name === 'buildah' ? ['push', ...tlsFlag(image), image, `docker://${image}`] : ['push', ...tlsFlag(image), image];
      await exec(args, { what: `Check your ECR permissions (ecr:PutImage, ecr:InitiateLayerUpload...) and the network path to the registry.` });
    },
  };
}

/**
 * The build command line. Docker's BuildKit adds provenance (and, on request, SBOM) attestations by
 * default when it uses the containerd image store or a docker-container builder, and then pushes an
 * image index that Lambda rejects; `--provenance=false --sbom=false` (plus
 * BUILDX_NO_DEFAULT_ATTESTATIONS=1 in its environment) keeps it to one image manifest. podman and
 * buildah build a single manifest for one --platform, and finch has no such flags.
 */
export function buildArgs(name: ContainerCliName, input: { contextDir: string; dockerfile: string; image: string; platform: string; ignoreFile?: string; legacyBuilder?: boolean }): string[] {
  const verb = name === 'buildah' ? 'bud' : 'build';
  const attestations = name === 'docker' && !input.legacyBuilder ? ['--provenance=false', '--sbom=false'] : [];
  const ignore = input.ignoreFile ? ['--ignorefile', input.ignoreFile] : [];
  return [verb, '--platform', input.platform, ...attestations, ...ignore, '-f', join(input.contextDir, input.dockerfile), '-t', input.image, input.contextDir];
}

/** Node's names for this machine's CPU, as container platforms spell them. */
const PLATFORM_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/**
 * The fix for a failed build, true for what went wrong: a docker that cannot do BuildKit (no buildx,
 * or its builder rejected --provenance) needs buildx; QEMU/binfmt is named only when the target
 * platform's architecture is not this machine's.
 */
export function buildFix(input: { name: string; platform: string; logFile: string; legacy: boolean; log: string; arch?: string }): string {
  const hostArch = PLATFORM_ARCH[input.arch ?? process.arch] ?? (input.arch ?? process.arch);
  const targetArch = input.platform.split('/')[1] ?? '';
  const parts = [`Read the build log ${input.logFile} for the first error.`];
  if (input.legacy || /unknown flag: --(provenance|sbom)|install the buildx component/i.test(input.log)) {
    parts.push(`This ${input.name} has no buildx plugin, so it builds with the legacy builder: install buildx (Docker's docker-buildx-plugin package; docker-buildx on Debian and Ubuntu), check it with \`${input.name} buildx version\`, and run again.`);
  }
  if (targetArch && targetArch !== hostArch) {
    parts.push(`Building for ${input.platform} on this ${hostArch} machine needs QEMU user emulation registered with binfmt_misc for ${targetArch}.`);
  }
  return parts.join(' ');
}

/** Never print a value that follows --password (the CLI only ever uses --password-stdin, but be sure). */
function redactedArgs(args: string[]): string {
  return args.map((arg, i) => (args[i - 1] === '--password' || args[i - 1] === '-p' ? '***' : arg)).join(' ');
}

/** An execa error carries the child's stdin input and output; keep only what is safe to print. */
function sanitize(error: unknown, options: { output: boolean }): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const e = error as Error & { shortMessage?: string; stderr?: unknown; exitCode?: number };
  const stderr = options.output && typeof e.stderr === 'string' ? e.stderr.trim().split('\n').slice(-5).join('\n') : '';
  const clean = new Error([e.shortMessage?.replace(/--password-stdin.*$/s, '--password-stdin') ?? e.name, stderr].filter(Boolean).join('\n'));
  clean.name = 'ContainerCliError';
  return clean;
}

async function logTail(logFile: string | undefined, error: unknown): Promise<{ text: string; lines: string[] }> {
  if (!logFile) return { text: '.', lines: [] };
  const exit = (error as { exitCode?: number }).exitCode;
  try {
    const lines = (await readFile(logFile, 'utf8')).trimEnd().split('\n').slice(-15);
    return { text: `${exit === undefined ? '' : ` (exit ${exit})`}; last lines of ${logFile}:\n    ${lines.join('\n    ')}`, lines };
  } catch {
    return { text: exit === undefined ? '.' : ` (exit ${exit}).`, lines: [] };
  }
}
