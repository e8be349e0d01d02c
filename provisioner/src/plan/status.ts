// What `provisioner status` shows, computed from one observation: per pool the wanted count and
// each agent (node and instance side by side), then the orphans on either side.
import { agentName, parseAgentName, type Observed, type Fleet } from '../model.ts';
import { managedNodes } from './plan.ts';

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
  agents: AgentStatus[];
}

export interface FleetStatus {
  fleet: string;
  pools: PoolStatus[];
  orphans: { instances: string[]; nodes: string[] };
}

const gone = new Set(['terminated', 'shutting-down']);

export function fleetStatus(fleet: Fleet, observed: Observed): FleetStatus {
  const nodes = managedNodes(fleet, observed);
  const instances = observed.instances.filter((i) => !gone.has(i.state));
  const known = new Set(fleet.pools.map((p) => p.name));
  const shown = new Set<string>();

  const pools = fleet.pools.map((pool) => ({
    name: pool.name,
    desired: pool.count,
    agents: instances
      .filter((i) => i.pool === pool.name)
      .sort((a, b) => a.launchedAt - b.launchedAt || (a.id < b.id ? -1 : 1))
      .map((instance): AgentStatus => {
        const node = nodes.get(agentName(pool.name, instance.id));
        if (node) shown.add(node.name);
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
          ageSeconds: instance.host ? null : Math.max(0, Math.round((observed.now - instance.launchedAt) / 1000)),
        };
      }),
  }));

  const orphanInstances = instances
    .filter((i) => !i.host && (!known.has(i.pool) || !nodes.has(agentName(i.pool, i.id))))
    .map((i) => i.id)
    .sort();
  const liveIds = new Set(instances.map((i) => i.id));
  const orphanNodes = [...nodes.values()]
    .filter((n) => !shown.has(n.name) && !liveIds.has(parseAgentName(n.name)?.instanceId ?? ''))
    .map((n) => n.name)
    .sort();
  return { fleet: fleet.fleet, pools, orphans: { instances: orphanInstances, nodes: orphanNodes } };
}
