// deploy / diff / image / destroy through the CLI: every flag is validated before AWS is touched.
// destroy's guards, its confirmation and what it keeps run against moto in destroy-moto.test.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { VALID_DEV, runCli, tempDir, writeConfig } from '../helpers/cli.ts';

describe('deploy, diff, image: bad input exits 2 before any AWS call', () => {
  let cwd: string;
  beforeEach(async () => {
    cwd = await tempDir();
    await writeConfig(cwd, { dev: VALID_DEV, prod: { ...VALID_DEV, alertEmail: 'nobody' } });
  });

  it.each([
    [['deploy', '--require-approval', 'sometimes'], '--require-approval'],
    [['deploy', '--container-cli', 'nerdctl'], '--container-cli'],
    [['deploy', '--image-tag', 'not a tag'], '--image-tag'],
    [['deploy', '--container-cli', 'podman'], 'not on PATH'],
    [['deploy', '--env', 'prod'], 'alertEmail'],
    [['deploy', '--env', 'Bad_Name'], '--env'],
    [['diff', '--image-tag', '-x'], '--image-tag'],
    [['image', 'push', '--container-cli', 'nerdctl'], '--container-cli'],
    [['destroy', '--env', 'prod'], 'alertEmail'],
  ])('%j', async (argv, named) => {
    const r = await runCli(argv, { cwd, env: { PATH: '/nonexistent' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(named);
    expect(existsSync(join(cwd, '.watchpoint'))).toBe(false);
  });

  it('lists the deploy flags in --help', async () => {
    const r = await runCli(['deploy', '--help'], { cwd });
    expect(r.code).toBe(0);
    for (const flag of ['--require-approval', '--image-tag', '--skip-image', '--container-cli', '--dry-run', '--yes', '--env']) expect(r.stdout).toContain(flag);
  });
});
