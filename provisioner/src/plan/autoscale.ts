// One tick of `watch`, planned: the build queue's demand per pool (demand.ts), each scaled pool's
// agents read from the inventory into the scaler's words (scale.ts), its decisions, and the plan the
// executor carries out: `up`'s own planner run on the fleet with each scaled pool's size set to what
// the scaler wants, plus the scaler's drains, take-backs and removals. Pure: the observation, the
// queue and what the process remembers come in; actions and the memory to keep go out.
import { isStaticPool } from '../config/schema.ts';
import type { AgentNode, Fleet, IdleMark, Instance, Observed, Pool } from '../model.ts';
import { demandFromQueue, type Demand, type PoolServing, type QueueItem } from './demand.ts';
import { inventory, nodePools, type Agent, type Inventory } from './inventory.ts';
import { interruptionDrainReason, parseInterruptionReason, strongerNotice, type InterruptionNotice } from './interruptions.ts';
import { drainMessage, leavingAgents, planUp, type Action, type Plan, type RemoveAction } from './plan.ts';
import { decideScaling, type AgentPhase, type LaunchOutcome, type ObservedAgent, type PoolDecision, type ScalingMemory, type ScalingPolicy } from './scale.ts';

/** Launches one pool may start in one tick, whatever its demand: a burst grows the pool over a few ticks. */
export const defaultLaunchesPerTick = 20;
/** How long a pool that spent its retry budget waits before trying one launch again. */
export const defaultRetryAfter = 300_000;

/**
 * The words a drain of an ephemeral agent leaves in Jenkins (its offline cause). They are how a
 * restarted `watch` knows that agent ran its build: Jenkins exports no count of builds a node ran.
 */
export const ephemeralDrainReason = 'ephemeral agent, its one build has started';
/**
 * The words of a drain by a process that just began to lead, of an ephemeral agent it found idle: a
 * build may have started and ended on it while no watch led, so it is treated as having run one.
 */
export const ephemeralUnwatchedReason = 'ephemeral agent, may have run a build while no watch led';

/** The placeholder node of a pool that may scale to zero: Jenkins keeps naming its labels in `why`. */
export function placeholderName(pool: string): string {
  return `${pool}-placeholder`;
}

export function placeholderDescription(fleet: string, pool: string): string {
  return `Placeholder of jenkins-fleet (fleet ${fleet}, pool ${pool}): carries the pool's labels while it has no agent, so that Jenkins keeps naming them in the queue; it never runs a build.`;
}

/** The fleet and pool a placeholder node's description names. */
export function parsePlaceholderDescription(description: string | undefined): { fleet: string; pool: string } | undefined {
  const match = /^Placeholder of jenkins-fleet \(fleet ([a-z0-9-]+), pool ([A-Za-z0-9_-]+)\)/.exec(description ?? '');
  return match ? { fleet: match[1] as string, pool: match[2] as string } : undefined;
}

/** The pools that keep a placeholder: scaled ones whose min is 0, which may have no agent at all. */
function placeholderPools(fleet: Fleet): Set<string> {
  return new Set(fleet.pools.filter((p) => isScaled(p) && p.min === 0).map((p) => p.name));
}

/** The pools whose placeholder node is missing from `nodes`. */
export function missingPlaceholders(fleet: Fleet, nodes: readonly AgentNode[]): Pool[] {
  const wanted = placeholderPools(fleet);
  const present = new Set(nodes.flatMap((n) => (parsePlaceholderDescription(n.description)?.fleet === fleet.fleet ? [n.name] : [])));
  return fleet.pools.filter((p) => wanted.has(p.name) && !present.has(placeholderName(p.name)));
}

/** What this process knows beyond the observation: work it started that is still under way. */
export interface WatchState {
  memory: ScalingMemory;
  /** Agents (node names) whose launch, registration or bootstrap this process has under way. */
  bringingUp: ReadonlySet<string>;
  /** Pools with a launch call under way. */
  launching: ReadonlySet<string>;
  /** What became of each pool's launches since the last tick. */
  lastLaunch: ReadonlyMap<string, LaunchOutcome>;
  /**
   * Notices this process received, by instance id (the ones whose drain Jenkins shows are also read
   * from the node's offline cause, so a restarted process knows them too).
   */
  interruptions?: ReadonlyMap<string, InterruptionNotice>;
  /** This process has just begun to lead (startup or takeover): see PoolTick.takeover. */
  takeover?: boolean;
  /**
   * When this process's own drain calls were answered, by node name: the drain took effect no later
   * (ObservedAgent.drainedAt). A drain this process did not make is known from Jenkins' offline cause.
   */
  drainsAnswered?: ReadonlyMap<string, number>;
}

