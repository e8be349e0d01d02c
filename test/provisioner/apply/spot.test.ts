// Spot pools in the executor, against the in-memory world: CreateFleet from the pool's launch
// template across every type x subnet, the On-Demand shortfall in the same run, the capacity memory,
// crashes at every mutating call, and launch templates never left behind.
import { describe, expect, it } from 'vitest';
import { applyPlan } from '../../../provisioner/src/apply/apply.ts';
import { CapacityMemory } from '../../../provisioner/src/apply/capacity-memory.ts';
import type { ProgressEvent } from '../../../provisioner/src/apply/events.ts';
import { observe } from '../../../provisioner/src/apply/observe.ts';
import { NodeWatch } from '../../../provisioner/src/apply/watch.ts';
import type { Fleet } from '../../../provisioner/src/model.ts';
import { describeAction } from '../../../provisioner/src/cli/format.ts';
import { planDown, planUp } from '../../../provisioner/src/plan/plan.ts';
import { ec2Pool, fleetOf } from '../../support/fleet.ts';
import { Crash, World } from '../../support/world.ts';

const types = '[{ type: m5.large, executors: 2 }, { type: c5.xlarge, executors: 4 }]';

function spotFleet(capacity: string, count = 3, extra = ''): Fleet {
  const pool = ec2Pool('spot', { count, settings: { capacity } }).replace('    instanceType: t3.medium\n', `    instanceTypes: ${types}\n`);
  return fleetOf([pool + extra], { url: 'http://jenkins.test/' });
}

async function up(world: World, fleet: Fleet, capacityMemory?: CapacityMemory) {
  const systems = world.systems(fleet);
  const events: ProgressEvent[] = [];
  const plan = planUp(fleet, await observe(fleet, systems, () => world.now));
  const result = await applyPlan(fleet, plan, systems, {
    deadline: Date.now() + 5_000,
    reporter: { event: (e) => events.push(e) },
    watch: new NodeWatch(systems.controller, 1, async () => {}),
    now: () => world.now,
    ...(capacityMemory ? { capacityMemory } : {}),
  });
  return { plan, result, events };
}

const live = (world: World) => [...world.instances.values()].filter((i) => i.state !== 'terminated');

