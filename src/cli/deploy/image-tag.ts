// The eval-worker image tag: a content hash of everything the build reads, so the same inputs always
// give the same tag and an image already in ECR is never built or pushed again.
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** What goes into the eval-worker image. Paths are relative to `contextDir`. */
export interface ImageInputs {
  /** The build context (the repository root for the real image). */
  contextDir: string;
  /** The Dockerfile, relative to contextDir. */
  dockerfile: string;
  /** Files or directories (relative to contextDir) the build reads; hashed recursively. */
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
    include: ['docker/eval-worker', 'src/lambdas', 'package-lock.json'],
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
 * contents. Files matched by the context's .dockerignore are left out, as the build never sees them.
 */
export async function imageTag(inputs: ImageInputs): Promise<ImageHash> {
  const ignore = await readDockerignore(inputs.contextDir);
  const files = new Set<string>();
  for (const entry of inputs.include) {
    for (const file of await listFiles(inputs.contextDir, entry)) if (!ignore(file)) files.add(file);
  }
  const dockerfile = toPosix(inputs.dockerfile);
  const sorted = [...files].sort();
  if (!files.has(dockerfile)) {
    // The Dockerfile is always an input, even when a .dockerignore names it.
    try {
      await stat(join(inputs.contextDir, dockerfile));
      sorted.push(dockerfile);
      sorted.sort();
    } catch {
      // A missing Dockerfile is reported by the build, with the path.
    }
  }
  const hash = createHash('sha256');
  hash.update(`watchpoint-image-v1\nplatform ${inputs.platform}\ndockerfile ${dockerfile}\n`);
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

/** Reads <context>/.dockerignore into a matcher; no file means nothing is ignored. */
async function readDockerignore(contextDir: string): Promise<(file: string) => boolean> {
  let text: string;
  try {
    text = await readFile(join(contextDir, '.dockerignore'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return () => false;
    throw error;
  }
  return dockerignoreMatcher(text);
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
