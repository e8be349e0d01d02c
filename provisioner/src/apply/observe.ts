// One observation of the world for the planner: the fleet's instances in every region it uses,
// the controller's nodes, the agents' secret parameters and the Spot pools' launch templates, read
// concurrently. The static pools'
// hosts are not observed: the inventory (plan/inventory.ts) takes them from the fleet file.
import { isStaticPool } from '../config/schema.ts';
import { parseSecretParameterName, secretParameterPrefix, type AgentNode, type Fleet, type NodeSettings, type Observed, type PoolResolution } from '../model.ts';
import { inventory } from '../plan/inventory.ts';
import { bootstrapDigest } from '../transport/bootstrap.ts';
import type { Systems } from './apply.ts';
import { limiter } from './batch.ts';

/** Every region the fleet may have instances in: its own and its EC2 pools'. */
export function fleetRegions(fleet: Fleet): string[] {
  return [...new Set([fleet.region, ...fleet.pools.filter((p) => !isStaticPool(p)).map((p) => p.region)])];
}

export interface ObserveOptions {
  /**
   * Also read each of the fleet's nodes' config.xml (one call per node) and resolve each pool's image,
   * so that the planner can compare every setting with the file. On by default.
   */
  settings?: boolean;
  /** Settings an earlier observation read, reused where still fresh instead of reading config.xml again. */
  settingsCache?: NodeSettingsCache;
}

/**
 * `watch`'s reuse of the nodes' settings from tick to tick. Reading them is one config.xml call per
 * node: 1,000 a tick at 1,000 agents, for settings that change only when someone edits a node (the
 * fleet itself changes them only by a reconfigure, after which it forgets that node). Reading only
 * when the node list changes would never see a hand edit in Jenkins; so a node new to the list is
 * read at once, and every node again every `refreshEvery` observations (12: a minute at the default
 * 5 s tick), which bounds how long a hand edit or a missed reconfigure goes unseen. A changed
 * fleet file means a new process (the file is read at start), whose cache starts empty.
 */
export class NodeSettingsCache {
  private readonly known = new Map<string, NodeSettings>();
  private observations = 0;

  constructor(readonly refreshEvery = 12) {}

  /** One more observation: on every `refreshEvery`-th everything is read again; nodes gone are forgotten. */
  startObservation(nodes: readonly AgentNode[]): void {
    if (this.observations % this.refreshEvery === 0) this.known.clear();
    this.observations += 1;
    const present = new Set(nodes.map((n) => n.name));
    for (const name of this.known.keys()) if (!present.has(name)) this.known.delete(name);
  }

  get(name: string): NodeSettings | undefined {
    return this.known.get(name);
  }

  set(name: string, settings: NodeSettings): void {
    this.known.set(name, settings);
  }

  /** Its settings were just changed (a reconfigure): read them again at the next observation. */
  forget(name: string): void {
    this.known.delete(name);
  }
}

export async function observe(fleet: Fleet, systems: Systems, now: () => number = Date.now, options: ObserveOptions = {}): Promise<Observed> {
  const regions = fleetRegions(fleet);
  const detailed = options.settings ?? true;
  const [instances, nodes, secrets, launchTemplates, resolved] = await Promise.all([
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
    detailed ? resolvePools(fleet, systems) : Promise.resolve(undefined),
  ]);
  const observed: Observed = { instances, nodes, secrets, launchTemplates, now: now() };
  if (resolved) observed.resolved = resolved;
  if (detailed) await readSettings(fleet, systems, observed, options.settingsCache);
  return observed;
}

/** Each EC2 pool's image as an AMI now, and its bootstrap's digest. An image that cannot be resolved is left out (not compared); the launch reports why. */
async function resolvePools(fleet: Fleet, systems: Systems): Promise<Record<string, PoolResolution>> {
  const entries = await Promise.all(
    fleet.pools.map(async (pool): Promise<[string, PoolResolution]> => {
      const resolution: PoolResolution = { bootstrap: bootstrapDigest(fleet, pool) };
      if (!isStaticPool(pool)) {
        try {
          resolution.imageId = await systems.compute(pool.region).resolveImage(pool.image);
        } catch {
          // Not compared this time; launching reports the failure with the remote's words.
        }
      }
      return [pool.name, resolution];
    }),
  );
  return Object.fromEntries(entries);
}

/** The config.xml of every node of a pool still in the file (their settings are compared with it), a few calls at a time. */
async function readSettings(fleet: Fleet, systems: Systems, observed: Observed, cache?: NodeSettingsCache): Promise<void> {
  const limit = limiter(8);
  const ours = inventory(fleet, observed).agents.flatMap((agent): AgentNode[] => (agent.node && agent.wanted ? [agent.node] : []));
  cache?.startObservation(observed.nodes);
  await Promise.all(
    ours.map((node) => {
      const known = cache?.get(node.name);
      if (known) {
        node.settings = known;
        return undefined;
      }
      return limit(async () => {
        const settings = await systems.controller.nodeSettings(node.name);
        if (settings) {
          node.settings = settings;
          cache?.set(node.name, settings);
        }
      });
    }),
  );
}
