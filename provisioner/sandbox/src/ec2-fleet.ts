// The EC2 stand-in's launch templates (CreateLaunchTemplate, CreateLaunchTemplateVersion,
// DescribeLaunchTemplates, DeleteLaunchTemplate) and EC2 Fleet of type instant (CreateFleet): a
// synchronous launch across launch template overrides, Spot and On-Demand, answering what it
// launched and, per override, what it could not, without failing the call.
import { randomUUID } from 'node:crypto';
import { createInstances, count, Ec2Error, escapeXml, fingerprint, instanceTypeShape, integer, list, tagSetXml, tags as readTags, vcpusOf, availabilityZone } from './ec2.ts';
import { spotCapacityOf } from './faults.ts';
import type { FleetRecord, Instance, LaunchTemplate, LaunchTemplateVersion, Tag } from './state.ts';
import { instanceState, resourceId, stableHash, type Sandbox } from './world.ts';

type Entries = Array<[string, string]>;

function templatesOf(sb: Sandbox): LaunchTemplate[] {
  return (sb.store.world.launchTemplates ??= []);
}

/** `PREFIX.rest=value` entries with the prefix taken off, in the order sent. */
function under(form: URLSearchParams, prefix: string): Entries {
  return [...form.entries()].filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, v]) => [k.slice(prefix.length + 1), v]);
}

function token(form: URLSearchParams, max: number): string | undefined {
  const value = form.get('ClientToken') ?? undefined;
  if (value !== undefined && (value.length > max || !/^[\x20-\x7e]+$/.test(value))) {
    throw new Ec2Error('InvalidParameterValue', `Value for parameter ClientToken is invalid: at most ${max} ASCII characters`);
  }
  return value;
}

const templateName = /^[a-zA-Z0-9().\-/_]{3,128}$/;
const templateId = /^lt-[0-9a-f]{17}$/;
const dataTagResourceTypes = new Set(['instance', 'volume', 'network-interface', 'spot-instances-request']);

