// Writes a deploy's or rollback's release to the ledger, and never fails the command that made it:
// the write is retried, then the record is kept in .watchpoint/ledger-pending-<env>/ with a warning
// that ends in a fix, and the next deploy or rollback from this checkout writes it ("backfills").
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import packageJson from '../../../package.json' with { type: 'json' };
import type { Io } from '../io.ts';
import { ledgerFor, type Ledger } from './ledger.ts';
import { captureStack, currentRelease, stackRelease, type Outcome, type ReleaseDraft, type ReleaseRecord, type StackCapture } from './record.ts';
import { abortableSleep } from '../../sleep.ts';

export interface ReleaseInput {
  envName: string;
  region: string;
  account: string;
  operator: string;
  kind: 'deploy' | 'rollback' | 'hotswap';
  rollbackTo?: number;
  startedAt: Date;
  endedAt: Date;
  outcome: Outcome;
  reason?: string;
  imageTag: string;
  migrationLevel: string | null;
  /** A deploy: the assembly synth wrote (its templates are what was deployed). */
  assemblyDir?: string;
  /** A rollback: the stacks it restored, templates in hand. */
  captures?: StackCapture[];
  stackNames: string[];
  /** The code's commit, when it is not this checkout's (a rollback runs the target release's code). */
  git?: ReleaseDraft['git'];
  /**
   * The templates each stack ran before, by stack name, when the caller already holds them (a
   * rollback read them from CloudFormation); otherwise the current release's are read from the ledger.
   */
  before?: Record<string, string | undefined>;
}

export type RecordRelease = (input: ReleaseInput) => Promise<ReleaseRecord | undefined>;

export interface RecorderOptions {
  s3: S3Client;
  io: Io;
  /** .watchpoint/ledger-pending-<env> */
  spoolDir: string;
  /** The checkout deployed from (git commit and dirty flag). */
  checkout: string;
  sleep?: (ms: number) => Promise<void>;
  /** Waits between the attempts of one write; default 1 s, then 3 s. */
  retryDelays?: number[];
}

interface Spooled {
  draft: ReleaseDraft;
  templates: Record<string, string>;
}

export function createRecorder(options: RecorderOptions): RecordRelease {
  const sleep = options.sleep ?? abortableSleep;
  const delays = options.retryDelays ?? [1000, 3000];
  return async (input) => {
    const ledger = ledgerFor(options.s3, input.envName, input.account, input.region);
    const git = input.git ?? (await gitState(options.checkout));
    let spooled: Spooled | undefined;
    let lastError: unknown;
    for (let attempt = 0; attempt <= delays.length; attempt += 1) {
      if (attempt > 0) await sleep(delays[attempt - 1]!);
      try {
        await backfill(ledger, options);
        spooled = spooled ?? (await draftFor(input, ledger, git));
        for (const [key, body] of Object.entries(spooled.templates)) await ledger.putTemplate(key, body);
        const record = await ledger.append(spooled.draft);
        options.io.notify('info', `Recorded release #${record.sequence} of "${input.envName}" (${record.description}, ${record.outcome}) in s3://${ledger.bucket}.`);
        return record;
      } catch (error) {
        lastError = error;
      }
    }
    // The templates must be kept even when not even the previous release could be read.
    spooled = spooled ?? (await draftFor(input, undefined, git));
    const file = await spool(options.spoolDir, spooled);
    options.io.notify(
      'warn',
      [
        `The ${input.kind} ${input.outcome === 'succeeded' ? 'succeeded' : `ended (${input.outcome})`}, but its release could not be recorded in the ledger s3://${ledger.bucket}: ${describe(lastError)}`,
        `  It is kept in ${file}; the next \`watchpoint deploy\` or \`watchpoint rollback\` from this checkout records it.`,
        `  fix: check that this identity may s3:ListBucket, s3:GetObject and s3:PutObject on that bucket (it is in the ${input.envName} registry stack), then run \`watchpoint releases --env ${input.envName}\` after the next deploy.`,
      ].join('\n'),
    );
    return undefined;
  };
}

async function draftFor(input: ReleaseInput, ledger: Ledger | undefined, git: ReleaseDraft['git']): Promise<Spooled> {
  const captures = input.captures ?? (await Promise.all(input.stackNames.map((name) => captureStack(input.assemblyDir!, name, input.account, input.region))));
  const previous = ledger && !input.before ? currentRelease((await ledger.list()) ?? []) : undefined;
  const templates: Record<string, string> = {};
  const stacks = [];
  for (const capture of captures) {
    const before = previous?.stacks.find((stack) => stack.stackName === capture.stackName);
    const previousTemplate = input.before ? input.before[capture.stackName] : before && ledger ? await ledger.getTemplate(before.templateKey) : undefined;
    const release = stackRelease(capture, previousTemplate);
    templates[release.templateKey] = capture.templateBody;
    stacks.push(release);
  }
  const draft: ReleaseDraft = {
    schemaVersion: 1,
    env: input.envName,
    kind: input.kind,
    ...(input.rollbackTo !== undefined ? { rollbackTo: input.rollbackTo } : {}),
    description: input.kind === 'rollback' ? `rollback to #${input.rollbackTo}` : input.kind,
    startedAt: input.startedAt.toISOString(),
    endedAt: input.endedAt.toISOString(),
    outcome: input.outcome,
    ...(input.reason ? { reason: input.reason } : {}),
    operator: input.operator,
    account: input.account,
    region: input.region,
    git,
    cliVersion: packageJson.version,
    imageTag: input.imageTag,
    migrationLevel: input.migrationLevel,
    stacks,
  };
  return { draft, templates };
}

/** Records kept by an earlier command whose ledger write failed, oldest first. Each file goes once written. */
async function backfill(ledger: Ledger, options: RecorderOptions): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(options.spoolDir)).filter((name) => name.endsWith('.json')).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(options.spoolDir, name);
    const spooled = JSON.parse(await readFile(path, 'utf8')) as Spooled;
    for (const [key, body] of Object.entries(spooled.templates)) await ledger.putTemplate(key, body);
    const record = await ledger.append({ ...spooled.draft, backfilledAt: new Date().toISOString() });
    await rm(path, { force: true });
    options.io.notify('info', `Backfilled release #${record.sequence} (${record.description} of ${record.startedAt}, ${record.outcome}), kept in ${path} since its ledger write failed.`);
  }
}

async function spool(dir: string, spooled: Spooled): Promise<string> {
  await mkdir(dir, { recursive: true });
  const name = `${spooled.draft.startedAt.replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}.json`;
  const temp = join(dir, `.${name}.tmp`);
  await writeFile(temp, JSON.stringify(spooled), { flag: 'wx' });
  await rename(temp, join(dir, name));
  return join(dir, name);
}

/** HEAD's commit and whether the tree has uncommitted changes; nulls outside a git checkout. */
export async function gitState(checkout: string): Promise<ReleaseDraft['git']> {
  const { execa } = await import('execa');
  try {
    const head = await execa('git', ['rev-parse', 'HEAD'], { cwd: checkout, timeout: 5000, reject: true });
    const status = await execa('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: checkout, timeout: 5000, reject: true });
    return { commit: head.stdout.trim(), dirty: status.stdout.trim() !== '' };
  } catch {
    return { commit: null, dirty: null };
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.message.trim() ? `${error.name}: ${error.message}` : error.name;
}
