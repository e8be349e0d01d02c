// `watch`'s executor: on each tick it observes the fleet and the build queue, plans with
// plan/autoscale.ts and carries the plan out. Drains, take-backs and removals happen within the
// tick; the launch calls too (so the next tick counts their instances), while the launched agents'
// registration, bootstrap and wait for online go on in the background, tracked so that no later tick
// starts them twice. What it remembers between ticks (the scaler's memory, the work under way, the
// instances it launched) only makes it faster: a restarted process finds everything it needs in the
// observation, and every rule that ends an agent waits for fresh observations.
import { agentName, parseNodeDescription, type AgentNode, type Fleet, type IdleMark, type Instance, type Observed, type Pool } from '../model.ts';
import { drainMessage } from '../plan/plan.ts';
import { emptyMemory, queueMaintenanceCycle, type LaunchOutcome, type PoolDecision, type ScalingMemory } from '../plan/scale.ts';
import { parseInterruptionReason, strongerNotice, type InterruptionNotice } from '../plan/interruptions.ts';
import { ephemeralDrainReason, interruptionDrain, isScaled, missingPlaceholders, placeholderDescription, placeholderName, planWatch, unplannedDemand, type WatchOptions, type WatchPlan } from '../plan/autoscale.ts';
import type { Demand } from '../plan/demand.ts';
import type { Compute, FleetLaunchRequest, FleetLaunchResult, InterruptionQueue, LaunchRequest, QueueMessage } from '../ports.ts';
import { applyPlan, type Systems } from './apply.ts';
import { CapacityMemory } from './capacity-memory.ts';
import type { Failure, ProgressEvent, Reporter } from './events.ts';
import { NodeSettingsCache, observe } from './observe.ts';
import { NodeWatch } from './watch.ts';
import { LeadershipLost } from '../lock/leadership.ts';
import { RunLockLost } from '../lock/run-lock.ts';

/** EC2's and SSM's throttling codes: wait and try again, the pool is not failing. */
const throttlingCodes = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'TooManyRequestsException']);
/** How long an instance this process launched counts even if EC2's listing does not show it yet (eventual consistency). */
const launchedMemoryMs = 120_000;
/** The bring-up of agents of pools watch does not scale: as long as `up` waits by default. */
const defaultBringUpMs = 15 * 60_000;
/** Receives in a row within one tick while each returns a full batch (10): a burst of notices is read in one tick. */
const maxReceivesPerTick = 10;
/**
 * How long after a drain's answer a look finds the drain settled (the scaler removes an agent
 * drained for longer than a queue-maintenance cycle): the cycle and a margin for the look's own calls.
 */
export const drainSettledAfter = queueMaintenanceCycle + 500;
/** How long after an idle agent becomes a scale-in candidate the tick that drains it comes. */
const candidateMargin = 100;

export interface TickResult {
  /** When the tick's observation was made. */
  at: number;
  demand: Demand;
  decisions: PoolDecision[];
  /** Failures of the work carried out within the tick (the background bring-up reports its own as events). */
  failures: Failure[];
  plan: WatchPlan;
  /** What each pool's launches since the last tick came to (its error code when some failed). */
  launches: Map<string, LaunchOutcome>;
  /**
   * Nodes this process deleted whose computer Jenkins still lists with a build on it: a build
   * ended by a removal. Each is named once; `watch` removes only idle agents, so this stays empty.
   */
  buildsEndedByRemoval: string[];
}

export interface AutoscalerOptions extends WatchOptions {
  reporter: Reporter;
  now?: () => number;
  /** How often a removal's last check and the bring-up's wait ask Jenkins for the nodes. */
  pollMs?: number;
}

/** What one pool's launch calls came to since its outcome was last read. */
interface LaunchTally {
  requested: number;
  launched: number;
  error?: string;
  throttled: boolean;
}

