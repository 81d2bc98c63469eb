// Usage errors are commander's (an unknown command, subcommand or option, a missing or extra
// argument): it prints the problem, and this module adds the `fix:` line every error ends with,
// naming the closest command or option when one is close, and the `--help` that lists the rest.
// Loaded by run.ts on every run, `--help` included: commander and the edit distance only.
import type { Command, CommanderError } from 'commander';
import { closestName } from '../config/closest.ts';
import { stageFlagDeclarations } from './options.ts';

export interface UsageErrors {
  /** The fix for a usage error commander has just printed (exit 2). */
  fixFor(error: CommanderError): string;
}

/**
 * Watches every command of `program` (call it once all are defined): records which one raised the
 * error, since only it knows its subcommands and options. Commander's own "(Did you mean ...?)"
 * is turned off: the fix says it, last.
 */
export function watchUsageErrors(program: Command): UsageErrors {
  let failed: Command = program;
  const watch = (command: Command) => {
    command.showSuggestionAfterError(false);
    command.configureOutput({
      outputError: (text, write) => {
        failed = command;
        // The same first word as every other error the CLI prints (formatError).
        write(text.replace(/^error: /, 'Error: '));
      },
    });
    // A command that only groups subcommands, run without one, prints its help as the error.
    command.on('afterHelp', (context: { error: boolean }) => {
      if (context.error) failed = command;
    });
    for (const sub of command.commands) watch(sub);
  };
  watch(program);
  return { fixFor: (error) => usageFix(error, failed) };
}

/** The fix line for commander's error `code`, raised by `command`. */
export function usageFix(error: Pick<CommanderError, 'code' | 'message'>, command: Command): string {
  const path = commandPath(command);
  const help = `\`${path} --help\``;
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
  switch (error.code) {
    case 'commander.unknownCommand': {
      const names = subcommandNames(command);
      const closest = closestName(quoted, names);
      if (closest) return `Did you mean \`${path} ${closest}\`? ${help} lists every command${command.parent ? ` of \`${path}\`` : ''}.`;
      return command.parent ? `Use one of ${names.join(', ')} (${help} says what each does).` : `${help} lists every command.`;
    }
    case 'commander.unknownOption': {
      // `watchpoint --env prod status`: an option of the commands, given before the command's name.
      const below = quoted.startsWith('--') ? declarationBelow(command, quoted) : undefined;
      if (below) return `Put ${quoted} after the command's name, e.g. \`${commandPath(below.command)} ${below.declared.split(/[ ,]+/).filter((w) => !/^-[^-]/.test(w)).join(' ')}\`; ${help} lists the commands.`;
      const closest = quoted.startsWith('--') ? closestName(quoted, longOptions(command)) : undefined;
      return closest ? `Did you mean ${closest}? ${help} lists every option of \`${path}\`.` : `${help} lists every option of \`${path}\`.`;
    }
    case 'commander.optionMissingArgument': {
      const [flag, value] = optionParts(quoted);
      return `Give ${flag} its value (${value}; ${help} says what it takes), or leave the option out.`;
    }
    case 'commander.missingMandatoryOptionValue': {
      const [flag, value] = optionParts(quoted);
      return `Add ${flag} ${value} (${help} says what it takes).`;
    }
    case 'commander.missingArgument':
      return `Give <${quoted}>: \`${path} <${quoted}>\`; ${help} shows the usage.`;
    case 'commander.excessArguments':
      return `Drop the extra argument(s), or quote a value that holds spaces; ${help} shows the usage.`;
    case 'commander.help': {
      const names = subcommandNames(command);
      if (names.length > 6) return `Name one of the commands in this help, e.g. \`${path} ${names.includes('status') ? 'status' : names[0]}\`.`;
      return `Name one of its commands: ${names.map((name) => `\`${path} ${name}\``).join(', ')} (${help} says what each does).`;
    }
    default:
      return `${help} shows the usage.`;
  }
}

/** "-w, --watch <seconds>" -> ["--watch", "<seconds>"]. */
function optionParts(declared: string): [string, string] {
  const words = declared.split(/[ ,|]+/).filter(Boolean);
  const flag = words.find((word) => word.startsWith('--')) ?? words.find((word) => word.startsWith('-')) ?? 'the option';
  const value = words.find((word) => /^[<[]/.test(word)) ?? '<value>';
  return [flag, value];
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

function subcommandNames(command: Command): string[] {
  return command.commands.map((sub) => sub.name());
}

/** The first command below `command` (status first, if it is one) that takes the long option `long`, and how it is declared. */
function declarationBelow(command: Command, long: string): { command: Command; declared: string } | undefined {
  const subs = [...command.commands].sort((a, b) => Number(b.name() === 'status') - Number(a.name() === 'status'));
  for (const sub of subs) {
    const own = sub.options.find((option) => option.long === long)?.flags;
    // A command with --env takes every stage flag, declared or not yet (options.ts declares them on use).
    const stage = sub.options.some((option) => option.long === '--env') ? stageFlagDeclarations().find((flags) => flags.split(' ')[0] === long) : undefined;
    if (own ?? stage) return { command: sub, declared: (own ?? stage)! };
    const deeper = declarationBelow(sub, long);
    if (deeper) return deeper;
  }
  return undefined;
}

/** The long options `command` accepts: its own (hidden ones too: every stage flag works) and its parents'. */
function longOptions(command: Command): string[] {
  const names = new Set<string>(['--help']);
  for (let current: Command | null = command; current; current = current.parent) {
    for (const option of current.options) if (option.long) names.add(option.long);
  }
  return [...names];
}
