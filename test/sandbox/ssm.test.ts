// The SSM stand-in, exercised only through the real @aws-sdk/client-ssm.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import {
  DeleteParameterCommand, DescribeInstanceInformationCommand, GetCommandInvocationCommand, GetParameterCommand, GetParametersByPathCommand,
  ListCommandInvocationsCommand, PutParameterCommand, SendCommandCommand, SSMClient,
} from '@aws-sdk/client-ssm';
import { eventually, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => h.stop());

async function onlineInstance(): Promise<string> {
  const out = await h.ec2.send(new RunInstancesCommand({
    ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64', MinCount: 1, MaxCount: 1, SubnetId: 'subnet-0aaaaaaaaaaaaaaa1', IamInstanceProfile: { Name: 'jenkins-agent' },
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'jenkins-fleet:fleet', Value: 'bank-ci' }] }],
  }));
  const id = out.Instances![0]!.InstanceId!;
  await eventually('SSM online', async () => {
    const info = await h.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] }));
    return info.InstanceInformationList?.[0]?.PingStatus === 'Online';
  });
  return id;
}

describe('SSM stand-in through the real SDK client', () => {
  it('stores SecureStrings, shows them only decrypted on request, and refuses silent overwrites', async () => {
    const name = '/jenkins-fleet/bank-ci/agents/i-0123456789abcdef0/secret';
    const put = await h.ssm.send(new PutParameterCommand({ Name: name, Value: 'c0ffee', Type: 'SecureString', KeyId: 'alias/jenkins-fleet' }));
    expect(put).toMatchObject({ Version: 1, Tier: 'Standard' });
    const plain = await h.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    expect(plain.Parameter).toMatchObject({ Name: name, Type: 'SecureString', Value: 'c0ffee', Version: 1 });
    expect(plain.Parameter!.LastModifiedDate).toBeInstanceOf(Date);
    const sealed = await h.ssm.send(new GetParameterCommand({ Name: name }));
    expect(sealed.Parameter!.Value).not.toContain('c0ffee');
    await expect(h.ssm.send(new PutParameterCommand({ Name: name, Value: 'x', Type: 'SecureString' }))).rejects.toMatchObject({ name: 'ParameterAlreadyExists' });
    const again = await h.ssm.send(new PutParameterCommand({ Name: name, Value: 'tea', Type: 'SecureString', Overwrite: true }));
    expect(again.Version).toBe(2);
    const byPath = await h.ssm.send(new GetParametersByPathCommand({ Path: '/jenkins-fleet/bank-ci', Recursive: true, WithDecryption: true }));
    expect(byPath.Parameters!.map((p) => p.Value)).toEqual(['tea']);
    await h.ssm.send(new DeleteParameterCommand({ Name: name }));
    await expect(h.ssm.send(new GetParameterCommand({ Name: name }))).rejects.toMatchObject({ name: 'ParameterNotFound' });
    await expect(h.ssm.send(new DeleteParameterCommand({ Name: name }))).rejects.toMatchObject({ name: 'ParameterNotFound' });
  });

  it('answers the public AMI aliases', async () => {
    const p = await h.ssm.send(new GetParameterCommand({ Name: '/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id' }));
    expect(p.Parameter).toMatchObject({ Type: 'String', DataType: 'aws:ec2:image' });
    expect(p.Parameter!.Value).toMatch(/^ami-[0-9a-f]{17}$/);
    await expect(h.ssm.send(new GetParameterCommand({ Name: '/aws/service/nothing/here' }))).rejects.toMatchObject({ name: 'ParameterNotFound' });
  });

  it('lists an instance Online only after its boot and agent delays', async () => {
    const out = await h.ec2.send(new RunInstancesCommand({ ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64', MinCount: 1, MaxCount: 1 }));
    const id = out.Instances![0]!.InstanceId!;
    const early = await h.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] }));
    expect(early.InstanceInformationList).toEqual([]);
    await eventually('online', async () => {
      const info = await h.ssm.send(new DescribeInstanceInformationCommand({ InstanceInformationFilterList: [{ key: 'InstanceIds', valueSet: [id] }] }));
      return info.InstanceInformationList?.[0]?.PingStatus === 'Online';
    });
  });

  it('runs AWS-RunShellScript with bash in the host root and reports output and exit codes', async () => {
    const id = await onlineInstance();
    const sent = await h.ssm.send(new SendCommandCommand({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [id],
      Parameters: { commands: ['set -e', 'echo "id=$AWS_SSM_INSTANCE_ID region=$AWS_SSM_REGION_NAME"', 'mkdir -p "$AGENT_INSTALL_ROOT/etc/x" && echo hi > "$AGENT_INSTALL_ROOT/etc/x/file"', 'echo oops >&2'] },
    }));
    const commandId = sent.Command!.CommandId!;
    expect(sent.Command!.Status).toBe('Pending');
    const done = await eventually('command done', async () => {
      const inv = await h.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: id }));
      return inv.Status === 'Success' ? inv : undefined;
    });
    expect(done.StandardOutputContent).toBe(`id=${id} region=us-east-1\n`);
    expect(done.StandardErrorContent).toBe('oops\n');
    expect(done.ResponseCode).toBe(0);
    const failed = await h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [id], Parameters: { commands: ['echo partial', 'exit 3'] } }));
    const inv = await eventually('failure', async () => {
      const r = await h.ssm.send(new GetCommandInvocationCommand({ CommandId: failed.Command!.CommandId!, InstanceId: id }));
      return r.Status === 'Failed' ? r : undefined;
    });
    expect(inv.ResponseCode).toBe(3);
    const listed = await h.ssm.send(new ListCommandInvocationsCommand({ CommandId: failed.Command!.CommandId!, Details: true }));
    expect(listed.CommandInvocations![0]!.CommandPlugins![0]).toMatchObject({ Name: 'aws:runShellScript', ResponseCode: 3, Output: 'partial\n' });
  });

  it('answers InvocationDoesNotExist right after SendCommand while the command is not visible yet', async () => {
    const id = await onlineInstance();
    h.sandbox.sandbox.faults.consistencyLagMs = 400;
    const sent = await h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [id], Parameters: { commands: ['true'] } }));
    await expect(h.ssm.send(new GetCommandInvocationCommand({ CommandId: sent.Command!.CommandId!, InstanceId: id }))).rejects.toMatchObject({ name: 'InvocationDoesNotExist' });
    expect((await h.ssm.send(new ListCommandInvocationsCommand({ CommandId: sent.Command!.CommandId! }))).CommandInvocations).toEqual([]);
    await eventually('visible', async () => (await h.ssm.send(new GetCommandInvocationCommand({ CommandId: sent.Command!.CommandId!, InstanceId: id })).catch(() => undefined))?.Status === 'Success');
    h.sandbox.sandbox.faults.consistencyLagMs = 0;
  });

  it('refuses more than 50 instances, hosts whose agent is not online, and unknown documents', async () => {
    const ids = Array.from({ length: 51 }, (_, n) => `i-${n.toString(16).padStart(17, '0')}`);
    await expect(h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: ids, Parameters: { commands: ['true'] } }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [ids[0]!], Parameters: { commands: ['true'] } }))).rejects.toMatchObject({ name: 'InvalidInstanceId' });
    await expect(h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunPowerShellScript', InstanceIds: [ids[0]!], Parameters: { commands: ['true'] } }))).rejects.toMatchObject({ name: 'InvalidDocument' });
    await expect(h.ssm.send(new GetCommandInvocationCommand({ CommandId: '00000000-0000-0000-0000-000000000000', InstanceId: ids[0]! }))).rejects.toMatchObject({ name: 'InvocationDoesNotExist' });
  });

  it('throttles with ThrottlingException and refuses credentials scoped to another region', async () => {
    h.sandbox.sandbox.faults.ssm.throttleRate = 1;
    await expect(h.ssm.send(new GetParameterCommand({ Name: '/x' }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    h.sandbox.sandbox.faults.ssm.throttleRate = 0;
    const other = new SSMClient({ region: 'eu-west-1', endpoint: h.sandbox.env.AWS_ENDPOINT_URL_SSM, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
    await expect(other.send(new GetParameterCommand({ Name: '/x' }))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
    other.destroy();
  });

  it('never lists agents with ssmNeverOnline', async () => {
    h.sandbox.sandbox.faults.ssmNeverOnline = true;
    const out = await h.ec2.send(new RunInstancesCommand({ ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64', MinCount: 1, MaxCount: 1 }));
    await new Promise((r) => setTimeout(r, 600));
    const info = await h.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [out.Instances![0]!.InstanceId!] }] }));
    expect(info.InstanceInformationList).toEqual([]);
    h.sandbox.sandbox.faults.ssmNeverOnline = false;
  });
});
