import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  GetConsoleOutputCommand,
  EC2ServiceException,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Ec2Compute } from '../../../provisioner/src/aws/ec2.ts';
import { RemoteError, UserError } from '../../../provisioner/src/errors.ts';
import { Tags } from '../../../provisioner/src/model.ts';
import { CapacityError, LaunchTokenSpent, type LaunchRequest } from '../../../provisioner/src/ports.ts';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
afterAll(() => {
  ec2.restore();
  ssm.restore();
});

function awsError(name: string, message: string, status = 400) {
  return new EC2ServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: status, attempts: 1 } });
}

const request: LaunchRequest = {
  fleet: 'bank-ci',
  pool: 'awsDeploy',
  region: 'us-east-1',
  count: 2,
  subnetId: 'subnet-0aaa1111',
  clientToken: 'bank-ci-awsDeploy-0-3f2a',
  imageId: 'ami-0123456789abcdef0',
  instanceType: 't3.large',
  securityGroupIds: ['sg-0bbb2222'],
  instanceProfile: 'jenkins-agent',
  rootVolumeGiB: 40,
  publicIp: false,
};

function taggedInstance(id: string, extraTags: { Key: string; Value: string }[] = []) {
  return {
    InstanceId: id,
    State: { Name: 'running' as const, Code: 16 },
    SubnetId: 'subnet-0aaa1111',
    PrivateIpAddress: '10.0.1.17',
    LaunchTime: new Date('2026-11-27T05:00:00Z'),
    Tags: [
      { Key: Tags.fleet, Value: 'bank-ci' },
      { Key: Tags.pool, Value: 'awsDeploy' },
      { Key: Tags.launch, Value: 'tok-1' },
      ...extraTags,
    ],
  };
}

function runInput(): RunInstancesCommandInput {
  const calls = ec2.commandCalls(RunInstancesCommand);
  expect(calls).toHaveLength(1);
  return calls[0]!.args[0].input;
}

beforeEach(() => {
  // Messages name AWS's own endpoints only when no stand-in is configured.
  for (const name of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_EC2', 'AWS_ENDPOINT_URL_SSM']) vi.stubEnv(name, '');
  ec2.reset();
  ssm.reset();
  ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: request.imageId, RootDeviceName: '/dev/xvda' }] });
});

describe('Ec2Compute.listInstances', () => {
  it('filters by the fleet tag and follows NextToken through every page', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [taggedInstance('i-0000000000000001')] }], NextToken: 'page-2' })
      .resolvesOnce({
        Reservations: [
          { Instances: [taggedInstance('i-0000000000000002', [{ Key: Tags.bootstrapped, Value: '1795000000000' }])] },
          { Instances: [{ ...taggedInstance('i-0000000000000003'), State: { Name: 'terminated' } }] },
        ],
      });
    const instances = await new Ec2Compute('us-east-1').listInstances('bank-ci');

    const calls = ec2.commandCalls(DescribeInstancesCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.args[0].input).toEqual({
      Filters: [{ Name: 'tag:jenkins-fleet:fleet', Values: ['bank-ci'] }],
      MaxResults: 1000,
      NextToken: undefined,
    });
    expect(calls[1]!.args[0].input.NextToken).toBe('page-2');
    expect(instances.map((i) => [i.id, i.state])).toEqual([
      ['i-0000000000000001', 'running'],
      ['i-0000000000000002', 'running'],
      ['i-0000000000000003', 'terminated'],
    ]);
    expect(instances[0]).toEqual({
      id: 'i-0000000000000001',
      pool: 'awsDeploy',
      region: 'us-east-1',
      state: 'running',
      subnetId: 'subnet-0aaa1111',
      privateIp: '10.0.1.17',
      launchedAt: Date.parse('2026-11-27T05:00:00Z'),
      launchToken: 'tok-1',
      // Nothing says how it was launched: the planner compares nothing of it.
      launched: {},
      market: 'on-demand',
    });
    expect(instances[0]!.bootstrappedAt).toBeUndefined();
    expect(instances[1]!.bootstrappedAt).toBe(1795000000000);
  });

  it("reads watch's record of idleness: a time, busy, or nothing for a value it did not write", async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            taggedInstance('i-0000000000000001', [{ Key: Tags.idleSince, Value: '1795000000000' }]),
            taggedInstance('i-0000000000000002', [{ Key: Tags.idleSince, Value: 'busy' }]),
            taggedInstance('i-0000000000000003', [{ Key: Tags.idleSince, Value: 'yesterday' }]),
            taggedInstance('i-0000000000000004'),
          ],
        },
      ],
    });
    const instances = await new Ec2Compute('us-east-1').listInstances('bank-ci');
    expect(instances.map((i) => i.idleMark)).toEqual([1795000000000, 'busy', undefined, undefined]);
  });

  it('names the endpoint and what EC2 said when the call fails', async () => {
    ec2.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403));
    const error = await new Ec2Compute('us-east-1').listInstances('bank-ci').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).message).toBe(
      'listing the instances of fleet bank-ci: EC2 at https://ec2.us-east-1.amazonaws.com answered 403 UnauthorizedOperation: You are not authorized to perform this operation.',
    );
  });
});

