/**
 * The `shardline` operator CLI, built from the declarations in `cli-config.ts`. Parsing and help
 * need only those; a command's module (and the SDK clients, aws-cdk-lib or chart code it uses) is
 * required when that command runs, so every command starts as fast as `--help`.
 */
import { Command } from 'commander';
import { COMMANDS, PROGRAM_DESCRIPTION, type CommandDeclaration } from './cli-config';

/** What a module under `cli/commands/` exports: its handlers, by name. */
type CommandModule = Record<string, ((...args: unknown[]) => Promise<void> | void) | undefined>;

/** Builds the CLI from `commands` (default: every declared command). */
export function buildCli(commands: readonly CommandDeclaration[] = COMMANDS): Command {
  const program = new Command('shardline').description(PROGRAM_DESCRIPTION).showHelpAfterError();
  for (const declaration of commands) {
    const words = declaration.name.split(' ');
    const parent = words.slice(0, -1).reduce((cmd, word) => subcommand(cmd, word, declaration), program);
    const command = parent.command(words[words.length - 1]).description(declaration.description);
    for (const argument of declaration.arguments ?? []) command.addArgument(argument);
    for (const option of declaration.options ?? []) command.addOption(option);
    if (declaration.module) command.action((...params: unknown[]) => runCommand(declaration, params.slice(0, -1)));
  }
  return program;
}

/** Parses `argv` and runs the command; a failure prints `shardline: <reason>` and exits 1. */
export async function runCli(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    console.error(`shardline: ${(err as Error).message}`);
    process.exit(1);
  }
}

function subcommand(parent: Command, word: string, declaration: CommandDeclaration): Command {
  const found = parent.commands.find((c) => c.name() === word);
  if (!found) throw new Error(`cli-config: '${declaration.name}' is declared before its group '${word}'`);
  return found;
}

/**
 * Requires the command's module now that it runs and calls its handler with the arguments, then
 * the options (commander's action parameters without the trailing Command).
 */
async function runCommand(declaration: CommandDeclaration, params: unknown[]): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the point: a command's code loads only when it runs
  const loaded = require(`./commands/${declaration.module}`) as CommandModule;
  const handler = loaded[declaration.handler ?? ''];
  if (typeof handler !== 'function') throw new Error(`cli/commands/${declaration.module} exports no ${declaration.handler}()`);
  await handler(...params);
}

if (require.main === module) void runCli();
