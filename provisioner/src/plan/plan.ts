// The planner: (desired fleet, observed world) -> the ordered actions that make the world match.
// Pure: no I/O, no clock (the observation carries `now`). Every rule of reconciling lives here,
// so the executor only carries actions out and the tests here need no mocks. It reads the world
// through the inventory (inventory.ts); `planUp` is one function per phase, each phase seeing
// which machines the phases before it already took away.
import { createHash } from 'node:crypto';
import { isStaticPool } from '../config/schema.ts';
import { isStaticHostId, type AgentNode, type Fleet, type Instance, type NodeSettings, type Observed, type Pool, type PoolResolution } from '../model.ts';
import { instanceChanges, nodeChanges, wantedNodeSettings, type FieldChange } from './drift.ts';
import { hasMachine, inventory, type Agent, type Inventory, type PoolInventory } from './inventory.ts';
import { parseInterruptionReason, type NoticeKind } from './interruptions.ts';

export type { FieldChange } from './drift.ts';

/** `outdated`: launched with settings its pool no longer has, replaced by a new agent (rolling). */
export type RemoveReason = 'scale-down' | 'pool-removed' | 'stray' | 'stopped' | 'down' | 'replace' | 'outdated';

export type Action =
  /** Start `count` instances of a pool in one subnet with one idempotent RunInstances call (`replacing`: for out-of-date agents). */
  | { type: 'launch'; pool: string; region: string; subnetId: string; count: number; clientToken: string; capacity?: 'spot' | 'spot-then-on-demand'; replacing?: boolean }
  /** A node whose settings differ from its pool's: change them in place (config.xml); its builds go on. */
  | { type: 'reconfigure'; pool: string; node: string; settings: NodeSettings; changes: FieldChange[] }
  /** An instance with no Jenkins node: create the node, store its secret, bootstrap the host. */
  | { type: 'register'; pool: string; region: string; instanceId: string; node: string; reason: string; instanceType?: string }
  /** A node that is offline while its instance lives: store its secret again, bootstrap again. */
  | { type: 'bootstrap'; pool: string; region: string; instanceId: string; node: string; reason: string }
  /** A node we drained earlier that is wanted again: take it back online. */
  | { type: 'resume'; pool: string; node: string; reason: string }
  /** Drain the node (if any), wait until idle (`busy` ones only once idle, unless forced), delete it, and take the machine away. */
  | RemoveAction
  /** A node whose instance is gone: delete it (nothing can run on it). */
  | { type: 'delete-node'; pool: string; node: string; instanceId?: string; reason: string }
  /** A secret parameter whose instance is gone. */
  | { type: 'delete-secret'; region: string; name: string; instanceId: string }
  /** A launch template no Spot pool of the file uses any more (its pool removed, gone down, or on demand now). */
  | { type: 'delete-launch-template'; pool: string; region: string; templateId: string; name: string; reason: string };

/** What a removal takes away after the node: the three are carried out differently, and `apply` handles each. */
export type RemoveAction =
  /** An EC2 instance: terminated, and its secret parameter deleted. */
  | { type: 'remove'; target: 'instance'; pool: string; region: string; instanceId: string; node?: string; reason: RemoveReason; busy: boolean; detail?: string; changes?: FieldChange[] }
  /** A static pool's host, which stays: what the bootstrap put there is cleaned over SSH while the file still names the host. */
  | { type: 'remove'; target: 'host'; pool: string; hostId: string; node?: string; reason: RemoveReason; busy: boolean }
  /** A busy node with no machine the fleet knows behind it: drained, and deleted once idle. */
  | { type: 'remove'; target: 'node'; pool: string; node: string; instanceId?: string; reason: RemoveReason; busy: boolean };

export type ActionType = Action['type'];

/** An agent that differs from its pool, and how the difference is made right. */
export interface AgentDrift {
  pool: string;
  agent: string;
  instanceId?: string;
  /** `update`: its node's settings change in place; `replace`: a new agent takes its place (rolling). */
  how: 'update' | 'replace';
  changes: FieldChange[];
}

/** A pool whose out-of-date agents are being replaced, a few at a time. */
export interface Rollout {
  pool: string;
  /** Out-of-date agents left, this round's included. */
  outdated: number;
  maxSurge: number;
  maxUnavailable: number;
  /** Launched for it this round, and out-of-date agents taken away this round. */
  launching: number;
  retiring: number;
  /** Why nothing more happens this round (waiting for new agents to come online, ...). */
  waiting?: string;
}