describe('Ec2Compute.launch', () => {
  it('tags instance and volume at launch with fleet, pool, managed-by, launch token, Name and the launch settings EC2 does not report', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [] });
    await new Ec2Compute('us-east-1').launch({ ...request, bootstrap: { tools: ['python', 'docker'], remoteFS: '/home/jenkins/agent', digest: '0123456789abcdef' } });
    const input = runInput();
    const expected = [
      { Key: 'Name', Value: 'bank-ci-awsDeploy' },
      { Key: 'jenkins-fleet:fleet', Value: 'bank-ci' },
      { Key: 'jenkins-fleet:pool', Value: 'awsDeploy' },
      { Key: 'jenkins-fleet:managed-by', Value: 'provisioner' },
      { Key: 'jenkins-fleet:launch', Value: request.clientToken },
      { Key: 'jenkins-fleet:root-volume-gib', Value: '40' },
      { Key: 'jenkins-fleet:public-ip', Value: 'false' },
      { Key: 'jenkins-fleet:tools', Value: 'python docker' },
      { Key: 'jenkins-fleet:remote-fs', Value: '/home/jenkins/agent' },
      { Key: 'jenkins-fleet:bootstrap', Value: '0123456789abcdef' },
    ];
    expect(input.TagSpecifications).toEqual([
      { ResourceType: 'instance', Tags: expected },
      { ResourceType: 'volume', Tags: expected },
    ]);
  });

  it('requires IMDSv2 with a hop limit of 1 and passes the ClientToken and counts through', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [] });
    await new Ec2Compute('us-east-1').launch(request);
    const input = runInput();
    expect(input.MetadataOptions).toEqual({ HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' });
    expect(input.ClientToken).toBe('bank-ci-awsDeploy-0-3f2a');
    expect(input.MinCount).toBe(1);
    expect(input.MaxCount).toBe(2);
    expect(input.ImageId).toBe('ami-0123456789abcdef0');
    expect(input.InstanceType).toBe('t3.large');
  });

  it('gives no public IP by default, even in a subnet that maps one on launch', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [] });
    await new Ec2Compute('us-east-1').launch(request);
    const input = runInput();
    expect(input.NetworkInterfaces).toEqual([
      { DeviceIndex: 0, SubnetId: 'subnet-0aaa1111', Groups: ['sg-0bbb2222'], AssociatePublicIpAddress: false, DeleteOnTermination: true },
    ]);
    // Subnet and groups live on the interface only: EC2 rejects them at both levels.
    expect(input.SubnetId).toBeUndefined();
    expect(input.SecurityGroupIds).toBeUndefined();
  });

  it('asks for a public IP when the pool wants one', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [] });
    await new Ec2Compute('us-east-1').launch({ ...request, publicIp: true });
    expect(runInput().NetworkInterfaces?.[0]?.AssociatePublicIpAddress).toBe(true);
  });

  it('sizes an encrypted gp3 root volume on the AMI root device, looking the AMI up once', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [] });
    ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: request.imageId, RootDeviceName: '/dev/sda1' }] });
    const compute = new Ec2Compute('us-east-1');
    await compute.launch(request);
    await compute.launch({ ...request, clientToken: 'another-token' });
    expect(ec2.commandCalls(DescribeImagesCommand)).toHaveLength(1);
    expect(ec2.commandCalls(DescribeImagesCommand)[0]!.args[0].input).toEqual({ ImageIds: ['ami-0123456789abcdef0'] });
    expect(ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input.BlockDeviceMappings).toEqual([
      { DeviceName: '/dev/sda1', Ebs: { VolumeSize: 40, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } },
    ]);
  });

  it('names the instance profile by name, or by ARN when given one', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [] });
    const compute = new Ec2Compute('us-east-1');
    await compute.launch(request);
    await compute.launch({ ...request, instanceProfile: 'arn:aws:iam::123456789012:instance-profile/jenkins-agent' });
    const inputs = ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.IamInstanceProfile);
    expect(inputs).toEqual([{ Name: 'jenkins-agent' }, { Arn: 'arn:aws:iam::123456789012:instance-profile/jenkins-agent' }]);
  });

  it('returns the launched instances from the RunInstances answer without describing them', async () => {
    ec2.on(RunInstancesCommand).resolves({
      Instances: [
        { InstanceId: 'i-0aaaaaaaaaaaaaaa1', State: { Name: 'pending' }, SubnetId: 'subnet-0aaa1111', PrivateIpAddress: '10.0.1.5', LaunchTime: new Date(1_000) },
        { InstanceId: 'i-0aaaaaaaaaaaaaaa2', State: { Name: 'pending' }, LaunchTime: new Date(1_000) },
      ],
    });
    ec2.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound', "The instance ID 'i-0aaaaaaaaaaaaaaa1' does not exist"));
    const launched = await new Ec2Compute('us-east-1').launch(request);
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    // How they were launched is what was asked: the answer may not say it yet.
    const asked = { instanceType: 't3.large', imageId: 'ami-0123456789abcdef0', securityGroups: ['sg-0bbb2222'], rootVolumeGiB: 40, publicIp: false };
    expect(launched).toEqual([
      { id: 'i-0aaaaaaaaaaaaaaa1', pool: 'awsDeploy', region: 'us-east-1', state: 'pending', subnetId: 'subnet-0aaa1111', privateIp: '10.0.1.5', launchedAt: 1_000, launchToken: request.clientToken, instanceType: 't3.large', market: 'on-demand', launched: asked },
      { id: 'i-0aaaaaaaaaaaaaaa2', pool: 'awsDeploy', region: 'us-east-1', state: 'pending', subnetId: 'subnet-0aaa1111', launchedAt: 1_000, launchToken: request.clientToken, instanceType: 't3.large', market: 'on-demand', launched: asked },
    ]);
  });

  it('reads how an instance was launched from what EC2 reports and the launch tags', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              ...taggedInstance('i-0000000000000001', [
                { Key: Tags.rootVolume, Value: '64' },
                { Key: Tags.publicIp, Value: 'true' },
                { Key: Tags.tools, Value: 'python docker' },
                { Key: Tags.remoteFS, Value: '/srv/agent' },
                { Key: Tags.bootstrap, Value: 'fedcba9876543210' },
              ]),
              InstanceType: 'm5.xlarge',
              ImageId: 'ami-0fedcba9876543210',
              SecurityGroups: [{ GroupId: 'sg-0bbb2222', GroupName: 'agents' }],
              IamInstanceProfile: { Arn: 'arn:aws:iam::123456789012:instance-profile/jenkins-agent', Id: 'AIPA1' },
            },
          ],
        },
      ],
    });
    const [instance] = await new Ec2Compute('us-east-1').listInstances('bank-ci');
    expect(instance!.launched).toEqual({
      instanceType: 'm5.xlarge',
      imageId: 'ami-0fedcba9876543210',
      securityGroups: ['sg-0bbb2222'],
      instanceProfileArn: 'arn:aws:iam::123456789012:instance-profile/jenkins-agent',
      rootVolumeGiB: 64,
      publicIp: true,
      tools: ['python', 'docker'],
      remoteFS: '/srv/agent',
      bootstrap: 'fedcba9876543210',
    });
  });

  it('turns InsufficientInstanceCapacity into a CapacityError naming the subnet', async () => {
    ec2.on(RunInstancesCommand).rejects(
      awsError('InsufficientInstanceCapacity', 'We currently do not have sufficient t3.large capacity in the Availability Zone you requested (us-east-1a).', 500),
    );
    const error = await new Ec2Compute('us-east-1').launch(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CapacityError);
    expect((error as CapacityError).subnetId).toBe('subnet-0aaa1111');
    expect((error as CapacityError).message).toContain('t3.large capacity');
  });

  for (const [code, message, says] of [
    ['Unsupported', 'Your requested instance type (t3.medium) is not supported in your requested Availability Zone (us-east-1e).', 'not offered in its zone'],
    ['InsufficientFreeAddressesInSubnet', 'Insufficient free IP addresses in subnet: subnet-0aaa1111', 'no free address left'],
  ] as const) {
    it(`turns ${code} into a CapacityError too: another subnet may take the launch`, async () => {
      ec2.on(RunInstancesCommand).rejects(awsError(code, message));
      const error = await new Ec2Compute('us-east-1').launch(request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CapacityError);
      expect((error as CapacityError).message).toContain(says);
      expect((error as CapacityError).message).toContain(code);
    });
  }

  it('leaves a vCPU quota a remote failure: no other subnet has more of it', async () => {
    ec2.on(RunInstancesCommand).rejects(awsError('VcpuLimitExceeded', 'You have requested more vCPU capacity than your current vCPU limit of 8 allows for the instance bucket that the specified instance type belongs to.'));
    const error = await new Ec2Compute('us-east-1').launch(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as Error).message).toContain('VcpuLimitExceeded');
  });

  for (const [code, message] of [
    ['IdempotentParameterMismatch', 'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).'],
    ['IdempotentInstanceTerminated', 'The client token you have provided is associated with a resource that is already deleted. Please use a different client token.'],
  ] as const) {
    it(`reports ${code} as a spent launch token, for the executor to walk past`, async () => {
      ec2.on(RunInstancesCommand).rejects(awsError(code, message));
      const error = await new Ec2Compute('us-east-1').launch(request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LaunchTokenSpent);
      expect((error as LaunchTokenSpent).code).toBe(code);
      expect((error as LaunchTokenSpent).clientToken).toBe(request.clientToken);
      expect((error as Error).message).toContain('launch token bank-ci-awsDeploy-0-3f2a is spent');
    });
  }

  it('refuses a request the executor built wrong before calling EC2', async () => {
    await expect(new Ec2Compute('us-east-1').launch({ ...request, count: 0 })).rejects.toThrow('launch count: expected a whole number >= 1, found 0');
    await expect(new Ec2Compute('us-east-1').launch({ ...request, clientToken: 'x'.repeat(65) })).rejects.toThrow('launch clientToken');
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });

  it('says so when the AMI does not exist in the region', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    await expect(new Ec2Compute('eu-west-1').launch(request)).rejects.toThrow(
      'reading the root device of image ami-0123456789abcdef0: EC2 at https://ec2.eu-west-1.amazonaws.com failed: no such image ami-0123456789abcdef0 in eu-west-1',
    );
  });
});