export interface WatchOptions {
  launchesPerTick?: number;
  retryAfter?: number;
}

export interface Drain {
  pool: string;
  node: string;
  message: string;
}

export interface WatchPlan {
  demand: Demand;
  decisions: PoolDecision[];
  memory: ScalingMemory;
  /** Launch, register and bootstrap: carried out in the background, the agents' bring-up. */
  bringUp: Plan;
  /** Resume, remove, delete-node, delete-secret: carried out within the tick. */
  takeDown: Plan;
  /** Nodes to take temporarily offline now (Jenkins offers them nothing more). */
  drains: Drain[];
  /** Placeholder nodes to create (pools that may scale to zero) and to delete (no longer wanted). */
  placeholders: { create: Pool[]; remove: string[] };
  /** Idleness to record on instances (Tags.idleSince) where it changed since the last record. */
  idleMarks: IdleMarkWrite[];
  /** Every node Jenkins has, with its pool when it is the fleet's: how the demand was attributed. */
  nodeOwners: ReadonlyMap<string, string | undefined>;
}

export interface IdleMarkWrite {
  region: string;
  instanceId: string;
  agent: string;
  mark: IdleMark;
}

/** A pool `watch` scales: one with `max` in the file. */
export function isScaled(pool: Pool): pool is Pool & { scaling: NonNullable<Pool['scaling']> } {
  return pool.scaling !== undefined && !isStaticPool(pool);
}

export function scalingPolicy(pool: Pool & { scaling: NonNullable<Pool['scaling']> }, options: WatchOptions = {}): ScalingPolicy {
  return {
    pool: pool.name,
    min: pool.min,
    max: pool.max,
    minIdle: pool.scaling.minIdle,
    idleAfter: pool.scaling.idleAfter,
    minUptime: pool.scaling.minUptime,
    ephemeral: pool.scaling.ephemeral,
    executorsPerAgent: pool.executors,
    launchesPerTick: options.launchesPerTick ?? defaultLaunchesPerTick,
    bootDeadline: pool.scaling.bootDeadline,
    retryBudget: pool.scaling.retryBudget,
    retryAfter: options.retryAfter ?? defaultRetryAfter,
  };
}

function drainedByUs(fleet: string, node: AgentNode): boolean {
  return node.temporarilyOffline && node.heldOfflineBy !== 'jenkins' && (node.offlineReason ?? '').includes(`by provisioner (fleet ${fleet})`);
}

/** One agent of a scaled pool in the scaler's words. */
export function observedAgent(fleet: Fleet, pool: Pool, agent: Agent, bringingUp: ReadonlySet<string>, now: number, interruptions?: ReadonlyMap<string, InterruptionNotice>, drainsAnswered?: ReadonlyMap<string, number>): ObservedAgent {
  const instance = agent.instance as Instance;
  const node = agent.node;
  const bootDeadline = pool.scaling?.bootDeadline ?? 0;
  let phase: AgentPhase;
  if (!node) phase = instance.state === 'pending' ? 'launching' : 'connecting';
  else if (node.temporarilyOffline) phase = drainedByUs(fleet.fleet, node) ? 'drained' : 'held';
  else if (node.online) phase = 'online';
  // Offline and not held: on its way up (this process bootstraps it, it never was, or it is young), else lost.
  else if (bringingUp.has(agent.name) || instance.bootstrappedAt === undefined || now - instance.launchedAt <= bootDeadline) phase = instance.state === 'pending' ? 'launching' : 'connecting';
  else phase = 'lost';
  const executors = node?.executors ?? pool.executors;
  const busy = node ? (node.busyExecutors ?? (node.idle ? 0 : executors)) : 0;
  // A drain of ours that says the agent's one build started (or may have run unseen) outlives this process: it ran.
  const drainSaysRun = node !== undefined && drainedByUs(fleet.fleet, node) && [ephemeralDrainReason, ephemeralUnwatchedReason].some((words) => (node.offlineReason ?? '').includes(words));
  // An ephemeral agent bootstrapped once whose node is gone had a node, and may have run its build
  // there: the node (and the drain's words with it) was deleted by a removal cut short before the
  // termination (a kill -9 between the two), or by a person. A new node would give it a second build.
  const nodeLost = node === undefined && pool.scaling?.ephemeral === true && instance.bootstrappedAt !== undefined;
  const hasRun = drainSaysRun || nodeLost;

  const observed: ObservedAgent = { name: agent.name, phase, launchedAt: instance.launchedAt, executors, busy, hasRun, ...(instance.idleMark !== undefined ? { idleMark: instance.idleMark } : {}) };
  const recorded = node && drainedByUs(fleet.fleet, node) ? parseInterruptionReason(node.offlineReason) : undefined;
  const received = interruptions?.get(instance.id);
  const interrupted = received ? strongerNotice(recorded, { kind: received.kind, at: received.at }) : recorded;
  if (interrupted) observed.interrupted = { kind: interrupted.kind, at: interrupted.at };
  // The drain wait is counted from the drain itself, not from the first tick that saw it (a tick
  // later at most): from this process's own drain when it made it (the answer came after the drain
  // took effect), else from the offline cause's timestamp, which a drain by an earlier process (one
  // killed since, or a leader before a takeover) leaves in Jenkins. Jenkins' clock is taken as this
  // one, as the repair's offlineAfter takes it (plan.ts).
  if (phase === 'drained' && node) {
    const drainedAt = drainsAnswered?.get(node.name) ?? node.offlineSince;
    if (drainedAt !== undefined) observed.drainedAt = drainedAt;
  }
  return observed;
}

