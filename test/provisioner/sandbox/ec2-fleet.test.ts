// The EC2 stand-in's launch templates and CreateFleet (type instant), only through the real
// @aws-sdk/client-ec2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateFleetCommand,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  CreateTagsCommand,
  DeleteLaunchTemplateCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  TerminateInstancesCommand,
  type CreateFleetCommandInput,
} from '@aws-sdk/client-ec2';
import { Ec2Compute } from '../../../provisioner/src/aws/ec2.ts';
import { startHarness, type Harness } from '../../support/sandbox.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => h.stop());

const subnets = ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'];
const image = 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';

async function template(name: string): Promise<string> {
  const out = await h.ec2.send(new CreateLaunchTemplateCommand({
    LaunchTemplateName: name,
    LaunchTemplateData: {
      ImageId: image,
      IamInstanceProfile: { Name: 'jenkins-agent' },
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
      NetworkInterfaces: [{ DeviceIndex: 0, Groups: ['sg-0bbbbbbbbbbbbbbb1'], AssociatePublicIpAddress: false, DeleteOnTermination: true }],
    },
    TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'jenkins-fleet:fleet', Value: 'bank-ci' }] }],
  }));
  return out.LaunchTemplate!.LaunchTemplateId!;
}

function fleet(templateId: string, count: number, extra: Partial<CreateFleetCommandInput> = {}): CreateFleetCommandInput {
  return {
    Type: 'instant',
    SpotOptions: { AllocationStrategy: 'price-capacity-optimized' },
    TargetCapacitySpecification: { TotalTargetCapacity: count, SpotTargetCapacity: count, DefaultTargetCapacityType: 'spot' },
    LaunchTemplateConfigs: [{
      LaunchTemplateSpecification: { LaunchTemplateId: templateId, Version: '1' },
      Overrides: (['m5.large', 'c5.large'] as const).flatMap((InstanceType) => subnets.map((SubnetId) => ({ InstanceType, SubnetId }))),
    }],
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'jenkins-fleet:fleet', Value: 'bank-ci' }, { Key: 'jenkins-fleet:pool', Value: 'spot' }] }],
    ...extra,
  };
}

async function describe1(ids: string[]) {
  const out = await h.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
  return out.Reservations!.flatMap((r) => r.Instances!);
}

describe('launch templates through the real SDK client', () => {
  it('creates a template, refuses its name twice, adds versions idempotently by ClientToken and deletes it', async () => {
    const id = await template('jf-bank-ci-versions');
    expect(id).toMatch(/^lt-[0-9a-f]{17}$/);
    await expect(h.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'jf-bank-ci-versions', LaunchTemplateData: { ImageId: image } })))
      .rejects.toMatchObject({ name: 'InvalidLaunchTemplateName.AlreadyExistsException' });
    const v2 = await h.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, ClientToken: 'v2', LaunchTemplateData: { ImageId: image, InstanceType: 'm5.large' } }));
    expect(v2.LaunchTemplateVersion).toMatchObject({ LaunchTemplateId: id, VersionNumber: 2, DefaultVersion: false });
    const again = await h.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, ClientToken: 'v2', LaunchTemplateData: { ImageId: image, InstanceType: 'm5.large' } }));
    expect(again.LaunchTemplateVersion?.VersionNumber).toBe(2);
    await expect(h.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: id, ClientToken: 'v2', LaunchTemplateData: { ImageId: image, InstanceType: 'c5.large' } })))
      .rejects.toMatchObject({ name: 'IdempotentParameterMismatch' });
    const listed = await h.ec2.send(new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'launch-template-name', Values: ['jf-bank-ci-versions'] }] }));
    expect(listed.LaunchTemplates).toEqual([expect.objectContaining({ LaunchTemplateId: id, DefaultVersionNumber: 1, LatestVersionNumber: 2, Tags: [{ Key: 'jenkins-fleet:fleet', Value: 'bank-ci' }] })]);
    const deleted = await h.ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateName: 'jf-bank-ci-versions' }));
    expect(deleted.LaunchTemplate?.LaunchTemplateId).toBe(id);
    await expect(h.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ['jf-bank-ci-versions'] })))
      .rejects.toMatchObject({ name: 'InvalidLaunchTemplateName.NotFoundException' });
    await expect(h.ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: id }))).rejects.toMatchObject({ name: 'InvalidLaunchTemplateId.NotFound' });
  });

  it('refuses malformed names, missing data, both an id and a name, and tags for other resource types', async () => {
    await expect(h.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'a b', LaunchTemplateData: { ImageId: image } }))).rejects.toMatchObject({ name: 'InvalidLaunchTemplateName.MalformedException' });
    await expect(h.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'jf-empty', LaunchTemplateData: {} }))).rejects.toMatchObject({ name: 'MissingParameter' });
    await expect(h.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'jf-tags', LaunchTemplateData: { ImageId: image }, TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'a', Value: 'b' }] }] })))
      .rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(h.ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: 'lt-0123456789abcdef0', LaunchTemplateName: 'x-y-z' }))).rejects.toMatchObject({ name: 'InvalidParameterCombination' });
  });
});

