// The flag contract (src/cli/flags.ts): each command's parse<Cmd>Options turns commander's raw flags
// into its typed options and validates them there, once. Parsed here without running the command:
// no AWS, no config file (the cwd does not exist).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { RecordingIo } from '../../src/cli/io.ts';
import { parseStatusOptions } from '../../src/cli/commands/status.ts';
import { parseDeployOptions } from '../../src/cli/commands/deploy.ts';
import { parseInitOptions } from '../../src/cli/commands/init.ts';
import { parseSynthOptions } from '../../src/cli/commands/synth.ts';
import { parseDestroyOptions } from '../../src/cli/commands/destroy.ts';
import { parseDevOptions } from '../../src/cli/commands/dev.ts';
import { parseDriftOptions } from '../../src/cli/commands/drift.ts';
import { parseTraceOptions } from '../../src/cli/commands/trace.ts';
import { parseLogsOptions } from '../../src/cli/commands/logs.ts';
import { parseSecretsOptions } from '../../src/cli/commands/secrets.ts';
import { parseRotateKeysOptions } from '../../src/cli/commands/runpod.ts';
import { parseExportOptions, parseInspectOptions, parsePurgeOptions, parseRedriveOptions } from '../../src/cli/commands/dlq.ts';

const base = () => ({ io: new RecordingIo([], false), options: {}, env: {}, cwd: '/nonexistent' });

/** The user error a parse throws: exit 2, the flag first in the message, and a fix. */
const badFlag = (flag: string, code?: string) =>
  expect.objectContaining({ exitCode: 2, message: expect.stringMatching(new RegExp(`^${flag} `)), fix: expect.any(String), ...(code ? { code } : {}) });

describe('status', () => {
  it('parses and validates status flags', () => {
    const options = parseStatusOptions({ json: true, watch: '30' }, base());
    expect(options).toMatchObject({ json: true, watchSeconds: 30, stdoutIsTty: expect.any(Boolean) });
    expect(options.now()).toBeInstanceOf(Date);
    expect(() => parseStatusOptions({ watch: '5' }, base())).toThrow(badFlag('--watch'));
  });
});

describe('deploy', () => {
  it('defaults: approval on broadening changes, image built, migrations checked, no --yes', () => {
    const options = parseDeployOptions({}, base());
    expect(options).toMatchObject({
      requireApproval: 'broadening',
      imageTag: undefined,
      skipImage: false,
      skipMigrations: false,
      containerCli: undefined,
      dryRun: false,
      yes: false,
      injected: {},
    });
    expect(options.now()).toBeInstanceOf(Date);
  });

  it('types every flag it is given', () => {
    const options = parseDeployOptions(
      { requireApproval: 'any-change', imageTag: 'v1.2_3', skipImage: true, skipMigrations: true, containerCli: 'podman', dryRun: true, yes: true },
      base(),
    );
    expect(options).toMatchObject({ requireApproval: 'any-change', imageTag: 'v1.2_3', skipImage: true, skipMigrations: true, containerCli: 'podman', dryRun: true, yes: true });
  });

  it('--all-at-once (issue 21): off by default, typed when given', () => {
    expect(parseDeployOptions({}, base()).allAtOnce).toBe(false);
    expect(parseDeployOptions({ allAtOnce: true }, base()).allAtOnce).toBe(true);
  });

  it('takes --yes from the common options when the flags lack it (deployCommand callers)', () => {
    expect(parseDeployOptions({}, { ...base(), options: { yes: true } }).yes).toBe(true);
  });

  it.each([
    [{ requireApproval: 'sometimes' }, '--require-approval', 'REQUIRE_APPROVAL_INVALID', /broadening, any-change, never/],
    [{ imageTag: 'not a tag' }, '--image-tag', 'IMAGE_TAG_INVALID', /128 letters/],
    [{ imageTag: '-leading-dash' }, '--image-tag', 'IMAGE_TAG_INVALID', /not starting with/],
    [{ containerCli: 'nerdctl' }, '--container-cli', 'CONTAINER_CLI_INVALID', /docker, podman, finch, buildah/],
    [{ allAtOnce: true, hotswap: true }, '--all-at-once', 'ALL_AT_ONCE_WITH_HOTSWAP', /Drop one of them/],
  ])('refuses %o with exit 2 naming %s', (flags, flag, code, fix) => {
    expect(() => parseDeployOptions(flags, base())).toThrow(badFlag(flag, code));
    expect(() => parseDeployOptions(flags, base())).toThrow(expect.objectContaining({ fix: expect.stringMatching(fix) }));
  });

  it('checks --require-approval first, so one run names one bad flag', () => {
    expect(() => parseDeployOptions({ requireApproval: 'x', imageTag: 'bad tag', containerCli: 'nerdctl' }, base())).toThrow(badFlag('--require-approval'));
  });
});

