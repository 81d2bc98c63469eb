// `watchpoint dev --watch`: a saved handler file reaches the running functions in about the time of
// one esbuild rebuild. One incremental esbuild context bundles every handler entry (packages left
// external, nothing written); after each change its per-entry output is hashed, and only functions
// whose bundle changed get fresh containers (FunctionHost.reload: in-flight invocations finish on
// the old code). A syntax or resolution error is printed with its file and line, and the old code
// keeps serving. PostgreSQL, the queues and the buckets are never touched. A change under src/stack
// or src/config goes to onStackChange (the platform re-reads the template: stack-watch.ts).
import { createHash } from 'node:crypto';
import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join, relative } from 'node:path';
import type { BuildContext, BuildResult, Message } from 'esbuild';
import type { FunctionHost } from './function-host.ts';

export interface WatchedFunction {
  host: FunctionHost;
  /** Its directory under src/lambdas. */
  handlerDir: string;
}

export interface ReloadEvent {
  /** Files reported changed since the last rebuild (project-relative). */
  files: string[];
  /** Handler directories whose bundle changed. */
  changed: string[];
  /** Functions given fresh containers. */
  reloaded: string[];
  /** Wall time of the esbuild rebuild, and from the first change seen to every fresh container ready. */
  rebuildMs: number;
  totalMs: number;
  /** esbuild's errors (file:line: text) when the rebuild failed; the old code keeps serving then. */
  errors: string[];
}

export interface HandlerWatch {
  /** Resolves once the first build (the baseline every change is compared with) is done. */
  ready: Promise<void>;
  close(): Promise<void>;
}

const DEBOUNCE_MS = 40;
/** An editor saving several stack files at once starts one synth, not one per file. */
const STACK_DEBOUNCE_MS = 300;