export interface Plan {
  fleet: string;
  actions: Action[];
  /** Every agent that differs from its pool, field by field (also those left for a later round); planUp always sets it. */
  drift?: AgentDrift[];
  /** Pools replacing out-of-date agents: `up` plans and applies again until none is left; planUp always sets it. */
  rollouts?: Rollout[];
}

/** Launch, register, bootstrap and resume make or fix agents; the rest take things away. */
export const actionOrder: ActionType[] = ['launch', 'register', 'bootstrap', 'resume', 'reconfigure', 'remove', 'delete-node', 'delete-secret', 'delete-launch-template'];

/** How the drain message names us, so that our drains can be told from a person's. */
export function drainMessage(fleet: string, reason: string): string {
  return `Draining: to be removed by provisioner (fleet ${fleet}): ${reason}`;
}

function drainedByUs(fleet: string, node: AgentNode): boolean {
  return node.temporarilyOffline && node.heldOfflineBy !== 'jenkins' && (node.offlineReason ?? '').includes(`by provisioner (fleet ${fleet})`);
}

/** Jenkins itself holds the node offline (its disk-space or temp-space monitor): no person chose it. */
function heldByJenkins(node: AgentNode | undefined): boolean {
  return node !== undefined && node.temporarilyOffline && node.heldOfflineBy === 'jenkins';
}

/**
 * Why Jenkins' hold on a node has lasted too long (past `repair.offlineAfter`), or undefined while
 * the monitor may still let it go (it brings the node back itself once space is free again).
 */
function heldTooLong(fleet: Fleet, node: AgentNode, now: number): string | undefined {
  if (node.offlineSince !== undefined && now - node.offlineSince <= fleet.repair.offlineAfter) return undefined;
  const age = node.offlineSince === undefined ? '' : ` ${formatAge(now - node.offlineSince)} ago`;
  return `taken offline by Jenkins${age}${node.offlineReason ? `: ${node.offlineReason}` : ''}`;
}

/** What RunInstances is asked beyond the count: EC2 binds a ClientToken to these. */
export interface LaunchParameters {
  region: string;
  image: string;
  instanceType: string;
  securityGroups: string[];
  instanceProfile: string;
  rootVolumeGiB: number;
  publicIp: boolean;
  /** Every type a pool may launch (CreateFleet draws on all of them). */
  instanceTypes?: ReadonlyArray<{ type: string }>;
  capacity?: string;
}

/**
 * A deterministic ClientToken for one launch: the same desired launch from the same observed
 * state gives the same token, so an `up` rerun after a crash gets the instances the crashed run
 * started instead of new ones. Once those are visible the state differs and so would the token.
 * The launch parameters are part of it, so that a changed pool never meets EC2's
 * IdempotentParameterMismatch; a state that comes back (up, down, up) does meet its old token,
 * which EC2 keeps >= 24 h after the instances end: see successorToken.
 */
export function launchToken(fleet: string, pool: string, subnetId: string, count: number, liveIds: string[], parameters: LaunchParameters, resolution?: PoolResolution): string {
  const settings: unknown[] = [parameters.region, parameters.image, parameters.instanceType, [...parameters.securityGroups].sort(), parameters.instanceProfile, parameters.rootVolumeGiB, parameters.publicIp];
  // Only where they say more than the one type on demand, so that an existing pool's tokens stay as they were.
  const types = (parameters.instanceTypes ?? []).map((t) => t.type);
  if ((parameters.capacity ?? 'on-demand') !== 'on-demand' || types.length > 1) settings.push(parameters.capacity ?? 'on-demand', types);
  // What the image resolves to and the bootstrap go in too: the same file may launch other instances once they change.
  if (resolution) settings.push(resolution.imageId ?? '', resolution.bootstrap);
  const digest = createHash('sha256')
    .update(JSON.stringify([fleet, pool, subnetId, count, [...liveIds].sort(), settings]))
    .digest('hex');
  return `jf-${digest.slice(0, 48)}`;
}

/**
 * The token to try after EC2 refused `token` as spent (IdempotentInstanceTerminated, or
 * IdempotentParameterMismatch): deterministic, so a rerun after a crash walks the same chain and
 * finds the launch it made, and never a token in use by another launch.
 */
