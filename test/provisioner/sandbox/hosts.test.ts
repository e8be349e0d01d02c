// The hosts behind the SSM stand-in: a bootstrap-shaped script sent with SendCommand really runs,
// with the stand-ins a host provides (aws, apt-get, useradd, systemctl, java), and ends with an
// agent that holds its connection to the Jenkins stand-in.
import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, PutParameterCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { eventually, jenkinsAuth, startHarness, type Harness } from '../../support/sandbox.ts';

const al2023 = 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';
/** What the AL2023 image comes with (var/lib/sandbox/packages lists them first). */
const preinstalled = 'python3\nawscli-2\ndnf-plugins-core\ncurl\n';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => h.stop());

/** What the provisioner's bootstrap does, in the project's conventions (paths under the root). */
function bootstrap(name: string, secretParameter: string): string[] {
  return [
    'set -euo pipefail',
    'R="${AGENT_INSTALL_ROOT:-}"',
    'id -u jenkins >/dev/null 2>&1 || useradd --system --create-home --home-dir "$R/home/jenkins" jenkins',
    'command -v java >/dev/null || dnf install -y -q java-21-amazon-corretto-headless',
    'java -version 2>&1 | grep -q \'version "21\'',
    'mkdir -p "$R/etc/jenkins-agent" "$R/opt/jenkins-agent"',
    'umask 077',
    `aws ssm get-parameter --with-decryption --name '${secretParameter}' --query Parameter.Value --output text > "$R/etc/jenkins-agent/secret"`,
    'chmod 600 "$R/etc/jenkins-agent/secret"',
    'umask 022',
    `curl -fsS -o "$R/opt/jenkins-agent/agent.jar" '${h.sandbox.env.JENKINS_URL}jnlpJars/agent.jar'`,
    'chown -R jenkins:jenkins "$R/home/jenkins"',
    `cat > "$R/etc/systemd/system/jenkins-agent.service" <<UNIT
[Unit]
Description=Jenkins inbound agent
[Service]
User=jenkins
ExecStart=/usr/bin/java -jar $R/opt/jenkins-agent/agent.jar -url ${h.sandbox.env.JENKINS_URL} -secret @$R/etc/jenkins-agent/secret -name ${name} -webSocket -workDir $R/home/jenkins/agent
Restart=always
[Install]
WantedBy=multi-user.target
UNIT`,
    'systemctl daemon-reload',
    'systemctl enable --now jenkins-agent',
    'echo bootstrapped',
  ];
}

async function launchOnline(fleet = 'bank-ci'): Promise<string> {
  const out = await h.ec2.send(new RunInstancesCommand({
    ImageId: al2023, MinCount: 1, MaxCount: 1, IamInstanceProfile: { Name: 'jenkins-agent' },
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'jenkins-fleet:fleet', Value: fleet }] }],
  }));
  const id = out.Instances![0]!.InstanceId!;
  await eventually('SSM online', async () => {
    const info = await h.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'tag:jenkins-fleet:fleet', Values: [fleet] }] }));
    return info.InstanceInformationList?.some((i) => i.InstanceId === id && i.PingStatus === 'Online');
  });
  return id;
}

async function runScript(id: string, commands: string[]) {
  const sent = await h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [id], Parameters: { commands } }));
  return eventually('command finished', async () => {
    const inv = await h.ssm.send(new GetCommandInvocationCommand({ CommandId: sent.Command!.CommandId!, InstanceId: id }));
    return inv.Status === 'Success' || inv.Status === 'Failed' ? inv : undefined;
  }, 30_000);
}

async function nodeOnline(name: string): Promise<boolean> {
  return !(await h.jenkins.node.get(name)).offline;
}