/** What EC2 checks of LaunchTemplateData when a version is made (the rest only when instances launch). */
function checkTemplateData(data: Entries): void {
  if (data.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter LaunchTemplateData');
  const get = (key: string) => data.find(([k]) => k === key)?.[1];
  const type = get('InstanceType');
  if (type !== undefined && !instanceTypeShape.test(type)) throw new Ec2Error('InvalidParameterValue', `Invalid value '${type}' for InstanceType.`);
  const image = get('ImageId');
  if (image !== undefined && !/^(ami-[0-9a-f]{8,17}|resolve:ssm:\/.+)$/.test(image)) throw new Ec2Error('InvalidAMIID.Malformed', `Invalid id: "${image}" (expecting "ami-...")`);
  const tokens = get('MetadataOptions.HttpTokens');
  if (tokens !== undefined && tokens !== 'optional' && tokens !== 'required') throw new Ec2Error('InvalidParameterValue', `Invalid value '${tokens}' for MetadataOptions.HttpTokens: expected optional or required`);
  const market = get('InstanceMarketOptions.MarketType');
  if (market !== undefined && market !== 'spot' && market !== 'capacity-block') throw new Ec2Error('InvalidParameterValue', `Invalid value '${market}' for InstanceMarketOptions.MarketType`);
  for (const [key, value] of data) {
    if (/^TagSpecification\.\d+\.ResourceType$/.test(key) && !dataTagResourceTypes.has(value)) {
      throw new Ec2Error('InvalidParameterValue', `'${value}' is not a valid taggable resource type for a launch template's instances.`);
    }
    if (/^NetworkInterface\.\d+\.SubnetId$/.test(key) && !/^subnet-[0-9a-f]{8,17}$/.test(value)) throw new Ec2Error('InvalidSubnetID.Malformed', `Invalid id: "${value}" (expecting "subnet-...")`);
  }
}

/** Tags for the launch template itself (TagSpecification ResourceType launch-template only). */
function templateTags(form: URLSearchParams): Tag[] {
  const out: Tag[] = [];
  for (let i = 1; i <= count(form, 'TagSpecification'); i++) {
    const type = form.get(`TagSpecification.${i}.ResourceType`);
    if (type !== 'launch-template') throw new Ec2Error('InvalidParameterValue', `'${type}' is not a valid taggable resource type for this operation.`);
    out.push(...readTags(form, `TagSpecification.${i}.Tag`));
  }
  return out;
}

function launchTemplateXml(t: LaunchTemplate): string {
  const latest = Math.max(...t.versions.map((v) => v.number));
  return `<launchTemplateId>${t.id}</launchTemplateId><launchTemplateName>${escapeXml(t.name)}</launchTemplateName><createTime>${new Date(t.createdAt).toISOString()}</createTime><createdBy>${escapeXml(t.createdBy)}</createdBy><defaultVersionNumber>${t.defaultVersion}</defaultVersionNumber><latestVersionNumber>${latest}</latestVersionNumber>${tagSetXml(t.tags)}`;
}

function versionXml(t: LaunchTemplate, v: LaunchTemplateVersion): string {
  return `<launchTemplateId>${t.id}</launchTemplateId><launchTemplateName>${escapeXml(t.name)}</launchTemplateName><versionNumber>${v.number}</versionNumber>${v.description !== undefined ? `<versionDescription>${escapeXml(v.description)}</versionDescription>` : ''}<createTime>${new Date(v.createdAt).toISOString()}</createTime><createdBy>${escapeXml(t.createdBy)}</createdBy><defaultVersion>${v.number === t.defaultVersion}</defaultVersion>`;
}

function description(form: URLSearchParams): string | undefined {
  const text = form.get('VersionDescription') ?? undefined;
  if (text !== undefined && text.length > 255) throw new Ec2Error('InvalidParameterValue', 'VersionDescription: at most 255 characters');
  return text;
}

export function createLaunchTemplate(sb: Sandbox, form: URLSearchParams): { inner: string; subject: string } {
  const clientToken = token(form, 128);
  const print = fingerprint(form);
  const templates = templatesOf(sb);
  if (clientToken !== undefined) {
    const earlier = templates.find((t) => t.clientToken === clientToken);
    if (earlier) {
      if (earlier.fingerprint !== print) throw new Ec2Error('IdempotentParameterMismatch', 'The client token you have provided is associated with a resource that is already deleted or has different parameters. Please use a different client token.');
      return { inner: `<launchTemplate>${launchTemplateXml(earlier)}</launchTemplate>`, subject: `replay ${earlier.id}` };
    }
  }
  const name = form.get('LaunchTemplateName');
  if (name === null) throw new Ec2Error('MissingParameter', 'The request must contain the parameter LaunchTemplateName');
  if (!templateName.test(name)) {
    throw new Ec2Error('InvalidLaunchTemplateName.MalformedException', 'A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.');
  }
  const data = under(form, 'LaunchTemplateData');
  checkTemplateData(data);
  const tags = templateTags(form);
  if (templates.some((t) => t.name === name)) throw new Ec2Error('InvalidLaunchTemplateName.AlreadyExistsException', `Launch template name already in use.`);
  const now = Date.now();
  const versionDescription = description(form);
  const template: LaunchTemplate = {
    id: resourceId('lt'),
    name,
    createdAt: now,
    createdBy: `arn:aws:iam::${sb.accountId}:root`,
    tags,
    defaultVersion: 1,
    versions: [{ number: 1, createdAt: now, data, fingerprint: print, ...(versionDescription !== undefined ? { description: versionDescription } : {}) }],
    ...(clientToken !== undefined ? { clientToken } : {}),
    fingerprint: print,
  };
  templates.push(template);
  sb.store.save();
  return { inner: `<launchTemplate>${launchTemplateXml(template)}</launchTemplate>`, subject: template.id };
}

/** The template a request names by LaunchTemplateId or LaunchTemplateName (one of them, not both). */
function namedTemplate(sb: Sandbox, id: string | undefined, name: string | undefined): LaunchTemplate {
  if (id !== undefined && name !== undefined) throw new Ec2Error('InvalidParameterCombination', 'You must specify either the launch template ID or launch template name in the request, but not both.');
  if (id === undefined && name === undefined) throw new Ec2Error('MissingParameter', 'You must specify either the launch template ID or launch template name in the request.');
  if (id !== undefined) {
    if (!templateId.test(id)) throw new Ec2Error('InvalidLaunchTemplateId.Malformed', `The specified ID for the launch template (${id}) is not valid. Specify a valid launch template ID and try again.`);
    const found = templatesOf(sb).find((t) => t.id === id);
    if (!found) throw new Ec2Error('InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${id}, does not exist.`);
    return found;
  }
  const found = templatesOf(sb).find((t) => t.name === name);
  if (!found) throw new Ec2Error('InvalidLaunchTemplateName.NotFoundException', `The specified launch template, with template name ${name}, does not exist.`);
  return found;
}

/** Top-level parameter of a LaunchTemplateData key (`NetworkInterface.1.SubnetId` -> `NetworkInterface`). */
function topLevel(key: string): string {
  return key.split('.')[0] as string;
}

export function createLaunchTemplateVersion(sb: Sandbox, form: URLSearchParams): { inner: string; subject: string } {
  const clientToken = token(form, 128);
  const template = namedTemplate(sb, form.get('LaunchTemplateId') ?? undefined, form.get('LaunchTemplateName') ?? undefined);
  const print = fingerprint(form);
  if (clientToken !== undefined) {
    const earlier = template.versions.find((v) => v.clientToken === clientToken);
    if (earlier) {
      if (earlier.fingerprint !== print) throw new Ec2Error('IdempotentParameterMismatch', 'The client token you have provided is associated with a resource that is already deleted or has different parameters. Please use a different client token.');
      return { inner: `<launchTemplateVersion>${versionXml(template, earlier)}</launchTemplateVersion>`, subject: `replay ${template.id}:${earlier.number}` };
    }
  }
  let data = under(form, 'LaunchTemplateData');
  checkTemplateData(data);
  const source = form.get('SourceVersion') ?? undefined;
  if (source !== undefined) {
    // The new version keeps the source's parameters except those LaunchTemplateData gives.
    const base = versionOf(template, source);
    const given = new Set(data.map(([k]) => topLevel(k)));
    data = [...base.data.filter(([k]) => !given.has(topLevel(k))), ...data];
  }
  const versionDescription = description(form);
  const version: LaunchTemplateVersion = {
    number: Math.max(...template.versions.map((v) => v.number)) + 1,
    createdAt: Date.now(),
    data,
    fingerprint: print,
    ...(versionDescription !== undefined ? { description: versionDescription } : {}),
    ...(clientToken !== undefined ? { clientToken } : {}),
  };
  template.versions.push(version);
  sb.store.save();
  return { inner: `<launchTemplateVersion>${versionXml(template, version)}</launchTemplateVersion>`, subject: `${template.id}:${version.number}` };
}

/** A version as a request names it: a number, `$Latest` or `$Default`. */
function versionOf(template: LaunchTemplate, version: string): LaunchTemplateVersion {
  const number = version === '$Latest' ? Math.max(...template.versions.map((v) => v.number)) : version === '$Default' ? template.defaultVersion : /^\d+$/.test(version) ? Number(version) : NaN;
  const found = template.versions.find((v) => v.number === number);
  if (!found) throw new Ec2Error('InvalidLaunchTemplateId.VersionNotFound', `Could not find launch template version ${version} for launch template ${template.id}.`);
  return found;
}

const templateFilters = new Set(['launch-template-name', 'tag-key', 'create-time']);

export function describeLaunchTemplates(sb: Sandbox, form: URLSearchParams): string {
  const ids = list(form, 'LaunchTemplateId');
  const names = list(form, 'LaunchTemplateName');
  const maxResults = integer(form, 'MaxResults');
  if (maxResults !== undefined && (ids.length > 0 || names.length > 0)) {
    throw new Ec2Error('InvalidParameterCombination', 'The parameter MaxResults cannot be used with LaunchTemplateIds or LaunchTemplateNames.');
  }
  if (maxResults !== undefined && (maxResults < 1 || maxResults > 200)) throw new Ec2Error('InvalidParameterValue', `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between 1 and 200.`);
  for (const id of ids) if (!templateId.test(id)) throw new Ec2Error('InvalidLaunchTemplateId.Malformed', `The specified ID for the launch template (${id}) is not valid. Specify a valid launch template ID and try again.`);
  const templates = templatesOf(sb);
  if (ids.some((id) => !templates.some((t) => t.id === id))) throw new Ec2Error('InvalidLaunchTemplateId.NotFound', 'At least one of the launch templates specified in the request does not exist.');
  if (names.some((n) => !templates.some((t) => t.name === n))) throw new Ec2Error('InvalidLaunchTemplateName.NotFoundException', 'At least one of the launch templates specified in the request does not exist.');
  const filters: Array<{ name: string; values: string[] }> = [];
  for (let i = 1; i <= count(form, 'Filter'); i++) {
    const name = form.get(`Filter.${i}.Name`) ?? '';
    if (!name.startsWith('tag:') && !templateFilters.has(name)) throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
    filters.push({ name, values: list(form, `Filter.${i}.Value`) });
  }
  const valuesOf = (t: LaunchTemplate, name: string): string[] =>
    name.startsWith('tag:') ? t.tags.filter((tag) => tag.key === name.slice(4)).map((tag) => tag.value)
      : name === 'tag-key' ? t.tags.map((tag) => tag.key)
        : name === 'launch-template-name' ? [t.name]
          : [new Date(t.createdAt).toISOString()];
  const matched = templates.filter((t) =>
    (ids.length === 0 || ids.includes(t.id)) && (names.length === 0 || names.includes(t.name))
    && filters.every((f) => valuesOf(t, f.name).some((v) => f.values.includes(v))));
  const next = form.get('NextToken');
  let offset = 0;
  if (next) {
    const decoded = /^sbxlt:(\d+)$/.exec(Buffer.from(next, 'base64').toString('utf8'));
    if (!decoded) throw new Ec2Error('InvalidParameterValue', 'The token is not valid (NextToken)');
    offset = Number(decoded[1]);
  }
  const size = maxResults ?? matched.length;
  const page = matched.slice(offset, offset + size);
  const nextToken = offset + size < matched.length ? Buffer.from(`sbxlt:${offset + size}`).toString('base64') : undefined;
  return `<launchTemplates>${page.map((t) => `<item>${launchTemplateXml(t)}</item>`).join('')}</launchTemplates>${nextToken ? `<nextToken>${nextToken}</nextToken>` : ''}`;
}

export function deleteLaunchTemplate(sb: Sandbox, form: URLSearchParams): { inner: string; subject: string } {
  const template = namedTemplate(sb, form.get('LaunchTemplateId') ?? undefined, form.get('LaunchTemplateName') ?? undefined);
  const templates = templatesOf(sb);
  templates.splice(templates.indexOf(template), 1);
  sb.store.save();
  return { inner: `<launchTemplate>${launchTemplateXml(template)}</launchTemplate>`, subject: template.id };
}

// ---- CreateFleet, type instant

const spotStrategies = new Set(['lowest-price', 'diversified', 'capacity-optimized', 'capacity-optimized-prioritized', 'price-capacity-optimized']);
const onDemandStrategies = new Set(['lowest-price', 'prioritized']);
const fleetTagResourceTypes = new Set(['fleet', 'instance', 'volume', 'network-interface']);

/** One launch template override: where and what the fleet may launch. */
interface Candidate {
  config: number;
  template: LaunchTemplate;
  /** The version as the request named it (echoed in the answer). */
  version: string;
  data: Entries;
  instanceType: string;
  subnetId: string | undefined;
  zone: string | undefined;
  priority: number;
}

/** A stable hourly price per type: bigger types cost more; Spot about a third of On-Demand. */
function hourlyPrice(instanceType: string, market: 'spot' | 'on-demand'): number {
  const family = instanceType.split('.')[0] ?? '';
  const perVcpu = 0.04 + (stableHash(family) % 10) / 1000;
  return vcpusOf(instanceType) * perVcpu * (market === 'spot' ? 0.33 : 1);
}

function overridesXml(c: Candidate): string {
  return `<launchTemplateAndOverrides><launchTemplateSpecification><launchTemplateId>${c.template.id}</launchTemplateId><version>${escapeXml(c.version)}</version></launchTemplateSpecification><overrides><instanceType>${c.instanceType}</instanceType>${c.subnetId ? `<subnetId>${c.subnetId}</subnetId>` : ''}${c.zone ? `<availabilityZone>${c.zone}</availabilityZone>` : ''}</overrides></launchTemplateAndOverrides>`;
}

/** The RunInstances-shaped request one override makes: the template's data, the override, the fleet's tags. */
function launchForm(c: Candidate, fleetTags: Map<string, Tag[]>, count: number): URLSearchParams {
  const form = new URLSearchParams();
  for (const [k, v] of c.data) if (k !== 'InstanceType' && k !== 'InstanceMarketOptions.MarketType' && !k.startsWith('InstanceMarketOptions.')) form.append(k, v);
  form.set('InstanceType', c.instanceType);
  if (c.subnetId) {
    // The override's subnet goes to the template's primary interface when it has one.
    if (c.data.some(([k]) => k.startsWith('NetworkInterface.1.'))) form.set('NetworkInterface.1.SubnetId', c.subnetId);
    else form.set('SubnetId', c.subnetId);
  }
  let spec = [...form.keys()].filter((k) => /^TagSpecification\.\d+\.ResourceType$/.test(k)).length;
  for (const [type, tags] of fleetTags) {
    if (type === 'fleet' || tags.length === 0) continue;
    spec += 1;
    form.set(`TagSpecification.${spec}.ResourceType`, type);
    tags.forEach((t, n) => { form.set(`TagSpecification.${spec}.Tag.${n + 1}.Key`, t.key); form.set(`TagSpecification.${spec}.Tag.${n + 1}.Value`, t.value); });
  }
  form.set('MinCount', '1');
  form.set('MaxCount', String(Math.max(1, count)));
  return form;
}

/** What a CreateFleet of type instant would launch from one override: the form and the market. */
export function fleetLaunchForms(sb: Sandbox, form: URLSearchParams): Array<{ form: URLSearchParams; templateId: string; lifecycle: 'spot' | 'on-demand' }> {
  try {
    const { candidates, fleetTags, spotWanted, onDemandWanted } = readFleetRequest(sb, form);
    const markets: Array<'spot' | 'on-demand'> = [...(spotWanted > 0 ? ['spot' as const] : []), ...(onDemandWanted > 0 ? ['on-demand' as const] : [])];
    return candidates.flatMap((c) => markets.map((lifecycle) => ({ form: launchForm(c, fleetTags, 1), templateId: c.template.id, lifecycle })));
  } catch (err) {
    if (err instanceof Ec2Error) return [];
    throw err;
  }
}

/**
 * The CreateFleet parameters the stand-in acts on (and the few it refuses by name below). Any other
 * (an override's ImageId, MaxPrice or InstanceRequirements, SingleInstanceType, capacity
 * reservations, ValidUntil…) would change what EC2 launches, so it is refused rather than ignored:
 * a request that passes here launches what it would launch on EC2.
 */
const modelledFleetParameters = [
  /^(Action|Version|Type|ClientToken)$/,
  /^LaunchTemplateConfigs\.\d+\.LaunchTemplateSpecification\.(LaunchTemplateId|LaunchTemplateName|Version)$/,
  /^LaunchTemplateConfigs\.\d+\.Overrides\.\d+\.(InstanceType|SubnetId|AvailabilityZone|AvailabilityZoneId|Priority|WeightedCapacity)$/,
  /^TargetCapacitySpecification\.(TotalTargetCapacity|OnDemandTargetCapacity|SpotTargetCapacity|DefaultTargetCapacityType)$/,
  /^(SpotOptions|OnDemandOptions)\.(AllocationStrategy|MinTargetCapacity|SingleInstanceType|SingleAvailabilityZone)$/,
  /^(ExcessCapacityTerminationPolicy|ReplaceUnhealthyInstances)$/,
  /^TagSpecification\.\d+\.(ResourceType|Tag\.\d+\.(Key|Value))$/,
];

function readFleetRequest(sb: Sandbox, form: URLSearchParams) {
  const type = form.get('Type') ?? 'maintain';
  if (type !== 'instant') throw new Ec2Error('InvalidParameterValue', `The sandbox implements CreateFleet of Type instant only, found Type ${type}`);
  for (const key of form.keys()) {
    if (!modelledFleetParameters.some((p) => p.test(key))) throw new Ec2Error('InvalidParameterValue', `${key}: not modelled by the sandbox's CreateFleet (it would change what EC2 launches)`);
  }
  for (const options of ['SpotOptions', 'OnDemandOptions']) {
    for (const single of ['SingleInstanceType', 'SingleAvailabilityZone']) {
      if (form.get(`${options}.${single}`) === 'true' && !form.has(`${options}.MinTargetCapacity`)) throw new Ec2Error('InvalidParameterValue', `${options}.${single}: not modelled by the sandbox`);
    }
  }
  const configs = count(form, 'LaunchTemplateConfigs');
  if (configs === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter LaunchTemplateConfigs');
  if (configs > 50) throw new Ec2Error('InvalidParameterValue', 'LaunchTemplateConfigs: at most 50 launch template configurations');
  const candidates: Candidate[] = [];
  for (let i = 1; i <= configs; i++) {
    const prefix = `LaunchTemplateConfigs.${i}`;
    const spec = `${prefix}.LaunchTemplateSpecification`;
    const template = namedTemplate(sb, form.get(`${spec}.LaunchTemplateId`) ?? undefined, form.get(`${spec}.LaunchTemplateName`) ?? undefined);
    const version = form.get(`${spec}.Version`);
    if (version === null) throw new Ec2Error('MissingParameter', `The request must contain the parameter ${spec}.Version (a version number, $Latest or $Default)`);
    const { data } = versionOf(template, version);
    const templateType = data.find(([k]) => k === 'InstanceType')?.[1];
    const overrides = count(form, `${prefix}.Overrides`);
    if (overrides === 0) {
      if (!templateType) throw new Ec2Error('InvalidFleetConfiguration', `The launch template ${template.id} has no instance type and ${prefix} gives no Overrides`);
      candidates.push({ config: i, template, version, data, instanceType: templateType, subnetId: undefined, zone: undefined, priority: Infinity });
    }
    for (let j = 1; j <= overrides; j++) {
      const o = `${prefix}.Overrides.${j}`;
      const instanceType = form.get(`${o}.InstanceType`) ?? templateType;
      if (!instanceType) throw new Ec2Error('InvalidFleetConfiguration', `${o}: no InstanceType, and launch template ${template.id} has none`);
      if (!instanceTypeShape.test(instanceType)) throw new Ec2Error('InvalidParameterValue', `Invalid value '${instanceType}' for InstanceType.`);
      const subnetId = form.get(`${o}.SubnetId`) ?? undefined;
      if (subnetId !== undefined && subnetId.includes(',')) throw new Ec2Error('InvalidParameterValue', `${o}.SubnetId: a request of type instant can have only one subnet ID, found ${subnetId}`);
      if (subnetId !== undefined && !/^subnet-[0-9a-f]{8,17}$/.test(subnetId)) throw new Ec2Error('InvalidSubnetID.Malformed', `Invalid id: "${subnetId}" (expecting "subnet-...")`);
      const zoneGiven = form.get(`${o}.AvailabilityZone`) ?? undefined;
      if (zoneGiven !== undefined && form.has(`${o}.AvailabilityZoneId`)) throw new Ec2Error('InvalidParameterCombination', `${o}: either AvailabilityZone or AvailabilityZoneId, but not both`);
      if (form.has(`${o}.AvailabilityZoneId`)) throw new Ec2Error('InvalidParameterValue', `${o}.AvailabilityZoneId: not modelled by the sandbox (give AvailabilityZone or SubnetId)`);
      const weight = form.get(`${o}.WeightedCapacity`);
      if (weight !== null && Number(weight) !== 1) throw new Ec2Error('InvalidParameterValue', `${o}.WeightedCapacity: the sandbox models a weight of 1 only, found ${weight}`);
      const zone = subnetId ? availabilityZone(sb, subnetId) : zoneGiven;
      if (subnetId && zoneGiven && zoneGiven !== zone) throw new Ec2Error('InvalidParameterCombination', `${o}: subnet ${subnetId} is in ${zone}, not in ${zoneGiven}`);
      const priority = integer(form, `${o}.Priority`) ?? Infinity;
      candidates.push({ config: i, template, version, data, instanceType, subnetId, zone, priority });
    }
  }
  const total = integer(form, 'TargetCapacitySpecification.TotalTargetCapacity');
  if (total === undefined) throw new Ec2Error('MissingParameter', 'The request must contain the parameter TargetCapacitySpecification.TotalTargetCapacity');
  if (total < 1) throw new Ec2Error('InvalidTargetCapacitySpecification', `TotalTargetCapacity must be at least 1 for a fleet of type instant, found ${total}`);
  const onDemand = integer(form, 'TargetCapacitySpecification.OnDemandTargetCapacity') ?? 0;
  const spot = integer(form, 'TargetCapacitySpecification.SpotTargetCapacity') ?? 0;
  if (onDemand < 0 || spot < 0 || onDemand + spot > total) {
    throw new Ec2Error('InvalidTargetCapacitySpecification', `OnDemandTargetCapacity (${onDemand}) plus SpotTargetCapacity (${spot}) may not exceed TotalTargetCapacity (${total})`);
  }
  const defaultType = form.get('TargetCapacitySpecification.DefaultTargetCapacityType') ?? undefined;
  if (defaultType !== undefined && defaultType !== 'spot' && defaultType !== 'on-demand') {
    throw new Ec2Error('InvalidParameterValue', `Invalid value '${defaultType}' for DefaultTargetCapacityType (the sandbox models spot and on-demand)`);
  }
  const rest = total - onDemand - spot;
  if (rest > 0 && defaultType === undefined) throw new Ec2Error('MissingParameter', `TargetCapacitySpecification.DefaultTargetCapacityType: ${rest} unit(s) of TotalTargetCapacity are neither Spot nor On-Demand`);
  const spotStrategy = form.get('SpotOptions.AllocationStrategy') ?? 'lowest-price';
  if (!spotStrategies.has(spotStrategy)) throw new Ec2Error('InvalidParameterValue', `Invalid value '${spotStrategy}' for SpotOptions.AllocationStrategy`);
  const onDemandStrategy = form.get('OnDemandOptions.AllocationStrategy') ?? 'lowest-price';
  if (!onDemandStrategies.has(onDemandStrategy)) throw new Ec2Error('InvalidParameterValue', `Invalid value '${onDemandStrategy}' for OnDemandOptions.AllocationStrategy`);
  for (const options of ['SpotOptions', 'OnDemandOptions']) {
    if (form.has(`${options}.MinTargetCapacity`) && form.get(`${options}.SingleInstanceType`) !== 'true' && form.get(`${options}.SingleAvailabilityZone`) !== 'true') {
      throw new Ec2Error('InvalidParameterCombination', `${options}.MinTargetCapacity needs SingleInstanceType or SingleAvailabilityZone`);
    }
    if (form.has(`${options}.MinTargetCapacity`)) throw new Ec2Error('InvalidParameterValue', `${options}.MinTargetCapacity: not modelled by the sandbox`);
  }
  for (const unsupported of ['ExcessCapacityTerminationPolicy', 'ReplaceUnhealthyInstances']) {
    if (form.has(unsupported)) throw new Ec2Error('InvalidParameterValue', `${unsupported} is supported only for fleets of type maintain`);
  }
  const fleetTags = new Map<string, Tag[]>();
  for (let i = 1; i <= count(form, 'TagSpecification'); i++) {
    const resourceType = form.get(`TagSpecification.${i}.ResourceType`) ?? '';
    if (!fleetTagResourceTypes.has(resourceType)) throw new Ec2Error('InvalidParameterValue', `'${resourceType}' is not a valid taggable resource type for an EC2 Fleet of type instant.`);
    fleetTags.set(resourceType, [...(fleetTags.get(resourceType) ?? []), ...readTags(form, `TagSpecification.${i}.Tag`)]);
  }
  return {
    candidates,
    fleetTags,
    spotWanted: spot + (defaultType === 'spot' ? rest : 0),
    onDemandWanted: onDemand + (defaultType === 'on-demand' ? rest : 0),
    spotStrategy,
    onDemandStrategy,
  };
}

export function createFleet(sb: Sandbox, form: URLSearchParams): { inner: string; subject: string } {
  const world = sb.store.world;
  const fleets = (world.fleets ??= []);
  const clientToken = token(form, 64);
  const print = fingerprint(form);
  if (clientToken !== undefined) {
    const earlier = fleets.find((f) => f.clientToken === clientToken);
    if (earlier) {
      if (earlier.fingerprint !== print) throw new Ec2Error('IdempotentParameterMismatch', 'The client token you have provided is associated with a resource that is already deleted or has different parameters. Please use a different client token.');
      const instances = earlier.instanceIds.map((id) => world.instances.find((i) => i.id === id)).filter((i): i is Instance => i !== undefined);
      if (instances.length > 0 && instances.every((i) => i.terminatedAt !== undefined)) {
        throw new Ec2Error('IdempotentInstanceTerminated', 'The client token you have provided is associated with a resource that is already deleted. Please use a different client token.');
      }
      return { inner: earlier.replyXml, subject: `replay ${clientToken}` };
    }
  }
  const request = readFleetRequest(sb, form);
  const fleetId = `fleet-${randomUUID()}`;
  const launched: Array<{ c: Candidate; lifecycle: 'spot' | 'on-demand'; ids: string[] }> = [];
  const errors: Array<{ c: Candidate; lifecycle: 'spot' | 'on-demand'; code: string; message: string }> = [];
  const now = Date.now();
  const aliveSpot = (c: Candidate) =>
    world.instances.filter((i) => i.lifecycle === 'spot' && i.instanceType === c.instanceType && i.availabilityZone === c.zone && i.terminatedAt === undefined && instanceState(sb, i, now) !== undefined).length;

  for (const lifecycle of ['spot', 'on-demand'] as const) {
    const wanted = lifecycle === 'spot' ? request.spotWanted : request.onDemandWanted;
    let placed = 0;
    const failed = new Set<Candidate>();
    // Allocation rounds: spread the rest over the overrides still usable; one that fails leaves the others to fill in.
    while (placed < wanted) {
      const room = new Map(request.candidates.filter((c) => !failed.has(c)).map((c) => [c, lifecycle === 'spot' ? Math.max(0, spotCapacityOf(sb.faults, c.instanceType, c.zone ?? '') - aliveSpot(c)) : Infinity]));
      const share = new Map<Candidate, number>();
      for (let n = placed; n < wanted; n++) {
        const usable = [...room].filter(([c, left]) => left - (share.get(c) ?? 0) > 0).map(([c]) => c);
        if (usable.length === 0) break;
        const need = wanted - n;
        // price-capacity-optimized: the pools most able to take what is left, the cheapest of them;
        // capacity-optimized-prioritized and prioritized On-Demand: by Priority first.
        const prioritized = lifecycle === 'spot' ? request.spotStrategy === 'capacity-optimized-prioritized' : request.onDemandStrategy === 'prioritized';
        const best = usable.sort((a, b) => {
          const deep = (c: Candidate) => Math.min(need, (room.get(c) ?? 0) - (share.get(c) ?? 0));
          return (prioritized ? a.priority - b.priority : 0)
            || (lifecycle === 'spot' ? deep(b) - deep(a) : 0)
            || hourlyPrice(a.instanceType, lifecycle) - hourlyPrice(b.instanceType, lifecycle)
            || request.candidates.indexOf(a) - request.candidates.indexOf(b);
        })[0] as Candidate;
        share.set(best, (share.get(best) ?? 0) + 1);
      }
      if (share.size === 0) break;
      for (const [c, n] of share) {
        const systemTags: Tag[] = [
          { key: 'aws:ec2:fleet-id', value: fleetId },
          { key: 'aws:ec2launchtemplate:id', value: c.template.id },
          { key: 'aws:ec2launchtemplate:version', value: String(versionOf(c.template, c.version).number) },
        ];
        try {
          const created = createInstances(sb, launchForm(c, request.fleetTags, n), { reservationId: resourceId('r'), ...(lifecycle === 'spot' ? { lifecycle } : {}), systemTags });
          placed += created.length;
          launched.push({ c, lifecycle, ids: created.map((i) => i.id) });
          if (created.length < n) failed.add(c);
        } catch (err) {
          if (!(err instanceof Ec2Error)) throw err;
          failed.add(c);
          errors.push({ c, lifecycle, code: err.code, message: err.message });
        }
      }
    }
    if (placed < wanted && lifecycle === 'spot') {
      for (const c of request.candidates) {
        if (errors.some((e) => e.c === c && e.lifecycle === lifecycle)) continue;
        if (spotCapacityOf(sb.faults, c.instanceType, c.zone ?? '') - aliveSpot(c) <= 0) {
          errors.push({ c, lifecycle, code: 'InsufficientInstanceCapacity', message: 'There is no Spot capacity available that matches your request.' });
        }
      }
    }
  }

  const errorXml = errors.map((e) => `<item>${overridesXml(e.c)}<lifecycle>${e.lifecycle}</lifecycle><errorCode>${escapeXml(e.code)}</errorCode><errorMessage>${escapeXml(e.message)}</errorMessage></item>`).join('');
  const instanceXml = launched.map((l) => `<item>${overridesXml(l.c)}<lifecycle>${l.lifecycle}</lifecycle><instanceIds>${l.ids.map((id) => `<item>${id}</item>`).join('')}</instanceIds><instanceType>${l.c.instanceType}</instanceType></item>`).join('');
  const replyXml = `<fleetId>${fleetId}</fleetId><errorSet>${errorXml}</errorSet><fleetInstanceSet>${instanceXml}</fleetInstanceSet>`;
  const instanceIds = launched.flatMap((l) => l.ids);
  const record: FleetRecord = { id: fleetId, fingerprint: print, createdAt: now, replyXml, instanceIds, ...(clientToken !== undefined ? { clientToken } : {}) };
  fleets.push(record);
  sb.store.save();
  return { inner: replyXml, subject: [fleetId, ...instanceIds].join(' ') };
}
