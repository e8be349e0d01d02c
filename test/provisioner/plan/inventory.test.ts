// The inventory: one record per agent from the fleet file and one observation, with the rules of
// which node is the fleet's and which pool an agent belongs to. Table tests, no mocks.
import { describe, expect, it } from 'vitest';
import { agentName, nodeDescription, type AgentNode, type Instance, type SecretParameter } from '../../../provisioner/src/model.ts';
import { hasMachine, inventory, nodePools } from '../../../provisioner/src/plan/inventory.ts';
import { ec2Pool, fleetOf, staticPool } from '../../support/fleet.ts';
import { goodNameProblem } from '../../../provisioner/sandbox/src/jenkins.ts';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const fleet = fleetOf([ec2Pool('awsDeploy', { count: 2 }), staticPool('rack', [{ address: '10.1.0.5' }])]);

const instance = (id: string, pool: string, state: Instance['state'] = 'running', launchedAt = NOW - 60_000): Instance => ({ id, pool, region: 'us-east-1', state, launchedAt });
const node = (name: string, extra: Partial<AgentNode> = {}): AgentNode => ({ name, online: true, temporarilyOffline: false, idle: true, labels: [], executors: 1, ...extra });
const ours = (pool: string, id: string, extra: Partial<AgentNode> = {}) => node(agentName(pool, id), { description: nodeDescription('bank-ci', pool, id), ...extra });
const secret = (id: string): SecretParameter => ({ name: `/jenkins-fleet/bank-ci/agents/${id}/secret`, instanceId: id, region: 'us-east-1' });

const a = 'i-0000000000000000a';
const b = 'i-0000000000000000b';
const c = 'i-0000000000000000c';

