// The provisioner's real bootstrap template, rendered for the example pools and run by the
// sandbox's SSM on a sandbox host: it must end with the agent online in the Jenkins stand-in,
// and be safe to run again.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, PutParameterCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { renderBootstrap } from '../../provisioner/src/transport/bootstrap.ts';
import { secretParameterPrefix } from '../../provisioner/src/model.ts';
import { eventually, jenkinsAuth, startHarness, type Harness } from '../sandbox/harness.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => h.stop(Boolean(process.env.KEEP)));

async function host(pool: string): Promise<string> {
  const out = await h.ec2.send(new RunInstancesCommand({
    ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64', MinCount: 1, MaxCount: 1,
    IamInstanceProfile: { Name: 'jenkins-fleet-agent' },
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'jenkins-fleet:fleet', Value: 'bank-ci' }, { Key: 'jenkins-fleet:pool', Value: pool }] }],
  }));
  const id = out.Instances![0]!.InstanceId!;
  await eventually('SSM online', async () => (await h.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] }))).InstanceInformationList?.length === 1);
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

describe('the provisioner bootstrap on a sandbox host', () => {
  for (const [pool, tools, packages] of [
    ['awsDeploy', 'terraform python', ['java-17-amazon-corretto-headless', 'terraform', 'python3', 'python3-pip']],
    ['awsDeploy2', 'docker python', ['java-17-amazon-corretto-headless', 'docker', 'python3', 'python3-pip']],
  ] as const) {
    it(`brings a ${pool} agent online, and a second run keeps it so`, async () => {
      const id = await host(pool);
      const script = renderBootstrap({ fleet: 'bank-ci', pool, controllerUrl: h.sandbox.env.JENKINS_URL!.replace(/\/+$/, ''), remoteFS: '/home/jenkins/agent', region: 'us-east-1', parameterPrefix: secretParameterPrefix('bank-ci'), tools, cacheDirs: '/var/cache/bank-pipeline/venvs' });
      const first = await run(id, script);
      console.log(first.Status, first.StandardOutputContent, first.StandardErrorContent);
      expect(first.StandardErrorContent, first.StandardOutputContent).not.toContain('error');
      expect(first.Status).toBe('Success');
      const root = join(h.dir, 'hosts', id);
      expect(statSync(join(root, 'etc/jenkins-agent/secret')).mode & 0o777).toBe(0o600);
      expect(statSync(join(root, 'var/cache/bank-pipeline/venvs')).isDirectory()).toBe(true);
      expect(readFileSync(join(root, 'var/lib/sandbox/packages'), 'utf8').trim().split('\n').sort()).toEqual([...packages].sort());
      await eventually('online', async () => !(await h.jenkins.node.get(`${pool}-${id}`)).offline);
      const second = await run(id, script);
      expect(second.Status).toBe('Success');
      await eventually('online again', async () => !(await h.jenkins.node.get(`${pool}-${id}`)).offline);
    });
  }
});
