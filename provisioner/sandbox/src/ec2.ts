// The EC2 stand-in: the Query protocol (form-encoded POST with Action= and Version=, XML replies in
// the 2016-11-15 namespace, errors as <Response><Errors><Error>) for the calls the provisioner
// makes: RunInstances, DescribeInstances, TerminateInstances, CreateTags; launch templates and
// CreateFleet are in ec2-fleet.ts.
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Instance, Tag } from './state.ts';
import { instanceState, resourceId, stableHash, stateCodes, type Sandbox } from './world.ts';
import { resolvePublicParameter } from './ssm.ts';
import { imageOf, type HostImage } from './images.ts';
import { createFleet, createLaunchTemplate, createLaunchTemplateVersion, deleteLaunchTemplate, describeLaunchTemplates } from './ec2-fleet.ts';

const namespace = 'http://ec2.amazonaws.com/doc/2016-11-15/';
/** Every subnet of the sandbox lies in one VPC. */
export const sandboxVpc = 'vpc-0a5a4db0c0ffee001';

export interface Ec2Reply {
  status: number;
  body: string;
  action: string;
  mutating: boolean;
  error?: string;
  subject?: string;
}

/** An EC2 error: code and HTTP status as EC2 sends them. */
export class Ec2Error extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
  }
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function ec2ErrorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
}

const mutatingActions = new Set(['RunInstances', 'TerminateInstances', 'CreateTags', 'DeleteTags', 'CreateFleet', 'CreateLaunchTemplate', 'CreateLaunchTemplateVersion', 'DeleteLaunchTemplate']);

export function handleEc2(sb: Sandbox, form: URLSearchParams, requestId: string): Ec2Reply {
  const action = form.get('Action') ?? '';
  const mutating = mutatingActions.has(action);
  try {
    if (!action) throw new Ec2Error('MissingAction', 'The request must contain the parameter Action');
    const version = form.get('Version');
    if (version !== '2016-11-15') throw new Ec2Error('InvalidParameterValue', `Unsupported API version ${JSON.stringify(version)}: the sandbox speaks 2016-11-15`);
    let inner: string;
    let subject: string | undefined;
    switch (action) {
      case 'RunInstances': ({ inner, subject } = runInstances(sb, form)); break;
      case 'DescribeInstances': inner = describeInstances(sb, form); break;
      case 'TerminateInstances': ({ inner, subject } = terminateInstances(sb, form)); break;
      case 'CreateTags': ({ inner, subject } = changeTags(sb, form, 'create')); break;
      case 'DeleteTags': ({ inner, subject } = changeTags(sb, form, 'delete')); break;
      case 'DescribeImages': inner = describeImages(sb, form); break;
      case 'GetConsoleOutput': inner = getConsoleOutput(sb, form); break;
      case 'CreateFleet': ({ inner, subject } = createFleet(sb, form)); break;
      case 'CreateLaunchTemplate': ({ inner, subject } = createLaunchTemplate(sb, form)); break;
      case 'CreateLaunchTemplateVersion': ({ inner, subject } = createLaunchTemplateVersion(sb, form)); break;
      case 'DescribeLaunchTemplates': inner = describeLaunchTemplates(sb, form); break;
      case 'DeleteLaunchTemplate': ({ inner, subject } = deleteLaunchTemplate(sb, form)); break;
      default:
        throw new Ec2Error('InvalidAction', `The action ${action} is not valid for this web service (the sandbox implements RunInstances, DescribeInstances, TerminateInstances, CreateTags, DeleteTags, DescribeImages, GetConsoleOutput, CreateFleet (instant), CreateLaunchTemplate, CreateLaunchTemplateVersion, DescribeLaunchTemplates, DeleteLaunchTemplate).`);
    }
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${namespace}"><requestId>${requestId}</requestId>${inner}</${action}Response>`;
    return { status: 200, body, action, mutating, ...(subject ? { subject } : {}) };
  } catch (err) {
    if (!(err instanceof Ec2Error)) throw err;
    return { status: err.status, body: ec2ErrorXml(err.code, err.message, requestId), action: action || '(none)', mutating, error: err.code };
  }
}

// ---- parameter decoding (the Query protocol flattens lists as Name.1, Name.2, ...)

export function list(form: URLSearchParams, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; form.has(`${prefix}.${i}`); i++) out.push(form.get(`${prefix}.${i}`)!);
  return out;
}

