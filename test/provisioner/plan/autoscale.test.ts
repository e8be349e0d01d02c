// One tick of `watch`, planned without I/O: demand from the queue, the scaler's decisions for pools
// with `max`, `up`'s planner for the rest, and what the tick leaves alone (work under way, a drain
// of its own), from a fleet file, an observation and a queue.
import { describe, expect, it } from 'vitest';
import { agentName, nodeDescription, type AgentNode, type Instance, type Observed } from '../../../provisioner/src/model.ts';
import { ephemeralDrainReason, ephemeralUnwatchedReason, placeholderDescription, placeholderName, planWatch, unplannedDemand, type WatchState } from '../../../provisioner/src/plan/autoscale.ts';
import type { QueueItem } from '../../../provisioner/src/plan/demand.ts';
import { interruptionDrainReason } from '../../../provisioner/src/plan/interruptions.ts';
import { drainMessage, planUp, type Action } from '../../../provisioner/src/plan/plan.ts';
import { emptyMemory, type ScalingMemory } from '../../../provisioner/src/plan/scale.ts';
import { fleetStatus } from '../../../provisioner/src/plan/status.ts';
import { formatStatus } from '../../../provisioner/src/cli/format.ts';
import { ec2Pool, fleetOf } from '../../support/fleet.ts';

const NOW = Date.UTC(2026, 10, 28, 9, 0, 0);
const S = 1000;
const MIN = 60 * S;

const fleet = fleetOf(
  [
    ec2Pool('awsDeploy', { count: null, labels: ['awsDeploy', 'terraform'], settings: { min: 0, max: 6, executors: 2, idleAfter: '1m', bootDeadline: '5m' } }),
    ec2Pool('pullRequests', { count: null, labels: ['pull-request'], settings: { min: 1, max: 4, ephemeral: true } }),
    ec2Pool('fixed', { count: 1 }),
  ],
  { offlineAfter: '5m' },
);

let serial = 0;
function instance(pool: string, extra: Partial<Instance> = {}): Instance {
  serial += 1;
  return { id: `i-${serial.toString(16).padStart(17, '0')}`, pool, region: 'us-east-1', state: 'running', subnetId: 'subnet-0000000a', launchedAt: NOW - 30 * MIN, bootstrappedAt: NOW - 29 * MIN, ...extra };
}

function node(i: Instance, extra: Partial<AgentNode> = {}): AgentNode {
  return { name: agentName(i.pool, i.id), description: nodeDescription('bank-ci', i.pool, i.id), online: true, temporarilyOffline: false, idle: true, labels: [i.pool], executors: 1, ...extra };
}

function drained(i: Instance, reason: string, extra: Partial<AgentNode> = {}): AgentNode {
  return node(i, { online: false, temporarilyOffline: true, heldOfflineBy: 'person', offlineReason: drainMessage('bank-ci', reason), ...extra });
}

function waiting(id: number, why: string): QueueItem {
  return { id, task: `part of bank-app #${id}`, why, buildable: true, blocked: false, pending: false, stuck: false, inQueueSince: NOW - 10 * S };
}

const fixedAgent = instance('fixed');
const prAgent = instance('pullRequests');
/** The fleet at rest: the fixed pool's agent and the pull-request pool's `min` agent, both online. */
const atRest = { instances: [fixedAgent, prAgent], nodes: [node(fixedAgent), node(prAgent)] };

function observed(instances: Instance[], nodes: AgentNode[], now = NOW): Observed {
  return { instances: [...atRest.instances, ...instances], nodes: [...atRest.nodes, ...nodes, placeholder()], secrets: [], now };
}

function placeholder(): AgentNode {
  return { name: placeholderName('awsDeploy'), description: placeholderDescription('bank-ci', 'awsDeploy'), online: false, temporarilyOffline: true, heldOfflineBy: 'person', idle: true, labels: ['awsDeploy', 'terraform'], executors: 1 };
}

