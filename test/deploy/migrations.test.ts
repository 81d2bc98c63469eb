// Database migrations as a deploy step (issue 8): listed read-only after the secrets check, applied
// after the questions and before any stack, skipped with --skip-migrations, listed by --dry-run, and a
// failure stops the deploy before any stack change. The last tests drive the real port (SSM on moto,
// a real PostgreSQL) and check that the database password appears in no output at all.
import { join } from 'node:path';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { deployCommand } from '../../src/cli/commands/deploy.ts';
import { migrationNames } from '../../src/cli/db/migrations.ts';
import { deploy } from '../../src/cli/deploy/plan.ts';
import type { MigrationsPort } from '../../src/cli/deploy/ports.ts';
import { migrationsPort } from '../../src/cli/deploy/support.ts';
import { formatError } from '../../src/cli/errors.ts';
import { NonInteractiveIo, RecordingIo } from '../../src/cli/io.ts';
import { runCli, tempDir, writeConfig } from '../helpers/cli.ts';
import { motoClient, motoClientConfig, motoStage, startMotoRecorder, uniqueEnvName, useMotoCredentials, type MotoRecorder } from '../helpers/moto.ts';
import { freeLoopbackPort } from '../helpers/net.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { fakes, request, projectWithImageContext } from './fakes.ts';

let dir: string;
beforeEach(async () => {
  dir = await projectWithImageContext();
});

const PENDING = ['1795750000000_pipeline', '1795760000000_add_index'];
const firstIndex = (log: string[], re: RegExp) => log.findIndex((l) => re.test(l));
const lastIndex = (log: string[], re: RegExp) => log.length - 1 - [...log].reverse().findIndex((l) => re.test(l));

