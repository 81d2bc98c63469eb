// Usage errors (commander's) end with a `fix:` line like every other error: the closest command or
// option when one is close, and the `--help` that lists the rest; exit 2, nothing on stdout.
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.ts';

const cwd = await tempDir();

/** The printed lines, the fix last. */
async function usageError(argv: string[]) {
  const r = await runCli(argv, { cwd });
  const lines = r.stderr.trimEnd().split('\n');
  return { ...r, first: lines[0] ?? '', fix: lines.at(-1) ?? '', lines };
}

describe('usage errors end with a fix', () => {
  it.each([
    // [argv, the error commander names, the fix]
    [['deplyo'], /^Error: unknown command 'deplyo'$/, /^ {2}fix: Did you mean `watchpoint deploy`\? `watchpoint --help` lists every command\.$/],
    [['stauts'], /unknown command 'stauts'/, /Did you mean `watchpoint status`\?/],
    [['frobnicate'], /unknown command 'frobnicate'/, /^ {2}fix: `watchpoint --help` lists every command\.$/],
    [['api-keys', 'frob'], /unknown command 'frob'/, /^ {2}fix: Use one of list, revoke, pause, resume \(`watchpoint api-keys --help` says what each does\)\.$/],
    [['secrets', 'lst'], /unknown command 'lst'/, /Did you mean `watchpoint secrets list`\? `watchpoint secrets --help` lists every command of `watchpoint secrets`\./],
    [['deploy', '--bogus'], /^Error: unknown option '--bogus'$/, /^ {2}fix: `watchpoint deploy --help` lists every option of `watchpoint deploy`\.$/],
    [['deploy', '--dryrun'], /unknown option '--dryrun'/, /Did you mean --dry-run\?/],
    // Stage flags are hidden from most commands' help but accepted, so they are suggested too.
    [['status', '--alert-emial', 'a@b.c'], /unknown option '--alert-emial'/, /Did you mean --alert-email\?/],
    [['--versoin'], /unknown option '--versoin'/, /Did you mean --version\? `watchpoint --help`/],
    [['status', '--watch'], /option '-w, --watch <seconds>' argument missing/, /Give --watch its value \(<seconds>; `watchpoint status --help` says what it takes\)/],
    [['api-keys', 'revoke'], /missing required argument 'key-id'/, /Give <key-id>: `watchpoint api-keys revoke <key-id>`/],
    [['dlq', 'export'], /required option '-o, --out <file>' not specified/, /Add --out <file> \(`watchpoint dlq export --help`/],
    // A command's option given before the command's name.
    [['--env', 'prod', 'status'], /unknown option '--env'/, /^ {2}fix: Put --env after the command's name, e\.g\. `watchpoint status --env <name>`; `watchpoint --help` lists the commands\.$/],
    [['--region', 'eu-west-1', 'status'], /unknown option '--region'/, /Put --region after the command's name, e\.g\. `watchpoint status --region <region>`/],
    [['dlq', '--dry-run', 'redrive'], /unknown option '--dry-run'/, /Put --dry-run after the command's name, e\.g\. `watchpoint dlq redrive --dry-run`; `watchpoint dlq --help`/],
    [['status', 'extra'], /too many arguments for 'status'/, /Drop the extra argument\(s\).*`watchpoint status --help`/],
  ])('%j', async (argv, error, fix) => {
    const r = await usageError(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.first).toMatch(error);
    expect(r.fix).toMatch(fix);
    // Said once, in the fix: not also as commander's "(Did you mean ...?)" line.
    expect(r.lines.filter((line) => /did you mean/i.test(line))).toHaveLength(/Did you mean/.test(r.fix) ? 1 : 0);
  });

  it('a command group without its subcommand prints its help, then the fix', async () => {
    const r = await usageError(['api-keys']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: watchpoint api-keys');
    expect(r.fix).toBe('  fix: Name one of its commands: `watchpoint api-keys list`, `watchpoint api-keys revoke`, `watchpoint api-keys pause`, `watchpoint api-keys resume` (`watchpoint api-keys --help` says what each does).');
    const bare = await usageError([]);
    expect(bare.code).toBe(2);
    expect(bare.fix).toBe('  fix: Name one of the commands in this help, e.g. `watchpoint status`.');
  });

  it('what a fix suggests exists: its --help exits 0', async () => {
    for (const argv of [['deplyo'], ['secrets', 'lst'], ['deploy', '--dryrun']]) {
      const { fix } = await usageError(argv);
      const command = /`(watchpoint [^`]+?)(?: --help)?`/.exec(fix)![1]!.split(' ').slice(1);
      const flag = /Did you mean (--[a-z-]+)\?/.exec(fix)?.[1];
      const help = await runCli([...command, '--help'], { cwd });
      expect(help.code).toBe(0);
      if (flag) expect(help.stdout).toContain(flag);
    }
  });

  it('--help and --version still exit 0 with no fix', async () => {
    for (const argv of [['--help'], ['deploy', '--help'], ['--version']]) {
      const r = await runCli(argv, { cwd });
      expect(r.code).toBe(0);
      expect(r.stderr).not.toContain('fix:');
    }
  });
});
