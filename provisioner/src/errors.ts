// Every failure the CLI reports has a kind, and the kind decides how it is told (as aws-cdk's
// toolkit errors carry a source):
//   user      a mistake the user can fix (config, flags, environment, files in the repository):
//             one sentence per problem naming the file or flag, what was expected and what was found;
//   remote    a remote system (EC2, SSM, Jenkins, a host) failed or could not be reached: what was
//             being done, to what, and what the remote said;
//   internal  anything else is a bug of the provisioner (a TypeError and the like): it says so and
//             prints its stack, instead of passing for a remote failure.
// All three exit 1, as Terraform's errors do; `--debug` adds the stack to the first two.

export type ErrorKind = 'user' | 'remote' | 'internal';

/**
 * Marks the provisioner's errors whichever copy of this module made them: `provisioner sandbox` runs
 * the sandbox package's TypeScript (and its copy of this module) beside the CLI's build, and a user
 * error of the sandbox's must still be told as one.
 */
const provisionerErrorMark = Symbol.for('jenkins-fleet.ProvisionerError');

/** A failure the provisioner expected and can explain; anything that is not one is internal. */
export abstract class ProvisionerError extends Error {
  abstract readonly kind: Exclude<ErrorKind, 'internal'>;
  readonly [provisionerErrorMark] = true;

  /** The lines the CLI prints after `error: `, one per problem. */
  get lines(): string[] {
    return [this.message];
  }
}

/** A mistake the user can fix: config, flags, environment. No stack trace unless --debug. */
export class UserError extends ProvisionerError {
  readonly kind = 'user';
  readonly problems: string[];

  constructor(problems: string | string[], options?: { cause?: unknown }) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.join('\n'), options);
    this.name = 'UserError';
    this.problems = list;
  }

  override get lines(): string[] {
    return this.problems;
  }
}

/** A remote system (EC2, SSM, Jenkins, a host) failed or could not be reached. */
export class RemoteError extends ProvisionerError {
  readonly kind = 'remote';
  readonly endpoint: string;
  readonly doing: string;

  /**
   * @param doing what was being done, e.g. `creating node awsDeploy-i-0abc`
   * @param endpoint which system, e.g. `Jenkins at https://ci.example.com/`
   * @param said what the remote said (its error code and message), or why it could not answer
   */
  constructor(doing: string, endpoint: string, said: string, options?: { cause?: unknown }) {
    super(`${doing}: ${endpoint} ${said}`, options);
    this.name = 'RemoteError';
    this.endpoint = endpoint;
    this.doing = doing;
  }
}

/**
 * Remote steps that failed one by one, each already named with its agent, step and the remote's
 * words (an apply's failures): reported together, after the others were carried out.
 */
export class RemoteFailures extends ProvisionerError {
  readonly kind = 'remote';

  constructor(
    readonly summary: string,
    readonly failures: string[],
  ) {
    super(`${summary}:\n${failures.map((f) => `  ${f}`).join('\n')}`);
    this.name = 'RemoteFailures';
  }
}

/**
 * A check whose report is the command's output (`doctor`, `library --check`) found problems in the
 * user's files: the report said which, this only ends the command with exit code 1.
 */
export class ChecksFailed extends ProvisionerError {
  readonly kind = 'user';

  constructor(message: string) {
    super(message);
    this.name = 'ChecksFailed';
  }
}

/**
 * A failure of a system call (a port in use, a file not writable: Node's SystemError, which names
 * its syscall) is the machine's state, the user's to fix, not a bug.
 */
function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

function isProvisionerError(err: unknown): err is ProvisionerError {
  return err instanceof ProvisionerError || (err instanceof Error && (err as Error & { [provisionerErrorMark]?: unknown })[provisionerErrorMark] === true);
}

export function errorKind(err: unknown): ErrorKind {
  if (isProvisionerError(err)) return err.kind;
  return isSystemError(err) ? 'user' : 'internal';
}

/** How the CLI tells `err`: the lines for standard error, without a trailing newline. */
export function describeError(err: unknown, debug: boolean): string[] {
  if (isProvisionerError(err)) {
    const lines = err.lines.map((line) => `error: ${line}`);
    if (debug) lines.push(...stackOf(err));
    return lines;
  }
  if (isSystemError(err)) return [`error: ${err.message}`, ...(debug ? stackOf(err) : [])];
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return [
    `error: internal error: ${text}`,
    'This is a bug in the provisioner, not something you did; please report it with the lines below.',
    ...(err instanceof Error ? stackOf(err) : []),
  ];
}

/** The stack of an error and of the causes it carries. */
function stackOf(err: Error): string[] {
  const lines = [err.stack ?? `${err.name}: ${err.message}`];
  let cause = err.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    lines.push(`caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return lines;
}

/**
 * Exit codes, as documented in README.md and as Terraform's: 1 for every error, so that 2 means
 * only "changes pending" under `plan --detailed-exitcode` and a drift check can tell them apart.
 */
export const ExitCode = {
  ok: 0,
  error: 1,
  changesPending: 2,
} as const;
