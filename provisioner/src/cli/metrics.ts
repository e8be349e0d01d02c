// `watch --metrics-port`: what each tick saw and did, as Prometheus metrics (prom-client) on
// GET /metrics. Gauges are set from the last tick; counters only grow for the life of the process.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import type { TickResult } from '../apply/autoscaler.ts';
import type { ProgressEvent } from '../apply/events.ts';

export class WatchMetrics {
  readonly registry = new Registry();
  private readonly queueWaiting = new Gauge({ name: 'jenkins_fleet_queue_waiting_builds', help: 'Builds waiting for an executor, by the label (or node) their why names', labelNames: ['label'], registers: [this.registry] });
  private readonly queueWait = new Gauge({ name: 'jenkins_fleet_queue_wait_seconds', help: 'How long the longest-waiting build of each label has waited for an executor', labelNames: ['label'], registers: [this.registry] });
  private readonly unattributed = new Gauge({ name: 'jenkins_fleet_queue_unattributed_builds', help: 'Waiting builds no pool of the fleet serves, by why', labelNames: ['reason'], registers: [this.registry] });
  private readonly agents = new Gauge({ name: 'jenkins_fleet_pool_agents', help: 'Agents of each scaled pool: desired (after this tick), current, launching (booting or connecting), draining', labelNames: ['pool', 'state'], registers: [this.registry] });
  private readonly demand = new Gauge({ name: 'jenkins_fleet_pool_demand_builds', help: 'Builds waiting for an executor of each scaled pool', labelNames: ['pool'], registers: [this.registry] });
  private readonly launchErrors = new Counter({ name: 'jenkins_fleet_launch_errors_total', help: 'Launches of each pool that failed, by the remote error code', labelNames: ['pool', 'code'], registers: [this.registry] });
  private readonly stepFailures = new Counter({ name: 'jenkins_fleet_step_failures_total', help: 'Steps of an agent that failed (register, bootstrap, online, drain, ...)', labelNames: ['pool', 'step'], registers: [this.registry] });
  private readonly endedByRemoval = new Counter({ name: 'jenkins_fleet_builds_ended_by_removal_total', help: 'Builds still running on a node watch removed (watch removes only idle agents: always 0)', registers: [this.registry] });
  private readonly unwatched = new Counter({ name: 'jenkins_fleet_ephemeral_unwatched_retired_total', help: 'Idle ephemeral agents a watch retired as it began to lead, since they may have run a build while no watch led', labelNames: ['pool'], registers: [this.registry] });
  private readonly ticks = new Counter({ name: 'jenkins_fleet_ticks_total', help: 'Ticks, by whether they could observe and plan', labelNames: ['result'], registers: [this.registry] });
  private readonly leader = new Gauge({ name: 'jenkins_fleet_watch_leader', help: "1 while this watch leads the fleet (holds its lease and acts), 0 while it follows", registers: [this.registry] });
  private readonly epoch = new Gauge({ name: 'jenkins_fleet_watch_lease_epoch', help: "The fleet lease's epoch (fencing token) this watch leads under, or the last one it saw another hold", registers: [this.registry] });
  private readonly leadershipChanges = new Counter({ name: 'jenkins_fleet_watch_leadership_changes_total', help: 'Times this watch began to lead (to="leader") or stopped leading (to="follower")', labelNames: ['to'], registers: [this.registry] });

  constructor() {
    // Present from the start, so that a scrape before the first tick shows them at 0.
    this.endedByRemoval.inc(0);
    this.ticks.inc({ result: 'ok' }, 0);
    this.ticks.inc({ result: 'failed' }, 0);
    this.leader.set(0);
    this.epoch.set(0);
    this.leadershipChanges.inc({ to: 'leader' }, 0);
    this.leadershipChanges.inc({ to: 'follower' }, 0);
  }

  /** This process's part: leading under `epoch`, or following a holder at `epoch`. */
  role(leading: boolean, epoch: number, changed: boolean): void {
    this.leader.set(leading ? 1 : 0);
    this.epoch.set(epoch);
    if (changed) this.leadershipChanges.inc({ to: leading ? 'leader' : 'follower' });
  }

  tick(result: TickResult): void {
    this.ticks.inc({ result: 'ok' });
    const now = result.at;
    this.queueWaiting.reset();
    this.queueWait.reset();
    const byLabel = new Map<string, { n: number; oldest: number }>();
    for (const item of result.demand.items) {
      const label = item.waitsFor ?? '';
      const seen = byLabel.get(label) ?? { n: 0, oldest: item.waitingSince };
      seen.n += 1;
      seen.oldest = Math.min(seen.oldest, item.waitingSince);
      byLabel.set(label, seen);
    }
    for (const [label, { n, oldest }] of byLabel) {
      this.queueWaiting.set({ label }, n);
      this.queueWait.set({ label }, Math.max(0, (now - oldest) / 1000));
    }
    this.unattributed.reset();
    for (const [reason, n] of result.demand.unattributed) this.unattributed.set({ reason }, n);
    for (const d of result.decisions) {
      const n = d.numbers;
      this.demand.set({ pool: d.pool }, n.demand);
      this.agents.set({ pool: d.pool, state: 'current' }, n.agents);
      this.agents.set({ pool: d.pool, state: 'desired' }, n.agents - n.remove + n.launch);
      this.agents.set({ pool: d.pool, state: 'launching' }, n.booting);
      this.agents.set({ pool: d.pool, state: 'draining' }, n.drained);
      // Present at 0 for every pool from the first tick, so that a rate over it is defined.
      this.unwatched.inc({ pool: d.pool }, n.unwatched);
    }
    for (const [pool, outcome] of result.launches) {
      if (outcome.launched < outcome.requested) this.launchErrors.inc({ pool, code: outcome.error ?? 'unknown' }, outcome.requested - outcome.launched);
    }
    if (result.buildsEndedByRemoval.length > 0) this.endedByRemoval.inc(result.buildsEndedByRemoval.length);
  }

  failedTick(): void {
    this.ticks.inc({ result: 'failed' });
  }

  event(e: ProgressEvent): void {
    if (e.kind === 'failed') this.stepFailures.inc({ pool: e.pool, step: e.step });
  }

  /** Serves GET /metrics on `address:port` (port 0: any free one); resolves to where it listens. */
  async serve(port: number, address: string): Promise<{ url: string; close: () => Promise<void> }> {
    const server: Server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('only GET /metrics here\n');
        return;
      }
      this.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`${(err as Error).message}\n`);
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => resolve());
    });
    // Serving metrics never keeps a stopped watch alive.
    server.unref();
    const bound = server.address() as AddressInfo;
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    return { url: `http://${host}:${bound.port}/metrics`, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }
}