export function successorToken(token: string): string {
  return `jf-${createHash('sha256').update(`${token}/next`).digest('hex').slice(0, 48)}`;
}

/** Which agent of a pool goes first on scale-down: the one that costs least to lose. */
function removalCost(agent: Agent, fleet: string): number {
  const node = agent.node;
  if (!node) return agent.instance?.state === 'pending' ? 0 : 1;
  if (drainedByUs(fleet, node)) return node.idle ? 2 : 6;
  if (!node.online) return 3;
  if (node.idle) return 4;
  return 7; // busy: last, and only once idle
}

/** The instance ids (and static host ids) that removals take away. */
function leavingIds(actions: readonly Action[]): Set<string> {
  return new Set(actions.flatMap((a) => (a.type !== 'remove' ? [] : a.target === 'instance' ? [a.instanceId] : a.target === 'host' ? [a.hostId] : [])));
}

/** What a planner's caller knows beyond the observation. */
export interface PlanContext {
  /**
   * Interruption notices received by `watch`, by instance id, whose drain Jenkins may not show
   * yet: a warning's agent is leaving (see `leavingAgents`) from the moment it is received.
   */
  notices?: ReadonlyMap<string, { kind: NoticeKind; at: number }>;
}

/**
 * The agents EC2 is taking away: those warned of a Spot interruption, as their node's drain records
 * it (so `up`, `plan` and a restarted `watch` know it from the observation) or as `notices` say.
 * They count for none of their pool's agents: the pool gets a replacement for each at the notice,
 * as EC2 Fleet's capacity rebalancing launches one before the old instance goes, so it holds one
 * more for a while, which is no surplus to remove; nothing is bootstrapped or rolled on them
 * either. EC2 takes them within two minutes. A rebalance recommendation alone takes nothing away.
 */
export function leavingAgents(fleet: Fleet, agents: readonly Agent[], notices?: PlanContext['notices']): Set<string> {
  const leaving = new Set<string>();
  for (const agent of agents) {
    const instance = agent.instance;
    if (!instance || instance.host) continue;
    const recorded = agent.node && drainedByUs(fleet.fleet, agent.node) ? parseInterruptionReason(agent.node.offlineReason) : undefined;
    if (recorded?.kind === 'warning' || notices?.get(instance.id)?.kind === 'warning') leaving.add(agent.name);
  }
  return leaving;
}

export function planUp(fleet: Fleet, observed: Observed, context: PlanContext = {}): Plan {
  const world = inventory(fleet, observed);
  const actions: Action[] = [];
  const drift: AgentDrift[] = [];
  const rollouts: Rollout[] = [];
  for (const pool of world.pools) {
    const planned = planPool(fleet, pool, world.now, observed.resolved?.[pool.pool.name], context);
    actions.push(...planned.actions);
    drift.push(...planned.drift);
    if (planned.rollout) rollouts.push(planned.rollout);
  }
  actions.push(...removeUnwanted(world, leavingIds(actions)));
  actions.push(...removeNodesWithoutMachine(world, leavingIds(actions)));
  actions.push(...deleteStaleSecrets(world, leavingIds(actions)));
  actions.push(...deleteUnusedLaunchTemplates(fleet, observed));
  return { fleet: fleet.fleet, actions: sortActions(actions), drift, rollouts };
}

/** Whether a pool launches through CreateFleet from a launch template of its own. */
export function usesLaunchTemplate(pool: Pool): boolean {
  return !isStaticPool(pool) && pool.capacity !== undefined && pool.capacity !== 'on-demand';
}

/** Launch templates no Spot pool of the file uses: never left behind once their pool is gone. */
function deleteUnusedLaunchTemplates(fleet: Fleet, observed: Observed): Action[] {
  return (observed.launchTemplates ?? []).flatMap((t): Action[] => {
    const pool = fleet.pools.find((p) => p.name === t.pool);
    if (pool && usesLaunchTemplate(pool) && pool.region === t.region) return [];
    const reason = !pool ? 'its pool is no longer in the fleet file' : pool.region !== t.region ? `pool ${t.pool} is in ${pool.region} now` : `pool ${t.pool} launches on demand now`;
    return [{ type: 'delete-launch-template', pool: t.pool, region: t.region, templateId: t.id, name: t.name, reason }];
  });
}

interface PoolPlan {
  actions: Action[];
  drift: AgentDrift[];
  rollout?: Rollout;
}