export class Autoscaler {
  private memory: ScalingMemory = emptyMemory();
  /** The last tick's attribution of nodes to pools and the queue items its plan counted, for the look between ticks. */
  private planned: { owners: ReadonlyMap<string, string | undefined>; items: ReadonlySet<number> } | undefined;
  private readonly bringingUp = new Set<string>();
  private readonly launching = new Set<string>();
  private readonly tallies = new Map<string, LaunchTally>();
  /** Instances this process launched, by id, until the listing shows them. */
  private readonly launched = new Map<string, Instance>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly watches = new Set<NodeWatch>();
  /** Nodes this process removed, and those of them already seen still running a build. */
  private readonly removed = new Set<string>();
  private readonly endedCounted = new Set<string>();
  /** Interruption notices received for this fleet's instances, by instance id, until the instance is gone. */
  private readonly notices = new Map<string, InterruptionNotice>();
  /** Messages received between ticks, acted on by the next tick. */
  private readonly received: QueueMessage[] = [];
  /** The queue each message came from (a queue per region), which alone can delete it. */
  private readonly origin = new WeakMap<QueueMessage, InterruptionQueue>();
  /** The builds already reported for each interrupted agent (each is named once). */
  private readonly reportedBuilds = new Map<string, Set<string>>();
  /** When this process's drain calls were answered, by node, while the node stays drained (WatchState.drainsAnswered). */
  private readonly drainsAnswered = new Map<string, number>();
  /** When a drain of this process settles: a tick is then due (removalDue). */
  private readonly settles = new Set<number>();
  /** When the next idle agent becomes a scale-in candidate, as the last tick saw it: a tick is then due. */
  private candidateDue: number | undefined;
  private stopped = false;
  /**
   * Until a tick has planned: this process has just begun to lead (an Autoscaler lives for one term),
   * and builds may have run that no watch saw (PoolTick.takeover says what is done about it).
   */
  private takingOver = true;
  /** The nodes' settings (config.xml) read by earlier ticks: see NodeSettingsCache for when they are read again. */
  private readonly settings = new NodeSettingsCache();
  /** Where capacity just failed, kept tick after tick (a new process starts knowing nothing). */
  private readonly capacity: CapacityMemory;
  private readonly systems: Systems;
  private readonly now: () => number;

  constructor(
    private readonly fleet: Fleet,
    systems: Systems,
    private readonly options: AutoscalerOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.capacity = new CapacityMemory(this.now);
    const computes = new Map<string, Compute>();
    const compute = (region: string): Compute => {
      let tracked = computes.get(region);
      if (!tracked) computes.set(region, (tracked = this.tracked(systems.compute(region))));
      return tracked;
    };
    this.systems = { ...systems, compute };
  }

