import { describe, expect, it } from 'vitest';
import {
  decideScaling,
  emptyMemory,
  policyProblems,
  type LaunchOutcome,
  type ObservedAgent,
  type PoolDecision,
  type ScalingMemory,
  type ScalingPolicy,
} from '../../../provisioner/src/plan/scale.ts';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const S = 1_000;
const MIN = 60 * S;
const HOUR = 60 * MIN;

function policy(over: Partial<ScalingPolicy> = {}): ScalingPolicy {
  return {
    pool: 'awsDeploy',
    min: 0,
    max: 10,
    minIdle: 0,
    idleAfter: 10 * MIN,
    minUptime: 0,
    ephemeral: false,
    executorsPerAgent: 2,
    launchesPerTick: 10,
    bootDeadline: 10 * MIN,
    retryBudget: 3,
    retryAfter: 15 * MIN,
    ...over,
  };
}

function agent(name: string, phase: ObservedAgent['phase'], over: Partial<ObservedAgent> = {}): ObservedAgent {
  return { name, phase, launchedAt: NOW - HOUR, executors: 2, busy: 0, hasRun: false, ...over };
}

/** One tick of one pool. */
function decide(p: ScalingPolicy, demand: number, agents: ObservedAgent[], memory: ScalingMemory = emptyMemory(), now = NOW, lastLaunch?: LaunchOutcome) {
  const { decisions, memory: next } = decideScaling([{ policy: p, demand, agents, ...(lastLaunch ? { lastLaunch } : {}) }], memory, now);
  return { decision: decisions[0] as PoolDecision, memory: next };
}

/** Ticks of one pool in a row, memory carried over: each step is [time, demand, agents]. */
function ticks(p: ScalingPolicy, steps: Array<[number, number, ObservedAgent[]]>): PoolDecision[] {
  let memory = emptyMemory();
  return steps.map(([at, demand, agents]) => {
    const result = decide(p, demand, agents, memory, at);
    memory = result.memory;
    return result.decision;
  });
}

const drained = (d: PoolDecision) => d.drain.map((x) => `${x.agent}:${x.why}`);
const removed = (d: PoolDecision) => d.remove.map((x) => `${x.agent}:${x.why}`);