function state(memory: ScalingMemory = emptyMemory(), extra: Partial<WatchState> = {}): WatchState {
  return { memory, bringingUp: new Set(), launching: new Set(), lastLaunch: new Map(), ...extra };
}

describe('a tick of watch, planned', () => {
  it('launches at once for builds waiting on a label of a scaled pool: ceil(demand / executors), and nothing else', () => {
    const queue = [1, 2, 3].map((n) => waiting(n, `‘${placeholderName('awsDeploy')}’ is offline`));
    const plan = planWatch(fleet, observed([], []), queue, state());
    expect(plan.demand.pools.get('awsDeploy')).toMatchObject({ items: 3 });
    expect(plan.decisions.find((d) => d.pool === 'awsDeploy')).toMatchObject({ launch: 2 });
    const launches = plan.bringUp.actions.filter((a) => a.type === 'launch');
    expect(launches.map((a) => (a.type === 'launch' ? [a.pool, a.count] : []))).toEqual([['awsDeploy', 1], ['awsDeploy', 1]]);
    expect(plan.takeDown.actions).toEqual([]);
    expect(plan.drains).toEqual([]);
    expect(plan.placeholders).toEqual({ create: [], remove: [] });
  });

  it('counts agents booting and online executors before launching more, and launches none while a launch is unanswered', () => {
    const booting = instance('awsDeploy', { state: 'pending', launchedAt: NOW - 20 * S, bootstrappedAt: undefined });
    const busy = instance('awsDeploy');
    const queue = [1, 2, 3, 4].map((n) => waiting(n, 'Waiting for next available executor on ‘terraform’'));
    const agents = observed([booting, busy], [node(busy, { executors: 2, idle: false, busyExecutors: 1 })]);
    // 4 waiting - 1 free - 2 booting = 1 missing executor: one more agent of two executors.
    expect(planWatch(fleet, agents, queue, state()).decisions[0]).toMatchObject({ launch: 1, numbers: { demand: 4, free: 1, booting: 1 } });
    const unanswered = planWatch(fleet, agents, queue, state(emptyMemory(), { launching: new Set(['awsDeploy']) }));
    expect(unanswered.decisions[0]).toMatchObject({ launch: 0 });
    expect(unanswered.bringUp.actions.filter((a) => a.type === 'launch')).toEqual([]);
  });

  it("leaves an agent whose bring-up this process has under way to it, and bootstraps one nobody is bringing up, as up does", () => {
    const fresh = instance('awsDeploy', { launchedAt: NOW - 40 * S, bootstrappedAt: undefined });
    const offline = node(fresh, { online: false, executors: 2 });
    const mine = planWatch(fleet, observed([fresh], [offline]), [], state(emptyMemory(), { bringingUp: new Set([offline.name]) }));
    expect(mine.bringUp.actions).toEqual([]);
    expect(mine.decisions[0]).toMatchObject({ numbers: { booting: 1 } });
    const orphaned = planWatch(fleet, observed([fresh], [offline]), [], state());
    expect(orphaned.bringUp.actions).toEqual([expect.objectContaining({ type: 'bootstrap', node: offline.name })]);
  });

  it('drains an agent idle past idleAfter in two observations a maintenance cycle apart, then removes it once drained past a cycle and idle', () => {
    const idle = instance('awsDeploy');
    const first = planWatch(fleet, observed([idle], [node(idle, { executors: 2 })], NOW), [], state());
    expect(first.drains).toEqual([]);
    const second = planWatch(fleet, observed([idle], [node(idle, { executors: 2 })], NOW + 61 * S), [], state(first.memory));
    expect(second.drains).toEqual([{ pool: 'awsDeploy', node: agentName('awsDeploy', idle.id), message: drainMessage('bank-ci', 'idle for 1m, not needed') }]);
    const seenDrained = observed([idle], [drained(idle, 'idle for 1m, not needed', { executors: 2 })], NOW + 63 * S);
    const third = planWatch(fleet, seenDrained, [], state(second.memory));
    // `up`'s planner would take its own drained node back online: watch decides that for its pools.
    expect(third.takeDown.actions).toEqual([]);
    const fourth = planWatch(fleet, { ...seenDrained, now: NOW + 69 * S }, [], state(third.memory));
    expect(fourth.takeDown.actions).toEqual([expect.objectContaining({ type: 'remove', target: 'instance', instanceId: idle.id, node: agentName('awsDeploy', idle.id), reason: 'scale-down', busy: false })]);
  });

  it("counts the drain wait from this process's own drain when it made it, else from Jenkins' offline cause time, not from the first tick that saw the drain", () => {
    const idle = instance('awsDeploy');
    const name = agentName('awsDeploy', idle.id);
    const removes = (plan: ReturnType<typeof planWatch>) => plan.takeDown.actions.filter((a) => a.type === 'remove').map((a) => (a.type === 'remove' && a.target === 'instance' ? a.instanceId : ''));
    // Drained by this process at NOW (its call answered then); Jenkins' time says a moment before.
    const mine = (at: number) => observed([idle], [drained(idle, 'idle for 1m, not needed', { executors: 2, offlineSince: NOW - 200 })], at);
    const own = new Map([[name, NOW]]);
    // The first tick that sees the drain is the one that may remove it: no second observation is waited for.
    expect(removes(planWatch(fleet, mine(NOW + 5 * S), [], state(emptyMemory(), { drainsAnswered: own })))).toEqual([]);
    expect(removes(planWatch(fleet, mine(NOW + 5 * S + 1), [], state(emptyMemory(), { drainsAnswered: own })))).toEqual([idle.id]);
    // Its own answer counts over Jenkins' time (NOW - 200 would have allowed NOW + 5 s).
    expect(removes(planWatch(fleet, mine(NOW + 5 * S - 100), [], state(emptyMemory(), { drainsAnswered: own })))).toEqual([]);
    // A drain by an earlier process (killed, or the leader before a takeover): Jenkins' offline cause time.
    expect(removes(planWatch(fleet, mine(NOW + 4 * S), [], state()))).toEqual([]);
    expect(removes(planWatch(fleet, mine(NOW + 5 * S - 199), [], state()))).toEqual([idle.id]);
    // Without a time from Jenkins, the first observation that saw the drain counts, as before.
    const untimed = (at: number) => observed([idle], [drained(idle, 'idle for 1m, not needed', { executors: 2 })], at);
    const first = planWatch(fleet, untimed(NOW + 60 * S), [], state());
    expect(removes(first)).toEqual([]);
    expect(removes(planWatch(fleet, untimed(NOW + 65 * S), [], state(first.memory)))).toEqual([]);
    expect(removes(planWatch(fleet, untimed(NOW + 65 * S + 1), [], state(first.memory)))).toEqual([idle.id]);
    // Busy, however long drained: stays drained.
    const busy = observed([idle], [drained(idle, 'idle for 1m, not needed', { executors: 2, offlineSince: NOW - MIN, idle: false, busyExecutors: 1 })], NOW);
    expect(removes(planWatch(fleet, busy, [], state(emptyMemory(), { drainsAnswered: new Map([[name, NOW - MIN]]) })))).toEqual([]);
  });

  it('records idleness on the instances only where it changed kind, and a later process drains from that record', () => {
    const fresh = instance('awsDeploy');
    const recorded = instance('awsDeploy', { idleMark: NOW - 2 * MIN });
    const busyNow = instance('awsDeploy', { idleMark: NOW - 5 * MIN });
    const stillBusy = instance('awsDeploy', { idleMark: 'busy' });
    const nodes = [node(fresh, { executors: 2 }), node(recorded, { executors: 2 }), node(busyNow, { executors: 2, idle: false, busyExecutors: 1 }), node(stillBusy, { executors: 2, idle: false, busyExecutors: 2 })];
    const plan = planWatch(fleet, observed([fresh, recorded, busyNow, stillBusy], nodes), [], state());
    expect(plan.idleMarks).toEqual([
      { region: 'us-east-1', instanceId: fresh.id, agent: agentName('awsDeploy', fresh.id), mark: NOW },
      { region: 'us-east-1', instanceId: busyNow.id, agent: agentName('awsDeploy', busyNow.id), mark: 'busy' },
      // The pull-request pool's idle agent at rest: its first idle observation.
      { region: 'us-east-1', instanceId: prAgent.id, agent: agentName('pullRequests', prAgent.id), mark: NOW },
    ]);
    // The agent recorded idle 2 minutes ago (idleAfter 1m) is drained by this first tick of a new process.
    expect(plan.drains.map((d) => d.node)).toEqual([agentName('awsDeploy', recorded.id)]);
    // A pool watch does not scale gets no record.
    expect(plan.idleMarks.map((m) => m.instanceId)).not.toContain(fixedAgent.id);
  });

  it('takes a drained agent back online when demand returns instead of launching', () => {
    const agent = instance('awsDeploy');
    const plan = planWatch(fleet, observed([agent], [drained(agent, 'idle for 1m, not needed', { executors: 2 })]), [waiting(1, 'All nodes of label ‘awsDeploy’ are offline')], state());
    expect(plan.takeDown.actions).toEqual([expect.objectContaining({ type: 'resume', node: agentName('awsDeploy', agent.id) })]);
    expect(plan.bringUp.actions).toEqual([]);
  });

  it('drains an ephemeral agent as soon as it is seen busy, with words that say so to a restarted watch, and never takes it back', () => {
    const busy = node(prAgent, { idle: false });
    const seen = planWatch(fleet, { ...observed([], []), nodes: [node(fixedAgent), busy, placeholder()] }, [], state());
    expect(seen.drains).toEqual([{ pool: 'pullRequests', node: busy.name, message: drainMessage('bank-ci', ephemeralDrainReason) }]);
    // A watch started afresh, demand for its label waiting: the drained agent is not taken back, a new one is launched.
    const after = { ...observed([], []), nodes: [node(fixedAgent), drained(prAgent, ephemeralDrainReason), placeholder()] };
    const restarted = planWatch(fleet, after, [waiting(9, 'All nodes of label ‘pull-request’ are offline')], state());
    expect(restarted.takeDown.actions.filter((a) => a.type === 'resume')).toEqual([]);
    expect(restarted.decisions.find((d) => d.pool === 'pullRequests')).toMatchObject({ launch: 1 });
    // Idle past a maintenance cycle after it was first seen drained: removed.
    const later = planWatch(fleet, { ...after, now: NOW + 6 * S }, [], state(restarted.memory));
    expect(later.takeDown.actions).toEqual([expect.objectContaining({ type: 'remove', instanceId: prAgent.id, busy: false, detail: 'its one build ended' })]);
  });

  it('at a takeover, drains an idle ephemeral agent with words that say why, which a later process reads as a build run: never taken back, removed once settled', () => {
    const booting = instance('pullRequests', { state: 'pending', launchedAt: NOW - 10 * S, bootstrappedAt: undefined });
    const plan = planWatch(fleet, observed([booting], []), [], state(emptyMemory(), { takeover: true }));
    expect(plan.drains).toEqual([{ pool: 'pullRequests', node: agentName('pullRequests', prAgent.id), message: drainMessage('bank-ci', ephemeralUnwatchedReason) }]);
    const decision = plan.decisions.find((d) => d.pool === 'pullRequests')!;
    expect(decision.unwatched).toEqual([agentName('pullRequests', prAgent.id)]);
    // min 1: the booting agent already stands in for the retired one.
    expect(decision.launch).toBe(0);
    // Not at a takeover: the same observation keeps the idle agent.
    expect(planWatch(fleet, observed([booting], []), [], state()).drains).toEqual([]);
    // A process started afresh later (no memory, no takeover), demand for the label waiting: not taken back.
    const after = { ...observed([], []), nodes: [node(fixedAgent), drained(prAgent, ephemeralUnwatchedReason), placeholder()] };
    const restarted = planWatch(fleet, after, [waiting(9, 'All nodes of label ‘pull-request’ are offline')], state());
    expect(restarted.takeDown.actions.filter((a) => a.type === 'resume')).toEqual([]);
    const later = planWatch(fleet, { ...after, now: NOW + 6 * S }, [], state(restarted.memory));
    expect(later.takeDown.actions).toEqual([expect.objectContaining({ type: 'remove', instanceId: prAgent.id, busy: false, detail: 'it may have run a build while no watch led' })]);
  });

  it("removes an ephemeral agent bootstrapped once whose node is gone (a removal cut short after the node's deletion) instead of registering it again", () => {
    const orphan = instance('pullRequests', { bootstrappedAt: NOW - 20 * S });
    const plan = planWatch(fleet, observed([orphan], []), [], state());
    expect(plan.bringUp.actions.filter((a) => (a.type === 'register' || a.type === 'bootstrap') && a.node === agentName('pullRequests', orphan.id))).toEqual([]);
    expect(plan.takeDown.actions).toEqual([expect.objectContaining({ type: 'remove', instanceId: orphan.id, busy: false, detail: 'its node was deleted after its bootstrap: it may have run its build' })]);
    // Never bootstrapped (a launch whose bring-up was cut short): registered and bootstrapped as up does.
    const fresh = instance('pullRequests', { bootstrappedAt: undefined, launchedAt: NOW - 20 * S });
    const resumed = planWatch(fleet, observed([fresh], []), [], state());
    expect(resumed.bringUp.actions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'register', node: agentName('pullRequests', fresh.id) })]));
    expect(resumed.takeDown.actions).toEqual([]);
  });

  it('replaces out-of-date agents in rounds without counting a replacement as growth: never beyond max + maxSurge', () => {
    // Two busy agents of an older instance type, and the replacement of one already online beside them.
    const old = [1, 2].map(() => instance('awsDeploy', { launched: { instanceType: 't3.small' } }));
    const fresh = instance('awsDeploy', { launched: { instanceType: 't3.medium' } });
    const nodes = [...old.map((i) => node(i, { executors: 2, idle: false, busyExecutors: 2 })), node(fresh, { executors: 2 })];
    const round = planWatch(fleet, observed([...old, fresh], nodes), [], state());
    // The pool's size stays 2 (two agents, one replaced): no second surge while one is out.
    expect(round.bringUp.actions.filter((a) => a.type === 'launch')).toEqual([]);
    // With its replacement online, one old agent is taken away: drained, as its builds run.
    expect(round.drains.map((d) => d.node)).toEqual([agentName('awsDeploy', old[0]!.id)]);
    // Before any replacement: one launch (maxSurge 1), not two.
    const first = planWatch(fleet, observed(old, nodes.slice(0, 2)), [], state());
    expect(first.bringUp.actions.filter((a) => a.type === 'launch').map((a) => (a.type === 'launch' ? a.count : 0))).toEqual([1]);
  });

  it('replaces an agent not online within bootDeadline, and does not bootstrap the one it removes', () => {
    const stuck = instance('awsDeploy', { launchedAt: NOW - 6 * MIN, bootstrappedAt: undefined });
    const plan = planWatch(fleet, observed([stuck], [node(stuck, { online: false, executors: 2 })]), [waiting(1, 'All nodes of label ‘awsDeploy’ are offline')], state());
    expect(plan.takeDown.actions).toEqual([expect.objectContaining({ type: 'remove', instanceId: stuck.id, reason: 'replace', detail: 'not online 5m after its launch' })]);
    expect(plan.bringUp.actions.map((a) => a.type)).toEqual(['launch']);
  });

  it('keeps one placeholder per scaled pool whose min is 0, creating a missing one and deleting one no pool wants', () => {
    const none = { instances: atRest.instances, nodes: atRest.nodes, secrets: [], now: NOW };
    expect(planWatch(fleet, none, [], state()).placeholders.create.map((p) => p.name)).toEqual(['awsDeploy']);
    const stale = { ...placeholder(), name: placeholderName('gone'), description: placeholderDescription('bank-ci', 'gone') };
    const other = { ...placeholder(), name: 'theirs-placeholder', description: placeholderDescription('other-fleet', 'x') };
    const plan = planWatch(fleet, { ...none, nodes: [...none.nodes, placeholder(), stale, other] }, [], state());
    expect(plan.placeholders).toEqual({ create: [], remove: [stale.name] });
  });

  it('reconciles the pools without max as up does', () => {
    const plan = planWatch(fleet, { ...observed([], []), instances: [prAgent], nodes: [node(prAgent), placeholder()] }, [], state());
    expect(plan.bringUp.actions).toEqual([expect.objectContaining({ type: 'launch', pool: 'fixed', count: 1 })]);
    expect(plan.decisions.map((d) => d.pool)).toEqual(['awsDeploy', 'pullRequests']);
  });

  it("shows in status the range a scaled pool is kept in, and the placeholder as no agent of it", () => {
    const status = fleetStatus(fleet, observed([], []));
    expect(status.pools.map((p) => [p.name, p.scaled, p.agents.length])).toEqual([['awsDeploy', { min: 0, max: 6 }, 0], ['pullRequests', { min: 1, max: 4 }, 1], ['fixed', undefined, 1]]);
    expect(status.orphans).toEqual({ instances: [], nodes: [] });
    expect(formatStatus(status)).toContain('Pool awsDeploy: 0..6 (scaled by watch), 0 present, 0 online');
  });

  it('replaces an agent whose drain records an interruption warning (a restarted watch), and removes it once idle, its instance terminated', () => {
    const warned = instance('awsDeploy');
    const noticeAt = NOW - 20 * S;
    const busy = drained(warned, interruptionDrainReason({ kind: 'warning', at: noticeAt, action: 'terminate' }), { executors: 2, idle: false, busyExecutors: 2, offlineSince: noticeAt });
    const first = planWatch(fleet, observed([warned], [busy]), [], state());
    expect(first.decisions.find((d) => d.pool === 'awsDeploy')).toMatchObject({ launch: 1, remove: [], numbers: { interrupted: 1 } });
    expect(first.bringUp.actions.filter((a) => a.type === 'launch')).toHaveLength(1);
    expect(first.takeDown.actions).toEqual([]);
    // Its replacement launched after the notice: none more; idle now, the warned agent goes.
    const replacement = instance('awsDeploy', { state: 'pending', launchedAt: NOW - 15 * S, bootstrappedAt: undefined });
    const idle = { ...busy, idle: true, busyExecutors: 0 };
    // Idle in two observations a queue-maintenance cycle apart: nothing was handed to it before the drain.
    const between = planWatch(fleet, observed([warned, replacement], [idle]), [], state(first.memory));
    const second = planWatch(fleet, observed([warned, replacement], [idle], NOW + 6 * S), [], state(between.memory));
    expect(second.decisions.find((d) => d.pool === 'awsDeploy')).toMatchObject({ launch: 0, remove: [{ agent: agentName('awsDeploy', warned.id), why: 'interrupted' }] });
    expect(second.takeDown.actions).toContainEqual(expect.objectContaining({ type: 'remove', instanceId: warned.id, reason: 'replace', detail: 'EC2 is interrupting it and no build runs there' }));
  });

  it('drains an agent named by a notice this process received whose drain is not in Jenkins yet', () => {
    const warned = instance('awsDeploy');
    const notice = { kind: 'rebalance' as const, instanceId: warned.id, at: NOW - 2 * S };
    const plan = planWatch(fleet, observed([warned], [node(warned, { executors: 2 })]), [], state(emptyMemory(), { interruptions: new Map([[warned.id, notice]]) }));
    expect(plan.drains).toEqual([{ pool: 'awsDeploy', node: agentName('awsDeploy', warned.id), message: drainMessage('bank-ci', interruptionDrainReason(notice)) }]);
    expect(plan.decisions.find((d) => d.pool === 'awsDeploy')).toMatchObject({ launch: 1 });
  });

  it("never takes a fixed pool's agent drained for a warning back online (its instance goes), but does one drained for a rebalance recommendation", () => {
    const warnedNode = drained(fixedAgent, interruptionDrainReason({ kind: 'warning', at: NOW - 5 * S, action: 'terminate' }));
    const warned = planWatch(fleet, { ...observed([], []), nodes: [warnedNode, node(prAgent), placeholder()] }, [], state());
    expect(warned.takeDown.actions.filter((a) => a.type === 'resume')).toEqual([]);
    const rebalancedNode = drained(fixedAgent, interruptionDrainReason({ kind: 'rebalance', at: NOW - 5 * S }));
    const rebalanced = planWatch(fleet, { ...observed([], []), nodes: [rebalancedNode, node(prAgent), placeholder()] }, [], state());
    expect(rebalanced.takeDown.actions.filter((a) => a.type === 'resume').map((a) => (a.type === 'resume' ? a.node : ''))).toEqual([agentName('fixed', fixedAgent.id)]);
  });
});