export function count(form: URLSearchParams, prefix: string): number {
  let n = 0;
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)\\.`);
  for (const key of form.keys()) {
    const m = re.exec(key);
    if (m) n = Math.max(n, Number(m[1]));
  }
  return n;
}

export function tags(form: URLSearchParams, prefix: string): Tag[] {
  const out: Tag[] = [];
  for (let i = 1; i <= count(form, prefix); i++) {
    const key = form.get(`${prefix}.${i}.Key`);
    if (key === null) throw new Ec2Error('InvalidParameterValue', `Tag ${i}: the Key is missing`);
    if (key.toLowerCase().startsWith('aws:')) throw new Ec2Error('InvalidParameterValue', `Tag keys starting with 'aws:' are reserved for internal use`);
    // The SDK model's Tag.Key: "a maximum of 127 Unicode characters" (the user guide says 128: the stricter one).
    if ([...key].length > 127) throw new Ec2Error('InvalidParameterValue', `Tag key exceeds the maximum length of 127 characters`);
    const value = form.get(`${prefix}.${i}.Value`) ?? '';
    if ([...value].length > 256) throw new Ec2Error('InvalidParameterValue', `Tag value exceeds the maximum length of 256 characters`);
    out.push({ key, value });
  }
  if (out.length > 50) throw tagLimit();
  return out;
}

export const tagsPerResource = 50;

export function tagLimit(resourceId?: string): Ec2Error {
  return new Ec2Error('TagLimitExceeded', `The maximum number of tags per resource is ${tagsPerResource}${resourceId ? `: ${resourceId} would have more` : ''}`);
}

/** The tags that count against a resource's 50: EC2's own `aws:` tags do not ("Tag restrictions"). */
export function userTagCount(list: Tag[]): number {
  return list.filter((t) => !t.key.toLowerCase().startsWith('aws:')).length;
}

export function integer(form: URLSearchParams, name: string): number | undefined {
  const raw = form.get(name);
  if (raw === null) return undefined;
  if (!/^-?\d+$/.test(raw)) throw new Ec2Error('InvalidParameterValue', `Invalid value '${raw}' for ${name}: expected an integer`);
  return Number(raw);
}

export function requireInteger(form: URLSearchParams, name: string): number {
  const n = integer(form, name);
  if (n === undefined) throw new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`);
  return n;
}

// ---- RunInstances

export const instanceTypeShape = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;

