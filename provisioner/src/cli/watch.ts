// `provisioner watch`: reconciles the fleet on every tick, the pools with `max` following the build
// queue. One line per tick for each pool whose numbers changed, saying why (JSON lines under --json);
// `--once` does a single tick, waits for the agents it started, and exits.
import { dirname } from 'node:path';
import type { ProgressEvent, Reporter } from '../apply/events.ts';
import { Autoscaler, drainSettledAfter, type TickResult } from '../apply/autoscaler.ts';
import { loadFleet, readToken } from '../config/load.ts';
import { parseDuration } from '../config/schema.ts';
import { RemoteFailures, UserError } from '../errors.ts';
import type { Fleet } from '../model.ts';
import type { LeaseState } from '../aws/lease.ts';
import { isScaled } from '../plan/autoscale.ts';
import type { PoolDecision } from '../plan/scale.ts';
import { sshPreflight } from '../transport/ssh.ts';
import type { CommandModule } from './command.ts';
import type { IoHost } from './io.ts';
import { holdRunLock, lockTimeoutOption } from './lock.ts';
import { fencedSystems } from '../apply/fenced.ts';
import { Leadership, LeadershipLost, type LeadershipChange } from '../lock/leadership.ts';
import { fleetLeases } from '../lock/run-lock.ts';
import { WatchMetrics } from './metrics.ts';
import { formatFailure, LogReporter } from './progress.ts';
import { connect as connectAdapters } from './systems.ts';

interface WatchFlags {
  lockTimeout: string;
  lease?: string;
  tick: string;
  once: boolean;
  json: boolean;
  metricsPort?: string;
  metricsAddress: string;
}

/** The shortest tick: Jenkins rebuilds its queue every 5 s, so faster only costs calls. */
const minTickMs = 1_000;
/**
 * How often, between ticks, watch looks at the nodes for ephemeral agents that took their build, at
 * the interruption queue, and at the build queue for builds queued since the tick (a call each, and
 * only when the fleet has such pools or a queue).
 */
const lookMs = 1_000;
/** A leader renews once a tick and stops acting a quarter of the lease before it ends: a lease of three ticks at least leaves room for a slow one. */
const minLeaseTicks = 3;