/**
 * One pool: replace what Jenkins holds offline too long; then either roll out replacements of
 * out-of-date agents, or scale down and up; update the nodes of what stays in place and repair it.
 */
function planPool(fleet: Fleet, { pool, members }: PoolInventory, now: number, resolution: PoolResolution | undefined, context: PlanContext): PoolPlan {
  const leaving = leavingAgents(fleet, members, context.notices);
  const live = members.filter((a) => a.life === 'live' && !leaving.has(a.name));
  const replaced = replaceHeldOffline(fleet, pool, live, now);
  const candidates = live.filter((a) => !leavingIds(replaced).has(a.instanceId ?? ''));
  const outdated = new Map(candidates.flatMap((a) => {
    const changes = a.instance ? instanceChanges(pool, a.instance, resolution) : [];
    return changes.length > 0 ? [[a.name, changes] as const] : [];
  }));
  const drift: AgentDrift[] = [...outdated].map(([agent, changes]) => {
    const member = candidates.find((a) => a.name === agent) as Agent;
    return { pool: pool.name, agent, ...(member.instanceId ? { instanceId: member.instanceId } : {}), how: 'replace', changes };
  });
  if (outdated.size > 0) {
    const rolled = rollOut(fleet, pool, candidates, outdated, resolution);
    const keep = candidates.filter((a) => !outdated.has(a.name));
    const updates = reconfigure(fleet, pool, keep);
    drift.push(...updates.drift);
    return { actions: [...replaced, ...rolled.actions, ...updates.actions, ...repair(fleet, pool, keep, now)], drift, rollout: rolled.rollout };
  }
  const scaledDown = scaleDown(fleet, pool, candidates);
  const keep = candidates.filter((a) => !leavingIds(scaledDown).has(a.instanceId ?? ''));
  const updates = reconfigure(fleet, pool, keep);
  drift.push(...updates.drift);
  return { actions: [...replaced, ...scaledDown, ...scaleUp(fleet, pool, keep, resolution), ...updates.actions, ...repair(fleet, pool, keep, now)], drift };
}

/** How an agent's node is named in its description: its instance id, or a static host's node name. */
function describedId(pool: Pool, agent: Agent): string {
  return isStaticPool(pool) ? agent.name : (agent.instanceId ?? agent.name);
}

/** Nodes that stay whose settings differ from the pool's (as read from their config.xml): updated in place. */
function reconfigure(fleet: Fleet, pool: Pool, keep: readonly Agent[]): PoolPlan {
  const actions: Action[] = [];
  const drift: AgentDrift[] = [];
  for (const agent of keep) {
    const settings = agent.node?.settings;
    if (!agent.node || !settings) continue;
    const instanceType = agent.instance?.instanceType ?? agent.instance?.launched?.instanceType;
    const changes = nodeChanges(fleet.fleet, pool, describedId(pool, agent), settings, instanceType);
    if (changes.length === 0) continue;
    const wanted = wantedNodeSettings(fleet.fleet, pool, describedId(pool, agent), instanceType);
    actions.push({ type: 'reconfigure', pool: pool.name, node: agent.node.name, settings: wanted, changes });
    drift.push({ pool: pool.name, agent: agent.name, ...(agent.instanceId ? { instanceId: agent.instanceId } : {}), how: 'update', changes });
  }
  return { actions, drift };
}

/** An agent taking builds now: its node online (not drained, not held offline). */
function serving(agent: Agent): boolean {
  return agent.node?.online === true;
}

/**
 * One round of a rolling replacement. New agents are launched while the pool has fewer than
 * `count` up-to-date ones, at most `maxSurge` beyond `count` in all; an out-of-date agent is taken
 * away (drained, removed once its builds end) only while at least `count - maxUnavailable` agents
 * would still be serving without it. Nothing is remembered between rounds: a run killed at any
 * point plans the same from what it then observes, and the launch tokens come from that too.
 */