describe('Spot pools', () => {
  it('launch through one CreateFleet from the pool\'s launch template, each agent with its type\'s executors', async () => {
    const world = new World();
    world.spotCapacity.set('m5.large', 1);
    const { result } = await up(world, spotFleet('spot'));
    expect(result.failures).toEqual([]);
    expect(world.calls.filter((c) => /^(CreateLaunchTemplate|CreateFleet|RunInstances)/.test(c))).toEqual(['CreateLaunchTemplate jenkins-fleet-bank-ci-spot', 'CreateFleet spot spot x3']);
    expect(live(world).every((i) => i.market === 'spot')).toBe(true);
    const executors = Object.fromEntries([...world.nodes.values()].map((n) => [n.name, n.executors]));
    for (const i of live(world)) expect(executors[`spot-${i.id}`]).toBe(i.instanceType === 'm5.large' ? 2 : 4);
    const before = world.calls.length;
    expect((await up(world, spotFleet('spot'))).plan.actions).toEqual([]);
    expect(world.calls.slice(before)).toEqual([]);
  });

  it('are planned as Spot launches, which the plan says go out as one CreateFleet', async () => {
    const world = new World();
    const fleet = spotFleet('spot-then-on-demand', 3);
    const plan = planUp(fleet, await observe(fleet, world.systems(fleet), () => world.now));
    expect(plan.actions.map((a) => (a.type === 'launch' ? [a.count, a.capacity] : a.type))).toEqual([[2, 'spot-then-on-demand'], [1, 'spot-then-on-demand']]);
    expect(describeAction(plan.actions[0]!)).toBe('+ launch 2 instances of pool spot on Spot (us-east-1; CreateFleet across every type and subnet, On-Demand for what Spot cannot give)');
  });

  it('take the other types when one type has no Spot capacity', async () => {
    const world = new World();
    world.spotCapacity.set('m5.large', 0);
    const { result } = await up(world, spotFleet('spot'));
    expect(result.failures).toEqual([]);
    expect(live(world).map((i) => i.instanceType)).toEqual(['c5.xlarge', 'c5.xlarge', 'c5.xlarge']);
  });

  it('launch the shortfall on demand in the same run when Spot has no capacity for any type, or fail it under capacity: spot', async () => {
    const world = new World();
    world.spotCapacity.set('m5.large', 0);
    world.spotCapacity.set('c5.xlarge', 0);
    const { result, events } = await up(world, spotFleet('spot-then-on-demand'));
    expect(result.failures).toEqual([]);
    expect(live(world)).toHaveLength(3);
    expect(live(world).every((i) => i.market !== 'spot')).toBe(true);
    expect(world.calls.filter((c) => c.startsWith('RunInstances'))).toEqual(['RunInstances spot subnet-0000000a x3']);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'note', message: expect.stringMatching(/^3 instance\(s\) short on Spot .*InsufficientInstanceCapacity.*: launching them on demand$/) }));

    const spotOnly = new World();
    spotOnly.spotCapacity.set('m5.large', 0);
    spotOnly.spotCapacity.set('c5.xlarge', 0);
    const failed = await up(spotOnly, spotFleet('spot'));
    expect(failed.result.failures).toEqual([expect.objectContaining({ pool: 'spot', step: 'launch', error: expect.stringMatching(/^3 Spot instance\(s\) could not be launched: .*InsufficientInstanceCapacity/) })]);
    expect(live(spotOnly)).toHaveLength(0);
  });

  it('read a partial answer: what Spot gave stays, only the rest goes on demand', async () => {
    const world = new World();
    world.spotCapacity.set('m5.large', 1);
    world.spotCapacity.set('c5.xlarge', 0);
    const { result } = await up(world, spotFleet('spot-then-on-demand', 4));
    expect(result.failures).toEqual([]);
    expect(live(world).filter((i) => i.market === 'spot').map((i) => i.instanceType)).toEqual(['m5.large']);
    expect(live(world).filter((i) => i.market !== 'spot')).toHaveLength(3);
    expect(world.nodes.size).toBe(4);
  });

  it('leave out, for a few minutes, what just failed for capacity (in one process)', async () => {
    const world = new World();
    world.spotCapacity.set('m5.large', 0);
    const memory = new CapacityMemory(() => world.now);
    await up(world, spotFleet('spot', 1), memory);
    const first = [...world.tokens.values()].length;
    await up(world, spotFleet('spot', 2), memory);
    const requests = [...world.tokens.values()].slice(first).map((t) => JSON.parse(t.parameters) as { overrides?: Array<{ instanceType: string }> });
    const fleetCall = requests.find((r) => r.overrides);
    expect(fleetCall?.overrides?.map((o) => o.instanceType)).toEqual(['c5.xlarge', 'c5.xlarge']);
    world.now += 5 * 60_000 + 1;
    expect(memory.failing('spot', 'm5.large', 'subnet-0000000a')).toBe(false);
  });

  it('converge to exactly the wanted fleet when killed after any mutating call and run again, with no duplicate launch', async () => {
    const fleet = spotFleet('spot-then-on-demand', 4);
    const scene = (world: World) => { world.spotCapacity.set('m5.large', 1); world.spotCapacity.set('c5.xlarge', 1); world.hideNewInstances = true; };
    const total = await (async () => {
      const world = new World();
      scene(world);
      await up(world, fleet);
      return world.calls.length;
    })();
    for (let k = 0; k < total; k++) {
      const world = new World();
      scene(world);
      world.crashAfter = k;
      await up(world, fleet).catch((err) => {
        if (!(err instanceof Crash)) throw err;
      });
      world.crashAfter = Infinity;
      // The rerun does not see what the crashed run launched (eventual consistency): its tokens find it.
      await up(world, fleet);
      world.hideNewInstances = false;
      const { result } = await up(world, fleet);
      expect(result.failures, `crash after ${k} calls`).toEqual([]);
      expect(live(world), `crash after ${k} calls`).toHaveLength(4);
      expect(world.nodes.size, `crash after ${k} calls`).toBe(4);
      expect((await up(world, fleet)).plan.actions, `crash after ${k} calls`).toEqual([]);
    }
  });

  it('delete the pool\'s launch template on down, and when the pool leaves the file', async () => {
    const world = new World();
    const fleet = spotFleet('spot', 1);
    await up(world, fleet);
    expect(world.templates.size).toBe(1);
    const systems = world.systems(fleet);
    const plan = planDown(fleet, await observe(fleet, systems, () => world.now));
    expect(plan.actions.map((a) => a.type)).toContain('delete-launch-template');
    await applyPlan(fleet, plan, systems, { deadline: Date.now() + 1000, force: true, reporter: { event: () => {} }, watch: new NodeWatch(systems.controller, 1, async () => {}) });
    expect(world.templates.size).toBe(0);

    await up(world, fleet);
    expect(world.templates.size).toBe(1);
    const onDemand = fleetOf([ec2Pool('other', { count: 0 })], { url: 'http://jenkins.test/' });
    const { plan: removal } = await up(world, onDemand);
    expect(removal.actions).toContainEqual(expect.objectContaining({ type: 'delete-launch-template', pool: 'spot', reason: 'its pool is no longer in the fleet file' }));
    expect(world.templates.size).toBe(0);
  });
});