describe('the inventory', () => {
  it('joins an instance, its node and its secret into one agent of its pool', () => {
    const world = inventory(fleet, { instances: [instance(a, 'awsDeploy')], nodes: [ours('awsDeploy', a)], secrets: [secret(a)], now: NOW });
    const agent = world.agents.find((x) => x.instanceId === a)!;
    expect(agent).toMatchObject({ name: `awsDeploy-${a}`, pool: 'awsDeploy', life: 'live', node: { name: `awsDeploy-${a}` }, secret: { instanceId: a } });
    expect(agent.wanted?.name).toBe('awsDeploy');
    expect(world.pools.map((p) => [p.pool.name, p.members.map((m) => m.name)])).toEqual([
      ['awsDeploy', [`awsDeploy-${a}`]],
      ['rack', ['rack-h-10.1.0.5']],
    ]);
  });

  it("takes the static pools' hosts from the fleet file, as machines that always run", () => {
    const world = inventory(fleet, { instances: [], nodes: [], secrets: [], now: NOW });
    expect(world.agents).toEqual([expect.objectContaining({ name: 'rack-h-10.1.0.5', pool: 'rack', instanceId: 'h-10.1.0.5', life: 'live', instance: expect.objectContaining({ host: { address: '10.1.0.5' } }) })]);
  });

  it("names a host given by its fully qualified name with the root's dot as Jenkins accepts a node name", () => {
    // Jenkins.checkGoodName refuses a name ending in '.': the sandbox's Jenkins refused
    // 'rack-h-build1.bank.internal.' once it applied that rule, as the real controller would.
    const fqdn = fleetOf([staticPool('rack', [{ address: 'build1.bank.internal.' }])]);
    const [agent] = inventory(fqdn, { instances: [], nodes: [], secrets: [], now: NOW }).agents;
    expect(agent).toMatchObject({ name: 'rack-h-build1.bank.internal', instanceId: 'h-build1.bank.internal', instance: { host: { address: 'build1.bank.internal.' } } });
    expect(goodNameProblem(agent!.name)).toBeUndefined();
  });

  it.each([
    ['live', 'pending'],
    ['live', 'running'],
    ['stopped', 'stopping'],
    ['stopped', 'stopped'],
    ['gone', 'shutting-down'],
    ['gone', 'terminated'],
  ] as const)('reads an instance that is %s from its state %s', (life, state) => {
    const world = inventory(fleet, { instances: [instance(a, 'awsDeploy', state)], nodes: [], secrets: [], now: NOW });
    expect(world.agents.find((x) => x.instanceId === a)?.life).toBe(life);
    expect(world.pools[0]!.members.length).toBe(life === 'gone' ? 0 : 1);
  });

  it("counts a node as the fleet's by its description, or by a name that names one of the fleet's instances", () => {
    const nodes = [
      ours('awsDeploy', b), // described: ours, though its instance is gone from view
      node(agentName('awsDeploy', a)), // undescribed, names an instance of the fleet
      node(agentName('awsDeploy', c)), // undescribed, names no instance of the fleet: someone else's
      node('static-mac-mini'),
      { ...ours('awsDeploy', 'i-0000000000000000d'), description: nodeDescription('other-fleet', 'awsDeploy', 'i-0000000000000000d') },
      { ...ours('awsDeploy', 'i-0000000000000000e'), deleted: true }, // deleted, listed only until its build ends
    ];
    const world = inventory(fleet, { instances: [instance(a, 'awsDeploy')], nodes, secrets: [], now: NOW });
    expect(world.agents.filter((x) => x.node).map((x) => x.node!.name)).toEqual([`awsDeploy-${a}`, `awsDeploy-${b}`]);
  });

  it('tells which agents have a machine behind them', () => {
    const world = inventory(fleet, {
      instances: [instance(a, 'awsDeploy'), instance(b, 'awsDeploy', 'terminated')],
      nodes: [ours('awsDeploy', a), ours('awsDeploy', b), ours('awsDeploy', c)],
      secrets: [secret(b), secret('i-0000000000000000f')],
      now: NOW,
    });
    const machine = Object.fromEntries(world.agents.map((x) => [x.name, hasMachine(x)]));
    expect(machine).toEqual({ [`awsDeploy-${a}`]: true, [`awsDeploy-${b}`]: false, [`awsDeploy-${c}`]: false, 'rack-h-10.1.0.5': true, 'i-0000000000000000f': false });
    // A secret whose instance is unknown is an agent of no pool.
    expect(world.agents.find((x) => x.name === 'i-0000000000000000f')).toMatchObject({ pool: '', secret: { instanceId: 'i-0000000000000000f' } });
  });

  it("leaves a node named after another pool's live instance with that instance beside it", () => {
    const world = inventory(fleet, { instances: [instance(a, 'awsDeploy')], nodes: [ours('oldName', a)], secrets: [], now: NOW });
    const renamed = world.agents.find((x) => x.name === `oldName-${a}`)!;
    expect(renamed).toMatchObject({ pool: 'oldName', wanted: undefined, namesInstanceOf: { id: a } });
    expect(renamed.instance).toBeUndefined();
    expect(hasMachine(renamed)).toBe(true);
  });

  it('lists each pool\'s members oldest first, and which pool each node belongs to', () => {
    const world = inventory(fleet, {
      instances: [instance(b, 'awsDeploy', 'running', NOW - 1_000), instance(a, 'awsDeploy', 'running', NOW - 5_000), instance(c, 'gone-pool')],
      nodes: [ours('awsDeploy', a), ours('awsDeploy', b), ours('gone-pool', c)],
      secrets: [],
      now: NOW,
    });
    expect(world.pools[0]!.members.map((m) => m.instanceId)).toEqual([a, b]);
    expect(world.agents.find((x) => x.instanceId === c)).toMatchObject({ pool: 'gone-pool', wanted: undefined });
    expect(nodePools(world)).toEqual(new Map([[`awsDeploy-${a}`, 'awsDeploy'], [`awsDeploy-${b}`, 'awsDeploy'], [`gone-pool-${c}`, 'gone-pool']]));
  });
});
