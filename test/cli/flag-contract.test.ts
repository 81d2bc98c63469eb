// The flag contract (src/cli/flags.ts): each command's parse<Cmd>Options turns commander's raw flags
// into its typed options and validates them there, once. Parsed here without running the command:
// no AWS, no config file (the cwd does not exist).
import { describe, expect, it } from 'vitest';
import { RecordingIo } from '../../src/cli/io.ts';
import { parseStatusOptions } from '../../src/cli/commands/status.ts';
import { parseDeployOptions } from '../../src/cli/commands/deploy.ts';
import { parseInitOptions } from '../../src/cli/commands/init.ts';
import { parseSynthOptions } from '../../src/cli/commands/synth.ts';
import { parseDestroyOptions } from '../../src/cli/commands/destroy.ts';
import { parseDevOptions } from '../../src/cli/commands/dev.ts';

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