describe('init', () => {
  it('resolves --env and --config, and collects the stage flags without reading the file', () => {
    const options = parseInitOptions({ env: 'staging', config: 'conf/wp.json', region: ' eu-west-1 ', corsAllowedOrigins: 'https://a.example, https://b.example', runpodEndpointId: 'ep1' }, base());
    expect(options).toMatchObject({ envName: 'staging', path: '/nonexistent/conf/wp.json' });
    expect(options.overrides).toEqual({ region: 'eu-west-1', corsAllowedOrigins: ['https://a.example', 'https://b.example'], runPodEndpointId: 'ep1' });
    expect([...options.fromFlags].sort()).toEqual(['corsAllowedOrigins', 'region', 'runPodEndpointId']);
  });

  it('takes WATCHPOINT_ENV, then dev', () => {
    expect(parseInitOptions({}, { ...base(), env: { WATCHPOINT_ENV: 'qa' } }).envName).toBe('qa');
    expect(parseInitOptions({}, base())).toMatchObject({ envName: 'dev', path: '/nonexistent/watchpoint.config.json' });
  });

  it('refuses a bad --env with exit 2 naming it', () => {
    expect(() => parseInitOptions({ env: 'Bad_Name' }, base())).toThrow(badFlag('--env', 'ENV_NAME_INVALID'));
  });
});

describe('synth', () => {
  it('resolves --out against the cwd and carries --verbose from the flag or the context', () => {
    const options = parseSynthOptions({ out: 'build/out', imageTag: 'latest', json: true }, base());
    expect(options).toMatchObject({ out: 'build/out', outdir: '/nonexistent/build/out', imageTag: 'latest', json: true, verbose: false });
    expect(parseSynthOptions({ out: 'o', imageTag: 'latest', verbose: true }, base()).verbose).toBe(true);
    expect(parseSynthOptions({ out: 'o', imageTag: 'latest' }, { ...base(), verbose: true }).verbose).toBe(true);
  });

  it.each([
    [{ out: 'cdk.out', imageTag: 'bad tag' }, '--image-tag', 'IMAGE_TAG_INVALID'],
    [{ out: '  ', imageTag: 'latest' }, '--out', 'OUT_INVALID'],
  ])('refuses %o with exit 2 naming %s', (flags, flag, code) => {
    expect(() => parseSynthOptions(flags, base())).toThrow(badFlag(flag, code));
  });
});

describe('destroy', () => {
  it('two switches, off unless given; --yes also from the common options', () => {
    expect(parseDestroyOptions({}, base())).toMatchObject({ yes: false, force: false, injected: {} });
    expect(parseDestroyOptions({ yes: true, force: true }, base())).toMatchObject({ yes: true, force: true });
    expect(parseDestroyOptions({}, { ...base(), options: { yes: true } }).yes).toBe(true);
  });
});

