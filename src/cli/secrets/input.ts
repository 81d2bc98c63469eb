// What the operator gives `secrets`: a secret's name, its value (flag, stdin, generated or typed at a
// hidden prompt), the write flags, and confirmations. A value is never echoed, in any message.
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import {
  ADVANCED_TIER_MAX_BYTES,
  SECRET_CATALOGUE,
  closestSecretName,
  findSecretByNameOrAlias,
  generateSecretValue,
  KMS_KEY_ID_PATTERN,
  valueProblems,
  type SecretEntry,
} from '../../config/secrets-catalogue.ts';
import { userError } from '../errors.ts';
import { noQuestions, type Io } from '../io.ts';
import { readStdinText } from '../stdin.ts';
import type { SecretsFlags } from '../commands/secrets.define.ts';

/** What obtainValue and confirmOverwrite need: the I/O, the value and write flags (parsed), and the injected stdin and random source. */
export interface ValueSource {
  io: Io;
  generate: boolean;
  stdin: boolean;
  value: string | undefined;
  overwrite: boolean;
  yes: boolean;
  /** --force: a Stripe live/test mode mismatch is a warning, not a refusal. */
  force: boolean;
  readStdin?: () => Promise<string>;
  randomBytes?: (size: number) => Buffer;
}

/** A name is echoed back only when it looks like a name, so a value pasted by mistake is not. */
export function shownName(input: string): string {
  const looksLikeName = /^[A-Za-z0-9_./-]{1,64}$/.test(input) && !/^(sk|pk|rk)_(live|test)_|^whsec_|^postgres/.test(input) && input.length <= 48;
  return looksLikeName ? `"${input}"` : 'the name given (not shown: it looks like a value)';
}

export function entryFor(name: string | undefined): SecretEntry {
  const entry = name === undefined ? undefined : findSecretByNameOrAlias(name);
  if (!entry) {
    throw userError(
      'SECRET_UNKNOWN',
      `${shownName(name ?? '')} is not a WatchPoint secret.${didYouMean(name ?? '', ' Did you mean ', '?')}`,
      `Use one of: ${SECRET_CATALOGUE.map((e) => e.name).join(', ')}.`,
    );
  }
  return entry;
}

export function refuseManaged(entry: SecretEntry, what: string): void {
  if (entry.managedBy) {
    throw userError('SECRET_MANAGED', `${entry.name} is managed by \`${entry.managedBy}\`; \`secrets ${what}\` does not write it.`, entry.name === 'forecast/runpod_aws_secret_access_key'
      ? `To store the secret of the key SSM names, pipe it into \`${entry.managedBy} --store-secret --stdin\` (it is checked against IAM first).`
      : `Run \`${entry.managedBy}\` instead.`);
  }
}

/**
 * The flags of a write (`set`), checked together before any AWS call: one value source at most,
 * --generate only where the catalogue allows it, a value or a terminal, and the KMS key's form.
 */
/** " Did you mean X?" when a catalogue name is close to `input`, else nothing. */
export function didYouMean(input: string, before: string, after: string): string {
  const close = closestSecretName(input);
  return close ? `${before}${close}${after}` : '';
}

export function parseSetFlags(flags: SecretsFlags, entry: SecretEntry, io: Pick<Io, 'interactive' | 'noQuestions'>): { prompted: boolean; kmsKeyId: string | undefined } {
  const interactive = io.interactive;
  const sources = (['stdin', 'generate', 'value'] as const).filter((flag) => flags[flag] !== undefined && flags[flag] !== false);
  if (sources.length > 1) throw userError('SECRET_SOURCE_CONFLICT', `--${sources.join(' and --')} cannot be used together.`, 'Give the value one way: --stdin, --generate, --value, or the hidden prompt.');
  if (flags.generate && !entry.generatable) {
    throw userError('SECRET_NOT_GENERATABLE', `${entry.name} cannot be generated: it comes from ${entry.name.startsWith('billing/') ? 'Stripe' : 'its provider'}.`, 'Pipe it with --stdin, or run in a terminal to type it at a hidden prompt.');
  }
  if (sources.length === 0 && !interactive) {
    throw userError('SECRET_NO_TERMINAL', `No value for ${entry.name}: it would be typed at a hidden prompt, and ${noQuestions(io).why}.`, `Pass --stdin (pipe the value in)${entry.generatable ? ', --generate' : ''} or --value; or ${noQuestions(io).instead}.`);
  }
  return { prompted: sources.length === 0, kmsKeyId: validateKmsKeyId(flags) };
}

/** --to-version: a positive whole number. */
export function parseToVersion(flags: SecretsFlags, entry: SecretEntry): number {
  const target = Number(flags.toVersion);
  if (!/^\d+$/.test(String(flags.toVersion ?? '')) || !Number.isSafeInteger(target) || target < 1) {
    throw userError('SECRET_VERSION_INVALID', `--to-version "${flags.toVersion ?? ''}" is not a version number.`, `Give a positive integer from \`watchpoint secrets history ${entry.name}\`.`);
  }
  return target;
}