describe("a fixed pool's agent warned of a Spot interruption (count: N, not scaled by watch)", () => {
  const warningAt = NOW - 5 * S;
  const notice = { kind: 'warning' as const, instanceId: fixedAgent.id, at: warningAt, action: 'terminate' as const };
  const warnedNode = () => drained(fixedAgent, interruptionDrainReason(notice), { idle: false, busyExecutors: 1, offlineSince: warningAt });
  const launches = (actions: readonly Action[]) => actions.filter((a) => a.type === 'launch');

  it('gets its replacement at the notice, in the tick that receives it, before Jenkins shows the drain: the pool holds N + 1 for a while', () => {
    const plan = planWatch(fleet, observed([], []), [], state(emptyMemory(), { interruptions: new Map([[fixedAgent.id, notice]]) }));
    expect(launches(plan.bringUp.actions)).toEqual([expect.objectContaining({ type: 'launch', pool: 'fixed', count: 1 })]);
    expect(plan.drains).toEqual([{ pool: 'fixed', node: agentName('fixed', fixedAgent.id), message: drainMessage('bank-ci', interruptionDrainReason(notice)) }]);
    expect(plan.takeDown.actions).toEqual([]);
  });

  it('a restarted watch, reading the notice from the drain, plans the very same launch (its token too), so EC2 gives back the instance already launched', () => {
    const atNotice = planWatch(fleet, observed([], []), [], state(emptyMemory(), { interruptions: new Map([[fixedAgent.id, notice]]) }));
    const restarted = planWatch(fleet, { ...observed([], []), nodes: [warnedNode(), node(prAgent), placeholder()] }, [], state());
    expect(launches(restarted.bringUp.actions)).toHaveLength(1);
    expect(launches(restarted.bringUp.actions)).toEqual(launches(atNotice.bringUp.actions));
    expect(planUp(fleet, { ...observed([], []), nodes: [warnedNode(), node(prAgent), placeholder()] }).actions.filter((a) => a.type === 'launch')).toEqual(launches(atNotice.bringUp.actions));
  });

  it('launches no second replacement once the first is there, and neither watch nor up nor plan sees N + 1 as a surplus to remove while the warned instance lives', () => {
    const replacement = instance('fixed', { state: 'pending', launchedAt: warningAt + 1 * S, bootstrappedAt: undefined });
    const world = { ...observed([replacement], []), nodes: [warnedNode(), node(prAgent), placeholder()] };
    const tick = planWatch(fleet, world, [], state());
    expect(launches(tick.bringUp.actions)).toEqual([]);
    expect(tick.takeDown.actions.filter((a) => a.type === 'remove')).toEqual([]);
    const up = planUp(fleet, world);
    expect(up.actions.filter((a) => a.type === 'remove' || a.type === 'launch')).toEqual([]);
    // The replacement is brought up as any new agent is; the warned one is left for EC2 to take.
    expect(up.actions.map((a) => [a.type, 'node' in a ? a.node : ''])).toEqual([['register', agentName('fixed', replacement.id)]]);
  });

  it('once EC2 took the instance: its node is deleted, and the pool is back at N with nothing launched', () => {
    const replacement = instance('fixed', { launchedAt: warningAt + 1 * S });
    const taken = { ...fixedAgent, state: 'terminated' as const };
    const world: Observed = { instances: [taken, prAgent, replacement], nodes: [{ ...warnedNode(), idle: true, busyExecutors: 0 }, node(prAgent), node(replacement), placeholder()], secrets: [], now: NOW };
    const up = planUp(fleet, world);
    expect(up.actions.map((a) => a.type)).toEqual(['delete-node']);
  });

  it('a rebalance recommendation alone takes nothing away: no replacement, the agent stays in service', () => {
    const rebalance = { kind: 'rebalance' as const, instanceId: fixedAgent.id, at: warningAt };
    const plan = planWatch(fleet, observed([], []), [], state(emptyMemory(), { interruptions: new Map([[fixedAgent.id, rebalance]]) }));
    expect(launches(plan.bringUp.actions)).toEqual([]);
    expect(plan.drains).toEqual([]);
  });

  it("a scaled pool at max: up does not remove the replacement, nor the warned agent, as a surplus", () => {
    const atMax = fleetOf([ec2Pool('awsDeploy', { count: null, settings: { min: 0, max: 1 } })], { offlineAfter: '5m' });
    const warned = instance('awsDeploy');
    const replacement = instance('awsDeploy', { launchedAt: NOW - 2 * S });
    const warnedAt = drained(warned, interruptionDrainReason({ kind: 'warning', at: NOW - 4 * S, action: 'terminate' }), { idle: false, busyExecutors: 1 });
    const world: Observed = { instances: [warned, replacement], nodes: [warnedAt, node(replacement)], secrets: [], now: NOW };
    expect(planUp(atMax, world).actions).toEqual([]);
  });
});