export const watchCommand: CommandModule = (command, context) => {
  command
    .option('--tick <duration>', 'how often to reconcile', '5s')
    .option('--once', 'one tick, wait for the agents it starts, then exit (for tests and cron)', false)
    .option('--json', 'one JSON object per line: each pool whose numbers changed, and each step', false)
    .option('--metrics-port <port>', 'serve Prometheus metrics on GET /metrics at this port (0: any free one)')
    .option('--metrics-address <address>', 'the address the metrics listen on', '127.0.0.1')
    .option('--lease <duration>', "how long the leading watch's lease lasts without renewal: a follower takes over this long (plus a tick) after the leader dies (default: fleet.yaml lock.expireAfter)")
    .option(lockTimeoutOption[0], `with --once: ${lockTimeoutOption[1]}`, lockTimeoutOption[2])
    .action(async (flags: WatchFlags, self: { getOptionValueSource(key: string): string | undefined }) => {
      // The JSON lines are the output itself, not one document: the host writes them as plain lines.
      const ctx = context();
      const { io, env, now } = ctx;
      const tick = parseDuration(flags.tick);
      if (tick === undefined || tick < minTickMs) throw new UserError(`--tick: expected a duration of at least 1s such as 5s or 1m, found "${flags.tick}"`);
      const metricsPort = flags.metricsPort === undefined ? undefined : Number(flags.metricsPort);
      if (metricsPort !== undefined && (!/^\d+$/.test(flags.metricsPort!) || metricsPort > 65535)) {
        throw new UserError(`--metrics-port: expected a TCP port from 0 to 65535, found "${flags.metricsPort}"`);
      }
      if (!flags.once && self.getOptionValueSource('lockTimeout') === 'cli') {
        throw new UserError(`--lock-timeout: only --once waits for the run lock; a watch that runs on follows the leading one and takes over when it can (see --lease)`);
      }
      const fleet = await loadFleet(ctx.globals.config, env);
      const lease = leaseTime(flags, fleet, tick);
      await sshPreflight(fleet.pools, { baseDir: dirname(fleet.source), env });
      const token = await readToken(fleet, env);
      const systems = (ctx.connect ?? connectAdapters)(fleet, token, { env });
      const metrics = new WatchMetrics();
      const out = output(io, flags.json, now, metrics, fleet.fleet);
      if (!flags.json) io.info(describeFleet(fleet, tick, flags.once));
      if (metricsPort !== undefined) {
        const served = await metrics.serve(metricsPort, flags.metricsAddress).catch((err: unknown) => {
          throw new UserError(`--metrics-port: cannot listen on ${flags.metricsAddress}:${metricsPort}: ${(err as Error).message}`);
        });
        if (flags.json) io.result(JSON.stringify({ time: new Date(now()).toISOString(), type: 'metrics', url: served.url }));
        else io.info(`watch: metrics at ${served.url}`);
      }

      if (flags.once) {
        // One tick under the run lock, as `up` takes it (--lock-timeout waits for another holder).
        await using lock = await holdRunLock(ctx, fleet, 'watch', flags.lockTimeout);
        const autoscaler = new Autoscaler(fleet, 'verify' in lock ? fencedSystems(systems, lock) : systems, { reporter: out.reporter, now });
        let last = await autoscaler.tick();
        out.tick(last);
        const failures = [...last.failures];
        // A drained agent is removed only by a look more than a queue-maintenance cycle after a look
        // that saw it drained: one --once makes those looks itself (two more ticks at most) rather
        // than leave them to the next run, whose memory of the drain would start anew. Idleness
        // itself is remembered on the instances (plan/autoscale.ts).
        for (let look = 0; look < 2 && last.decisions.some((d) => d.drain.length > 0 || d.numbers.drained > 0); look += 1) {
          await new Promise((resolve) => setTimeout(resolve, drainSettledAfter));
          last = await autoscaler.tick();
          out.tick(last);
          failures.push(...last.failures);
        }
        await autoscaler.settle();
        failures.push(...out.failures());
        if (failures.length > 0) throw new RemoteFailures(`${failures.length} step(s) of the tick failed`, failures.map(formatFailure));
        return;
      }

      // Several watches may run: the one holding the fleet's lease acts, the others follow.
      let leadership: Leadership | undefined;
      if (fleet.lock) {
        leadership = new Leadership(fleet, { leases: fleetLeases(fleet.lock), duration: lease!, now, notify: (change) => out.leadership(change) });
      } else {
        io.warn(`warning: ${fleet.source} has no lock: section, so nothing keeps a second watch, up or down on fleet ${fleet.fleet} from acting at the same time (see "The run lock" in README.md)`);
      }
      let autoscaler: Autoscaler | undefined;
      let shownRole: 'leader' | 'follower' = 'follower';
      /** The term the autoscaler acts under: a new term starts a new one, which knows only what it observes. */
      let term: AbortSignal | undefined;
      const follow = () => {
        autoscaler?.stop();
        autoscaler = undefined;
        term = undefined;
      };

      let stopping = false;
      let wake: () => void = () => undefined;
      const stop = () => {
        stopping = true;
        wake();
      };
      const pause = (ms: number) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      try {
        if (!leadership) autoscaler = new Autoscaler(fleet, systems, { reporter: out.reporter, now });
        while (!stopping) {
          const started = now();
          if (leadership) {
            await leadership.step();
            // Counted against the role last shown: a term can also end within a tick (a fenced call).
            metrics.role(leadership.role === 'leader', leadership.epoch, shownRole !== leadership.role);
            shownRole = leadership.role;
            if (leadership.role === 'leader' && term !== leadership.signal) {
              follow();
              term = leadership.signal;
              // A takeover starts from the observation alone, as a restarted watch does: launch
              // tokens and tags make what the last leader left half done look finished or to finish.
              autoscaler = new Autoscaler(fleet, fencedSystems(systems, leadership), { reporter: out.reporter, now });
            } else if (leadership.role === 'follower' && autoscaler) {
              follow();
            }
          }
          if (!autoscaler) {
            await pause(leadership!.nextTry(tick));
            continue;
          }
          try {
            out.tick(await autoscaler.tick());
          } catch (err) {
            if (err instanceof LeadershipLost) {
              // The leadership said so as it stepped down; the next step follows.
              follow();
              continue;
            }
            // A tick that could not observe or plan changes nothing: say so and try again next tick.
            metrics.failedTick();
            out.error(err);
          }
          // Until the next tick, a look every second for ephemeral agents that took their build, for
          // interruption notices and for builds queued since the tick. A drain this tick (or an
          // earlier one) made that settles before the next tick is looked at when it settles: at the
          // default tick, the next tick comes just before that, and the removal would wait a tick more.
          while (!stopping && autoscaler && now() - started < tick) {
            const due = autoscaler.removalDue();
            if (due !== undefined && now() >= due) break;
            await pause(Math.min(lookMs, Math.max(0, tick - (now() - started)), due === undefined ? lookMs : Math.max(0, due - now())));
            if (leadership && leadership.role !== 'leader') break;
            if (stopping || now() - started >= tick) break;
            if (due !== undefined && now() >= due) break;
            // An interruption notice does not wait for the tick (its agent is drained and replaced now),
            // nor does a build queued for a scaled pool since the tick (its agent launches now).
            if ((await autoscaler.look((err) => out.error(err))).tickNow) break;
          }
        }
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
      }
      // Whatever was under way is finished by the next leader (or `up`): nothing here needs waiting for.
      follow();
      if (leadership) {
        // Let the lease go so that a follower takes over at its next try, not after the lease time.
        const bounded = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000).unref());
        await Promise.race([leadership.release().catch(() => false), bounded]);
      }
      if (!flags.json) io.info('watch: stopped.');
      // The bring-up's remote waits (an SSM agent coming online, a bootstrap's command) hold timers
      // until their deadline: a stopped watch leaves them, as a crashed one would, once its output is out.
      setTimeout(() => process.exit(), 200).unref();
    });
};

