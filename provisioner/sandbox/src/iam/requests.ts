// What IAM authorises for each EC2 and SSM call the sandbox answers: the actions, resource ARNs and
// request context keys, as the Service Authorization Reference lists them per action and resource
// type (Amazon EC2, AWS Systems Manager, IAM, AWS KMS) and the EC2 and Parameter Store guides
// describe them (a launch is authorised once per resource it creates or uses; tagging on creation
// also needs CreateTags / AddTagsToResource; SecureStrings use the key with the caller's rights).
// Resources the sandbox does not know are left to the handler's NotFound answer.
import { fleetLaunchForms } from '../ec2-fleet.ts';
import { kmsKeyOf, resolvePublicParameter } from '../ssm.ts';
import type { Instance, Parameter, Tag } from '../state.ts';
import { instanceState, stableHash, type Sandbox } from '../world.ts';
import type { AccessRequest } from './authorize.ts';

/** Every sandbox subnet lies in this VPC (see ec2.ts). */
export const sandboxVpcId = 'vpc-0a5a4db0c0ffee001';

type Context = Record<string, string | string[]>;

function arnOf(sb: Sandbox, service: 'ec2' | 'ssm', resource: string, account = sb.accountId): string {
  return `arn:aws:${service}:${sb.region}:${account}:${resource}`;
}

export function instanceArn(sb: Sandbox, instanceId: string): string {
  return arnOf(sb, 'ec2', `instance/${instanceId}`);
}

export function parameterArn(sb: Sandbox, name: string): string {
  const path = name.startsWith('/') ? name : `/${name}`;
  // AWS's public parameters belong to no account.
  return path.startsWith('/aws/service/') ? `arn:aws:ssm:${sb.region}::parameter${path}` : arnOf(sb, 'ssm', `parameter${path}`);
}

export function subnetZone(sb: Sandbox, subnetId: string): string {
  return `${sb.region}${'abcdef'[stableHash(subnetId) % 6]}`;
}

/** Tags as request tags (aws:RequestTag/K and aws:TagKeys). */
function requestTags(tags: Tag[]): Context {
  if (tags.length === 0) return {};
  return { ...Object.fromEntries(tags.map((t) => [`aws:RequestTag/${t.key}`, t.value])), 'aws:TagKeys': tags.map((t) => t.key) };
}

/** A resource's tags under the prefixes a service defines for them. */
function resourceTags(tags: Tag[], prefixes: string[]): Context {
  return Object.fromEntries(tags.flatMap((t) => prefixes.map((p) => [`${p}/${t.key}`, t.value])));
}

/** Who owns a public image, as ec2:Owner names it: "amazon" for Amazon's, else the owner's account id. */
export function imageOwner(family: string): { id: string; alias?: string } {
  if (family === 'al2023') return { id: '137112412989', alias: 'amazon' };
  if (family.startsWith('ubuntu')) return { id: '099720109477' };
  return { id: '136693071363' };
}

// ---- EC2

function list(form: URLSearchParams, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; form.has(`${prefix}.${i}`); i++) out.push(form.get(`${prefix}.${i}`)!);
  return out;
}

function tagsAt(form: URLSearchParams, prefix: string): Tag[] {
  const out: Tag[] = [];
  for (let i = 1; form.has(`${prefix}.${i}.Key`); i++) out.push({ key: form.get(`${prefix}.${i}.Key`)!, value: form.get(`${prefix}.${i}.Value`) ?? '' });
  return out;
}

function specTags(form: URLSearchParams, resourceType: string): Tag[] {
  const out: Tag[] = [];
  for (let i = 1; form.has(`TagSpecification.${i}.ResourceType`); i++) {
    if (form.get(`TagSpecification.${i}.ResourceType`) === resourceType) out.push(...tagsAt(form, `TagSpecification.${i}.Tag`));
  }
  return out;
}