describe('between ticks: a build queued since the last tick', () => {
  const seen = observed([], []);
  const forScaled = waiting(7, `‘${placeholderName('awsDeploy')}’ is offline`);

  it('for a scaled pool, not counted by the last tick: tick now', () => {
    const last = planWatch(fleet, seen, [], state());
    const planned = new Set(last.demand.items.map((i) => i.id));
    expect(unplannedDemand(fleet, last.nodeOwners, planned, [forScaled])).toBe(true);
  });

  it('already counted by the last tick (launched for, or held at max): no early tick', () => {
    const last = planWatch(fleet, seen, [forScaled], state());
    const planned = new Set(last.demand.items.map((i) => i.id));
    expect(planned.has(7)).toBe(true);
    expect(unplannedDemand(fleet, last.nodeOwners, planned, [forScaled])).toBe(false);
  });

  it('for a fixed pool, for no pool of the fleet, or not waiting for an executor: no early tick', () => {
    const forFixed = waiting(8, `Waiting for next available executor on ‘${node(fixedAgent).name}’`);
    const forNobody = waiting(9, 'There are no nodes with the label ‘windows’');
    const blocked = { ...waiting(10, `‘${placeholderName('awsDeploy')}’ is offline`), blocked: true, buildable: false };
    const quiet = { ...waiting(11, 'In the quiet period. Expires in 4.9 sec'), buildable: false };
    const owners = planWatch(fleet, seen, [], state()).nodeOwners;
    expect(unplannedDemand(fleet, owners, new Set(), [forFixed, forNobody, blocked, quiet])).toBe(false);
  });
});
