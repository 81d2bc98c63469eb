// `watchpoint db migrate` against a real PostgreSQL, with the URL from SSM (moto), the environment
// or stdin. The password never appears in any output.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import pg from 'pg';
import { RecordingIo } from '../../src/cli/io.ts';
import { dbMigrateCommand, maskDatabaseUrl, scrubSecret } from '../../src/cli/commands/db.ts';
import { migrationNames } from '../../src/cli/db/migrations.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { runCli, tempDir, VALID_DEV, writeConfig } from '../helpers/cli.ts';
import { motoClient, motoStage, uniqueEnvName, useMotoCredentials } from '../helpers/moto.ts';

const PASSWORD = 's3cr3t/P@ss';
const withPassword = (url: string) => {
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(PASSWORD);
  return parsed.href;
};
useMotoCredentials();
const ssm = motoClient(SSMClient);
/** Environments on moto: one with database/url set by the first test, one where it is missing. */
const env = uniqueEnvName('m');
const unset = uniqueEnvName('u');
const dbs: TestDatabase[] = [];
const fresh = async () => {
  const db = await createTestDatabase(inject('databaseUrl'), { migrate: false });
  dbs.push(db);
  return db;
};
const tables = async (db: TestDatabase) =>
  (await db.pool.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.t);

let cwd: string;
beforeAll(async () => {
  cwd = await tempDir();
  await writeConfig(cwd, { dev: VALID_DEV, [env]: motoStage(), [unset]: motoStage() });
});
afterAll(async () => {
  for (const db of dbs) await db.drop();
});

describe('watchpoint db migrate', () => {
  it('reads the URL from SSM (decrypted), --dry-run changes nothing, then applies, then is up to date', async () => {
    const db = await fresh();
    const url = withPassword(db.url);
    await ssm.send(new PutParameterCommand({ Name: `/${env}/watchpoint/database/url`, Value: url, Type: 'SecureString' }));

    const dry = await runCli(['db', 'migrate', '--env', env, '--dry-run'], { cwd });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would apply ${migrationNames().length} migration(s)`);
    expect(dry.stdout).toContain(migrationNames()[0]);
    expect(await tables(db)).toEqual([]);

    const applied = await runCli(['db', 'migrate', '--env', env], { cwd });
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`applied ${migrationNames().length} migration(s)`);
    // Later migrations add their own tables; the pipeline's must be there.
    expect(await tables(db)).toEqual(expect.arrayContaining(['notification_records', 'pgmigrations', 'watchpoints']));

    const again = await runCli(['db', 'migrate', '--env', env, '--json'], { cwd });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      env, database: maskDatabaseUrl(url), source: 'ssm', dryRun: false, applied: [], pending: [],
    });
    for (const output of [dry, applied, again]) {
      expect(output.stdout + output.stderr).not.toContain(PASSWORD);
      expect(output.stdout + output.stderr).not.toContain(encodeURIComponent(PASSWORD));
    }
    expect(applied.stdout).toContain('postgres://postgres:****@127.0.0.1');
  });

  it('the schema enforces the watchpoint contract', async () => {
    const db = await fresh();
    const run = await runCli(['db', 'migrate'], { cwd, env: { WATCHPOINT_DATABASE_URL: db.url } });
    expect(run.code).toBe(0);
    const insert = (over: Record<string, unknown>) => {
      const row = { latitude: 10, longitude: 20, variable: 'temperature_2m', condition: 'gt', threshold: 1, window_end_hours: 6, channels: '[]', ...over };
      return db.pool.query(
        'INSERT INTO watchpoints (latitude, longitude, variable, condition, threshold, window_end_hours, channels) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [row.latitude, row.longitude, row.variable, row.condition, row.threshold, row.window_end_hours, row.channels],
      );
    };
    await insert({});
    for (const bad of [{ latitude: 91 }, { longitude: 180 }, { condition: 'between' }, { variable: 'Temp' }, { window_end_hours: 500 }, { channels: '{}' }, { threshold: 'NaN' }]) {
      await expect(insert(bad), JSON.stringify(bad)).rejects.toThrow(/violates check constraint/);
    }
  });

  it('reads the URL from stdin with --database-url-stdin, without a config file', async () => {
    const db = await fresh();
    const io = new RecordingIo([], false);
    const code = await dbMigrateCommand({
      io, options: {}, env: {}, cwd: await tempDir(), dryRun: false, urlFromStdin: true, json: false,
      stdin: Readable.from([`${withPassword(db.url)}\n`]),
    });
    expect(code).toBe(0);
    expect(io.results.join('\n')).toContain(`applied ${migrationNames().length} migration(s)`);
    expect(JSON.stringify(io.messages) + io.results.join('')).not.toContain(PASSWORD);
  });

  it('rejects a bad URL with exit 2 naming its source, without echoing it', async () => {
    const bad = await runCli(['db', 'migrate'], { cwd, env: { WATCHPOINT_DATABASE_URL: `mysql://root:${encodeURIComponent(PASSWORD)}@db/x` } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('$WATCHPOINT_DATABASE_URL has scheme "mysql:"');
    expect(bad.stderr).not.toContain(PASSWORD);
    expect(bad.stderr).not.toContain(encodeURIComponent(PASSWORD));
    const noDb = await runCli(['db', 'migrate'], { cwd, env: { WATCHPOINT_DATABASE_URL: 'postgres://u:p@host' } });
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toContain('names no database');
  });

  it('a missing SSM parameter (moto answers ParameterNotFound) is exit 2 with the command that sets it', async () => {
    const run = await runCli(['db', 'migrate', '--env', unset], { cwd });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`/${unset}/watchpoint/database/url does not exist`);
    expect(run.stderr).toContain(`watchpoint secrets set database/url --env ${unset}`);
  });

  it('an unreachable database is exit 1, and the password is scrubbed from every cause', async () => {
    const run = await runCli(['db', 'migrate'], { cwd, env: { WATCHPOINT_DATABASE_URL: `postgres://app:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/app` } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Migrating postgres://app:****@127.0.0.1:1/app failed');
    expect(run.stderr).toContain('caused by');
    expect(run.stderr).not.toContain(PASSWORD);
    expect(run.stderr).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('two concurrent runs apply each migration once (advisory lock)', async () => {
    const db = await fresh();
    const [a, b] = await Promise.all([1, 2].map(() => runCli(['db', 'migrate', '--json'], { cwd, env: { WATCHPOINT_DATABASE_URL: db.url } })));
    expect([a!.code, b!.code]).toEqual([0, 0]);
    const applied = [a!, b!].flatMap((r) => (JSON.parse(r.stdout) as { applied: string[] }).applied);
    expect(applied).toEqual(migrationNames());
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rowCount } = await client.query('SELECT 1 FROM pgmigrations');
    await client.end();
    expect(rowCount).toBe(migrationNames().length);
  });

  it('scrubSecret removes raw and decoded forms of the password', () => {
    const url = `postgres://u:${encodeURIComponent(PASSWORD)}@h/d`;
    expect(scrubSecret(`failed for ${url}; password ${PASSWORD}`, url)).toBe('failed for postgres://u:****@h/d; password ****');
  });
});
