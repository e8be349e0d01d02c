// The SSM transport: an agent's secret goes to Parameter Store, and the bootstrap runs through SSM
// Run Command, so agents need no inbound port at all. Hosts are polled for their SSM agent in
// rounds (one DescribeInstanceInformation pass for all of them), and the ready ones are sent the
// script together, up to 50 a call.
import { secretParameterName, type Fleet } from '../model.ts';
import type { Parameters, RunCommand } from '../ports.ts';
import type { AgentTarget, BootstrapOptions, BootstrapResult, Transport } from './transport.ts';

export interface SsmTransportOptions {
  /** Between two rounds of asking which SSM agents are online. */
  pollIntervalMs?: number;
  /** How long a ready host may wait for others to fill its SendCommand batch. */
  lingerMs?: number;
  /** The longest a bootstrap command may run on a host. */
  commandTimeoutSeconds?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const batchSize = 50; // SendCommand's limit of instance ids per call
const heredoc = 'JENKINS_FLEET_BOOTSTRAP';

export class SsmTransport implements Transport {
  private readonly pollIntervalMs: number;
  private readonly lingerMs: number;
  private readonly commandTimeoutSeconds: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(
    private readonly fleet: Fleet,
    private readonly parameters: Parameters,
    private readonly runCommand: RunCommand,
    options: SsmTransportOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.lingerMs = options.lingerMs ?? 3_000;
    this.commandTimeoutSeconds = options.commandTimeoutSeconds ?? 900;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  async storeSecret(target: AgentTarget, secret: string): Promise<void> {
    await this.parameters.putSecret(secretParameterName(this.fleet.fleet, instanceIdOf(target)), secret, this.fleet.secrets.kmsKeyId, target.instanceArn);
  }

  /** One DeleteParameter call, bounded by the SDK's own timeouts. */
  async forget(target: AgentTarget, _deadline: number): Promise<void> {
    await this.parameters.deleteSecret(secretParameterName(this.fleet.fleet, instanceIdOf(target)));
  }

  async bootstrap(targets: AgentTarget[], script: string, options: BootstrapOptions): Promise<BootstrapResult[]> {
    if (script.includes(heredoc)) throw new Error(`the bootstrap script must not contain ${heredoc}`);
    // AWS-RunShellScript runs its commands with sh; the script wants bash.
    const command = `bash -s <<'${heredoc}'\n${script}\n${heredoc}`;
    const byInstance = new Map(targets.map((t) => [instanceIdOf(t), t]));
    const waiting = new Set(byInstance.keys());
    const results: BootstrapResult[] = [];
    const sends: Promise<void>[] = [];
    let ready: Array<{ id: string; since: number }> = [];

    const finish = (result: BootstrapResult) => {
      results.push(result);
      options.onResult?.(result);
    };
    const send = (ids: string[]) => {
      sends.push(
        this.runCommand
          .runScript(ids, command, { fleet: this.fleet.fleet, comment: `jenkins-fleet ${this.fleet.fleet} bootstrap`, timeoutSeconds: this.commandTimeoutSeconds })
          .then(
            (outcomes) => {
              const seen = new Set<string>();
              for (const outcome of outcomes) {
                const target = byInstance.get(outcome.instanceId);
                if (!target) continue;
                seen.add(outcome.instanceId);
                const ok = outcome.status === 'Success';
                finish({
                  name: target.name,
                  ok,
                  output: outcome.stdout,
                  error: ok ? undefined : `bootstrap command ${outcome.status}${outcome.exitCode !== undefined ? ` (exit ${outcome.exitCode})` : ''}: ${lastLines(outcome.stderr || outcome.stdout)}`,
                });
              }
              for (const id of ids) if (!seen.has(id)) finish({ name: byInstance.get(id)!.name, ok: false, error: 'SSM returned no result for this instance' });
            },
            (err: unknown) => {
              for (const id of ids) finish({ name: byInstance.get(id)!.name, ok: false, error: `sending the bootstrap command failed: ${(err as Error).message}` });
            },
          ),
      );
    };

    for (const target of targets) options.onProgress?.(target.name, 'waiting for its SSM agent');
    while (waiting.size > 0 || ready.length > 0) {
      if (waiting.size > 0) {
        let online = new Set<string>();
        try {
          online = await this.runCommand.managedOnline(this.fleet.fleet, [...waiting]);
        } catch (err) {
          for (const id of waiting) options.onProgress?.(byInstance.get(id)!.name, `asking SSM which agents are online failed, will retry: ${(err as Error).message}`);
        }
        const now = this.now();
        for (const id of online) {
          if (!waiting.delete(id)) continue;
          ready.push({ id, since: now });
          options.onReady?.(byInstance.get(id)!.name);
        }
      }
      // Send full batches at once; a partial batch once nobody else is coming or it waited long enough.
      while (ready.length >= batchSize) send(ready.splice(0, batchSize).map((r) => r.id));
      const oldest = ready[0];
      if (oldest && (waiting.size === 0 || this.now() - oldest.since >= this.lingerMs)) {
        send(ready.map((r) => r.id));
        ready = [];
      }
      if (waiting.size === 0) break;
      if (this.now() >= options.deadline) {
        for (const id of waiting) finish({ name: byInstance.get(id)!.name, ok: false, error: 'the SSM agent did not come online before the timeout (is the instance profile allowing SSM, and is there a route to SSM?)' });
        waiting.clear();
        if (ready.length > 0) send(ready.map((r) => r.id));
        break;
      }
      await this.sleep(this.pollIntervalMs);
    }
    await Promise.all(sends);
    return results;
  }
}

function instanceIdOf(target: AgentTarget): string {
  if (!target.instanceId) throw new Error(`agent ${target.name} has no instance id: the SSM transport serves EC2 pools only`);
  return target.instanceId;
}

function lastLines(text: string, count = 5): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-count).join(' | ') || '(no output)';
}
