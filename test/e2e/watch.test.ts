// `provisioner watch` against the sandbox with real builds: a queued build makes a launch within one
// tick and runs there; a burst launches what it needs and no more; scale-in never ends a running
// build and brings the pool back to min; an ephemeral agent runs one build only; a pool goes to zero
// and comes back; watch killed with -9 and started again leaves no duplicate and no orphan.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { alive, converged, eventually, type Run, Sandbox, type SandboxBuild } from './harness.ts';

const root = new URL('../../', import.meta.url).pathname;

/** examples/fleet.yaml with its pools replaced: `awsDeploy` scaled 0..6 with two executors, `pullRequests` ephemeral 0..3, `flaky` with a short boot deadline. */
function scaledFleet(dir: string, change: (pools: Record<string, any>[]) => void = () => undefined): string {
  const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8')) as Record<string, any>;
  const [deploy] = fleet.pools as Record<string, any>[];
  const { count: _count, ...base } = deploy!;
  const pools = [
    { ...base, min: 0, max: 6, idleAfter: '3s', bootDeadline: '2m' },
    { ...base, name: 'pullRequests', labels: ['pull-request'], executors: 1, tools: [], min: 0, max: 3, ephemeral: true, idleAfter: '3s', bootDeadline: '2m' },
    { ...base, name: 'flaky', labels: ['flaky'], executors: 1, tools: [], min: 0, max: 3, idleAfter: '3s', bootDeadline: '6s', retryBudget: 2 },
  ];
  change(pools);
  fleet.pools = pools;
  const path = join(dir, 'fleet.yaml');
  writeFileSync(path, stringify(fleet));
  return path;
}

const dir = mkdtempSync(join(tmpdir(), 'e2e-watch-'));
const config = scaledFleet(dir);
// The sandbox's Jenkins grants Job/Read to the service account because this fleet scales (as casc.yaml must).
const sandbox = new Sandbox(['--fleet', config, '--boot-delay', '1s', '--ssm-online-delay', '1s', '--queue-maintenance', '1s', '--terminated-linger', '5s', '--lost-agent-timeout', '3s']);
beforeAll(async () => { await sandbox.start(); });
afterAll(async () => {
  await sandbox.stop();
  rmSync(dir, { recursive: true, force: true });
});

const launchesSince = (from: number) => sandbox.requests(from).filter((e) => e.action === 'RunInstances' && e.status === 200);

/** `watch` running in the background with a short tick, stopped with SIGTERM (or killed). */
function watching(extra: string[] = []): Promise<Run> & { child: import('node:child_process').ChildProcess } {
  return sandbox.provisioner(config, ['watch', '--tick', '1s', ...extra]);
}

async function stop(run: ReturnType<typeof watching>): Promise<Run> {
  run.child.kill('SIGTERM');
  return run;
}

