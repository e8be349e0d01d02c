// What `watch` decides for each pool on every tick: how many agents to launch, which to drain, take
// back online or remove, and why, from the pool's settings, its demand and what was observed of
// its agents. Pure: time comes in as `now`, and what must be remembered between ticks (how long
// an agent has been seen idle, since when it is drained, a pool's failures) goes in and comes back
// out as `ScalingMemory`. Losing that memory (a restart) only delays scale-in and resets budgets:
// every rule that ends an agent waits for fresh observations.

/** Jenkins runs its queue maintenance every 5 s (Queue.maintain via jenkins.util.Timer): an executor
 * handed work in a cycle that began before a drain shows busy within one cycle after it. */
export const queueMaintenanceCycle = 5_000;
/** Launches refused for throttling wait this long, doubled at each refusal in a row, up to the cap. */
export const throttleBackoff = { first: 5_000, cap: 300_000 } as const;

/** A pool's scaling settings (durations in milliseconds). */
export interface ScalingPolicy {
  pool: string;
  min: number;
  max: number;
  /** Executors kept free and ready, beyond the queue's demand. */
  minIdle: number;
  /** How long an agent stays idle before it is removed. */
  idleAfter: number;
  /** No agent is removed for idleness before it has run this long. */
  minUptime: number;
  /** One build per agent: drained as soon as seen busy, removed when that build ends. */
  ephemeral: boolean;
  executorsPerAgent: number;
  /** At most this many launches in one tick. */
  launchesPerTick: number;
  /** An agent not online this long after its launch is stuck, and replaced. */
  bootDeadline: number;
  /** Failed launches or stuck agents in a row before the pool stops growing. */
  retryBudget: number;
  /** How long a pool that spent its budget waits before trying one launch again. */
  retryAfter: number;
}

/** Problems with a policy, each naming the field; empty when it can be used. */
export function policyProblems(policy: ScalingPolicy): string[] {
  const problems: string[] = [];
  const whole = (field: keyof ScalingPolicy, least: number) => {
    const value = policy[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < least) problems.push(`pool ${policy.pool}: ${field} must be a whole number >= ${least}, found ${String(value)}`);
  };
  whole('min', 0);
  whole('max', 0);
  whole('minIdle', 0);
  whole('idleAfter', 0);
  whole('minUptime', 0);
  whole('executorsPerAgent', 1);
  whole('launchesPerTick', 1);
  whole('bootDeadline', 1);
  whole('retryBudget', 1);
  whole('retryAfter', 0);
  if (policy.min > policy.max) problems.push(`pool ${policy.pool}: min (${policy.min}) must not be above max (${policy.max})`);
  if (policy.ephemeral && policy.executorsPerAgent !== 1) problems.push(`pool ${policy.pool}: an ephemeral pool runs one build per agent, so executorsPerAgent must be 1, found ${policy.executorsPerAgent}`);
  return problems;
}

/**
 * Where an agent is in its life, as observed:
 * - `launching`: the instance is starting; `connecting`: it runs, its agent is not connected yet;
 * - `online`: connected and accepting builds;
 * - `drained`: connected, taken temporarily offline by the provisioner (its builds go on, no new one starts);
 * - `held`: taken offline by a person: left alone;
 * - `lost`: was online, its agent is no longer connected (the planner's repair deals with it).
 */
export type AgentPhase = 'launching' | 'connecting' | 'online' | 'drained' | 'held' | 'lost';

