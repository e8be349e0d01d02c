// The two kinds of failure the CLI tells apart: a user's mistake (bad config, missing token,
// wrong flag), told in one clear sentence per problem, and a failure of a remote system, naming
// what was being done, to what, and what the remote said. Both exit 1, as Terraform's errors do.

/** A mistake the user can fix: config, flags, environment. Exit code 1, no stack trace. */
export class UserError extends Error {
  readonly problems: string[];

  constructor(problems: string | string[]) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.join('\n'));
    this.name = 'UserError';
    this.problems = list;
  }
}

/** A remote system (EC2, SSM, Jenkins, a host) failed or could not be reached. Exit code 1. */
export class RemoteError extends Error {
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
 * Exit codes, as documented in README.md and as Terraform's: 1 for every error, so that 2 means
 * only "changes pending" under `plan --detailed-exitcode` and a drift check can tell them apart.
 */
export const ExitCode = {
  ok: 0,
  error: 1,
  changesPending: 2,
} as const;