describe('deploy: database migrations (fakes)', () => {
  it('lists after the secrets check, applies after the diffs and before any stack, and says what it applied', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, pendingMigrations: PENDING });
    expect(await deploy(request(dir), f.deps)).toBe(0);
    const { log } = f;
    expect(log.slice(0, 3)).toEqual(['sts:GetCallerIdentity', 'secrets check', 'db: list pending migrations']);
    const apply = log.indexOf('db: apply migrations');
    expect(apply).toBeGreaterThan(lastIndex(log, /^diff /));
    expect(apply).toBeLessThan(firstIndex(log, /^deploy /));
    expect(log.filter((l) => l === 'db: apply migrations')).toHaveLength(1);
    expect(log.slice(apply + 1)).toEqual(['deploy watchpoint-dev-registry', 'deploy watchpoint-dev']);
  });

  it('applies nothing when the database is up to date, and still deploys', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, pendingMigrations: [] });
    expect(await deploy(request(dir), f.deps)).toBe(0);
    expect(f.log).toContain('db: list pending migrations');
    expect(f.log).not.toContain('db: apply migrations');
    expect(f.log).toContain('deploy watchpoint-dev');
  });

  it('--skip-migrations never touches the database, deploys, and says how to migrate later', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, pendingMigrations: PENDING, failMigrations: 'pending' });
    expect(await deploy(request(dir, { skipMigrations: true }), f.deps)).toBe(0);
    expect(f.log.filter((l) => l.startsWith('db:'))).toEqual([]);
    expect(f.log).toContain('deploy watchpoint-dev');
    expect(io.messages.some((m) => m.level === 'warn' && m.text.includes('`watchpoint db migrate --env dev`'))).toBe(true);
  });

  it('--dry-run lists the pending migrations in its plan, in order, and applies none', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, pendingMigrations: PENDING });
    expect(await deploy(request(dir, { dryRun: true }), f.deps)).toBe(0);
    expect(f.log).toContain('db: list pending migrations');
    expect(f.log.filter((l) => l === 'db: apply migrations' || l.startsWith('deploy '))).toEqual([]);
    const out = io.stdout;
    expect(out).toContain('apply 2 database migration(s) to postgres://ops:****@db.internal:5432/watchpoint');
    expect(out.indexOf(PENDING[0]!)).toBeGreaterThan(-1);
    expect(out.indexOf(PENDING[0]!)).toBeLessThan(out.indexOf(PENDING[1]!));
    // In the plan, the migrations come before the first stack deploy.
    expect(out.indexOf('database migration(s)')).toBeLessThan(out.indexOf('toolkit-lib deploy watchpoint-dev-registry'));
  });

  it('--dry-run --skip-migrations says migrations are skipped and touches no database', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, pendingMigrations: PENDING });
    expect(await deploy(request(dir, { dryRun: true, skipMigrations: true }), f.deps)).toBe(0);
    expect(f.log.filter((l) => l.startsWith('db:'))).toEqual([]);
    expect(io.stdout).toContain('database migrations: not checked, not applied (--skip-migrations)');
  });

  it('an unreachable database stops the deploy in the preflight (exit 1), before synth, naming --skip-migrations and db migrate', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, pendingMigrations: PENDING, failMigrations: 'pending' });
    const error = await deploy(request(dir), f.deps).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ exitCode: 1, code: 'DEPLOY_MIGRATIONS_FAILED', message: expect.stringContaining('before changing any stack') });
    const text = formatError(error);
    expect(text).toContain('--skip-migrations');
    expect(text).toContain('watchpoint db migrate --env dev');
    expect(text).toContain('ETIMEDOUT');
    expect(f.log.some((l) => /^(synth|deploy|build|push|bootstrap) /.test(l) || l.startsWith('cfn:DescribeStacks watchpoint'))).toBe(false);
  });

  it('a migration that fails to apply stops the deploy before any stack change (exit 1), naming --skip-migrations', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: false, pendingMigrations: PENDING, failMigrations: 'apply' });
    const error = await deploy(request(dir), f.deps).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ exitCode: 1, code: 'DEPLOY_MIGRATIONS_FAILED', fix: expect.stringContaining('--skip-migrations') });
    expect(formatError(error)).toContain('relation "watchpoints" already exists');
    expect(f.log).toContain('db: apply migrations');
    expect(f.log.filter((l) => /^(deploy|push|login) /.test(l))).toEqual([]);
  });

  it('prod: the confirmation counts the migrations, and declining applies none', async () => {
    const io = new RecordingIo([false], true);
    const f = fakes(io, dir, { imagePresent: true, pendingMigrations: PENDING });
    expect(await deploy(request(dir, { envName: 'prod', outputsFile: join(dir, 'outputs-prod.json') }), f.deps)).toBe(0);
    expect(io.questions[0]!.message).toContain('apply 2 database migration(s)');
    expect(f.log).toContain('db: list pending migrations');
    expect(f.log).not.toContain('db: apply migrations');
    expect(io.stderr).toContain('Not deployed; nothing was changed.');
  });

  it('--require-approval any-change asks for pending migrations even when no stack changes; never only lists them', async () => {
    const asked = new RecordingIo([true], true);
    const f1 = fakes(asked, dir, { imagePresent: true, pendingMigrations: PENDING });
    expect(await deploy(request(dir, { requireApproval: 'any-change' }), f1.deps)).toBe(0);
    expect(asked.questions).toHaveLength(1);
    expect(asked.stderr).toContain('Needs approval: database: 2 migration(s) to apply');

    const noTty = new NonInteractiveIo({ stdout: { write: () => true }, stderr: { write: () => true } }, false);
    const f2 = fakes(noTty, dir, { imagePresent: true, pendingMigrations: PENDING });
    await expect(deploy(request(dir, { requireApproval: 'any-change' }), f2.deps)).rejects.toMatchObject({ exitCode: 2, code: 'CONFIRMATION_REQUIRED' });
    expect(f2.log).not.toContain('db: apply migrations');

    const none = new RecordingIo([], true);
    const f3 = fakes(none, dir, { imagePresent: true, pendingMigrations: PENDING });
    expect(await deploy(request(dir), f3.deps)).toBe(0);
    expect(none.questions).toEqual([]);
  });

  it('Ctrl-C while migrating says no stack changed and how to check the database (exit 130)', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true, pendingMigrations: PENDING });
    let started = false;
    f.deps.migrations = { ...f.deps.migrations, apply: () => ((started = true), new Promise<never>(() => undefined)) };
    const running = deploy(request(dir), f.deps);
    while (!started) await new Promise((resolve) => setTimeout(resolve, 5));
    f.interrupt();
    expect(await running).toBe(130);
    expect(io.stderr).toContain('Interrupted while applying the database migrations; no stack was changed.');
    expect(io.stderr).toContain('watchpoint db migrate --env dev --dry-run');
    expect(f.log.filter((l) => l.startsWith('deploy '))).toEqual([]);
  });
});

