// The planner: (desired fleet, observed world) -> the ordered actions that make the world match.
// Pure: no I/O, no clock (the observation carries `now`). Every rule of reconciling lives here,
// so the executor only carries actions out and the tests here need no mocks.
import { createHash } from 'node:crypto';
import type { Fleet, Pool } from '../config/load.ts';
import { isStaticPool } from '../config/schema.ts';
import {
  agentName,
  isStaticHostId,
  parseAgentName,
  parseNodeDescription,
  type AgentNode,
  type Instance,
  type Observed,
} from '../model.ts';

export type RemoveReason = 'scale-down' | 'pool-removed' | 'stray' | 'stopped' | 'down' | 'replace';

export type Action =
  /** Start `count` instances of a pool in one subnet with one idempotent RunInstances call. */
  | { type: 'launch'; pool: string; region: string; subnetId: string; count: number; clientToken: string }
  /** An instance with no Jenkins node: create the node, store its secret, bootstrap the host. */
  | { type: 'register'; pool: string; region: string; instanceId: string; node: string; reason: string }
  /** A node that is offline while its instance lives: store its secret again, bootstrap again. */
  | { type: 'bootstrap'; pool: string; region: string; instanceId: string; node: string; reason: string }
  /** A node we drained earlier that is wanted again: take it back online. */
  | { type: 'resume'; pool: string; node: string; reason: string }
  /**
   * Drain the node (no new builds), wait until idle, delete it, terminate the instance and delete
   * its secret. `busy` agents are only removed once idle, unless forced.
   */
  | { type: 'remove'; pool: string; region?: string; instanceId?: string; node?: string; reason: RemoveReason; busy: boolean; detail?: string }
  /** A node whose instance is gone: delete it (nothing can run on it). */
  | { type: 'delete-node'; pool: string; node: string; instanceId?: string; reason: string }
  /** A secret parameter whose instance is gone. */
  | { type: 'delete-secret'; region: string; name: string; instanceId: string };

export type ActionType = Action['type'];

export interface Plan {
  fleet: string;
  actions: Action[];
}

/** Launch, register, bootstrap and resume make or fix agents; the rest take things away. */
export const actionOrder: ActionType[] = ['launch', 'register', 'bootstrap', 'resume', 'remove', 'delete-node', 'delete-secret'];

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

const live = (i: Instance) => i.state === 'pending' || i.state === 'running';
const gone = (i: Instance) => i.state === 'terminated' || i.state === 'shutting-down';

/** The nodes that belong to this fleet: by description, or by a name naming one of its instances. */
export function managedNodes(fleet: Fleet, observed: Observed): Map<string, AgentNode> {
  const instanceIds = new Set(observed.instances.map((i) => i.id));
  const ours = new Map<string, AgentNode>();
  for (const node of observed.nodes) {
    // A deleted node's computer stays listed until its build ends; nothing can be done to it.
    if (node.deleted) continue;
    const described = parseNodeDescription(node.description);
    const named = parseAgentName(node.name);
    if (described ? described.fleet === fleet.fleet : named !== undefined && instanceIds.has(named.instanceId)) {
      ours.set(node.name, node);
    }
  }
  return ours;
}

/** The pool a managed node belongs to. */
function poolOfNode(node: AgentNode): string | undefined {
  return parseNodeDescription(node.description)?.pool ?? parseAgentName(node.name)?.pool;
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
}

/**
 * A deterministic ClientToken for one launch: the same desired launch from the same observed
 * state gives the same token, so an `up` rerun after a crash gets the instances the crashed run
 * started instead of new ones. Once those are visible the state differs and so would the token.
 * The launch parameters are part of it, so that a changed pool never meets EC2's
 * IdempotentParameterMismatch; a state that comes back (up, down, up) does meet its old token,
 * which EC2 keeps >= 24 h after the instances end: see successorToken.
 */
