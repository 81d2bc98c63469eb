// A run that cannot load a package gets a fix naming the install step that is missing, instead of
// the generic "report it": a devDependency left out by `npm ci --omit=dev`, a dependency never
// installed, or an install that is incomplete. Imports nothing from node_modules, so the launcher
// can use it when the CLI core itself does not load.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WatchpointError } from '../errors.ts';

/** Node's "Cannot find package 'x' imported from /path/file" (ESM) or "Cannot find module 'x'" (require). */
function missingImport(error: unknown): { specifier: string; importer: string | undefined; error: Error } | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth += 1) {
    const code = (current as Error & { code?: unknown }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') continue;
    const match = /Cannot find (?:package|module) '([^']+)'(?: imported from (\S+))?/.exec(current.message);
    if (match) return { specifier: match[1]!, importer: match[2]?.replace(/^file:\/\//, ''), error: current };
  }
  return undefined;
}

function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:')) return undefined;
  return specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
}

/** The project whose package.json declares what the importer uses: the nearest one not inside node_modules. */
function projectOf(importer: string | undefined): string {
  let dir = importer ? dirname(importer.startsWith('file:') ? fileURLToPath(importer) : importer) : dirname(fileURLToPath(import.meta.url));
  const inModules = dir.lastIndexOf(`${sep}node_modules${sep}`);
  const cache = dir.indexOf(`${sep}node_modules${sep}.cache${sep}`);
  // The CLI's compiled bundle lives under node_modules/.cache: the project is above it.
  if (cache !== -1) dir = dir.slice(0, cache);
  else if (inModules !== -1) dir = dir.slice(0, inModules);
  for (let up = dir; ; up = dirname(up)) {
    if (existsSync(join(up, 'package.json'))) return up;
    if (dirname(up) === up) return dir;
  }
}

function declared(root: string): { dependencies: Record<string, string>; devDependencies: Record<string, string> } {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    return { dependencies: pkg.dependencies ?? {}, devDependencies: pkg.devDependencies ?? {} };
  } catch {
    return { dependencies: {}, devDependencies: {} };
  }
}

/** A WatchpointError whose fix names the missing install step, or undefined when the error is not a missing package. */
export function explainMissingPackage(error: unknown): WatchpointError | undefined {
  const missing = missingImport(error);
  if (!missing) return undefined;
  const name = packageName(missing.specifier);
  const from = missing.importer ? ` (imported from ${missing.importer})` : '';
  if (!name) {
    return new WatchpointError(`A file of WatchPoint is missing: ${missing.specifier}${from}.`, {
      code: 'MODULE_MISSING',
      fault: 'system',
      fix: 'The checkout or install is incomplete: restore the file (`git status` shows deleted files), or reinstall WatchPoint.',
      cause: missing.error,
    });
  }
  const root = projectOf(missing.importer);
  const transitive = missing.importer !== undefined && missing.importer.includes(`${sep}node_modules${sep}`) && !missing.importer.includes(`${sep}node_modules${sep}.cache${sep}`);
  const { dependencies, devDependencies } = declared(root);
  const base = `Cannot load the package ${name}${from}`;
  if (transitive) {
    return new WatchpointError(`${base}: an installed package needs it, so node_modules is incomplete.`, {
      code: 'PACKAGE_MISSING', fault: 'system', cause: missing.error,
      fix: `Reinstall exactly what package-lock.json lists: run \`npm ci\` in ${root}.`,
    });
  }
  if (name in devDependencies) {
    return new WatchpointError(`${base}: it is a devDependency, which \`npm ci --omit=dev\` (or NODE_ENV=production, or npm's omit=dev setting) leaves out, and this command needs it.`, {
      code: 'PACKAGE_MISSING', fault: 'system', cause: missing.error,
      fix: `Install the dev dependencies too: run \`npm ci --include=dev\` in ${root}.`,
    });
  }
  if (name in dependencies) {
    return new WatchpointError(`${base}: it is a dependency in package.json, but it is not installed.`, {
      code: 'PACKAGE_MISSING', fault: 'system', cause: missing.error,
      fix: `Install the dependencies package-lock.json lists: run \`npm ci\` in ${root} (and let it finish).`,
    });
  }
  return new WatchpointError(`${base}: package.json does not declare it, so no install step provides it.`, {
    code: 'PACKAGE_MISSING', fault: 'system', cause: missing.error,
    fix: `This is a packaging bug in WatchPoint: report it with this output. To go on now, run \`npm install ${name}\` in ${root}.`,
  });
}
