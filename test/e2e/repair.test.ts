// Repair: whatever happened to an agent behind the provisioner's back, the next `up` brings the
// fleet back to the file: a killed agent process, a node deleted by hand, an instance terminated
// by hand, a stray instance carrying the fleet's tags.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { alive, converged, counts, eventually, Sandbox } from './harness.ts';

const sandbox = new Sandbox(['--boot-delay', '1s', '--ssm-online-delay', '1s', '--terminated-linger', '5s']);
let ec2: EC2Client;
let config: string;
beforeAll(async () => {
  await sandbox.start();
  ec2 = new EC2Client({ region: 'us-east-1', endpoint: sandbox.env.AWS_ENDPOINT_URL_EC2, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  config = sandbox.fleet((f) => {
    counts(f, { awsDeploy: 2 });
    f.pools = f.pools.filter((p: { name: string }) => p.name === 'awsDeploy');
    f.repair = { offlineAfter: '2s' };
  });
  // Every case starts from a converged fleet; each leaves it converged again.
  await up();
});
afterAll(async () => { ec2.destroy(); await sandbox.stop(); });

async function up(): Promise<void> {
  const run = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '90s']);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  expect(converged(await sandbox.state(), { awsDeploy: 2 })).toEqual([]);
}

describe('repair through up', () => {
  it('brings back an agent whose process was killed (node offline, instance running)', async () => {
    const [victim] = alive(await sandbox.state());
    const pid = Number(readFileSync(join(victim!.root, 'run/sandbox/units/jenkins-agent.service.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await eventually('node offline', async () => !(await sandbox.state()).nodes.find((n) => n.name === `awsDeploy-${victim!.id}`)!.online);
    await new Promise((r) => setTimeout(r, 2500)); // past repair.offlineAfter
    await up();
    expect(alive(await sandbox.state()).map((i) => i.id)).toContain(victim!.id);
  });

  it('registers again a node deleted by hand', async () => {
    const [victim] = alive(await sandbox.state());
    const name = `awsDeploy-${victim!.id}`;
    const r = await fetch(`${sandbox.env.JENKINS_URL}computer/${name}/doDelete`, { method: 'POST', headers: sandbox.jenkinsAuth(), redirect: 'manual' });
    expect(r.status).toBe(302);
    await up();
    expect((await sandbox.state()).nodes.map((n) => n.name)).toContain(name);
  });

  it('replaces an instance terminated by hand and forgets its node', async () => {
    const [victim] = alive(await sandbox.state());
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [victim!.id] }));
    await up();
    const state = await sandbox.state();
    expect(alive(state).map((i) => i.id)).not.toContain(victim!.id);
    expect(state.nodes.map((n) => n.name)).not.toContain(`awsDeploy-${victim!.id}`);
  });

  it('terminates a stray instance carrying the fleet\'s tags', async () => {
    const stray = await ec2.send(new RunInstancesCommand({
      ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64', MinCount: 1, MaxCount: 1, SubnetId: 'subnet-0a1b2c3d4e5f60001',
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'jenkins-fleet:fleet', Value: 'bank-ci' }, { Key: 'jenkins-fleet:pool', Value: 'retiredPool' }, { Key: 'jenkins-fleet:managed-by', Value: 'provisioner' }] }],
    }));
    const id = stray.Instances![0]!.InstanceId!;
    await up();
    expect(alive(await sandbox.state()).map((i) => i.id)).not.toContain(id);
  });

  it("replaces an agent Jenkins' disk-space monitor holds offline, and status shows the monitor's reason", async () => {
    const [full] = alive(await sandbox.state());
    const name = `awsDeploy-${full!.id}`;
    const low = await fetch(`${sandbox.url}/_sandbox/agents/${name}/free-space`, { method: 'POST', body: JSON.stringify({ monitor: 'disk-space', freeBytes: 256 * 1024 ** 2 }) });
    expect(low.status, await low.clone().text()).toBe(200);
    const reason = /^Disk space is below threshold of 1\.00 GiB\. Only 256\.00 MiB out of 8\.00 GiB left on \/\S+\.$/;
    const status = await sandbox.provisioner(config, ['status']);
    expect(status.stdout).toMatch(new RegExp(`${name} +${full!.id} +running +offline by Jenkins `));
    expect(status.stdout.split('\n').find((l) => l.startsWith(`  ${name}: `))?.slice(name.length + 4)).toMatch(reason);
    const json = JSON.parse((await sandbox.provisioner(config, ['status', '--json'])).stdout) as { pools: { agents: Record<string, unknown>[] }[] };
    const agent = json.pools[0]!.agents.find((a) => a.name === name)!;
    expect(agent).toMatchObject({ online: false, temporarilyOffline: true, heldOfflineBy: 'jenkins' });
    expect(agent.offlineReason).toMatch(reason);
    await new Promise((r) => setTimeout(r, 2500)); // past repair.offlineAfter: the monitor did not let it go
    const plan = await sandbox.provisioner(config, ['plan']);
    expect(plan.stdout).toContain(`- drain and remove ${name} and terminate ${full!.id} (replace: taken offline by Jenkins`);
    await up();
    const state = await sandbox.state();
    expect(alive(state).map((i) => i.id)).not.toContain(full!.id);
    expect(state.nodes.map((n) => n.name)).not.toContain(name);
  });

  it('says the secret is a password, not an API token, when Jenkins wants a crumb, instead of naming a permission', async () => {
    const world = JSON.parse(readFileSync(join(sandbox.dir, 'state', 'state.json'), 'utf8')) as { users: { name: string; password: string }[] };
    const password = world.users.find((u) => u.name === sandbox.env.JENKINS_USER)!.password;
    const more = sandbox.fleet((f) => {
      counts(f, { awsDeploy: 3 });
      f.pools = f.pools.filter((p: { name: string }) => p.name === 'awsDeploy');
      f.repair = { offlineAfter: '2s' };
    }, 'three.yaml');
    const run = await sandbox.provisioner(more, ['up', '--yes', '--timeout', '60s'], { JENKINS_API_TOKEN: password });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/: register: creating node awsDeploy-i-[0-9a-f]+: Jenkins at \S+ answered 403 Forbidden: No valid crumb was included in the request\. .* is a password, not an API token/);
    expect(run.stdout + run.stderr).not.toContain('lacks');
    const fixed = await sandbox.provisioner(more, ['up', '--yes', '--timeout', '90s']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(converged(await sandbox.state(), { awsDeploy: 3 })).toEqual([]);
  });
});
