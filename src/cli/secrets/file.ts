// The files `secrets import` reads: dotenv or JSON, parsed without ever quoting a value in an error,
// and every entry checked against the catalogue before anything is written.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { findSecretByNameOrAlias, valueProblems, type SecretEntry } from '../../config/secrets-catalogue.ts';
import { userError } from '../errors.ts';
import { didYouMean, shownName } from './input.ts';

export interface FileEntry {
  key: string;
  value: string;
  /** "line 3" or "key \"database/url\"": where it came from, for messages. */
  where: string;
}

/**
 * Every entry against the catalogue: unknown names, managed entries, duplicates and invalid values
 * become problems (never quoting a value); the rest are accepted. A Stripe mode mismatch is a
 * problem unless `force`, then a warning.
 */
export function checkImportEntries(entries: readonly FileEntry[], envName: string, force: boolean, warn: (text: string) => void): { accepted: { entry: SecretEntry; value: string }[]; problems: string[] } {
  const problems: string[] = [];
  const accepted: { entry: SecretEntry; value: string }[] = [];
  const seen = new Map<string, string>();
  for (const item of entries) {
    const entry = findSecretByNameOrAlias(item.key);
    if (!entry) {
      problems.push(`${item.where}: ${shownName(item.key)} is not a WatchPoint secret${didYouMean(item.key, '; did you mean ', '?')}`);
      continue;
    }
    if (entry.managedBy) {
      problems.push(`${item.where}: ${entry.name} is managed by \`${entry.managedBy}\`, not imported`);
      continue;
    }
    const earlier = seen.get(entry.name);
    if (earlier) {
      problems.push(`${item.where}: ${entry.name} appears twice (also ${earlier})`);
      continue;
    }
    seen.set(entry.name, item.where);
    const { errors, modeMismatch } = valueProblems(entry, item.value, envName);
    if (modeMismatch) {
      if (force) warn(`${entry.name} ${modeMismatch.replace(/ \(.*\)$/, '')}; importing it anyway (--force).`);
      else errors.push(modeMismatch);
    }
    for (const error of errors) problems.push(`${item.where}: ${entry.name} ${error}`);
    if (errors.length === 0) accepted.push({ entry, value: item.value });
  }
  return { accepted, problems };
}

/** Reads and parses an import file; exit 2 when it cannot be read or holds no entry. */
export async function readSecretsFile(file: string): Promise<{ file: string; entries: FileEntry[] }> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw userError('IMPORT_FILE_UNREADABLE', `Cannot read ${file} (${error.code ?? 'error'}).`, 'Check the path and its permissions.');
  });
  const entries = parseSecretsFile(file, text);
  if (entries.length === 0) throw userError('IMPORT_FILE_EMPTY', `${file} has no entries.`, 'Write one NAME=value per line (.env) or {"name": "value"} (.json).');
  return { file, entries };
}

/** .json (an object of strings) or dotenv, by extension, else by content. Errors never quote a value. */
export function parseSecretsFile(file: string, text: string): FileEntry[] {
  const extension = extname(file).toLowerCase();
  const json = extension === '.json' || (extension !== '.env' && text.trimStart().startsWith('{'));
  return json ? parseJson(file, text) : parseDotenv(file, text);
}

function parseJson(file: string, text: string): FileEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    // JSON.parse quotes the text around the error; report only the position.
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    throw userError('IMPORT_FILE_INVALID', `${file} is not valid JSON${position ? ` (near character ${position})` : ''}.`, 'Write {"database/url": "postgres://...", ...}.');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw userError('IMPORT_FILE_INVALID', `${file} must hold one JSON object of name: value pairs.`, 'Write {"database/url": "postgres://...", ...}.');
  }
  const entries: FileEntry[] = [];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string') problems.push(`key ${shownName(key)} must be a string, not ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
    else entries.push({ key, value, where: `key ${shownName(key)}` });
  }
  if (problems.length > 0) throw userError('IMPORT_FILE_INVALID', `${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, 'Give every value as a JSON string.');
  return entries;
}

function parseDotenv(file: string, text: string): FileEntry[] {
  const entries: FileEntry[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    const where = `line ${index + 1}`;
    if (line === '' || line.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_./-]*)\s*=\s?(.*)$/.exec(line);
    if (!match) {
      problems.push(`${where}: expected NAME=value`);
      return;
    }
    const key = match[1]!;
    let value = match[2]!.trim();
    const quote = value[0];
    if (quote === '"' || quote === "'") {
      const end = value.lastIndexOf(quote);
      if (end === 0) {
        problems.push(`${where}: the quoted value is not closed (values cannot span lines)`);
        return;
      }
      const after = value.slice(end + 1).trim();
      if (after !== '' && !after.startsWith('#')) {
        problems.push(`${where}: unexpected text after the closing quote`);
        return;
      }
      value = value.slice(1, end);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    entries.push({ key, value, where });
  });
  if (problems.length > 0) throw userError('IMPORT_FILE_INVALID', `${file} is not a valid dotenv file (values not shown):\n${problems.map((p) => `  - ${p}`).join('\n')}`, 'Write one NAME=value per line; quote values that contain spaces or "#".');
  return entries;
}

