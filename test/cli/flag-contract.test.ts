// The flag contract (src/cli/flags.ts): each command's parse<Cmd>Options turns commander's raw flags
// into its typed options and validates them there, once. Parsed here without running the command:
// no AWS, no config file (the cwd does not exist).
import { describe, expect, it } from 'vitest';
import { RecordingIo } from '../../src/cli/io.ts';
import { parseStatusOptions } from '../../src/cli/commands/status.ts';
import { parseDeployOptions } from '../../src/cli/commands/deploy.ts';

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

  it('takes --yes from the common options when the flags lack it (deployCommand callers)', () => {
    expect(parseDeployOptions({}, { ...base(), options: { yes: true } }).yes).toBe(true);
  });

  it.each([
    [{ requireApproval: 'sometimes' }, '--require-approval', 'REQUIRE_APPROVAL_INVALID', /broadening, any-change, never/],
    [{ imageTag: 'not a tag' }, '--image-tag', 'IMAGE_TAG_INVALID', /128 letters/],
    [{ imageTag: '-leading-dash' }, '--image-tag', 'IMAGE_TAG_INVALID', /not starting with/],
    [{ containerCli: 'nerdctl' }, '--container-cli', 'CONTAINER_CLI_INVALID', /docker, podman, finch, buildah/],
  ])('refuses %o with exit 2 naming %s', (flags, flag, code, fix) => {
    expect(() => parseDeployOptions(flags, base())).toThrow(badFlag(flag, code));
    expect(() => parseDeployOptions(flags, base())).toThrow(expect.objectContaining({ fix: expect.stringMatching(fix) }));
  });

  it('checks --require-approval first, so one run names one bad flag', () => {
    expect(() => parseDeployOptions({ requireApproval: 'x', imageTag: 'bad tag', containerCli: 'nerdctl' }, base())).toThrow(badFlag('--require-approval'));
  });
});