export interface ObservedAgent {
  name: string;
  phase: AgentPhase;
  /** Epoch milliseconds of the instance's launch. */
  launchedAt: number;
  executors: number;
  /** Executors running a build or handed one. */
  busy: number;
  /** Jenkins shows it has run a build (ephemeral pools: it must never run a second). */
  hasRun: boolean;
  /**
   * When it was drained, in this clock (Jenkins' offline cause timestamp, corrected for the
   * controller's clock); without it, the first observation that saw it drained counts.
   */
  drainedAt?: number;
  /**
   * EC2 said the instance is about to go (a Spot interruption warning) or at risk (a rebalance
   * recommendation), at `at`: it is leaving, drained and replaced; removed once no build runs there.
   */
  interrupted?: { kind: 'warning' | 'rebalance'; at: number };
  /**
   * What an earlier process recorded of its idleness (on the instance, Tags.idleSince): a number is
   * the first observation of its current idle stretch. Read only when this process has no memory of
   * the agent, so that `watch --once` from cron, and a restarted `watch`, count idleness from it.
   */
  idleMark?: number | 'busy';
}

/** What became of the launches the previous tick asked for. */
export interface LaunchOutcome {
  requested: number;
  launched: number;
  /** The remote's error code when some were not launched (InsufficientInstanceCapacity, ...). */
  error?: string;
  /** The refusal was throttling (RequestLimitExceeded): wait, it is not a failure of the pool. */
  throttled: boolean;
}

/** One pool's inputs for one tick. */
export interface PoolTick {
  policy: ScalingPolicy;
  /** Builds waiting for an executor of this pool (demand.ts). */
  demand: number;
  agents: ObservedAgent[];
  lastLaunch?: LaunchOutcome;
  /**
   * This process has just begun to lead the fleet (its first tick, at startup or at a takeover): it
   * saw nothing of the time before, when an ephemeral agent may have run a build that started and
   * ended unseen. Jenkins exports no record of that (Computer.getBuilds() keeps only freestyle
   * builds, getIdleStartMilliseconds() is not exported), so every such agent idle now is retired.
   */
  takeover?: boolean;
}

export interface AgentMemory {
  /**
   * Its current idle stretch: `since` is the last observation that saw it busy (its build ended
   * after that), or the first that saw it idle when none did; `firstSeen` the first that saw it idle.
   */
  idle?: { since: number; firstSeen: number };
  lastBusySeen?: number;
  /** The first observation that saw it drained. */
  drainedSeen?: number;
  /** Seen busy, or Jenkins said it ran a build. */
  ranBuild?: boolean;
  /** Seen launching or connecting: coming online later is a launch that worked. */
  wasBooting?: boolean;
  /** Already counted as a failure for being stuck. */
  stuck?: boolean;
}

export interface PoolMemory {
  /** Failed launches and stuck agents since an agent last came online. */
  failuresInRow: number;
  lastFailure?: string;
  /** When the pool spent its retry budget, or last tried once more after that. */
  stoppedAt?: number;
  throttledInRow: number;
  /** No launch before this (epoch milliseconds). */
  backoffUntil?: number;
}

export interface ScalingMemory {
  agents: Record<string, AgentMemory>;
  pools: Record<string, PoolMemory>;
}

export const emptyMemory = (): ScalingMemory => ({ agents: {}, pools: {} });

/** `unwatched`: an ephemeral agent found idle by a process that just began to lead (PoolTick.takeover). */
export type DrainWhy = 'scale-in' | 'ephemeral' | 'unwatched';
export type RemoveWhy = 'scale-in' | 'ephemeral' | 'stuck' | 'interrupted';

/** The pool's figures this tick, for the one line `watch` prints when they change. */
export interface PoolNumbers {
  demand: number;
  /** Free executors of online agents. */
  free: number;
  booting: number;
  online: number;
  drained: number;
  held: number;
  lost: number;
  /** Agents EC2 is taking away (or may): drained, replaced, removed once idle. */
  interrupted: number;
  /** Every agent the pool has, stuck ones included. */
  agents: number;
  /** Ephemeral agents retired by this tick because they may have run a build while no watch led. */
  unwatched: number;
  launch: number;
  drain: number;
  resume: number;
  remove: number;
  failuresInRow: number;
  stopped: boolean;
}

