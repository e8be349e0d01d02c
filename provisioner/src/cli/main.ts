// The CLI's single entry: builds the command tree and maps every error to an exit code in one
// place (a user's mistake: a sentence; a remote failure: the endpoint and its words; both exit 1).
import { Command, CommanderError } from 'commander';
import { describeError, ExitCode } from '../errors.ts';
import { doctorCommand } from '../doctor/command.ts';
import { libraryCommand } from '../library/command.ts';
import { sandboxCommand } from '../sandbox/command.ts';
import { downCommand, ExitRequest, planCommand, statusCommand, upCommand } from './fleet.ts';

export interface GlobalOptions {
  config: string;
  debug: boolean;
}

/**
 * Each command lives in its own module and adds itself to the tree. `globals()` reads the
 * options given before the command (`--config`, `--debug`) once parsing is done.
 */
export type CommandModule = (cli: Command, globals: () => GlobalOptions) => void;

const commands: CommandModule[] = [
  planCommand(),
  upCommand(),
  statusCommand(),
  downCommand(),
  libraryCommand,
  doctorCommand,
  sandboxCommand,
];

function program(): Command {
  const cli = new Command('provisioner')
    .description('Keeps a fleet of Jenkins build agents on EC2 in the state fleet.yaml describes.')
    .option('-c, --config <path>', 'the fleet file', 'fleet.yaml')
    .option('--debug', 'print full error details and stack traces', false)
    .showHelpAfterError()
    .exitOverride();
  for (const add of commands) add(cli, () => cli.opts<GlobalOptions>());
  return cli;
}

/** Runs the CLI with `argv` (without node and script) and resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const cli = program();
  try {
    await cli.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    return report(err, Boolean(cli.opts<GlobalOptions>().debug));
  }
}

function report(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // Commander already printed help, a version, or the usage problem.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return ExitCode.ok;
    return ExitCode.error;
  }
  if (err instanceof ExitRequest) return err.code;
  for (const line of describeError(err, debug)) process.stderr.write(`${line}\n`);
  return ExitCode.error;
}
