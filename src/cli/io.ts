// The one I/O port. Every message and every question of every command goes through an `Io`.
// Results go to stdout; everything else (progress, warnings, questions) goes to stderr.
import { userError } from './errors.ts';

export type Level = 'info' | 'warn' | 'error' | 'success';

export interface InputQuestion {
  kind: 'input';
  /** The field this answers, used in errors: e.g. "alertEmail (--alert-email)". */
  field: string;
  message: string;
  default?: string;
  /** Returns an error message, or true when the answer is acceptable. */
  validate?: (value: string) => string | true;
}

export interface ConfirmQuestion {
  kind: 'confirm';
  message: string;
  default: boolean;
  /** A "yes" that changes or destroys something. Without a TTY it needs --yes. */
  dangerous?: boolean;
}

/** A value typed without echo (a secret). Never answered from a default; never shown back. */
export interface SecretQuestion {
  kind: 'secret';
  /** The thing asked for, used in errors: e.g. "the value of billing/stripe_secret_key". */
  field: string;
  message: string;
  /** What to use instead when there is no terminal, e.g. "Pass --stdin or --generate." */
  noTerminalFix: string;
  /** Returns an error message (which must not contain the value), or true. */
  validate?: (value: string) => string | true;
}

export type Question = InputQuestion | ConfirmQuestion | SecretQuestion;
export type Answer<Q extends Question> = Q extends ConfirmQuestion ? boolean : string;

/**
 * Why questions do not reach a person, in words true for this run: a terminal with --yes is not
 * "no terminal". `why` ends a sentence ("..., and there is no terminal to ask"); `instead` is the
 * other way to be asked ("run it in a terminal").
 */
export interface NoQuestions {
  why: string;
  instead: string;
}

export const NO_TERMINAL: NoQuestions = { why: 'there is no terminal to ask', instead: 'run it in a terminal' };
export const YES_FLAG: NoQuestions = { why: '--yes turns questions off', instead: 'run it without --yes to be asked' };
export const CI_SET: NoQuestions = { why: 'CI is set, which turns questions off', instead: 'run it in a terminal without CI set' };

/** Why `io` asks nobody; for an interactive one, what would be true if it did not. */
export function noQuestions(io: Pick<Io, 'noQuestions'>): NoQuestions {
  return io.noQuestions ?? NO_TERMINAL;
}

export interface Io {
  /** True when questions reach a person. */
  readonly interactive: boolean;
  /** When not interactive: why (default NO_TERMINAL). */
  readonly noQuestions?: NoQuestions;
  /** Progress and diagnostics, on stderr. */
  notify(level: Level, text: string): void;
  /** The command's result, on stdout: the only thing `| jq` or a script sees. */
  result(text: string): void;
  ask<Q extends Question>(question: Q): Promise<Answer<Q>>;
}

export interface Streams {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}

const PREFIX: Record<Level, string> = { info: '', warn: 'warning: ', error: 'error: ', success: '' };

