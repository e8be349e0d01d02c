// The one output host every command writes through (as aws-cdk's IIoHost): the command's result
// on standard output (text, or one JSON document under --json), what is going on beside it,
// progress as a live table only where standard output is a terminal (never a control code
// anywhere else), and questions only where a person can answer them.
import { createInterface } from 'node:readline/promises';
import type { Reporter } from '../apply/events.ts';
import { LogReporter, TableReporter } from './progress.ts';

/** What the host writes to and reads from: the process's own streams, or a test's. */
export interface Streams {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** A progress display that can be told the work is over (the table draws its final state). */
export interface Progress extends Reporter {
  finish(): void;
}

export interface IoHost {
  /** The command was asked for JSON: standard output holds one JSON document and nothing else. */
  readonly json: boolean;
  /** A person is at a terminal (standard input and output both are one): questions can be asked. */
  readonly interactive: boolean;
  /** The command's answer: `value` as JSON under --json, else the text. */
  result(text: string, value?: unknown): void;
  /** What is going on (the plan, what was done): standard output, or standard error under --json. */
  info(line: string): void;
  /** A note that is no part of the result: standard error. */
  warn(line: string): void;
  /** The progress of an apply: a table redrawn in place on a terminal, one line per event elsewhere. */
  progress(pools: readonly string[]): Progress;
  /** Asks a yes/no question; only 'yes' is yes. Never asks where nobody can answer: false. */
  confirm(question: string): Promise<boolean>;
}

export function ioHost(streams: Streams, options: { json?: boolean } = {}): IoHost {
  const json = options.json ?? false;
  const stdoutIsTerminal = streams.stdout.isTTY === true;
  const interactive = stdoutIsTerminal && streams.stdin.isTTY === true;
  const line = (stream: { write(text: string): unknown }) => (text: string) => void stream.write(`${text}\n`);
  const info = json ? line(streams.stderr) : line(streams.stdout);
  return {
    json,
    interactive,
    result(text, value) {
      if (json && value !== undefined) line(streams.stdout)(JSON.stringify(value, null, 2));
      else line(streams.stdout)(text);
    },
    info,
    warn: line(streams.stderr),
    progress(pools) {
      if (!json && stdoutIsTerminal) return new TableReporter(streams.stdout, pools);
      const log = new LogReporter(info);
      return { event: (e) => log.event(e), finish: () => {} };
    },
    async confirm(question) {
      if (!interactive) return false;
      // terminal: false: a plain question and answer, with no cursor control written to the terminal.
      const rl = createInterface({ input: streams.stdin, output: streams.stdout as NodeJS.WritableStream, terminal: false });
      try {
        const answer = await rl.question(`${question} Only 'yes' is accepted: `);
        return answer.trim().toLowerCase() === 'yes';
      } finally {
        rl.close();
      }
    },
  };
}

export const processStreams: Streams = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