describe('dev', () => {
  const dev = (flags: Partial<Parameters<typeof parseDevOptions>[0]>) => parseDevOptions({ hotPoint: [], ...flags }, base());

  it('defaults: real time, no drill, embedded PostgreSQL, public webhooks only', () => {
    expect(dev({})).toMatchObject({ once: false, speed: 1, drill: undefined, hotPoints: [], databaseUrl: undefined, allowLoopbackWebhooks: false, json: false, watch: false });
  });

  it('types every flag: a drill runs at x180 unless --speed says otherwise, hot points default to 45', () => {
    expect(dev({ drill: 'webhook-failing' })).toMatchObject({ drill: 'webhook-failing', speed: 180 });
    expect(dev({ drill: 'webhook-failing', speed: '60' }).speed).toBe(60);
    expect(dev({ once: true, json: true, hotPoint: ['40.4,-3.7', '-10,20,temperature_2m=3.5'], databaseUrl: 'postgres://u:p@127.0.0.1:5432/db' })).toMatchObject({
      once: true,
      json: true,
      hotPoints: [
        { latitude: 40.4, longitude: -3.7, variable: 'temperature_2m', value: 45 },
        { latitude: -10, longitude: 20, variable: 'temperature_2m', value: 3.5 },
      ],
      databaseUrl: 'postgres://u:p@127.0.0.1:5432/db',
    });
    expect(dev({ databaseUrl: '' }).databaseUrl).toBeUndefined();
  });

  it.each([
    [{ speed: '0' }, '--speed', 'DEV_SPEED_INVALID'],
    [{ speed: '3601' }, '--speed', 'DEV_SPEED_INVALID'],
    [{ speed: 'fast' }, '--speed', 'DEV_SPEED_INVALID'],
    [{ drill: 'fire' }, '--drill', 'DEV_DRILL_UNKNOWN'],
    [{ drill: 'forecasts-stop', once: true }, '--drill', 'DEV_DRILL_ONCE'],
    [{ hotPoint: ['north'] }, '--hot-point', 'DEV_HOT_POINT_INVALID'],
    [{ hotPoint: ['91,0'] }, '--hot-point', 'DEV_HOT_POINT_INVALID'],
    [{ hotPoint: ['1,2,snow=3'] }, '--hot-point', 'DEV_HOT_POINT_INVALID'],
    [{ databaseUrl: 'not a url' }, '--database-url', 'DEV_DATABASE_URL_INVALID'],
    [{ databaseUrl: 'mysql://h/db' }, '--database-url', 'DEV_DATABASE_URL_INVALID'],
    [{ json: true }, '--json', 'DEV_JSON_NEEDS_ONCE'],
    [{ watch: true, once: true }, '--watch', 'DEV_WATCH_WITH_ONCE'],
  ])('refuses %o with exit 2 naming %s', (flags, flag, code) => {
    expect(() => dev(flags)).toThrow(badFlag(flag, code));
  });
});

describe('drift', () => {
  it('--timeout in seconds (default 600), --json, --fail', () => {
    expect(parseDriftOptions({ timeout: '600' }, base())).toMatchObject({ timeoutSeconds: 600, json: false, fail: false, pollMs: 5000 });
    expect(parseDriftOptions({ timeout: ' 900 ', json: true, fail: true }, base())).toMatchObject({ timeoutSeconds: 900, json: true, fail: true });
  });

  it.each(['9', '3601', '1m', ''])('refuses --timeout %j with exit 2 naming it', (timeout) => {
    expect(() => parseDriftOptions({ timeout }, base())).toThrow(badFlag('--timeout', 'TIMEOUT_INVALID'));
  });
});

describe('trace', () => {
  const now = new Date('2026-03-02T12:00:00Z');
  const at = () => ({ ...base(), now: () => now });

  it('the id, its kind and the window (default the last 24 h) from the injected clock', () => {
    expect(parseTraceOptions(' 2026-03-01T06Z ', { timeout: '120' }, at())).toMatchObject({
      id: '2026-03-01T06Z',
      kind: undefined,
      start: new Date('2026-03-01T12:00:00Z'),
      end: now,
      timeoutSeconds: 120,
      json: false,
    });
    expect(parseTraceOptions('2026-03-01T06Z', { timeout: '60', kind: 'RUN', since: '3d', until: '1h', json: true }, at())).toMatchObject({
      kind: 'run',
      start: new Date('2026-02-27T12:00:00Z'),
      end: new Date('2026-03-02T11:00:00Z'),
      json: true,
    });
  });

  it.each([
    ['2026-03-01T06Z', { timeout: '4' }, '--timeout', 'TIMEOUT_INVALID'],
    ['2026-03-01T06Z', { timeout: '120', kind: 'deploy' }, '--kind', 'TRACE_KIND_INVALID'],
    ['2026-03-01T06Z', { timeout: '120', since: 'yesterday' }, '--since', undefined],
  ])('refuses %s %o naming %s', (id, flags, flag, code) => {
    expect(() => parseTraceOptions(id, flags, at())).toThrow(badFlag(flag, code));
  });

  it('refuses an id that could change the query', () => {
    expect(() => parseTraceOptions('x" | filter 1', { timeout: '120' }, at())).toThrow(expect.objectContaining({ exitCode: 2, code: 'TRACE_ID_INVALID' }));
  });
});