abstract class StreamIo implements Io {
  abstract readonly interactive: boolean;
  protected readonly streams: Streams;
  constructor(streams: Streams) {
    this.streams = streams;
  }
  notify(level: Level, text: string): void {
    this.streams.stderr.write(`${PREFIX[level]}${text}\n`);
  }
  result(text: string): void {
    this.streams.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
  abstract ask<Q extends Question>(question: Q): Promise<Answer<Q>>;
}

/** A person at a terminal: questions through @inquirer/prompts, loaded only when one is asked. */
export class InteractiveIo extends StreamIo {
  readonly interactive = true;
  async ask<Q extends Question>(question: Q): Promise<Answer<Q>> {
    const prompts = await import('@inquirer/prompts');
    const context = { output: process.stderr as NodeJS.WritableStream };
    if (question.kind === 'confirm') {
      return (await prompts.confirm({ message: question.message, default: question.default }, context)) as Answer<Q>;
    }
    if (question.kind === 'secret') {
      const check = question.validate;
      // mask: false echoes nothing at all, not even the length.
      return (await prompts.password(
        { message: question.message, mask: false, ...(check ? { validate: (value: string) => check(value) } : {}) },
        context,
      )) as Answer<Q>;
    }
    const validate = question.validate;
    return (await prompts.input(
      {
        message: question.message,
        ...(question.default !== undefined ? { default: question.default, prefill: 'editable' as const } : {}),
        ...(validate ? { validate: (value: string) => validate(value) } : {}),
      },
      context,
    )) as Answer<Q>;
  }
}

/**
 * No person to ask (no TTY, CI, or --yes). Answers each question with its default and says so.
 * It refuses a dangerous "yes" unless --yes was given, and never reads stdin.
 */
export class NonInteractiveIo extends StreamIo {
  readonly interactive = false;
  readonly noQuestions: NoQuestions;
  private readonly yes: boolean;
  constructor(streams: Streams, yes: boolean, noQuestions: NoQuestions = yes ? YES_FLAG : NO_TERMINAL) {
    super(streams);
    this.yes = yes;
    this.noQuestions = noQuestions;
  }
  async ask<Q extends Question>(question: Q): Promise<Answer<Q>> {
    const { why, instead } = this.noQuestions;
    if (question.kind === 'confirm') {
      if (question.dangerous) {
        if (!this.yes) {
          throw userError(
            'CONFIRMATION_REQUIRED',
            `"${question.message}" needs confirmation, and ${why}.`,
            `Re-run with --yes to confirm, or ${instead}.`,
          );
        }
        this.notify('info', `${question.message} yes (--yes)`);
        return true as Answer<Q>;
      }
      this.notify('info', `${question.message} ${question.default ? 'yes' : 'no'} (default, not interactive)`);
      return question.default as Answer<Q>;
    }
    if (question.kind === 'secret') {
      throw userError('MISSING_INPUT', `${question.field} must be typed at a hidden prompt, and ${why}.`, `${question.noTerminalFix.replace(/\.$/, '')}; or ${instead}.`);
    }
    if (question.default === undefined) {
      throw userError('MISSING_INPUT', `${question.field} is required, and ${why}.`, `Pass it as a flag, or ${instead}.`);
    }
    const verdict = question.validate?.(question.default) ?? true;
    if (verdict !== true) throw userError('INVALID_INPUT', `${question.field} ${verdict}`);
    return question.default as Answer<Q>;
  }
}

/** True when `text` is one JSON document, or JSON Lines (every non-empty line one document). */
export function isJsonOutput(text: string): boolean {
  const parses = (candidate: string) => {
    try {
      JSON.parse(candidate);
      return true;
    } catch {
      return false;
    }
  };
  if (text.trim() === '') return false;
  if (parses(text)) return true;
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines.length > 0 && lines.every(parses);
}

/**
 * Under --json, stdout carries JSON and nothing else, so `watchpoint <cmd> --json | jq` works on
 * every path of every command. Commands print JSON results themselves; this is the net under them:
 * a result that is not JSON (a path that forgot) goes to stderr as a message instead of breaking
 * the pipe.
 */
export class JsonStdoutIo implements Io {
  private readonly inner: Io;
  constructor(inner: Io) {
    this.inner = inner;
  }
  get interactive(): boolean {
    return this.inner.interactive;
  }
  get noQuestions(): NoQuestions | undefined {
    return this.inner.noQuestions;
  }
  notify(level: Level, text: string): void {
    this.inner.notify(level, text);
  }
  result(text: string): void {
    if (isJsonOutput(text)) this.inner.result(text);
    else this.inner.notify('info', text);
  }
  ask<Q extends Question>(question: Q): Promise<Answer<Q>> {
    return this.inner.ask(question);
  }
}

/** For tests: scripted answers in order, and a record of everything said. */
export class RecordingIo implements Io {
  readonly messages: { level: Level; text: string }[] = [];
  readonly results: string[] = [];
  readonly questions: Question[] = [];
  readonly interactive: boolean;
  private readonly answers: (string | boolean | Error)[];
  constructor(answers: (string | boolean | Error)[] = [], interactive = true) {
    this.answers = [...answers];
    this.interactive = interactive;
  }
  notify(level: Level, text: string): void {
    this.messages.push({ level, text });
  }
  result(text: string): void {
    this.results.push(text);
  }
  async ask<Q extends Question>(question: Q): Promise<Answer<Q>> {
    this.questions.push(question);
    if (this.answers.length === 0) throw new Error(`RecordingIo: no scripted answer for "${question.message}"`);
    const answer = this.answers.shift();
    if (answer instanceof Error) throw answer;
    if (question.kind === 'secret' && typeof answer === 'string' && question.validate) {
      // Never echo a secret answer, even in a test failure.
      const verdict = question.validate(answer);
      if (verdict !== true) throw new Error(`RecordingIo: scripted secret answer rejected: ${verdict}`);
    }
    if (question.kind === 'input' && typeof answer === 'string' && question.validate) {
      const verdict = question.validate(answer);
      if (verdict !== true) throw new Error(`RecordingIo: scripted answer "${answer}" rejected: ${verdict}`);
    }
    return answer as Answer<Q>;
  }
  get stderr(): string {
    return this.messages.map((m) => `${PREFIX[m.level]}${m.text}`).join('\n');
  }
  get stdout(): string {
    return this.results.join('\n');
  }
}