export function fingerprint(form: URLSearchParams): string {
  return [...form.entries()]
    .filter(([k]) => k !== 'ClientToken' && k !== 'Action' && k !== 'Version')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function resolveImage(sb: Sandbox, imageId: string): string {
  if (imageId.startsWith('resolve:ssm:')) {
    const name = imageId.slice('resolve:ssm:'.length);
    const value = resolvePublicParameter(sb, name) ?? sb.store.world.parameters.find((p) => p.name === name && p.type === 'String')?.value;
    if (!value) throw new Ec2Error('InvalidParameterValue', `Invalid value '${imageId}' for ImageId: the SSM parameter ${name} was not found`);
    return value;
  }
  if (!/^ami-[0-9a-f]{8,17}$/.test(imageId)) throw new Ec2Error('InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);
  return imageId;
}

/** The image behind an AMI id: only the public images the account has resolved exist here. */
function knownImage(sb: Sandbox, imageId: string): HostImage {
  const known = sb.store.world.images.find((i) => i.id === imageId);
  if (!known) throw new Ec2Error('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
  return imageOf(known.family);
}

/** vCPUs of an instance type by its size (t3/m5/c5 families: large and smaller 2, xlarge 4, Nxlarge 4N). */
export function vcpusOf(instanceType: string): number {
  const size = instanceType.split('.')[1] ?? '';
  const n = /^(\d+)xlarge$/.exec(size);
  if (n) return 4 * Number(n[1]);
  return size === 'xlarge' ? 4 : 2;
}

export function availabilityZone(sb: Sandbox, subnetId: string): string {
  return `${sb.region}${'abcdef'[stableHash(subnetId) % 6]}`;
}

function runInstances(sb: Sandbox, form: URLSearchParams): { inner: string; subject: string } {
  const world = sb.store.world;
  const clientToken = form.get('ClientToken') ?? undefined;
  if (clientToken !== undefined && (clientToken.length > 64 || !/^[\x20-\x7e]+$/.test(clientToken))) {
    throw new Ec2Error('InvalidParameterValue', 'Value for parameter ClientToken is invalid: at most 64 ASCII characters');
  }
  const print = fingerprint(form);
  if (clientToken !== undefined) {
    const earlier = world.launches.find((l) => l.clientToken === clientToken);
    if (earlier) {
      if (earlier.fingerprint !== print) {
        throw new Ec2Error('IdempotentParameterMismatch', `The client token you have provided is associated with a resource that is already deleted or has different parameters. Please use a different client token.`);
      }
      const instances = earlier.instanceIds.map((id) => world.instances.find((i) => i.id === id)!).filter(Boolean);
      // EC2 keeps a token for at least 24 hours after its instances end (the sandbox: for the life
      // of its state); it then launches nothing more under it.
      if (instances.every((i) => i.terminatedAt !== undefined)) {
        throw new Ec2Error('IdempotentInstanceTerminated', 'The client token you have provided is associated with a resource that is already deleted. Please use a different client token.');
      }
      return { inner: reservationXml(sb, earlier.reservationId, instances), subject: `replay ${clientToken}` };
    }
  }
  const reservationId = resourceId('r');
  const created = createInstances(sb, form, { reservationId, ...(clientToken !== undefined ? { clientToken } : {}) });
  if (clientToken !== undefined) world.launches.push({ clientToken, fingerprint: print, reservationId, instanceIds: created.map((i) => i.id) });
  sb.store.save();
  return { inner: reservationXml(sb, reservationId, created), subject: created.map((i) => i.id).join(' ') };
}

/** How an instance is bought and what launched it, beyond RunInstances' own parameters. */
export interface LaunchOrigin {
  reservationId: string;
  clientToken?: string;
  /** Spot instances count against the Spot quota, not the on-demand vCPU limit. */
  lifecycle?: 'spot';
  /** EC2's own tags on what a fleet launched from a template (aws:ec2:fleet-id, aws:ec2launchtemplate:*). */
  systemTags?: Tag[];
}

/**
 * Validates a RunInstances-shaped request (RunInstances itself, or a fleet's template data with its
 * override) and creates its instances, unsaved; throws the Ec2Error RunInstances would answer.
 */
export function createInstances(sb: Sandbox, form: URLSearchParams, origin: LaunchOrigin): Instance[] {
  const world = sb.store.world;
  const clientToken = origin.clientToken;
  const imageId = form.get('ImageId');
  if (!imageId) throw new Ec2Error('MissingParameter', 'The request must contain the parameter ImageId');
  const resolvedImage = resolveImage(sb, imageId);
  const image = knownImage(sb, resolvedImage);
  const minCount = requireInteger(form, 'MinCount');
  const maxCount = requireInteger(form, 'MaxCount');
  if (minCount < 1 || maxCount < 1) throw new Ec2Error('InvalidParameterValue', `Value (${Math.min(minCount, maxCount)}) for parameter count is invalid. Must be at least 1`);
  if (minCount > maxCount) throw new Ec2Error('InvalidParameterValue', `Value (${minCount}) for parameter MinCount is invalid. MinCount must be less than or equal to MaxCount (${maxCount})`);
  const instanceType = form.get('InstanceType') ?? 'm1.small';
  if (!instanceTypeShape.test(instanceType)) throw new Ec2Error('InvalidParameterValue', `Invalid value '${instanceType}' for InstanceType.`);

  const subnetId = form.get('SubnetId') ?? form.get('NetworkInterface.1.SubnetId') ?? 'subnet-0d0d0d0d0d0d0d0d0';
  if (!/^subnet-[0-9a-f]{8,17}$/.test(subnetId)) throw new Ec2Error('InvalidSubnetID.Malformed', `Invalid id: "${subnetId}" (expecting "subnet-...")`);
  const groups = [...list(form, 'SecurityGroupId'), ...list(form, 'NetworkInterface.1.SecurityGroupId')];
  for (const g of groups) if (!/^sg-[0-9a-f]{8,17}$/.test(g)) throw new Ec2Error('InvalidGroupId.Malformed', `Invalid id: "${g}" (expecting "sg-...")`);
  const zone = availabilityZone(sb, subnetId);
  if (sb.faults.noCapacitySubnets.includes(subnetId)) {
    throw new Ec2Error('InsufficientInstanceCapacity', `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested (${zone}). Our system will be working on provisioning additional capacity. You can currently get ${instanceType} capacity by not specifying an Availability Zone in your request or choosing another Availability Zone.`, 500);
  }
  if (sb.faults.unsupportedSubnets.includes(subnetId)) {
    throw new Ec2Error('Unsupported', `Your requested instance type (${instanceType}) is not supported in your requested Availability Zone (${zone}). Please retry your request by not specifying an Availability Zone or choosing another Availability Zone.`);
  }
  if (sb.faults.fullSubnets.includes(subnetId)) {
    throw new Ec2Error('InsufficientFreeAddressesInSubnet', `Insufficient free IP addresses in subnet: ${subnetId}`);
  }

  // The on-demand quota counts vCPUs of running instances; EC2 launches what fits if MinCount does.
  const vcpus = vcpusOf(instanceType);
  let room = maxCount;
  if (sb.faults.vcpuLimit > 0 && origin.lifecycle !== 'spot') {
    const used = world.instances.filter((i) => { const st = instanceState(sb, i); return i.lifecycle !== 'spot' && (st === 'pending' || st === 'running'); }).reduce((sum, i) => sum + vcpusOf(i.instanceType), 0);
    room = Math.floor((sb.faults.vcpuLimit - used) / vcpus);
    if (room < minCount) {
      throw new Ec2Error('VcpuLimitExceeded', `You have requested more vCPU capacity than your current vCPU limit of ${sb.faults.vcpuLimit} allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`);
    }
  }
  const httpTokens = form.get('MetadataOptions.HttpTokens') ?? 'optional';
  if (httpTokens !== 'optional' && httpTokens !== 'required') throw new Ec2Error('InvalidParameterValue', `Invalid value '${httpTokens}' for MetadataOptions.HttpTokens: expected optional or required`);
  const hopLimit = integer(form, 'MetadataOptions.HttpPutResponseHopLimit') ?? 1;
  if (hopLimit < 1 || hopLimit > 64) throw new Ec2Error('InvalidParameterValue', `Invalid value '${hopLimit}' for MetadataOptions.HttpPutResponseHopLimit: expected 1 to 64`);
  const httpEndpoint = form.get('MetadataOptions.HttpEndpoint') ?? 'enabled';

  let instanceTags: Tag[] = [];
  let volumeTags: Tag[] = [];
  for (let i = 1; i <= count(form, 'TagSpecification'); i++) {
    const type = form.get(`TagSpecification.${i}.ResourceType`);
    const specTags = tags(form, `TagSpecification.${i}.Tag`);
    if (type === 'instance') instanceTags = [...instanceTags, ...specTags];
    else if (type === 'volume') volumeTags = [...volumeTags, ...specTags];
    else if (type !== 'network-interface') throw new Ec2Error('InvalidParameterValue', `'${type}' is not a valid taggable resource type for this operation.`);
  }
  if (userTagCount(instanceTags) > tagsPerResource || userTagCount(volumeTags) > tagsPerResource) throw tagLimit();
  const profileName = form.get('IamInstanceProfile.Name') ?? undefined;
  const profileArn = form.get('IamInstanceProfile.Arn') ?? undefined;
  const publicIp = form.get('NetworkInterface.1.AssociatePublicIpAddress') === 'true';
  const userData = form.get('UserData') ?? undefined;
  if (userData !== undefined && Buffer.from(userData, 'base64').length > 16384) throw new Ec2Error('InvalidParameterValue', 'User data is limited to 16384 bytes');
  const sizeGiB = integer(form, 'BlockDeviceMapping.1.Ebs.VolumeSize') ?? 8;

  const { reservationId } = origin;
  const now = Date.now();
  const block = stableHash(subnetId) % 200;
  const created: Instance[] = [];
  const launching = Math.min(maxCount, Math.max(minCount, room));
  for (let n = 0; n < launching; n++) {
    const serial = world.instances.filter((i) => i.subnetId === subnetId).length + 1;
    const instance: Instance = {
      id: resourceId('i'),
      reservationId,
      imageId: resolvedImage,
      platform: image.family,
      instanceType,
      subnetId,
      availabilityZone: zone,
      vpcId: sandboxVpc,
      privateIp: sb.instanceSsh ? sb.instanceSsh.address(block, serial) : `10.${block}.${Math.floor(serial / 250)}.${(serial % 250) + 4}`,
      ...(publicIp ? { publicIp: `198.51.100.${(serial % 250) + 1}` } : {}),
      securityGroupIds: groups,
      ...(profileName || profileArn ? { instanceProfile: profileArn ?? `arn:aws:iam::${sb.accountId}:instance-profile/${profileName}` } : {}),
      ...(clientToken !== undefined ? { clientToken } : {}),
      launchIndex: n,
      tags: [...instanceTags, ...(origin.systemTags ?? [])],
      ...(origin.lifecycle ? { lifecycle: origin.lifecycle } : {}),
      volume: { id: resourceId('vol'), sizeGiB, tags: volumeTags },
      metadataOptions: { httpTokens, hopLimit, httpEndpoint },
      ...(userData !== undefined ? { userData } : {}),
      launchedAt: now,
    };
    world.instances.push(instance);
    created.push(instance);
  }
  return created;
}

// ---- DescribeInstances

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function filterValue(sb: Sandbox, instance: Instance, name: string): string[] | undefined {
  if (name.startsWith('tag:')) {
    const key = name.slice(4);
    return instance.tags.filter((t) => t.key === key).map((t) => t.value);
  }
  const state = instanceState(sb, instance) ?? 'terminated';
  switch (name) {
    case 'instance-state-name': return [state];
    case 'instance-state-code': return [String(stateCodes[state])];
    case 'instance-id': return [instance.id];
    case 'tag-key': return instance.tags.map((t) => t.key);
    case 'tag-value': return instance.tags.map((t) => t.value);
    case 'subnet-id': return [instance.subnetId];
    case 'vpc-id': return [instance.vpcId];
    case 'availability-zone': return [instance.availabilityZone];
    case 'instance-type': return [instance.instanceType];
    case 'image-id': return [instance.imageId];
    case 'client-token': return instance.clientToken ? [instance.clientToken] : [];
    case 'instance-lifecycle': return instance.lifecycle ? [instance.lifecycle] : [];
    case 'reservation-id': return [instance.reservationId];
    case 'private-ip-address': return [instance.privateIp];
    case 'iam-instance-profile.arn': return instance.instanceProfile ? [instance.instanceProfile] : [];
    default: return undefined;
  }
}

function describeInstances(sb: Sandbox, form: URLSearchParams): string {
  const world = sb.store.world;
  const ids = list(form, 'InstanceId');
  const maxResults = integer(form, 'MaxResults');
  if (ids.length > 0 && maxResults !== undefined) {
    throw new Ec2Error('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
  }
  if (maxResults !== undefined && (maxResults < 5 || maxResults > 1000)) {
    throw new Ec2Error('InvalidParameterValue', `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`);
  }
  for (const id of ids) if (!/^i-[0-9a-f]{8,17}$/.test(id)) throw new Ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
  const now = Date.now();
  const visible = world.instances.filter((i) => instanceState(sb, i, now) !== undefined && now >= i.launchedAt + sb.faults.consistencyLagMs);
  if (ids.length > 0) {
    const missing = ids.filter((id) => !visible.some((i) => i.id === id));
    if (missing.length === 1) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${missing[0]}' does not exist`);
    if (missing.length > 1) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
  }
  const filters: { name: string; values: RegExp[] }[] = [];
  for (let i = 1; i <= count(form, 'Filter'); i++) {
    const name = form.get(`Filter.${i}.Name`);
    if (!name) throw new Ec2Error('InvalidParameterValue', `Filter ${i} has no Name`);
    const values = list(form, `Filter.${i}.Value`);
    if (values.length > 200) throw new Ec2Error('FilterLimitExceeded', 'The maximum number of filter values specified on a single call is 200');
    if (filterValue(sb, visible[0] ?? world.instances[0] ?? dummyInstance, name) === undefined) {
      throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
    }
    filters.push({ name, values: values.map(globToRegExp) });
  }
  let matched = visible.filter((instance) =>
    (ids.length === 0 || ids.includes(instance.id)) &&
    filters.every((f) => (filterValue(sb, instance, f.name) ?? []).some((v) => f.values.some((re) => re.test(v)))));
  let nextToken: string | undefined;
  const token = form.get('NextToken');
  let offset = 0;
  if (token) {
    const decoded = /^sbx1:(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
    if (!decoded) throw new Ec2Error('InvalidParameterValue', 'The token is not valid (NextToken)');
    offset = Number(decoded[1]);
  }
  if (maxResults !== undefined || token) {
    const size = maxResults ?? 1000;
    const page = matched.slice(offset, offset + size);
    if (offset + size < matched.length) nextToken = Buffer.from(`sbx1:${offset + size}`).toString('base64');
    matched = page;
  }
  // Instances launched together share a reservation, as in EC2.
  const byReservation = new Map<string, Instance[]>();
  for (const instance of matched) {
    const group = byReservation.get(instance.reservationId) ?? [];
    group.push(instance);
    byReservation.set(instance.reservationId, group);
  }
  const reservations = [...byReservation.entries()].map(([rid, group]) => `<item>${reservationXml(sb, rid, group)}</item>`).join('');
  return `<reservationSet>${reservations}</reservationSet>${nextToken ? `<nextToken>${nextToken}</nextToken>` : ''}`;
}

const dummyInstance = { tags: [], id: '', subnetId: '', vpcId: '', availabilityZone: '', instanceType: '', imageId: '', reservationId: '', privateIp: '', launchedAt: 0 } as unknown as Instance;

// ---- TerminateInstances, CreateTags

/**
 * Eventual consistency (--consistency-lag): a new instance is unknown to every other call for a
 * while, TerminateInstances and CreateTags included (InvalidInstanceID.NotFound), as EC2 documents.
 */
export function visibleYet(sb: Sandbox, instance: Instance, now = Date.now()): boolean {
  return now >= instance.launchedAt + sb.faults.consistencyLagMs;
}

function terminateInstances(sb: Sandbox, form: URLSearchParams): { inner: string; subject: string } {
  const ids = list(form, 'InstanceId');
  if (ids.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter InstanceId');
  // TerminateInstancesRequest.InstanceIds: "Up to 1000 instance IDs".
  if (ids.length > 1000) throw new Ec2Error('InvalidParameterValue', `Up to 1000 instance IDs in one request, found ${ids.length}`);
  for (const id of ids) if (!/^i-[0-9a-f]{8,17}$/.test(id)) throw new Ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
  const world = sb.store.world;
  const found = ids.map((id) => world.instances.find((i) => i.id === id && instanceState(sb, i) !== undefined && visibleYet(sb, i)));
  const missing = ids.filter((_, n) => !found[n]);
  if (missing.length > 0) throw new Ec2Error('InvalidInstanceID.NotFound', missing.length === 1 ? `The instance ID '${missing[0]}' does not exist` : `The instance IDs '${missing.join(', ')}' do not exist`);
  const now = Date.now();
  const items = found.map((instance) => {
    const i = instance!;
    const previous = instanceState(sb, i, now)!;
    if (i.terminatedAt === undefined) {
      i.terminatedAt = now;
      sb.onTerminate(i);
    }
    const current = instanceState(sb, i, now)!;
    return `<item><instanceId>${i.id}</instanceId><currentState>${stateXml(current)}</currentState><previousState>${stateXml(previous)}</previousState></item>`;
  });
  sb.store.save();
  return { inner: `<instancesSet>${items.join('')}</instancesSet>`, subject: ids.join(' ') };
}

function changeTags(sb: Sandbox, form: URLSearchParams, how: 'create' | 'delete'): { inner: string; subject: string } {
  const ids = list(form, 'ResourceId');
  if (ids.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter ResourceId');
  // CreateTagsRequest / DeleteTagsRequest.Resources: "Up to 1000 resource IDs".
  if (ids.length > 1000) throw new Ec2Error('InvalidParameterValue', `Up to 1000 resource IDs in one request, found ${ids.length}`);
  const newTags = tags(form, 'Tag');
  if (how === 'create' && newTags.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter Tag');
  const world = sb.store.world;
  // An instance no longer listed (past --terminated-linger) is unknown to EC2, as to TerminateInstances.
  const known = (i: Instance) => visibleYet(sb, i) && instanceState(sb, i) !== undefined;
  const targets = ids.map((id) => {
    const instance = world.instances.find((i) => i.id === id && known(i));
    if (instance) return { id, target: instance as { tags: Tag[] } };
    const owner = world.instances.find((i) => i.volume.id === id && known(i));
    if (owner) return { id, target: owner.volume as { tags: Tag[] } };
    if (id.startsWith('i-')) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    if (id.startsWith('vol-')) throw new Ec2Error('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
    throw new Ec2Error('InvalidID', `The ID '${id}' is not valid`);
  });
  const changed = targets.map(({ id, target }) => {
    if (how === 'create') {
      const after = [...target.tags.filter((t) => !newTags.some((n) => n.key === t.key)), ...newTags];
      // The limit holds after the call, per resource; nothing is written when one would exceed it.
      if (userTagCount(after) > tagsPerResource) throw tagLimit(id);
      return { target, after };
    }
    // DeleteTags: a key with a value deletes the tag only when its value is that one (an empty
    // value only an empty one); a key alone deletes it whatever its value; no Tag at all deletes
    // every tag but EC2's own aws: ones.
    const asked = newTags.map((t, n) => ({ ...t, valueGiven: form.has(`Tag.${n + 1}.Value`) }));
    const after = asked.length === 0
      ? target.tags.filter((t) => t.key.toLowerCase().startsWith('aws:'))
      : target.tags.filter((t) => !asked.some((a) => a.key === t.key && (!a.valueGiven || a.value === t.value)));
    return { target, after };
  });
  for (const { target, after } of changed) target.tags = after;
  sb.store.save();
  return { inner: '<return>true</return>', subject: ids.join(' ') };
}

// ---- DescribeImages: the public images of images.ts, by id

function describeImages(sb: Sandbox, form: URLSearchParams): string {
  const ids = list(form, 'ImageId');
  if (ids.length === 0) throw new Ec2Error('InvalidParameterCombination', 'The sandbox describes images by ImageId.N only');
  for (const id of ids) if (!/^ami-[0-9a-f]{8,17}$/.test(id)) throw new Ec2Error('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`);
  const items = ids.map((id) => {
    const image = knownImage(sb, id);
    const owner = image.family === 'al2023' ? ['137112412989', 'amazon'] : image.family.startsWith('ubuntu') ? ['099720109477', ''] : ['136693071363', ''];
    return [
      `<item><imageId>${id}</imageId><imageLocation>${owner[1] || owner[0]}/${escapeXml(image.name)}</imageLocation><imageState>available</imageState>`,
      `<imageOwnerId>${owner[0]}</imageOwnerId><creationDate>2025-06-10T00:00:00.000Z</creationDate><isPublic>true</isPublic>`,
      `<architecture>x86_64</architecture><imageType>machine</imageType><name>${escapeXml(image.name)}</name>${owner[1] ? `<imageOwnerAlias>${owner[1]}</imageOwnerAlias>` : ''}`,
      `<rootDeviceType>ebs</rootDeviceType><rootDeviceName>${image.rootDevice}</rootDeviceName>`,
      `<blockDeviceMapping><item><deviceName>${image.rootDevice}</deviceName><ebs><snapshotId>snap-0${id.slice(5).padEnd(16, '0').slice(0, 16)}</snapshotId><volumeSize>8</volumeSize><deleteOnTermination>true</deleteOnTermination><volumeType>gp3</volumeType><encrypted>false</encrypted></ebs></item></blockDeviceMapping>`,
      `<virtualizationType>hvm</virtualizationType><hypervisor>xen</hypervisor><enaSupport>true</enaSupport><platformDetails>Linux/UNIX</platformDetails><usageOperation>RunInstances</usageOperation></item>`,
    ].join('');
  });
  return `<imagesSet>${items.join('')}</imagesSet>`;
}

// ---- GetConsoleOutput: the serial console, where cloud-init prints the SSH host keys

/** When cloud-init prints the host keys: once the host has booted, as its SSM agent registers. */
function keysPrintedAt(sb: Sandbox, i: Instance): number {
  return i.launchedAt + sb.timing.bootMs + Math.max(1, sb.timing.ssmOnlineMs / 2);
}

/** The instance's ed25519 host key (made on first use, kept with the instance). */
function hostKey(sb: Sandbox, i: Instance): { line: string; fingerprint: string } {
  if (sb.instanceSsh) i.hostKey = sb.instanceSsh.hostKey(i);
  if (!i.hostKey) {
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    // The SSH wire format: each field a uint32 length and its bytes.
    const string = (b: Buffer) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(b.length, 0);
      return Buffer.concat([length, b]);
    };
    const blob = Buffer.concat([string(Buffer.from('ssh-ed25519')), string(raw)]);
    i.hostKey = `ssh-ed25519 ${blob.toString('base64')}`;
    sb.store.save();
  }
  const blob = Buffer.from(i.hostKey.split(' ')[1]!, 'base64');
  return { line: i.hostKey, fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}` };
}

function consoleText(sb: Sandbox, i: Instance, upTo: number): string {
  const host = `ip-${i.privateIp.replace(/\./g, '-')}`;
  const lines: string[] = [];
  if (upTo >= i.launchedAt + sb.timing.bootMs) {
    lines.push('[    0.000000] Linux version 6.1.0 (sandbox) #1 SMP', `[    1.204518] cloud-init[512]: Cloud-init v. 24.4 running 'init' at ${new Date(i.launchedAt).toUTCString()}.`);
  }
  if (upTo >= keysPrintedAt(sb, i)) {
    // cc_keys_to_console, as cloud-init prints it (the fingerprints prefixed with "ec2:").
    const key = hostKey(sb, i);
    lines.push(
      'ec2: #############################################################',
      'ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----',
      `ec2: 256 ${key.fingerprint} root@${host} (ED25519)`,
      'ec2: -----END SSH HOST KEY FINGERPRINTS-----',
      'ec2: #############################################################',
      '-----BEGIN SSH HOST KEY KEYS-----',
      `${key.line} root@${host}`,
      '-----END SSH HOST KEY KEYS-----',
      `cloud-init[1021]: Cloud-init v. 24.4 finished. Datasource DataSourceEc2Local.  Up ${((keysPrintedAt(sb, i) - i.launchedAt) / 1000).toFixed(2)} seconds`,
    );
  }
  return lines.length ? `${lines.join('\r\n')}\r\n` : '';
}

function getConsoleOutput(sb: Sandbox, form: URLSearchParams): string {
  const id = form.get('InstanceId');
  if (!id) throw new Ec2Error('MissingParameter', 'The request must contain the parameter InstanceId');
  if (!/^i-[0-9a-f]{8,17}$/.test(id)) throw new Ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
  const now = Date.now();
  const instance = sb.store.world.instances.find((i) => i.id === id && instanceState(sb, i, now) !== undefined && visibleYet(sb, i, now));
  if (!instance) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  const latest = form.get('Latest') === 'true';
  // Without Latest: what was buffered at the last state change (running, or shutting down).
  const changes = [instance.launchedAt, instance.launchedAt + sb.timing.bootMs, instance.terminatedAt ?? Infinity].filter((t) => t <= now);
  const text = consoleText(sb, instance, latest ? now : Math.max(...changes));
  return `<instanceId>${id}</instanceId><timestamp>${new Date(now).toISOString()}</timestamp>${text ? `<output>${Buffer.from(text).toString('base64')}</output>` : ''}`;
}

// ---- XML of an instance, as DescribeInstances and RunInstances show it

function stateXml(state: keyof typeof stateCodes): string {
  return `<code>${stateCodes[state]}</code><name>${state}</name>`;
}

export function tagSetXml(list: Tag[]): string {
  return list.length === 0 ? '' : `<tagSet>${list.map((t) => `<item><key>${escapeXml(t.key)}</key><value>${escapeXml(t.value)}</value></item>`).join('')}</tagSet>`;
}

function instanceXml(sb: Sandbox, i: Instance): string {
  const state = instanceState(sb, i) ?? 'terminated';
  const rootDevice = imageOf(i.platform ?? 'al2023').rootDevice;
  const launch = new Date(i.launchedAt).toISOString();
  const dns = `ip-${i.privateIp.replace(/\./g, '-')}.ec2.internal`;
  const reason = i.terminatedBy === 'spot-interruption' ? `Service initiated (${new Date(i.terminatedAt!).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' GMT')})` : i.terminatedAt !== undefined ? `User initiated (${new Date(i.terminatedAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' GMT')})` : '';
  const running = state === 'pending' || state === 'running';
  return [
    `<instanceId>${i.id}</instanceId>`,
    `<imageId>${i.imageId}</imageId>`,
    `<instanceState>${stateXml(state)}</instanceState>`,
    `<privateDnsName>${running ? dns : ''}</privateDnsName>`,
    `<dnsName/>`,
    `<reason>${escapeXml(reason)}</reason>`,
    `<amiLaunchIndex>${i.launchIndex}</amiLaunchIndex>`,
    `<productCodes/>`,
    `<instanceType>${i.instanceType}</instanceType>`,
    i.lifecycle ? `<instanceLifecycle>${i.lifecycle}</instanceLifecycle>` : '',
    `<launchTime>${launch}</launchTime>`,
    `<placement><availabilityZone>${i.availabilityZone}</availabilityZone><groupName/><tenancy>default</tenancy></placement>`,
    `<monitoring><state>disabled</state></monitoring>`,
    running ? `<subnetId>${i.subnetId}</subnetId><vpcId>${i.vpcId}</vpcId><privateIpAddress>${i.privateIp}</privateIpAddress>` : '',
    running && i.publicIp ? `<ipAddress>${i.publicIp}</ipAddress>` : '',
    `<sourceDestCheck>true</sourceDestCheck>`,
    `<groupSet>${i.securityGroupIds.map((g) => `<item><groupId>${g}</groupId><groupName>${g}</groupName></item>`).join('')}</groupSet>`,
    i.terminatedBy === 'spot-interruption' ? `<stateReason><code>Server.SpotInstanceTermination</code><message>Server.SpotInstanceTermination: Spot instance termination</message></stateReason>` : '',
    i.terminatedAt !== undefined && i.terminatedBy === undefined ? `<stateReason><code>Client.UserInitiatedShutdown</code><message>Client.UserInitiatedShutdown: User initiated shutdown</message></stateReason>` : '',
    `<architecture>x86_64</architecture>`,
    `<rootDeviceType>ebs</rootDeviceType>`,
    `<rootDeviceName>${rootDevice}</rootDeviceName>`,
    running ? `<blockDeviceMapping><item><deviceName>${rootDevice}</deviceName><ebs><volumeId>${i.volume.id}</volumeId><status>attached</status><attachTime>${launch}</attachTime><deleteOnTermination>true</deleteOnTermination></ebs></item></blockDeviceMapping>` : '<blockDeviceMapping/>',
    `<virtualizationType>hvm</virtualizationType>`,
    `<clientToken>${escapeXml(i.clientToken ?? '')}</clientToken>`,
    tagSetXml(i.tags),
    `<hypervisor>xen</hypervisor>`,
    i.instanceProfile ? `<iamInstanceProfile><arn>${escapeXml(i.instanceProfile)}</arn><id>AIPA${i.id.slice(2, 19).toUpperCase()}</id></iamInstanceProfile>` : '',
    `<ebsOptimized>false</ebsOptimized>`,
    `<enaSupport>true</enaSupport>`,
    `<metadataOptions><state>applied</state><httpTokens>${i.metadataOptions.httpTokens}</httpTokens><httpPutResponseHopLimit>${i.metadataOptions.hopLimit}</httpPutResponseHopLimit><httpEndpoint>${i.metadataOptions.httpEndpoint}</httpEndpoint><httpProtocolIpv6>disabled</httpProtocolIpv6><instanceMetadataTags>disabled</instanceMetadataTags></metadataOptions>`,
    `<platformDetails>Linux/UNIX</platformDetails>`,
    `<usageOperation>RunInstances</usageOperation>`,
  ].join('');
}

function reservationXml(sb: Sandbox, reservationId: string, instances: Instance[]): string {
  return `<reservationId>${reservationId}</reservationId><ownerId>${sb.accountId}</ownerId><groupSet/><instancesSet>${instances.map((i) => `<item>${instanceXml(sb, i)}</item>`).join('')}</instancesSet>`;
}

export function newRequestId(): string {
  return randomUUID();
}
