// Draining: a busy agent is never terminated by a scale-down or by `down` without --force; it is
// taken out of rotation (temporarily offline) and removed once idle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, converged, counts, eventually, Sandbox } from './harness.ts';

const sandbox = new Sandbox(['--boot-delay', '1s', '--ssm-online-delay', '1s', '--terminated-linger', '5s']);
beforeAll(async () => { await sandbox.start(); });
afterAll(async () => sandbox.stop());

const fleetOf = (n: number) => sandbox.fleet((f) => {
  counts(f, { awsDeploy: n });
  f.pools = f.pools.filter((p: { name: string }) => p.name === 'awsDeploy');
});

async function upTo(n: number): Promise<string[]> {
  const run = await sandbox.provisioner(fleetOf(n), ['up', '--yes', '--timeout', '90s']);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  return (await sandbox.state()).nodes.filter((x) => x.name.startsWith('awsDeploy-')).map((x) => x.name);
}

const stillThere = async (name: string) => {
  const state = await sandbox.state();
  const node = state.nodes.find((n) => n.name === name);
  const instance = alive(state).find((i) => `awsDeploy-${i.id}` === name);
  return { node, running: instance?.state === 'running' };
};

describe('draining busy agents', () => {
  it('scale-down waits for a busy agent, keeps it running while busy, and removes it once idle', async () => {
    const [a, b] = await upTo(2);
    await sandbox.mark(a!, 'busy');
    await sandbox.mark(b!, 'busy');
    const run = sandbox.provisioner(fleetOf(1), ['up', '--yes', '--timeout', '90s']);
    const drained = await eventually('one agent drained', async () => (await sandbox.state()).nodes.find((n) => n.temporarilyOffline));
    await new Promise((r) => setTimeout(r, 3000));
    expect(await stillThere(drained.name)).toMatchObject({ node: { busy: true, temporarilyOffline: true }, running: true });
    await sandbox.mark(drained.name, 'idle');
    const result = await run;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const state = await sandbox.state();
    expect(converged(state, { awsDeploy: 1 })).toEqual([]);
    expect(state.nodes.map((n) => n.name)).toEqual([a === drained.name ? b : a]);
  });

  it('down without --force leaves a busy agent and says which; down --force removes it', async () => {
    const [busy] = (await sandbox.state()).nodes.map((n) => n.name);
    const run = await sandbox.provisioner(fleetOf(1), ['down', '--yes', '--timeout', '4s']);
    expect(run.code).toBe(1);
    expect(run.stderr + run.stdout).toContain(busy!);
    expect(await stillThere(busy!)).toMatchObject({ node: { busy: true }, running: true });
    const forced = await sandbox.provisioner(fleetOf(1), ['down', '--yes', '--force']);
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(alive(await sandbox.state())).toEqual([]);
    // Jenkins lists the deleted node's computer until the build on it ends; nothing is left to do there.
    const computers = await fetch(`${sandbox.env.JENKINS_URL}computer/api/json?tree=computer[displayName,numExecutors,idle,offline]`, { headers: sandbox.jenkinsAuth() });
    expect(((await computers.json()) as { computer: unknown[] }).computer).toContainEqual({ _class: 'hudson.slaves.SlaveComputer', displayName: busy, numExecutors: 0, idle: false, offline: true });
    const again = await sandbox.provisioner(fleetOf(1), ['down', '--yes']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to remove.');
  });

  it('down waits for busy agents and removes each as it becomes idle', async () => {
    const [a, b] = await upTo(2);
    await sandbox.mark(a!, 'busy');
    const run = sandbox.provisioner(fleetOf(2), ['down', '--yes', '--timeout', '90s']);
    await eventually('the idle agent removed', async () => !(await stillThere(b!)).node);
    expect(await stillThere(a!)).toMatchObject({ node: { busy: true, temporarilyOffline: true }, running: true });
    await sandbox.mark(a!, 'idle');
    const result = await run;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(alive(await sandbox.state())).toEqual([]);
  });
});