/** The keys an existing instance carries for actions on it (resource type "instance"). */
function onInstance(sb: Sandbox, i: Instance, tagPrefixes: string[]): Context {
  return {
    ...resourceTags(i.tags, tagPrefixes),
    'ec2:InstanceID': i.id,
    'ec2:InstanceType': i.instanceType,
    'ec2:AvailabilityZone': i.availabilityZone,
    'ec2:MetadataHttpTokens': i.metadataOptions.httpTokens,
    'ec2:MetadataHttpEndpoint': i.metadataOptions.httpEndpoint,
    'ec2:MetadataHttpPutResponseHopLimit': String(i.metadataOptions.hopLimit),
    'ec2:RootDeviceType': 'ebs',
    'ec2:Tenancy': 'default',
    ...(i.instanceProfile ? { 'ec2:InstanceProfile': i.instanceProfile } : {}),
  };
}

function liveInstance(sb: Sandbox, id: string): Instance | undefined {
  return sb.store.world.instances.find((i) => i.id === id && instanceState(sb, i) !== undefined);
}

const ec2TagKeys = ['aws:ResourceTag', 'ec2:ResourceTag'];

/** A RunInstances that CreateFleet makes from a launch template: its market and template. */
interface FleetLaunch {
  market: 'spot' | 'on-demand';
  templateArn: string;
  templateTags: Tag[];
}

