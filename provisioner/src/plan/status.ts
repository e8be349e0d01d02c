// What `provisioner status` shows, computed from one observation: per pool the wanted count and
// each agent (node and instance side by side), then the orphans on either side.
import type { AgentNode, Fleet, Instance, Observed } from '../model.ts';
import { hasMachine, inventory } from './inventory.ts';

export interface AgentStatus {
  name: string | null;
  instanceId: string | null;
  instanceState: string | null;
  online: boolean;
  idle: boolean;
  temporarilyOffline: boolean;
  /** Who holds a temporarily offline agent offline: a person (or a drain), or Jenkins itself (a disk-space monitor). */
  heldOfflineBy: 'person' | 'jenkins' | null;
  offlineReason: string | null;
  privateIp: string | null;
  /** Seconds since launch; null for static hosts. */
  ageSeconds: number | null;
}

export interface PoolStatus {
  name: string;
  desired: number;
  /** For a pool `watch` scales (one with max): the range it keeps the pool in. */
  scaled?: { min: number; max: number };
  agents: AgentStatus[];
}

export interface FleetStatus {
  fleet: string;
  pools: PoolStatus[];
  orphans: { instances: string[]; nodes: string[] };
}

export function fleetStatus(fleet: Fleet, observed: Observed): FleetStatus {
  const world = inventory(fleet, observed);
  const pools = world.pools.map(({ pool, members }) => ({
    name: pool.name,
    desired: pool.count,
    ...(pool.scaling ? { scaled: { min: pool.min, max: pool.max } } : {}),
    agents: members.map((agent): AgentStatus => {
      const { node } = agent;
      const instance = agent.instance as Instance;
      return {
        name: node?.name ?? null,
        instanceId: instance.host ? null : instance.id,
        instanceState: instance.host ? null : instance.state,
        online: node?.online ?? false,
        idle: node?.idle ?? true,
        temporarilyOffline: node?.temporarilyOffline ?? false,
        heldOfflineBy: node?.temporarilyOffline ? (node.heldOfflineBy ?? 'person') : null,
        offlineReason: node && !node.online ? (node.offlineReason ?? null) : null,
        privateIp: instance.privateIp ?? instance.host?.address ?? null,
        ageSeconds: instance.host ? null : Math.max(0, Math.round((world.now - instance.launchedAt) / 1000)),
      };
    }),
  }));
  const shown = new Set(world.pools.flatMap((p) => p.members.map((a) => a.name)));
  const orphanInstances = world.agents
    .filter((a) => a.instance && !a.instance.host && a.life !== 'gone' && (!a.wanted || !a.node))
    .map((a) => (a.instance as Instance).id)
    .sort();
  const orphanNodes = world.agents
    .filter((a) => a.node && !shown.has(a.name) && !hasMachine(a))
    .map((a) => (a.node as AgentNode).name)
    .sort();
  return { fleet: fleet.fleet, pools, orphans: { instances: orphanInstances, nodes: orphanNodes } };
}
