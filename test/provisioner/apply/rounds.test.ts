import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../../provisioner/src/apply/events.ts';
import { observe } from '../../../provisioner/src/apply/observe.ts';
import { applyInRounds } from '../../../provisioner/src/apply/rounds.ts';
import { NodeWatch } from '../../../provisioner/src/apply/watch.ts';
import type { Fleet } from '../../../provisioner/src/model.ts';
import { planUp } from '../../../provisioner/src/plan/plan.ts';
import { ec2Pool, fleetOf, type Setting } from '../../support/fleet.ts';
import { Crash, World } from '../../support/world.ts';

function fleetWith(count: number, settings: Record<string, Setting> = {}): Fleet {
  return fleetOf([ec2Pool('awsDeploy', { count, settings: { tools: ['python'], ...settings } })], { url: 'http://jenkins.test/' });
}

async function up(world: World, fleet: Fleet, options: { deadlineMs?: number } = {}) {
  const systems = world.systems(fleet);
  const events: ProgressEvent[] = [];
  const observed = await observe(fleet, systems, () => world.now);
  const plan = planUp(fleet, observed);
  const result = await applyInRounds(fleet, { plan, observed }, systems, {
    deadline: Date.now() + (options.deadlineMs ?? 5_000),
    reporter: { event: (e) => events.push(e) },
    // Real (short) sleeps: a build ending on a timer must get its turn.
    watch: new NodeWatch(systems.controller, 1),
    now: () => world.now,
    waitReportMs: 5,
    observe: () => observe(fleet, systems, () => world.now),
  });
  return { plan, result, events };
}

const live = (world: World) => [...world.instances.values()].filter((i) => i.state !== 'terminated');

describe('rolling replacement', () => {
  it('replaces every out-of-date agent, never below count, and the next plan has nothing to do', async () => {
    const world = new World();
    await up(world, fleetWith(3));
    const before = live(world).map((i) => i.id);
    // The pool must never have fewer than 3 agents online: checked before every removal.
    const deleteNode = world.controller.deleteNode;
    let fewest = Infinity;
    world.controller.deleteNode = async (name) => {
      fewest = Math.min(fewest, [...world.nodes.values()].filter((n) => n.online && n.name !== name).length);
      return deleteNode(name);
    };
    const changed = fleetWith(3, { rootVolumeGiB: 100 });
    const { plan, result } = await up(world, changed);
    expect(plan.drift!.map((d) => d.how)).toEqual(['replace', 'replace', 'replace']);
    expect(result.failures).toEqual([]);
    expect(result.rounds).toBeGreaterThan(1);
    expect(live(world)).toHaveLength(3);
    expect(live(world).every((i) => i.launched?.rootVolumeGiB === 100 && !before.includes(i.id))).toBe(true);
    expect(world.nodes.size).toBe(3);
    expect(fewest).toBeGreaterThanOrEqual(3);
    expect(world.instances.size).toBe(6);
    const again = planUp(changed, await observe(changed, world.systems(changed), () => world.now));
    expect(again.actions).toEqual([]);
    expect(again.drift).toEqual([]);
  });

  it('waits for the build on an old agent to end before removing it, saying which agent and how long', async () => {
    const world = new World();
    await up(world, fleetWith(1));
    const old = [...world.nodes.values()][0]!;
    old.idle = false;
    old.running = [{ executor: 0, build: 'bank-app » main #12' }];
    let endedAt = 0;
    setTimeout(() => {
      old.idle = true;
      delete old.running;
      endedAt = Date.now();
    }, 300);
    const deleted: Array<{ name: string; at: number }> = [];
    const deleteNode = world.controller.deleteNode;
    world.controller.deleteNode = async (name) => {
      deleted.push({ name, at: Date.now() });
      return deleteNode(name);
    };
    const { result, events } = await up(world, fleetWith(1, { publicIp: true }));
    expect(result.failures).toEqual([]);
    const removal = deleted.find((d) => d.name === old.name);
    expect(removal && removal.at).toBeGreaterThanOrEqual(endedAt);
    expect(endedAt).toBeGreaterThan(0);
    const waits = events.filter((e) => e.kind === 'note' && e.agent === old.name).map((e) => (e as { message: string }).message);
    expect(waits[0]).toMatch(/^waiting for build bank-app » main #12 to end: \d+s of \d+s$/);
  });

  it('names the way on that exists when an old agent is still busy at the timeout', async () => {
    const world = new World();
    await up(world, fleetWith(1));
    const old = [...world.nodes.values()][0]!;
    old.idle = false;
    const systems = world.systems(fleetWith(1, { rootVolumeGiB: 50 }));
    const fleet = fleetWith(1, { rootVolumeGiB: 50 });
    const observed = await observe(fleet, systems, () => world.now);
    // A round with the replacement online: only the busy old one is left to take away.
    const first = await applyInRounds(fleet, { plan: planUp(fleet, observed), observed }, systems, {
      deadline: Date.now() + 300,
      reporter: { event: () => {} },
      watch: new NodeWatch(systems.controller, 1, async () => {}),
      now: () => world.now,
      busyAtTimeout: 'run `provisioner up` again once its build has ended',
      observe: () => observe(fleet, systems, () => world.now),
    });
    expect(first.failures).toEqual([expect.objectContaining({ agent: old.name, step: 'drain', error: 'still running a build at the timeout: run `provisioner up` again once its build has ended' })]);
    expect(world.nodes.get(old.name)?.temporarilyOffline).toBe(true);
  });

  it('finishes without duplicates or orphans when killed after any mutating call of a rolling replacement and run again', async () => {
    const changed = fleetWith(2, { rootVolumeGiB: 64 });
    const total = await (async () => {
      const world = new World();
      await up(world, fleetWith(2));
      const start = world.calls.length;
      await up(world, changed);
      return world.calls.length - start;
    })();
    expect(total).toBeGreaterThan(4);
    for (let k = 0; k < total; k++) {
      const world = new World();
      await up(world, fleetWith(2));
      world.crashAfter = k;
      await up(world, changed).catch((err) => {
        if (!(err instanceof Crash)) throw err;
      });
      world.crashAfter = Infinity;
      const { result } = await up(world, changed);
      const at = `killed after ${k} calls`;
      expect(result.failures, at).toEqual([]);
      expect(live(world), at).toHaveLength(2);
      expect(live(world).every((i) => i.launched?.rootVolumeGiB === 64), at).toBe(true);
      // Two old agents, two new ones: nothing launched twice.
      expect(world.instances.size, at).toBe(4);
      expect(world.nodes.size, at).toBe(2);
      expect([...world.nodes.values()].every((n) => n.online), at).toBe(true);
      expect(world.strayParams(), at).toEqual([]);
      const again = planUp(changed, await observe(changed, world.systems(changed), () => world.now));
      expect(again.actions, at).toEqual([]);
    }
  });
});