function rollOut(fleet: Fleet, pool: Pool, candidates: readonly Agent[], outdated: ReadonlyMap<string, FieldChange[]>, resolution: PoolResolution | undefined): { actions: Action[]; rollout: Rollout } {
  const current = candidates.filter((a) => !outdated.has(a.name));
  const old = candidates.filter((a) => outdated.has(a.name));
  // `up` keeps a pool at `min` (its `count` unless `watch` scales it): the rollout aims there too.
  const wanted = pool.min;
  const launch = Math.max(0, Math.min(wanted - current.length, wanted + pool.maxSurge - candidates.length));
  const launches = launch > 0 ? launchInto(fleet, pool, current, candidates, launch, resolution).map((a) => ({ ...a, replacing: true })) : [];

  // Out-of-date agents: those serving no build first (free to take), then idle, then busy; oldest first.
  const minServing = Math.max(0, wanted - pool.maxUnavailable);
  let servingNow = candidates.filter(serving).length;
  const retire: RemoveAction[] = [];
  const launchedAt = (a: Agent) => a.instance?.launchedAt ?? 0;
  const byCost = [...old].sort((a, b) => removalCost(a, fleet.fleet) - removalCost(b, fleet.fleet) || launchedAt(a) - launchedAt(b) || a.name.localeCompare(b.name));
  let held = 0;
  for (const agent of byCost) {
    if (serving(agent)) {
      if (servingNow - 1 < minServing) {
        held += 1;
        continue;
      }
      servingNow -= 1;
    }
    const changes = outdated.get(agent.name) ?? [];
    const away = removal(agent, 'outdated', changes.map((c) => c.field).join(', '));
    retire.push(away.target === 'instance' ? { ...away, changes } : away);
  }
  const waiting =
    held === 0
      ? undefined
      : current.length < wanted
        ? `${held} out-of-date agent(s) keep serving until new ones are online (maxUnavailable ${pool.maxUnavailable})`
        : `${held} out-of-date agent(s) keep serving until ${wanted - pool.maxUnavailable} others are online`;
  const rollout: Rollout = {
    pool: pool.name,
    outdated: old.length,
    maxSurge: pool.maxSurge,
    maxUnavailable: pool.maxUnavailable,
    launching: launch,
    retiring: retire.length,
    ...(waiting ? { waiting } : {}),
  };
  return { actions: [...launches, ...retire], rollout };
}

/**
 * An instance whose agent Jenkins has held offline past repair.offlineAfter (its disk or /tmp ran
 * out) is replaced: a new instance comes, this one drains and goes. A static host cannot be.
 */
function replaceHeldOffline(fleet: Fleet, pool: Pool, live: readonly Agent[], now: number): RemoveAction[] {
  if (isStaticPool(pool)) return [];
  return live.flatMap((agent) => {
    const why = agent.node && heldByJenkins(agent.node) ? heldTooLong(fleet, agent.node, now) : undefined;
    return why ? [removal(agent, 'replace', why)] : [];
  });
}

/**
 * The cheapest agents to lose go first; busy ones last, and only once idle. A pool `watch` scales
 * keeps what it has between min and max: `up` only brings it back within them.
 */
function scaleDown(fleet: Fleet, pool: Pool, live: readonly Agent[]): RemoveAction[] {
  const surplus = live.length - pool.max;
  if (surplus <= 0) return [];
  const launchedAt = (a: Agent) => a.instance?.launchedAt ?? 0;
  const byCost = [...live].sort(
    (a, b) => removalCost(a, fleet.fleet) - removalCost(b, fleet.fleet) || launchedAt(b) - launchedAt(a) || (a.instanceId ?? '').localeCompare(b.instanceId ?? ''),
  );
  return byCost.slice(0, surplus).map((agent) => removal(agent, 'scale-down'));
}

/** Fill the subnets with the fewest of this pool's instances first, one launch per subnet. */
function scaleUp(fleet: Fleet, pool: Pool, keep: readonly Agent[], resolution: PoolResolution | undefined): Action[] {
  const missing = pool.min - keep.length;
  if (missing <= 0 || isStaticPool(pool)) return [];
  return launchInto(fleet, pool, keep, keep, missing, resolution);
}

/**
 * `missing` launches, into the subnets where `spread` has the fewest of the pool's instances; the
 * token names every live instance of the pool (`live`), so a rerun from the same state gets the same one.
 */