describe('CreateFleet of type instant through the real SDK client', () => {
  it('launches Spot instances from the template, tagged at launch, and replays its ClientToken', async () => {
    const id = await template('jf-bank-ci-spot');
    const out = await h.ec2.send(new CreateFleetCommand(fleet(id, 3, { ClientToken: 'fleet-1' })));
    expect(out.FleetId).toMatch(/^fleet-[0-9a-f-]{36}$/);
    expect(out.Errors ?? []).toEqual([]);
    const ids = out.Instances!.flatMap((i) => i.InstanceIds!);
    expect(ids).toHaveLength(3);
    expect(out.Instances!.every((i) => i.Lifecycle === 'spot')).toBe(true);
    const described = await describe1(ids);
    expect(described.every((i) => i.InstanceLifecycle === 'spot' && i.MetadataOptions?.HttpTokens === 'required')).toBe(true);
    expect(described[0]!.Tags).toEqual(expect.arrayContaining([
      { Key: 'jenkins-fleet:pool', Value: 'spot' },
      { Key: 'aws:ec2launchtemplate:id', Value: id },
      { Key: 'aws:ec2launchtemplate:version', Value: '1' },
      { Key: 'aws:ec2:fleet-id', Value: out.FleetId },
    ]));
    // EC2's own aws: tags do not count against the 50 a resource may carry.
    const own = described[0]!.Tags!.filter((t) => !t.Key!.startsWith('aws:')).length;
    const more = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ Key: `k${from + i}`, Value: 'v' }));
    await h.ec2.send(new CreateTagsCommand({ Resources: [ids[0]!], Tags: more(50 - own, 0) }));
    await expect(h.ec2.send(new CreateTagsCommand({ Resources: [ids[0]!], Tags: more(1, 50) }))).rejects.toMatchObject({ name: 'TagLimitExceeded' });
    const again = await h.ec2.send(new CreateFleetCommand(fleet(id, 3, { ClientToken: 'fleet-1' })));
    expect(again.FleetId).toBe(out.FleetId);
    expect(again.Instances!.flatMap((i) => i.InstanceIds!)).toEqual(ids);
    await expect(h.ec2.send(new CreateFleetCommand(fleet(id, 2, { ClientToken: 'fleet-1' })))).rejects.toMatchObject({ name: 'IdempotentParameterMismatch' });
    await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    await expect(h.ec2.send(new CreateFleetCommand(fleet(id, 3, { ClientToken: 'fleet-1' })))).rejects.toMatchObject({ name: 'IdempotentInstanceTerminated' });
  });

  it('moves to the other types when one type has no Spot capacity, and reports per override what it could not launch', async () => {
    const id = await template('jf-bank-ci-ice');
    h.sandbox.sandbox.faults.spotCapacity = { 'm5.large': 0, 'c5.large': 2 };
    try {
      const out = await h.ec2.send(new CreateFleetCommand(fleet(id, 2)));
      expect(out.Errors ?? []).toEqual([]);
      expect(out.Instances!.every((i) => i.InstanceType === 'c5.large')).toBe(true);
      // Only 2 c5.large fit in each zone; the rest fails without an exception.
      const partial = await h.ec2.send(new CreateFleetCommand(fleet(id, 5)));
      const launched = partial.Instances!.flatMap((i) => i.InstanceIds!);
      expect(launched.length).toBeGreaterThan(0);
      expect(launched.length).toBeLessThan(5);
      expect(partial.Errors!.length).toBeGreaterThan(0);
      expect(partial.Errors!.every((e) => e.ErrorCode === 'InsufficientInstanceCapacity' && e.Lifecycle === 'spot')).toBe(true);
      expect(partial.Errors!.map((e) => e.LaunchTemplateAndOverrides?.Overrides?.InstanceType)).toContain('m5.large');
    } finally {
      h.sandbox.sandbox.faults.spotCapacity = {};
    }
  });

  it('launches On-Demand capacity through the same call', async () => {
    const id = await template('jf-bank-ci-od');
    const out = await h.ec2.send(new CreateFleetCommand(fleet(id, 2, { TargetCapacitySpecification: { TotalTargetCapacity: 2, OnDemandTargetCapacity: 2, DefaultTargetCapacityType: 'on-demand' } })));
    expect(out.Instances!.map((i) => i.Lifecycle)).toEqual(['on-demand']);
    const described = await describe1(out.Instances!.flatMap((i) => i.InstanceIds!));
    expect(described.every((i) => i.InstanceLifecycle === undefined)).toBe(true);
  });

  it('refuses what EC2 refuses: another fleet type, no version, two subnets in one override, more capacity than the total', async () => {
    const id = await template('jf-bank-ci-bad');
    await expect(h.ec2.send(new CreateFleetCommand(fleet(id, 1, { Type: 'maintain' })))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(h.ec2.send(new CreateFleetCommand(fleet(id, 1, { LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: id } }] })))).rejects.toMatchObject({ name: 'MissingParameter' });
    await expect(h.ec2.send(new CreateFleetCommand(fleet(id, 1, { LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: id, Version: '1' }, Overrides: [{ InstanceType: 'm5.large', SubnetId: subnets.join(',') }] }] }))))
      .rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(h.ec2.send(new CreateFleetCommand(fleet(id, 1, { TargetCapacitySpecification: { TotalTargetCapacity: 1, SpotTargetCapacity: 2, DefaultTargetCapacityType: 'spot' } }))))
      .rejects.toMatchObject({ name: 'InvalidTargetCapacitySpecification' });
    await expect(h.ec2.send(new CreateFleetCommand(fleet(id, 1, { LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: id, Version: '9' } }] }))))
      .rejects.toMatchObject({ name: 'InvalidLaunchTemplateId.VersionNotFound' });
    await expect(h.ec2.send(new CreateFleetCommand(fleet('lt-0123456789abcdef0', 1)))).rejects.toMatchObject({ name: 'InvalidLaunchTemplateId.NotFound' });
  });

  it('refuses, naming it, a parameter it does not model rather than launch as if it were not there', async () => {
    const id = await template('jf-bank-ci-unmodelled');
    const refused = async (extra: Partial<CreateFleetCommandInput>, key: string) => {
      const err = await h.ec2.send(new CreateFleetCommand(fleet(id, 1, extra))).then(() => undefined, (e: Error) => e);
      expect(err, key).toMatchObject({ name: 'InvalidParameterValue' });
      expect(err!.message).toContain(key);
    };
    await refused({ LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: id, Version: '1' }, Overrides: [{ InstanceType: 'm5.large', SubnetId: subnets[0], ImageId: 'ami-0123456789abcdef0' }] }] }, 'Overrides.1.ImageId');
    await refused({ LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: id, Version: '1' }, Overrides: [{ InstanceType: 'm5.large', SubnetId: subnets[0], MaxPrice: '0.01' }] }] }, 'Overrides.1.MaxPrice');
    await refused({ ValidUntil: new Date(Date.now() + 3_600_000) }, 'ValidUntil');
    await refused({ SpotOptions: { AllocationStrategy: 'price-capacity-optimized', SingleInstanceType: true } }, 'SpotOptions.SingleInstanceType');
    await refused({ LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: id, Version: '1' }, Overrides: [{ InstanceType: 'm5.large', AvailabilityZoneId: 'use1-az1' }] }] }, 'AvailabilityZoneId');
    expect((await h.ec2.send(new CreateFleetCommand(fleet(id, 1)))).Instances).toHaveLength(1);
  });
});