export function startHandlerWatch(options: {
  /** The project root: src/lambdas/<dir>/index.ts are the entries; src/ is watched. */
  root: string;
  functions: readonly WatchedFunction[];
  log: (line: string) => void;
  onReload?: (event: ReloadEvent) => void;
  /** A file under src/stack or src/config changed (debounced; runs after any reload in progress). */
  onStackChange?: () => Promise<void>;
}): HandlerWatch {
  const dirs = [...new Set(options.functions.map((fn) => fn.handlerDir))].sort();
  let context: BuildContext<{ metafile: true; write: false }> | undefined;
  let hashes = new Map<string, string>();
  let stopWatching: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stackTimer: NodeJS.Timeout | undefined;
  let pending = new Set<string>();
  let firstChangeAt = 0;
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  const build = async (): Promise<{ hashes: Map<string, string> } | { errors: string[] }> => {
    const esbuild = await import('esbuild');
    let result: BuildResult<{ metafile: true; write: false }>;
    try {
      result = await context!.rebuild();
    } catch (error) {
      const errors = (error as { errors?: Message[] }).errors ?? [];
      const text = errors.length > 0 ? await esbuild.formatMessages(errors, { kind: 'error', color: false }) : [String(error)];
      return { errors: text.map((line) => line.trimEnd()) };
    }
    const next = new Map<string, string>();
    for (const dir of dirs) {
      const file = result.outputFiles.find((out) => out.path === join(options.root, '.dev-watch', dir, 'index.js'));
      next.set(dir, file ? createHash('sha256').update(file.contents).digest('hex') : 'missing');
    }
    return { hashes: next };
  };

  const rebuild = async (): Promise<void> => {
    const files = [...pending].sort();
    pending = new Set();
    const started = firstChangeAt;
    const rebuildStarted = performance.now();
    const outcome = await build();
    const rebuildMs = performance.now() - rebuildStarted;
    if ('errors' in outcome) {
      options.log(`watch: ${files.join(', ')} does not build; the functions keep running the previous code:\n${outcome.errors.join('\n')}`);
      options.onReload?.({ files, changed: [], reloaded: [], rebuildMs, totalMs: performance.now() - started, errors: outcome.errors });
      return;
    }
    const changed = dirs.filter((dir) => outcome.hashes.get(dir) !== hashes.get(dir));
    hashes = outcome.hashes;
    const targets = options.functions.filter((fn) => changed.includes(fn.handlerDir));
    await Promise.all(targets.map((fn) => fn.host.reload()));
    const totalMs = performance.now() - started;
    const reloaded = targets.map((fn) => fn.host.spec.name);
    options.log(
      reloaded.length > 0
        ? `watch: ${files.join(', ')} changed: ${reloaded.join(', ')} reloaded in ${Math.round(totalMs)} ms (esbuild ${Math.round(rebuildMs)} ms); in-flight invocations finish on the old code`
        : `watch: ${files.join(', ')} changed no function's bundle; nothing reloaded`,
    );
    options.onReload?.({ files, changed, reloaded, rebuildMs, totalMs, errors: [] });
  };

  const ready = (async () => {
    const esbuild = await import('esbuild');
    context = await esbuild.context({
      entryPoints: Object.fromEntries(dirs.map((dir) => [`${dir}/index`, join('src', 'lambdas', dir, 'index.ts')])),
      absWorkingDir: options.root,
      outdir: join(options.root, '.dev-watch'),
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      packages: 'external',
      logLevel: 'silent',
    });
    const first = await build();
    if ('errors' in first) options.log(`watch: the handlers do not build yet:\n${first.errors.join('\n')}`);
    else hashes = first.hashes;
    if (closed) return;
    stopWatching = watchTree(join(options.root, 'src'), (name) => {
      if (!/\.[cm]?[jt]s$|\.json$/.test(name)) return;
      const path = name.split('\\').join('/');
      if (path.startsWith('stack/') || path.startsWith('config/')) {
        if (!options.onStackChange) {
          options.log(`watch: src/${path} changed; this watch reloads handler code only: restart \`watchpoint dev\` to run the changed stack.`);
          return;
        }
        clearTimeout(stackTimer);
        stackTimer = setTimeout(() => {
          options.log(`watch: src/${path} changed: synthesizing the local stack again ...`);
          running = running.then(options.onStackChange).catch((error: unknown) => options.log(`watch: the stack change was not applied: ${(error as Error).message}`));
        }, STACK_DEBOUNCE_MS);
        return;
      }
      if (pending.size === 0) firstChangeAt = performance.now();
      pending.add(relative(options.root, join(options.root, 'src', name)));
      clearTimeout(timer);
      timer = setTimeout(() => {
        running = running.then(rebuild).catch((error: unknown) => options.log(`watch: reload failed: ${(error as Error).message}`));
      }, DEBOUNCE_MS);
    });
  })();

  return {
    ready,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      clearTimeout(stackTimer);
      stopWatching?.();
      await ready.catch(() => undefined);
      await running;
      await context?.dispose();
    },
  };
}

/**
 * Every directory of a tree watched on its own. Not `fs.watch(dir, { recursive: true })`: on Linux,
 * Node 22's recursive watch follows each file, and loses one an editor (or git) saves by writing a
 * new file and renaming it over the old: the next save of that file goes unseen. A directory watch
 * reports any entry by name, whatever inode it has. New directories are watched as they appear.
 */
export function watchTree(root: string, onChange: (relativePath: string) => void): () => void {
  const watchers = new Map<string, FSWatcher>();
  const add = (dir: string): void => {
    if (watchers.has(dir)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, (event, name) => {
        if (!name) return;
        const path = join(dir, name.toString());
        if (event === 'rename') {
          try {
            if (statSync(path).isDirectory()) walk(path);
          } catch {
            // removed
          }
        }
        onChange(relative(root, path));
      });
    } catch {
      return;
    }
    watcher.on('error', () => {
      watcher.close();
      watchers.delete(dir);
    });
    watchers.set(dir, watcher);
  };
  const walk = (dir: string): void => {
    add(dir);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) if (entry.isDirectory() && entry.name !== 'node_modules') walk(join(dir, entry.name));
  };
  walk(root);
  return () => {
    for (const watcher of watchers.values()) watcher.close();
    watchers.clear();
  };
}