function runInstancesRequests(sb: Sandbox, form: URLSearchParams, fleet?: FleetLaunch): AccessRequest[] {
  const region: Context = fleet ? { 'ec2:Region': sb.region, 'ec2:LaunchTemplate': fleet.templateArn } : { 'ec2:Region': sb.region };
  const requests: AccessRequest[] = [];
  const subnetId = form.get('SubnetId') ?? form.get('NetworkInterface.1.SubnetId') ?? undefined;
  const zone = subnetId ? subnetZone(sb, subnetId) : undefined;
  const vpcArn = arnOf(sb, 'ec2', `vpc/${sandboxVpcId}`);
  const inZone: Context = zone ? { 'ec2:AvailabilityZone': zone } : {};

  // The image: resolving a public parameter is an ssm:GetParameters with the caller's rights.
  let imageId = form.get('ImageId') ?? undefined;
  if (imageId?.startsWith('resolve:ssm:')) {
    const name = imageId.slice('resolve:ssm:'.length);
    requests.push({ action: 'ssm:GetParameters', resource: parameterArn(sb, name) });
    imageId = resolvePublicParameter(sb, name);
  }
  const known = imageId ? sb.store.world.images.find((i) => i.id === imageId) : undefined;
  if (imageId && known) {
    const owner = imageOwner(known.family);
    requests.push({
      action: 'ec2:RunInstances',
      resource: `arn:aws:ec2:${sb.region}::image/${imageId}`,
      context: { ...region, 'ec2:ImageID': imageId, 'ec2:Owner': owner.alias ?? owner.id, 'ec2:ImageType': 'machine', 'ec2:Public': 'true', 'ec2:RootDeviceType': 'ebs' },
    });
  }

  const profileName = form.get('IamInstanceProfile.Name') ?? undefined;
  const profileArn = form.get('IamInstanceProfile.Arn') ?? (profileName ? `arn:aws:iam::${sb.accountId}:instance-profile/${profileName}` : undefined);
  const hopLimit = form.get('MetadataOptions.HttpPutResponseHopLimit') ?? '1';
  const instanceTags = specTags(form, 'instance');
  requests.push({
    action: 'ec2:RunInstances',
    resource: arnOf(sb, 'ec2', 'instance/*'),
    context: {
      ...region,
      ...inZone,
      ...requestTags(instanceTags),
      'ec2:InstanceType': form.get('InstanceType') ?? 'm1.small',
      'ec2:MetadataHttpTokens': form.get('MetadataOptions.HttpTokens') ?? 'optional',
      'ec2:MetadataHttpEndpoint': form.get('MetadataOptions.HttpEndpoint') ?? 'enabled',
      'ec2:MetadataHttpPutResponseHopLimit': hopLimit,
      'ec2:RootDeviceType': 'ebs',
      'ec2:Tenancy': 'default',
      'ec2:InstanceMarketType': fleet?.market ?? 'on-demand',
      ...(profileArn ? { 'ec2:InstanceProfile': profileArn } : {}),
    },
  });
  const volumeTags = specTags(form, 'volume');
  requests.push({
    action: 'ec2:RunInstances',
    resource: arnOf(sb, 'ec2', 'volume/*'),
    context: {
      ...region,
      ...inZone,
      ...requestTags(volumeTags),
      'ec2:VolumeSize': form.get('BlockDeviceMapping.1.Ebs.VolumeSize') ?? '8',
      'ec2:VolumeType': form.get('BlockDeviceMapping.1.Ebs.VolumeType') ?? 'gp3',
      'ec2:Encrypted': form.get('BlockDeviceMapping.1.Ebs.Encrypted') ?? 'false',
    },
  });
  if (subnetId) {
    requests.push({
      action: 'ec2:RunInstances',
      resource: arnOf(sb, 'ec2', 'network-interface/*'),
      context: {
        ...region,
        ...inZone,
        ...requestTags(specTags(form, 'network-interface')),
        'ec2:Subnet': arnOf(sb, 'ec2', `subnet/${subnetId}`),
        'ec2:Vpc': vpcArn,
        'ec2:AssociatePublicIpAddress': form.get('NetworkInterface.1.AssociatePublicIpAddress') === 'true' ? 'true' : 'false',
      },
    });
    requests.push({ action: 'ec2:RunInstances', resource: arnOf(sb, 'ec2', `subnet/${subnetId}`), context: { ...region, ...inZone, 'ec2:SubnetID': subnetId, 'ec2:Vpc': vpcArn } });
  }
  for (const group of [...list(form, 'SecurityGroupId'), ...list(form, 'NetworkInterface.1.SecurityGroupId')]) {
    requests.push({ action: 'ec2:RunInstances', resource: arnOf(sb, 'ec2', `security-group/${group}`), context: { ...region, 'ec2:SecurityGroupID': group, 'ec2:Vpc': vpcArn } });
  }
  // The instance profile's role (the sandbox names each profile's role after it) is passed to EC2.
  if (profileArn) {
    const role = profileArn.split('/').pop()!;
    requests.push({ action: 'iam:PassRole', resource: `arn:aws:iam::${sb.accountId}:role/${role}`, context: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
  }
  if (fleet) {
    // The template itself is a resource of the launch; a Spot launch also makes a Spot request.
    requests.push({ action: 'ec2:RunInstances', resource: fleet.templateArn, context: { ...region, ...resourceTags(fleet.templateTags, ec2TagKeys) } });
    if (fleet.market === 'spot') requests.push({ action: 'ec2:RunInstances', resource: arnOf(sb, 'ec2', 'spot-instances-request/*'), context: { 'ec2:Region': sb.region } });
  }
  // Tags given at launch are also a CreateTags on each resource, marked with ec2:CreateAction.
  const { 'ec2:LaunchTemplate': _template, ...tagRegion } = region;
  for (const [type, tags] of [['instance', instanceTags], ['volume', volumeTags]] as const) {
    if (tags.length > 0) requests.push({ action: 'ec2:CreateTags', resource: arnOf(sb, 'ec2', `${type}/*`), context: { ...tagRegion, ...requestTags(tags), 'ec2:CreateAction': fleet ? 'CreateFleet' : 'RunInstances' } });
  }
  return requests;
}

function templateNamed(sb: Sandbox, id: string | null, name: string | null) {
  return (sb.store.world.launchTemplates ?? []).find((t) => (id !== null ? t.id === id : t.name === name));
}

/**
 * CreateFleet is authorised for the fleet and each instance it may launch (and the templates and
 * subnets it names), and every launch it makes as a RunInstances with the template's resources
 * (Service Authorization Reference: CreateFleet's resource-level permissions do not cover what a
 * launch template specifies; those are RunInstances').
 */
function createFleetRequests(sb: Sandbox, form: URLSearchParams): AccessRequest[] {
  const region: Context = { 'ec2:Region': sb.region };
  const fleetTags: Tag[] = [];
  for (let i = 1; form.has(`TagSpecification.${i}.ResourceType`); i++) {
    if (form.get(`TagSpecification.${i}.ResourceType`) === 'fleet') fleetTags.push(...tagsAt(form, `TagSpecification.${i}.Tag`));
  }
  const requests: AccessRequest[] = [{ action: 'ec2:CreateFleet', resource: arnOf(sb, 'ec2', 'fleet/*'), context: { ...region, ...requestTags(fleetTags) } }];
  // Tagging the fleet as it is made is a CreateTags on it too.
  if (fleetTags.length > 0) requests.push({ action: 'ec2:CreateTags', resource: arnOf(sb, 'ec2', 'fleet/*'), context: { ...region, ...requestTags(fleetTags), 'ec2:CreateAction': 'CreateFleet' } });
  for (const launch of fleetLaunchForms(sb, form)) {
    const template = (sb.store.world.launchTemplates ?? []).find((t) => t.id === launch.templateId);
    if (!template) continue;
    const templateArn = arnOf(sb, 'ec2', `launch-template/${template.id}`);
    const subnetId = launch.form.get('SubnetId') ?? launch.form.get('NetworkInterface.1.SubnetId') ?? undefined;
    const zone: Context = subnetId ? { 'ec2:AvailabilityZone': subnetZone(sb, subnetId) } : {};
    const profile = launch.form.get('IamInstanceProfile.Arn') ?? (launch.form.get('IamInstanceProfile.Name') ? `arn:aws:iam::${sb.accountId}:instance-profile/${launch.form.get('IamInstanceProfile.Name')}` : undefined);
    requests.push(
      {
        action: 'ec2:CreateFleet',
        resource: arnOf(sb, 'ec2', 'instance/*'),
        context: { ...region, ...zone, ...requestTags(specTags(launch.form, 'instance')), 'ec2:InstanceType': launch.form.get('InstanceType') ?? 'm1.small', 'ec2:RootDeviceType': 'ebs', 'ec2:Tenancy': 'default', ...(profile ? { 'ec2:InstanceProfile': profile } : {}) },
      },
      { action: 'ec2:CreateFleet', resource: templateArn, context: { ...region, ...resourceTags(template.tags, ec2TagKeys) } },
      ...(subnetId ? [{ action: 'ec2:CreateFleet', resource: arnOf(sb, 'ec2', `subnet/${subnetId}`), context: { ...region, ...zone, 'ec2:SubnetID': subnetId, 'ec2:Vpc': arnOf(sb, 'ec2', `vpc/${sandboxVpcId}`) } }] : []),
      ...runInstancesRequests(sb, launch.form, { market: launch.lifecycle, templateArn, templateTags: template.tags }),
    );
  }
  // Many overrides make the same authorisations: each is evaluated once.
  const seen = new Set<string>();
  return requests.filter((r) => {
    const key = JSON.stringify([r.action, r.resource, r.context]);
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/** The authorisations an EC2 Query request needs; [] for actions the sandbox does not implement. */
export function ec2Requests(sb: Sandbox, form: URLSearchParams): AccessRequest[] {
  const action = form.get('Action') ?? '';
  const region: Context = { 'ec2:Region': sb.region };
  switch (action) {
    case 'RunInstances':
      return runInstancesRequests(sb, form);
    case 'DescribeInstances':
    case 'DescribeImages':
      return [{ action: `ec2:${action}`, resource: '*', context: region }];
    case 'TerminateInstances':
    case 'GetConsoleOutput': {
      const ids = action === 'GetConsoleOutput' ? [form.get('InstanceId') ?? ''] : list(form, 'InstanceId');
      return ids.flatMap((id) => {
        const i = liveInstance(sb, id);
        return i ? [{ action: `ec2:${action}`, resource: instanceArn(sb, id), context: { ...region, ...onInstance(sb, i, ec2TagKeys) } }] : [];
      });
    }
    case 'CreateFleet':
      return createFleetRequests(sb, form);
    case 'DescribeLaunchTemplates':
      return [{ action: 'ec2:DescribeLaunchTemplates', resource: '*', context: region }];
    case 'CreateLaunchTemplate': {
      const tags: Tag[] = [];
      for (let i = 1; form.has(`TagSpecification.${i}.ResourceType`); i++) tags.push(...tagsAt(form, `TagSpecification.${i}.Tag`));
      const arn = arnOf(sb, 'ec2', 'launch-template/*');
      return [
        { action: 'ec2:CreateLaunchTemplate', resource: arn, context: { ...region, ...requestTags(tags) } },
        ...(tags.length > 0 ? [{ action: 'ec2:CreateTags', resource: arn, context: { ...region, ...requestTags(tags), 'ec2:CreateAction': 'CreateLaunchTemplate' } }] : []),
      ];
    }
    case 'CreateLaunchTemplateVersion':
    case 'DeleteLaunchTemplate': {
      const template = templateNamed(sb, form.get('LaunchTemplateId'), form.get('LaunchTemplateName'));
      return template ? [{ action: `ec2:${action}`, resource: arnOf(sb, 'ec2', `launch-template/${template.id}`), context: { ...region, ...resourceTags(template.tags, ec2TagKeys) } }] : [];
    }
    case 'CreateTags':
    case 'DeleteTags': {
      const tags = tagsAt(form, 'Tag');
      return list(form, 'ResourceId').flatMap((id) => {
        const instance = liveInstance(sb, id);
        if (instance) return [{ action: `ec2:${action}`, resource: instanceArn(sb, id), context: { ...region, ...onInstance(sb, instance, ec2TagKeys), ...requestTags(tags) } }];
        const owner = sb.store.world.instances.find((i) => i.volume.id === id);
        if (owner) return [{ action: `ec2:${action}`, resource: arnOf(sb, 'ec2', `volume/${id}`), context: { ...region, ...resourceTags(owner.volume.tags, ec2TagKeys), ...requestTags(tags), 'ec2:VolumeID': id } }];
        return [];
      });
    }
    default:
      return [];
  }
}

// ---- SSM

function names(input: Record<string, unknown>): string[] {
  if (typeof input.Name === 'string') return [input.Name];
  return Array.isArray(input.Names) ? input.Names.filter((n): n is string => typeof n === 'string') : [];
}

function parameterTags(p: Parameter | undefined): Context {
  return resourceTags(p?.tags ?? [], ['aws:ResourceTag', 'ssm:resourceTag']);
}

/** kms:ACTION with the customer managed key a SecureString uses (aws/ssm needs no IAM grant: its key policy allows the account's callers through SSM). */
function keyUse(sb: Sandbox, action: 'kms:Encrypt' | 'kms:Decrypt', keyId: string | undefined): AccessRequest[] {
  if (!keyId) return [];
  const key = kmsKeyOf(sb, keyId);
  if (!key || key.alias === 'alias/aws/ssm') return [];
  return [{ action, resource: key.arn, context: { 'kms:ViaService': `ssm.${sb.region}.amazonaws.com`, 'kms:CallerAccount': sb.accountId } }];
}

function tagList(value: unknown): Tag[] {
  if (!Array.isArray(value)) return [];
  return value.filter((t): t is { Key: string; Value?: string } => typeof t === 'object' && t !== null && typeof (t as { Key?: unknown }).Key === 'string').map((t) => ({ key: t.Key, value: typeof t.Value === 'string' ? t.Value : '' }));
}

const allResources = new Set(['DescribeParameters', 'DescribeInstanceInformation', 'GetCommandInvocation', 'ListCommandInvocations', 'ListCommands']);

/** The authorisations an SSM JSON request needs; [] for operations the sandbox does not implement. */
export function ssmRequests(sb: Sandbox, op: string, input: Record<string, unknown>): AccessRequest[] {
  const world = sb.store.world;
  const find = (name: string) => world.parameters.find((p) => p.name === name);
  if (allResources.has(op)) return [{ action: `ssm:${op}`, resource: '*' }];
  switch (op) {
    case 'PutParameter': {
      const name = names(input)[0];
      if (name === undefined) return [];
      const existing = find(name);
      const tags = tagList(input.Tags);
      const arn = parameterArn(sb, name);
      const secure = (input.Type ?? existing?.type) === 'SecureString';
      return [
        { action: 'ssm:PutParameter', resource: arn, context: { ...requestTags(tags), 'ssm:Overwrite': input.Overwrite === true ? 'true' : 'false' } },
        // Tags on creation are authorised as AddTagsToResource too (AWS::SSM::Parameter: "ssm:PutParameter and ssm:AddTagsToResource").
        ...(tags.length > 0 ? [{ action: 'ssm:AddTagsToResource', resource: arn, context: { ...requestTags(tags), ...parameterTags(existing) } }] : []),
        ...(secure ? keyUse(sb, 'kms:Encrypt', typeof input.KeyId === 'string' ? input.KeyId : existing?.keyId) : []),
      ];
    }
    case 'GetParameter':
    case 'GetParameters':
      return names(input).flatMap((name) => {
        const p = find(name);
        return [
          { action: `ssm:${op}`, resource: parameterArn(sb, name), context: parameterTags(p) },
          ...(p?.type === 'SecureString' && input.WithDecryption === true ? keyUse(sb, 'kms:Decrypt', p.keyId) : []),
        ];
      });
    case 'GetParametersByPath':
      return typeof input.Path === 'string' ? [{ action: 'ssm:GetParametersByPath', resource: parameterArn(sb, input.Path.replace(/\/+$/, '') || '/') }] : [];
    case 'DeleteParameter':
    case 'DeleteParameters':
      return names(input).map((name) => ({ action: `ssm:${op}`, resource: parameterArn(sb, name), context: parameterTags(find(name)) }));
    case 'AddTagsToResource':
    case 'RemoveTagsFromResource': {
      if (input.ResourceType !== 'Parameter' || typeof input.ResourceId !== 'string') return [];
      const tags = op === 'AddTagsToResource' ? tagList(input.Tags) : (Array.isArray(input.TagKeys) ? input.TagKeys : []).map((k) => ({ key: String(k), value: '' }));
      const context = op === 'AddTagsToResource' ? requestTags(tags) : { 'aws:TagKeys': tags.map((t) => t.key) };
      return [{ action: `ssm:${op}`, resource: parameterArn(sb, input.ResourceId), context: { ...context, ...parameterTags(find(input.ResourceId)) } }];
    }
    case 'SendCommand': {
      const document = typeof input.DocumentName === 'string' ? input.DocumentName : '';
      // AWS-owned documents (AWS-*) have no account in their ARN.
      const documentArn = document.startsWith('AWS-') ? `arn:aws:ssm:${sb.region}::document/${document}` : arnOf(sb, 'ssm', `document/${document}`);
      const ids = Array.isArray(input.InstanceIds) ? input.InstanceIds.filter((id): id is string => typeof id === 'string') : [];
      return [
        { action: 'ssm:SendCommand', resource: documentArn },
        ...ids.flatMap((id) => {
          const i = liveInstance(sb, id);
          return i ? [{ action: 'ssm:SendCommand', resource: instanceArn(sb, id), context: resourceTags(i.tags, ['aws:ResourceTag', 'ssm:resourceTag']) }] : [];
        }),
      ];
    }
    default:
      return [];
  }
}

// ---- DynamoDB (the run lock's table)

export function tableArn(sb: Sandbox, table: string): string {
  return `arn:aws:dynamodb:${sb.region}:${sb.accountId}:table/${table}`;
}

/**
 * Item actions are authorised on the table, with the item's partition key as dynamodb:LeadingKeys
 * (Service Authorization Reference, Amazon DynamoDB: GetItem, PutItem, UpdateItem, DeleteItem list
 * that key). Table actions (CreateTable, DescribeTable...) on the table, with no keys.
 */
/**
 * An SQS call as IAM sees it: the action on the queue (Service Authorization Reference, Amazon SQS:
 * resource type queue, arn:aws:sqs:REGION:ACCOUNT:NAME) whose ARN the stand-in found from the
 * QueueUrl: the URL's own account and region, not the caller's.
 */
export function sqsRequests(op: string, queueArn: string): AccessRequest[] {
  return [{ action: `sqs:${op}`, resource: queueArn }];
}

export function dynamoDbRequests(sb: Sandbox, op: string, input: Record<string, unknown>): AccessRequest[] {
  const table = typeof input.TableName === 'string' ? input.TableName : undefined;
  if (table === undefined) return [];
  const resource = tableArn(sb, table);
  if (['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'].includes(op)) {
    const key = (op === 'PutItem' ? input.Item : input.Key) as Record<string, Record<string, unknown>> | undefined;
    // The lock table's key is a string; a key of another type is named as DynamoDB writes it.
    const leading = Object.values(key ?? {}).map((v) => (typeof v.S === 'string' ? v.S : JSON.stringify(v)));
    return [{ action: `dynamodb:${op}`, resource, context: leading.length > 0 ? { 'dynamodb:LeadingKeys': leading.slice(0, 1) } : {} }];
  }
  return [{ action: `dynamodb:${op}`, resource }];
}
