// EC2 for one region, in the provisioner's words: the fleet's instances as observed, launching
// tagged and hardened instances idempotently, terminating, recording bootstrap, and resolving AMIs.
// Owns paging, per-call limits and the mapping of EC2's answers to the domain and to errors.
import { createHash } from 'node:crypto';
import type { EC2Client, Instance as Ec2Instance, RequestLaunchTemplateData, _InstanceType, Tag } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { UserError } from '../errors.ts';
import { Tags, launchTemplateName, managedByValue, type IdleMark, type Instance, type InstanceState, type LaunchRecord, type LaunchTemplate } from '../model.ts';
import {
  CapacityError,
  LaunchTokenSpent,
  type Compute,
  type FleetLaunchRequest,
  type FleetLaunchResult,
  type LaunchRequest,
  type LaunchTemplateSpec,
  type LaunchTemplateVersion,
} from '../ports.ts';
import { awsErrorCode, awsRemoteError, describeFailure, describeIds, ec2Client, inGroupsOf, ssmClient } from './clients.ts';
import { ec2Sdk, ssmSdk } from './sdk.ts';

const {
  CreateFleetCommand,
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  CreateTagsCommand,
  DeleteLaunchTemplateCommand,
  DescribeLaunchTemplatesCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  GetConsoleOutputCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} = ec2Sdk;
const { GetParameterCommand } = ssmSdk;

/** DescribeInstances accepts MaxResults 5..1000 (without InstanceIds). */
const describePageSize = 1000;
/** Kept well under EC2's per-request limits for TerminateInstances and CreateTags resources. */
const idsPerCall = 500;

const ssmImagePrefix = 'resolve:ssm:';

/**
 * RunInstances errors that say "not in this subnet, maybe in another" (EC2 API error codes):
 * the zone has no capacity for the type, does not offer the type at all, or the subnet has no
 * free address left. Quotas (VcpuLimitExceeded, InstanceLimitExceeded) hold in every subnet.
 */
const subnetRefusals = new Map([
  ['InsufficientInstanceCapacity', 'EC2 has no capacity for the type in its zone'],
  ['Unsupported', 'the instance type is not offered in its zone'],
  ['InsufficientFreeAddressesInSubnet', 'the subnet has no free address left'],
]);

const states: ReadonlySet<string> = new Set<InstanceState>(['pending', 'running', 'shutting-down', 'terminated', 'stopping', 'stopped']);

export class Ec2Compute implements Compute {
  private readonly ec2: EC2Client;
  private readonly ssm: SSMClient;
  private readonly rootDevices = new Map<string, Promise<string>>();
  private readonly images = new Map<string, Promise<string>>();
  /** The account the instances belong to (their reservations' OwnerId). */
  private account: string | undefined;

  constructor(readonly region: string, clients: { ec2?: EC2Client; ssm?: SSMClient } = {}) {
    this.ec2 = clients.ec2 ?? ec2Client(region);
    this.ssm = clients.ssm ?? ssmClient(region);
  }

  instanceArn(instanceId: string): string | undefined {
    if (!this.account) return undefined;
    const partition = this.region.startsWith('cn-') ? 'aws-cn' : this.region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
    return `arn:${partition}:ec2:${this.region}:${this.account}:instance/${instanceId}`;
  }