  /** One reconciliation: observe, plan, carry out (the bring-up goes on after it returns). */
  async tick(): Promise<TickResult> {
    // This tick looks at every drain settled by now (a tick that fails does not make the next one come sooner).
    const start = this.now();
    for (const at of this.settles) if (at <= start) this.settles.delete(at);
    if (this.candidateDue !== undefined && this.candidateDue <= start) this.candidateDue = undefined;
    // Nodes before the queue: a build that starts in between is then missed for one tick, never counted twice.
    // The interruption queue is read meanwhile: its notices are acted on below, before the plan.
    const [observedNow, messages] = await Promise.all([observe(this.fleet, this.systems, this.now, { settingsCache: this.settings }), this.receiveAll()]);
    let observed = this.withLaunched(observedNow);
    // A drain remembered only while the node is seen drained: taken back online, or gone, it is over.
    const offline = new Set(observedNow.nodes.filter((n) => n.temporarilyOffline).map((n) => n.name));
    for (const name of this.drainsAnswered.keys()) if (!offline.has(name)) this.drainsAnswered.delete(name);
    const noticed = await this.takeNotices(observed, messages, this.options.reporter);
    // With no node carrying a label (no agent node at all, even), Jenkins stops naming it in the
    // queue: the placeholders go in first, and the queue is read once they are there.
    const missing = missingPlaceholders(this.fleet, observed.nodes);
    if (missing.length > 0) {
      await this.createPlaceholders(missing, this.options.reporter);
      observed = { ...observed, nodes: await this.systems.controller.listNodes() };
    }
    const queue = await this.systems.controller.readQueue();
    this.reportInterruptedBuilds(observed);
    // Builds on an agent EC2 interrupted were named when it was; its removal does not end them, EC2 does.
    const buildsEndedByRemoval = observed.nodes.filter((n) => n.deleted === true && !n.idle && this.removed.has(n.name) && !this.endedCounted.has(n.name) && !this.reportedBuilds.has(n.name)).map((n) => n.name);
    for (const name of buildsEndedByRemoval) this.endedCounted.add(name);
    const launches = this.outcomes();
    const plan = planWatch(
      this.fleet,
      observed,
      queue,
      { memory: this.memory, bringingUp: this.bringingUp, launching: this.launching, lastLaunch: launches, interruptions: this.notices, takeover: this.takingOver, drainsAnswered: this.drainsAnswered },
      this.options,
    );
    this.memory = plan.memory;
    // The memory now holds every agent the takeover retired (ranBuild): a failed drain is tried again next tick.
    this.takingOver = false;
    this.planned = { owners: plan.nodeOwners, items: new Set(plan.demand.items.map((item) => item.id)) };
    const failures: Failure[] = [];
    const reporter: Reporter = {
      event: (e) => {
        if (e.kind === 'failed') failures.push(e);
        if (e.kind === 'removed' && e.agent) this.removed.add(e.agent);
        this.options.reporter.event(e);
      },
    };
    await this.placeholders(plan, reporter);
    await Promise.all(plan.drains.map((d) => this.drain(d.pool, d.node, d.message, reporter)));
    if (plan.takeDown.actions.length > 0) {
      // One look at the nodes right now: a removal goes ahead only if its node is still idle.
      const watch = new NodeWatch(this.systems.controller, this.options.pollMs ?? 1_000);
      await applyPlan(this.fleet, plan.takeDown, this.systems, { deadline: this.now(), reporter, watch, now: this.now });
      for (const action of plan.takeDown.actions) if (action.type === 'reconfigure') this.settings.forget(action.node);
    }
    // An idle agent that becomes a scale-in candidate before the next tick: a tick then (a margin
    // past the moment, as the observation's time is taken once its calls are answered).
    // Each tick says anew: what a later tick would drain depends on what it sees.
    const candidates = plan.decisions.flatMap((d) => (d.candidateAt !== undefined ? [d.candidateAt + candidateMargin] : []));
    this.candidateDue = candidates.length > 0 ? Math.min(...candidates) : undefined;
    await this.recordIdleness(plan);
    for (const decision of plan.decisions) {
      if (decision.launch > 0) this.tallies.set(decision.pool, { requested: decision.launch, launched: 0, throttled: false });
    }
    await this.bringUp(plan);
    // Acted on (drained, with the notice in the drain's words, and the replacement's launch asked
    // for): the messages can go. A drain that failed keeps its message, which SQS shows again.
    await this.deleteMessages(noticed, reporter);
    return { at: observed.now, demand: plan.demand, decisions: plan.decisions, failures, plan, launches, buildsEndedByRemoval };
  }

  /**
   * The earliest moment a tick would find a drain this process made settled (drained longer than a
   * queue-maintenance cycle), or an idle agent become a scale-in candidate (PoolDecision.candidateAt),
   * that no tick has looked at since: `watch` ticks then rather than at its next tick, which at a 5-s
   * tick comes just before that moment and would leave the step to the tick after. Undefined when
   * nothing waits.
   */
  removalDue(): number | undefined {
    const due = [...this.settles, ...(this.candidateDue !== undefined ? [this.candidateDue] : [])];
    return due.length > 0 ? Math.min(...due) : undefined;
  }

  /** Waits for the bring-up under way (for `--once`, and before the process ends). */
  async settle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /**
   * Stops waiting for agents to come online (the process is asked to stop): what was under way is
   * finished by the next watch or `up`, as after a crash. Nothing more is reported.
   */
  stop(): void {
    this.stopped = true;
    for (const watch of this.watches) watch.cancel();
  }

  /**
   * Between ticks, one look (a call each, only where there is something to look at): at the nodes,
   * draining every ephemeral agent seen busy and not drained yet; at the interruption queue, for a
   * notice; at the build queue, for a build of a scaled pool the last tick did not plan for. Resolves
   * to the drained agents and to why the caller should tick now rather than at the next tick (a
   * notice: its agent is drained and replaced; a build: its agent launches within about a second).
   * A failed call is reported through `failed` and the look goes on, except a lost lease, which ends it.
   */
  async look(failed: (err: unknown) => void): Promise<{ drained: string[]; tickNow?: 'notice' | 'build' }> {
    const attempt = async <T>(call: () => Promise<T>, otherwise: T): Promise<{ value: T; lost?: true }> => {
      try {
        return { value: await call() };
      } catch (err) {
        if (err instanceof LeadershipLost || err instanceof RunLockLost) return { value: otherwise, lost: true };
        failed(err);
        return { value: otherwise };
      }
    };
    const drained = await attempt(() => this.drainEphemeral(), []);
    if (drained.lost) return { drained: [] };
    const notice = await attempt(() => this.noticesWaiting(), false);
    if (notice.lost) return { drained: drained.value };
    if (notice.value) return { drained: drained.value, tickNow: 'notice' };
    const build = await attempt(() => this.demandWaiting(), false);
    return build.value ? { drained: drained.value, tickNow: 'build' } : { drained: drained.value };
  }