/** The lease time: --lease, else fleet.yaml's lock.expireAfter; room for three ticks at least. */
function leaseTime(flags: WatchFlags, fleet: Fleet, tick: number): number | undefined {
  if (flags.lease === undefined) {
    if (!fleet.lock) return undefined;
    if (!flags.once && fleet.lock.expireAfter < minLeaseTicks * tick) {
      throw new UserError(`${fleet.source}: lock.expireAfter: expected at least ${minLeaseTicks} ticks (${(minLeaseTicks * tick) / 1000}s with --tick ${flags.tick}) so that the leading watch renews well within it, found ${fleet.lock.expireAfter / 1000}s; raise it, or give watch --lease`);
    }
    return fleet.lock.expireAfter;
  }
  const ms = parseDuration(flags.lease);
  if (ms === undefined || ms < 10_000 || ms > 3_600_000) throw new UserError(`--lease: expected a duration from 10s to 1h such as 30s, found "${flags.lease}"`);
  if (ms < minLeaseTicks * tick) throw new UserError(`--lease: expected at least ${minLeaseTicks} ticks (${(minLeaseTicks * tick) / 1000}s with --tick ${flags.tick}) so that the leading watch renews well within it, found "${flags.lease}"`);
  if (!fleet.lock) throw new UserError(`--lease: ${fleet.source} has no lock: section, so there is no lease to take (lock: { table: NAME }, the lock_table output of terraform/jenkins)`);
  if (flags.once) throw new UserError('--lease: --once takes the run lock as up does (for lock.expireAfter); --lease is for a watch that runs on');
  return ms;
}

function describeFleet(fleet: Fleet, tick: number, once: boolean): string {
  const scaled = fleet.pools.filter(isScaled).map((p) => `${p.name} (${p.min}..${p.max})`);
  const fixed = fleet.pools.filter((p) => !isScaled(p)).map((p) => `${p.name} (${p.count})`);
  return `watch: fleet ${fleet.fleet}, ${once ? 'one tick' : `a tick every ${tick / 1000}s`}; following the queue: ${scaled.join(', ') || 'no pool (none has max)'}${fixed.length ? `; fixed: ${fixed.join(', ')}` : ''}`;
}