describe('Ec2Compute.terminate and markBootstrapped', () => {
  it('terminates in batches of at most 500 ids', async () => {
    ec2.on(TerminateInstancesCommand).resolves({});
    const ids = Array.from({ length: 1001 }, (_, n) => `i-${n.toString(16).padStart(17, '0')}`);
    await new Ec2Compute('us-east-1').terminate(ids);
    const sizes = ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds?.length);
    expect(sizes).toEqual([500, 500, 1]);
  });

  it('drops ids EC2 no longer knows and terminates the others', async () => {
    ec2
      .on(TerminateInstancesCommand)
      .rejectsOnce(awsError('InvalidInstanceID.NotFound', "The instance IDs 'i-0000000000000002, i-0000000000000003' do not exist"))
      .resolves({});
    await new Ec2Compute('us-east-1').terminate(['i-0000000000000001', 'i-0000000000000002', 'i-0000000000000003']);
    const batches = ec2.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds);
    expect(batches).toEqual([['i-0000000000000001', 'i-0000000000000002', 'i-0000000000000003'], ['i-0000000000000001']]);
  });

  it('fails with the ids it could not terminate', async () => {
    ec2.on(TerminateInstancesCommand).rejects(awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403));
    await expect(new Ec2Compute('us-east-1').terminate(['i-0000000000000001'])).rejects.toThrow(
      'terminating i-0000000000000001: EC2 at https://ec2.us-east-1.amazonaws.com answered 403 UnauthorizedOperation',
    );
  });

  it('records the bootstrap time as a tag', async () => {
    ec2.on(CreateTagsCommand).resolves({});
    await new Ec2Compute('us-east-1').markBootstrapped(['i-0000000000000001', 'i-0000000000000002'], 1795000000000);
    expect(ec2.commandCalls(CreateTagsCommand)[0]!.args[0].input).toEqual({
      Resources: ['i-0000000000000001', 'i-0000000000000002'],
      Tags: [{ Key: 'jenkins-fleet:bootstrapped', Value: '1795000000000' }],
    });
  });
});