describe('sandbox hosts', () => {
  let id: string;
  let name: string;
  let secret: string;
  let bootstrapped: Awaited<ReturnType<typeof runScript>>;

  // One host, launched, registered and bootstrapped as the provisioner does it; the cases follow its life.
  beforeAll(async () => {
    id = await launchOnline();
    name = `awsDeploy-${id}`;
    await h.jenkins.node.create({ name, nodeDescription: 'Managed by jenkins-fleet (fleet bank-ci, pool awsDeploy)', numExecutors: 1, remoteFS: '/home/jenkins/agent', labelString: 'awsDeploy', launcher: { 'stapler-class': 'hudson.slaves.JNLPLauncher', webSocket: true } });
    const jnlp = await (await fetch(`${h.sandbox.env.JENKINS_URL}computer/${name}/jenkins-agent.jnlp`, { headers: jenkinsAuth(h) })).text();
    secret = /<argument>([^<]+)<\/argument>/.exec(jnlp)![1]!;
    const parameter = `/jenkins-fleet/bank-ci/agents/${id}/secret`;
    await h.ssm.send(new PutParameterCommand({ Name: parameter, Value: secret, Type: 'SecureString' }));
    bootstrapped = await runScript(id, bootstrap(name, parameter));
  });

  it('run a bootstrap: secret from Parameter Store into a 0600 file, packages recorded, unit started, agent online', async () => {
    const result = bootstrapped;
    expect(result.StandardErrorContent).toMatch(/^(Created symlink [^\n]*\n)?$/);
    expect(result, result.StandardErrorContent).toMatchObject({ Status: 'Success', StandardOutputContent: expect.stringContaining('bootstrapped') });
    const root = join(h.dir, 'hosts', id);
    expect(readFileSync(join(root, 'etc/jenkins-agent/secret'), 'utf8').trim()).toBe(secret);
    expect(statSync(join(root, 'etc/jenkins-agent/secret')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(root, 'var/lib/sandbox/packages'), 'utf8')).toBe(`${preinstalled}java-21-amazon-corretto-headless\n`);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(/^jenkins:x:\d+:\d+::.*\/home\/jenkins:/m);
    await eventually('agent online', () => nodeOnline(name));
  });

  it('rerun the same bootstrap without harm (idempotent), keeping the agent online', async () => {
    const parameter = `/jenkins-fleet/bank-ci/agents/${id}/secret`;
    const result = await runScript(id, bootstrap(name, parameter));
    expect(result.Status, `${result.StandardOutputContent}${result.StandardErrorContent}`).toBe('Success');
    expect(readFileSync(join(h.dir, 'hosts', id, 'var/lib/sandbox/packages'), 'utf8')).toBe(`${preinstalled}java-21-amazon-corretto-headless\n`);
    await eventually('agent online', () => nodeOnline(name));
  });

  it('keep an agent on Java 17 offline: Jenkins 2.580.1 sends classes built for Java 21', async () => {
    const old = `${name}-java17`;
    await h.jenkins.node.create({ name: old, nodeDescription: 'an agent on an old JVM', numExecutors: 1, remoteFS: '/home/jenkins/agent', labelString: 'old', launcher: { 'stapler-class': 'hudson.slaves.JNLPLauncher', webSocket: true } });
    const jnlp = await (await fetch(`${h.sandbox.env.JENKINS_URL}computer/${old}/jenkins-agent.jnlp`, { headers: jenkinsAuth(h) })).text();
    await h.ssm.send(new PutParameterCommand({ Name: `/jenkins-fleet/bank-ci/agents/${id}/old`, Value: /<argument>([^<]+)</.exec(jnlp)![1]!, Type: 'SecureString' }));
    const result = await runScript(id, [
      'set -e',
      'dnf install -y -q java-17-amazon-corretto-headless',
      'java -version 2>&1 | head -n 1',
      `aws ssm get-parameter --with-decryption --name /jenkins-fleet/bank-ci/agents/${id}/old --query Parameter.Value --output text > "$AGENT_INSTALL_ROOT/old-secret"`,
      `"$AGENT_INSTALL_ROOT/usr/lib/jvm/java-17-amazon-corretto-headless/bin/java" -jar "$AGENT_INSTALL_ROOT/opt/jenkins-agent/agent.jar" -url ${h.sandbox.env.JENKINS_URL} -secret "@$AGENT_INSTALL_ROOT/old-secret" -name ${old} -webSocket -noReconnect || echo "exit=$?"`,
    ]);
    // The newest JVM stays `java`; the old one connects and is thrown out at once.
    expect(result.StandardOutputContent).toContain('openjdk version "21.');
    expect(result.StandardOutputContent).toContain('exit=1');
    expect(result.StandardErrorContent).toContain('java.lang.UnsupportedClassVersionError');
    const node = await h.jenkins.node.get(old);
    expect(node.offline).toBe(true);
    expect(node.offlineCauseReason).toMatch(/UnsupportedClassVersionError.*class file version 65\.0.*up to 61\.0/);
    await h.jenkins.node.destroy(old);
  });

  it('take the node offline when the agent process is killed, and back with systemctl restart', async () => {
    const pid = Number(readFileSync(join(h.dir, 'hosts', id, 'run/sandbox/units/jenkins-agent.service.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    await eventually('agent offline', async () => !(await nodeOnline(name)));
    const result = await runScript(id, ['systemctl restart jenkins-agent', 'systemctl is-active jenkins-agent']);
    expect(result.StandardOutputContent).toBe('active\n');
    await eventually('agent online again', () => nodeOnline(name));
  });

  it('keep the agent running across a sandbox restart, on the same state directory', async () => {
    const port = Number(new URL(h.sandbox.url).port);
    await h.stop(true);
    h = await startHarness((o) => { o.port = port; }, h.dir);
    expect(h.sandbox.sandbox.store.world.nodes.map((n) => n.name)).toContain(name);
    await eventually('agent reconnected', () => nodeOnline(name).catch(() => false), 20_000);
  });

  it('refuse an inline secret in java, and a host reading another fleet\'s parameter', async () => {
    const result = await runScript(id, [
      'java -jar "$AGENT_INSTALL_ROOT/opt/jenkins-agent/agent.jar" -url http://127.0.0.1:1/ -name x -secret abc -webSocket || echo "exit=$?"',
      `aws ssm get-parameter --with-decryption --name /jenkins-fleet/other-fleet/x --query Parameter.Value --output text || echo "exit=$?"`,
    ]);
    expect(result.StandardErrorContent).toContain('Refusing an inline -secret');
    expect(result.StandardErrorContent).toContain('AccessDeniedException');
    expect(result.StandardOutputContent).toBe('exit=1\nexit=254\n');
  });

  it('end the agent when its instance is terminated', async () => {
    await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await eventually('agent offline', async () => !(await nodeOnline(name)));
    expect(existsSync(join(h.dir, 'hosts', id, 'run/sandbox/units/jenkins-agent.service.pid'))).toBe(false);
  });
});