export function launchToken(fleet: string, pool: string, subnetId: string, count: number, liveIds: string[], parameters: LaunchParameters): string {
  const settings = [parameters.region, parameters.image, parameters.instanceType, [...parameters.securityGroups].sort(), parameters.instanceProfile, parameters.rootVolumeGiB, parameters.publicIp];
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
function removalCost(instance: Instance, node: AgentNode | undefined, fleet: string): number {
  if (!node) return instance.state === 'pending' ? 0 : 1;
  if (drainedByUs(fleet, node)) return node.idle ? 2 : 6;
  if (!node.online) return 3;
  if (node.idle) return 4;
  return 7; // busy: last, and only once idle
}

export function planUp(fleet: Fleet, observed: Observed): Plan {
  const actions: Action[] = [];
  const nodes = managedNodes(fleet, observed);
  const pools = new Map(fleet.pools.map((p) => [p.name, p]));
  const removed = new Set<string>(); // instance ids leaving the fleet
  const liveById = new Map(observed.instances.filter(live).map((i) => [i.id, i]));

  for (const pool of fleet.pools) {
    const nodeOf = (i: Instance) => nodes.get(agentName(pool.name, i.id));
    const members: Instance[] = [];
    for (const instance of observed.instances.filter((i) => i.pool === pool.name && live(i))) {
      // An instance whose agent Jenkins has held offline past repair.offlineAfter (its disk or /tmp
      // ran out) is replaced: a new instance comes, this one drains and goes.
      const node = nodeOf(instance);
      const why = node && !isStaticPool(pool) && heldByJenkins(node) ? heldTooLong(fleet, node, observed.now) : undefined;
      if (why) {
        removed.add(instance.id);
        actions.push(removal(instance, node, 'replace', why));
      } else members.push(instance);
    }

    // Scale down: the cheapest agents to lose go first; busy ones only once idle.
    const surplus = members.length - pool.count;
    const byCost = [...members].sort(
      (a, b) => removalCost(a, nodeOf(a), fleet.fleet) - removalCost(b, nodeOf(b), fleet.fleet) || b.launchedAt - a.launchedAt || a.id.localeCompare(b.id),
    );
    for (const instance of byCost.slice(0, Math.max(0, surplus))) {
      const node = nodeOf(instance);
      removed.add(instance.id);
      actions.push(removal(instance, node, 'scale-down'));
    }
    const keep = members.filter((i) => !removed.has(i.id));

    // Scale up: fill the subnets with the fewest of this pool's instances first.
    const missing = pool.count - keep.length;
    if (missing > 0 && !isStaticPool(pool)) {
      const perSubnet = new Map(pool.subnets.map((s) => [s, 0]));
      for (const i of keep) if (i.subnetId && perSubnet.has(i.subnetId)) perSubnet.set(i.subnetId, (perSubnet.get(i.subnetId) ?? 0) + 1);
      const launches = new Map<string, number>();
      for (let n = 0; n < missing; n++) {
        let best = pool.subnets[0] as string;
        for (const s of pool.subnets) if ((perSubnet.get(s) ?? 0) < (perSubnet.get(best) ?? 0)) best = s;
        perSubnet.set(best, (perSubnet.get(best) ?? 0) + 1);
        launches.set(best, (launches.get(best) ?? 0) + 1);
      }
      const liveIds = keep.map((i) => i.id);
      for (const subnetId of pool.subnets) {
        const count = launches.get(subnetId);
        if (!count) continue;
        actions.push({ type: 'launch', pool: pool.name, region: pool.region, subnetId, count, clientToken: launchToken(fleet.fleet, pool.name, subnetId, count, liveIds, pool) });
      }
    }

    // Repair what stays.
    for (const instance of keep) {
      const name = agentName(pool.name, instance.id);
      const node = nodes.get(name);
      const base = { pool: pool.name, region: instance.region, instanceId: instance.id, node: name };
      if (!node) {
        actions.push({ type: 'register', ...base, reason: 'no Jenkins node for this instance' });
        continue;
      }
      if (node.online) continue;
      if (heldByJenkins(node)) {
        // A static host cannot be replaced: once Jenkins has held it offline too long, it is
        // bootstrapped again like any offline agent (and `up` reports the monitor's reason if it stays offline).
        const why = heldTooLong(fleet, node, observed.now);
        if (why && isStaticPool(pool)) actions.push({ type: 'bootstrap', ...base, reason: why });
        continue;
      }
      if (node.temporarilyOffline) {
        if (drainedByUs(fleet.fleet, node)) {
          actions.push({ type: 'resume', pool: pool.name, node: name, reason: 'drained earlier, wanted again' });
          // Drained before its agent ever connected (a run killed between register and bootstrap,
          // then a scale-down): back online alone it would stay offline.
          const reason = node.connected === false ? needsBootstrap(fleet, pool, instance, observed.now) : undefined;
          if (reason) actions.push({ type: 'bootstrap', ...base, reason });
        }
        continue; // taken offline by a person: theirs to bring back
      }
      const reason = needsBootstrap(fleet, pool, instance, observed.now);
      if (reason) actions.push({ type: 'bootstrap', ...base, reason });
    }
  }

  // Instances that no pool wants: a pool removed from the file, a stray, a stopped machine.
  for (const instance of observed.instances) {
    if (removed.has(instance.id) || gone(instance)) continue;
    const pool = pools.get(instance.pool);
    const stopped = instance.state === 'stopped' || instance.state === 'stopping';
    if (pool && !stopped) continue;
    const node = nodes.get(agentName(instance.pool, instance.id));
    removed.add(instance.id);
    actions.push(removal(instance, node, stopped ? 'stopped' : instance.pool ? 'pool-removed' : 'stray'));
  }

  // Nodes whose instance is gone or never was.
  for (const node of nodes.values()) {
    const parsed = parseAgentName(node.name);
    const instanceId = parsed?.instanceId;
    if (instanceId && (liveById.has(instanceId) || removed.has(instanceId))) continue;
    if (instanceId && observed.instances.some((i) => i.id === instanceId && !gone(i))) continue;
    const pool = poolOfNode(node) ?? '';
    if (instanceId && isStaticHostId(instanceId)) {
      // A host taken out of the file still exists and may be running a build: drain it first.
      actions.push({ type: 'remove', pool, instanceId, node: node.name, reason: pools.has(pool) ? 'stray' : 'pool-removed', busy: !node.idle });
      continue;
    }
    // No live instance under it: nothing can run there, so there is nothing to drain.
    const reason = !pools.has(pool) ? 'its pool is no longer in the fleet file' : instanceId ? `instance ${instanceId} is gone` : 'no instance behind it';
    actions.push({ type: 'delete-node', pool, node: node.name, instanceId, reason });
  }

  // Secrets of instances that are gone.
  for (const secret of observed.secrets) {
    // A secret of a live instance stays; one of an instance being removed goes with it.
    if (removed.has(secret.instanceId) || observed.instances.some((i) => i.id === secret.instanceId && !gone(i))) continue;
    actions.push({ type: 'delete-secret', region: secret.region, name: secret.name, instanceId: secret.instanceId });
  }

  return { fleet: fleet.fleet, actions: sortActions(actions) };
}

function removal(instance: Instance, node: AgentNode | undefined, reason: RemoveReason, detail?: string): Action {
  return { type: 'remove', pool: instance.pool, region: instance.region, instanceId: instance.id, node: node?.name, reason, busy: node !== undefined && !node.idle, ...(detail ? { detail } : {}) };
}

/** Why an offline node's host should be bootstrapped again, or undefined to leave it be. */
function needsBootstrap(fleet: Fleet, _pool: Pool, instance: Instance, now: number): string | undefined {
  if (instance.bootstrappedAt === undefined) return 'never bootstrapped';
  const since = now - instance.bootstrappedAt;
  if (since > fleet.repair.offlineAfter) return `offline, last bootstrapped ${formatAge(since)} ago`;
  return undefined;
}

/** Everything the fleet manages (or one pool of it) goes: drain, wait, delete, terminate. */
export function planDown(fleet: Fleet, observed: Observed, poolName?: string): Plan {
  const actions: Action[] = [];
  const nodes = managedNodes(fleet, observed);
  const handled = new Set<string>();
  for (const instance of observed.instances) {
    if (gone(instance) || (poolName && instance.pool !== poolName)) continue;
    const node = nodes.get(agentName(instance.pool, instance.id));
    if (node) handled.add(node.name);
    actions.push(removal(instance, node, 'down'));
  }
  for (const node of nodes.values()) {
    const pool = poolOfNode(node) ?? '';
    if (handled.has(node.name) || (poolName && pool !== poolName)) continue;
    if (!node.idle) {
      actions.push({ type: 'remove', pool, node: node.name, instanceId: parseAgentName(node.name)?.instanceId, reason: 'down', busy: true });
    } else {
      actions.push({ type: 'delete-node', pool, node: node.name, instanceId: parseAgentName(node.name)?.instanceId, reason: 'down' });
    }
  }
  const removing = new Set(actions.flatMap((a) => (a.type === 'remove' && a.instanceId ? [a.instanceId] : [])));
  for (const secret of observed.secrets) {
    if (removing.has(secret.instanceId)) continue;
    const instance = observed.instances.find((i) => i.id === secret.instanceId);
    if (poolName && instance?.pool !== poolName) continue;
    if (instance && !gone(instance)) continue;
    actions.push({ type: 'delete-secret', region: secret.region, name: secret.name, instanceId: secret.instanceId });
  }
  return { fleet: fleet.fleet, actions: sortActions(actions) };
}

function sortActions(actions: Action[]): Action[] {
  const key = (a: Action) => `${'pool' in a ? a.pool : ''}\u0000${'node' in a ? (a.node ?? '') : ''}\u0000${'instanceId' in a ? (a.instanceId ?? '') : ''}\u0000${'subnetId' in a ? a.subnetId : ''}`;
  const byKey = (a: Action, b: Action) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  return [...actions].sort((a, b) => actionOrder.indexOf(a.type) - actionOrder.indexOf(b.type) || byKey(a, b));
}

/** Does carrying out the plan change anything? */
export function hasChanges(plan: Plan): boolean {
  return plan.actions.length > 0;
}

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}