describe('Ec2Compute.markIdle', () => {
  it("records watch's idleness as one tag, a time or busy, in batches of at most 500 ids", async () => {
    ec2.on(CreateTagsCommand).resolves({});
    const ids = Array.from({ length: 501 }, (_, n) => `i-${n.toString(16).padStart(17, '0')}`);
    await new Ec2Compute('us-east-1').markIdle(ids, 1795000000000);
    await new Ec2Compute('us-east-1').markIdle(['i-0000000000000001'], 'busy');
    const calls = ec2.commandCalls(CreateTagsCommand).map((c) => [c.args[0].input.Resources?.length, c.args[0].input.Tags]);
    expect(calls).toEqual([
      [500, [{ Key: 'jenkins-fleet:idle-since', Value: '1795000000000' }]],
      [1, [{ Key: 'jenkins-fleet:idle-since', Value: '1795000000000' }]],
      [1, [{ Key: 'jenkins-fleet:idle-since', Value: 'busy' }]],
    ]);
  });
});

describe('Ec2Compute.resolveImage', () => {
  it('returns an AMI id as it is without calling anything', async () => {
    await expect(new Ec2Compute('us-east-1').resolveImage('ami-0123456789abcdef0')).resolves.toBe('ami-0123456789abcdef0');
    expect(ssm.calls()).toHaveLength(0);
  });

  it('reads resolve:ssm: parameters once per name', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/aws/service/x', Value: 'ami-0fedcba9876543210' } });
    const compute = new Ec2Compute('us-east-1');
    const image = 'resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id';
    await expect(compute.resolveImage(image)).resolves.toBe('ami-0fedcba9876543210');
    await expect(compute.resolveImage(image)).resolves.toBe('ami-0fedcba9876543210');
    const calls = ssm.commandCalls(GetParameterCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({ Name: '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id' });
  });

  it('rejects anything that is neither an AMI id nor resolve:ssm:', async () => {
    const error = await new Ec2Compute('us-east-1').resolveImage('ubuntu-latest').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe('image: expected an AMI id (ami-...) or resolve:ssm:PARAMETER, found "ubuntu-latest"');
  });

  it('fails clearly when the parameter does not hold an AMI id', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/x', Value: 'not-an-ami' } });
    await expect(new Ec2Compute('us-east-1').resolveImage('resolve:ssm:/x')).rejects.toThrow(
      'resolving the image parameter /x: SSM at https://ssm.us-east-1.amazonaws.com failed: the parameter holds "not-an-ami", not an AMI id',
    );
  });
});

