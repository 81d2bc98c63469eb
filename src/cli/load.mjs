// Loads the CLI core for bin/watchpoint.
//
// Node 22 runs TypeScript directly, but stripping types costs ~27 ms per process, which alone would
// put `watchpoint --help` over its budget (2.5x `node -e 0`). So the first run compiles src/cli into
// one ESM bundle under node_modules/.cache, and later runs import that bundle after checking, with
// one stat per source file (and this file, which holds the build settings), that none of its inputs
// changed. Dependencies stay external except commander, which every run loads: bundled, it is one
// file less to resolve per module (seven). The CDK stack is loaded from its .ts source only when
// `synth` runs. Plain JS on purpose: this file runs before any TypeScript can.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const entry = join(root, 'src', 'cli', 'run.ts');
const cacheDir = process.env.WATCHPOINT_CLI_CACHE || join(root, 'node_modules', '.cache', 'watchpoint-cli');
const pointerFile = join(cacheDir, 'current.json');
/** Sources outside the bundle: loaded from .ts at run time, by the commands that need them (src/dev: its worker threads load handler modules by path). */
const UNBUNDLED = [join(root, 'src', 'stack') + '/', join(root, 'src', 'lambdas') + '/', join(root, 'src', 'dev') + '/'];
/** Packages inside the bundle: those `--help` loads. Every other package stays external (loaded by the commands that use it). */
const BUNDLED_PACKAGES = new Set(['commander']);
const self = fileURLToPath(import.meta.url);

export async function loadRun() {
  if (process.env.WATCHPOINT_FROM_SOURCE === '1') return (await import(pathToFileURL(entry).href)).run;
  let build = freshBuild();
  if (!build) {
    try {
      build = await compile();
    } catch {
      // A read-only install or a missing esbuild costs speed, not function: run from source.
      return (await import(pathToFileURL(entry).href)).run;
    }
  }
  return (await import(pathToFileURL(join(cacheDir, build.dir, 'run.js')).href)).run;
}

function freshBuild() {
  let pointer;
  try {
    pointer = JSON.parse(readFileSync(pointerFile, 'utf8'));
  } catch {
    return undefined;
  }
  // A build made by other settings (an older version of this file) is not reused.
  if (pointer.loader !== stamp(self)) return undefined;
  for (const [file, stamped] of Object.entries(pointer.inputs)) {
    if (stamp(join(root, file)) !== stamped) return undefined;
  }
  return pointer;
}

/** What a file looks like to the freshness check: its mtime and size, or undefined when it is gone. */
function stamp(path) {
  try {
    const stat = statSync(path);
    return `${stat.mtimeMs}:${stat.size}`;
  } catch {
    return undefined;
  }
}

async function compile() {
  const esbuild = await import('esbuild');
  const dir = `build-${process.pid}-${Date.now()}`;
  const outdir = join(cacheDir, dir);
  const result = await esbuild.build({
    entryPoints: [entry],
    outdir,
    // The metafile's input paths are relative to this; without it they are relative to the caller's
    // cwd, the stat below fails outside the project, and every such run fell back to source.
    absWorkingDir: root,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    metafile: true,
    sourcemap: 'linked',
    logLevel: 'silent',
    plugins: [
      {
        name: 'unbundled-sources',
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, (args) => (BUNDLED_PACKAGES.has(args.path) ? undefined : { path: args.path, external: true }));
          build.onResolve({ filter: /^\./ }, (args) => {
            const path = resolve(args.resolveDir, args.path);
            if (UNBUNDLED.some((prefix) => path.startsWith(prefix))) return { path: pathToFileURL(path).href, external: true };
            return undefined;
          });
        },
      },
    ],
  });
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) {
    const absolute = resolve(root, file);
    inputs[relative(root, absolute)] = stamp(absolute);
  }
  // Publish atomically: write the pointer to a temp file, then rename it over the old one.
  const pointer = { dir, loader: stamp(self), inputs };
  mkdirSync(cacheDir, { recursive: true });
  const temp = `${pointerFile}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(pointer));
  renameSync(temp, pointerFile);
  for (const name of readdirSync(cacheDir)) {
    if (name.startsWith('build-') && name !== dir && isStale(join(cacheDir, name))) rmSync(join(cacheDir, name), { recursive: true, force: true });
  }
  return pointer;
}

/** Old builds are removed once they are a minute old, so a process still loading one is not disturbed. */
function isStale(path) {
  try {
    return Date.now() - statSync(path).mtimeMs > 60_000;
  } catch {
    return false;
  }
}


