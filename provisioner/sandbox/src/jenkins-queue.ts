// The Jenkins stand-in's build queue and executors, as Jenkins core runs them (hudson.model.Queue,
// Executor, Node.canTake, Label, LoadBalancer) for Pipeline `node(label)` steps: builds wait in the
// queue, a maintenance pass hands each to an idle executor of an online node that can take it
// (pending), the executor starts it, it runs for its duration and finishes. Why an item waits is
// worded from the live state as BuildableItem.getCauseOfBlockage words it. Each behaviour and its
// source are in docs/FIDELITY.md ("Builds and the queue").
import { message, render, timeSpan, type QueueLocale, type QueueMessage, type QueueMessageKey } from './jenkins-messages.ts';
import { createHash } from 'node:crypto';
import { labelMatches, labelName, readLabel, type Label } from '../../src/plan/labels.ts';
import type { JenkinsNode, SandboxBuild } from './state.ts';
import type { Sandbox } from './world.ts';

/** The sandbox's own Pipeline job: every build it queues is a run of it with one `node` step. */
export const buildJob = 'sandbox-build';

const placeholderTaskClass = 'org.jenkinsci.plugins.workflow.support.steps.ExecutorStepExecution$PlaceholderTask';
const placeholderExecutableClass = `${placeholderTaskClass}$PlaceholderExecutable`;

/** The built-in node's computer name (MasterComputer.getDisplayName) and its only label (Jenkins.getSelfLabel). */
const builtInLabel = 'built-in';

export interface BuildQueueOptions {
  /** Queue.MaintainTask's period (5 s in Jenkins); maintenance also runs whenever Jenkins schedules it. */
  maintenancePeriodMs: number;
  /** How long an executor takes to start the work handed to it; the item is pending meanwhile. */
  executorStartMs: number;
  /** ExecutorStepExecution.TIMEOUT_WAITING_FOR_NODE_MILLIS: how long a build waits for a lost agent. */
  lostAgentTimeoutMs: number;
  /** The job's build discarder (LogRotator's numToKeep): how many of the newest runs are kept; null keeps every run. */
  keepBuilds: number | null;
}

/** What the queue needs to know of the agents beyond the stored nodes: whether each holds its channel. */
export interface Channels {
  isConnected(name: string): boolean;
}

/** A build as `sandbox builds` and `GET /_sandbox/builds` show it. */
export interface BuildView {
  id: number;
  queueId: number;
  label: string | null;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  node: string | null;
  result: 'SUCCESS' | 'ABORTED' | null;
  abortedBy?: 'node-removed' | 'spot-interruption';
}

/** One executor of a computer as Executor exports it: idle, or holding a build (pending or running). */
export interface ExecutorSlot {
  number: number;
  build?: SandboxBuild;
}

/** A computer whose node was deleted while builds ran on it. */
export interface LeftoverComputer {
  name: string;
  builds: SandboxBuild[];
}

/** The agent a build may go to, with the executors idle in this maintenance pass. */
interface Offer {
  node: JenkinsNode;
  free: number[];
}

const isActive = (b: SandboxBuild) => b.finishedAt === undefined;
const isQueued = (b: SandboxBuild) => b.finishedAt === undefined && b.startedAt === undefined;
const isPending = (b: SandboxBuild) => isQueued(b) && b.pendingAt !== undefined;
const isRunning = (b: SandboxBuild) => b.finishedAt === undefined && b.startedAt !== undefined;
/** Holds an executor: handed to it (pending) or running there. */
const holdsExecutor = (b: SandboxBuild) => isActive(b) && b.pendingAt !== undefined && b.node !== undefined;

/** The labels a node carries (Node.getAssignedLabels): its label string's atoms, then its own name. */
export function nodeLabels(node: JenkinsNode): string[] {
  return [...new Set(node.labelString.split(/\s+/).filter(Boolean)), node.name];
}

/** CompositeCauseOfBlockage.getShortDescription: unique reasons (each worded in the request's locale) in String order, at most five shown. */
function composite(reasons: QueueMessage[], locale: QueueLocale): string {
  const unique = [...new Set(reasons.map((r) => render(r, locale)))].sort();
  if (unique.length <= 5) return unique.join('; ');
  return `${unique.slice(0, 5).join('; ')}; ... and ${unique.length - 5} more`;
}