describe('Ec2Compute.consoleOutput', () => {
  beforeEach(() => ec2.reset());

  it('decodes what the instance printed, and says nothing while it printed nothing', async () => {
    const printed = '-----BEGIN SSH HOST KEY KEYS-----\nssh-ed25519 AAAAC3Nza root@ip-10-0-0-5\n-----END SSH HOST KEY KEYS-----\n';
    ec2.on(GetConsoleOutputCommand, { InstanceId: 'i-0123456789abcdef0' }).resolves({ Output: Buffer.from(printed).toString('base64') });
    ec2.on(GetConsoleOutputCommand, { InstanceId: 'i-0fffffffffffffff0' }).resolves({});
    const compute = new Ec2Compute('us-east-1');
    expect(await compute.consoleOutput('i-0123456789abcdef0')).toBe(printed);
    expect(await compute.consoleOutput('i-0fffffffffffffff0')).toBeUndefined();
    // The latest output, not what was buffered at the last state change (no keys in the first minutes).
    expect(ec2.commandCalls(GetConsoleOutputCommand).map((c) => c.args[0].input)).toEqual([
      { InstanceId: 'i-0123456789abcdef0', Latest: true },
      { InstanceId: 'i-0fffffffffffffff0', Latest: true },
    ]);
  });

  it('names the instance and the endpoint when EC2 refuses', async () => {
    ec2.on(GetConsoleOutputCommand).rejects(awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403));
    await expect(new Ec2Compute('us-east-1').consoleOutput('i-0123456789abcdef0')).rejects.toThrow(
      /reading the console output of i-0123456789abcdef0: EC2 at .* UnauthorizedOperation/,
    );
  });
});
