// How an agent's host is reached once Jenkins knows the agent: where its secret goes and how the
// bootstrap script runs there. `ssm` (SSM Run Command) is one transport; `ssh` is another.
import type { Pool } from '../model.ts';

/** One agent to bootstrap: its Jenkins node name and where it lives. */
export interface AgentTarget {
  name: string;
  pool: Pool;
  /** The EC2 instance, for pools on EC2. */
  instanceId?: string;
  /** Its ARN, when known: the one reader of the agent's secret in Parameter Store. */
  instanceArn?: string;
  /** An address to connect to (SSH transport): an instance's private/public IP or a static host. */
  address?: string;
  port?: number;
  user?: string;
}

export interface BootstrapResult {
  name: string;
  ok: boolean;
  /** Why it failed: the remote's words (stderr tail, SSM status, connection error). */
  error?: string;
  /** The end of the script's output, for the log. */
  output?: string;
}

export interface BootstrapOptions {
  /** Epoch milliseconds after which hosts not yet reachable are given up. */
  deadline: number;
  /** Called once per agent as soon as its result is known, so it need not wait for the others. */
  onResult?: (result: BootstrapResult) => void;
  /** Called once per agent when its host can take commands (SSM agent online, sshd answered). */
  onReady?: (name: string) => void;
  /** Progress lines ("waiting for SSM agent", output lines), with the agent's name. */
  onProgress?: (name: string, message: string) => void;
}

export interface Transport {
  /**
   * Puts the agent's secret where the bootstrap will find it (SSM: a SecureString parameter;
   * SSH: kept until the connection, then a 0600 file over SFTP). Never logs it.
   */
  storeSecret(target: AgentTarget, secret: string): Promise<void>;
  /**
   * Waits until each host can take commands (bounded by the deadline), runs the pool's bootstrap
   * script there and returns one result per agent. One host's failure fails only that agent.
   */
  bootstrap(targets: AgentTarget[], script: string, options: BootstrapOptions): Promise<BootstrapResult[]>;
  /**
   * Removes what the transport stored for the agent (its secret parameter or file, and on a static
   * host the agent service), giving up at `deadline` (epoch milliseconds): `down --timeout` bounds it.
   */
  forget(target: AgentTarget, deadline: number): Promise<void>;
}