/** The drain a notice asks for: the words that record it on the node. */
export function interruptionDrain(fleet: Fleet, pool: string, node: string, notice: InterruptionNotice): Drain {
  return { pool, node, message: drainMessage(fleet.fleet, interruptionDrainReason(notice)) };
}

/** Every node Jenkins has, with its pool when it is the fleet's (placeholders count for theirs). */
function nodeOwners(fleet: Fleet, observed: Observed, world: Inventory): Map<string, string | undefined> {
  const owners = new Map<string, string | undefined>(observed.nodes.map((n) => [n.name, undefined]));
  for (const [name, pool] of nodePools(world)) owners.set(name, pool);
  for (const node of observed.nodes) {
    const placeholder = parsePlaceholderDescription(node.description);
    if (placeholder?.fleet === fleet.fleet) owners.set(node.name, placeholder.pool);
  }
  return owners;
}

function servingPools(fleet: Fleet): PoolServing[] {
  return fleet.pools.map((p) => ({ name: p.name, labels: p.labels, scaled: isScaled(p) }));
}

/**
 * Whether the queue holds demand for a scaled pool that the last tick did not plan for: an item
 * waiting for an executor, attributed to a pool `watch` scales, whose id is not among `planned` (the
 * last tick's demand). Read between ticks, so that a build queued just after a tick launches its
 * agent within a second rather than at the next tick; `owners` is the last tick's attribution of
 * nodes (WatchPlan.nodeOwners: a node born since is not known yet, its items count for no pool until
 * the next tick), so a look costs the queue's call and no inventory of the fleet.
 */
export function unplannedDemand(fleet: Fleet, owners: ReadonlyMap<string, string | undefined>, planned: ReadonlySet<number>, queue: readonly QueueItem[]): boolean {
  const scaled = new Set(fleet.pools.filter(isScaled).map((p) => p.name));
  if (scaled.size === 0) return false;
  const demand = demandFromQueue(queue, servingPools(fleet), owners);
  return demand.items.some((item) => item.pool !== undefined && scaled.has(item.pool) && !planned.has(item.id));
}

