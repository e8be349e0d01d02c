// Spot interruptions end to end: `watch` on a Spot pool with builds running, EC2's notices issued by
// the sandbox into the interruption queue (SQS). A warning: the agent is drained at once, the builds
// running there are reported by name, the replacement is online before EC2 reclaims the instance,
// and the node goes with the instance (no orphan). A rebalance recommendation: drained and replaced,
// its builds left to end, then removed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { alive, eventually, Sandbox } from './harness.ts';

const root = new URL('../../', import.meta.url).pathname;

interface WatchLine {
  time: string;
  type: string;
  kind?: string;
  agent?: string;
  notice?: string;
  builds?: Array<{ name: string; url?: string }>;
}

const noticeMs = 30_000;
// The queue the sandbox makes for the fleet, named as terraform/jenkins names it.
const queue = 'https://sqs.us-east-1.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions';
const dir = mkdtempSync(join(tmpdir(), 'e2e-interruptions-'));
/** examples/fleet.yaml's awsDeploy alone, on Spot, two agents of two executors, with the interruption queue. */
const config = (() => {
  const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8')) as Record<string, any>;
  fleet.interruptions = { queue };
  fleet.pools = fleet.pools.filter((p: { name: string }) => p.name === 'awsDeploy');
  const pool = fleet.pools[0] as Record<string, unknown>;
  delete pool.count;
  delete pool.instanceType;
  Object.assign(pool, { instanceTypes: ['t3.medium'], capacity: 'spot', executors: 2, min: 2, max: 2, idleAfter: '10m', bootDeadline: '3m' });
  const path = join(dir, 'fleet.yaml');
  writeFileSync(path, stringify(fleet));
  return path;
})();
/** The same fleet with a second Spot pool of fixed size (count: 2, not scaled by watch). */
const withFixedPool = (() => {
  const fleet = parse(readFileSync(config, 'utf8')) as Record<string, any>;
  const scaledPool = fleet.pools[0] as Record<string, unknown>;
  const fixed: Record<string, unknown> = { ...scaledPool, name: 'fixedSpot', labels: ['fixedSpot'], count: 2, executors: 1 };
  for (const key of ['min', 'max', 'idleAfter', 'bootDeadline']) delete fixed[key];
  fleet.pools.push(fixed);
  // The killed watch's lease lapses soon, so the restarted one leads within seconds.
  fleet.lock.expireAfter = '10s';
  // The form with a queue per region (the sandbox is one region: one queue here).
  fleet.interruptions = { queues: [queue] };
  const path = join(dir, 'fleet-fixed.yaml');
  writeFileSync(path, stringify(fleet));
  return path;
})();
// With this fleet the sandbox's Jenkins grants Job/Read (a pool has max), as casc.yaml does: builds have names.
const sandbox = new Sandbox(['--fleet', config, '--boot-delay', '1s', '--ssm-online-delay', '1s', '--queue-maintenance', '1s', '--terminated-linger', '60s', '--lost-agent-timeout', '3s', '--interruption-notice', `${noticeMs / 1000}s`]);
beforeAll(async () => { await sandbox.start(); });
afterAll(async () => {
  await sandbox.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function interrupt(instanceId: string, notice: 'warning' | 'rebalance'): Promise<{ terminateAt?: number }> {
  const r = await fetch(`${sandbox.url}/_sandbox/instances/${instanceId}/interrupt`, { method: 'POST', body: JSON.stringify({ notice }) });
  if (!r.ok) throw new Error(`interrupt ${instanceId}: ${await r.text()}`);
  return (await r.json()) as { terminateAt?: number };
}

describe('Spot interruptions under watch', () => {
  it('drain and replace the agent at once, name its builds, have the replacement online before EC2 reclaims it, and leave no orphan', { timeout: 300_000 }, async () => {
    expect(((await (await fetch(`${sandbox.url}/_sandbox/interruptions`)).json()) as { queue: string }).queue).toBe(queue);
    const run = sandbox.provisioner(config, ['watch', '--tick', '2s', '--json']);
    let out = '';
    run.child.stdout!.on('data', (c: Buffer) => { out += c; });
    const lines = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as WatchLine);
    try {
      const first = await eventually('two agents online', async () => {
        const state = await sandbox.state();
        const online = state.nodes.filter((n) => n.name.startsWith('awsDeploy-i-') && n.online);
        return online.length === 2 ? online.map((n) => n.name).sort() : undefined;
      }, 120_000);
      await sandbox.queueBuilds('awsDeploy', 4, '10m');
      await eventually('four builds running', async () => (await sandbox.builds()).filter((b) => b.startedAt !== null && b.result === null).length === 4 || undefined, 60_000);
      const [warned, rebalanced] = first as [string, string];
      const idOf = (node: string) => node.slice('awsDeploy-'.length);
      const running = await sandbox.builds();
      const on = (node: string) => running.filter((b) => b.node === node && b.result === null).map((b) => b.id).sort();
      expect(on(warned)).toHaveLength(2);

      const { terminateAt } = await interrupt(idOf(warned), 'warning');
      await interrupt(idOf(rebalanced), 'rebalance');

      // Each interrupted agent is reported with the builds running there, by name and URL, each build
      // once: at the notice, or in a later event when the tick's look at the nodes predates the
      // build's start (the notice can arrive while the tick waits on the queue).
      const urls = (agent: string) => lines().filter((e) => e.kind === 'interrupted' && e.agent === agent).flatMap((e) => e.builds!.map((b) => b.url)).sort();
      const reported = await eventually('both agents reported with their builds', () => {
        const events = lines().filter((l) => l.kind === 'interrupted');
        return urls(warned).length >= 2 && urls(rebalanced).length >= 2 ? events : undefined;
      }, 30_000);
      expect(urls(warned)).toEqual(on(warned).map((id) => `${sandbox.url}/jenkins/job/sandbox-build/${id}/`).sort());
      expect(urls(rebalanced)).toEqual(on(rebalanced).map((id) => `${sandbox.url}/jenkins/job/sandbox-build/${id}/`).sort());
      expect(reported.find((e) => e.agent === warned)).toMatchObject({ notice: 'warning' });
      expect(reported.find((e) => e.agent === rebalanced)).toMatchObject({ notice: 'rebalance' });

      // Drained at once (the event is written as the drain is sent, so its answer may come a moment
      // later), and two replacements (max 2 does not hold them back) online before the reclaim.
      await eventually('both interrupted agents drained', async () => {
        const nodes = (await sandbox.state()).nodes;
        return first.every((name) => nodes.find((n) => n.name === name)?.temporarilyOffline) || undefined;
      }, 10_000);
      const replacements = await eventually('two replacements online', async () => {
        const online = (await sandbox.state()).nodes.filter((n) => n.name.startsWith('awsDeploy-i-') && n.online && !first.includes(n.name));
        return online.length === 2 ? online.map((n) => n.name) : undefined;
      }, noticeMs);
      expect(Date.now()).toBeLessThan(terminateAt!);
      expect(alive(await sandbox.state(), 'awsDeploy')).toHaveLength(4);

      // EC2 reclaims the warned instance: its builds abort as the interruption's, its node goes with it.
      await eventually('the warned agent gone, node and all', async () => {
        const s = await sandbox.state();
        return !s.nodes.some((n) => n.name === warned) && !alive(s).some((i) => i.id === idOf(warned));
      }, noticeMs + 60_000);
      const after = await sandbox.builds();
      await eventually('its builds aborted by the interruption', async () => (await sandbox.builds()).filter((b) => on(warned).includes(b.id)).every((b) => b.result === 'ABORTED' && b.abortedBy === 'spot-interruption') || undefined, 30_000);

      // The rebalanced agent keeps its builds until they end, then goes.
      expect(after.filter((b) => b.node === rebalanced).every((b) => b.result === null)).toBe(true);
      expect((await sandbox.state()).nodes.some((n) => n.name === rebalanced)).toBe(true);
      await sandbox.mark(rebalanced, 'idle');
      await eventually('the rebalanced agent removed once its builds ended', async () => {
        const s = await sandbox.state();
        return !s.nodes.some((n) => n.name === rebalanced) && !alive(s).some((i) => i.id === idOf(rebalanced));
      }, 60_000);
      expect((await sandbox.builds()).filter((b) => on(rebalanced).includes(b.id)).map((b) => b.result)).toEqual(['SUCCESS', 'SUCCESS']);

      // No orphan, no second replacement: the two replacements are the pool, every node has its instance.
      await new Promise((r) => setTimeout(r, 5_000));
      const final = await sandbox.state();
      expect(alive(final, 'awsDeploy').map((i) => `awsDeploy-${i.id}`).sort()).toEqual(replacements.sort());
      expect(final.nodes.filter((n) => n.name.startsWith('awsDeploy-i-')).map((n) => n.name).sort()).toEqual(replacements.sort());
      // The queue is empty: every message was deleted once acted on.
      expect(lines().filter((l) => l.type === 'error')).toEqual([]);
    } finally {
      run.child.kill('SIGTERM');
      const end = await run;
      expect(end.stderr).not.toMatch(/removed while a build still ran there/);
    }
  });

  it("give a fixed-count pool's agent its replacement at the warning too: one only, across a kill -9 of watch, and plan sees no surplus while the pool holds count + 1", { timeout: 300_000 }, async () => {
    const fixedAgents = (s: Awaited<ReturnType<typeof sandbox.state>>) => alive(s, 'fixedSpot').map((i) => i.id);
    const watchJson = () => {
      const run = sandbox.provisioner(withFixedPool, ['watch', '--tick', '2s', '--json']);
      let out = '';
      run.child.stdout!.on('data', (c: Buffer) => { out += c; });
      return { run, lines: () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as WatchLine & { pool?: string; instanceIds?: string[] }) };
    };
    const first = watchJson();
    let second: ReturnType<typeof watchJson> | undefined;
    try {
      const agents = await eventually('the fixed pool\'s two agents online', async () => {
        const online = (await sandbox.state()).nodes.filter((n) => n.name.startsWith('fixedSpot-i-') && n.online);
        return online.length === 2 ? online.map((n) => n.name).sort() : undefined;
      }, 120_000);
      const warned = agents[0]!;
      const warnedId = warned.slice('fixedSpot-'.length);
      const seenBefore = first.lines().length;
      const { terminateAt } = await interrupt(warnedId, 'warning');

      // At the notice: drained, and its replacement launched in the same tick; watch is then killed.
      const launched = await eventually('the replacement launched', () => first.lines().slice(seenBefore).find((l) => l.kind === 'launched' && l.pool === 'fixedSpot' && (l.instanceIds?.length ?? 0) > 0), 30_000);
      expect(Date.parse(launched.time)).toBeLessThan(terminateAt!);
      first.run.child.kill('SIGKILL');
      await first.run;
      expect(launched.instanceIds).toHaveLength(1);
      expect((await sandbox.state()).nodes.find((n) => n.name === warned)).toMatchObject({ temporarilyOffline: true });

      // count + 1 while the warned instance lives: neither a surplus to remove nor a want of more.
      const planned = await sandbox.provisioner(withFixedPool, ['plan', '--json']);
      expect(planned.code).toBe(0);
      const actions = (JSON.parse(planned.stdout) as { actions: Array<{ type: string; pool: string }> }).actions.filter((a) => a.pool === 'fixedSpot');
      expect(actions.filter((a) => a.type === 'remove' || a.type === 'launch')).toEqual([]);

      // A restarted watch finds the replacement (launched after the notice) and launches no second.
      second = watchJson();
      const replacement = `fixedSpot-${launched.instanceIds![0]}`;
      // Its bring-up, cut short by the kill, is finished by the new leader once the lease lapsed.
      await eventually('the replacement online', async () => (await sandbox.state()).nodes.some((n) => n.name === replacement && n.online) || undefined, 90_000);

      // EC2 reclaims the warned instance: its node goes, and the pool is count again, with nothing more launched.
      await eventually('the warned agent gone, node and all', async () => {
        const s = await sandbox.state();
        return !s.nodes.some((n) => n.name === warned) && !fixedAgents(s).includes(warnedId);
      }, noticeMs + 60_000);
      await new Promise((r) => setTimeout(r, 5_000));
      const final = await sandbox.state();
      expect(fixedAgents(final).sort()).toEqual([agents[1]!.slice('fixedSpot-'.length), launched.instanceIds![0]!].sort());
      expect(second.lines().filter((l) => l.kind === 'launched' && l.pool === 'fixedSpot' && (l.instanceIds?.length ?? 0) > 0)).toEqual([]);
      expect(second.lines().filter((l) => l.type === 'error')).toEqual([]);
    } finally {
      first.run.child.kill('SIGTERM');
      second?.run.child.kill('SIGTERM');
      await first.run;
      if (second) await second.run;
    }
  });
});
