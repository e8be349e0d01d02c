// What the executor tells the outside world while it works: one event per step of an agent's life,
// consumed by the progress display, the log lines or the JSON report.

export type Step =
  | 'launch'
  | 'register'
  | 'secret'
  | 'bootstrap'
  | 'online'
  | 'resume'
  | 'reconfigure'
  | 'replace'
  | 'drain'
  | 'delete-node'
  | 'delete-launch-template'
  | 'terminate'
  | 'delete-secret';

export type ProgressEvent =
  | { kind: 'launched'; pool: string; instanceIds: string[] }
  /** The agent's host can take commands (its instance runs and SSM or sshd answers). */
  | { kind: 'ready'; pool: string; agent: string }
  | { kind: 'registered'; pool: string; agent: string }
  | { kind: 'bootstrapped'; pool: string; agent: string }
  | { kind: 'online'; pool: string; agent: string }
  | { kind: 'resumed'; pool: string; agent: string }
  /** Its node's settings were changed in place (the named fields). */
  | { kind: 'reconfigured'; pool: string; agent: string; fields: string[] }
  | { kind: 'draining'; pool: string; agent: string }
  | { kind: 'removed'; pool: string; agent?: string; instanceId?: string }
  | { kind: 'deleted'; what: 'node' | 'secret' | 'launch template'; name: string }
  | { kind: 'failed'; pool: string; agent?: string; instanceId?: string; step: Step; error: string }
  | { kind: 'note'; pool?: string; agent?: string; message: string }
  /**
   * EC2 said the agent's Spot instance goes in two minutes (`warning`) or is at risk (`rebalance`):
   * it is drained and replaced; `builds` are those running there (Jenkins' names and URLs), each
   * named once, the later ones in a later event.
   */
  | { kind: 'interrupted'; pool: string; agent: string; instanceId: string; notice: 'warning' | 'rebalance'; noticeAt: string; builds: Array<{ name: string; url?: string }> };

export interface Reporter {
  event(event: ProgressEvent): void;
}

/** Something that did not end as wanted, named with the step and the remote's words. */
export interface Failure {
  pool: string;
  agent?: string;
  instanceId?: string;
  step: Step;
  error: string;
}