  async listInstances(fleet: string): Promise<Instance[]> {
    const instances: Instance[] = [];
    let nextToken: string | undefined;
    do {
      let page;
      try {
        page = await this.ec2.send(
          new DescribeInstancesCommand({
            Filters: [{ Name: `tag:${Tags.fleet}`, Values: [fleet] }],
            MaxResults: describePageSize,
            NextToken: nextToken,
          }),
        );
      } catch (err) {
        throw awsRemoteError(`listing the instances of fleet ${fleet}`, 'EC2', this.region, err);
      }
      for (const reservation of page.Reservations ?? []) {
        this.account ??= reservation.OwnerId;
        for (const raw of reservation.Instances ?? []) {
          const instance = this.toInstance(raw);
          if (instance) instances.push(instance);
        }
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    return instances;
  }

  async launch(request: LaunchRequest): Promise<Instance[]> {
    checkLaunchRequest(request);
    const doing = `launching ${request.count} instance(s) of pool ${request.pool} in subnet ${request.subnetId}`;
    const rootDevice = await this.rootDeviceName(request.imageId);
    const tags: Tag[] = [
      { Key: 'Name', Value: `${request.fleet}-${request.pool}` },
      { Key: Tags.fleet, Value: request.fleet },
      { Key: Tags.pool, Value: request.pool },
      { Key: Tags.managedBy, Value: managedByValue },
      { Key: Tags.launch, Value: request.clientToken },
      ...settingTags(request),
    ];
    let reply;
    try {
      reply = await this.ec2.send(
        new RunInstancesCommand({
          ImageId: request.imageId,
          InstanceType: request.instanceType as _InstanceType,
          MinCount: 1,
          MaxCount: request.count,
          ClientToken: request.clientToken,
          // Always an explicit interface: a subnet's MapPublicIpOnLaunch would otherwise hand out a
          // public address nobody asked for.
          NetworkInterfaces: [
            {
              DeviceIndex: 0,
              SubnetId: request.subnetId,
              Groups: request.securityGroupIds,
              AssociatePublicIpAddress: request.publicIp,
              DeleteOnTermination: true,
            },
          ],
          IamInstanceProfile: request.instanceProfile.startsWith('arn:')
            ? { Arn: request.instanceProfile }
            : { Name: request.instanceProfile },
          MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
          BlockDeviceMappings: [
            {
              DeviceName: rootDevice,
              Ebs: { VolumeSize: request.rootVolumeGiB, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true },
            },
          ],
          TagSpecifications: [
            { ResourceType: 'instance', Tags: tags },
            { ResourceType: 'volume', Tags: tags },
          ],
        }),
      );
    } catch (err) {
      const code = awsErrorCode(err);
      if (code !== undefined && subnetRefusals.has(code)) {
        throw new CapacityError(request.subnetId, `${doing}: ${subnetRefusals.get(code)}: ${describeFailure(err)}`);
      }
      if (code === 'IdempotentInstanceTerminated' || code === 'IdempotentParameterMismatch') {
        throw new LaunchTokenSpent(request.clientToken, code, `${doing}: launch token ${request.clientToken} is spent: ${describeFailure(err)}`);
      }
      throw awsRemoteError(doing, 'EC2', this.region, err);
    }
    this.account ??= reply.OwnerId;
    // The answer is all we need: a describe right after launch may not know the instances yet.
    return (reply.Instances ?? []).flatMap((raw) => {
      const instance = this.toInstance(raw, request);
      return instance ? [instance] : [];
    });
  }

  async ensureLaunchTemplate(spec: LaunchTemplateSpec): Promise<LaunchTemplateVersion> {
    const name = launchTemplateName(spec.fleet, spec.pool);
    const doing = `keeping the launch template ${name} of pool ${spec.pool}`;
    const rootDevice = await this.rootDeviceName(spec.imageId);
    // The settings RunInstances would get, but the type, the subnet and the tags: CreateFleet gives
    // those per override and per launch.
    const data: RequestLaunchTemplateData = {
      ImageId: spec.imageId,
      IamInstanceProfile: spec.instanceProfile.startsWith('arn:') ? { Arn: spec.instanceProfile } : { Name: spec.instanceProfile },
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
      NetworkInterfaces: [{ DeviceIndex: 0, Groups: spec.securityGroupIds, AssociatePublicIpAddress: spec.publicIp, DeleteOnTermination: true }],
      BlockDeviceMappings: [{ DeviceName: rootDevice, Ebs: { VolumeSize: spec.rootVolumeGiB, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } }],
    };
    const settings = createHash('sha256').update(JSON.stringify(data)).digest('hex');
    // The version's description names its settings: drift between a pool and its instances shows
    // as instances whose aws:ec2launchtemplate:version is not the version these settings give.
    const description = `jenkins-fleet launch settings ${settings.slice(0, 32)}`;
    let template = await this.findLaunchTemplate(name, doing);
    if (!template) {
      try {
        const out = await this.ec2.send(
          new CreateLaunchTemplateCommand({
            LaunchTemplateName: name,
            VersionDescription: description,
            LaunchTemplateData: data,
            TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: Tags.fleet, Value: spec.fleet }, { Key: Tags.pool, Value: spec.pool }, { Key: Tags.managedBy, Value: managedByValue }] }],
          }),
        );
        this.learnAccount(out.LaunchTemplate?.CreatedBy);
        template = { id: out.LaunchTemplate?.LaunchTemplateId ?? '' };
      } catch (err) {
        // Another run made it meanwhile: use theirs.
        if (awsErrorCode(err) !== 'InvalidLaunchTemplateName.AlreadyExistsException') throw awsRemoteError(doing, 'EC2', this.region, err);
        template = await this.findLaunchTemplate(name, doing);
        if (!template) throw awsRemoteError(doing, 'EC2', this.region, err);
      }
    }
    try {
      // A version per distinct settings: the token makes the same settings answer the version made
      // for them before (a rerun, or settings that came back), so versions grow only with changes.
      // Always asked, also right after the template was made: the version a launch names must be
      // the same in a rerun, or its CreateFleet would not be the same request under the same token.
      const out = await this.ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: template.id,
          ClientToken: `jf-${createHash('sha256').update(`${template.id}/${settings}`).digest('hex').slice(0, 48)}`,
          VersionDescription: description,
          LaunchTemplateData: data,
        }),
      );
      return { id: template.id, name, version: out.LaunchTemplateVersion?.VersionNumber ?? 0 };
    } catch (err) {
      throw awsRemoteError(doing, 'EC2', this.region, err);
    }
  }

  /**
   * The account, from a launch template's CreatedBy (an ARN of this account): a CreateFleet answer
   * names no owner, and the agents' secrets are tagged with their instances' ARNs.
   */
  private learnAccount(createdBy: string | undefined): void {
    const account = /^arn:[^:]+:[^:]+::(\d{12}):/.exec(createdBy ?? '')?.[1];
    if (account) this.account ??= account;
  }

  private async findLaunchTemplate(name: string, doing: string): Promise<{ id: string } | undefined> {
    try {
      // A filter, not LaunchTemplateNames: a name that does not exist is then no error.
      const out = await this.ec2.send(new DescribeLaunchTemplatesCommand({ Filters: [{ Name: 'launch-template-name', Values: [name] }] }));
      const found = out.LaunchTemplates?.[0];
      this.learnAccount(found?.CreatedBy);
      return found?.LaunchTemplateId ? { id: found.LaunchTemplateId } : undefined;
    } catch (err) {
      throw awsRemoteError(doing, 'EC2', this.region, err);
    }
  }

  async listLaunchTemplates(fleet: string): Promise<LaunchTemplate[]> {
    const templates: LaunchTemplate[] = [];
    let nextToken: string | undefined;
    do {
      let page;
      try {
        page = await this.ec2.send(new DescribeLaunchTemplatesCommand({ Filters: [{ Name: `tag:${Tags.fleet}`, Values: [fleet] }], MaxResults: 200, NextToken: nextToken }));
      } catch (err) {
        throw awsRemoteError(`listing the launch templates of fleet ${fleet}`, 'EC2', this.region, err);
      }
      for (const t of page.LaunchTemplates ?? []) {
        if (!t.LaunchTemplateId || !t.LaunchTemplateName) continue;
        const pool = (t.Tags ?? []).find((tag) => tag.Key === Tags.pool)?.Value ?? '';
        templates.push({ id: t.LaunchTemplateId, name: t.LaunchTemplateName, pool, region: this.region });
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    return templates;
  }

  async deleteLaunchTemplate(templateId: string): Promise<void> {
    try {
      await this.ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: templateId }));
    } catch (err) {
      if (awsErrorCode(err) === 'InvalidLaunchTemplateId.NotFound') return;
      throw awsRemoteError(`deleting the launch template ${templateId}`, 'EC2', this.region, err);
    }
  }

  async launchFleet(request: FleetLaunchRequest): Promise<FleetLaunchResult> {
    checkLaunchRequest({ ...request, imageId: 'ami-00000000', rootVolumeGiB: 1 });
    const doing = `launching ${request.count} ${request.market} instance(s) of pool ${request.pool} with CreateFleet`;
    const tags: Tag[] = [
      { Key: 'Name', Value: `${request.fleet}-${request.pool}` },
      { Key: Tags.fleet, Value: request.fleet },
      { Key: Tags.pool, Value: request.pool },
      { Key: Tags.managedBy, Value: managedByValue },
      { Key: Tags.launch, Value: request.clientToken },
      ...settingTags(request.recorded),
    ];
    const spot = request.market === 'spot';
    let reply;
    try {
      reply = await this.ec2.send(
        new CreateFleetCommand({
          Type: 'instant',
          ClientToken: request.clientToken,
          ...(spot ? { SpotOptions: { AllocationStrategy: 'price-capacity-optimized' } } : { OnDemandOptions: { AllocationStrategy: 'lowest-price' } }),
          TargetCapacitySpecification: {
            TotalTargetCapacity: request.count,
            DefaultTargetCapacityType: request.market,
            ...(spot ? { SpotTargetCapacity: request.count } : { OnDemandTargetCapacity: request.count }),
          },
          LaunchTemplateConfigs: [
            {
              LaunchTemplateSpecification: { LaunchTemplateId: request.template.id, Version: String(request.template.version) },
              Overrides: request.overrides.map((o) => ({ InstanceType: o.instanceType as _InstanceType, SubnetId: o.subnetId })),
            },
          ],
          TagSpecifications: [
            { ResourceType: 'fleet', Tags: tags.filter((t) => t.Key !== Tags.launch) },
            { ResourceType: 'instance', Tags: tags },
            { ResourceType: 'volume', Tags: tags },
          ],
        }),
      );
    } catch (err) {
      const code = awsErrorCode(err);
      if (code === 'IdempotentInstanceTerminated' || code === 'IdempotentParameterMismatch') {
        throw new LaunchTokenSpent(request.clientToken, code, `${doing}: launch token ${request.clientToken} is spent: ${describeFailure(err)}`);
      }
      throw awsRemoteError(doing, 'EC2', this.region, err);
    }
    const now = Date.now();
    const instances: Instance[] = (reply.Instances ?? []).flatMap((group) =>
      (group.InstanceIds ?? []).map((id) => {
        const subnetId = group.LaunchTemplateAndOverrides?.Overrides?.SubnetId;
        const instanceType = group.InstanceType ?? group.LaunchTemplateAndOverrides?.Overrides?.InstanceType;
        return {
          id,
          pool: request.pool,
          region: this.region,
          state: 'pending' as const,
          launchedAt: now,
          launchToken: request.clientToken,
          market: group.Lifecycle === 'spot' ? ('spot' as const) : ('on-demand' as const),
          ...(subnetId ? { subnetId } : {}),
          ...(instanceType ? { instanceType } : {}),
        };
      }),
    );
    const errors = (reply.Errors ?? []).map((e) => {
      const o = e.LaunchTemplateAndOverrides?.Overrides;
      const code = e.ErrorCode ?? 'Unknown';
      return {
        market: e.Lifecycle === 'spot' ? ('spot' as const) : ('on-demand' as const),
        code,
        message: e.ErrorMessage ?? code,
        capacity: subnetRefusals.has(code),
        ...(o?.InstanceType ? { instanceType: o.InstanceType } : {}),
        ...(o?.SubnetId ? { subnetId: o.SubnetId } : {}),
        ...(o?.AvailabilityZone ? { zone: o.AvailabilityZone } : {}),
      };
    });
    return { instances, errors };
  }

  async terminate(instanceIds: string[]): Promise<void> {
    for (const group of inGroupsOf(unique(instanceIds), idsPerCall)) {
      let remaining = group;
      // One unknown id fails the whole call; ids EC2 no longer knows are gone already, so drop
      // them and terminate the rest (a second round covers a message naming only some of them).
      for (let round = 0; round < 3 && remaining.length > 0; round++) {
        try {
          await this.ec2.send(new TerminateInstancesCommand({ InstanceIds: remaining }));
          remaining = [];
        } catch (err) {
          const missing = awsErrorCode(err) === 'InvalidInstanceID.NotFound' ? idsIn(err) : [];
          const rest = remaining.filter((id) => !missing.includes(id));
          if (missing.length === 0 || rest.length === remaining.length) {
            throw awsRemoteError(`terminating ${describeIds(remaining)}`, 'EC2', this.region, err);
          }
          remaining = rest;
        }
      }
    }
  }

  async markBootstrapped(instanceIds: string[], at: number): Promise<void> {
    for (const group of inGroupsOf(unique(instanceIds), idsPerCall)) {
      try {
        await this.ec2.send(
          new CreateTagsCommand({ Resources: group, Tags: [{ Key: Tags.bootstrapped, Value: String(at) }] }),
        );
      } catch (err) {
        throw awsRemoteError(`recording the bootstrap of ${describeIds(group)}`, 'EC2', this.region, err);
      }
    }
  }

  async markIdle(instanceIds: string[], mark: IdleMark): Promise<void> {
    for (const group of inGroupsOf(unique(instanceIds), idsPerCall)) {
      try {
        await this.ec2.send(new CreateTagsCommand({ Resources: group, Tags: [{ Key: Tags.idleSince, Value: String(mark) }] }));
      } catch (err) {
        throw awsRemoteError(`recording the idleness of ${describeIds(group)}`, 'EC2', this.region, err);
      }
    }
  }

  resolveImage(image: string): Promise<string> {
    if (/^ami-[0-9a-f]{8,17}$/.test(image)) return Promise.resolve(image);
    if (!image.startsWith(ssmImagePrefix) || image.length === ssmImagePrefix.length) {
      return Promise.reject(
        new UserError(`image: expected an AMI id (ami-...) or resolve:ssm:PARAMETER, found ${JSON.stringify(image)}`),
      );
    }
    let resolved = this.images.get(image);
    if (!resolved) {
      resolved = this.readImageParameter(image.slice(ssmImagePrefix.length));
      // A failed lookup is not remembered: the next call asks again.
      resolved.catch(() => this.images.delete(image));
      this.images.set(image, resolved);
    }
    return resolved;
  }

  async consoleOutput(instanceId: string): Promise<string | undefined> {
    let reply;
    try {
      // Without Latest EC2 answers what was buffered at the last state change: in the first minutes
      // that is nothing, and accept-new would quietly trust the first key it meets.
      reply = await this.ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }));
    } catch (err) {
      throw awsRemoteError(`reading the console output of ${instanceId}`, 'EC2', this.region, err);
    }
    return reply.Output ? Buffer.from(reply.Output, 'base64').toString('utf8') : undefined;
  }

  private async readImageParameter(name: string): Promise<string> {
    const doing = `resolving the image parameter ${name}`;
    let value: string | undefined;
    try {
      const reply = await this.ssm.send(new GetParameterCommand({ Name: name }));
      value = reply.Parameter?.Value;
    } catch (err) {
      throw awsRemoteError(doing, 'SSM', this.region, err);
    }
    if (!value || !/^ami-[0-9a-f]{8,17}$/.test(value)) {
      throw awsRemoteError(doing, 'SSM', this.region, new Error(`the parameter holds ${JSON.stringify(value ?? '')}, not an AMI id`));
    }
    return value;
  }

  /** The AMI's root device (`/dev/xvda`, `/dev/sda1`): the mapping must name it to size the root volume. */
  private rootDeviceName(imageId: string): Promise<string> {
    let name = this.rootDevices.get(imageId);
    if (!name) {
      name = (async () => {
        const doing = `reading the root device of image ${imageId}`;
        let image;
        try {
          image = (await this.ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
        } catch (err) {
          throw awsRemoteError(doing, 'EC2', this.region, err);
        }
        if (!image?.RootDeviceName) {
          throw awsRemoteError(doing, 'EC2', this.region, new Error(`no such image ${imageId} in ${this.region} (or it is not shared with this account)`));
        }
        return image.RootDeviceName;
      })();
      name.catch(() => this.rootDevices.delete(imageId));
      this.rootDevices.set(imageId, name);
    }
    return name;
  }

  private toInstance(raw: Ec2Instance, launched?: LaunchRequest): Instance | undefined {
    if (!raw.InstanceId) return undefined;
    const tags = new Map((raw.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    const state = raw.State?.Name ?? 'pending';
    const bootstrapped = Number(tags.get(Tags.bootstrapped));
    const instance: Instance = {
      id: raw.InstanceId,
      pool: tags.get(Tags.pool) ?? launched?.pool ?? '',
      region: this.region,
      state: (states.has(state) ? state : 'pending') as InstanceState,
      launchedAt: raw.LaunchTime ? raw.LaunchTime.getTime() : Date.now(),
    };
    const subnetId = raw.SubnetId ?? launched?.subnetId;
    if (subnetId) instance.subnetId = subnetId;
    if (raw.PrivateIpAddress) instance.privateIp = raw.PrivateIpAddress;
    if (raw.PublicIpAddress) instance.publicIp = raw.PublicIpAddress;
    if (Number.isFinite(bootstrapped) && bootstrapped > 0) instance.bootstrappedAt = bootstrapped;
    const idleMark = tags.get(Tags.idleSince);
    if (idleMark === 'busy') instance.idleMark = 'busy';
    else if (idleMark !== undefined && /^\d{1,15}$/.test(idleMark)) instance.idleMark = Number(idleMark);
    const launchToken = tags.get(Tags.launch) ?? launched?.clientToken;
    if (launchToken) instance.launchToken = launchToken;
    const instanceType = raw.InstanceType ?? launched?.instanceType;
    if (instanceType) instance.instanceType = instanceType;
    instance.market = raw.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand';
    instance.launched = launchRecord(raw, tags, launched);
    return instance;
  }
}

/** The launch settings written on an instance as it is made (RunInstances and CreateFleet alike). */
function settingTags(recorded: FleetLaunchRequest['recorded']): Tag[] {
  if (!recorded) return [];
  return [
    { Key: Tags.rootVolume, Value: String(recorded.rootVolumeGiB) },
    { Key: Tags.publicIp, Value: String(recorded.publicIp) },
    ...(recorded.bootstrap
      ? [
          { Key: Tags.tools, Value: recorded.bootstrap.tools.join(' ') },
          { Key: Tags.remoteFS, Value: recorded.bootstrap.remoteFS },
          { Key: Tags.bootstrap, Value: recorded.bootstrap.digest },
        ]
      : []),
  ];
}

/** How an instance was launched: what EC2 reports of it, and what the launch wrote in its tags. */
function launchRecord(raw: Ec2Instance, tags: Map<string, string>, launched?: LaunchRequest): LaunchRecord {
  const record: LaunchRecord = {};
  const instanceType = raw.InstanceType ?? launched?.instanceType;
  if (instanceType) record.instanceType = instanceType;
  const imageId = raw.ImageId ?? launched?.imageId;
  if (imageId) record.imageId = imageId;
  const groups = raw.SecurityGroups?.flatMap((g) => (g.GroupId ? [g.GroupId] : [])) ?? launched?.securityGroupIds;
  if (groups && groups.length > 0) record.securityGroups = groups;
  if (raw.IamInstanceProfile?.Arn) record.instanceProfileArn = raw.IamInstanceProfile.Arn;
  const rootVolume = Number(tags.get(Tags.rootVolume) ?? launched?.rootVolumeGiB);
  if (Number.isInteger(rootVolume) && rootVolume > 0) record.rootVolumeGiB = rootVolume;
  const publicIp = tags.get(Tags.publicIp) ?? (launched ? String(launched.publicIp) : undefined);
  if (publicIp === 'true' || publicIp === 'false') record.publicIp = publicIp === 'true';
  const tools = tags.get(Tags.tools) ?? launched?.bootstrap?.tools.join(' ');
  if (tools !== undefined) record.tools = tools.split(' ').filter(Boolean);
  const remoteFS = tags.get(Tags.remoteFS) ?? launched?.bootstrap?.remoteFS;
  if (remoteFS) record.remoteFS = remoteFS;
  const bootstrap = tags.get(Tags.bootstrap) ?? launched?.bootstrap?.digest;
  if (bootstrap) record.bootstrap = bootstrap;
  return record;
}

function checkLaunchRequest(request: Pick<LaunchRequest, 'count' | 'clientToken' | 'imageId' | 'rootVolumeGiB'>): void {
  const problems: string[] = [];
  if (!Number.isInteger(request.count) || request.count < 1) problems.push(`launch count: expected a whole number >= 1, found ${request.count}`);
  if (!/^[\x21-\x7e]{1,64}$/.test(request.clientToken)) {
    problems.push(`launch clientToken: expected 1 to 64 printable ASCII characters, found ${JSON.stringify(request.clientToken)}`);
  }
  if (!/^ami-[0-9a-f]{8,17}$/.test(request.imageId)) problems.push(`launch imageId: expected a resolved AMI id (ami-...), found ${JSON.stringify(request.imageId)}`);
  if (!Number.isInteger(request.rootVolumeGiB) || request.rootVolumeGiB < 1) {
    problems.push(`launch rootVolumeGiB: expected a whole number of GiB >= 1, found ${request.rootVolumeGiB}`);
  }
  // The executor builds requests from a validated fleet: a bad one is a bug, not a user's mistake.
  if (problems.length > 0) throw new Error(problems.join('; '));
}

/** Instance ids named in an EC2 error message (`The instance IDs 'i-1, i-2' do not exist`). */
function idsIn(err: unknown): string[] {
  return [...String((err as Error)?.message ?? '').matchAll(/\bi-[0-9a-f]{8,17}\b/g)].map((m) => m[0]);
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}
