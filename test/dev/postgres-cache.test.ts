// The pristine-cluster cache of `watchpoint dev`'s PostgreSQL: the first start runs initdb and keeps
// a copy; the next starts copy it (same cluster, same password) instead of running initdb; a broken
// entry or an unwritable cache is a warning and an initdb, never a failed start.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startDevPostgres } from '../../src/dev/postgres.ts';
import { tempDir } from '../helpers/cli.ts';

async function startAndQuery(cacheRoot: string, warnings: string[]): Promise<string> {
  const server = await startDevPostgres({ cacheRoot, warn: (line) => warnings.push(line) });
  try {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
    await client.end();
    expect(rows[0]?.one).toBe(1);
    return new URL(server.url).password;
  } finally {
    await server.stop();
  }
}

function entryOf(cacheRoot: string): string {
  const entries = readdirSync(cacheRoot).filter((name) => !name.startsWith('.'));
  expect(entries).toHaveLength(1);
  return join(cacheRoot, entries[0]!);
}

describe('dev PostgreSQL cluster cache', () => {
  it('initdb once, then a copy of the pristine cluster; a broken entry is replaced, an unwritable cache only warned about', { timeout: 120_000 }, async () => {
    const cacheRoot = join(await tempDir(), 'postgres');
    const warnings: string[] = [];

    const first = await startAndQuery(cacheRoot, warnings);
    const entry = entryOf(cacheRoot);
    expect((statSync(join(entry, 'meta.json')).mode & 0o777).toString(8)).toBe('600');
    expect(JSON.parse(readFileSync(join(entry, 'meta.json'), 'utf8')).password).toBe(first);
    // The copy is pristine: no server ever ran on it.
    expect(() => statSync(join(entry, 'data', 'postmaster.pid'))).toThrow();

    // A hit: the cached cluster, so the password initdb gave it (a fresh initdb would draw a new one).
    expect(await startAndQuery(cacheRoot, warnings)).toBe(first);
    expect(warnings).toEqual([]);

    // A broken entry: a warning, an initdb, and a fresh entry in its place.
    rmSync(join(entry, 'data', 'PG_VERSION'));
    const third = await startAndQuery(cacheRoot, warnings);
    expect(third).not.toBe(first);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not be read, so initdb runs instead: .*The broken entry was removed; this start caches a fresh one\./);
    expect(JSON.parse(readFileSync(join(entryOf(cacheRoot), 'meta.json'), 'utf8')).password).toBe(third);

    // An unwritable cache (its parent is a file): the start works, with a warning saying so.
    const blocked = join(await tempDir(), 'a-file');
    writeFileSync(blocked, '');
    const unwritable: string[] = [];
    await startAndQuery(join(blocked, 'postgres'), unwritable);
    expect(unwritable).toHaveLength(1);
    expect(unwritable[0]).toMatch(/could not be cached in .*a-file\/postgres, so the next start runs initdb again: .* Make .*a-file writable by this user to keep it\./);
  });
});