describe('provisioner watch', () => {
  it('launches within one tick for a queued build, and the build runs on the new agent', { timeout: 120_000 }, async () => {
    const from = sandbox.requests().length;
    const [build] = await sandbox.queueBuilds('awsDeploy', 1, '2s');
    // The placeholder comes with the first tick; the build's why names the label's only node until then.
    const run = await sandbox.provisioner(config, ['watch', '--once']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/awsDeploy: demand 1, 0 free, 0 online, 0 booting, 0 drained: launch 1: demand 1/);
    expect(launchesSince(from)).toHaveLength(1);
    const done = await eventually('the build ran and ended', async () => (await sandbox.builds()).find((b) => b.id === build!.id && b.result !== null));
    expect(done).toMatchObject({ result: 'SUCCESS', node: expect.stringMatching(/^awsDeploy-i-/) });
    expect(alive(await sandbox.state(), 'awsDeploy')).toHaveLength(1);
  });

  it('launches ceil(builds / executors) for a burst, counting agents booting and free executors, and no more', { timeout: 180_000 }, async () => {
    const from = sandbox.requests().length;
    const before = alive(await sandbox.state(), 'awsDeploy').length;
    await sandbox.queueBuilds('awsDeploy', 10, '15s');
    const run = watching();
    try {
      await eventually('all ten builds running', async () => (await sandbox.builds()).filter((b) => b.label === 'awsDeploy' && b.startedAt !== null && b.result === null).length === 10, 90_000);
      // A few more ticks with everything running: nothing more is launched.
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      await stop(run);
    }
    // Ten builds on two-executor agents: five agents, the one already there included (its executors were free).
    expect(before).toBe(1);
    expect(launchesSince(from).length).toBeGreaterThan(0);
    expect(alive(await sandbox.state(), 'awsDeploy')).toHaveLength(5);
    expect((await sandbox.state()).instances.filter((i) => i.tags['jenkins-fleet:pool'] === 'awsDeploy')).toHaveLength(5);
  });

  it('scales in only idle agents: no build ends by a removal, and the pool is back at min once demand stops', { timeout: 240_000 }, async () => {
    const run = watching(['--metrics-port', '0']);
    let seen = '';
    run.child.stdout!.on('data', (c: Buffer) => { seen += c; });
    const metricsUrl = await eventually('the metrics address', () => /watch: metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(seen)?.[1]);
    const started = Date.now();
    let seed = 4242;
    const random = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    try {
      // Twenty seconds of arrivals at random moments, each a build of 1 to 6 s: agents come and go meanwhile.
      while (Date.now() - started < 20_000) {
        await sandbox.queueBuilds('awsDeploy', 1 + Math.floor(random() * 3), `${1 + Math.floor(random() * 6)}s`);
        await new Promise((r) => setTimeout(r, 500 + random() * 2500));
      }
      const ours = (all: SandboxBuild[]) => all.filter((b) => b.label === 'awsDeploy' && b.queuedAt >= started);
      await eventually('every build ended', async () => ours(await sandbox.builds()).every((b) => b.result !== null), 120_000);
      // min 0: idleAfter (3 s), the drain's wait past a maintenance cycle (5 s) and a few ticks.
      await eventually('the pool back at min (0)', async () => alive(await sandbox.state(), 'awsDeploy').length === 0, 60_000);
      const ended = ours(await sandbox.builds());
      expect(ended.length).toBeGreaterThan(10);
      expect(ended.filter((b) => b.result !== 'SUCCESS' || b.abortedBy), 'builds ended by a removal').toEqual([]);
      // The tick after the last removal counts the pool at 0.
      const metrics = await eventually('the metrics of a pool at 0', async () => {
        const text = await (await fetch(metricsUrl)).text();
        return /^jenkins_fleet_pool_agents\{pool="awsDeploy",state="current"\} 0$/m.test(text) ? text : undefined;
      });
      expect(metrics).toMatch(/^jenkins_fleet_builds_ended_by_removal_total 0$/m);
      expect(metrics).toMatch(/^jenkins_fleet_ticks_total\{result="ok"\} [1-9]\d*$/m);
    } finally {
      const out = await stop(run);
      expect(out.stderr).not.toMatch(/internal error/i);
    }
    expect(converged(await sandbox.state(), { awsDeploy: 0, pullRequests: 0, flaky: 0 })).toEqual([]);
  });

  it('comes back from zero: the placeholder keeps the label in the queue, a build launches an agent and runs', { timeout: 120_000 }, async () => {
    const state = await sandbox.state();
    expect(alive(state, 'awsDeploy')).toEqual([]);
    expect(state.nodes.map((n) => n.name)).toContain('awsDeploy-placeholder');
    const [build] = await sandbox.queueBuilds('awsDeploy', 1, '1s');
    const why = await eventually('the build waits for the placeholder', async () => {
      const r = await fetch(`${sandbox.env.JENKINS_URL}queue/api/json?tree=items[why]`, { headers: { ...sandbox.jenkinsAuth(), 'accept-language': 'en' } });
      return ((await r.json()) as { items: { why: string }[] }).items[0]?.why;
    });
    expect(why).toBe('‘awsDeploy-placeholder’ is offline');
    const run = await sandbox.provisioner(config, ['watch', '--once']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const done = await eventually('the build ran', async () => (await sandbox.builds()).find((b) => b.id === build!.id && b.result !== null));
    expect(done).toMatchObject({ result: 'SUCCESS', node: expect.stringMatching(/^awsDeploy-i-/) });
  });

  it('gives an ephemeral agent one build only: drained as soon as it is seen busy, removed when the build ends', { timeout: 180_000 }, async () => {
    const started = Date.now();
    const run = watching();
    try {
      await sandbox.queueBuilds('pull-request', 5, '3s');
      const ours = (all: SandboxBuild[]) => all.filter((b) => b.label === 'pull-request' && b.queuedAt >= started);
      await eventually('the five builds ended', async () => ours(await sandbox.builds()).every((b) => b.result !== null), 120_000);
      const ended = ours(await sandbox.builds());
      expect(ended.filter((b) => b.result !== 'SUCCESS')).toEqual([]);
      const perNode = new Map<string, number>();
      for (const b of ended) perNode.set(b.node!, (perNode.get(b.node!) ?? 0) + 1);
      expect([...perNode.values()].filter((n) => n > 1), `builds per agent: ${JSON.stringify([...perNode])}`).toEqual([]);
      await eventually('the pool back at 0', async () => alive(await sandbox.state(), 'pullRequests').length === 0, 60_000);
    } finally {
      await stop(run);
    }
  });

  it('looks between ticks for ephemeral agents that took their build: builds shorter than the tick get one agent each too', { timeout: 180_000 }, async () => {
    const started = Date.now();
    // A tick far longer than the builds: only the looks between ticks can see them run.
    const run = sandbox.provisioner(config, ['watch', '--tick', '20s']);
    try {
      await sandbox.queueBuilds('pull-request', 4, '3s');
      const ours = (all: SandboxBuild[]) => all.filter((b) => b.label === 'pull-request' && b.queuedAt >= started);
      await eventually('the four builds ended', async () => ours(await sandbox.builds()).every((b) => b.result !== null), 150_000);
      const perNode = new Map<string, number>();
      for (const b of ours(await sandbox.builds())) perNode.set(b.node!, (perNode.get(b.node!) ?? 0) + 1);
      expect([...perNode.values()].filter((n) => n > 1), `builds per agent: ${JSON.stringify([...perNode])}`).toEqual([]);
      await eventually('the pool back at 0', async () => alive(await sandbox.state(), 'pullRequests').length === 0, 90_000);
    } finally {
      await stop(run);
    }
  });

  it('launches no duplicate and leaves no orphan when watch is killed with -9 and started again', { timeout: 240_000 }, async () => {
    const started = Date.now();
    const before = new Set((await sandbox.state()).instances.map((i) => i.id));
    await sandbox.queueBuilds('awsDeploy', 8, '6s');
    const history: string[] = [];
    // Kills mid-tick, mid-launch and mid-bootstrap: after 0.7, 1.5 and 2.5 s of each run.
    for (const after of [700, 1500, 2500]) {
      const run = watching();
      await new Promise((r) => setTimeout(r, after));
      run.child.kill('SIGKILL');
      const out = await run;
      history.push(`killed after ${after} ms: ${out.code === null ? 'killed' : `exited ${out.code}`}\n${out.stdout}${out.stderr}`);
    }
    const run = watching();
    try {
      const ours = (all: SandboxBuild[]) => all.filter((b) => b.label === 'awsDeploy' && b.queuedAt >= started);
      await eventually('the eight builds ended', async () => ours(await sandbox.builds()).every((b) => b.result !== null), 150_000);
      expect(ours(await sandbox.builds()).filter((b) => b.result !== 'SUCCESS' || b.abortedBy), history.join('\n')).toEqual([]);
      await eventually('the pool back at 0', async () => alive(await sandbox.state(), 'awsDeploy').length === 0, 60_000);
    } finally {
      await stop(run);
    }
    const state = await sandbox.state();
    // Eight builds on two-executor agents: four instances at most, however often watch was killed.
    const launched = state.instances.filter((i) => !before.has(i.id) && i.tags['jenkins-fleet:pool'] === 'awsDeploy');
    expect(launched.length, history.join('\n')).toBeLessThanOrEqual(4);
    expect(converged(state, { awsDeploy: 0, pullRequests: 0, flaky: 0 })).toEqual([]);
    const secrets = state.parameters.filter((p) => p.name.startsWith('/jenkins-fleet/bank-ci/agents/'));
    expect(secrets.filter((p) => alive(state).every((i) => !p.name.includes(i.id))), 'secrets of instances that are gone').toEqual([]);
  });

  it('replaces an agent not online within bootDeadline, stops growing a pool whose launches keep failing, and says why once', { timeout: 180_000 }, async () => {
    await sandbox.faults({ ssmNeverOnline: true });
    const run = watching();
    let seen = '';
    run.child.stdout!.on('data', (c: Buffer) => { seen += c; });
    const flakyLines = () => seen.split('\n').filter((l) => / flaky: /.test(l));
    try {
      await sandbox.queueBuilds('flaky', 1, '1s');
      // Two agents stuck in a row (the retry budget): the first replaced, the second ends the growing.
      await eventually('the pool stopped growing', async () => flakyLines().some((l) => /stopped growing/.test(l)), 120_000);
      await new Promise((r) => setTimeout(r, 2500));
      const settled = flakyLines().length;
      // Eight more ticks with nothing new: nothing launched, nothing said.
      await new Promise((r) => setTimeout(r, 8000));
      expect(flakyLines().slice(settled)).toEqual([]);
      expect(alive(await sandbox.state(), 'flaky')).toEqual([]);
    } finally {
      await stop(run);
      await sandbox.faults({ ssmNeverOnline: false });
    }
    const lines = flakyLines();
    expect(lines.filter((l) => /flaky: launched/.test(l)), lines.join('\n')).toHaveLength(2);
    expect(lines.filter((l) => /replace 1 stuck \(not online 6s after launch\)/.test(l)), lines.join('\n')).toHaveLength(2);
    expect(lines.filter((l) => /: stopped growing: 2 failures in a row \(last: flaky-i-[0-9a-f]+ not online 6s after its launch\); next try at /.test(l)).length, lines.join('\n')).toBeGreaterThanOrEqual(1);
  });
});