describe('scale-up: missing executors = demand + minIdle - free online - booting, launched at once', () => {
  it.each<[string, Partial<ScalingPolicy>, number, ObservedAgent[], number]>([
    // [case, policy, demand, agents, launches]
    ['a cold pool: ceil(3 builds / 2 executors)', {}, 3, [], 2],
    ['one build on a cold pool', {}, 1, [], 1],
    ['minIdle with no demand keeps executors ready', { minIdle: 3 }, 0, [], 2],
    ['booting agents count as what they will bring', { minIdle: 1 }, 3, [agent('b1', 'connecting', { launchedAt: NOW - MIN })], 1],
    ['launching ones too', {}, 4, [agent('b1', 'launching', { launchedAt: NOW - S }), agent('b2', 'launching', { launchedAt: NOW - S })], 0],
    ['free executors of online agents count', {}, 5, [agent('a1', 'online')], 2],
    ['busy executors do not', {}, 1, [agent('a1', 'online', { busy: 2 }), agent('a2', 'online', { busy: 1 })], 0],
    ['a full pool grows for one more build', {}, 1, [agent('a1', 'online', { busy: 2 })], 1],
    ['drained, held and lost agents are no capacity', {}, 2, [agent('h', 'held'), agent('l', 'lost')], 1],
    ['an agent with more executors than the policy says brings them all', {}, 4, [agent('big', 'online', { executors: 4 })], 0],
    ['no demand, no minIdle, min 0: nothing', {}, 0, [], 0],
    ['min: launched up to min without demand', { min: 2 }, 0, [], 2],
    ['min counts held and lost agents as members', { min: 2 }, 0, [agent('h', 'held'), agent('l', 'lost')], 0],
    ['demand above min wins', { min: 1 }, 6, [], 3],
    ['max: held at max counting every agent', { max: 3 }, 10, [agent('a1', 'online', { busy: 2 }), agent('h', 'held')], 1],
    ['max: already there', { max: 2 }, 10, [agent('a1', 'online', { busy: 2 }), agent('l', 'lost')], 0],
    ['at most launchesPerTick at once', { launchesPerTick: 2 }, 20, [], 2],
    ['a burst of 100 builds on 4-executor agents launches exactly ceil(100/4)', { executorsPerAgent: 4, max: 100, launchesPerTick: 100 }, 100, [], 25],
  ])('%s', (_case, over, demand, agents, launches) => {
    expect(decide(policy(over), demand, agents).decision.launch).toBe(launches);
  });

  it('does not launch again for builds the agents already booting will take', () => {
    const p = policy({ executorsPerAgent: 4, max: 100, launchesPerTick: 100 });
    const booting = Array.from({ length: 25 }, (_, i) => agent(`b${i}`, 'launching', { launchedAt: NOW, executors: 4 }));
    expect(decide(p, 100, booting, emptyMemory(), NOW + 5 * S).decision.launch).toBe(0);
  });

  it('says why, and when max or the rate hold it back', () => {
    expect(decide(policy(), 3, []).decision.reason).toBe('launch 2: demand 3 + minIdle 0 > 0 free + 0 booting');
    expect(decide(policy({ min: 2 }), 0, []).decision.reason).toBe('launch 2: 2 below min 2');
    expect(decide(policy({ max: 1 }), 6, []).decision.reason).toBe('launch 1: demand 6 + minIdle 0 > 0 free + 0 booting; held at max 1');
    expect(decide(policy({ launchesPerTick: 1 }), 6, []).decision.reason).toBe('launch 1: demand 6 + minIdle 0 > 0 free + 0 booting; at most 1 a tick');
    expect(decide(policy(), 0, [agent('a1', 'online')]).decision.reason).toBe('steady: demand 0, 2 free, 0 booting, minIdle 0, min 0, max 10');
  });

  it('takes drained agents back before launching, those with free executors first', () => {
    const d = decide(policy(), 3, [agent('d1', 'drained', { busy: 1 }), agent('d2', 'drained'), agent('d3', 'drained', { busy: 2 })]).decision;
    expect(d.resume).toEqual(['d2', 'd1']);
    expect(d.launch).toBe(0);
    expect(d.remove).toEqual([]);
  });

  it('launches when the drained agents are all busy', () => {
    const d = decide(policy(), 1, [agent('d1', 'drained', { busy: 2 })]).decision;
    expect(d.resume).toEqual([]);
    expect(d.launch).toBe(1);
  });

  it('takes a drained agent back to keep min, busy or not', () => {
    const d = decide(policy({ min: 1 }), 0, [agent('d1', 'drained', { busy: 2 })]).decision;
    expect(d.resume).toEqual(['d1']);
    expect(d.launch).toBe(0);
  });
});