describe('the EC2 adapter on the stand-in: a pool\'s launch template and its Spot launch', () => {
  it('keeps one template per pool, a version per distinct settings (the same settings, the same version), and deletes it', async () => {
    const compute = new Ec2Compute(h.sandbox.env.AWS_REGION!, { ec2: h.ec2, ssm: h.ssm });
    const imageId = await compute.resolveImage(image);
    const spec = { fleet: 'bank-ci', pool: 'spotty', region: h.sandbox.env.AWS_REGION!, imageId, securityGroupIds: ['sg-0bbbbbbbbbbbbbbb1'], instanceProfile: 'jenkins-agent', rootVolumeGiB: 30, publicIp: false };
    const first = await compute.ensureLaunchTemplate(spec);
    expect(first).toMatchObject({ name: 'jenkins-fleet-bank-ci-spotty' });
    expect(await compute.ensureLaunchTemplate(spec)).toEqual(first);
    const bigger = await compute.ensureLaunchTemplate({ ...spec, rootVolumeGiB: 60 });
    expect(bigger.version).toBe(first.version + 1);
    expect(await compute.ensureLaunchTemplate(spec)).toEqual(first);
    expect(await compute.listLaunchTemplates('bank-ci')).toContainEqual({ id: first.id, name: first.name, pool: 'spotty', region: spec.region });

    const recorded = { rootVolumeGiB: 30, publicIp: false, bootstrap: { tools: ['python'], remoteFS: '/home/jenkins/agent', digest: '0123456789abcdef' } };
    const launched = await compute.launchFleet({ fleet: 'bank-ci', pool: 'spotty', region: spec.region, count: 2, clientToken: 'jf-spotty-1', template: first, market: 'spot', overrides: [{ instanceType: 'm5.large', subnetId: subnets[0]! }], recorded });
    expect(launched.errors).toEqual([]);
    expect(launched.instances.map((i) => [i.instanceType, i.market, i.subnetId, i.state])).toEqual([['m5.large', 'spot', subnets[0], 'pending'], ['m5.large', 'spot', subnets[0], 'pending']]);
    // Recorded as RunInstances records them, so that a later plan can tell what the instance was launched with.
    const listed = (await compute.listInstances('bank-ci')).find((i) => i.id === launched.instances[0]!.id);
    expect(listed?.launched).toMatchObject({ instanceType: 'm5.large', imageId, rootVolumeGiB: 30, publicIp: false, tools: ['python'], remoteFS: '/home/jenkins/agent', bootstrap: '0123456789abcdef' });
    expect(listed?.market).toBe('spot');
    // The template told the adapter whose account this is: the agents' secrets name their instances' ARNs.
    expect(compute.instanceArn(launched.instances[0]!.id)).toBe(`arn:aws:ec2:${spec.region}:${h.sandbox.sandbox.accountId}:instance/${launched.instances[0]!.id}`);

    await compute.deleteLaunchTemplate(first.id);
    await compute.deleteLaunchTemplate(first.id);
    expect(await compute.listLaunchTemplates('bank-ci')).not.toContainEqual(expect.objectContaining({ id: first.id }));
  });
});
