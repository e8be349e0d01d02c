// watch's Prometheus metrics: what a tick saw and did, scraped over HTTP as Prometheus would.
import { describe, expect, it } from 'vitest';
import type { TickResult } from '../../../provisioner/src/apply/autoscaler.ts';
import { WatchMetrics } from '../../../provisioner/src/cli/metrics.ts';
import { demandFromQueue } from '../../../provisioner/src/plan/demand.ts';
import type { PoolDecision } from '../../../provisioner/src/plan/scale.ts';

const NOW = Date.UTC(2026, 10, 28, 9, 0, 0);

function decision(pool: string, numbers: Partial<PoolDecision['numbers']>): PoolDecision {
  return {
    pool,
    launch: numbers.launch ?? 0,
    drain: [],
    resume: [],
    remove: [],
    unwatched: [],
    reason: 'test',
    numbers: { demand: 0, free: 0, booting: 0, online: 0, drained: 0, held: 0, lost: 0, interrupted: 0, agents: 0, unwatched: 0, launch: 0, drain: 0, resume: 0, remove: 0, failuresInRow: 0, stopped: false, ...numbers },
  };
}

describe('watch metrics', () => {
  it('serve the queue wait per label, each pool\'s agents, launch errors by code and builds ended by a removal (0)', async () => {
    const metrics = new WatchMetrics();
    const served = await metrics.serve(0, '127.0.0.1');
    try {
      const before = await (await fetch(served.url)).text();
      expect(before).toMatch(/^jenkins_fleet_builds_ended_by_removal_total 0$/m);
      const items = [
        { id: 1, task: 'a', why: 'Waiting for next available executor on ‘awsDeploy’', buildable: true, blocked: false, pending: false, stuck: false, inQueueSince: NOW - 30_000 },
        { id: 2, task: 'b', why: 'Waiting for next available executor on ‘awsDeploy’', buildable: true, blocked: false, pending: false, stuck: false, inQueueSince: NOW - 5_000 },
        { id: 3, task: 'c', why: 'There are no nodes with the label ‘windows’', buildable: true, blocked: false, pending: false, stuck: false, inQueueSince: NOW - 1_000 },
      ];
      const demand = demandFromQueue(items, [{ name: 'awsDeploy', labels: ['awsDeploy'], scaled: true }], new Map());
      const result = {
        at: NOW,
        demand,
        decisions: [decision('awsDeploy', { demand: 2, agents: 3, booting: 1, drained: 1, launch: 2, remove: 1 }), decision('pullRequests', { agents: 2, drained: 2, unwatched: 2 })],
        failures: [],
        launches: new Map([['awsDeploy', { requested: 3, launched: 1, error: 'InsufficientInstanceCapacity', throttled: false }]]),
        buildsEndedByRemoval: [],
      } as unknown as TickResult;
      metrics.tick(result);
      metrics.event({ kind: 'failed', pool: 'awsDeploy', agent: 'x', step: 'bootstrap', error: 'no' });
      const res = await fetch(served.url);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      expect(text).toMatch(/^jenkins_fleet_queue_waiting_builds\{label="awsDeploy"\} 2$/m);
      expect(text).toMatch(/^jenkins_fleet_queue_wait_seconds\{label="awsDeploy"\} 30$/m);
      expect(text).toMatch(/^jenkins_fleet_queue_unattributed_builds\{reason="no-pool-serves-label"\} 1$/m);
      expect(text).toMatch(/^jenkins_fleet_pool_agents\{pool="awsDeploy",state="desired"\} 4$/m);
      expect(text).toMatch(/^jenkins_fleet_pool_agents\{pool="awsDeploy",state="current"\} 3$/m);
      expect(text).toMatch(/^jenkins_fleet_pool_agents\{pool="awsDeploy",state="launching"\} 1$/m);
      expect(text).toMatch(/^jenkins_fleet_pool_agents\{pool="awsDeploy",state="draining"\} 1$/m);
      expect(text).toMatch(/^jenkins_fleet_launch_errors_total\{pool="awsDeploy",code="InsufficientInstanceCapacity"\} 2$/m);
      expect(text).toMatch(/^jenkins_fleet_step_failures_total\{pool="awsDeploy",step="bootstrap"\} 1$/m);
      expect(text).toMatch(/^jenkins_fleet_builds_ended_by_removal_total 0$/m);
      expect(text).toMatch(/^jenkins_fleet_ephemeral_unwatched_retired_total\{pool="pullRequests"\} 2$/m);
      expect(text).toMatch(/^jenkins_fleet_ephemeral_unwatched_retired_total\{pool="awsDeploy"\} 0$/m);
      expect((await fetch(served.url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await served.close();
    }
  });
});
