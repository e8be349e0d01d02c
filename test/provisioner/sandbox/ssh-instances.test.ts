// `--ssh-instances`: an instance's sshd is not there the moment EC2 calls it running. It starts a
// while into the boot, before cloud-init prints the host keys to the console, as on EC2; a reader
// that connects at `running` and does not retry fails here as it would there.
import { DescribeInstancesCommand, GetConsoleOutputCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../e2e/harness.ts';
import { startHarness, type Harness } from '../../support/sandbox.ts';
import { requireTools } from '../../support/sshd.ts';

function answersSsh(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, address);
    socket.setTimeout(2_000);
    socket.once('data', (d) => { socket.destroy(); resolve(d.toString('latin1').startsWith('SSH-')); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

describe('an instance over SSH in the sandbox', () => {
  let h: Harness;
  beforeAll(async () => {
    requireTools();
    // sshd a quarter of the SSM delay after running (5 s), the host keys on the console at half (10 s).
    h = await startHarness((o) => { o.sshInstances = true; o.timing = { bootMs: 300, ssmOnlineMs: 20_000, shutdownMs: 200, lingerMs: 60_000 }; });
  });
  afterAll(async () => { await h?.stop(); });

  it('has no sshd listening when EC2 first calls it running; sshd answers later, before the console shows the host keys', { timeout: 60_000 }, async () => {
    const out = await h.ec2.send(new RunInstancesCommand({
      ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64', InstanceType: 't3.medium', MinCount: 1, MaxCount: 1,
      SubnetId: 'subnet-0aaaaaaaaaaaaaaa1', SecurityGroupIds: ['sg-0bbbbbbbbbbbbbbb1'], IamInstanceProfile: { Name: 'jenkins-agent' }, MetadataOptions: { HttpTokens: 'required' },
    }));
    const id = out.Instances![0]!.InstanceId!;
    const port = Number(readFileSync(join(h.dir, 'ssh-instances', 'port'), 'utf8'));
    const running = await eventually('running', async () => {
      const i = (await h.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0];
      return i?.State?.Name === 'running' ? i : undefined;
    });
    expect(await answersSsh(running.PrivateIpAddress!, port)).toBe(false);
    await eventually('sshd answering', async () => (await answersSsh(running.PrivateIpAddress!, port)) || undefined, 30_000);
    const console = await h.ec2.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true }));
    expect(Buffer.from(console.Output ?? '', 'base64').toString('utf8')).not.toContain('BEGIN SSH HOST KEY KEYS');
  });
});
