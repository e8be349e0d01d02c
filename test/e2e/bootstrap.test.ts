// The provisioner's real bootstrap template, rendered for the example pools and run by the
// sandbox's SSM on sandbox hosts of both families (dnf: Amazon Linux 2023; apt: Ubuntu 24.04): it
// must install Java 21, a Python the library accepts and the AWS CLI where missing, end with the
// agent online in the Jenkins stand-in, and be safe to run again.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, PutParameterCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { bootstrapValues, renderBootstrap } from '../../provisioner/src/transport/bootstrap.ts';
import { parseFleet } from '../../provisioner/src/config/load.ts';
import { secretParameterPrefix } from '../../provisioner/src/model.ts';
import { eventually, jenkinsAuth, startHarness, type Harness } from '../support/sandbox.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => h.stop(Boolean(process.env.KEEP)));

const images = {
  al2023: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
  ubuntu: 'resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
};

async function host(pool: string, image: string): Promise<string> {
  const out = await h.ec2.send(new RunInstancesCommand({
    ImageId: image, MinCount: 1, MaxCount: 1,
    IamInstanceProfile: { Name: 'jenkins-fleet-agent' },
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'jenkins-fleet:fleet', Value: 'bank-ci' }, { Key: 'jenkins-fleet:pool', Value: pool }] }],
  }));
  const id = out.Instances![0]!.InstanceId!;
  await eventually('SSM online', async () => (await h.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'tag:jenkins-fleet:pool', Values: [pool] }] }))).InstanceInformationList?.some((i) => i.InstanceId === id));
  const name = `${pool}-${id}`;
  await h.jenkins.node.create({ name, nodeDescription: `Managed by jenkins-fleet (fleet bank-ci, pool ${pool})`, numExecutors: 2, remoteFS: '/home/jenkins/agent', labelString: pool, launcher: { 'stapler-class': 'hudson.slaves.JNLPLauncher', webSocket: true } });
  const jnlp = await (await fetch(`${h.sandbox.env.JENKINS_URL}computer/${name}/jenkins-agent.jnlp`, { headers: jenkinsAuth(h) })).text();
  await h.ssm.send(new PutParameterCommand({ Name: `${secretParameterPrefix('bank-ci')}${id}/secret`, Value: /<argument>([^<]+)</.exec(jnlp)![1]!, Type: 'SecureString' }));
  return id;
}

async function run(id: string, script: string) {
  const sent = await h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [id], Parameters: { commands: [script], executionTimeout: ['25'] } }));
  return eventually('bootstrap finished', async () => {
    const inv = await h.ssm.send(new GetCommandInvocationCommand({ CommandId: sent.Command!.CommandId!, InstanceId: id }));
    return inv.Status === 'Success' || inv.Status === 'Failed' ? inv : undefined;
  }, 60_000);
}

const fleet = parseFleet(readFileSync(new URL('../../examples/fleet.yaml', import.meta.url), 'utf8'), 'examples/fleet.yaml');

describe('the provisioner bootstrap on a sandbox host', () => {
  for (const { pool, image, os, packages, python3 } of [
    {
      pool: 'awsDeploy', image: images.al2023, os: 'Amazon Linux 2023 (dnf; CLI, Python 3.9, no Java)',
      packages: ['python3', 'awscli-2', 'dnf-plugins-core', 'curl', 'java-21-amazon-corretto-headless', 'terraform', 'python3.11', 'python3.11-pip'],
      python3: 'python3.11',
    },
    {
      pool: 'awsDeploy2', image: images.ubuntu, os: 'Ubuntu 24.04 (apt; Python 3.12, no CLI, no Java)',
      packages: ['python3', 'curl', 'gnupg', 'openjdk-21-jre-headless', 'docker.io', 'python3-venv', 'python3-pip', 'aws-cli'],
      python3: undefined,
    },
  ] as const) {
    it(`brings a ${pool} agent online on ${os}, and a second run keeps it so`, async () => {
      const id = await host(pool, image);
      const values = bootstrapValues(fleet, fleet.pools.find((p) => p.name === pool)!);
      const script = renderBootstrap({ ...values, controllerUrl: h.sandbox.env.JENKINS_URL!.replace(/\/+$/, '') });
      const first = await run(id, script);
      expect(first.StandardErrorContent, first.StandardOutputContent).not.toContain('error');
      expect(first.Status, `${first.StandardOutputContent}${first.StandardErrorContent}`).toBe('Success');
      expect(first.StandardOutputContent).toMatch(/bootstrap: Java 21 at /);
      const root = join(h.dir, 'hosts', id);
      expect(statSync(join(root, 'etc/jenkins-agent/secret')).mode & 0o777).toBe(0o600);
      expect(statSync(join(root, 'var/cache/bank-pipeline/venvs')).isDirectory()).toBe(true);
      expect(readFileSync(join(root, 'var/lib/sandbox/packages'), 'utf8').trim().split('\n').sort()).toEqual([...packages].sort());
      // The library's steps find a Python they accept first on the agent's PATH.
      const unit = readFileSync(join(root, 'etc/systemd/system/jenkins-agent.service'), 'utf8');
      expect(unit).toContain(`Environment="PATH=${root}/opt/jenkins-agent/bin:`);
      if (python3) expect(realpathSync(join(root, 'opt/jenkins-agent/bin/python3'))).toBe(realpathSync(join(root, 'usr/bin', python3)));
      else expect(existsSync(join(root, 'opt/jenkins-agent/bin/python3'))).toBe(false);
      await eventually('online', async () => !(await h.jenkins.node.get(`${pool}-${id}`)).offline);
      const second = await run(id, script);
      expect(second.Status).toBe('Success');
      await eventually('online again', async () => !(await h.jenkins.node.get(`${pool}-${id}`)).offline);
    });
  }
});
