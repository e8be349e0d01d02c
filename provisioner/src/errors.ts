// The two kinds of failure the CLI tells apart: a user's mistake (bad config, missing token,
// wrong flag), which exits 2 with one clear sentence per problem, and a failure of a remote
// system, which exits 1 naming what was being done, to what, and what the remote said.

/** A mistake the user can fix: config, flags, environment. Exit code 2, no stack trace. */
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

/** Exit codes, as documented in README.md. */
export const ExitCode = {
  ok: 0,
  remoteFailure: 1,
  usage: 2,
} as const;