function launchInto(fleet: Fleet, pool: Pool, spread: readonly Agent[], live: readonly Agent[], missing: number, resolution: PoolResolution | undefined): Extract<Action, { type: 'launch' }>[] {
  if (isStaticPool(pool)) return [];
  const perSubnet = new Map(pool.subnets.map((s) => [s, 0]));
  for (const agent of spread) {
    const subnet = agent.instance?.subnetId;
    if (subnet && perSubnet.has(subnet)) perSubnet.set(subnet, (perSubnet.get(subnet) ?? 0) + 1);
  }
  const launches = new Map<string, number>();
  for (let n = 0; n < missing; n++) {
    let best = pool.subnets[0] as string;
    for (const s of pool.subnets) if ((perSubnet.get(s) ?? 0) < (perSubnet.get(best) ?? 0)) best = s;
    perSubnet.set(best, (perSubnet.get(best) ?? 0) + 1);
    launches.set(best, (launches.get(best) ?? 0) + 1);
  }
  const liveIds = live.flatMap((a) => (a.instanceId ? [a.instanceId] : []));
  return pool.subnets.flatMap((subnetId): Extract<Action, { type: 'launch' }>[] => {
    const count = launches.get(subnetId);
    if (!count) return [];
    // A Spot pool's launches go out together as one CreateFleet, which picks the subnets itself.
    const spot = pool.capacity === 'spot' || pool.capacity === 'spot-then-on-demand' ? { capacity: pool.capacity } : {};
    return [{ type: 'launch', pool: pool.name, region: pool.region, subnetId, count, clientToken: launchToken(fleet.fleet, pool.name, subnetId, count, liveIds, pool, resolution), ...spot }];
  });
}

/** Register instances without a node, bootstrap again what never connected or stayed offline, take back what we drained. */
function repair(fleet: Fleet, pool: Pool, keep: readonly Agent[], now: number): Action[] {
  const actions: Action[] = [];
  for (const agent of keep) {
    const instance = agent.instance as Instance;
    const node = agent.node;
    const base = { pool: pool.name, region: instance.region, instanceId: instance.id, node: agent.name };
    if (!node) {
      actions.push({ type: 'register', ...base, reason: 'no Jenkins node for this instance', ...(instance.instanceType ? { instanceType: instance.instanceType } : {}) });
      continue;
    }
    if (node.online) continue;
    if (heldByJenkins(node)) {
      // A static host cannot be replaced: once Jenkins has held it offline too long, it is
      // bootstrapped again like any offline agent (and `up` reports the monitor's reason if it stays offline).
      const why = heldTooLong(fleet, node, now);
      if (why && isStaticPool(pool)) actions.push({ type: 'bootstrap', ...base, reason: why });
      continue;
    }
    if (node.temporarilyOffline) {
      if (drainedByUs(fleet.fleet, node)) {
        actions.push({ type: 'resume', pool: pool.name, node: agent.name, reason: 'drained earlier, wanted again' });
        // Drained before its agent ever connected (a run killed between register and bootstrap,
        // then a scale-down): back online alone it would stay offline.
        const reason = node.connected === false ? needsBootstrap(fleet, instance, now) : undefined;
        if (reason) actions.push({ type: 'bootstrap', ...base, reason });
      }
      continue; // taken offline by a person: theirs to bring back
    }
    const reason = needsBootstrap(fleet, instance, now);
    if (reason) actions.push({ type: 'bootstrap', ...base, reason });
  }
  return actions;
}

/** Instances that no pool wants: a pool removed from the file, a stray, a stopped machine. */
function removeUnwanted(world: Inventory, leaving: ReadonlySet<string>): RemoveAction[] {
  return world.agents.flatMap((agent) => {
    if (!agent.instance || agent.life === 'gone' || leaving.has(agent.instance.id)) return [];
    const stopped = agent.life === 'stopped';
    if (agent.wanted && !stopped) return [];
    return [removal(agent, stopped ? 'stopped' : agent.instance.pool ? 'pool-removed' : 'stray')];
  });
}

/** The fleet's nodes with no machine behind them: nothing can run there, so there is nothing to drain. */
function removeNodesWithoutMachine(world: Inventory, leaving: ReadonlySet<string>): Action[] {
  return world.agents.flatMap((agent): Action[] => {
    const node = agent.node;
    if (!node) return [];
    const { instanceId, pool } = agent;
    if (instanceId && (leaving.has(instanceId) || hasMachine(agent))) return [];
    if (instanceId && isStaticHostId(instanceId)) {
      // A host taken out of the file still exists and may be running a build: drain it first.
      return [{ type: 'remove', target: 'host', pool, hostId: instanceId, node: node.name, reason: agent.wanted ? 'stray' : 'pool-removed', busy: !node.idle }];
    }
    const reason = !agent.wanted ? 'its pool is no longer in the fleet file' : instanceId ? `instance ${instanceId} is gone` : 'no instance behind it';
    return [{ type: 'delete-node', pool, node: node.name, instanceId, reason }];
  });
}

