// One observation of the world for the planner: the fleet's instances in every region it uses,
// the controller's nodes, the agents' secret parameters and the Spot pools' launch templates, read
// concurrently. The static pools'
// hosts are not observed: the inventory (plan/inventory.ts) takes them from the fleet file.
import { isStaticPool } from '../config/schema.ts';
import { parseSecretParameterName, secretParameterPrefix, type Fleet, type Observed } from '../model.ts';
import type { Systems } from './apply.ts';

/** Every region the fleet may have instances in: its own and its EC2 pools'. */
export function fleetRegions(fleet: Fleet): string[] {
  return [...new Set([fleet.region, ...fleet.pools.filter((p) => !isStaticPool(p)).map((p) => p.region)])];
}

export async function observe(fleet: Fleet, systems: Systems, now: () => number = Date.now): Promise<Observed> {
  const regions = fleetRegions(fleet);
  const [instances, nodes, secrets, launchTemplates] = await Promise.all([
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
    Promise.all(regions.map((region) => systems.compute(region).listLaunchTemplates(fleet.fleet))).then((lists) => lists.flat()),
  ]);
  return { instances, nodes, secrets, launchTemplates, now: now() };
}