describe('scale-in: idle for idleAfter in two observations a maintenance cycle apart, drained, checked again, removed', () => {
  const p = policy({ idleAfter: 10 * MIN });
  const idle = agent('a1', 'online');

  it('drains an agent seen idle for idleAfter, not a moment before', () => {
    const seen = ticks(p, [
      [NOW, 0, [idle]],
      [NOW + 5 * MIN, 0, [idle]],
      [NOW + 10 * MIN - 1, 0, [idle]],
      [NOW + 10 * MIN, 0, [idle]],
    ]);
    expect(seen.map(drained)).toEqual([[], [], [], ['a1:scale-in']]);
    expect(seen[3]?.reason).toBe('drain 1: idle 10m, not needed for demand 0 + minIdle 0 or min 0');
  });

  it('with idleAfter 0 still wants a second observation one maintenance cycle later', () => {
    const seen = ticks(policy({ idleAfter: 0 }), [
      [NOW, 0, [idle]],
      [NOW + 4_999, 0, [idle]],
      [NOW + 5_000, 0, [idle]],
    ]);
    expect(seen.map(drained)).toEqual([[], [], ['a1:scale-in']]);
  });

  it('starts the idle time over from the last observation that saw the agent busy', () => {
    const seen = ticks(p, [
      [NOW, 0, [idle]],
      [NOW + 6 * MIN, 0, [agent('a1', 'online', { busy: 1 })]],
      [NOW + 10 * MIN, 0, [idle]],
      [NOW + 16 * MIN - 1, 0, [idle]],
      [NOW + 16 * MIN, 0, [idle]],
    ]);
    expect(seen.map(drained)).toEqual([[], [], [], [], ['a1:scale-in']]);
  });

  it('drains only on a second idle observation, even when the first already shows idleAfter passed', () => {
    const seen = ticks(p, [
      [NOW, 0, [agent('a1', 'online', { busy: 1 })]],
      [NOW + 20 * MIN, 0, [idle]],
      [NOW + 20 * MIN + 4 * S, 0, [idle]],
      [NOW + 20 * MIN + 5 * S, 0, [idle]],
    ]);
    expect(seen.map(drained)).toEqual([[], [], [], ['a1:scale-in']]);
  });

  it('waits for minUptime', () => {
    const young = agent('a1', 'online', { launchedAt: NOW });
    const seen = ticks(policy({ idleAfter: 0, minUptime: 30 * MIN }), [
      [NOW, 0, [young]],
      [NOW + 10 * MIN, 0, [young]],
      [NOW + 29 * MIN, 0, [young]],
      [NOW + 30 * MIN, 0, [young]],
    ]);
    expect(seen.map(drained)).toEqual([[], [], [], ['a1:scale-in']]);
  });

  it.each<[string, Partial<ScalingPolicy>, number, ObservedAgent[], string[]]>([
    // [case, policy, demand, agents (all idle long enough unless said), drained]
    ['keeps min', { min: 2 }, 0, [agent('a1', 'online'), agent('a2', 'online'), agent('a3', 'online')], ['a1:scale-in']],
    ['keeps minIdle executors free', { minIdle: 2 }, 0, [agent('a1', 'online'), agent('a2', 'online'), agent('a3', 'online')], ['a1:scale-in', 'a2:scale-in']],
    ['keeps what demand needs', {}, 3, [agent('a1', 'online'), agent('a2', 'online')], []],
    ['keeps what demand needs, drains the rest', {}, 1, [agent('a1', 'online'), agent('a2', 'online')], ['a1:scale-in']],
    ['never a busy agent', {}, 0, [agent('a1', 'online', { busy: 1 }), agent('a2', 'online', { busy: 2 })], []],
    ['not while agents are missing', { min: 3 }, 0, [agent('a1', 'online'), agent('a2', 'online')], []],
    ['leaves held and lost agents to people and repair', {}, 0, [agent('h', 'held'), agent('l', 'lost')], []],
    ['drains the one idle longest first', {}, 0, [agent('a1', 'online'), agent('a2', 'online')], ['a1:scale-in', 'a2:scale-in']],
  ])('%s', (_case, over, demand, agents, expected) => {
    const q = policy({ idleAfter: 10 * MIN, ...over });
    // a1 has been seen idle longest: its stretch starts first.
    const first = decide(q, demand, agents.slice(0, 1), emptyMemory(), NOW).memory;
    const second = decide(q, demand, agents, first, NOW + MIN).memory;
    expect(drained(decide(q, demand, agents, second, NOW + 12 * MIN).decision)).toEqual(expected);
  });

  it('removes a drained agent only once drained longer than a maintenance cycle and idle at that check', () => {
    const seen = ticks(p, [
      [NOW, 0, [agent('a1', 'drained')]], // first seen drained
      [NOW + 5 * S, 0, [agent('a1', 'drained')]], // a cycle, not more
      [NOW + 5 * S + 1, 0, [agent('a1', 'drained')]],
    ]);
    expect(seen.map(removed)).toEqual([[], [], ['a1:scale-in']]);
    expect(seen[2]?.reason).toBe('remove 1 drained and idle');
  });

  it('counts idleness from what an earlier process recorded on the instance when it has no memory of the agent (watch --once from cron)', () => {
    // Each run is a new process: no memory, only the instance's record of its first idle observation.
    const run = (at: number, observed: ObservedAgent) => decide(p, 0, [observed], emptyMemory(), at);
    expect(drained(run(NOW + 10 * MIN, agent('a1', 'online', { idleMark: NOW })).decision)).toEqual(['a1:scale-in']);
    expect(drained(run(NOW + 10 * MIN - 1, agent('a1', 'online', { idleMark: NOW })).decision)).toEqual([]);
    // The record is one observation: a second, a maintenance cycle later, is still wanted.
    expect(drained(decide(policy({ idleAfter: 0 }), 0, [agent('a1', 'online', { idleMark: NOW })], emptyMemory(), NOW + 4_999).decision)).toEqual([]);
    expect(drained(decide(policy({ idleAfter: 0 }), 0, [agent('a1', 'online', { idleMark: NOW })], emptyMemory(), NOW + 5_000).decision)).toEqual(['a1:scale-in']);
    // Seen busy last, or busy now, or recorded in the future (another clock): no idle stretch to count.
    expect(drained(run(NOW + HOUR, agent('a1', 'online', { idleMark: 'busy' })).decision)).toEqual([]);
    expect(drained(run(NOW + HOUR, agent('a1', 'online', { idleMark: NOW, busy: 1 })).decision)).toEqual([]);
    expect(drained(run(NOW + HOUR, agent('a1', 'online', { idleMark: NOW + 2 * HOUR })).decision)).toEqual([]);
    // minUptime still holds.
    expect(drained(decide(policy({ minUptime: 2 * HOUR }), 0, [agent('a1', 'online', { idleMark: NOW - HOUR })], emptyMemory(), NOW + 10 * MIN).decision)).toEqual([]);
  });

  it("prefers its own memory to the instance's record: a build this process saw restarts the idle time", () => {
    const seen = ticks(p, [
      [NOW, 0, [agent('a1', 'online', { busy: 1, idleMark: NOW - HOUR })]],
      [NOW + 5 * MIN, 0, [agent('a1', 'online', { idleMark: NOW - HOUR })]],
      [NOW + 10 * MIN - 1, 0, [agent('a1', 'online', { idleMark: NOW - HOUR })]],
      [NOW + 10 * MIN, 0, [agent('a1', 'online', { idleMark: NOW - HOUR })]],
    ]);
    expect(seen.map(drained)).toEqual([[], [], [], ['a1:scale-in']]);
  });

  it('keeps a drained agent that became busy until it is idle again', () => {
    const seen = ticks(p, [
      [NOW, 0, [agent('a1', 'drained')]],
      [NOW + 10 * S, 0, [agent('a1', 'drained', { busy: 1 })]],
      [NOW + 10 * MIN, 0, [agent('a1', 'drained', { busy: 1 })]],
      [NOW + 11 * MIN, 0, [agent('a1', 'drained')]],
    ]);
    expect(seen.map(removed)).toEqual([[], [], [], ['a1:scale-in']]);
    expect(seen.flatMap((d) => d.resume)).toEqual([]);
  });

  it('takes a drained agent back online instead of removing it when demand returns', () => {
    const seen = ticks(p, [
      [NOW, 0, [agent('a1', 'drained')]],
      [NOW + 10 * S, 1, [agent('a1', 'drained')]],
    ]);
    expect(seen[1]?.resume).toEqual(['a1']);
    expect(seen[1]?.remove).toEqual([]);
    expect(seen[1]?.launch).toBe(0);
  });

  it('after a restart (no memory) waits again before draining or removing anything', () => {
    const fresh = emptyMemory();
    expect(decide(p, 0, [idle], fresh).decision.drain).toEqual([]);
    expect(decide(p, 0, [agent('a2', 'drained')], fresh).decision.remove).toEqual([]);
  });

  it('is back at min within idleAfter + 2 ticks of the last builds ending', () => {
    const q = policy({ min: 1, idleAfter: 2 * MIN });
    const tick = 5 * S;
    let memory = emptyMemory();
    // Seen busy at NOW; the builds end right after.
    let agents = [agent('a1', 'online', { busy: 2 }), agent('a2', 'online', { busy: 2 }), agent('a3', 'online', { busy: 1 })];
    let at = NOW;
    let lastRemoval = 0;
    for (; at <= NOW + 10 * MIN && agents.length > q.min; at += tick) {
      const { decision, memory: next } = decide(q, 0, agents, memory, at);
      memory = next;
      if (decision.remove.length > 0) lastRemoval = at;
      // The executor carries the tick out (a drain lands 100 ms after the decision) before the next observation.
      const draining = new Set(decision.drain.map((d) => d.agent));
      const leaving = new Set(decision.remove.map((r) => r.agent));
      agents = agents
        .filter((a) => !leaving.has(a.name))
        .map((a) => (draining.has(a.name) ? { ...a, busy: 0, phase: 'drained' as const, drainedAt: at + 100 } : { ...a, busy: 0 }));
    }
    expect(agents.map((a) => a.name)).toEqual(['a3']);
    expect(lastRemoval - NOW).toBeLessThanOrEqual(2 * MIN + 2 * tick);
  });

  it('counts a drain from when Jenkins says it happened, when the observation has it', () => {
    const d = agent('a1', 'drained', { drainedAt: NOW - 5 * S - 1 });
    expect(removed(decide(p, 0, [d]).decision)).toEqual(['a1:scale-in']);
    expect(removed(decide(p, 0, [{ ...d, drainedAt: NOW - 5 * S }]).decision)).toEqual([]);
  });
});

