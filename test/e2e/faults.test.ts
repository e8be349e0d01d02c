// Faults: with throttling on EC2 and SSM (10%) and Jenkins answering 503 (5%), `up` of 30 agents
// still converges; with one subnet out of capacity, the pool is filled from its other subnet.
import { afterAll, describe, expect, it } from 'vitest';
import { alive, converged, counts, Sandbox, scaled } from './harness.ts';

const started: Sandbox[] = [];
afterAll(async () => { await Promise.all(started.map((s) => s.stop())); });

async function sandboxWith(flags: string[]): Promise<Sandbox> {
  const s = new Sandbox(['--boot-delay', '1s', '--ssm-online-delay', '1s', '--seed', '11', ...flags]);
  started.push(s);
  return s.start();
}

describe('faults', () => {
  it(`converges ${scaled(30)} agents through 10% EC2/SSM throttling and 5% Jenkins 503s`, { timeout: 240_000 }, async () => {
    const agents = scaled(30);
    const sandbox = await sandboxWith(['--throttle-ec2', '10%', '--throttle-ssm', '10%', '--throttle-jenkins', '5%']);
    const wanted = { awsDeploy: Math.ceil(agents / 2), awsDeploy2: Math.floor(agents / 2) };
    const run = await sandbox.provisioner(sandbox.fleet((f) => counts(f, wanted)), ['up', '--yes', '--timeout', '180s']);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(converged(await sandbox.state(), wanted)).toEqual([]);
    const refused = sandbox.requests().filter((r) => r.error === 'RequestLimitExceeded' || r.error === 'ThrottlingException' || r.status === 503);
    expect(refused.length, 'the faults were really injected').toBeGreaterThan(0);
  });

  it('fills a pool from its other subnet when one is out of capacity', async () => {
    const sandbox = await sandboxWith(['--out-of-capacity', 'subnet-0a1b2c3d4e5f60001']);
    const config = sandbox.fleet((f) => {
      counts(f, { awsDeploy: 4 });
      f.pools = f.pools.filter((p: { name: string }) => p.name === 'awsDeploy');
    });
    const run = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '90s']);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const state = await sandbox.state();
    expect(converged(state, { awsDeploy: 4 })).toEqual([]);
    expect(new Set(alive(state).map((i) => i.subnetId))).toEqual(new Set(['subnet-0a1b2c3d4e5f60002']));
    expect(sandbox.requests().some((r) => r.error === 'InsufficientInstanceCapacity')).toBe(true);
  });

  for (const [flag, code] of [['--type-unsupported', 'Unsupported'], ['--subnet-full', 'InsufficientFreeAddressesInSubnet']] as const) {
    it(`fills a pool from its other subnet when one answers ${code}`, async () => {
      const sandbox = await sandboxWith([flag, 'subnet-0a1b2c3d4e5f60002']);
      const config = sandbox.fleet((f) => {
        counts(f, { awsDeploy: 2 });
        f.pools = f.pools.filter((p: { name: string }) => p.name === 'awsDeploy');
      });
      const run = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '90s']);
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      const state = await sandbox.state();
      expect(converged(state, { awsDeploy: 2 })).toEqual([]);
      expect(new Set(alive(state).map((i) => i.subnetId))).toEqual(new Set(['subnet-0a1b2c3d4e5f60001']));
      expect(sandbox.requests().some((r) => r.error === code)).toBe(true);
      await sandbox.stop();
    });
  }

  it('names every agent whose SSM agent never came online, with the step, and exits 1', async () => {
    const sandbox = await sandboxWith(['--ssm-never-online']);
    const config = sandbox.fleet((f) => {
      counts(f, { awsDeploy: 2 });
      f.pools = f.pools.filter((p: { name: string }) => p.name === 'awsDeploy');
    });
    const run = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '10s']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const state = await sandbox.state();
    for (const i of alive(state)) expect(run.stdout + run.stderr).toContain(`awsDeploy-${i.id}`);
    expect(run.stdout + run.stderr).toMatch(/SSM/);
    expect(run.stderr).not.toMatch(/^\s+at /m); // no stack trace without --debug
  });

  it('changes faults while running through the control endpoint, refusing bad values by name', async () => {
    const sandbox = started[0]!;
    const bad = await fetch(`${sandbox.url}/_sandbox/faults`, { method: 'POST', body: JSON.stringify({ ec2: { throttleRate: 2 } }) });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('faults.ec2.throttleRate');
    await sandbox.faults({ jenkins: { latencyMs: 5 }, ssmNeverOnline: false });
    const now = await (await fetch(`${sandbox.url}/_sandbox/faults`)).json() as { jenkins: { latencyMs: number } };
    expect(now.jenkins.latencyMs).toBe(5);
  });

  it('launches no duplicate when up is killed right after a launch and rerun while EC2 does not show it yet', { timeout: 180_000 }, async () => {
    const sandbox = await sandboxWith(['--consistency-lag', '3s']);
    const wanted = { awsDeploy: 4 };
    const config = sandbox.fleet((f) => {
      counts(f, wanted);
      f.pools = f.pools.filter((p: { name: string }) => p.name === 'awsDeploy');
    });
    await sandbox.upKilledAtLaunch(config, ['--timeout', '90s'], 3);
    const final = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '90s']);
    expect(final.code, final.stdout + final.stderr).toBe(0);
    const state = await sandbox.state();
    expect(converged(state, wanted)).toEqual([]);
    expect(state.instances.filter((i) => i.tags['jenkins-fleet:fleet'] === 'bank-ci')).toHaveLength(4);
  });

  it('reports a vCPU quota that stops a scale-up, keeps what it got, and completes once raised', { timeout: 180_000 }, async () => {
    // t3.medium has 2 vCPUs: a quota of 6 holds 3 agents.
    const sandbox = await sandboxWith(['--vcpu-limit', '6']);
    const config = sandbox.fleet((f) => {
      counts(f, { awsDeploy: 5 });
      f.pools = f.pools.filter((p: { name: string }) => p.name === 'awsDeploy');
    });
    const limited = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '60s']);
    expect(limited.code, limited.stdout + limited.stderr).toBe(1);
    expect(limited.stdout + limited.stderr).toContain('VcpuLimitExceeded');
    const partial = await sandbox.state();
    expect(alive(partial)).toHaveLength(3);
    expect(partial.nodes.filter((n) => n.online)).toHaveLength(3);
    await sandbox.faults({ vcpuLimit: 20 });
    const raised = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '60s']);
    expect(raised.code, raised.stdout + raised.stderr).toBe(0);
    expect(converged(await sandbox.state(), { awsDeploy: 5 })).toEqual([]);
  });
});