describe('logs', () => {
  const now = new Date('2026-03-02T12:00:00Z');
  const at = () => ({ ...base(), now: () => now });

  it('every function by default, the last 15 minutes, 1000 events; --level becomes the filter pattern', () => {
    const options = parseLogsOptions([], { limit: '1000' }, at());
    expect(options.request).toMatchObject({ start: new Date('2026-03-02T11:45:00Z'), end: now, filterPattern: undefined, level: undefined, limit: 1000 });
    expect(options.request.sources.length).toBeGreaterThan(1);
    expect(options).toMatchObject({ json: false, follow: false, untilGiven: false });
    const errors = parseLogsOptions(['api'], { limit: '50', level: 'error', until: '5m', json: true }, at());
    expect(errors.request.sources.map((source) => source.alias)).toEqual(['api']);
    expect(errors.request).toMatchObject({ level: 'error', limit: 50, end: new Date('2026-03-02T11:55:00Z'), filterPattern: expect.any(String) });
    expect(errors).toMatchObject({ json: true, untilGiven: true });
    // An explicit --filter wins over the level's pattern.
    expect(parseLogsOptions([], { limit: '1', level: 'error', filter: '"Task timed out"' }, at()).request.filterPattern).toBe('"Task timed out"');
  });

  it.each([
    [[], { limit: '0' }, '--limit', 'LIMIT_INVALID'],
    [[], { limit: '100001' }, '--limit', 'LIMIT_INVALID'],
    [[], { limit: '10', level: 'fatal' }, '--level', 'LEVEL_INVALID'],
    [[], { limit: '10', follow: true, until: '5m' }, '--follow', 'FOLLOW_UNTIL'],
    [['mailer'], { limit: '10' }, '"mailer"', 'FUNCTION_UNKNOWN'],
  ])('refuses %j %o naming %s', (functions, flags, flag, code) => {
    expect(() => parseLogsOptions(functions, flags, at())).toThrow(badFlag(flag, code));
  });
});

describe('dlq', () => {
  it('inspect: --limit 1-100, default 10', () => {
    expect(parseInspectOptions({}, base())).toMatchObject({ limit: 10, json: false });
    expect(parseInspectOptions({ limit: '100', json: true }, base())).toMatchObject({ limit: 100, json: true });
    expect(() => parseInspectOptions({ limit: '101' }, base())).toThrow(badFlag('--limit'));
  });

  it('export and purge --export: the file is checked before any AWS call, never overwritten without --force', async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, 'old.jsonl'), '');
    const at = { ...base(), cwd };
    expect(parseExportOptions({ out: 'new.jsonl' }, at).out).toBe(join(cwd, 'new.jsonl'));
    expect(() => parseExportOptions({ out: 'old.jsonl' }, at)).toThrow(badFlag('--out:', 'FILE_EXISTS'));
    expect(parseExportOptions({ out: 'old.jsonl', force: true }, at).out).toBe(join(cwd, 'old.jsonl'));
    expect(() => parseExportOptions({ out: 'nowhere/x.jsonl' }, at)).toThrow(badFlag('--out:', 'FLAG_INVALID'));
    expect(parsePurgeOptions({}, at)).toMatchObject({ exportPath: undefined, force: false, confirmName: undefined, yes: false });
    expect(parsePurgeOptions({ export: 'b.jsonl', confirmName: 'q', yes: true }, at)).toMatchObject({ exportPath: join(cwd, 'b.jsonl'), confirmName: 'q', yes: true });
    expect(() => parsePurgeOptions({ export: 'old.jsonl' }, at)).toThrow(badFlag('--export:', 'FILE_EXISTS'));
  });

  it('redrive: the native move task unless a selection is given; durations and counts typed', () => {
    expect(parseRedriveOptions({ source: 'all' }, base())).toMatchObject({ source: undefined, selective: false, maxPerSecond: undefined, dryRun: false, yes: false });
    expect(parseRedriveOptions({ maxPerSecond: '500' }, base())).toMatchObject({ selective: false, maxPerSecond: 500 });
    const selective = parseRedriveOptions({ source: 'WebhookNotificationQueue', match: '"attempt":', olderThan: '1h30m', max: '20', dryRun: true, json: true }, base());
    expect(selective).toMatchObject({ source: 'WebhookNotificationQueue', olderThanMs: 5_400_000, max: 20, selective: true, dryRun: true, json: true });
    expect(selective.match?.test('{"attempt":3}')).toBe(true);
    expect(parseRedriveOptions({}, { ...base(), options: { yes: true } }).yes).toBe(true);
  });

  it.each([
    [{ source: ' ' }, '--source', 'FLAG_INVALID'],
    [{ match: '(' }, '--match', 'MATCH_INVALID'],
    [{ olderThan: '2 hours' }, '--older-than', 'FLAG_INVALID'],
    [{ max: '0' }, '--max', 'FLAG_INVALID'],
    [{ maxPerSecond: '501' }, '--max-per-second', 'FLAG_INVALID'],
    [{ max: '5', maxPerSecond: '10' }, '--max-per-second', 'FLAG_CONFLICT'],
  ])('redrive refuses %o naming %s', (flags, flag, code) => {
    expect(() => parseRedriveOptions(flags, base())).toThrow(badFlag(flag, code));
  });
});

