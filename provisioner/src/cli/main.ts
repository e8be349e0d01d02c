// The CLI's single entry: the command tree, each command's module loaded only when that command
// runs (so `--help` loads no SDK), one output host handed to every command, and one place that
// maps every error to an exit code (errors.ts says how each kind is told).
import { Command, CommanderError } from 'commander';
import { describeError, ExitCode } from '../errors.ts';
import { ExitRequest, type CommandContext, type CommandModule, type GlobalOptions } from './command.ts';
import { ioHost, processStreams, type Streams } from './io.ts';

interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<CommandModule>;
}

const commands: CommandEntry[] = [
  { name: 'plan', summary: 'show what `up` would do, changing nothing', load: async () => (await import('./fleet.ts')).planCommand },
  { name: 'up', summary: 'carry out the plan and wait until every wanted agent is online', load: async () => (await import('./fleet.ts')).upCommand },
  { name: 'watch', summary: 'reconcile on every tick; pools with max follow the build queue (scale up at once, scale in only idle agents)', load: async () => (await import('./watch.ts')).watchCommand },
  { name: 'status', summary: 'show each pool, its agents (node and instance side by side) and any orphans', load: async () => (await import('./fleet.ts')).statusCommand },
  { name: 'down', summary: "drain and remove every managed agent (or one pool's): no new builds, wait until idle, delete, terminate", load: async () => (await import('./fleet.ts')).downCommand },
  { name: 'force-unlock', summary: 'break the run lock a crashed up or down left behind, by its lock ID', load: async () => (await import('./lock.ts')).forceUnlockCommand },
  { name: 'library', summary: "render the shared library (vars/) and the Jenkinsfile from the fleet file's library: section", load: async () => (await import('../library/command.ts')).libraryCommand },
  { name: 'doctor', summary: 'cross-check fleet.yaml, jenkins/, the Jenkinsfile and the library; with JENKINS_URL set, the live controller too', load: async () => (await import('../doctor/command.ts')).doctorCommand },
  { name: 'init', summary: 'write fleet.yaml from `terraform output -json` of terraform/jenkins (read from a file or standard input)', load: async () => (await import('../init/command.ts')).initCommand },
  { name: 'sandbox', summary: 'run local stand-ins of EC2, SSM and a Jenkins controller and print the exports that point the provisioner at them', load: async () => (await import('./sandbox.ts')).loadSandboxCommand() },
];

/** What the CLI reaches the world through; tests hand in their own. */
export type MainDeps = Partial<Omit<CommandContext, 'globals' | 'io' | 'stdin'>> & { streams?: Streams };

/** The command named in `argv` (after the global options), if any: the one whose module to load. */
function commandNamed(argv: readonly string[]): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-c' || arg === '--config') i++;
    else if (!arg.startsWith('-')) words.push(arg);
  }
  return words[0] === 'help' ? words[1] : words[0];
}

async function program(argv: readonly string[], deps: MainDeps): Promise<Command> {
  const streams = deps.streams ?? processStreams;
  const cli = new Command('provisioner')
    .description('Keeps a fleet of Jenkins build agents on EC2 in the state fleet.yaml describes.')
    .option('-c, --config <path>', 'the fleet file', 'fleet.yaml')
    .option('--debug', 'print full error details and stack traces', false)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (text) => void streams.stdout.write(text), writeErr: (text) => void streams.stderr.write(text) });
  const named = commandNamed(argv);
  for (const entry of commands) {
    const command = cli.command(entry.name).description(entry.summary);
    if (entry.name !== named) continue;
    const module = await entry.load();
    module(command, (mode = {}) => ({
      globals: cli.opts<GlobalOptions>(),
      io: ioHost(streams, mode),
      env: deps.env ?? process.env,
      cwd: deps.cwd ?? process.cwd(),
      stdin: streams.stdin,
      now: deps.now ?? Date.now,
      ...(deps.connect ? { connect: deps.connect } : {}),
    }));
  }
  return cli;
}

/** Runs the CLI with `argv` (without node and script) and resolves to the process exit code. */
export async function main(argv: string[], deps: MainDeps = {}): Promise<number> {
  const stderr = (deps.streams ?? processStreams).stderr;
  let cli: Command | undefined;
  try {
    cli = await program(argv, deps);
    await cli.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed help, a version, or the usage problem.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? ExitCode.ok : ExitCode.error;
    }
    if (err instanceof ExitRequest) return err.code;
    for (const line of describeError(err, Boolean(cli?.opts<GlobalOptions>().debug))) stderr.write(`${line}\n`);
    return ExitCode.error;
  }
}