/** Secrets of instances that are gone; one of an instance being removed goes with it. */
function deleteStaleSecrets(world: Inventory, leaving: ReadonlySet<string>): Action[] {
  return world.agents.flatMap((agent): Action[] => {
    const secret = agent.secret;
    if (!secret || leaving.has(secret.instanceId) || hasMachine(agent)) return [];
    return [{ type: 'delete-secret', region: secret.region, name: secret.name, instanceId: secret.instanceId }];
  });
}

/** The removal of an agent that has a machine (an EC2 instance or a static host). */
function removal(agent: Agent, reason: RemoveReason, detail?: string): RemoveAction {
  const instance = agent.instance as Instance;
  const busy = agent.node !== undefined && !agent.node.idle;
  const node = agent.node?.name;
  if (instance.host) return { type: 'remove', target: 'host', pool: instance.pool, hostId: instance.id, node, reason, busy };
  return { type: 'remove', target: 'instance', pool: instance.pool, region: instance.region, instanceId: instance.id, node, reason, busy, ...(detail ? { detail } : {}) };
}

/** Why an offline node's host should be bootstrapped again, or undefined to leave it be. */
function needsBootstrap(fleet: Fleet, instance: Instance, now: number): string | undefined {
  if (instance.bootstrappedAt === undefined) return 'never bootstrapped';
  const since = now - instance.bootstrappedAt;
  if (since > fleet.repair.offlineAfter) return `offline, last bootstrapped ${formatAge(since)} ago`;
  return undefined;
}

/** Everything the fleet manages (or one pool of it) goes: drain, wait, delete, terminate. */
export function planDown(fleet: Fleet, observed: Observed, poolName?: string): Plan {
  const world = inventory(fleet, observed);
  const inScope = (pool: string | undefined) => !poolName || pool === poolName;
  const actions: Action[] = [];
  for (const agent of world.agents) {
    const { instance, node } = agent;
    if (instance && agent.life !== 'gone') {
      if (inScope(instance.pool)) actions.push(removal(agent, 'down'));
      continue;
    }
    if (!node || !inScope(agent.pool)) continue;
    const instanceId = agent.instanceId;
    if (node.idle) actions.push({ type: 'delete-node', pool: agent.pool, node: node.name, instanceId, reason: 'down' });
    else if (instanceId && isStaticHostId(instanceId)) actions.push({ type: 'remove', target: 'host', pool: agent.pool, hostId: instanceId, node: node.name, reason: 'down', busy: true });
    else actions.push({ type: 'remove', target: 'node', pool: agent.pool, node: node.name, instanceId, reason: 'down', busy: true });
  }
  const removing = leavingIds(actions);
  for (const agent of world.agents) {
    const secret = agent.secret;
    if (!secret || removing.has(secret.instanceId)) continue;
    if (poolName && agent.instance?.pool !== poolName) continue;
    if (agent.instance && agent.life !== 'gone') continue;
    actions.push({ type: 'delete-secret', region: secret.region, name: secret.name, instanceId: secret.instanceId });
  }
  for (const t of observed.launchTemplates ?? []) {
    if (inScope(t.pool)) actions.push({ type: 'delete-launch-template', pool: t.pool, region: t.region, templateId: t.id, name: t.name, reason: 'down' });
  }
  return { fleet: fleet.fleet, actions: sortActions(actions), drift: [], rollouts: [] };
}

function sortActions(actions: Action[]): Action[] {
  const machine = (a: Action) => ('instanceId' in a ? (a.instanceId ?? '') : 'hostId' in a ? a.hostId : '');
  const key = (a: Action) => `${'pool' in a ? a.pool : ''}\u0000${'node' in a ? (a.node ?? '') : ''}\u0000${machine(a)}\u0000${'subnetId' in a ? a.subnetId : ''}`;
  const byKey = (a: Action, b: Action) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  return [...actions].sort((a, b) => actionOrder.indexOf(a.type) - actionOrder.indexOf(b.type) || byKey(a, b));
}

/** Does carrying out the plan change anything? (A difference left for a later round of a rollout counts.) */
export function hasChanges(plan: Plan): boolean {
  return plan.actions.length > 0 || (plan.drift ?? []).length > 0;
}

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}
