import { describe, expect, it } from 'vitest';
import { applyPlan } from '../../../provisioner/src/apply/apply.ts';
import type { ProgressEvent } from '../../../provisioner/src/apply/events.ts';
import { observe } from '../../../provisioner/src/apply/observe.ts';
import { NodeWatch } from '../../../provisioner/src/apply/watch.ts';
import type { Fleet } from '../../../provisioner/src/model.ts';
import { planDown, planUp } from '../../../provisioner/src/plan/plan.ts';
import { ec2Pool, fleetOf } from '../../support/fleet.ts';
import { Crash, World } from '../../support/world.ts';

const image = 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';

function fleetWith(counts: Record<string, number>): Fleet {
  return fleetOf(
    Object.entries(counts).map(([name, count]) => ec2Pool(name, { count, image, settings: { tools: ['python'] } })),
    { url: 'http://jenkins.test/' },
  );
}

async function up(world: World, fleet: Fleet, options: { deadlineMs?: number; force?: boolean } = {}) {
  const systems = world.systems(fleet);
  const events: ProgressEvent[] = [];
  const plan = planUp(fleet, await observe(fleet, systems, () => world.now));
  const watch = new NodeWatch(systems.controller, 1, async () => {});
  const result = await applyPlan(fleet, plan, systems, {
    deadline: Date.now() + (options.deadlineMs ?? 5_000),
    force: options.force,
    reporter: { event: (e) => events.push(e) },
    watch,
    now: () => world.now,
  });
  return { plan, result, events };
}

function liveInstances(world: World, pool?: string) {
  return [...world.instances.values()].filter((i) => i.state !== 'terminated' && (!pool || i.pool === pool));
}

