// The config file's atomic write survives a crash, not only an interrupted process: the temp file is
// fsynced before the rename and the directory after it. fs/promises is wrapped to record the order
// of those calls (no local server can observe a power loss).
import { mkdtemp, readdir, readFile as realReadFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const events: string[] = [];
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof fs.open = async (path, ...rest) => {
    const handle = await fs.open(path, ...rest);
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      await sync();
      events.push(`sync ${String(path)}`);
    };
    return handle;
  };
  const rename: typeof fs.rename = async (from, to) => {
    await fs.rename(from, to);
    events.push(`rename ${String(from)} -> ${String(to)}`);
  };
  return { ...fs, default: { ...fs, open, rename }, open, rename };
});

const { writeConfigFile } = await import('../../src/config/config-file.ts');

describe('writeConfigFile', () => {
  it('fsyncs the temp file before the rename, and the directory after it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wp-config-'));
    const target = join(dir, 'watchpoint.config.json');
    await writeConfigFile(target, { environments: {} });
    expect(events).toHaveLength(3);
    const [syncFile, rename, syncDir] = events;
    const temp = /^sync (.+\.tmp)$/.exec(syncFile!)?.[1];
    expect(temp).toBeDefined();
    expect(dirname(temp!)).toBe(dir);
    expect(rename).toBe(`rename ${temp} -> ${target}`);
    expect(syncDir).toBe(`sync ${dir}`);
    expect(JSON.parse(await realReadFile(target, 'utf8'))).toEqual({ environments: {} });
    expect(await readdir(dir)).toEqual(['watchpoint.config.json']);
  });
});

describe('src/config', () => {
  it('does not depend on the CLI', async () => {
    const dir = join(import.meta.dirname, '../../src/config');
    const files = (await readdir(dir)).filter((name) => name.endsWith('.ts'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const name of files) {
      const text = await realReadFile(join(dir, name), 'utf8');
      expect({ name, imports: [...text.matchAll(/from '([^']+)'/g)].map((m) => m[1]).filter((from) => from!.includes('/cli/')) }).toEqual({ name, imports: [] });
    }
  });
});