export interface PoolDecision {
  pool: string;
  launch: number;
  drain: Array<{ agent: string; why: DrainWhy }>;
  /** Drained agents wanted again: take them back online. */
  resume: string[];
  remove: Array<{ agent: string; why: RemoveWhy }>;
  /** Ephemeral agents retired (drained now, or never taken back) because they may have run a build while no watch led. */
  unwatched: string[];
  numbers: PoolNumbers;
  /** One sentence: why these numbers. */
  reason: string;
  /**
   * The next moment an idle agent not drained now becomes a scale-in candidate (idle for idleAfter,
   * seen idle a cycle before, run minUptime), when that is still to come: a tick then drains it at
   * once, rather than at the first tick after (a tick's observation time varies with its calls).
   */
  candidateAt?: number;
}

/** Decides every pool; memory of agents no longer observed is dropped. */
export function decideScaling(pools: readonly PoolTick[], memory: ScalingMemory, now: number): { decisions: PoolDecision[]; memory: ScalingMemory } {
  const next = emptyMemory();
  const decisions = pools.map((tick) => {
    const { decision, pool, agents } = decidePool(tick, memory, now);
    next.pools[tick.policy.pool] = pool;
    Object.assign(next.agents, agents);
    return decision;
  });
  return { decisions, memory: next };
}

interface Seen {
  agent: ObservedAgent;
  memory: AgentMemory;
}

