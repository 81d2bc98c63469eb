import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerignoreMatcher, evalWorkerInputs, imageTag } from '../../src/cli/deploy/image-tag.ts';
import { tempDir } from '../helpers/cli.ts';

async function context(files: Record<string, string>): Promise<string> {
  const dir = await tempDir();
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

const inputs = (dir: string) => ({ contextDir: dir, dockerfile: 'docker/Dockerfile', include: ['docker', 'src', 'package-lock.json'], platform: 'linux/arm64' });

describe('image tag (content hash of the build inputs)', () => {
  it('is 20 hex characters, lists files sorted, and ignores files outside the inputs', async () => {
    const dir = await context({ 'docker/Dockerfile': 'FROM x', 'src/b.ts': 'b', 'src/a/z.ts': 'z', 'package-lock.json': '{}', 'README.md': 'not an input' });
    const hash = await imageTag(inputs(dir));
    expect(hash.tag).toMatch(/^[0-9a-f]{20}$/);
    expect(hash.files).toEqual(['docker/Dockerfile', 'package-lock.json', 'src/a/z.ts', 'src/b.ts']);
    await writeFile(join(dir, 'README.md'), 'changed');
    expect((await imageTag(inputs(dir))).tag).toBe(hash.tag);
  });

  it('changes with any input content, a rename, or the platform', async () => {
    const files = { 'docker/Dockerfile': 'FROM x', 'src/a.ts': 'a', 'package-lock.json': '{}' };
    const base = (await imageTag(inputs(await context(files)))).tag;
    expect((await imageTag(inputs(await context({ ...files, 'src/a.ts': 'a2' })))).tag).not.toBe(base);
    const { 'src/a.ts': a, ...rest } = files;
    expect((await imageTag(inputs(await context({ ...rest, 'src/b.ts': a })))).tag).not.toBe(base);
    expect((await imageTag({ ...inputs(await context(files)), platform: 'linux/amd64' })).tag).not.toBe(base);
    // Same content in a different directory: same tag.
    expect((await imageTag(inputs(await context(files)))).tag).toBe(base);
  });

  it('leaves out what .dockerignore excludes, but never the Dockerfile or the ignore file itself', async () => {
    const files = { 'docker/Dockerfile': 'FROM x', 'src/a.ts': 'a', 'src/a.test.ts': 't', 'src/keep.test.ts': 'k', 'package-lock.json': '{}' };
    const dir = await context({ ...files, '.dockerignore': '# tests are not built\n**/*.test.ts\n!src/keep.test.ts\ndocker\n' });
    const hash = await imageTag(inputs(dir));
    expect(hash.files).toEqual(['.dockerignore', 'docker/Dockerfile', 'package-lock.json', 'src/a.ts', 'src/keep.test.ts']);
    await writeFile(join(dir, 'src/a.test.ts'), 'changed');
    expect((await imageTag(inputs(dir))).tag).toBe(hash.tag);
  });

  it('matches .dockerignore patterns the way Docker does', () => {
    const ignored = dockerignoreMatcher('node_modules\n*.md\n/dist/\nsrc/**/fixtures\n!important.md\n');
    expect(ignored('node_modules/x/index.js')).toBe(true);
    expect(ignored('README.md')).toBe(true);
    expect(ignored('docs/guide.md')).toBe(false); // "*" stays within one segment
    expect(ignored('important.md')).toBe(false);
    expect(ignored('dist/a.js')).toBe(true);
    expect(ignored('src/a/b/fixtures/f.json')).toBe(true);
    expect(ignored('src/fixtures/f.json')).toBe(true);
    expect(ignored('src/a.ts')).toBe(false);
  });

  it('hashes the real eval-worker inputs of this checkout', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const hash = await imageTag(evalWorkerInputs(root));
    expect(hash.files.some((f) => f.startsWith('src/lambdas/eval-worker/'))).toBe(true);
    // Every file the Dockerfile copies (COPY package.json package-lock.json, COPY tsconfig.json,
    // COPY src/lambdas/), filtered by Dockerfile.dockerignore, the ignore file BuildKit uses.
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'docker/eval-worker/Dockerfile', 'docker/eval-worker/Dockerfile.dockerignore']) expect(hash.files).toContain(file);
    expect(hash.files.every((f) => f.startsWith('src/lambdas/') || f.startsWith('docker/eval-worker/Dockerfile') || ['package.json', 'package-lock.json', 'tsconfig.json'].includes(f))).toBe(true);
    expect(hash.files.some((f) => f.endsWith('.md'))).toBe(false);
  });

  it('covers every file the Dockerfile copies, even one missing from the include list', async () => {
    const files = {
      'docker/Dockerfile': 'FROM x AS build\nCOPY package.json package-lock.json ./\nCOPY ["tsconfig.json", "./"]\nCOPY --chown=1:1 \\\n  src/ ./src/\nADD conf/*.ini /etc/\nFROM y\nCOPY --from=build /build/dist/ /app/\n',
      'package.json': '{"name":"a"}', 'package-lock.json': '{}', 'tsconfig.json': '{}', 'src/a.ts': 'a', 'conf/app.ini': 'x=1', 'conf/readme.txt': 'no',
    };
    const only = { contextDir: '', dockerfile: 'docker/Dockerfile', include: [], platform: 'linux/arm64' };
    const dir = await context(files);
    const hash = await imageTag({ ...only, contextDir: dir });
    expect(hash.files).toEqual(['conf/app.ini', 'docker/Dockerfile', 'package-lock.json', 'package.json', 'src/a.ts', 'tsconfig.json']);
    for (const changed of ['package.json', 'tsconfig.json', 'conf/app.ini']) {
      const other = await context({ ...files, [changed]: 'changed' });
      expect((await imageTag({ ...only, contextDir: other })).tag, changed).not.toBe(hash.tag);
    }
  });

  it('uses <Dockerfile>.dockerignore before the context\'s .dockerignore, as BuildKit does, and hashes it', async () => {
    const files = { 'docker/Dockerfile': 'FROM x\nCOPY src/ /src/\n', 'src/a.ts': 'a', 'src/notes.md': 'n' };
    const dir = await context({ ...files, '.dockerignore': 'src/a.ts\n', 'docker/Dockerfile.dockerignore': '*\n!src/\nsrc/**/*.md\n' });
    const hash = await imageTag({ contextDir: dir, dockerfile: 'docker/Dockerfile', include: [], platform: 'linux/arm64' });
    // src/a.ts is built (the root .dockerignore does not apply); the .md is not.
    expect(hash.files).toEqual(['docker/Dockerfile', 'docker/Dockerfile.dockerignore', 'src/a.ts']);
    await writeFile(join(dir, 'src/a.ts'), 'a2');
    const changed = await imageTag({ contextDir: dir, dockerfile: 'docker/Dockerfile', include: [], platform: 'linux/arm64' });
    expect(changed.tag).not.toBe(hash.tag);
    await writeFile(join(dir, 'docker/Dockerfile.dockerignore'), '*\n!src/\n');
    expect((await imageTag({ contextDir: dir, dockerfile: 'docker/Dockerfile', include: [], platform: 'linux/arm64' })).tag).not.toBe(changed.tag);
  });
});