describe('secrets', () => {
  it('names resolve to their catalogue entry; write flags typed; --yes also from the common options', () => {
    const set = parseSecretsOptions('set', 'auth/session_key', { generate: true, overwrite: true, kmsKeyId: 'alias/watchpoint' }, base());
    expect(set).toMatchObject({ action: 'set', entry: { name: 'auth/session_key' }, generate: true, stdin: false, value: undefined, prompted: false, overwrite: true, kmsKeyId: 'alias/watchpoint', yes: false });
    expect(parseSecretsOptions('list', undefined, { json: true }, { ...base(), options: { yes: true } })).toMatchObject({ entry: undefined, json: true, yes: true });
    expect(parseSecretsOptions('rollback', 'auth/session_key', { toVersion: '3' }, base())).toMatchObject({ toVersion: 3, kmsKeyId: undefined });
    expect(parseSecretsOptions('import', undefined, { file: 'secrets.env' }, base()).file).toBe('/nonexistent/secrets.env');
    // On a terminal, no value flag means the hidden prompt, asked last.
    expect(parseSecretsOptions('set', 'auth/session_key', {}, { ...base(), io: new RecordingIo([], true) }).prompted).toBe(true);
  });

  it.each([
    ['get', 'auth/sesion_key', {}, 'SECRET_UNKNOWN'],
    ['set', 'forecast/runpod_aws_secret_access_key', { stdin: true }, 'SECRET_MANAGED'],
    ['set', 'auth/session_key', { stdin: true, generate: true }, 'SECRET_SOURCE_CONFLICT'],
    ['set', 'billing/stripe_secret_key', { generate: true }, 'SECRET_NOT_GENERATABLE'],
    ['set', 'auth/session_key', {}, 'SECRET_NO_TERMINAL'],
    ['set', 'auth/session_key', { stdin: true, kmsKeyId: 'not a key' }, 'KMS_KEY_ID_INVALID'],
    ['rollback', 'auth/session_key', { toVersion: 'latest' }, 'SECRET_VERSION_INVALID'],
    ['import', undefined, { file: ' ' }, 'IMPORT_FILE_MISSING'],
  ] as const)('%s %s %o: exit 2 (%s) before any AWS call', (action, name, flags, code) => {
    expect(() => parseSecretsOptions(action, name, flags, base())).toThrow(expect.objectContaining({ exitCode: 2, code }));
  });
});

describe('runpod rotate-keys', () => {
  it('one stage, or --status; the verify timeout in ms (default 60 s); --yes also from the common options', () => {
    expect(parseRotateKeysOptions({ stage: 'verify', timeout: '120' }, base()).rotate).toMatchObject({ stage: 'verify', timeoutMs: 120_000, status: false });
    expect(parseRotateKeysOptions({ status: true, json: true }, { ...base(), options: { yes: true } })).toMatchObject({ rotate: { status: true, json: true, timeoutMs: 60_000 }, yes: true });
  });

  it.each([
    [{ stage: 'rotate' }, 'STAGE_INVALID'],
    [{ stage: 'verify', timeout: '0' }, 'TIMEOUT_INVALID'],
    [{ status: true, stage: 'create' }, 'FLAGS_CONFLICT'],
    [{ stage: 'delete', showSecret: true }, 'FLAGS_CONFLICT'],
    [{ stdin: true }, 'FLAGS_CONFLICT'],
    [{ json: true, stage: 'create' }, 'FLAGS_CONFLICT'],
    [{}, 'STAGE_REQUIRED'],
    [{ storeSecret: true }, 'SECRET_NO_TERMINAL'],
  ])('refuses %o (%s) without a terminal, before any AWS call', (flags, code) => {
    expect(() => parseRotateKeysOptions(flags, base())).toThrow(expect.objectContaining({ exitCode: 2, code }));
  });
});