describe('ephemeral pools: one build per agent', () => {
  const p = policy({ ephemeral: true, executorsPerAgent: 1 });
  const one = (name: string, phase: ObservedAgent['phase'], over: Partial<ObservedAgent> = {}) => agent(name, phase, { executors: 1, ...over });

  it('drains an agent as soon as it is seen busy, and does not count it as capacity', () => {
    const d = decide(p, 1, [one('e1', 'online', { busy: 1 })]).decision;
    expect(drained(d)).toEqual(['e1:ephemeral']);
    expect(d.launch).toBe(1);
    expect(d.reason).toBe('launch 1: demand 1 + minIdle 0 > 0 free + 0 booting; drain 1 that ran their build');
  });

  it('drains an idle agent that Jenkins says has run a build (it finished between two ticks)', () => {
    expect(drained(decide(p, 0, [one('e1', 'online', { hasRun: true })]).decision)).toEqual(['e1:ephemeral']);
  });

  it('remembers an agent seen busy even if a later observation shows it idle and online', () => {
    const seen = ticks(p, [
      [NOW, 0, [one('e1', 'online', { busy: 1 })]],
      [NOW + 5 * S, 0, [one('e1', 'online')]],
    ]);
    expect(seen.map(drained)).toEqual([['e1:ephemeral'], ['e1:ephemeral']]);
  });

  it('removes it when its build has ended, a maintenance cycle after the drain was seen', () => {
    const seen = ticks(p, [
      [NOW, 0, [one('e1', 'online', { busy: 1 })]],
      [NOW + 5 * S, 0, [one('e1', 'drained', { busy: 1 })]],
      [NOW + 20 * S, 0, [one('e1', 'drained')]],
    ]);
    expect(seen.map(removed)).toEqual([[], [], ['e1:ephemeral']]);
    expect(seen[2]?.reason).toBe('remove 1 whose build ended');
  });

  it('never takes back an agent that ran its build, even for demand: launches instead', () => {
    const seen = ticks(p, [
      [NOW, 0, [one('e1', 'drained', { busy: 1 })]],
      [NOW + 10 * S, 2, [one('e1', 'drained', { busy: 1 })]],
    ]);
    expect(seen[1]?.resume).toEqual([]);
    expect(seen[1]?.launch).toBe(2);
  });

  it('takes back an agent drained for scale-in that never ran a build', () => {
    expect(decide(p, 1, [one('e1', 'drained')]).decision.resume).toEqual(['e1']);
  });

  describe('a process that just began to lead (startup or takeover) retires what may have run a build unseen', () => {
    /** The first tick of a new leader: nothing remembered, `takeover` set. */
    const takeover = (pol: ScalingPolicy, demand: number, agents: ObservedAgent[], now = NOW) => {
      const { decisions, memory } = decideScaling([{ policy: pol, demand, agents, takeover: true }], emptyMemory(), now);
      return { decision: decisions[0] as PoolDecision, memory };
    };

    it('drains every idle online agent, says why, and launches replacements for minIdle as for any agent on its way out', () => {
      const warm = policy({ ephemeral: true, executorsPerAgent: 1, minIdle: 2 });
      const d = takeover(warm, 0, [one('e1', 'online'), one('e2', 'online')]).decision;
      expect(drained(d)).toEqual(['e1:unwatched', 'e2:unwatched']);
      expect(d.unwatched).toEqual(['e1', 'e2']);
      expect(d.numbers).toMatchObject({ unwatched: 2, online: 0, free: 0, launch: 2 });
      expect(d.reason).toBe('launch 2: demand 0 + minIdle 2 > 0 free + 0 booting; retire 2 idle that may have run a build while no watch led');
    });

    it('leaves agents launching or connecting alone: they cannot have run a build', () => {
      const d = takeover(p, 0, [one('b1', 'launching', { launchedAt: NOW - S }), one('b2', 'connecting', { launchedAt: NOW - S })]).decision;
      expect(d.drain).toEqual([]);
      expect(d.unwatched).toEqual([]);
      expect(d.remove).toEqual([]);
    });

    it('leaves agents held by a person and interrupted agents to their own rules, and drains a busy one as ever', () => {
      const d = takeover(p, 0, [one('h', 'held'), one('x', 'online', { interrupted: { kind: 'rebalance', at: NOW - S } }), one('busy', 'online', { busy: 1 })]).decision;
      expect(drained(d)).toEqual(['busy:ephemeral']);
      expect(d.unwatched).toEqual([]);
    });

    it('never takes back an agent drained for scale-in (a build handed to it before the drain may have ended unseen): removes it once settled', () => {
      const d = takeover(p, 1, [one('e1', 'drained')], NOW).decision;
      expect(d.resume).toEqual([]);
      expect(d.unwatched).toEqual(['e1']);
      expect(d.launch).toBe(1);
      expect(removed(d)).toEqual([]);
      expect(removed(takeover(p, 0, [one('e1', 'drained', { drainedAt: NOW - 6 * S })]).decision)).toEqual(['e1:ephemeral']);
    });

    it('removes a retired agent only once drained past a maintenance cycle and idle; one that turned busy stays drained until its build ends', () => {
      const first = takeover(p, 0, [one('e1', 'online'), one('e2', 'online')]);
      let memory = first.memory;
      expect(drained(first.decision)).toEqual(['e1:unwatched', 'e2:unwatched']);
      const step = (at: number, agents: ObservedAgent[]) => {
        const next = decide(p, 0, agents, memory, at);
        memory = next.memory;
        return next.decision;
      };
      // e2 was handed a build before its drain landed.
      expect(removed(step(NOW + 2 * S, [one('e1', 'drained'), one('e2', 'drained', { busy: 1 })]))).toEqual([]);
      expect(removed(step(NOW + 8 * S, [one('e1', 'drained'), one('e2', 'drained', { busy: 1 })]))).toEqual(['e1:ephemeral']);
      const later = step(NOW + 30 * S, [one('e2', 'drained', { busy: 1 })]);
      expect(later.remove).toEqual([]);
      expect(later.resume).toEqual([]);
      expect(removed(step(NOW + 40 * S, [one('e2', 'drained')]))).toEqual(['e2:ephemeral']);
    });

    it('is done once, at the first tick: a later tick of the same leader keeps an agent it saw come online and stay idle', () => {
      const first = takeover(p, 0, [one('b1', 'connecting', { launchedAt: NOW - S })]);
      const next = decide(p, 0, [one('b1', 'online')], first.memory, NOW + S).decision;
      expect(next.drain).toEqual([]);
      expect(next.unwatched).toEqual([]);
    });

    it('concerns ephemeral pools only: an idle agent of another pool is kept', () => {
      const d = takeover(policy(), 0, [agent('a1', 'online')]).decision;
      expect(d.drain).toEqual([]);
      expect(d.unwatched).toEqual([]);
    });
  });

  it('keeps minIdle agents warm and scales them in like any pool', () => {
    expect(decide(policy({ ephemeral: true, executorsPerAgent: 1, minIdle: 2 }), 0, [one('e1', 'online', { busy: 1 })]).decision.launch).toBe(2);
    const seen = ticks(p, [
      [NOW, 0, [one('e1', 'online')]],
      [NOW + 10 * MIN, 0, [one('e1', 'online')]],
    ]);
    expect(seen.map(drained)).toEqual([[], ['e1:scale-in']]);
  });
});

