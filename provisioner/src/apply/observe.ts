// One observation of the world for the planner: the fleet's instances in every region it uses,
// the controller's nodes and the agents' secret parameters, read concurrently. Static pools'
// hosts join as instances that always run.
import { isStaticPool } from '../config/schema.ts';
import { parseSecretParameterName, secretParameterPrefix, staticHostId, type Instance, type Observed, type Fleet } from '../model.ts';
import type { Systems } from './apply.ts';

/** Every region the fleet may have instances in: its own and its EC2 pools'. */
export function fleetRegions(fleet: Fleet): string[] {
  return [...new Set([fleet.region, ...fleet.pools.filter((p) => !isStaticPool(p)).map((p) => p.region)])];
}

export async function observe(fleet: Fleet, systems: Systems, now: () => number = Date.now): Promise<Observed> {
  const regions = fleetRegions(fleet);
  const [instances, nodes, secrets] = await Promise.all([
    Promise.all(regions.map((region) => systems.compute(region).listInstances(fleet.fleet))).then((lists) => lists.flat()),
    systems.controller.listNodes(),
    Promise.all(
      regions.map(async (region) => {
        const names = await systems.parameters(region).listNames(secretParameterPrefix(fleet.fleet));
        return names.flatMap((name) => {
          const instanceId = parseSecretParameterName(fleet.fleet, name);
          return instanceId ? [{ name, instanceId, region }] : [];
        });
      }),
    ).then((lists) => lists.flat()),
  ]);
  return { instances: [...instances, ...staticHosts(fleet)], nodes, secrets, now: now() };
}

function staticHosts(fleet: Fleet): Instance[] {
  return fleet.pools.flatMap((pool) =>
    isStaticPool(pool)
      ? pool.hosts.map((host) => ({
          id: staticHostId(host.address, host.port),
          pool: pool.name,
          region: pool.region,
          state: 'running' as const,
          launchedAt: 0,
          host,
        }))
      : [],
  );
}
