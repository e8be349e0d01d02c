// What a command module is and what it is handed: the CLI's tree (main.ts) loads a command's module
// only when that command runs, and each module adds its options and action to its entry.
import type { Command } from 'commander';
import type { Systems } from '../apply/apply.ts';
import type { Fleet } from '../model.ts';
import type { IoHost } from './io.ts';

export interface GlobalOptions {
  config: string;
  debug: boolean;
}

export interface ConnectOptions {
  /** Hosts worked on at once over SSH. */
  concurrency?: number;
  env?: NodeJS.ProcessEnv;
}

/** Everything a command reaches the world through; tests hand in their own. */
export interface CommandContext {
  globals: GlobalOptions;
  io: IoHost;
  env: NodeJS.ProcessEnv;
  /** The directory the command was started in: where `doctor` and `library` find the repository. */
  cwd: string;
  now: () => number;
  /** Standard input, for a command that reads a document from it (`init --outputs -`). */
  stdin: NodeJS.ReadableStream;
  /** The adapters of a fleet's outside systems (EC2, SSM, Jenkins, the hosts): the real ones unless given. */
  connect?: (fleet: Fleet, token: string, options?: ConnectOptions) => Systems;
}

/**
 * A command: adds its options and action to its entry in the tree. The action asks for its context
 * once it knows whether it answers in JSON (the output host's mode).
 */
export type CommandModule = (command: Command, context: (mode?: { json?: boolean }) => CommandContext) => void;

/** An exit code other than 0 that a command asks for without an error (Terraform's detailed exit code). */
export class ExitRequest extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'ExitRequest';
  }
}