describe('stuck agents are replaced within a retry budget per pool', () => {
  const p = policy({ bootDeadline: 10 * MIN, retryBudget: 2, retryAfter: 15 * MIN });
  const stuck = (name: string) => agent(name, 'connecting', { launchedAt: NOW - 11 * MIN });

  it('removes an agent not online within the boot deadline and launches its replacement in the same tick', () => {
    const d = decide(p, 1, [stuck('s1')]).decision;
    expect(removed(d)).toEqual(['s1:stuck']);
    expect(d.launch).toBe(1);
    expect(d.reason).toBe('launch 1: demand 1 + minIdle 0 > 0 free + 0 booting; replace 1 stuck (not online 10m after launch)');
  });

  it('leaves one within its deadline alone', () => {
    const d = decide(p, 1, [agent('b1', 'launching', { launchedAt: NOW - 10 * MIN })]).decision;
    expect(d.remove).toEqual([]);
    expect(d.launch).toBe(0);
  });

  it('counts a stuck agent once, however many ticks its removal takes', () => {
    let memory = decide(p, 0, [stuck('s1')]).memory;
    memory = decide(p, 0, [stuck('s1')], memory, NOW + 5 * S).memory;
    expect(memory.pools.awsDeploy?.failuresInRow).toBe(1);
  });

  it('stops growing once the budget is spent, says why, and tries one launch again after retryAfter', () => {
    const first = decide(p, 3, [stuck('s1'), stuck('s2')]);
    expect(first.decision.launch).toBe(0);
    expect(first.decision.numbers.stopped).toBe(true);
    expect(first.decision.reason).toBe(
      'stopped growing: 2 failures in a row (last: s2 not online 10m after its launch); next try at 2026-11-27T12:15:00.000Z; replace 2 stuck (not online 10m after launch)',
    );
    const meanwhile = decide(p, 3, [], first.memory, NOW + 14 * MIN);
    expect(meanwhile.decision.launch).toBe(0);
    const retry = decide(p, 3, [], meanwhile.memory, NOW + 15 * MIN);
    expect(retry.decision.launch).toBe(1);
    expect(retry.decision.reason).toContain('trying 1 launch again after 2 failures in a row');
    // While that one boots, nothing more.
    const booting = decide(p, 3, [agent('r1', 'launching', { launchedAt: NOW + 15 * MIN })], retry.memory, NOW + 16 * MIN);
    expect(booting.decision.launch).toBe(0);
    // It comes online: the pool grows again at once.
    const online = decide(p, 3, [agent('r1', 'online', { launchedAt: NOW + 15 * MIN })], booting.memory, NOW + 17 * MIN);
    expect(online.decision.numbers.stopped).toBe(false);
    expect(online.decision.launch).toBe(1);
    expect(online.memory.pools.awsDeploy?.failuresInRow).toBe(0);
  });

  it('counts launches that failed, and backs off on throttling without counting it', () => {
    const failed = decide(p, 2, [], emptyMemory(), NOW, { requested: 1, launched: 0, error: 'InsufficientInstanceCapacity', throttled: false });
    expect(failed.memory.pools.awsDeploy).toMatchObject({ failuresInRow: 1, lastFailure: 'launch failed (InsufficientInstanceCapacity)' });
    expect(failed.decision.launch).toBe(1);

    const throttled = decide(p, 2, [], emptyMemory(), NOW, { requested: 1, launched: 0, error: 'RequestLimitExceeded', throttled: true });
    expect(throttled.decision.launch).toBe(0);
    expect(throttled.decision.reason).toBe('launches throttled: next at 2026-11-27T12:00:05.000Z');
    expect(throttled.memory.pools.awsDeploy?.failuresInRow).toBe(0);
    const again = decide(p, 2, [], throttled.memory, NOW + 5 * S, { requested: 0, launched: 0, throttled: false });
    expect(again.decision.launch).toBe(1);
    const twice = decide(p, 2, [], again.memory, NOW + 6 * S, { requested: 1, launched: 0, error: 'RequestLimitExceeded', throttled: true });
    expect(twice.memory.pools.awsDeploy?.backoffUntil).toBe(NOW + 6 * S + 10 * S);
    const through = decide(p, 2, [], twice.memory, NOW + 16 * S, { requested: 1, launched: 1, throttled: false });
    expect(through.memory.pools.awsDeploy?.throttledInRow).toBe(0);
    expect(through.memory.pools.awsDeploy?.backoffUntil).toBeUndefined();
  });
});

