// The eval-worker image tag: a content hash of everything the build reads, so the same inputs always
// give the same tag and an image already in ECR is never built or pushed again.
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { userError } from '../errors.ts';

/** What goes into the eval-worker image. Paths are relative to `contextDir`. */
/** Docker's rule for a tag. */
export const IMAGE_TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** --image-tag (synth, diff, deploy, image): exit 2 naming the flag when docker would refuse the tag. */
export function validateImageTag(tag: string | undefined): void {
  if (tag !== undefined && !IMAGE_TAG_PATTERN.test(tag)) {
    throw userError('IMAGE_TAG_INVALID', `--image-tag "${tag}" is not a valid image tag.`, 'Use up to 128 letters, digits, "_", "." and "-", not starting with "." or "-".');
  }
}

export interface ImageInputs {
  /** The build context (the repository root for the real image). */
  contextDir: string;
  /** The Dockerfile, relative to contextDir. */
  dockerfile: string;
  /**
   * Files or directories (relative to contextDir) the build reads; hashed recursively. The sources
   * of the Dockerfile's COPY/ADD instructions are added to these, so a file the build copies is
   * always hashed.
   */
  include: string[];
  /** Target platform; part of the hash, since the same sources give a different image per platform. */
  platform: string;
}

export const TAG_LENGTH = 20;

/** The real eval-worker image: docker/eval-worker/Dockerfile built from the repository root. */
export function evalWorkerInputs(root: string): ImageInputs {
  return {
    contextDir: root,
    dockerfile: 'docker/eval-worker/Dockerfile',
    include: ['docker/eval-worker', 'src/lambdas', 'package.json', 'package-lock.json', 'tsconfig.json'],
    platform: 'linux/arm64',
  };
}

export interface ImageHash {
  tag: string;
  /** The files hashed, sorted, relative to the context (posix separators). */
  files: string[];
}

/**
 * sha256 over a format line, the platform, and for each file (sorted by path) its path, size and
 * contents. The files are the include list plus every COPY/ADD source of the Dockerfile, less what the
 * ignore file the builder uses excludes (the build never sees those); the Dockerfile and that ignore
 * file are always hashed, since each changes what is built.
 */
export async function imageTag(inputs: ImageInputs): Promise<ImageHash> {
  const dockerfile = toPosix(inputs.dockerfile);
  const ignoreFile = await findIgnoreFile(inputs.contextDir, dockerfile);
  const ignore = ignoreFile ? dockerignoreMatcher(await readFile(join(inputs.contextDir, ignoreFile), 'utf8')) : () => false;
  let dockerfileText: string | undefined;
  try {
    dockerfileText = await readFile(join(inputs.contextDir, dockerfile), 'utf8');
  } catch {
    // A missing Dockerfile is reported by the build, with the path.
  }
  const entries = new Set([...inputs.include, ...(dockerfileText ? await copySources(inputs.contextDir, dockerfileText) : [])]);
  const files = new Set<string>();
  for (const entry of entries) {
    for (const file of await listFiles(inputs.contextDir, entry)) if (!ignore(file)) files.add(file);
  }
  // The Dockerfile and the ignore file are always inputs, even when an ignore pattern names them.
  if (dockerfileText !== undefined) files.add(dockerfile);
  if (ignoreFile) files.add(ignoreFile);
  const sorted = [...files].sort();
  const hash = createHash('sha256');
  hash.update(`watchpoint-image-v2\nplatform ${inputs.platform}\ndockerfile ${dockerfile}\nignorefile ${ignoreFile ?? '-'}\n`);
  for (const file of sorted) {
    const content = await readFile(join(inputs.contextDir, file));
    hash.update(`file ${file} ${content.length}\n`);
    hash.update(content);
    hash.update('\n');
  }
  return { tag: hash.digest('hex').slice(0, TAG_LENGTH), files: sorted };
}

