// What one tick of `watch` asks of the controller: at rest, the node list and the queue whatever the
// fleet's size; each node's config.xml only when the node is new, after watch changed it, or on the
// periodic re-read that bounds how long a hand edit in Jenkins goes unseen.
import { describe, expect, it } from 'vitest';
import { applyPlan } from '../../../provisioner/src/apply/apply.ts';
import { Autoscaler, drainSettledAfter } from '../../../provisioner/src/apply/autoscaler.ts';
import { NodeSettingsCache, observe } from '../../../provisioner/src/apply/observe.ts';
import { NodeWatch } from '../../../provisioner/src/apply/watch.ts';
import type { Fleet } from '../../../provisioner/src/model.ts';
import { planUp } from '../../../provisioner/src/plan/plan.ts';
import type { Controller, InterruptionQueue, QueueMessage } from '../../../provisioner/src/ports.ts';
import { ec2Pool, fleetOf } from '../../support/fleet.ts';
import { World } from '../../support/world.ts';

const agents = 40;
const fleet: Fleet = fleetOf([ec2Pool('awsDeploy', { count: agents, settings: { tools: ['python'] } })], { url: 'http://jenkins.test/' });

/** The world with the fleet up, and a controller that counts each call by method. */
async function running() {
  const world = new World();
  const systems = world.systems(fleet);
  const plan = planUp(fleet, await observe(fleet, systems, () => world.now));
  await applyPlan(fleet, plan, systems, { deadline: Date.now() + 5_000, reporter: { event: () => undefined }, watch: new NodeWatch(systems.controller, 1, async () => {}), now: () => world.now });
  expect([...world.nodes.values()].filter((n) => n.online)).toHaveLength(agents);
  const calls: string[] = [];
  const controller = new Proxy(world.controller, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Controller;
  const autoscaler = new Autoscaler(fleet, { ...systems, controller }, { reporter: { event: () => undefined }, now: () => world.now, pollMs: 1 });
  /** One tick (and the bring-up it started); resolves to the controller calls it made, by method. */
  const tick = async () => {
    const from = calls.length;
    await autoscaler.tick();
    await autoscaler.settle();
    world.now += 5_000;
    const made: Record<string, number> = {};
    for (const call of calls.slice(from)) made[call] = (made[call] ?? 0) + 1;
    return made;
  };
  return { world, tick };
}

describe("watch's calls to the controller per tick", () => {
  it(`reads each node's config.xml on the first tick, then only the node list and the queue until the re-read (${agents} agents)`, async () => {
    const { tick } = await running();
    expect(await tick()).toEqual({ listNodes: 1, readQueue: 1, nodeSettings: agents });
    const refresh = new NodeSettingsCache().refreshEvery;
    for (let n = 2; n <= refresh; n += 1) expect(await tick(), `tick ${n}`).toEqual({ listNodes: 1, readQueue: 1 });
    // Every refreshEvery-th tick reads every node again: a hand edit in Jenkins is seen within that.
    expect(await tick()).toEqual({ listNodes: 1, readQueue: 1, nodeSettings: agents });
    expect(await tick()).toEqual({ listNodes: 1, readQueue: 1 });
  });

  it('reads a node new to the list at once, and one it reconfigured again on the next tick', async () => {
    const { world, tick } = await running();
    await tick();
    // A person deletes a node: watch registers it again (a new node), and reads only its settings next tick.
    const [gone, edited] = [...world.nodes.keys()];
    world.nodes.delete(gone!);
    const registered = await tick();
    expect(registered.createNode).toBe(1);
    expect(registered.nodeSettings).toBeUndefined();
    expect((await tick()).nodeSettings).toBe(1);
    // A hand edit is seen at the re-read, reconfigured, and that node read once more on the next tick.
    world.nodes.get(edited!)!.labels = ['by-hand'];
    const refresh = new NodeSettingsCache().refreshEvery;
    let reconfiguredAt = 0;
    for (let n = 4; n <= refresh + 1 && reconfiguredAt === 0; n += 1) if ((await tick()).reconfigureNode === 1) reconfiguredAt = n;
    expect(reconfiguredAt).toBe(refresh + 1);
    expect(world.nodes.get(edited!)!.labels).not.toContain('by-hand');
    expect(await tick()).toEqual({ listNodes: 1, readQueue: 1, nodeSettings: 1 });
    expect(await tick()).toEqual({ listNodes: 1, readQueue: 1 });
  });
});

describe('a watch that begins to lead', () => {
  /** An ephemeral pool's two agents online and idle, brought up while no watch led (by `up` with count 2). */
  async function leaderless() {
    const world = new World();
    const up = fleetOf([ec2Pool('pullRequests', { count: 2, labels: ['pull-request'], settings: { executors: 1 } })], { url: 'http://jenkins.test/' });
    const systems = world.systems(up);
    await applyPlan(up, planUp(up, await observe(up, systems, () => world.now)), systems, { deadline: Date.now() + 5_000, reporter: { event: () => undefined }, watch: new NodeWatch(systems.controller, 1, async () => {}), now: () => world.now });
    const scaled = fleetOf([ec2Pool('pullRequests', { count: null, labels: ['pull-request'], settings: { executors: 1, min: 0, max: 4, minIdle: 1, ephemeral: true } })], { url: 'http://jenkins.test/' });
    const term = () => new Autoscaler(scaled, world.systems(scaled), { reporter: { event: () => undefined }, now: () => world.now, pollMs: 1 });
    return { world, term };
  }
  const offline = (world: World) => [...world.nodes.values()].filter((n) => n.temporarilyOffline).map((n) => [n.name, n.offlineReason]);

  it('retires every idle ephemeral agent at its first tick only, and a new term does it again', async () => {
    const { world, term } = await leaderless();
    const before = [...world.nodes.keys()];
    const first = term();
    const tick = await first.tick();
    await first.settle();
    expect(tick.decisions[0]).toMatchObject({ unwatched: before, reason: expect.stringContaining('retire 2 idle that may have run a build while no watch led') });
    expect(offline(world).filter(([name]) => before.includes(name!)).map(([, why]) => why)).toEqual(before.map(() => expect.stringContaining('may have run a build while no watch led')));
    // The same term's next tick sees the agent it launched for minIdle come online: that one stays.
    world.now += 1_000;
    const second = await first.tick();
    await first.settle();
    expect(second.decisions[0]?.unwatched).toEqual([]);
    const launched = [...world.nodes.values()].filter((n) => !before.includes(n.name) && !n.name.endsWith('-placeholder'));
    expect(launched.map((n) => n.temporarilyOffline)).toEqual([false]);
    // A new term (a takeover) knows nothing of it: retired too.
    world.now += 1_000;
    const next = await term().tick();
    expect(next.decisions[0]?.unwatched).toEqual(launched.map((n) => n.name));
  });
});

describe('the interruption queues, one per region', () => {
  /** A queue of one region holding `messages` until they are deleted, each receive and delete recorded. */
  function regionQueue(region: string, messages: QueueMessage[]): InterruptionQueue & { deleted: string[]; receives: number } {
    const waiting = [...messages];
    return {
      url: `https://sqs.${region}.amazonaws.com/111122223333/jenkins-fleet-bank-ci-interruptions`,
      deleted: [],
      receives: 0,
      async receive() {
        this.receives += 1;
        return waiting.splice(0);
      },
      async delete(message) {
        this.deleted.push(message.id);
      },
    };
  }

  it('reads every region\'s queue in a tick and in the look between ticks, acts on a notice from any, and deletes each message in the queue it came from', async () => {
    const small: Fleet = fleetOf([ec2Pool('awsDeploy', { count: 2 })], { url: 'http://jenkins.test/' });
    const world = new World();
    const systems = world.systems(small);
    await applyPlan(small, planUp(small, await observe(small, systems, () => world.now)), systems, { deadline: world.now + 60_000, reporter: { event: () => undefined }, watch: new NodeWatch(world.controller, 1), now: () => world.now });
    const [warned] = [...world.instances.keys()] as [string];
    const notice = (id: string): QueueMessage => ({ receipt: `r-${id}`, id, notice: { kind: 'warning', instanceId: warned, at: world.now, action: 'terminate' } });
    const east = regionQueue('us-east-1', [{ receipt: 'r-other', id: 'other', ignored: 'detail-type "EC2 Instance State-change Notification"' }]);
    const west = regionQueue('us-west-2', []);
    const autoscaler = new Autoscaler(small, { ...systems, interruptions: [east, west] }, { reporter: { event: () => undefined }, now: () => world.now, pollMs: 1 });

    await autoscaler.tick();
    await autoscaler.settle();
    expect([east.receives, west.receives]).toEqual([1, 1]);
    expect([east.deleted, west.deleted]).toEqual([['other'], []]);

    // Between ticks a notice waits in the other region's queue: the look finds it, the tick acts on it.
    (west as unknown as { receive: () => Promise<QueueMessage[]> }).receive = async () => [notice('w1')];
    expect(await autoscaler.look((err) => { throw err; })).toMatchObject({ tickNow: 'notice' });
    west.receive = async () => [];
    await autoscaler.tick();
    await autoscaler.settle();
    expect(world.nodes.get(`awsDeploy-${warned}`)).toMatchObject({ temporarilyOffline: true, offlineReason: expect.stringContaining('EC2 Spot interruption warning') });
    expect([east.deleted, west.deleted]).toEqual([['other'], ['w1']]);
  });
});

describe('scale-in: the removal after a drain', () => {
  /** A scaled pool's one agent online and idle (min 0, idleAfter 10s), and a watch term over it. */
  async function oneIdle() {
    const world = new World();
    const up = fleetOf([ec2Pool('awsDeploy', { count: 1 })], { url: 'http://jenkins.test/' });
    const systems = world.systems(up);
    await applyPlan(up, planUp(up, await observe(up, systems, () => world.now)), systems, { deadline: Date.now() + 5_000, reporter: { event: () => undefined }, watch: new NodeWatch(systems.controller, 1, async () => {}), now: () => world.now });
    const scaled = fleetOf([ec2Pool('awsDeploy', { count: null, settings: { min: 0, max: 2, idleAfter: '10s' } })], { url: 'http://jenkins.test/' });
    const term = () => new Autoscaler(scaled, world.systems(scaled), { reporter: { event: () => undefined }, now: () => world.now, pollMs: 1 });
    const agent = [...world.nodes.keys()].find((n) => n.startsWith('awsDeploy-'))!;
    return { world, term, agent };
  }

  /** Ticks 5 s apart until the agent has been seen idle for idleAfter twice a cycle apart: the third tick drains it. */
  async function tickUntilDrained(watch: Autoscaler, world: World): Promise<Awaited<ReturnType<Autoscaler['tick']>>> {
    await watch.tick();
    world.now += 5_000;
    await watch.tick();
    world.now += 5_000;
    return watch.tick();
  }

  it("removes the agent at its own drain + a maintenance cycle + the look's margin, not at the tick after the next", async () => {
    const { world, term, agent } = await oneIdle();
    const watch = term();
    // Idle for idleAfter in two observations a cycle apart: drained by the third tick.
    const drainTick = await tickUntilDrained(watch, world);
    expect(drainTick.decisions[0]?.drain).toEqual([{ agent, why: 'scale-in' }]);
    const drainedAt = world.now;
    expect(watch.removalDue()).toBe(drainedAt + drainSettledAfter);
    // The next tick, a tick (5 s) after the drain: not longer than a cycle yet.
    world.now = drainedAt + 5_000;
    expect((await watch.tick()).decisions[0]?.remove).toEqual([]);
    expect(world.nodes.has(agent)).toBe(true);
    // That tick came before the drain settled: the look still waits for it.
    expect(watch.removalDue()).toBe(drainedAt + drainSettledAfter);
    world.now = drainedAt + drainSettledAfter;
    expect((await watch.tick()).decisions[0]?.remove).toEqual([{ agent, why: 'scale-in' }]);
    expect(world.nodes.has(agent)).toBe(false);
    expect(watch.removalDue()).toBeUndefined();
  });

  it('ticks when an idle agent becomes a candidate: a tick that reads 9.9 s of idleness does not leave the drain to the tick after', async () => {
    const { world, term, agent } = await oneIdle();
    const watch = term();
    const firstIdle = world.now;
    await watch.tick();
    // Idle for idleAfter (10 s) from its first idle sighting, seen idle a cycle before that.
    expect(watch.removalDue()).toBe(firstIdle + 10_100);
    world.now = firstIdle + 5_000;
    await watch.tick();
    world.now = firstIdle + 9_900;
    expect((await watch.tick()).decisions[0]?.drain).toEqual([]);
    expect(watch.removalDue()).toBe(firstIdle + 10_100);
    world.now = firstIdle + 10_100;
    expect((await watch.tick()).decisions[0]?.drain).toEqual([{ agent, why: 'scale-in' }]);
    // Now the drain's own wait.
    expect(watch.removalDue()).toBe(firstIdle + 10_100 + drainSettledAfter);
  });

  it("counts a drain made by an earlier process from Jenkins' offline cause time", async () => {
    const { world, term, agent } = await oneIdle();
    const first = term();
    await tickUntilDrained(first, world);
    const drainedAt = world.now;
    expect(world.nodes.get(agent)?.temporarilyOffline).toBe(true);
    // That process is killed; the next one's first tick 4 s after the drain removes nothing ...
    world.now = drainedAt + 4_000;
    const restarted = term();
    expect((await restarted.tick()).decisions[0]?.remove).toEqual([]);
    expect(restarted.removalDue()).toBeUndefined();
    // ... and its next, just past a cycle after the drain Jenkins reports (not after its own first sight of it), does.
    world.now = drainedAt + 5_001;
    expect((await restarted.tick()).decisions[0]?.remove).toEqual([{ agent, why: 'scale-in' }]);
    expect(world.nodes.has(agent)).toBe(false);
  });

  it('never removes a drained agent that took a build before its drain', async () => {
    const { world, term, agent } = await oneIdle();
    const watch = term();
    await tickUntilDrained(watch, world);
    const drainedAt = world.now;
    // Jenkins had handed it a build in the maintenance cycle before the drain: it shows busy now.
    Object.assign(world.nodes.get(agent)!, { idle: false, busyExecutors: 1 });
    world.now = drainedAt + drainSettledAfter;
    expect((await watch.tick()).decisions[0]?.remove).toEqual([]);
    world.now += 60_000;
    expect((await watch.tick()).decisions[0]?.remove).toEqual([]);
    expect(world.nodes.get(agent)?.temporarilyOffline).toBe(true);
  });
});
