// The contract between run.ts and each command's definition module.
import type { Command } from 'commander';
import type { CommandContext } from './context.ts';
import type { CommonOptions } from './options.ts';

export interface Definer {
  /** Builds the context (Io, env, cwd) for a command's parsed options. */
  context(options: CommonOptions): CommandContext;
  /** Records the command's exit code. */
  exit(code: number): void;
}

/**
 * A command's definition: flags, help text and an action that imports the implementation only
 * when the command runs. Definition modules must import nothing heavier than commander.
 */
export type DefineCommand = (program: Command, definer: Definer) => void;
