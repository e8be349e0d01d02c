// Watches the controller's nodes for everyone who is waiting on one (agents coming online, drained
// agents going idle) with ONE `listNodes` call per round, however many agents there are.
import type { AgentNode } from '../model.ts';
import type { Controller } from '../ports.ts';

type Condition = (node: AgentNode | undefined) => boolean;

interface Waiter {
  name: string;
  condition: Condition;
  deadline: number;
  resolve: (met: boolean) => void;
}

export class NodeWatch {
  private waiters: Waiter[] = [];
  private running: Promise<void> | undefined;
  /** The last error of a round, so a caller that times out can say why. */
  lastError: string | undefined;
  /** Rounds made so far (one controller call each). */
  rounds = 0;
  private seen = new Map<string, AgentNode>();

  constructor(
    private readonly controller: Controller,
    // A round costs one call whatever the fleet's size, so rounds can be frequent.
    private readonly intervalMs = 1_000,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves true once `condition` holds for the node `name`, false at the deadline. */
  until(name: string, condition: Condition, deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      this.waiters.push({ name, condition, deadline, resolve });
      this.running ??= this.loop().finally(() => {
        this.running = undefined;
      });
    });
  }

  online(name: string, deadline: number): Promise<boolean> {
    return this.until(name, (node) => node?.online === true, deadline);
  }

  idle(name: string, deadline: number): Promise<boolean> {
    return this.until(name, (node) => node === undefined || node.idle, deadline);
  }

  /** Gives up every wait now (each resolves false), e.g. when the process is asked to stop. */
  cancel(): void {
    this.settle(() => false);
  }

  /** The node as the last round saw it. */
  last(name: string): AgentNode | undefined {
    return this.seen.get(name);
  }

  private async loop(): Promise<void> {
    while (this.waiters.length > 0) {
      try {
        const nodes = new Map((await this.controller.listNodes()).map((n) => [n.name, n]));
        this.seen = nodes;
        this.lastError = undefined;
        this.settle((w) => (w.condition(nodes.get(w.name)) ? true : undefined));
      } catch (err) {
        this.lastError = (err as Error).message;
      }
      this.rounds += 1;
      const now = this.now();
      this.settle((w) => (now >= w.deadline ? false : undefined));
      if (this.waiters.length > 0) await this.sleep(this.intervalMs);
    }
  }

  private settle(verdict: (w: Waiter) => boolean | undefined): void {
    this.waiters = this.waiters.filter((w) => {
      const met = verdict(w);
      if (met === undefined) return true;
      w.resolve(met);
      return false;
    });
  }
}
