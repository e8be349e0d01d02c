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
});
afterAll(async () => { ec2.destroy(); await sandbox.stop(); });

async function up(): Promise<void> {
  const run = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '90s']);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  expect(converged(await sandbox.state(), { awsDeploy: 2 })).toEqual([]);
}

describe('repair through up', () => {
  it('starts from a converged fleet', up);

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
});