/** A number in (0, 1) from a string: the sandbox's stand-in for ConsistentHash's points. */
function unitHash(text: string): number {
  const n = createHash('sha256').update(text).digest().readUIntBE(0, 6);
  return (n + 1) / (2 ** 48 + 2);
}

export class BuildQueue {
  /** Queue.BuildableItem.transientCausesOfBlockage: why the last maintenance could not hand it out (not persisted). */
  private readonly transientCauses = new Map<number, QueueMessage[]>();
  private timer?: NodeJS.Timeout;
  private maintenanceScheduled = false;
  private nextPeriodicAt: number;
  private closed = false;

  constructor(private readonly sb: Sandbox, private readonly channels: Channels, private readonly options: BuildQueueOptions) {
    const now = Date.now();
    let changed = false;
    for (const build of this.builds) {
      if (isPending(build)) {
        // The executors died with the controller: Queue.load puts the item back in the queue.
        this.release(build);
        changed = true;
      } else if (isRunning(build) && build.agentLostAt === undefined) {
        // No agent is connected to a controller that just started: each build waits for its agent
        // (ExecutorStepExecution's pickle) as it does for a dropped one.
        build.agentLostAt = now;
        changed = true;
      }
    }
    if (changed) this.sb.store.save();
    this.nextPeriodicAt = now + options.maintenancePeriodMs;
    this.arm(now);
  }

  private get builds(): SandboxBuild[] {
    return this.sb.store.world.builds;
  }