async function listFiles(root: string, entry: string): Promise<string[]> {
  const absolute = join(root, entry);
  let info;
  try {
    info = await stat(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  if (info.isFile()) return [toPosix(relative(root, absolute))];
  if (!info.isDirectory()) return [];
  const out: string[] = [];
  const names = (await readdir(absolute, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const dirent of names) {
    const child = join(entry, dirent.name);
    if (dirent.isDirectory()) out.push(...(await listFiles(root, child)));
    else if (dirent.isFile()) out.push(toPosix(relative(root, join(root, child))));
  }
  return out;
}

function toPosix(path: string): string {
  return path.split(sep).join('/').replace(/^\.\//, '');
}

/**
 * The ignore file the builder uses, relative to the context: BuildKit reads `<Dockerfile>.dockerignore`
 * (next to the Dockerfile) in preference to the context's `.dockerignore`
 * (https://docs.docker.com/build/concepts/context/#filename-and-location), and deploy passes that
 * same file to podman and buildah with --ignorefile. Undefined when there is neither.
 */
export async function findIgnoreFile(contextDir: string, dockerfile: string): Promise<string | undefined> {
  for (const candidate of [`${toPosix(dockerfile)}.dockerignore`, '.dockerignore']) {
    try {
      if ((await stat(join(contextDir, candidate))).isFile()) return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return undefined;
}

/**
 * The context paths a Dockerfile's COPY and ADD instructions read (not `--from=` copies, which read
 * another stage). Both forms (`COPY a b dest/` and `COPY ["a", "dest"]`), line continuations, and
 * `*` / `?` globs in a source's last segment (matched against the context).
 */
export async function copySources(contextDir: string, dockerfileText: string): Promise<string[]> {
  const instructions = dockerfileText.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((line) => line.trim());
  const sources: string[] = [];
  for (const line of instructions) {
    const match = /^(COPY|ADD)\s+(.*)$/i.exec(line);
    if (!match) continue;
    let rest = match[2]!.trim();
    const flags: string[] = [];
    while (rest.startsWith('--')) {
      const [flag = '', ...after] = rest.split(/\s+/);
      flags.push(flag);
      rest = after.join(' ');
    }
    if (flags.some((flag) => flag.startsWith('--from'))) continue;
    let args: string[];
    if (rest.startsWith('[')) {
      try {
        args = (JSON.parse(rest) as unknown[]).map(String);
      } catch {
        continue;
      }
    } else args = rest.split(/\s+/).filter(Boolean);
    for (const source of args.slice(0, -1)) {
      if (/^[a-z]+:\/\//i.test(source)) continue; // ADD from a URL: not in the context
      const path = toPosix(source.replace(/^\/+/, '')).replace(/\/+$/, '') || '.';
      sources.push(...(/[*?]/.test(path) ? await expandGlob(contextDir, path) : [path]));
    }
  }
  return sources;
}

async function expandGlob(contextDir: string, pattern: string): Promise<string[]> {
  const slash = pattern.lastIndexOf('/');
  const dir = slash < 0 ? '' : pattern.slice(0, slash);
  const regex = globToRegex(slash < 0 ? pattern : pattern.slice(slash + 1));
  try {
    const names = await readdir(join(contextDir, dir));
    return names.filter((name) => regex.test(name)).map((name) => (dir ? `${dir}/${name}` : name));
  } catch {
    return [];
  }
}

/**
 * Docker's rules: one pattern a line, `#` comments, `!` re-includes, `*` and `?` stay within a path
 * segment, `**` spans segments, and a pattern that matches a directory excludes all under it. The
 * last matching line wins.
 */
export function dockerignoreMatcher(text: string): (file: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = (negate ? line.slice(1) : line).trim().replace(/^\/+/, '').replace(/\/+$/, '').replace(/^\.\//, '');
      return { negate, regex: globToRegex(pattern) };
    });
  return (file) => {
    const segments = file.split('/');
    let ignored = false;
    for (const rule of rules) {
      // The file itself or any parent directory matching counts.
      for (let i = 1; i <= segments.length; i += 1) {
        if (rule.regex.test(segments.slice(0, i).join('/'))) {
          ignored = !rule.negate;
          break;
        }
      }
    }
    return ignored;
  };
}

function globToRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        // "**/" matches zero or more directories; a trailing "**" matches everything below.
        if (pattern[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