function decidePool(tick: PoolTick, memory: ScalingMemory, now: number): { decision: PoolDecision; pool: PoolMemory; agents: Record<string, AgentMemory> } {
  const { policy, demand } = tick;
  const problems = policyProblems(policy);
  if (problems.length > 0) throw new Error(`cannot scale: ${problems.join('; ')}`);
  const pool: PoolMemory = { failuresInRow: 0, throttledInRow: 0, ...memory.pools[policy.pool] };
  const notes: string[] = [];

  // What the previous tick's launches came to.
  const last = tick.lastLaunch;
  if (last && last.launched < last.requested) {
    if (last.throttled) {
      pool.throttledInRow += 1;
      pool.backoffUntil = now + Math.min(throttleBackoff.first * 2 ** (pool.throttledInRow - 1), throttleBackoff.cap);
    } else {
      pool.failuresInRow += 1;
      pool.lastFailure = `launch failed${last.error ? ` (${last.error})` : ''}`;
    }
  } else if (last && last.launched > 0) {
    pool.throttledInRow = 0;
    delete pool.backoffUntil;
  }

  const unwatched: string[] = [];
  // This observation, remembered.
  const seen: Seen[] = tick.agents.map((agent) => {
    const remembered = memory.agents[agent.name];
    const before = remembered ?? {};
    const m: AgentMemory = {};
    const connected = agent.phase === 'online' || agent.phase === 'drained';
    // An earlier process's first idle observation counts as this one's (both since and firstSeen: it
    // is an observation of idleness, and a build it missed in between only ended before this one).
    const recorded = remembered === undefined && typeof agent.idleMark === 'number' && agent.idleMark <= now ? { since: agent.idleMark, firstSeen: agent.idleMark } : undefined;
    if (connected && agent.busy === 0) m.idle = before.idle ?? recorded ?? { since: before.lastBusySeen ?? now, firstSeen: now };
    if (agent.busy > 0) m.lastBusySeen = now;
    if (agent.phase === 'drained') m.drainedSeen = before.drainedSeen ?? now;
    if (before.ranBuild || agent.busy > 0 || agent.hasRun) m.ranBuild = true;
    // A new leader cannot know what ran before it led: an idle agent, or one drained (for scale-in,
    // which a build handed to it just before may have outlived), may have run its one build.
    // Agents launching or connecting cannot have run one; a busy one is outgoing anyway.
    else if (tick.takeover && policy.ephemeral && agent.interrupted === undefined && (agent.phase === 'online' || agent.phase === 'drained')) {
      m.ranBuild = true;
      unwatched.push(agent.name);
    }
    if (agent.phase === 'launching' || agent.phase === 'connecting') m.wasBooting = true;
    else if (before.wasBooting && connected) {
      // A launch that worked: the pool's failures are behind it.
      pool.failuresInRow = 0;
      delete pool.lastFailure;
      delete pool.stoppedAt;
    }
    if (before.stuck) m.stuck = true;
    return { agent, memory: m };
  });

  const remove: PoolDecision['remove'] = [];
  const drain: PoolDecision['drain'] = [];
  const resume: string[] = [];

  // Ephemeral agents that ran a build are on their way out: drained at once, removed once idle.
  const outgoing = (s: Seen) => policy.ephemeral && s.memory.ranBuild === true;

  // Stuck: not online within the boot deadline. Replaced (the count below no longer has it).
  const booting: Seen[] = [];
  for (const s of seen) {
    if (s.agent.phase !== 'launching' && s.agent.phase !== 'connecting') continue;
    if (s.agent.interrupted) continue;
    // Not connected, nothing running, and it ran its build (its node lost after it did): it goes now.
    if (outgoing(s) && s.agent.busy === 0) {
      remove.push({ agent: s.agent.name, why: 'ephemeral' });
      continue;
    }
    if (now - s.agent.launchedAt > policy.bootDeadline) {
      remove.push({ agent: s.agent.name, why: 'stuck' });
      if (!s.memory.stuck) {
        s.memory.stuck = true;
        pool.failuresInRow += 1;
        pool.lastFailure = `${s.agent.name} not online ${formatDuration(policy.bootDeadline)} after its launch`;
      }
    } else {
      booting.push(s);
    }
  }

  // Interrupted agents are leaving: never counted, resumed or scaled in; each has its replacement.
  const leaving = seen.filter((s) => s.agent.interrupted !== undefined);
  const inPhase = (phase: AgentPhase) => seen.filter((s) => s.agent.phase === phase && s.agent.interrupted === undefined);
  const online = inPhase('online').filter((s) => !outgoing(s));
  const drained = inPhase('drained').filter((s) => !outgoing(s));
  const held = inPhase('held');
  const lost = inPhase('lost');
  for (const s of inPhase('online').filter(outgoing)) drain.push({ agent: s.agent.name, why: unwatched.includes(s.agent.name) ? 'unwatched' : 'ephemeral' });
  // Drained longer than a maintenance cycle and idle now: nothing was handed to it before the drain.
  const settled = (s: Seen) => {
    const drainedAt = s.agent.drainedAt ?? s.memory.drainedSeen;
    return s.agent.busy === 0 && drainedAt !== undefined && now - drainedAt > queueMaintenanceCycle;
  };
  for (const s of inPhase('drained').filter(outgoing)) if (settled(s)) remove.push({ agent: s.agent.name, why: 'ephemeral' });
  // An interrupted agent goes once nothing runs there: at once if its agent never came or is gone,
  // else once drained past a maintenance cycle (nothing was handed to it before the drain).
  for (const s of leaving) {
    const connected = s.agent.phase === 'online' || s.agent.phase === 'drained' || s.agent.phase === 'held';
    if (!connected || settled(s)) remove.push({ agent: s.agent.name, why: 'interrupted' });
  }

  const freeOf = (s: Seen) => Math.max(0, s.agent.executors - s.agent.busy);
  const free = sum(online.map(freeOf));
  const bootingExecutors = sum(booting.map((s) => s.agent.executors || policy.executorsPerAgent));
  const wanted = demand + policy.minIdle;
  let missing = wanted - free - bootingExecutors;
  // Agents that stay (not on their way out): `min` counts these.
  let staying = booting.length + online.length + held.length + lost.length;

  // Drained agents come back before anything is launched: for demand, then for `min`.
  const resumable = [...drained].sort((a, b) => freeOf(b) - freeOf(a) || a.agent.name.localeCompare(b.agent.name));
  for (const s of resumable) {
    const forDemand = missing > 0 && freeOf(s) > 0;
    if (!forDemand && staying >= policy.min) continue;
    resume.push(s.agent.name);
    missing -= freeOf(s);
    staying += 1;
  }
  if (resume.length > 0) notes.push(`take back ${resume.length} drained`);

  // Launch: executors missing for demand and minIdle, agents missing for min, a replacement for each
  // interrupted agent; within max (which the leaving agents do not count against), the rate, backoff and budget.
  const forDemand = Math.max(0, Math.ceil(missing / policy.executorsPerAgent));
  const forMin = Math.max(0, policy.min - staying);
  const forReplacement = unreplaced(leaving.map((s) => s.agent), seen.filter((s) => s.agent.interrupted === undefined).map((s) => s.agent));
  let launch = Math.max(forDemand, forMin, forReplacement);
  const removing = new Set(remove.map((r) => r.agent));
  const total = seen.filter((s) => !removing.has(s.agent.name) && s.agent.interrupted === undefined).length;
  if (launch > 0) {
    const wish = launch;
    const room = Math.max(0, policy.max - total);
    launch = Math.min(launch, room, policy.launchesPerTick);
    if (pool.failuresInRow >= policy.retryBudget) {
      pool.stoppedAt ??= now;
      if (now - pool.stoppedAt >= policy.retryAfter && booting.length === 0) {
        launch = Math.min(launch, 1);
        pool.stoppedAt = now;
        notes.push(`trying 1 launch again after ${pool.failuresInRow} failures in a row (last: ${pool.lastFailure ?? 'unknown'})`);
      } else {
        launch = 0;
        notes.push(`stopped growing: ${pool.failuresInRow} failures in a row (last: ${pool.lastFailure ?? 'unknown'}); next try at ${new Date(pool.stoppedAt + policy.retryAfter).toISOString()}`);
      }
    } else if (pool.backoffUntil !== undefined && now < pool.backoffUntil) {
      launch = 0;
      notes.push(`launches throttled: next at ${new Date(pool.backoffUntil).toISOString()}`);
    }
    const why = forReplacement >= Math.max(forMin, forDemand) ? `replacing ${forReplacement} interrupted` : forMin > forDemand ? `${forMin} below min ${policy.min}` : `demand ${demand} + minIdle ${policy.minIdle} > ${free} free + ${bootingExecutors} booting`;
    if (launch > 0) notes.push(`launch ${launch}: ${why}`);
    if (launch < wish && room < wish) notes.push(`held at max ${policy.max}`);
    else if (launch < wish && launch > 0 && policy.launchesPerTick < wish) notes.push(`at most ${policy.launchesPerTick} a tick`);
  } else if (pool.failuresInRow < policy.retryBudget) {
    delete pool.stoppedAt;
  }

  // Scale in: only with nothing missing, agents idle for idleAfter (seen idle twice, a queue
  // maintenance cycle apart) that have run minUptime, while the rest still cover demand + minIdle and min.
  let candidateAt: number | undefined;
  if (launch === 0 && missing <= 0 && resume.length === 0) {
    let surplus = free - wanted;
    const idleFor = (s: Seen) => (s.memory.idle ? now - s.memory.idle.since : 0);
    const seenIdleTwice = (s: Seen) => s.memory.idle !== undefined && now - s.memory.idle.firstSeen >= queueMaintenanceCycle;
    const candidates = online
      .filter((s) => s.agent.busy === 0 && seenIdleTwice(s))
      .filter((s) => idleFor(s) >= policy.idleAfter)
      .filter((s) => now - s.agent.launchedAt >= policy.minUptime)
      .sort((a, b) => idleFor(b) - idleFor(a) || a.agent.name.localeCompare(b.agent.name));
    for (const s of candidates) {
      if (staying - 1 < policy.min || surplus < s.agent.executors) break;
      drain.push({ agent: s.agent.name, why: 'scale-in' });
      surplus -= s.agent.executors;
      staying -= 1;
    }
    if (drain.some((d) => d.why === 'scale-in')) notes.push(`drain ${drain.filter((d) => d.why === 'scale-in').length}: idle ${formatDuration(policy.idleAfter)}, not needed for demand ${demand} + minIdle ${policy.minIdle} or min ${policy.min}`);
    const draining = new Set(drain.map((d) => d.agent));
    const upcoming = online
      .filter((s) => s.agent.busy === 0 && s.memory.idle !== undefined && !draining.has(s.agent.name))
      .map((s) => Math.max(s.memory.idle!.since + policy.idleAfter, s.memory.idle!.firstSeen + queueMaintenanceCycle, s.agent.launchedAt + policy.minUptime))
      .filter((at) => at > now);
    if (upcoming.length > 0) candidateAt = Math.min(...upcoming);
    // Drained agents not taken back: removed once drained past a maintenance cycle and still idle.
    for (const s of drained) if (settled(s)) remove.push({ agent: s.agent.name, why: 'scale-in' });
  }

  const ephemeralDrains = drain.filter((d) => d.why === 'ephemeral').length;
  if (ephemeralDrains > 0) notes.push(`drain ${ephemeralDrains} that ran their build`);
  if (unwatched.length > 0) notes.push(`retire ${unwatched.length} idle that may have run a build while no watch led`);
  const removals = (why: RemoveWhy) => remove.filter((r) => r.why === why).length;
  if (removals('stuck') > 0) notes.push(`replace ${removals('stuck')} stuck (not online ${formatDuration(policy.bootDeadline)} after launch)`);
  if (removals('ephemeral') > 0) notes.push(`remove ${removals('ephemeral')} whose build ended`);
  if (removals('scale-in') > 0) notes.push(`remove ${removals('scale-in')} drained and idle`);
  if (removals('interrupted') > 0) notes.push(`remove ${removals('interrupted')} interrupted, no build left there`);

  const stopped = pool.failuresInRow >= policy.retryBudget;
  const numbers: PoolNumbers = {
    demand,
    free,
    booting: booting.length,
    online: online.length,
    drained: inPhase('drained').length,
    held: held.length,
    lost: lost.length,
    interrupted: leaving.length,
    agents: seen.length,
    unwatched: unwatched.length,
    launch,
    drain: drain.length,
    resume: resume.length,
    remove: remove.length,
    failuresInRow: pool.failuresInRow,
    stopped,
  };
  const reason = notes.length > 0 ? notes.join('; ') : `steady: demand ${demand}, ${free} free, ${booting.length} booting, minIdle ${policy.minIdle}, min ${policy.min}, max ${policy.max}`;
  const agents = Object.fromEntries(seen.map((s) => [s.agent.name, s.memory]));
  return { decision: { pool: policy.pool, launch, drain, resume, remove, unwatched, numbers, reason, ...(candidateAt !== undefined ? { candidateAt } : {}) }, pool, agents };
}

/**
 * How many interrupted agents have no replacement yet: an agent launched at or after an agent's
 * notice stands in for it (each for one, earliest notices first). Read from the observation alone,
 * so a restarted process neither forgets a replacement nor launches a second.
 */
export function unreplaced(interrupted: readonly ObservedAgent[], others: readonly ObservedAgent[]): number {
  const candidates = [...others].sort((a, b) => a.launchedAt - b.launchedAt);
  const used = new Set<ObservedAgent>();
  let missing = 0;
  for (const agent of [...interrupted].sort((a, b) => a.interrupted!.at - b.interrupted!.at)) {
    const replacement = candidates.find((c) => !used.has(c) && c.launchedAt >= agent.interrupted!.at);
    if (replacement) used.add(replacement);
    else missing += 1;
  }
  return missing;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