describe('deploy command: --skip-migrations reaches the orchestration', () => {
  it('is in --help, and with it the migrations port is never called', async () => {
    const cwd = await tempDir();
    const recorder = await startMotoRecorder();
    useMotoCredentials();
    try {
      const envName = uniqueEnvName('h');
      await writeConfig(cwd, { [envName]: motoStage({ awsEndpointUrl: recorder.endpoint }) });
      const help = await runCli(['deploy', '--help'], { cwd });
      expect(help.stdout).toContain('--skip-migrations');
      expect(help.stdout).toContain('expand, then contract');

      // STS is moto's; stop right after the migrations step, at the bootstrap check.
      recorder.fail('DescribeStacks', { code: 'Stop', message: 'stop here' });
      const calls: string[] = [];
      const recording: MigrationsPort = {
        pending: async () => (calls.push('pending'), { database: 'postgres://x:****@h/db', pending: [] }),
        apply: async () => (calls.push('apply'), { database: 'postgres://x:****@h/db', applied: [] }),
      };
      const run = (skipMigrations: boolean) =>
        deployCommand(
          { io: new RecordingIo([], true), options: { env: envName }, env: {}, cwd, flags: { skipImage: true, imageTag: 'v1', skipMigrations } },
          { secrets: async () => ({ ok: true, problems: [] }), migrations: recording },
        ).catch((e: Error) => formatError(e));
      expect(await run(true)).toContain('stop here');
      expect(calls).toEqual([]);
      expect(await run(false)).toContain('stop here');
      expect(calls).toEqual(['pending']);
      expect(recorder.actions().filter((action) => action === 'GetCallerIdentity')).toHaveLength(2);
    } finally {
      await recorder.stop();
    }
  });
});