  private get nodes(): JenkinsNode[] {
    return this.sb.store.world.nodes;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  // ---- what the rest of the stand-in asks

  /** The run's display name, and the placeholder task's name (PlaceholderTask.getDisplayName, no enclosing label). */
  static taskName(build: SandboxBuild): string {
    return `part of ${buildJob} #${build.id}`;
  }

  /** The executors of a node's computer: 0..numExecutors-1, and any busy one above (executors shrink as they finish). */
  executorsOf(node: JenkinsNode): ExecutorSlot[] {
    const held = this.builds.filter((b) => holdsExecutor(b) && b.node === node.name && b.nodeRemovedAt === undefined);
    const slots: ExecutorSlot[] = [];
    const top = Math.max(node.numExecutors, ...held.map((b) => (b.executor ?? 0) + 1));
    for (let n = 0; n < top; n++) {
      const build = held.find((b) => b.executor === n);
      if (n < node.numExecutors || build) slots.push(build ? { number: n, build } : { number: n });
    }
    return slots;
  }

  /** Computers of deleted nodes that are still listed: each holds the builds that ran there until they end. */
  leftoverComputers(): LeftoverComputer[] {
    const byName = new Map<string, SandboxBuild[]>();
    for (const build of this.builds) {
      if (!isActive(build) || build.nodeRemovedAt === undefined || build.computerDelisted || build.node === undefined) continue;
      byName.set(build.node, [...(byName.get(build.node) ?? []), build]);
    }
    return [...byName].map(([name, builds]) => ({ name, builds }));
  }

  /** Whether the node is online for builds (Computer.isOnline: connected and not temporarily offline). */
  online(node: JenkinsNode): boolean {
    return this.channels.isConnected(node.name) && node.temporaryOfflineCause === undefined;
  }

  /** Queue.scheduleMaintenance: a maintenance pass soon, after the current request (coalesced). */
  scheduleMaintenance(): void {
    if (this.maintenanceScheduled || this.closed) return;
    this.maintenanceScheduled = true;
    setImmediate(() => {
      this.maintenanceScheduled = false;
      if (!this.closed) this.advance(Date.now(), true);
    });
  }

  /** Queues `count` builds of the sandbox's job, each a `node(label)` step (Queue.schedule2 with quiet period 0). */
  schedule(label: string | null, count: number, durationMs: number | null, now = Date.now()): SandboxBuild[] {
    this.advance(now);
    const world = this.sb.store.world;
    const added: SandboxBuild[] = [];
    for (let i = 0; i < count; i++) {
      const build: SandboxBuild = { id: world.nextBuild++, queueId: world.nextQueueId++, label, durationMs, queuedAt: now, result: null };
      world.builds.push(build);
      added.push(build);
    }
    this.sb.store.save();
    this.scheduleMaintenance();
    return added;
  }

  /**
   * `sandbox busy NODE`: a build tied to NODE (its own name as label) that runs until `sandbox idle
   * NODE`, started on one of its idle executors at once rather than through the queue, so that the
   * node is busy when the call returns. Refused when the node could not take a build now.
   */
  occupy(name: string, now = Date.now()): SandboxBuild | string {
    this.advance(now);
    const node = this.nodes.find((n) => n.name === name);
    if (!node) return `no node named ${name}`;
    if (!this.channels.isConnected(name)) return `node ${name} is offline: a build cannot run on it`;
    if (node.temporaryOfflineCause) return `node ${name} is temporarily offline: Jenkins schedules no build on it`;
    const free = this.executorsOf(node).find((e) => !e.build && e.number < node.numExecutors);
    if (!free) return `node ${name} has no idle executor: every one of its ${node.numExecutors} runs a build`;
    const world = this.sb.store.world;
    const build: SandboxBuild = { id: world.nextBuild++, queueId: world.nextQueueId++, label: name, durationMs: null, queuedAt: now, buildableAt: now, pendingAt: now, startedAt: now, node: name, executor: free.number, result: null };
    world.builds.push(build);
    this.sb.store.save();
    return build;
  }

  /** An executor lets go of the item it was handed: the item is buildable again (same id, same buildable time). */
  private release(build: SandboxBuild): void {
    delete build.pendingAt;
    delete build.node;
    delete build.executor;
  }

  /**
   * `sandbox idle NODE`: the builds on NODE (or on the computer a deleted NODE left) end successfully,
   * those handed to it and not started yet included.
   */
  finishOn(name: string, now = Date.now()): string | undefined {
    this.advance(now);
    const node = this.nodes.find((n) => n.name === name);
    const here = this.builds.filter((b) => holdsExecutor(b) && b.node === name && (node ? b.nodeRemovedAt === undefined : !b.computerDelisted));
    if (!node && here.length === 0) return `no node named ${name}`;
    for (const build of here) {
      build.startedAt ??= now;
      build.finishedAt = now;
      build.result = 'SUCCESS';
      delete build.agentLostAt;
    }
    if (here.length > 0) this.discardOldBuilds();
    this.sb.store.save();
    if (here.length > 0) this.scheduleMaintenance();
    return undefined;
  }

  /** The agent's channel closed: builds on it wait the lost-agent timeout for it (the executor stays busy). */
  agentLost(name: string, now = Date.now()): void {
    for (const build of this.builds) if (isRunning(build) && build.node === name && build.nodeRemovedAt === undefined) build.agentLostAt ??= now;
  }

  /**
   * EC2 reclaimed the agent's instance (a Spot interruption): its builds lose the agent now and
   * abort as a lost agent's do, recorded as ended by the interruption.
   */
  instanceInterrupted(name: string, now = Date.now()): void {
    for (const build of this.builds) {
      if (!isRunning(build) || build.node !== name) continue;
      build.agentLostAt ??= now;
      build.instanceInterrupted = true;
    }
    this.sb.store.save();
  }

  /** The agent is back: builds still waiting for it carry on. */
  agentBack(name: string): void {
    for (const build of this.builds) if (isRunning(build) && build.node === name && build.nodeRemovedAt === undefined) delete build.agentLostAt;
  }

  /**
   * The node is deleted (Jenkins.removeNode): its computer loses its idle executors; running builds
   * keep theirs on the leftover computer until the Pipeline gives up on the node (RemovedNodeListener).
   */
  nodeRemoved(name: string, now = Date.now()): void {
    for (const build of this.builds) {
      if (!holdsExecutor(build) || build.node !== name || build.nodeRemovedAt !== undefined) continue;
      if (build.startedAt === undefined) continue; // its executor will find the node gone when it starts
      build.nodeRemovedAt = now;
      build.agentLostAt ??= now;
    }
  }

  /** Computer.doDoDelete on a leftover computer: it leaves the list; its builds still end at their deadline. */
  delistComputer(name: string): void {
    for (const build of this.builds) if (isActive(build) && build.node === name && build.nodeRemovedAt !== undefined) build.computerDelisted = true;
  }

  view(build: SandboxBuild): BuildView {
    return {
      id: build.id,
      queueId: build.queueId,
      label: build.label,
      queuedAt: build.queuedAt,
      startedAt: build.startedAt ?? null,
      finishedAt: build.finishedAt ?? null,
      node: build.startedAt !== undefined ? build.node ?? null : null,
      result: build.result,
      ...(build.abortedBy ? { abortedBy: build.abortedBy } : {}),
    };
  }

  list(now = Date.now()): BuildView[] {
    this.advance(now);
    return this.builds.map((b) => this.view(b));
  }

  // ---- time: executors starting, builds ending, periodic maintenance

  /**
   * Brings the queue up to `now`: executors start what they were handed (or hand it back when their
   * node went), builds end or give up on a lost agent, and maintenance runs when it is due or asked.
   */
  advance(now = Date.now(), maintenance = false): void {
    if (this.closed) return;
    let changed = false;
    let maintain = maintenance;
    for (const build of this.builds) {
      if (isPending(build)) {
        if (now < build.pendingAt! + this.options.executorStartMs) continue;
        const node = this.nodes.find((n) => n.name === build.node);
        // Executor.run: "went off-line" or "was removed before the task's worker thread started";
        // the next maintenance finds the pending item without its executor and makes it buildable again.
        if (!node || !this.online(node)) this.release(build);
        else build.startedAt = now;
        changed = true;
        maintain ||= build.startedAt === undefined;
        continue;
      }
      if (!isRunning(build)) continue;
      if (build.agentLostAt !== undefined) {
        if (now >= build.agentLostAt + this.options.lostAgentTimeoutMs) {
          build.finishedAt = build.agentLostAt + this.options.lostAgentTimeoutMs;
          build.result = 'ABORTED';
          build.abortedBy = build.instanceInterrupted ? 'spot-interruption' : 'node-removed';
          changed = maintain = true;
        }
        continue;
      }
      if (build.durationMs !== null && now >= build.startedAt! + build.durationMs && this.channels.isConnected(build.node!)) {
        build.finishedAt = now;
        build.result = 'SUCCESS';
        changed = maintain = true; // Executor.finish2 schedules maintenance
      }
    }
    if (now >= this.nextPeriodicAt) {
      maintain = true;
      this.nextPeriodicAt = now + this.options.maintenancePeriodMs;
    }
    if (maintain) changed = this.maintain(now) || changed;
    if (changed) {
      this.discardOldBuilds();
      this.sb.store.save();
    }
    this.arm(now);
  }

  /**
   * LogRotator.perform with numToKeep, as WorkflowRun.finish calls it (Job.logRotate) when a run
   * ends: beyond the newest `keepBuilds` runs (running and waiting ones count), each finished run is
   * deleted unless it is the last successful one (which is also the last stable one here). Without
   * it the state file would grow by every build a long-lived sandbox ever ran.
   */
  private discardOldBuilds(): void {
    const keep = this.options.keepBuilds;
    if (keep === null || this.builds.length <= keep) return;
    let lastSuccessful: SandboxBuild | undefined;
    for (let i = this.builds.length - 1; i >= 0 && !lastSuccessful; i--) if (this.builds[i]!.result === 'SUCCESS') lastSuccessful = this.builds[i];
    const newest = this.builds.length - keep;
    this.sb.store.world.builds = this.builds.filter((b, i) => i >= newest || isActive(b) || b === lastSuccessful);
  }

  /** One timer for the next moment something is due. */
  private arm(now: number): void {
    if (this.closed) return;
    let next = this.nextPeriodicAt;
    for (const build of this.builds) {
      if (isPending(build)) next = Math.min(next, build.pendingAt! + this.options.executorStartMs);
      else if (isRunning(build)) {
        if (build.agentLostAt !== undefined) next = Math.min(next, build.agentLostAt + this.options.lostAgentTimeoutMs);
        else if (build.durationMs !== null) next = Math.min(next, build.startedAt! + build.durationMs);
      }
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.advance(Date.now()), Math.max(0, next - now));
    this.timer.unref();
  }

  // ---- Queue.maintain

  /** Jenkins.getLabel of the step's label; the atoms the nodes carry are the labels Jenkins knows. */
  private assignedLabel(build: SandboxBuild): Label | null {
    if (build.label === null) return null;
    const known = new Set([builtInLabel, ...this.nodes.flatMap(nodeLabels)]);
    return readLabel(build.label, known);
  }

  /**
   * Node.canTake then Queue.JobOffer.getCauseOfBlockage for a node with an idle executor: the label
   * (Node.LabelMissing), EXCLUSIVE mode for work without a label (Node.BecauseNodeIsReserved), then
   * whether its computer is online (BecauseNodeIsOffline; temporarily offline counts).
   */
  private refusal(node: JenkinsNode, label: Label | null): QueueMessage | null {
    if (label && !labelMatches(label, nodeLabels(node))) return message('LabelMissing', node.name, labelName(label));
    if (!label && node.mode === 'EXCLUSIVE') return message('BecauseNodeIsReserved', node.name);
    if (!this.online(node)) return message('NodeOffline', node.name);
    return null;
  }

  /**
   * Queue.maintain: waiting items whose quiet period is over become buildable; then each buildable
   * item, oldest first, is offered the idle executors; the nodes that refuse say why (kept as its
   * transient causes), and among those that can take it LoadBalancer.CONSISTENT_HASH picks one by
   * the task's name, weighted by idle executors. The chosen executor holds the item (pending).
   */
  maintain(now = Date.now()): boolean {
    let changed = false;
    const offers: Offer[] = [];
    for (const node of this.nodes) {
      const free = this.executorsOf(node).filter((e) => !e.build && e.number < node.numExecutors).map((e) => e.number);
      if (free.length > 0) offers.push({ node, free });
    }
    for (const build of this.builds) {
      if (isQueued(build) && build.buildableAt === undefined && build.queuedAt <= now) {
        build.buildableAt = now;
        changed = true;
      }
    }
    const buildables = this.builds.filter((b) => isQueued(b) && b.buildableAt !== undefined && !isPending(b)).sort((a, b) => a.buildableAt! - b.buildableAt! || a.queueId - b.queueId);
    for (const build of buildables) {
      const label = this.assignedLabel(build);
      const reasons: QueueMessage[] = [];
      const candidates: Offer[] = [];
      for (const offer of offers) {
        if (offer.free.length === 0) continue;
        const refusal = this.refusal(offer.node, label);
        if (refusal === null) candidates.push(offer);
        else reasons.push(refusal);
      }
      if (candidates.length === 0) {
        if (reasons.length > 0) this.transientCauses.set(build.queueId, reasons);
        else this.transientCauses.delete(build.queueId);
        continue;
      }
      const key = BuildQueue.taskName(build);
      let chosen = candidates[0]!;
      let best = -Infinity;
      for (const offer of candidates) {
        // Weighted rendezvous hashing: stable per task, each node's share in proportion to its idle executors.
        const score = -offer.free.length / Math.log(unitHash(`${key}\n${offer.node.name}`));
        if (score > best) {
          best = score;
          chosen = offer;
        }
      }
      build.pendingAt = now;
      build.node = chosen.node.name;
      build.executor = chosen.free.shift()!;
      this.transientCauses.delete(build.queueId);
      changed = true;
    }
    if (changed) this.arm(now);
    return changed;
  }

  // ---- what Jenkins says of each item

  /** The nodes of a label (Label.getNodes): the built-in node first when it matches, then the agents. */
  private labelNodes(label: Label): Array<JenkinsNode | 'built-in'> {
    return [...(labelMatches(label, [builtInLabel]) ? ['built-in' as const] : []), ...this.nodes.filter((n) => labelMatches(label, nodeLabels(n)))];
  }

  /** Idle executors of online computers that accept tasks (Label.getIdleExecutors, ComputerSet.getIdleExecutors). */
  private idleExecutors(nodes: Array<JenkinsNode | 'built-in'>): number {
    let idle = 0;
    for (const node of nodes) {
      if (node === 'built-in' || !this.online(node)) continue;
      idle += this.executorsOf(node).filter((e) => !e.build).length;
    }
    return idle;
  }

  /**
   * Queue.Item.getWhy. A waiting item is in its quiet period (WaitingItem); a buildable one, pending
   * or not, is worded by BuildableItem.getCauseOfBlockage from the state at the time of asking:
   * with no agent node at all the label is dropped ("pointless to talk about nodes"); a label whose
   * nodes are all offline is BecauseLabelIsOffline (no node: "There are no nodes with the label")
   * or, with one node, BecauseNodeIsOffline; otherwise the reasons of the last maintenance when an
   * idle executor exists, else BecauseLabelIsBusy or, with one node, BecauseNodeIsBusy. Worded in
   * the request's locale (jenkins-messages.ts).
   */
  why(build: SandboxBuild, now = Date.now(), locale: QueueLocale = 'en'): string {
    const say = (key: QueueMessageKey, ...args: string[]) => render(message(key, ...args), locale);
    if (build.buildableAt === undefined) {
      const diff = build.queuedAt - now;
      return diff >= 0 ? say('InQuietPeriod', timeSpan(diff, locale)) : say('FinishedWaiting');
    }
    const transient = this.transientCauses.get(build.queueId);
    const label = this.nodes.length === 0 ? null : this.assignedLabel(build);
    if (label) {
      const nodes = this.labelNodes(label);
      // The built-in node's computer is named by Hudson.Computer.DisplayName, worded in the request's locale too.
      const display = (n: JenkinsNode | 'built-in') => (n === 'built-in' ? say('BuiltInNodeDisplayName') : n.name);
      if (nodes.every((n) => n !== 'built-in' && !this.online(n))) {
        if (nodes.length === 1) return say('NodeOffline', display(nodes[0]!));
        return nodes.length === 0 ? say('LabelHasNoNodes', labelName(label)) : say('AllNodesOffline', labelName(label));
      }
      if (transient && this.idleExecutors(nodes) > 0) return composite(transient, locale);
      return say('WaitingForNextAvailableExecutorOn', nodes.length === 1 ? display(nodes[0]!) : labelName(label));
    }
    if (transient && this.idleExecutors(this.nodes) > 0) return composite(transient, locale);
    return say('WaitingForNextAvailableExecutor');
  }

  /** BuildableItem.isStuck: its label has no online node, or it has waited ten estimated durations (a day without one). */
  private stuck(build: SandboxBuild, now: number): boolean {
    const label = this.assignedLabel(build);
    if (label && this.labelNodes(label).every((n) => n !== 'built-in' && !this.online(n))) return true;
    const estimate = this.estimatedDuration();
    const waited = now - build.buildableAt!;
    // Without an estimate, "more than a day": TimeUnit.MILLISECONDS.toHours(elapsed) > 24, so whole hours past 24.
    return estimate >= 0 ? waited > Math.max(estimate, 60_000) * 10 : Math.floor(waited / 3_600_000) > 24;
  }

  /**
   * Job.getEstimatedDuration of the sandbox's job: the mean duration of the last successful run and
   * up to two more successful ones among the last six finished (an aborted run never counts), -1 with none.
   */
  estimatedDuration(): number {
    const runs = this.builds; // in the order they were queued, which is their numbers' order
    let lastSuccessful: SandboxBuild | undefined;
    for (let i = runs.length - 1; i >= 0 && !lastSuccessful; i--) if (runs[i]!.result === 'SUCCESS') lastSuccessful = runs[i];
    const candidates = lastSuccessful ? [lastSuccessful] : [];
    for (let i = runs.length - 1, seen = 0; i >= 0 && seen < 6 && candidates.length < 3; i--, seen++) {
      const run = runs[i]!;
      if (run.result === 'SUCCESS' && run !== lastSuccessful) candidates.push(run);
    }
    if (candidates.length === 0) return -1;
    const total = candidates.reduce((sum, b) => sum + (b.finishedAt! - b.queuedAt), 0);
    return total === 0 ? -1 : Math.round(total / candidates.length);
  }

  // ---- exports

  private taskJson(build: SandboxBuild): Record<string, unknown> {
    const name = BuildQueue.taskName(build);
    // PlaceholderTask.getUrl is the run's Run.getUrl: relative to the root.
    return { _class: placeholderTaskClass, fullDisplayName: name, name, url: `job/${buildJob}/${build.id}/` };
  }

  /** One Queue.Item as queue/api/json exports it (WaitingItem, BuildableItem). */
  private itemJson(build: SandboxBuild, now: number, locale: QueueLocale): Record<string, unknown> {
    const common = { actions: [], blocked: false, buildable: build.buildableAt !== undefined, id: build.queueId, inQueueSince: build.queuedAt, params: '' };
    if (build.buildableAt === undefined) {
      return { _class: 'hudson.model.Queue$WaitingItem', ...common, stuck: false, task: this.taskJson(build), url: `queue/item/${build.queueId}/`, why: this.why(build, now, locale), timestamp: build.queuedAt };
    }
    return { _class: 'hudson.model.Queue$BuildableItem', ...common, stuck: this.stuck(build, now), task: this.taskJson(build), url: `queue/item/${build.queueId}/`, why: this.why(build, now, locale), buildableStartMilliseconds: build.buildableAt, pending: isPending(build) };
  }

  /**
   * Queue.getItems: waiting items, then buildable ones newest first, then pending ones newest first
   * ("items most likely to be built sooner are at the end"), each only to a caller with Job/Read on
   * its task (the run's ACL). A placeholder task is no Item, so never in discoverableItems.
   */
  queueJson(mayRead: boolean, locale: QueueLocale = 'en', now = Date.now()): Record<string, unknown> {
    this.advance(now);
    const queued = this.builds.filter(isQueued);
    const waiting = queued.filter((b) => b.buildableAt === undefined).sort((a, b) => a.queuedAt - b.queuedAt || a.queueId - b.queueId);
    const order = (a: SandboxBuild, b: SandboxBuild) => b.buildableAt! - a.buildableAt! || b.queueId - a.queueId;
    const buildable = queued.filter((b) => b.buildableAt !== undefined && !isPending(b)).sort(order);
    const pending = queued.filter(isPending).sort(order);
    const items = mayRead ? [...waiting, ...buildable, ...pending].map((b) => this.itemJson(b, now, locale)) : [];
    return { _class: 'hudson.model.Queue', discoverableItems: [], items };
  }

  /**
   * Executor.getCurrentExecutableForApi: the PlaceholderExecutable only to a caller with Job/Read
   * (null while pending: the executable exists once the executor starts it). Progress and
   * likelyStuck from the job's estimated duration (Executor.getProgress, isLikelyStuck).
   */
  executorJson(slot: ExecutorSlot, mayRead: boolean, rootUrl: string, depth: number, now = Date.now()): Record<string, unknown> {
    const build = slot.build;
    const started = build?.startedAt;
    const estimate = this.estimatedDuration();
    const elapsed = started !== undefined ? now - started : 0;
    const executable = build && started !== undefined && mayRead
      ? { _class: placeholderExecutableClass, displayName: BuildQueue.taskName(build), estimatedDuration: estimate, fullDisplayName: BuildQueue.taskName(build), number: build.id, timestamp: build.queuedAt, url: `${rootUrl}job/${buildJob}/${build.id}/` }
      : null;
    if (depth <= 0) return { _class: 'hudson.model.Executor', currentExecutable: executable, idle: !build, number: slot.number };
    return {
      _class: 'hudson.model.Executor',
      currentExecutable: executable,
      idle: !build,
      // Executor.isLikelyStuck: ten estimates with no one-minute floor (unlike the queue's isStuck); without one, whole hours past 24.
      likelyStuck: started !== undefined && (estimate >= 0 ? estimate * 10 < elapsed : Math.floor(elapsed / 3_600_000) > 24),
      number: slot.number,
      progress: started !== undefined && estimate > 0 ? Math.min(99, Math.floor((elapsed * 100) / estimate)) : -1,
    };
  }

  /** The job as Jenkins.getItems lists it; its ball colour from the last run (animated while one runs). */
  jobJson(rootUrl: string): Record<string, unknown> {
    let last: SandboxBuild | undefined;
    for (let i = this.builds.length - 1; i >= 0 && !last; i--) if (this.builds[i]!.finishedAt !== undefined) last = this.builds[i];
    const base = !last ? 'notbuilt' : last.result === 'SUCCESS' ? 'blue' : 'aborted';
    return { _class: 'org.jenkinsci.plugins.workflow.job.WorkflowJob', name: buildJob, url: `${rootUrl}job/${buildJob}/`, color: this.builds.some(isRunning) ? `${base}_anime` : base };
  }
}