  /**
   * An ephemeral agent seen busy and not drained yet is drained now. A build that starts and ends
   * between two looks is never seen (Jenkins exports no count of builds a node ran), so the shorter
   * the time between looks, the fewer agents get a second one.
   */
  private async drainEphemeral(): Promise<string[]> {
    const pools = new Set(this.fleet.pools.filter((p) => p.scaling?.ephemeral).map((p) => p.name));
    if (pools.size === 0 || this.stopped) return [];
    const nodes = await this.systems.controller.listNodes();
    const busy = nodes.filter((n) => {
      const ours = parseNodeDescription(n.description);
      return ours?.fleet === this.fleet.fleet && pools.has(ours.pool) && !n.temporarilyOffline && !n.idle && !n.deleted;
    });
    await Promise.all(busy.map((n) => this.drain(parseNodeDescription(n.description)!.pool, n.name, drainMessage(this.fleet.fleet, ephemeralDrainReason), this.options.reporter, false)));
    return busy.map((n) => n.name);
  }

  /** Whether a build waits for a scaled pool that the last tick did not plan for (unplannedDemand). */
  private async demandWaiting(): Promise<boolean> {
    const planned = this.planned;
    if (!planned || this.stopped || !this.fleet.pools.some(isScaled)) return false;
    return unplannedDemand(this.fleet, planned.owners, planned.items, await this.systems.controller.readQueue());
  }

  /** Whether an interruption notice waits: what it received is acted on by the next tick. */
  private async noticesWaiting(): Promise<boolean> {
    const queues = this.systems.interruptions ?? [];
    if (queues.length === 0 || this.stopped) return false;
    // Every region's queue at once: one call's time, however many regions.
    const settled = await Promise.allSettled(queues.map(async (queue) => this.from(queue, await queue.receive(false))));
    const messages = settled.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    this.received.push(...messages);
    // What the other queues gave is kept for the next tick; the failure is the look's to report.
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return messages.some((m) => m.notice !== undefined);
  }

  /** The queues' messages: those received between ticks, and what waits now in each (a burst in a few calls). */
  private async receiveAll(): Promise<QueueMessage[]> {
    const messages = this.received.splice(0);
    const perQueue = await Promise.all(
      (this.systems.interruptions ?? []).map(async (queue) => {
        const received: QueueMessage[] = [];
        for (let i = 0; i < maxReceivesPerTick; i++) {
          const batch = this.from(queue, await queue.receive(i === 0));
          received.push(...batch);
          if (batch.length < 10) break;
        }
        return received;
      }),
    );
    return [...messages, ...perQueue.flat()];
  }

  private from(queue: InterruptionQueue, messages: QueueMessage[]): QueueMessage[] {
    for (const m of messages) this.origin.set(m, queue);
    return messages;
  }

