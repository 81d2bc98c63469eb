import type { DefineCommand } from '../define.ts';
import { stageOptions, type CommonOptions } from '../options.ts';

/** What commander hands `db migrate`: each flag declared once, below. */
export interface DbMigrateFlags extends CommonOptions {
  dryRun?: boolean;
  databaseUrlStdin?: boolean;
  json?: boolean;
}

export const defineDb: DefineCommand = (program, definer) => {
  const db = program.command('db').description('Operate the environment database (PostgreSQL).');
  stageOptions(
    db
      .command('migrate')
      .description('Apply the pending database migrations (the URL comes from SSM /<env>/watchpoint/database/url).')
      .option('--dry-run', 'list the pending migrations and change nothing')
      .option('--database-url-stdin', 'read the database URL from stdin instead of SSM (local databases)')
      .option('--json', 'print the result as JSON on stdout')
      .addHelpText(
        'after',
        `
The URL is read, in this order, from: stdin with --database-url-stdin; $WATCHPOINT_DATABASE_URL;
SSM /<env>/watchpoint/database/url (SecureString). It is never printed: messages show it as
postgres://user:****@host/db. Migrations run in one transaction under an advisory lock, so an
interrupted or concurrent run changes nothing. \`watchpoint deploy\` runs this after its preflight.

Examples:
  watchpoint db migrate --env prod --dry-run
  watchpoint db migrate --env prod
  pass show watchpoint/local-db | watchpoint db migrate --database-url-stdin`,
      ),
  ).action(async (flags: DbMigrateFlags) => {
    const { parseDbMigrateOptions, runDbMigrate } = await import('./db.ts');
    definer.exit(await runDbMigrate(parseDbMigrateOptions(flags, definer.context(flags))));
  });
};