/** Plans one tick: what the scaler decides for each scaled pool, and `up`'s planner for everything else. */
export function planWatch(fleet: Fleet, observed: Observed, queue: readonly QueueItem[], state: WatchState, options: WatchOptions = {}): WatchPlan {
  const world = inventory(fleet, observed);
  const now = observed.now;

  const owners = nodeOwners(fleet, observed, world);
  const demand = demandFromQueue(queue, servingPools(fleet), owners);

  const scaled = world.pools.filter(({ pool }) => isScaled(pool));
  const live = new Map(scaled.map(({ pool, members }) => [pool.name, members.filter((a) => a.life === 'live')]));
  const seen = new Map(scaled.map(({ pool }) => [pool.name, (live.get(pool.name) ?? []).map((a) => observedAgent(fleet, pool, a, state.bringingUp, now, state.interruptions, state.drainsAnswered))]));
  const { decisions, memory } = decideScaling(
    scaled.map(({ pool }) => {
      const lastLaunch = state.lastLaunch.get(pool.name);
      return {
        policy: scalingPolicy(pool as Pool & { scaling: NonNullable<Pool['scaling']> }, options),
        demand: demand.pools.get(pool.name)?.items ?? 0,
        agents: seen.get(pool.name) ?? [],
        ...(lastLaunch ? { lastLaunch } : {}),
        ...(state.takeover ? { takeover: true } : {}),
      };
    }),
    state.memory,
    now,
  );
  for (const decision of decisions) {
    if (decision.launch > 0 && state.launching.has(decision.pool)) {
      // The launch this process asked for is not answered yet: its instances are not counted, so wait.
      decision.reason = `${decision.reason}; the last launch is still under way, none more until it is answered`;
      decision.launch = 0;
      decision.numbers.launch = 0;
    }
  }

  // `up`'s planner on the fleet as the scaler wants it: each scaled pool exactly its live agents plus
  // the launches, so the planner launches those and registers, bootstraps and repairs as in `up`.
  // Agents leaving for an interruption warning count for no pool there (leavingAgents): the
  // scaler's replacements for them are among its launches, and a fixed pool's is the planner's own.
  const context = { ...(state.interruptions ? { notices: state.interruptions } : {}) };
  const leaving = leavingAgents(fleet, world.agents, context.notices);
  const staying = (pool: string) => (live.get(pool) ?? []).filter((a) => !leaving.has(a.name)).length;
  const byPool = new Map(decisions.map((d) => [d.pool, d]));
  const sized = (replaced: ReadonlyMap<string, number>): Fleet => ({
    ...fleet,
    pools: fleet.pools.map((pool) => {
      const decision = byPool.get(pool.name);
      if (!decision) return pool;
      const agents = staying(pool.name) + decision.launch;
      const size = replaced.has(pool.name) ? Math.min(pool.max, Math.max(pool.min, agents - (replaced.get(pool.name) ?? 0))) : agents;
      return { ...pool, count: size, min: size, max: size };
    }),
  });
  let planned = planUp(sized(new Map()), observed, context);
  // A rolling replacement (issue 19's rounds, one a tick): an up-to-date agent beside an out-of-date
  // one is that one's replacement, not a wish for a bigger pool. Counted as such, the pool's size
  // stays what the scaler wants (within min..max), so the rollout surges at most maxSurge beyond it;
  // counted as agents, every replacement would raise the size and let the next tick surge again.
  const rolling = new Map((planned.rollouts ?? []).filter((r) => r.outdated > 0 && byPool.has(r.pool)).map((r) => [r.pool, Math.min(r.outdated, Math.max(0, staying(r.pool) - r.outdated))]));
  if (rolling.size > 0) planned = planUp(sized(rolling), observed, context);

  const agents = new Map(world.agents.map((a) => [a.name, a]));
  const scaledNames = new Set(decisions.map((d) => d.pool));
  const drains: Drain[] = [];
  const bringUp: Action[] = [];
  const takeDown: Action[] = [];
  const removing = new Set<string>();
  for (const action of planned.actions) {
    switch (action.type) {
      case 'launch':
        if (!state.launching.has(action.pool)) bringUp.push(action);
        break;
      case 'register':
      case 'bootstrap':
        if (!state.bringingUp.has(action.node)) bringUp.push(action);
        break;
      case 'resume':
        // The scaler decides when a drained agent of a scaled pool comes back.
        if (!scaledNames.has(action.pool)) takeDown.push(action);
        break;
      case 'remove':
        // A busy agent is drained and left to finish: the tick removes it once a later one sees it idle.
        if (action.busy) {
          if (action.node && !(agents.get(action.node)?.node?.temporarilyOffline ?? false)) drains.push({ pool: action.pool, node: action.node, message: drainMessage(fleet.fleet, action.reason) });
        } else {
          takeDown.push(action);
          if (action.node) removing.add(action.node);
        }
        break;
      default:
        takeDown.push(action);
    }
  }

  for (const decision of decisions) {
    const pool = fleet.pools.find((p) => p.name === decision.pool) as Pool;
    for (const { agent, why } of decision.drain) {
      const reason = why === 'ephemeral' ? ephemeralDrainReason : why === 'unwatched' ? ephemeralUnwatchedReason : `idle for ${formatMs(pool.scaling?.idleAfter ?? 0)}, not needed`;
      drains.push({ pool: pool.name, node: agent, message: drainMessage(fleet.fleet, reason) });
    }
    for (const name of decision.resume) takeDown.push({ type: 'resume', pool: pool.name, node: name, reason: 'drained by watch, wanted again' });
    for (const { agent: name, why } of decision.remove) {
      if (removing.has(name)) continue;
      const agent = agents.get(name);
      const instance = agent?.instance;
      if (!agent || !instance) continue;
      const removal: RemoveAction = {
        type: 'remove',
        target: 'instance',
        pool: pool.name,
        region: instance.region,
        instanceId: instance.id,
        ...(agent.node ? { node: agent.node.name } : {}),
        reason: why === 'stuck' || why === 'interrupted' ? 'replace' : 'scale-down',
        busy: false,
        ...(why === 'stuck' ? { detail: `not online ${formatMs(pool.scaling?.bootDeadline ?? 0)} after its launch` } : why === 'ephemeral' ? { detail: !agent.node ? 'its node was deleted after its bootstrap: it may have run its build' : agent.node.offlineReason?.includes(ephemeralUnwatchedReason) ? 'it may have run a build while no watch led' : 'its one build ended' } : why === 'interrupted' ? { detail: 'EC2 is interrupting it and no build runs there' } : {}),
      };
      takeDown.push(removal);
      removing.add(name);
    }
  }

  // A notice whose drain did not land yet (or failed): drained now, recording it on the node. A
  // fixed pool's agent is drained for a warning only (it stays in service for a recommendation).
  for (const agent of world.agents) {
    const notice = agent.instance ? state.interruptions?.get(agent.instance.id) : undefined;
    if (!notice || !agent.node || agent.node.temporarilyOffline || removing.has(agent.name)) continue;
    if (!scaledNames.has(agent.pool) && (notice.kind !== 'warning' || !fleet.pools.some((p) => p.name === agent.pool))) continue;
    if (!drains.some((d) => d.node === agent.node!.name)) drains.push(interruptionDrain(fleet, agent.pool, agent.node.name, notice));
  }

  const create = missingPlaceholders(fleet, observed.nodes);
  const wanted0 = placeholderPools(fleet);
  const remove = observed.nodes.flatMap((node) => {
    const placeholder = parsePlaceholderDescription(node.description);
    if (!placeholder || placeholder.fleet !== fleet.fleet) return [];
    return wanted0.has(placeholder.pool) && node.name === placeholderName(placeholder.pool) ? [] : [node.name];
  });

  // Idleness outlives this process on the instance (Tags.idleSince), written only when it changes kind
  // (idle to busy, busy or unrecorded to idle): one tag write per agent per build at most, none while
  // nothing changes. Why the instance and not the lock's item or the node: the observation already
  // reads every instance's tags (no extra read), it works for a fleet without `lock:`, it goes with
  // the instance when that is terminated, and a tag is a write IAM limits to this one key
  // (terraform/modules/provisioner-iam); a static host is never removed for idleness, so needs none.
  const idleMarks: IdleMarkWrite[] = [];
  for (const agent of [...seen.values()].flat()) {
    const instance = agents.get(agent.name)?.instance;
    if (!instance || instance.host || removing.has(agent.name) || (agent.phase !== 'online' && agent.phase !== 'drained')) continue;
    const idle = memory.agents[agent.name]?.idle;
    const mark: IdleMark | undefined = agent.busy > 0 ? (instance.idleMark === 'busy' ? undefined : 'busy') : idle && typeof instance.idleMark !== 'number' ? idle.firstSeen : undefined;
    if (mark !== undefined) idleMarks.push({ region: instance.region, instanceId: instance.id, agent: agent.name, mark });
  }

  // Nothing is brought up that this tick takes away (a stuck agent's late registration, say).
  const kept = bringUp.filter((a) => !(a.type === 'register' || a.type === 'bootstrap') || !removing.has(a.node));
  return {
    demand,
    decisions,
    memory,
    bringUp: { fleet: fleet.fleet, actions: kept },
    takeDown: { fleet: fleet.fleet, actions: takeDown },
    drains,
    placeholders: { create, remove },
    idleMarks,
    nodeOwners: owners,
  };
}

function formatMs(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