  /**
   * The notices for this fleet's agents: remembered, the agent drained at once (its drain message
   * records the notice for any later process) and the builds running there reported. Messages of
   * no instance of this fleet are deleted at once: the queue is this fleet's own (terraform/jenkins
   * makes one per fleet), and EventBridge cannot filter by tag, so the rules send every Spot
   * instance of the account and region. Resolves to the messages to delete once the tick acted.
   */
  private async takeNotices(observed: Observed, messages: QueueMessage[], reporter: Reporter): Promise<Array<{ message: QueueMessage; drained: Promise<boolean> }>> {
    const instances = new Map(observed.instances.map((i) => [i.id, i]));
    const nodes = new Map(observed.nodes.map((n) => [n.name, n]));
    const acted: Array<{ message: QueueMessage; drained: Promise<boolean> }> = [];
    for (const message of messages) {
      const instance = message.notice ? instances.get(message.notice.instanceId) : undefined;
      if (!message.notice || !instance || instance.host) {
        acted.push({ message, drained: Promise.resolve(true) });
        continue;
      }
      const notice = message.notice;
      const before = this.notices.get(instance.id);
      const stronger = strongerNotice(before, notice);
      this.notices.set(instance.id, stronger);
      const name = agentName(instance.pool, instance.id);
      const node = nodes.get(name);
      if (before?.kind === stronger.kind) {
        acted.push({ message, drained: Promise.resolve(true) }); // seen already (SQS delivers at least once)
        continue;
      }
      this.report(name, instance.pool, instance.id, stronger, node, reporter, true);
      // A node already held offline keeps its cause (the adapter leaves it): the notice is then in this process only.
      // A fixed pool's agent stays in service for a rebalance recommendation: nothing would replace it.
      const pool = this.fleet.pools.find((p) => p.name === instance.pool);
      const keep = stronger.kind === 'rebalance' && (!pool || !isScaled(pool));
      const drained = !node || node.temporarilyOffline || keep
        ? Promise.resolve(true)
        : this.drain(instance.pool, name, interruptionDrain(this.fleet, instance.pool, name, stronger).message, reporter);
      acted.push({ message, drained });
    }
    await Promise.all(acted.map((a) => a.drained));
    // An instance no longer listed is gone: its notice with it.
    for (const id of this.notices.keys()) if (!instances.has(id)) this.notices.delete(id);
    return acted;
  }

  private async deleteMessages(acted: Array<{ message: QueueMessage; drained: Promise<boolean> }>, reporter: Reporter): Promise<void> {
    await Promise.all(
      acted.map(async ({ message, drained }) => {
        const queue = this.origin.get(message);
        if (!queue || !(await drained)) return;
        try {
          await queue.delete(message);
        } catch (err) {
          reporter.event({ kind: 'note', message: `interruption queue: ${(err as Error).message} (the notice comes again, and is recognised)` });
        }
      }),
    );
  }

  /**
   * Builds on interrupted agents not named yet: those running at the notice were named with it;
   * one Jenkins handed the agent just before its drain shows up later and is named then.
   */
  private reportInterruptedBuilds(observed: Observed): void {
    const nodes = new Map(observed.nodes.map((n) => [n.name, n]));
    for (const name of this.reportedBuilds.keys()) if (!nodes.has(name)) this.reportedBuilds.delete(name);
    for (const instance of observed.instances) {
      const node = nodes.get(agentName(instance.pool, instance.id));
      if (!node) continue;
      const recorded = node.temporarilyOffline ? parseInterruptionReason(node.offlineReason) : undefined;
      const notice = this.notices.get(instance.id) ?? (recorded ? { ...recorded, instanceId: instance.id } : undefined);
      if (notice && node.temporarilyOffline) this.report(node.name, instance.pool, instance.id, notice, node, this.options.reporter, false);
    }
  }

  /** One event naming the builds on an interrupted agent not named before (always at the notice itself). */
  private report(name: string, pool: string, instanceId: string, notice: Pick<InterruptionNotice, 'kind' | 'at'>, node: AgentNode | undefined, reporter: Reporter, atNotice: boolean): void {
    const reported = this.reportedBuilds.get(name) ?? new Set<string>();
    this.reportedBuilds.set(name, reported);
    const builds = (node?.running ?? [])
      .map((b) => ({ name: b.build ?? `a build on executor #${b.executor} (the account may not read its job)`, ...(b.url ? { url: b.url } : {}) }))
      .filter((b) => !reported.has(b.url ?? b.name));
    if (builds.length === 0 && !atNotice) return;
    for (const b of builds) reported.add(b.url ?? b.name);
    reporter.event({ kind: 'interrupted', pool, agent: name, instanceId, notice: notice.kind, noticeAt: new Date(notice.at).toISOString(), builds });
  }

