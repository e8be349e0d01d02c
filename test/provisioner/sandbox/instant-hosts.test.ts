// Instant hosts (`provisioner sandbox --instant-hosts`) and a state written behind
// (`--write-behind`), the sandbox's modes for measuring the provisioner apart from its hosts: Run
// Command answers at once without running the script, the agent connects through the real
// /wsagents/ checks with the secret stored for its instance, and the state reaches the disk at the
// latest when the sandbox stops.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, PutParameterCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { eventually, jenkinsAuth, startHarness, type Harness } from '../../support/sandbox.ts';

const al2023 = 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';

async function launchOnline(h: Harness): Promise<string> {
  const out = await h.ec2.send(new RunInstancesCommand({
    ImageId: al2023, MinCount: 1, MaxCount: 1, IamInstanceProfile: { Name: 'jenkins-agent' },
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'jenkins-fleet:fleet', Value: 'bank-ci' }] }],
  }));
  const id = out.Instances![0]!.InstanceId!;
  await eventually('SSM online', async () => {
    const info = await h.ssm.send(new DescribeInstanceInformationCommand({}));
    return info.InstanceInformationList?.some((i) => i.InstanceId === id && i.PingStatus === 'Online');
  });
  return id;
}

/** A node named after the instance, as the provisioner registers it; its JNLP secret. */
async function register(h: Harness, id: string): Promise<{ name: string; secret: string }> {
  const name = `awsDeploy-${id}`;
  await h.jenkins.node.create({ name, nodeDescription: 'Managed by jenkins-fleet (fleet bank-ci, pool awsDeploy)', numExecutors: 1, remoteFS: '/home/jenkins/agent', labelString: 'awsDeploy', launcher: { 'stapler-class': 'hudson.slaves.JNLPLauncher', webSocket: true } });
  const jnlp = await (await fetch(`${h.sandbox.env.JENKINS_URL}computer/${name}/jenkins-agent.jnlp`, { headers: jenkinsAuth(h) })).text();
  return { name, secret: /<argument>([^<]+)<\/argument>/.exec(jnlp)![1]! };
}

async function runScript(h: Harness, id: string, commands: string[]) {
  const sent = await h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [id], Parameters: { commands } }));
  return eventually('command finished', async () => {
    const inv = await h.ssm.send(new GetCommandInvocationCommand({ CommandId: sent.Command!.CommandId!, InstanceId: id }));
    return inv.Status === 'Success' || inv.Status === 'Failed' ? inv : undefined;
  });
}

const online = async (h: Harness, name: string) => !(await h.jenkins.node.get(name)).offline;

describe('instant hosts', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness((o) => { o.instantHosts = true; }); });
  afterAll(async () => h.stop());

  it('answer Run Command at once without running the script, and the agent connects with the stored secret', async () => {
    const id = await launchOnline(h);
    const { name, secret } = await register(h, id);
    await h.ssm.send(new PutParameterCommand({ Name: `/jenkins-fleet/bank-ci/agents/${id}/secret`, Value: secret, Type: 'SecureString' }));
    const result = await runScript(h, id, ['touch "$AGENT_INSTALL_ROOT/ran"', 'exit 3']);
    expect(result).toMatchObject({ Status: 'Success', ResponseCode: 0, StandardOutputContent: 'instant host: the script was not run; the agent connected\n' });
    expect(existsSync(join(h.dir, 'hosts', id))).toBe(false);
    expect(await online(h, name)).toBe(true);
    // The instance gone, its agent's connection goes with it.
    await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await eventually('agent offline', async () => !(await online(h, name)));
  });

  it('fail the command when the stored secret is not the node\'s: Jenkins refuses the agent (403)', async () => {
    const id = await launchOnline(h);
    const { name } = await register(h, id);
    await h.ssm.send(new PutParameterCommand({ Name: `/jenkins-fleet/bank-ci/agents/${id}/secret`, Value: 'f'.repeat(64), Type: 'SecureString' }));
    const result = await runScript(h, id, ['true']);
    expect(result).toMatchObject({ Status: 'Failed', ResponseCode: 1, StandardErrorContent: `instant host: the agent of ${name} was refused: HTTP 403\n` });
    expect(await online(h, name)).toBe(false);
  });

  it('fail the command, saying what is missing, without a node or a secret for the instance', async () => {
    const id = await launchOnline(h);
    expect((await runScript(h, id, ['true'])).StandardErrorContent).toBe(`instant host: no Jenkins node is named after ${id}\n`);
    await register(h, id);
    expect(await runScript(h, id, ['true'])).toMatchObject({ Status: 'Failed', StandardErrorContent: `instant host: no secret for ${id} under /jenkins-fleet/bank-ci/\n` });
  });
});

describe('a state written behind', () => {
  it('reaches the disk when the sandbox stops, and instant hosts whose bootstrap succeeded reconnect on a restart', async () => {
    let h = await startHarness((o) => { o.instantHosts = true; o.writeBehindMs = 600_000; });
    const id = await launchOnline(h);
    const { name, secret } = await register(h, id);
    await h.ssm.send(new PutParameterCommand({ Name: `/jenkins-fleet/bank-ci/agents/${id}/secret`, Value: secret, Type: 'SecureString' }));
    expect((await runScript(h, id, ['true'])).Status).toBe('Success');
    const stateFile = join(h.dir, 'state.json');
    expect(readFileSync(stateFile, 'utf8')).not.toContain(id);
    const dir = h.dir;
    await h.stop(true);
    const written = JSON.parse(readFileSync(stateFile, 'utf8'));
    expect(written.instances.map((i: { id: string }) => i.id)).toEqual([id]);
    expect(written.nodes.map((n: { name: string }) => n.name)).toEqual([name]);
    h = await startHarness((o) => { o.instantHosts = true; }, dir);
    try {
      // The restarted sandbox answers on the same port: a pooled connection to the old one may hang up once.
      await eventually('agent back online', () => online(h, name).catch(() => false));
    } finally {
      await h.stop();
    }
  });
});