export function validateKmsKeyId(flags: SecretsFlags): string | undefined {
  if (flags.kmsKeyId === undefined) return undefined;
  if (!KMS_KEY_ID_PATTERN.test(flags.kmsKeyId)) {
    throw userError(
      'KMS_KEY_ID_INVALID',
      `--kms-key-id "${flags.kmsKeyId}" is not a KMS key ID, alias or ARN.`,
      'Give a key ID (1234abcd-12ab-34cd-56ef-1234567890ab), an alias (alias/watchpoint), or a key/alias ARN.',
    );
  }
  return flags.kmsKeyId;
}

/** Every reason a value is refused, with the Stripe mode rule and --force applied; never the value. */
export function assertValid(entry: SecretEntry, value: string, envName: string, force: boolean, warn: (text: string) => void, label = `The value for ${entry.name}`): void {
  const { errors, modeMismatch } = valueProblems(entry, value, envName);
  if (modeMismatch) {
    if (force) warn(`${entry.name} ${modeMismatch.replace(/ \(.*\)$/, '')}; writing it anyway (--force).`);
    else errors.push(modeMismatch);
  }
  if (errors.length > 0) {
    throw userError('SECRET_INVALID', `${label} is not valid (value not shown):\n${errors.map((e) => `  - ${e}`).join('\n')}`, `Expected: ${entry.description}.`);
  }
}

export async function obtainValue(context: ValueSource, entry: SecretEntry, envName: string): Promise<string> {
  const { io } = context;
  if (context.generate) {
    io.notify('info', `Generating ${entry.name} from ${48} random bytes (not shown).`);
    return generateSecretValue(context.randomBytes ?? nodeRandomBytes);
  }
  if (context.value !== undefined) {
    io.notify('warn', '--value puts the secret in your shell history and the process list; prefer --stdin or the hidden prompt.');
    if (context.value === '') throw userError('SECRET_EMPTY', `The value for ${entry.name} is empty.`, 'Give the value, or use --stdin / the hidden prompt.');
    return context.value;
  }
  if (context.stdin) {
    const raw = await (context.readStdin ?? readSecretStdin)();
    const trimmed = raw.replace(/\r?\n$/, '');
    if (trimmed !== raw) io.notify('info', 'Removed one trailing newline from stdin.');
    if (trimmed === '') throw userError('SECRET_EMPTY', `stdin was empty: no value for ${entry.name}.`, `Pipe the value in, e.g. \`pbpaste | watchpoint secrets set ${entry.name} --stdin\`.`);
    return trimmed;
  }
  return io.ask({
    kind: 'secret',
    field: `The value for ${entry.name}`,
    message: `${entry.name} for "${envName}" (${entry.description}; input hidden)`,
    noTerminalFix: `Pass --stdin${entry.generatable ? ', --generate' : ''} or --value.`,
    validate: (candidate) => {
      const { errors, modeMismatch } = valueProblems(entry, candidate, envName);
      if (modeMismatch && !context.force) errors.push(modeMismatch);
      return errors.length === 0 ? true : `The value ${errors.join('; ')}`;
    },
  });
}

/** All of stdin for --stdin: a pipe only (a terminal would echo), and no more than SSM could hold. */
function readSecretStdin(): Promise<string> {
  return readStdinText({
    maxBytes: ADVANCED_TIER_MAX_BYTES * 4,
    onTerminal: () => userError('SECRET_STDIN_TTY', '--stdin reads a pipe, but stdin is a terminal (what you type would be echoed).', 'Pipe the value in, or omit --stdin to be asked at a hidden prompt.'),
    onTooLarge: (limit) => userError('SECRET_TOO_LARGE', `stdin is over ${limit} bytes; SSM holds at most ${ADVANCED_TIER_MAX_BYTES}.`),
  });
}

export async function confirmOverwrite(context: ValueSource, what: string[]): Promise<boolean> {
  if (context.overwrite || context.yes) return true;
  if (!context.io.interactive) {
    throw userError('SECRET_EXISTS', `Already set: ${what.join(', ')}. Replacing needs confirmation, and ${noQuestions(context.io).why}.`, 'Re-run with --overwrite or --yes (the old value stays as a previous version).');
  }
  return context.io.ask({ kind: 'confirm', message: `Replace ${what.join(', ')}? The old value stays as a previous version.`, default: false, dangerous: true });
}

/** A plain String parameter becomes a SecureString only by deleting it: say what is lost, then ask. */
export async function confirmConversion(io: Io, entry: SecretEntry, existing: { type?: string; version?: number }): Promise<boolean> {
  io.notify('warn', `${entry.name} is stored as ${existing.type}, not encrypted. SSM cannot change a parameter's type in place, so it is deleted and created again as a SecureString: its ${existing.version ?? 'earlier'} version(s) of history and any labels are lost, and for a moment it does not exist. If the create fails, the old value is put back.`);
  return io.ask({ kind: 'confirm', message: `Delete ${entry.name} (${existing.type}, version ${existing.version ?? '?'}) and create it again as a SecureString? Its version history is lost.`, default: false, dangerous: true });
}