describe('applying a plan', () => {
  it('brings a fleet up from nothing: every agent launched, registered, bootstrapped and online', async () => {
    const world = new World();
    const fleet = fleetWith({ awsDeploy: 3, awsDeploy2: 2 });
    const { result } = await up(world, fleet);
    expect(result.failures).toEqual([]);
    expect(liveInstances(world)).toHaveLength(5);
    expect([...world.nodes.values()].every((n) => n.online)).toBe(true);
    expect(result.online).toHaveLength(5);
    expect(world.calls.filter((c) => c.startsWith('SendCommand'))).toHaveLength(2); // one per pool
    expect(liveInstances(world).every((i) => i.bootstrappedAt !== undefined)).toBe(true);
  });

  it('makes no mutating call when run again on a fleet that matches', async () => {
    const world = new World();
    const fleet = fleetWith({ awsDeploy: 2 });
    await up(world, fleet);
    const before = world.calls.length;
    const { plan } = await up(world, fleet);
    expect(plan.actions).toEqual([]);
    expect(world.calls.slice(before)).toEqual([]);
  });

  it('converges to exactly the wanted fleet when killed after any mutating call and run again', async () => {
    const fleet = fleetWith({ awsDeploy: 3, awsDeploy2: 2 });
    const total = await (async () => {
      const world = new World();
      await up(world, fleet);
      return world.calls.length;
    })();
    for (let k = 0; k < total; k++) {
      const world = new World();
      world.crashAfter = k;
      await up(world, fleet).catch((err) => {
        if (!(err instanceof Crash)) throw err;
      });
      world.crashAfter = Infinity;
      const { result } = await up(world, fleet);
      expect(result.failures, `crash after ${k} calls`).toEqual([]);
      expect(liveInstances(world, 'awsDeploy'), `crash after ${k} calls`).toHaveLength(3);
      expect(liveInstances(world, 'awsDeploy2'), `crash after ${k} calls`).toHaveLength(2);
      expect(world.nodes.size, `crash after ${k} calls`).toBe(5);
      expect([...world.nodes.values()].every((n) => n.online), `crash after ${k} calls`).toBe(true);
      expect((await up(world, fleet)).plan.actions, `crash after ${k} calls`).toEqual([]);
    }
  });

  it('fills a pool from its other subnet when one has no capacity', async () => {
    const world = new World();
    world.fullSubnets.add('subnet-0000000a');
    const { result, events } = await up(world, fleetWith({ awsDeploy: 3 }));
    expect(result.failures).toEqual([]);
    expect(liveInstances(world).map((i) => i.subnetId)).toEqual(['subnet-0000000b', 'subnet-0000000b', 'subnet-0000000b']);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'note', message: expect.stringContaining('no capacity in subnet-0000000a') }));
  });

  it('fails only the agent whose bootstrap failed, naming the step and the host\'s words', async () => {
    const world = new World();
    const fleet = fleetWith({ awsDeploy: 3 });
    // The world numbers instances in launch order: break the second.
    world.brokenHosts.add('i-00000000000000002');
    const { result } = await up(world, fleet);
    expect(result.online).toHaveLength(2);
    expect(result.failures).toEqual([
      expect.objectContaining({ agent: 'awsDeploy-i-00000000000000002', step: 'bootstrap', error: expect.stringContaining('no java for you') }),
    ]);
  });

  it('drains a busy agent on scale-down and removes it only once idle', async () => {
    const world = new World();
    await up(world, fleetWith({ awsDeploy: 1 }));
    const [busy] = [...world.nodes.values()];
    busy!.idle = false;
    const first = await up(world, fleetWith({ awsDeploy: 0 }), { deadlineMs: 50 });
    expect(first.result.failures).toEqual([expect.objectContaining({ agent: busy!.name, step: 'drain', error: expect.stringContaining('still running a build') })]);
    expect(world.nodes.get(busy!.name)?.temporarilyOffline).toBe(true);
    expect(liveInstances(world)).toHaveLength(1);

    busy!.idle = true;
    const second = await up(world, fleetWith({ awsDeploy: 0 }));
    expect(second.result.failures).toEqual([]);
    expect(world.nodes.size).toBe(0);
    expect(liveInstances(world)).toHaveLength(0);
    expect(world.strayParams()).toEqual([]);
  });

  it('down removes everything, a busy agent too when forced', async () => {
    const world = new World();
    const fleet = fleetWith({ awsDeploy: 2, awsDeploy2: 1 });
    await up(world, fleet);
    [...world.nodes.values()][0]!.idle = false;
    const systems = world.systems(fleet);
    const plan = planDown(fleet, await observe(fleet, systems, () => world.now));
    const result = await applyPlan(fleet, plan, systems, { deadline: Date.now() + 1000, force: true, reporter: { event: () => {} }, watch: new NodeWatch(systems.controller, 1, async () => {}) });
    expect(result.failures).toEqual([]);
    expect(world.nodes.size).toBe(0);
    expect(liveInstances(world)).toHaveLength(0);
    expect(world.params.size).toBe(0);
  });

  it('launches again after up, down, up: the spent token of the first launch is walked past', async () => {
    const world = new World();
    const fleet = fleetWith({ awsDeploy: 2 });
    const first = await up(world, fleet);
    expect(first.result.failures).toEqual([]);
    const systems = world.systems(fleet);
    const down = planDown(fleet, await observe(fleet, systems, () => world.now));
    expect((await applyPlan(fleet, down, systems, { deadline: Date.now() + 1000, reporter: { event: () => {} }, watch: new NodeWatch(systems.controller, 1, async () => {}) })).failures).toEqual([]);
    const again = await up(world, fleet);
    expect(again.plan.actions.filter((a) => a.type === 'launch').map((a) => (a as { clientToken: string }).clientToken))
      .toEqual(first.plan.actions.filter((a) => a.type === 'launch').map((a) => (a as { clientToken: string }).clientToken));
    expect(again.result.failures).toEqual([]);
    expect(liveInstances(world, 'awsDeploy')).toHaveLength(2);
    expect(world.nodes.size).toBe(2);
  });

  it('scales 2 -> 1 -> 2 twice, each scale-up launching anew although the state recurs', async () => {
    const world = new World();
    for (const count of [2, 1, 2, 1, 2]) {
      const { result } = await up(world, fleetWith({ awsDeploy: count }));
      expect(result.failures).toEqual([]);
      expect(liveInstances(world, 'awsDeploy')).toHaveLength(count);
    }
  });

  it('finds its own launch again when rerun after a crash that followed a walk past a spent token', async () => {
    const world = new World();
    const fleet = fleetWith({ awsDeploy: 1 });
    await up(world, fleet);
    await up(world, fleetWith({ awsDeploy: 0 }));
    // The next scale-up walks past the spent token, launches, and dies before EC2 lists the instance.
    const launched = world.instances.size;
    world.hideNewInstances = true;
    world.crashAfter = 1;
    await up(world, fleet).catch((err) => {
      if (!(err instanceof Crash)) throw err;
    });
    expect(world.instances.size).toBe(launched + 1);
    world.crashAfter = Infinity;
    // Still unlisted: the rerun plans the same launch, walks the same chain, and gets it back.
    const rerun = await up(world, fleet);
    expect(rerun.result.failures).toEqual([]);
    expect(world.instances.size, 'no second instance').toBe(launched + 1);
    world.hideNewInstances = false;
    expect(liveInstances(world, 'awsDeploy')).toHaveLength(1);
    expect((await up(world, fleet)).plan.actions).toEqual([]);
  });

  it('repairs what drifted: a deleted node, a terminated instance, an agent gone offline long ago', async () => {
    const world = new World();
    const fleet = fleetWith({ awsDeploy: 3 });
    await up(world, fleet);
    const [a, b, c] = [...world.nodes.values()];
    world.nodes.delete(a!.name);
    world.instances.get(b!.name.replace('awsDeploy-', ''))!.state = 'terminated';
    c!.online = false;
    world.now += 60 * 60_000;
    const { plan, result } = await up(world, fleet);
    expect(plan.actions.map((x) => x.type).sort()).toEqual(['bootstrap', 'delete-node', 'delete-secret', 'launch', 'register']);
    expect(result.failures).toEqual([]);
    expect(liveInstances(world)).toHaveLength(3);
    expect([...world.nodes.values()].filter((n) => n.online)).toHaveLength(3);
    expect(world.strayParams()).toEqual([]);
  });
});
