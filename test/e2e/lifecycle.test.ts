// The fleet's life through the sandbox: up from empty, a second up that changes nothing, scaling,
// removing a pool from the file, down of one pool and of all; status agrees with the sandbox.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, converged, counts, Sandbox } from './harness.ts';

// provisioner-iam lets agents boot only images of its image_owners: Canonical's account beside Amazon's.
const sandbox = new Sandbox(['--boot-delay', '1s', '--ssm-online-delay', '1s', '--terminated-linger', '5s', '--image-owner', 'amazon', '099720109477']);
beforeAll(async () => { await sandbox.start(); });
afterAll(async () => sandbox.stop());

// awsDeploy stays on Amazon Linux 2023 (dnf); awsDeploy2 runs on Ubuntu 24.04 (apt, no AWS CLI),
// so that both branches of the bootstrap run through the provisioner.
const ubuntu = 'resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id';
const fleetWith = (wanted: Record<string, number>, drop: string[] = []) => sandbox.fleet((f) => {
  counts(f, wanted);
  f.pools = f.pools.filter((p: { name: string }) => !drop.includes(p.name));
  for (const p of f.pools as { name: string; image: string }[]) if (p.name === 'awsDeploy2') p.image = ubuntu;
});

async function up(config: string) {
  const run = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '90s']);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

describe('provisioner through the sandbox', () => {
  it('brings a fleet up from empty: tagged, IMDSv2-only, private instances, one online node each', async () => {
    await up(fleetWith({ awsDeploy: 3, awsDeploy2: 2 }));
    const state = await sandbox.state();
    expect(converged(state, { awsDeploy: 3, awsDeploy2: 2 })).toEqual([]);
    for (const i of alive(state)) {
      const packages = readFileSync(join(i.root, 'var/lib/sandbox/packages'), 'utf8');
      expect(packages).toContain(i.tags['jenkins-fleet:pool'] === 'awsDeploy2' ? 'openjdk-21-jre-headless' : 'java-21-amazon-corretto-headless');
    }
    for (const i of alive(state)) {
      const pool = i.tags['jenkins-fleet:pool']!;
      // Tagged at launch (instance and volume) with fleet, pool and provisioner, as issue 2 asks.
      expect(i.tags).toMatchObject({ 'jenkins-fleet:fleet': 'bank-ci', 'jenkins-fleet:managed-by': 'provisioner' });
      expect(i.tags.Name).toMatch(new RegExp(`^bank-ci-${pool}`));
      expect(i.volumeTags).toMatchObject({ 'jenkins-fleet:fleet': 'bank-ci', 'jenkins-fleet:pool': pool, 'jenkins-fleet:managed-by': 'provisioner' });
      expect(i.metadataOptions.httpTokens).toBe('required');
    }
    expect(state.parameters.filter((p) => p.name.startsWith('/jenkins-fleet/bank-ci/agents/')).map((p) => p.type)).toEqual(Array(5).fill('SecureString'));
  });

  it('reports in status --json exactly what the sandbox holds', async () => {
    const run = await sandbox.provisioner(fleetWith({ awsDeploy: 3, awsDeploy2: 2 }), ['status', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const status = JSON.parse(run.stdout) as { fleet: string; pools: { name: string; desired: number; agents: { name: string; instanceId: string; instanceState: string; online: boolean; idle: boolean }[] }[]; orphans: { instances: string[]; nodes: string[] } };
    const state = await sandbox.state();
    expect(status.fleet).toBe('bank-ci');
    for (const pool of status.pools) {
      expect(pool.desired).toBe(pool.name === 'awsDeploy' ? 3 : 2);
      const expected = alive(state, pool.name).map((i) => ({ name: `${pool.name}-${i.id}`, instanceId: i.id, instanceState: i.state, online: state.nodes.find((n) => n.name === `${pool.name}-${i.id}`)!.online, idle: true }));
      expect(pool.agents.map(({ name, instanceId, instanceState, online, idle }) => ({ name, instanceId, instanceState, online, idle })).sort((a, b) => a.name.localeCompare(b.name)))
        .toEqual(expected.sort((a, b) => a.name.localeCompare(b.name)));
    }
    expect(status.orphans).toEqual({ instances: [], nodes: [] });
  });

  it('makes no mutating call on a second up, and plan --detailed-exitcode says so', async () => {
    const config = fleetWith({ awsDeploy: 3, awsDeploy2: 2 });
    const before = sandbox.requests().length;
    await up(config);
    const calls = sandbox.requests(before);
    expect(calls.length).toBeGreaterThan(0);
    // The run lock is taken and released (two writes of its DynamoDB item); nothing of the fleet is touched.
    expect(calls.filter((c) => c.mutating && c.service !== 'dynamodb')).toEqual([]);
    expect(calls.filter((c) => c.mutating && c.service === 'dynamodb').map((c) => c.action)).toEqual(['UpdateItem', 'UpdateItem']);
    const plan = await sandbox.provisioner(config, ['plan', '--detailed-exitcode']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
  });

  it('scales a pool up and down, cleaning the nodes and secrets of removed agents', async () => {
    await up(fleetWith({ awsDeploy: 5, awsDeploy2: 2 }));
    expect(converged(await sandbox.state(), { awsDeploy: 5, awsDeploy2: 2 })).toEqual([]);
    await up(fleetWith({ awsDeploy: 1, awsDeploy2: 2 }));
    const state = await sandbox.state();
    expect(converged(state, { awsDeploy: 1, awsDeploy2: 2 })).toEqual([]);
    const liveIds = new Set(alive(state).map((i) => i.id));
    const secrets = state.parameters.filter((p) => p.name.startsWith('/jenkins-fleet/bank-ci/agents/'));
    expect(secrets.map((p) => p.name.split('/')[4]).sort()).toEqual([...liveIds].sort());
  });

  it('drains and removes a pool taken out of the file', async () => {
    await up(fleetWith({ awsDeploy: 1 }, ['awsDeploy2']));
    expect(converged(await sandbox.state(), { awsDeploy: 1 })).toEqual([]);
  });

  it('downs one pool, then the whole fleet', async () => {
    const config = fleetWith({ awsDeploy: 2, awsDeploy2: 2 });
    await up(config);
    const one = await sandbox.provisioner(config, ['down', '--pool', 'awsDeploy2', '--yes']);
    expect(one.code, one.stdout + one.stderr).toBe(0);
    expect(converged(await sandbox.state(), { awsDeploy: 2 })).toEqual([]);
    const all = await sandbox.provisioner(config, ['down', '--yes']);
    expect(all.code, all.stdout + all.stderr).toBe(0);
    const state = await sandbox.state();
    expect(alive(state)).toEqual([]);
    expect(state.nodes.filter((n) => n.description.includes('jenkins-fleet'))).toEqual([]);
    expect(state.parameters.filter((p) => p.name.startsWith('/jenkins-fleet/bank-ci/'))).toEqual([]);
  });
});
