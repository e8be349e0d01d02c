// The one join of what was observed: the fleet's instances, the static pools' hosts, the
// controller's nodes and the agents' secret parameters become one record per agent, with the
// rules that say which node is the fleet's and which pool an agent belongs to. The planner,
// `status` and the wait for agents coming online all read the fleet through it. Pure.
import { isStaticPool } from '../config/schema.ts';
import {
  agentName,
  isStaticHostId,
  lifeOf,
  parseAgentName,
  parseNodeDescription,
  staticHostId,
  type AgentNode,
  type Fleet,
  type Instance,
  type InstanceLife,
  type Observed,
  type Pool,
  type SecretParameter,
} from '../model.ts';

/** One agent of the fleet, as far as any of the systems knows it. */
export interface Agent {
  /** Its node name, `<pool>-<instance-id>`, whether the node exists yet or not. */
  name: string;
  /**
   * The pool it belongs to: its instance's pool tag, else its node's description or name; '' when
   * nothing says (a secret whose instance is gone).
   */
  pool: string;
  /** That pool in the fleet file; undefined when the file no longer has it. */
  wanted?: Pool;
  /** The EC2 instance id, or a static host's `h-...` stand-in for one. */
  instanceId?: string;
  /** Its instance (any state) or static host, if there is one. */
  instance?: Instance;
  /** Where the instance is in its life; undefined when there is no instance. */
  life?: InstanceLife;
  /** The fleet's node of this name. */
  node?: AgentNode;
  /**
   * A node whose name names an instance that carries another pool's tag: that instance. Its agent
   * may be the one connected there, so the node is left alone while the instance lives.
   */
  namesInstanceOf?: Instance;
  /** The agent's secret parameter (SSM pools). */
  secret?: SecretParameter;
}

export interface PoolInventory {
  pool: Pool;
  /** The pool's agents whose instance or host is not gone (live or stopped), oldest first. */
  members: Agent[];
}

export interface Inventory {
  fleet: Fleet;
  /** When the observation was made (epoch milliseconds). */
  now: number;
  /** Every agent, in a stable order: by pool, then name. */
  agents: Agent[];
  /** Each pool of the fleet file, in the file's order, with its members. */
  pools: PoolInventory[];
}

/** Whether a node is the fleet's: its description says so, or its name names one of the fleet's instances. */
function isFleetNode(fleet: Fleet, node: AgentNode, instanceIds: ReadonlySet<string>): boolean {
  // A deleted node's computer stays listed until its build ends; nothing can be done to it.
  if (node.deleted) return false;
  const described = parseNodeDescription(node.description);
  if (described) return described.fleet === fleet.fleet;
  const named = parseAgentName(node.name);
  return named !== undefined && instanceIds.has(named.instanceId);
}

/** The static pools' hosts, as instances that always run. */
function staticHosts(fleet: Fleet): Instance[] {
  return fleet.pools.flatMap((pool) =>
    isStaticPool(pool)
      ? pool.hosts.map((host): Instance => ({ id: staticHostId(host.address, host.port), pool: pool.name, region: pool.region, state: 'running', launchedAt: 0, host }))
      : [],
  );
}

export function inventory(fleet: Fleet, observed: Observed): Inventory {
  const pools = new Map(fleet.pools.map((p) => [p.name, p]));
  const instances = new Map<string, Instance>();
  for (const instance of [...observed.instances, ...staticHosts(fleet)]) if (!instances.has(instance.id)) instances.set(instance.id, instance);
  const ids = new Set(instances.keys());

  const byName = new Map<string, Agent>();
  const record = (agent: Agent) => {
    if (agent.pool) agent.wanted = pools.get(agent.pool);
    if (agent.instance) agent.life = lifeOf(agent.instance.state);
    byName.set(agent.name, agent);
    return agent;
  };
  for (const instance of instances.values()) {
    record({ name: agentName(instance.pool, instance.id), pool: instance.pool, instanceId: instance.id, instance });
  }
  for (const node of observed.nodes) {
    if (!isFleetNode(fleet, node, ids)) continue;
    const joined = byName.get(node.name);
    if (joined) {
      joined.node = node;
      continue;
    }
    const instanceId = parseAgentName(node.name)?.instanceId;
    const pool = parseNodeDescription(node.description)?.pool ?? parseAgentName(node.name)?.pool ?? '';
    const named = instanceId ? instances.get(instanceId) : undefined;
    record({ name: node.name, pool, node, ...(instanceId ? { instanceId } : {}), ...(named ? { namesInstanceOf: named } : {}) });
  }
  for (const secret of observed.secrets) {
    const instance = instances.get(secret.instanceId);
    const owner = instance ? byName.get(agentName(instance.pool, instance.id)) : undefined;
    if (owner) owner.secret = secret;
    else record({ name: secret.instanceId, pool: '', instanceId: secret.instanceId, secret });
  }

  const agents = [...byName.values()].sort((a, b) => compare(a.pool, b.pool) || compare(a.name, b.name));
  return {
    fleet,
    now: observed.now,
    agents,
    pools: fleet.pools.map((pool) => ({
      pool,
      members: agents
        .filter((a) => a.pool === pool.name && a.instance !== undefined && a.life !== 'gone')
        .sort((a, b) => (a.instance as Instance).launchedAt - (b.instance as Instance).launchedAt || compare(a.name, b.name)),
    })),
  };
}

/** Whether the agent runs on a static pool's host (never launched or terminated) rather than on EC2. */
export function onStaticHost(agent: Agent): boolean {
  return agent.instance?.host !== undefined || (agent.instanceId !== undefined && isStaticHostId(agent.instanceId));
}

/** Whether a machine that is not gone stands behind the agent's node and secret, so they are in use. */
export function hasMachine(agent: Agent): boolean {
  const machine = agent.instance ?? agent.namesInstanceOf;
  return machine !== undefined && lifeOf(machine.state) !== 'gone';
}

/** Which pool each of the fleet's nodes belongs to: for attributing queued builds to pools. */
export function nodePools(inventory: Inventory): Map<string, string> {
  return new Map(inventory.agents.flatMap((a) => (a.node ? [[a.node.name, a.pool] as [string, string]] : [])));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
