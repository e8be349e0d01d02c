// Spot pools end to end through the sandbox (IAM evaluated against provisioner-iam): CreateFleet
// from the pool's launch template, a type without Spot capacity, no Spot capacity at all (the
// shortfall on demand in the same `up`), `down` taking the template away, and kill -9 right after a
// launch that EC2 does not show yet.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, converged, counts, Sandbox } from './harness.ts';

const started: Sandbox[] = [];
afterAll(async () => { await Promise.all(started.map((s) => s.stop())); });

async function sandboxWith(flags: string[]): Promise<Sandbox> {
  const s = new Sandbox(['--boot-delay', '1s', '--ssm-online-delay', '1s', '--seed', '13', ...flags]);
  started.push(s);
  return s.start();
}

/** The example's awsDeploy pool alone, on Spot with On-Demand for the rest, over two types. */
function spotPool(sandbox: Sandbox, count: number, capacity = 'spot-then-on-demand'): string {
  return sandbox.fleet((f) => {
    counts(f, { awsDeploy: count });
    f.pools = f.pools.filter((p: { name: string }) => p.name === 'awsDeploy');
    const pool = f.pools[0] as Record<string, unknown>;
    delete pool.instanceType;
    pool.instanceTypes = ['t3.medium', { type: 'm5.large', executors: 4 }];
    pool.capacity = capacity;
  });
}

interface RawState {
  instances: Array<{ id: string; instanceType: string; lifecycle?: string; terminatedAt?: number; tags: Array<{ key: string; value: string }> }>;
  launchTemplates?: Array<{ id: string; name: string; versions: unknown[] }>;
}

/** The sandbox's own state file: what EC2 holds, launch templates and Spot lifecycles included. */
function raw(sandbox: Sandbox): RawState {
  return JSON.parse(readFileSync(join(sandbox.dir, 'state', 'state.json'), 'utf8')) as RawState;
}

const ours = (state: RawState) => state.instances.filter((i) => i.tags.some((t) => t.key === 'jenkins-fleet:fleet' && t.value === 'bank-ci'));

describe('Spot pools', () => {
  it('launch through CreateFleet, move to the other type, take the shortfall on demand in the same up, and leave no template after down', { timeout: 240_000 }, async () => {
    const sandbox = await sandboxWith(['--spot-capacity', 'm5.large=0']);
    const first = await sandbox.provisioner(spotPool(sandbox, 3), ['up', '--yes', '--timeout', '90s']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(converged(await sandbox.state(), { awsDeploy: 3 })).toEqual([]);
    const launched = ours(raw(sandbox));
    expect(launched.map((i) => [i.instanceType, i.lifecycle])).toEqual([['t3.medium', 'spot'], ['t3.medium', 'spot'], ['t3.medium', 'spot']]);
    expect(launched[0]!.tags).toContainEqual(expect.objectContaining({ key: 'aws:ec2launchtemplate:id' }));
    const calls = sandbox.requests().filter((r) => r.mutating && r.service === 'ec2').map((r) => r.action);
    expect(calls.filter((a) => a !== 'CreateTags')).toEqual(['CreateLaunchTemplate', 'CreateLaunchTemplateVersion', 'CreateFleet']);

    // No Spot capacity for any type: the two more agents come on demand, in this same up.
    await sandbox.faults({ spotCapacity: { '*': 0 } });
    const from = sandbox.requests().length;
    const second = await sandbox.provisioner(spotPool(sandbox, 5), ['up', '--yes', '--timeout', '90s']);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout + second.stderr).toMatch(/2 instance\(s\) short on Spot .*InsufficientInstanceCapacity.*launching them on demand/);
    expect(converged(await sandbox.state(), { awsDeploy: 5 })).toEqual([]);
    const launches = sandbox.requests(from).filter((r) => r.action === 'CreateFleet' || r.action === 'RunInstances').map((r) => `${r.action} ${r.status}`);
    expect(launches).toEqual(['CreateFleet 200', 'RunInstances 200']);
    expect(ours(raw(sandbox)).filter((i) => i.lifecycle !== 'spot')).toHaveLength(2);

    const quiet = sandbox.requests().length;
    const again = await sandbox.provisioner(spotPool(sandbox, 5), ['up', '--yes', '--timeout', '90s']);
    expect(again.code).toBe(0);
    // Only the run lock's item is written (taken and released); nothing of the fleet.
    expect(sandbox.requests(quiet).filter((r) => r.mutating && r.service !== 'control' && r.service !== 'dynamodb').map((r) => r.action)).toEqual([]);

    expect(raw(sandbox).launchTemplates).toHaveLength(1);
    const down = await sandbox.provisioner(spotPool(sandbox, 5), ['down', '--yes', '--timeout', '90s']);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(raw(sandbox).launchTemplates).toEqual([]);
    expect(alive(await sandbox.state())).toEqual([]);
  });

  it('launches no duplicate when up is killed right after CreateFleet and rerun while EC2 does not show its instances yet', { timeout: 180_000 }, async () => {
    // A lag longer than a rerun takes to start on a loaded machine: the rerun must not see what the killed run launched.
    const sandbox = await sandboxWith(['--consistency-lag', '10s', '--spot-capacity', 'm5.large=1']);
    const config = spotPool(sandbox, 4);
    await sandbox.upKilledAtLaunch(config, ['--timeout', '90s'], 3);
    const final = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '90s']);
    expect(final.code, final.stdout + final.stderr).toBe(0);
    expect(converged(await sandbox.state(), { awsDeploy: 4 })).toEqual([]);
    expect(ours(raw(sandbox)), 'every instance EC2 ever launched for the fleet').toHaveLength(4);
    expect(sandbox.requests().some((r) => r.action === 'CreateFleet' && (r.subject ?? '').startsWith('replay '))).toBe(true);
  });
});