/** Lines for people, or JSON lines; a pool's line only when its numbers changed. */
function output(io: IoHost, json: boolean, now: () => number, metrics: WatchMetrics, fleet: string) {
  const last = new Map<string, string>();
  let lastQueue = '';
  const background: Array<Extract<ProgressEvent, { kind: 'failed' }>> = [];
  const stamp = () => new Date(now()).toISOString();
  const log = new LogReporter((line) => io.info(`${stamp()} ${line}`));
  const reporter: Reporter = {
    event(e) {
      metrics.event(e);
      if (e.kind === 'failed') background.push(e);
      if (json) io.result(JSON.stringify({ time: stamp(), type: 'event', ...e }));
      else log.event(e);
    },
  };
  return {
    reporter,
    failures: () => background.splice(0),
    tick(result: TickResult) {
      metrics.tick(result);
      // The tick's own failures were already reported as events as they happened.
      background.splice(0);
      for (const name of result.buildsEndedByRemoval) io.warn(`${new Date(result.at).toISOString()} ${name}: removed while a build still ran there (a bug of watch: please report it)`);
      for (const decision of result.decisions) {
        const key = JSON.stringify(decision.numbers);
        if (last.get(decision.pool) === key) continue;
        last.set(decision.pool, key);
        if (json) io.result(JSON.stringify({ time: new Date(result.at).toISOString(), type: 'pool', pool: decision.pool, ...decision.numbers, drained: decision.drain.map((d) => d.agent), resumed: decision.resume, removed: decision.remove.map((r) => r.agent), unwatched: decision.unwatched, reason: decision.reason }));
        else io.info(`${new Date(result.at).toISOString()} ${poolLine(decision)}`);
      }
      const unattributed = [...result.demand.unattributed].map(([why, n]) => `${n} ${why}`).join(', ');
      if (unattributed !== lastQueue) {
        lastQueue = unattributed;
        const waiting = [...result.demand.unattributed.values()].reduce((a, b) => a + b, 0);
        if (json) io.result(JSON.stringify({ time: new Date(result.at).toISOString(), type: 'queue', unattributed: Object.fromEntries(result.demand.unattributed) }));
        else io.info(`${new Date(result.at).toISOString()} queue: ${waiting === 0 ? 'every waiting build is for a pool of this fleet, or none waits' : `${waiting} waiting build(s) no pool of this fleet serves (${unattributed})`}`);
      }
    },
    leadership(change: LeadershipChange) {
      const time = stamp();
      const who = (s: LeaseState) => ({ holder: s.holder ?? null, host: s.details?.host ?? null, pid: s.details?.pid ?? null, epoch: s.epoch, expires: s.expiresAt ? new Date(s.expiresAt).toISOString() : null });
      const whoText = (s: LeaseState) => `${s.holder ?? 'another run'} (host ${s.details?.host ?? '?'}, pid ${s.details?.pid ?? '?'}, epoch ${s.epoch}, expires ${s.expiresAt ? new Date(s.expiresAt).toISOString() : '?'})`;
      switch (change.kind) {
        case 'leading':
          if (json) io.result(JSON.stringify({ time, type: 'leadership', role: 'leader', epoch: change.epoch, lockId: change.lockId, expires: new Date(change.expiresAt).toISOString(), ...(change.tookOverFrom ? { tookOverFrom: who(change.tookOverFrom) } : {}) }));
          else io.info(`${time} watch: leading fleet ${fleet} (epoch ${change.epoch}, lock ID ${change.lockId})${change.tookOverFrom ? `, taken over from ${whoText(change.tookOverFrom)}` : ''}`);
          break;
        case 'following':
          if (json) io.result(JSON.stringify({ time, type: 'leadership', role: 'follower', ...who(change.current) }));
          else io.info(`${time} watch: following ${whoText(change.current)}; acts only once it leads, and tries to every tick`);
          break;
        case 'lost':
          if (json) io.result(JSON.stringify({ time, type: 'leadership', role: 'follower', lost: change.epoch, reason: change.why }));
          else io.warn(`${time} watch: stopped leading fleet ${fleet} (epoch ${change.epoch}): ${change.why}; following from now on`);
          break;
        case 'unreachable':
          if (json) io.result(JSON.stringify({ time, type: 'error', error: `the fleet's lease: ${change.error}` }));
          else io.warn(`${time} watch: the fleet's lease could not be ${change.role === 'leader' ? 'renewed' : 'read or taken'} (will try again next tick): ${change.error}`);
          break;
      }
    },
    error(err: unknown) {
      const message = err instanceof Error ? err.message : String(err);
      if (json) io.result(JSON.stringify({ time: stamp(), type: 'error', error: message }));
      else io.warn(`${stamp()} tick failed, nothing changed: ${message}`);
    },
  };
}

function poolLine(d: PoolDecision): string {
  const n = d.numbers;
  const state = `demand ${n.demand}, ${n.free} free, ${n.online} online, ${n.booting} booting, ${n.drained} drained${n.held ? `, ${n.held} held` : ''}${n.lost ? `, ${n.lost} lost` : ''}`;
  return `${d.pool}: ${state}: ${d.reason}`;
}
