// Every package the code imports is declared in package.json: an import that resolves only because
// another package brought it in (hoisted into node_modules) breaks when that package changes.
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && /\.(ts|mts|mjs|js)$/.test(e.name)).map((e) => join(e.parentPath, e.name));
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; relative paths and builtins → undefined. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
  return builtinModules.includes(name) ? undefined : name;
}

describe('package.json', () => {
  it('declares every package that src/, bin/ and bench/ import', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]);
    const files = (await Promise.all(['src', 'bin', 'bench'].map((dir) => sourceFiles(join(root, dir))))).flat();
    expect(files.length).toBeGreaterThan(50);
    const undeclared: string[] = [];
    let imports = 0;
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      for (const match of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)'([^']+)'/g)) {
        imports += 1;
        const name = packageOf(match[1]!);
        // A types-only package (`aws-lambda`) is declared as @types/<name>.
        if (name && !declared.has(name) && !declared.has(`@types/${name.replace(/^@(.+)\//, '$1__')}`)) undeclared.push(`${relative(root, file)}: ${name}`);
      }
    }
    expect(imports).toBeGreaterThan(200);
    expect(undeclared).toEqual([]);
  });
});
