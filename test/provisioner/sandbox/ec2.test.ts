// The EC2 stand-in, exercised only through the real @aws-sdk/client-ec2.
import { fingerprint, hostKeysFromConsole } from '../../../provisioner/src/transport/ssh-host-keys.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTagsCommand, DeleteTagsCommand, DescribeInstancesCommand, GetConsoleOutputCommand, paginateDescribeInstances, RunInstancesCommand, TerminateInstancesCommand, EC2Client, type RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { eventually, startHarness, type Harness } from '../../support/sandbox.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness((o) => { o.faults.noCapacitySubnets = ['subnet-0eeeeeeeeeeeeeee0']; }); });
afterAll(async () => h.stop());

const tags = (pool: string) => [
  { Key: 'jenkins-fleet:fleet', Value: 'bank-ci' },
  { Key: 'jenkins-fleet:pool', Value: pool },
  { Key: 'Name', Value: `bank-ci-${pool}-0` },
];

function launch(extra: Partial<RunInstancesCommandInput> = {}): RunInstancesCommandInput {
  return {
    ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
    InstanceType: 't3.medium',
    MinCount: 1,
    MaxCount: 1,
    SubnetId: 'subnet-0aaaaaaaaaaaaaaa1',
    SecurityGroupIds: ['sg-0bbbbbbbbbbbbbbb1'],
    IamInstanceProfile: { Name: 'jenkins-agent' },
    MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
    TagSpecifications: [{ ResourceType: 'instance', Tags: tags('awsDeploy') }, { ResourceType: 'volume', Tags: tags('awsDeploy') }],
    ...extra,
  };
}