  /** Starts the tick's launches, registrations and bootstraps; returns once the launch calls are answered. */
  private async bringUp(plan: WatchPlan): Promise<void> {
    const actions = plan.bringUp.actions;
    if (actions.length === 0) return;
    const mine = new Set<string>();
    const claim = (name: string) => {
      if (this.bringingUp.has(name)) return;
      this.bringingUp.add(name);
      mine.add(name);
    };
    for (const action of actions) if (action.type === 'register' || action.type === 'bootstrap') claim(action.node);
    const launchPools = new Set(actions.flatMap((a) => (a.type === 'launch' ? [a.pool] : [])));
    for (const pool of launchPools) this.launching.add(pool);
    let answered: () => void = () => undefined;
    const allAnswered = new Promise<void>((resolve) => {
      answered = resolve;
      if (launchPools.size === 0) resolve();
    });
    const pending = new Set(launchPools);
    const reporter: Reporter = {
      event: (e: ProgressEvent) => {
        if (e.kind === 'launched') for (const id of e.instanceIds) claim(agentName(e.pool, id));
        if (!this.stopped) this.options.reporter.event(e);
      },
    };
    const deadline = this.now() + Math.max(0, ...this.fleet.pools.map((p) => p.scaling?.bootDeadline ?? defaultBringUpMs));
    const watch = new ConnectedWatch(this.systems.controller, this.options.pollMs ?? 1_000);
    this.watches.add(watch);
    const run = applyPlan(this.fleet, plan.bringUp, this.systems, {
      deadline,
      reporter,
      watch,
      now: this.now,
      capacityMemory: this.capacity,
      launchesAnswered: (pool) => {
        this.launching.delete(pool);
        pending.delete(pool);
        if (pending.size === 0) answered();
      },
    })
      .catch((err: unknown) => reporter.event({ kind: 'note', message: `bring-up stopped: ${(err as Error).message}` }))
      .finally(() => {
        for (const name of mine) this.bringingUp.delete(name);
        for (const pool of launchPools) this.launching.delete(pool);
        answered();
        this.background.delete(run);
        this.watches.delete(watch);
      });
    this.background.add(run);
    await allAnswered;
  }

  /** Placeholder nodes, held offline so that nothing ever runs there. */
  private async createPlaceholders(pools: readonly Pool[], reporter: Reporter): Promise<void> {
    const controller = this.systems.controller;
    await Promise.all(
      pools.map(async (pool) => {
        const name = placeholderName(pool.name);
        try {
          await controller.createNode({ name, description: placeholderDescription(this.fleet.fleet, pool.name), remoteFS: pool.remoteFS, executors: 1, labels: pool.labels, mode: pool.mode });
          await controller.drain(name, `Placeholder of pool ${pool.name} (fleet ${this.fleet.fleet}): never runs a build`);
          reporter.event({ kind: 'note', pool: pool.name, agent: name, message: "placeholder created: Jenkins keeps naming the pool's labels while it has no agent" });
        } catch (err) {
          reporter.event({ kind: 'failed', pool: pool.name, agent: name, step: 'register', error: (err as Error).message });
        }
      }),
    );
  }

  /** The placeholder nodes no longer wanted (and any still missing): deleted, or created. */
  private async placeholders(plan: WatchPlan, reporter: Reporter): Promise<void> {
    const controller = this.systems.controller;
    await Promise.all([
      this.createPlaceholders(plan.placeholders.create, reporter),
      ...plan.placeholders.remove.map(async (name) => {
        try {
          await controller.deleteNode(name);
          reporter.event({ kind: 'deleted', what: 'node', name });
        } catch (err) {
          reporter.event({ kind: 'failed', pool: '', agent: name, step: 'delete-node', error: (err as Error).message });
        }
      }),
    ]);
  }

  /**
   * Records on the instances what this tick saw of their idleness (plan/autoscale.ts says why there):
   * one CreateTags per region and value. A failed write only leaves a later process less to go on.
   */
  private async recordIdleness(plan: WatchPlan): Promise<void> {
    const groups = new Map<string, { region: string; mark: IdleMark; ids: string[] }>();
    for (const write of plan.idleMarks) {
      const key = `${write.region} ${write.mark}`;
      const group = groups.get(key) ?? { region: write.region, mark: write.mark, ids: [] };
      group.ids.push(write.instanceId);
      groups.set(key, group);
    }
    await Promise.all(
      [...groups.values()].map((g) =>
        this.systems
          .compute(g.region)
          .markIdle(g.ids, g.mark)
          .catch((err: unknown) => this.options.reporter.event({ kind: 'note', message: `could not record idleness on ${g.ids.length} instance(s): ${(err as Error).message}` })),
      ),
    );
  }

