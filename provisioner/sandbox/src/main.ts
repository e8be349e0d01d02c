// `provisioner-sandbox`: the sandbox's command on its own, with the provisioner's output host and
// error reporting (a user error is one line and exit 1; a bug says it is one, with its stack).
import { Command, CommanderError } from 'commander';
import { ioHost, processStreams, type Streams } from '../../src/cli/io.ts';
import { describeError, ExitCode } from '../../src/errors.ts';
import { sandboxCommand } from './command.ts';

/** Runs the sandbox's command with `argv` (without node and script) and resolves to the exit code. */
export async function main(argv: string[], streams: Streams = processStreams): Promise<number> {
  const cli = new Command('provisioner-sandbox')
    .option('--debug', 'print full error details and stack traces', false)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => void streams.stdout.write(text), writeErr: (text) => void streams.stderr.write(text) });
  sandboxCommand(cli, (mode = {}) => ({
    globals: { config: 'fleet.yaml', debug: cli.opts<{ debug: boolean }>().debug },
    io: ioHost(streams, mode),
    env: process.env,
    cwd: process.cwd(),
    now: Date.now,
    stdin: streams.stdin,
  }));
  try {
    await cli.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? ExitCode.ok : ExitCode.error;
    for (const line of describeError(err, cli.opts<{ debug: boolean }>().debug)) streams.stderr.write(`${line}\n`);
    return ExitCode.error;
  }
}