describe('EC2 stand-in through the real SDK client', () => {
  it('launches tagged instances that go from pending to running', async () => {
    const out = await h.ec2.send(new RunInstancesCommand(launch({ ClientToken: 'bank-ci/awsDeploy/0' })));
    const instance = out.Instances![0]!;
    expect(out.ReservationId).toMatch(/^r-[0-9a-f]{17}$/);
    expect(instance.InstanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(instance.State).toEqual({ Code: 0, Name: 'pending' });
    expect(instance.MetadataOptions?.HttpTokens).toBe('required');
    expect(instance.IamInstanceProfile?.Arn).toBe('arn:aws:iam::123456789012:instance-profile/jenkins-agent');
    expect(instance.PublicIpAddress).toBeUndefined();
    expect(instance.Tags).toEqual(expect.arrayContaining(tags('awsDeploy')));
    const running = await eventually('running', async () => {
      const d = await h.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instance.InstanceId!] }));
      const i = d.Reservations![0]!.Instances![0]!;
      return i.State?.Name === 'running' ? i : undefined;
    });
    expect(running.PrivateIpAddress).toMatch(/^10\./);
    expect(running.SubnetId).toBe('subnet-0aaaaaaaaaaaaaaa1');
    expect(running.LaunchTime).toBeInstanceOf(Date);
    expect(running.BlockDeviceMappings?.[0]?.Ebs?.VolumeId).toMatch(/^vol-/);
  });

  it('returns the same instance for a repeated ClientToken and refuses it with other parameters', async () => {
    const first = await h.ec2.send(new RunInstancesCommand(launch({ ClientToken: 'bank-ci/awsDeploy/1' })));
    const again = await h.ec2.send(new RunInstancesCommand(launch({ ClientToken: 'bank-ci/awsDeploy/1' })));
    expect(again.Instances!.map((i) => i.InstanceId)).toEqual(first.Instances!.map((i) => i.InstanceId));
    await expect(h.ec2.send(new RunInstancesCommand(launch({ ClientToken: 'bank-ci/awsDeploy/1', InstanceType: 'm5.large' }))))
      .rejects.toMatchObject({ name: 'IdempotentParameterMismatch', $metadata: { httpStatusCode: 400 } });
  });

  it('keeps a ClientToken after its instances are gone: IdempotentInstanceTerminated, or the mismatch for other parameters', async () => {
    const first = await h.ec2.send(new RunInstancesCommand(launch({ ClientToken: 'bank-ci/awsDeploy/spent' })));
    await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [first.Instances![0]!.InstanceId!] }));
    // Past the linger too: the instance is no longer listed, the token is still bound.
    await new Promise((r) => setTimeout(r, h.sandbox.sandbox.timing.lingerMs + 100));
    await expect(h.ec2.send(new RunInstancesCommand(launch({ ClientToken: 'bank-ci/awsDeploy/spent' }))))
      .rejects.toMatchObject({ name: 'IdempotentInstanceTerminated', $metadata: { httpStatusCode: 400 } });
    await expect(h.ec2.send(new RunInstancesCommand(launch({ ClientToken: 'bank-ci/awsDeploy/spent', InstanceType: 'm5.large' }))))
      .rejects.toMatchObject({ name: 'IdempotentParameterMismatch' });
    expect(h.sandbox.sandbox.store.world.launches.some((l) => l.clientToken === 'bank-ci/awsDeploy/spent')).toBe(true);
  });

  it('hides a new instance from TerminateInstances and CreateTags too while the consistency lag lasts', async () => {
    h.sandbox.sandbox.faults.consistencyLagMs = 400;
    try {
      const out = await h.ec2.send(new RunInstancesCommand(launch({})));
      const id = out.Instances![0]!.InstanceId!;
      await expect(h.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'k', Value: 'v' }] }))).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });
      await expect(h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }))).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });
      await new Promise((r) => setTimeout(r, 450));
      await h.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'k', Value: 'v' }] }));
      await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    } finally {
      h.sandbox.sandbox.faults.consistencyLagMs = 0;
    }
  });

  it('answers GetConsoleOutput: without Latest only what was buffered at the last state change, with Latest the host keys cloud-init printed', async () => {
    const out = await h.ec2.send(new RunInstancesCommand(launch({})));
    const id = out.Instances![0]!.InstanceId!;
    const { bootMs, ssmOnlineMs } = h.sandbox.sandbox.timing;
    await new Promise((r) => setTimeout(r, bootMs + ssmOnlineMs + 100));
    const buffered = await h.ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
    const bufferedText = Buffer.from(buffered.Output ?? '', 'base64').toString('utf8');
    expect(bufferedText).toContain('Cloud-init');
    expect(bufferedText).not.toContain('SSH HOST KEY');
    const latest = await h.ec2.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true }));
    const text = Buffer.from(latest.Output!, 'base64').toString('utf8');
    const keys = hostKeysFromConsole(text, id);
    expect(keys.keys).toHaveLength(1);
    expect(keys.fingerprints).toEqual([fingerprint(keys.keys[0]!)]);
    // The key is the instance's own: the same on every read.
    const again = hostKeysFromConsole(Buffer.from((await h.ec2.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true }))).Output!, 'base64').toString('utf8'), id);
    expect(again.fingerprints).toEqual(keys.fingerprints);
  });

  it('filters by tag and state and pages with MaxResults/NextToken', async () => {
    await h.ec2.send(new RunInstancesCommand(launch({ MinCount: 7, MaxCount: 7, TagSpecifications: [{ ResourceType: 'instance', Tags: tags('paged') }] })));
    const filters = [{ Name: 'tag:jenkins-fleet:pool', Values: ['paged'] }, { Name: 'instance-state-name', Values: ['pending', 'running'] }];
    const pages = [];
    for await (const page of paginateDescribeInstances({ client: h.ec2, pageSize: 5 }, { Filters: filters })) pages.push(page);
    expect(pages).toHaveLength(2);
    const ids = pages.flatMap((p) => p.Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId)));
    expect(new Set(ids).size).toBe(7);
    const none = await h.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:jenkins-fleet:pool', Values: ['nope'] }] }));
    expect(none.Reservations).toEqual([]);
  });

  it('answers unknown ids, bad filters and bad combinations with EC2 error codes', async () => {
    await expect(h.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] }))).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    await expect(h.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'], MaxResults: 5 }))).rejects.toMatchObject({ name: 'InvalidParameterCombination' });
    await expect(h.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] }))).rejects.toMatchObject({ name: 'InvalidParameterValue', message: "The filter 'colour' is invalid" });
    await expect(h.ec2.send(new RunInstancesCommand(launch({ ImageId: 'ubuntu' })))).rejects.toMatchObject({ name: 'InvalidAMIID.Malformed' });
    await expect(h.ec2.send(new RunInstancesCommand(launch({ MinCount: 3, MaxCount: 2 })))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('fails a launch in an exhausted subnet with InsufficientInstanceCapacity (HTTP 500)', async () => {
    await expect(h.ec2.send(new RunInstancesCommand(launch({ SubnetId: 'subnet-0eeeeeeeeeeeeeee0' }))))
      .rejects.toMatchObject({ name: 'InsufficientInstanceCapacity', $metadata: { httpStatusCode: 500 } });
  });

  it('resolves an ImageId of resolve:ssm: through the public parameters', async () => {
    const out = await h.ec2.send(new RunInstancesCommand(launch({ ImageId: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' })));
    expect(out.Instances![0]!.ImageId).toMatch(/^ami-[0-9a-f]{17}$/);
  });

  it('tags existing instances and terminates them; terminated ones linger, then vanish', async () => {
    const out = await h.ec2.send(new RunInstancesCommand(launch()));
    const id = out.Instances![0]!.InstanceId!;
    await h.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'jenkins-fleet:generation', Value: '2' }] }));
    const term = await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(term.TerminatingInstances![0]).toMatchObject({ InstanceId: id, CurrentState: { Name: 'shutting-down', Code: 32 } });
    const gone = await eventually('terminated', async () => {
      const d = await h.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [id] }] }));
      const i = d.Reservations?.[0]?.Instances?.[0];
      return i?.State?.Name === 'terminated' ? i : undefined;
    });
    expect(gone.Tags).toContainEqual({ Key: 'jenkins-fleet:generation', Value: '2' });
    expect(gone.StateReason?.Code).toBe('Client.UserInitiatedShutdown');
    // Terminating a terminated instance, while it is still listed, succeeds and changes nothing.
    const again = await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(again.TerminatingInstances![0]).toMatchObject({ InstanceId: id, CurrentState: { Name: 'terminated', Code: 48 }, PreviousState: { Name: 'terminated', Code: 48 } });
    await eventually('vanished', async () => {
      const d = await h.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [id] }] }));
      return d.Reservations!.length === 0;
    });
    await expect(h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }))).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    await expect(h.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'k', Value: 'v' }] }))).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    // At most 1000 ids a call, for TerminateInstances and CreateTags alike (the SDK model's constraint).
    const ids = Array.from({ length: 1001 }, (_, n) => `i-${n.toString(16).padStart(17, '0')}`);
    await expect(h.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(h.ec2.send(new CreateTagsCommand({ Resources: ids, Tags: [{ Key: 'k', Value: 'v' }] }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('keeps each resource at 50 tags and deletes tags by value as DeleteTags does', async () => {
    const out = await h.ec2.send(new RunInstancesCommand(launch()));
    const id = out.Instances![0]!.InstanceId!;
    const volume = out.Instances![0]!.BlockDeviceMappings?.[0]?.Ebs?.VolumeId;
    const many = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ Key: `k${from + i}`, Value: 'v' }));
    // Three at launch (tags()), 47 more make 50; one more would make 51.
    await h.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: many(47) }));
    await expect(h.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: many(1, 47) }))).rejects.toMatchObject({ name: 'TagLimitExceeded' });
    // Replacing a value adds no tag; a failed call writes nothing, on any of its resources.
    await h.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'k0', Value: 'changed' }] }));
    if (volume) await expect(h.ec2.send(new CreateTagsCommand({ Resources: [volume, id], Tags: many(1, 90) }))).rejects.toMatchObject({ name: 'TagLimitExceeded' });
    const describe = async () => (await h.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!.Tags ?? [];
    expect(await describe()).toHaveLength(50);
    expect(await describe()).toContainEqual({ Key: 'k0', Value: 'changed' });
    await expect(h.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'x'.repeat(128), Value: '' }] }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    // A value deletes only a tag of that value; a key alone whatever its value.
    await h.ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'k0', Value: 'v' }, { Key: 'k1', Value: '' }] }));
    expect((await describe()).filter((t) => t.Key === 'k0' || t.Key === 'k1').sort((a, b) => a.Key!.localeCompare(b.Key!))).toEqual([{ Key: 'k0', Value: 'changed' }, { Key: 'k1', Value: 'v' }]);
    await h.ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'k0' }, { Key: 'k1', Value: 'v' }] }));
    expect((await describe()).filter((t) => t.Key === 'k0' || t.Key === 'k1')).toEqual([]);
    // No Tag at all: every tag the account set goes.
    await h.ec2.send(new DeleteTagsCommand({ Resources: [id] }));
    expect(await describe()).toEqual([]);
  });

  it('hides new instances from reads for the consistency lag, as EC2 may', async () => {
    h.sandbox.sandbox.faults.consistencyLagMs = 400;
    const id = (await h.ec2.send(new RunInstancesCommand(launch()))).Instances![0]!.InstanceId!;
    await expect(h.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    const listed = await h.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [id] }] }));
    expect(listed.Reservations).toEqual([]);
    await eventually('visible', async () => (await h.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [id] }] }))).Reservations!.length === 1);
    h.sandbox.sandbox.faults.consistencyLagMs = 0;
  });

  it('refuses requests signed for another region', async () => {
    const other = new EC2Client({ region: 'eu-west-1', endpoint: h.sandbox.env.AWS_ENDPOINT_URL_EC2, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
    await expect(other.send(new DescribeInstancesCommand({}))).rejects.toMatchObject({ name: 'AuthFailure', $metadata: { httpStatusCode: 401 } });
    other.destroy();
  });

  it('throttles with RequestLimitExceeded (503), which the SDK retries', async () => {
    h.sandbox.sandbox.faults.ec2.throttleRate = 1;
    await expect(h.ec2.send(new DescribeInstancesCommand({}))).rejects.toMatchObject({ name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } });
    h.sandbox.sandbox.faults.ec2.throttleRate = 0.3;
    const retrying = new EC2Client({ region: 'us-east-1', endpoint: h.sandbox.env.AWS_ENDPOINT_URL_EC2, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 10, retryMode: 'adaptive' });
    for (let n = 0; n < 3; n++) await retrying.send(new DescribeInstancesCommand({}));
    retrying.destroy();
    h.sandbox.sandbox.faults.ec2.throttleRate = 0;
  });
});