  /**
   * Resolves to whether the node is drained now (a failure is reported, never thrown). `lookWhenSettled`:
   * the agent may be idle, so a look once the drain settles may remove it (removalDue); an ephemeral
   * agent drained because it took its build waits for that build instead.
   */
  private async drain(pool: string, node: string, message: string, reporter: Reporter, lookWhenSettled = true): Promise<boolean> {
    try {
      // Once only: the adapter leaves a node already held offline as it is, so its drain time stands.
      await this.systems.controller.drain(node, message);
      // The drain took effect by now; the latest answer counts (a node taken back online by someone
      // and drained again since an earlier one). A node already held offline was left as it was,
      // with an earlier drain time: counting from now only waits longer.
      const answered = this.now();
      this.drainsAnswered.set(node, answered);
      if (lookWhenSettled) this.settles.add(answered + drainSettledAfter);
      reporter.event({ kind: 'draining', pool, agent: node });
      return true;
    } catch (err) {
      reporter.event({ kind: 'failed', pool, agent: node, step: 'drain', error: (err as Error).message });
      return false;
    }
  }

  /** Each pool's launch outcome since the last tick, once its calls are answered. */
  private outcomes(): Map<string, LaunchOutcome> {
    const outcomes = new Map<string, LaunchOutcome>();
    for (const [pool, tally] of this.tallies) {
      if (this.launching.has(pool)) continue;
      outcomes.set(pool, { requested: tally.requested, launched: tally.launched, throttled: tally.throttled, ...(tally.error ? { error: tally.error } : {}) });
      this.tallies.delete(pool);
    }
    return outcomes;
  }

  /** The observation with the instances this process launched that EC2's listing does not show yet. */
  private withLaunched(observed: Observed): Observed {
    const listed = new Set(observed.instances.map((i) => i.id));
    const extra: Instance[] = [];
    for (const [id, instance] of this.launched) {
      if (listed.has(id) || observed.now - instance.launchedAt > launchedMemoryMs) this.launched.delete(id);
      else extra.push(instance);
    }
    return extra.length > 0 ? { ...observed, instances: [...observed.instances, ...extra] } : observed;
  }

  /** A region's EC2 with every launch counted for its pool's outcome. */
  private tracked(compute: Compute): Compute {
    const launch = async (request: LaunchRequest): Promise<Instance[]> => {
      const tally = this.tallies.get(request.pool) ?? { requested: request.count, launched: 0, throttled: false };
      this.tallies.set(request.pool, tally);
      try {
        const instances = await compute.launch(request);
        tally.launched += instances.length;
        for (const instance of instances) this.launched.set(instance.id, instance);
        return instances;
      } catch (err) {
        const code = errorCode(err);
        tally.error = code ?? 'unknown';
        tally.throttled = code !== undefined && throttlingCodes.has(code);
        throw err;
      }
    };
    // A Spot pool's CreateFleet counts as its launch: what it gave, and On-Demand's RunInstances for the rest.
    const launchFleet = async (request: FleetLaunchRequest): Promise<FleetLaunchResult> => {
      const tally = this.tallies.get(request.pool) ?? { requested: request.count, launched: 0, throttled: false };
      this.tallies.set(request.pool, tally);
      try {
        const result = await compute.launchFleet(request);
        tally.launched += result.instances.length;
        for (const instance of result.instances) this.launched.set(instance.id, instance);
        return result;
      } catch (err) {
        const code = errorCode(err);
        tally.error = code ?? 'unknown';
        tally.throttled = code !== undefined && throttlingCodes.has(code);
        throw err;
      }
    };
    // Every other call goes to the adapter itself, so that what it learns (the account, for ARNs) stays there.
    return new Proxy(compute, {
      get(target, property, receiver) {
        if (property === 'launch') return launch;
        if (property === 'launchFleet') return launchFleet;
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

/** The AWS error code in a failure: the SDK's exception name, or the code the adapter's message quotes. */
export function errorCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { name?: unknown } }).cause;
  if (cause && typeof cause.name === 'string' && cause.name !== 'Error') return cause.name;
  const match = /answered \d{3} ([A-Za-z][A-Za-z0-9.]*)/.exec((err as Error).message ?? '');
  if (match) return match[1];
  const name = (err as Error).name;
  return name && name !== 'Error' && name !== 'RemoteError' ? name : undefined;
}

/**
 * The bring-up's wait: an agent is up once connected, even if a tick drained it meanwhile (an
 * ephemeral agent that took a build at once, say): it is not online for new builds, but it came up.
 */
class ConnectedWatch extends NodeWatch {
  override online(name: string, deadline: number): Promise<boolean> {
    return this.until(name, (node) => node?.online === true || (node?.temporarilyOffline === true && node.connected === true), deadline);
  }
}