describe('every pool on its own, and the memory kept between ticks', () => {
  it('decides each pool from its own agents and demand', () => {
    const { decisions } = decideScaling(
      [
        { policy: policy({ pool: 'awsDeploy' }), demand: 3, agents: [] },
        { policy: policy({ pool: 'awsDeploy2', min: 1 }), demand: 0, agents: [agent('x', 'online')] },
      ],
      emptyMemory(),
      NOW,
    );
    expect(decisions.map((d) => [d.pool, d.launch])).toEqual([
      ['awsDeploy', 2],
      ['awsDeploy2', 0],
    ]);
  });

  it('forgets agents that are no longer observed', () => {
    const { memory } = decide(policy(), 0, [agent('a1', 'online'), agent('a2', 'online')]);
    expect(Object.keys(memory.agents)).toEqual(['a1', 'a2']);
    expect(Object.keys(decide(policy(), 0, [agent('a2', 'online')], memory, NOW + S).memory.agents)).toEqual(['a2']);
  });

  it('gives the numbers the line of a tick is printed from', () => {
    const d = decide(policy(), 1, [agent('a1', 'online', { busy: 1 }), agent('b', 'launching', { launchedAt: NOW }), agent('d', 'drained', { busy: 2 }), agent('h', 'held'), agent('l', 'lost')]).decision;
    expect(d.numbers).toEqual({ demand: 1, free: 1, booting: 1, online: 1, drained: 1, held: 1, lost: 1, interrupted: 0, agents: 5, unwatched: 0, launch: 0, drain: 0, resume: 0, remove: 0, failuresInRow: 0, stopped: false });
  });
});

describe('a scaling policy is checked field by field', () => {
  it.each<[Partial<ScalingPolicy>, string]>([
    [{ min: 3, max: 2 }, 'pool awsDeploy: min (3) must not be above max (2)'],
    [{ ephemeral: true, executorsPerAgent: 2 }, 'pool awsDeploy: an ephemeral pool runs one build per agent, so executorsPerAgent must be 1, found 2'],
    [{ executorsPerAgent: 0 }, 'pool awsDeploy: executorsPerAgent must be a whole number >= 1, found 0'],
    [{ minIdle: -1 }, 'pool awsDeploy: minIdle must be a whole number >= 0, found -1'],
    [{ launchesPerTick: 1.5 }, 'pool awsDeploy: launchesPerTick must be a whole number >= 1, found 1.5'],
  ])('%j', (over, problem) => {
    expect(policyProblems(policy(over))).toEqual([problem]);
    expect(() => decide(policy(over), 0, [])).toThrow(problem);
  });

  it('accepts the defaults here', () => {
    expect(policyProblems(policy())).toEqual([]);
  });
});
