// The SSM stand-in, exercised only through the real @aws-sdk/client-ssm.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import {
  DeleteParameterCommand, DescribeInstanceInformationCommand, GetCommandInvocationCommand, GetParameterCommand, GetParametersByPathCommand,
  ListCommandInvocationsCommand, ListCommandsCommand, PutParameterCommand, SendCommandCommand, SSMClient,
} from '@aws-sdk/client-ssm';
import { eventually, startHarness, type Harness } from '../../support/sandbox.ts';

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
    const info = await h.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'tag:jenkins-fleet:fleet', Values: ['bank-ci'] }] }));
    return info.InstanceInformationList?.some((i) => i.InstanceId === id && i.PingStatus === 'Online');
  });
  return id;
}

describe('SSM stand-in through the real SDK client', () => {
  it('stores SecureStrings, shows them only decrypted on request, and refuses silent overwrites', async () => {
    const name = '/jenkins-fleet/bank-ci/agents/i-0123456789abcdef0/secret';
    // KMS key ids are checked: only the account's keys (aws/ssm and --kms-key) may encrypt.
    await expect(h.ssm.send(new PutParameterCommand({ Name: name, Value: 'c0ffee', Type: 'SecureString', KeyId: 'alias/jenkins-fleet' })))
      .rejects.toMatchObject({ name: 'InvalidKeyId' });
    const put = await h.ssm.send(new PutParameterCommand({ Name: name, Value: 'c0ffee', Type: 'SecureString', KeyId: 'alias/jenkins-fleet/bank-ci' }));
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

  it('keeps the tier rules of PutParameter: 4 KB Standard, 8 KB Advanced, no way back from Advanced, no {{}} in a value', async () => {
    const name = '/jenkins-fleet/bank-ci/tiers';
    const put = (value: string, extra: Record<string, unknown> = {}) => h.ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString', Overwrite: true, ...extra }));
    await expect(put('x'.repeat(4097))).rejects.toMatchObject({ name: 'ValidationException' });
    expect(await put('x'.repeat(4096))).toMatchObject({ Tier: 'Standard' });
    // Intelligent-Tiering answers the tier it chose.
    expect(await put('x'.repeat(10), { Tier: 'Intelligent-Tiering' })).toMatchObject({ Tier: 'Standard' });
    expect(await put('x'.repeat(5000), { Tier: 'Intelligent-Tiering' })).toMatchObject({ Tier: 'Advanced' });
    await expect(put('x'.repeat(8193), { Tier: 'Advanced' })).rejects.toMatchObject({ name: 'ValidationException' });
    // Advanced stays advanced: Standard, asked or by default, is refused; Intelligent-Tiering keeps it.
    await expect(put('small', { Tier: 'Standard' })).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining("can't downgrade") });
    await expect(put('small')).rejects.toMatchObject({ name: 'ValidationException' });
    expect(await put('small', { Tier: 'Intelligent-Tiering' })).toMatchObject({ Tier: 'Advanced' });
    await expect(put('a {{ssm:/other}} b', { Tier: 'Advanced' })).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('{{}}') });
    await h.ssm.send(new DeleteParameterCommand({ Name: name }));
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
    // Before its agent registers, SSM does not know the id: asking for it is an error, not an empty list.
    await expect(h.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] })))
      .rejects.toMatchObject({ name: 'InvalidInstanceId' });
    await eventually('online', async () => {
      const info = await h.ssm.send(new DescribeInstanceInformationCommand({ InstanceInformationFilterList: [{ key: 'InstanceIds', valueSet: [id] }] })).catch(() => undefined);
      return info?.InstanceInformationList?.[0]?.PingStatus === 'Online';
    });
    // The enumerated filters match as SSM's do, and a value outside the model's list is refused.
    const listed = async (filter: { Key: string; Values: string[] }) =>
      (await h.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }, filter] }))).InstanceInformationList!.map((i) => i.InstanceId);
    expect(await listed({ Key: 'PlatformTypes', Values: ['Linux'] })).toEqual([id]);
    expect(await listed({ Key: 'PlatformTypes', Values: ['Windows'] })).toEqual([]);
    expect(await listed({ Key: 'ResourceType', Values: ['ManagedInstance'] })).toEqual([]);
    expect(await listed({ Key: 'PingStatus', Values: ['ConnectionLost'] })).toEqual([]);
    await expect(listed({ Key: 'PingStatus', Values: ['online'] })).rejects.toMatchObject({ name: 'InvalidInstanceInformationFilterValue' });
    await expect(h.ssm.send(new DescribeInstanceInformationCommand({ InstanceInformationFilterList: [{ key: 'PlatformTypes', valueSet: ['linux'] }] })))
      .rejects.toMatchObject({ name: 'InvalidInstanceInformationFilterValue' });
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

  it('applies MaxConcurrency and MaxErrors: with MaxErrors 0 the first failure cancels the invocations not yet started', async () => {
    const hosts = [await onlineInstance(), await onlineInstance(), await onlineInstance()];
    const finished = async (commandId: string) => eventually('command ended', async () => {
      const listed = await h.ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }));
      const rows = listed.CommandInvocations ?? [];
      return rows.length === 3 && rows.every((r) => !['Pending', 'InProgress'].includes(r.Status!)) ? rows : undefined;
    });
    // One at a time, no error allowed (SSM's default MaxErrors): the first host fails, the rest never run.
    const strict = await h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: hosts, MaxConcurrency: '1', Parameters: { commands: ['exit 3'] } }));
    expect(strict.Command).toMatchObject({ MaxErrors: '0', MaxConcurrency: '1' });
    const rows = await finished(strict.Command!.CommandId!);
    expect(rows.map((r) => [r.Status, r.StatusDetails]).sort()).toEqual([['Cancelled', 'Terminated'], ['Cancelled', 'Terminated'], ['Failed', 'Failed']]);
    const [command] = (await h.ssm.send(new ListCommandsCommand({ CommandId: strict.Command!.CommandId! }))).Commands!;
    expect(command).toMatchObject({ Status: 'Failed', StatusDetails: 'Failed', ErrorCount: 1, TargetCount: 3 });
    // The same with every error allowed: all three run, one after the other.
    const lenient = await h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: hosts, MaxConcurrency: '1', MaxErrors: '100%', Parameters: { commands: ['sleep 0.2', 'exit 3'] } }));
    const all = await finished(lenient.Command!.CommandId!);
    expect(all.map((r) => r.StatusDetails)).toEqual(['Failed', 'Failed', 'Failed']);
    const spans = all.map((r) => [r.CommandPlugins![0]!.ResponseStartDateTime!.getTime(), r.CommandPlugins![0]!.ResponseFinishDateTime!.getTime()] as const).sort((a, b) => a[0] - b[0]);
    for (let n = 1; n < spans.length; n++) expect(spans[n]![0], 'never two at once').toBeGreaterThanOrEqual(spans[n - 1]![1]);
    await expect(h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: hosts, MaxErrors: '-1', Parameters: { commands: ['true'] } })))
      .rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('keeps every command with its parameters, for anyone allowed ssm:ListCommands to read', async () => {
    const id = await onlineInstance();
    const sent = await h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [id], Comment: 'kept', Parameters: { commands: ['echo visible-forever'] } }));
    const listed = await h.ssm.send(new ListCommandsCommand({ InstanceId: id }));
    expect(listed.Commands!.map((c) => [c.CommandId, c.Comment, c.Parameters])).toContainEqual([sent.Command!.CommandId, 'kept', { commands: ['echo visible-forever'] }]);
    await expect(h.ssm.send(new ListCommandsCommand({ CommandId: '00000000-0000-0000-0000-000000000000' }))).rejects.toMatchObject({ name: 'InvalidCommandId' });
  });

  it('holds GetParameter to about 40 a second, and a host\'s aws with adaptive retries still reads through a burst of 60', async () => {
    const name = '/jenkins-fleet/bank-ci/agents/burst/secret';
    await h.ssm.send(new PutParameterCommand({ Name: name, Value: 'v', Type: 'SecureString' }));
    await new Promise((r) => setTimeout(r, 1100)); // a full bucket
    const answers = await Promise.all(Array.from({ length: 80 }, () => h.ssm.send(new GetParameterCommand({ Name: name })).then(() => 'ok', (e: Error) => e.name)));
    expect(answers.filter((a) => a === 'ok').length).toBeGreaterThanOrEqual(40);
    expect(answers.filter((a) => a === 'ThrottlingException').length).toBeGreaterThan(0);
    expect(answers.every((a) => a === 'ok' || a === 'ThrottlingException')).toBe(true);
    const id = await onlineInstance();
    await new Promise((r) => setTimeout(r, 1100));
    const sent = await h.ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [id], Parameters: { commands: [
      'for n in $(seq 60); do (AWS_RETRY_MODE=adaptive AWS_MAX_ATTEMPTS=10 aws ssm get-parameter --with-decryption --name /jenkins-fleet/bank-ci/agents/burst/secret --query Parameter.Value --output text >/dev/null 2>&1 && echo ok || echo failed) & done; wait',
    ] } }));
    const done = await eventually('burst read', async () => {
      const inv = await h.ssm.send(new GetCommandInvocationCommand({ CommandId: sent.Command!.CommandId!, InstanceId: id })).catch(() => undefined);
      return inv && inv.Status !== 'Pending' && inv.Status !== 'InProgress' ? inv : undefined;
    }, 60_000);
    expect(done.StandardOutputContent!.trim().split('\n').sort()).toEqual(Array(60).fill('ok'));
  });

  it('never lists agents with ssmNeverOnline', async () => {
    h.sandbox.sandbox.faults.ssmNeverOnline = true;
    const out = await h.ec2.send(new RunInstancesCommand({ ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64', MinCount: 1, MaxCount: 1 }));
    await new Promise((r) => setTimeout(r, 600));
    await expect(h.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [out.Instances![0]!.InstanceId!] }] })))
      .rejects.toMatchObject({ name: 'InvalidInstanceId' });
    const all = await h.ssm.send(new DescribeInstanceInformationCommand({}));
    expect(all.InstanceInformationList!.map((i) => i.InstanceId)).not.toContain(out.Instances![0]!.InstanceId);
    h.sandbox.sandbox.faults.ssmNeverOnline = false;
  });
});