describe('deploy: the real migrations port (SSM on moto, real PostgreSQL)', () => {
  const PASSWORD = 'hunter2/S3cret@db';
  const ENCODED = encodeURIComponent(PASSWORD);
  const dbs: TestDatabase[] = [];
  let recorder: MotoRecorder;
  let ssm: SSMClient;
  let envName: string;
  beforeAll(async () => {
    recorder = await startMotoRecorder();
    ssm = new SSMClient({ ...motoClientConfig(), endpoint: recorder.endpoint });
  });
  beforeEach(() => {
    envName = uniqueEnvName('g');
    recorder.reset();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await recorder.stop();
    for (const db of dbs) await db.drop();
  });
  const putDatabaseUrl = (value: string) =>
    motoClient(SSMClient).send(new PutParameterCommand({ Name: `/${envName}/watchpoint/database/url`, Value: value, Type: 'SecureString', Overwrite: true }));

  /** Every byte written to the process' stdout and stderr (listr's simple renderer writes there). */
  function captureProcessOutput(): () => string {
    const written: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array) => (written.push(String(chunk)), true)) as never);
    }
    return () => written.join('');
  }
  const withPassword = (url: string) => {
    const parsed = new URL(url);
    parsed.password = ENCODED;
    return parsed.href;
  };
  const tables = async (db: TestDatabase) =>
    (await db.pool.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.t);

  it('--dry-run lists the real pending migrations and writes nothing; deploy then applies them before the stacks; the password is never shown', async () => {
    const db = await createTestDatabase(inject('databaseUrl'), { migrate: false });
    dbs.push(db);
    // Trust auth on the test cluster ignores the password, so the URL can carry one to look for.
    await putDatabaseUrl(withPassword(db.url));
    const processOutput = captureProcessOutput();

    const dryIo = new RecordingIo([], true);
    const dry = fakes(dryIo, dir, { imagePresent: true });
    dry.deps.renderer = 'simple';
    dry.deps.migrations = migrationsPort(ssm, dryIo);
    expect(await deploy(request(dir, { dryRun: true, envName }), dry.deps)).toBe(0);
    for (const name of migrationNames()) expect(dryIo.stdout).toContain(name);
    expect(dryIo.stdout).toContain('postgres://postgres:****@127.0.0.1');
    expect(await tables(db)).toEqual([]);

    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true });
    f.deps.renderer = 'simple';
    const port = migrationsPort(ssm, io);
    f.deps.migrations = {
      pending: port.pending,
      apply: async (input) => (f.log.push('db: apply migrations'), port.apply(input)),
    };
    expect(await deploy(request(dir, { envName }), f.deps)).toBe(0);
    // Every migration under migrations/ ran (other issues add their own files there).
    const ran = (await db.pool.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY run_on, id')).rows.map((r) => r.name);
    expect(ran).toEqual(migrationNames());
    expect(await tables(db)).toContain('watchpoints');
    expect(f.log.indexOf('db: apply migrations')).toBeLessThan(f.log.indexOf(`deploy watchpoint-${envName}-registry`));
    // SSM was read once per deploy run (the port keeps the URL), never logged.
    expect(recorder.actions('ssm')).toEqual(['GetParameter', 'GetParameter']);

    // listr's task titles (on the process' stderr) show the database masked.
    expect(processOutput()).toContain('Database postgres://postgres:****@127.0.0.1');
    const everything = [processOutput(), dryIo.stdout, dryIo.stderr, io.stdout, io.stderr].join('\n');
    expect(everything).toContain(migrationNames()[0]);
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(ENCODED);
  });

  it('a missing database/url parameter (moto answers ParameterNotFound) keeps exit 2, with the secrets fix and --skip-migrations', async () => {
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true });
    f.deps.migrations = migrationsPort(ssm, io);
    const error = await deploy(request(dir, { envName }), f.deps).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ exitCode: 2, code: 'DEPLOY_MIGRATIONS_FAILED' });
    expect(formatError(error)).toMatch(new RegExp(`secrets set database/url --env ${envName}.*--skip-migrations`, 's'));
    expect(f.log.some((l) => /^(synth|deploy) /.test(l))).toBe(false);
  });

  it('an unreachable database stops the deploy (exit 1) with the fix, and the password is in no output or error', async () => {
    const closedPort = await freeLoopbackPort();
    await putDatabaseUrl(`postgres://ops:${ENCODED}@127.0.0.1:${closedPort}/watchpoint`);
    const processOutput = captureProcessOutput();
    const io = new RecordingIo([], true);
    const f = fakes(io, dir, { imagePresent: true });
    f.deps.renderer = 'simple';
    f.deps.migrations = migrationsPort(ssm, io);
    const error = await deploy(request(dir, { envName }), f.deps).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ exitCode: 1, code: 'DEPLOY_MIGRATIONS_FAILED' });
    const text = formatError(error);
    expect(text).toContain('--skip-migrations');
    expect(text).toContain(`postgres://ops:****@127.0.0.1:${closedPort}/watchpoint`);
    expect(text).toContain('ECONNREFUSED');
    expect(f.log.some((l) => /^(synth|deploy) /.test(l))).toBe(false);
    const everything = [text, JSON.stringify(error, Object.getOwnPropertyNames(error as object)), processOutput(), io.stdout, io.stderr].join('\n');
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(ENCODED);
  });
});
