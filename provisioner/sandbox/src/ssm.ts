// The SSM stand-in: the JSON 1.1 protocol (POST, `X-Amz-Target: AmazonSSM.<Op>`, errors as
// {"__type","message"}) for Parameter Store, the agents' registration (DescribeInstanceInformation)
// and Run Command (AWS-RunShellScript, which the hosts really execute).
import { createHmac, randomUUID } from 'node:crypto';
import type { CommandRecord, Invocation, Parameter, Tag } from './state.ts';
import { publicImage, type ImageFamily } from './images.ts';
import { instanceState, ssmOnline, type Sandbox } from './world.ts';

export class SsmError extends Error {
  constructor(readonly type: string, message: string, readonly status = 400) {
    super(message);
  }
}

export interface SsmReply {
  status: number;
  body: unknown;
  mutating: boolean;
  error?: string;
  subject?: string;
}

/** Who is calling: the provisioner (account credentials) or a host's `aws` (its instance role). */
export type Caller = { kind: 'account' } | { kind: 'instance'; instanceId: string };

const mutatingOps = new Set(['PutParameter', 'DeleteParameter', 'DeleteParameters', 'SendCommand', 'CancelCommand', 'AddTagsToResource']);

/**
 * The AMI a public alias (/aws/service/...) stands for; the account remembers it, so that
 * RunInstances and DescribeImages know the image by its id afterwards.
 */
export function resolvePublicParameter(sb: Sandbox, name: string): string | undefined {
  const found = publicImage(name, sb.store.world.imageReleases?.[name] ?? 0);
  if (!found) return undefined;
  const images = sb.store.world.images;
  if (!images.some((i) => i.id === found.imageId)) {
    images.push({ id: found.imageId, family: found.image.family, alias: name });
    sb.store.save();
  }
  return found.imageId;
}

export function handleSsm(sb: Sandbox, op: string, input: Record<string, unknown>, caller: Caller): SsmReply {
  const mutating = mutatingOps.has(op);
  try {
    let body: unknown;
    let subject: string | undefined;
    if (caller.kind === 'instance' && op !== 'GetParameter') {
      throw new SsmError('AccessDeniedException', `User: ${instanceArn(sb, caller.instanceId)} is not authorized to perform: ssm:${op} because no identity-based policy allows the ssm:${op} action`);
    }
    if ((op === 'GetParameter' || op === 'GetParameters') && !takeParameterReadToken(sb)) {
      throw new SsmError('ThrottlingException', 'Rate exceeded');
    }
    switch (op) {
      case 'PutParameter': ({ body, subject } = putParameter(sb, input)); break;
      case 'GetParameter': ({ body, subject } = getParameter(sb, input, caller)); break;
      case 'GetParameters': body = getParameters(sb, input); break;
      case 'GetParametersByPath': body = getParametersByPath(sb, input); break;
      case 'DescribeParameters': body = describeParameters(sb, input); break;
      case 'DeleteParameter': ({ body, subject } = deleteParameter(sb, input)); break;
      case 'DeleteParameters': ({ body, subject } = deleteParameters(sb, input)); break;
      case 'DescribeInstanceInformation': body = describeInstanceInformation(sb, input); break;
      case 'SendCommand': ({ body, subject } = sendCommand(sb, input)); break;
      case 'GetCommandInvocation': body = getCommandInvocation(sb, input); break;
      case 'ListCommandInvocations': body = listCommandInvocations(sb, input); break;
      case 'ListCommands': body = listCommands(sb, input); break;
      case 'AddTagsToResource': ({ body, subject } = addTagsToResource(sb, input)); break;
      default:
        throw new SsmError('UnknownOperationException', `Operation ${op} is not implemented by the sandbox (it implements Put/Get/Delete(s)Parameter(s), GetParametersByPath, AddTagsToResource (parameters), DescribeParameters, DescribeInstanceInformation, SendCommand, GetCommandInvocation, ListCommandInvocations, ListCommands)`);
    }
    return { status: 200, body, mutating, ...(subject ? { subject } : {}) };
  } catch (err) {
    if (!(err instanceof SsmError)) throw err;
    return { status: err.status, body: { __type: err.type, message: err.message }, mutating, error: err.type };
  }
}

// ---- Parameter Store's read quota

/**
 * GetParameter and GetParameters share about 40 transactions a second per account and region
 * (Service Quotas, "Systems Manager endpoints and quotas": the default throughput): a bucket of 40
 * refilled at 40 a second. A SendCommand starts 50 hosts that each read their secret at once.
 */
export const parameterReadsPerSecond = 40;
const readBuckets = new WeakMap<Sandbox, { tokens: number; at: number }>();

function takeParameterReadToken(sb: Sandbox, now = Date.now()): boolean {
  const bucket = readBuckets.get(sb) ?? { tokens: parameterReadsPerSecond, at: now };
  bucket.tokens = Math.min(parameterReadsPerSecond, bucket.tokens + ((now - bucket.at) / 1000) * parameterReadsPerSecond);
  bucket.at = now;
  readBuckets.set(sb, bucket);
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

// ---- input checks

function str(input: Record<string, unknown>, field: string, required: true): string;
function str(input: Record<string, unknown>, field: string, required?: false): string | undefined;
function str(input: Record<string, unknown>, field: string, required = false): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) {
    if (required) throw new SsmError('ValidationException', `1 validation error detected: Value null at '${lower(field)}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof v !== 'string') throw new SsmError('SerializationException', `${field}: expected a string`);
  return v;
}

function strings(input: Record<string, unknown>, field: string): string[] | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new SsmError('SerializationException', `${field}: expected a list of strings`);
  return v as string[];
}

function int(input: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new SsmError('SerializationException', `${field}: expected an integer`);
  if (v < min || v > max) throw new SsmError('ValidationException', `1 validation error detected: Value '${v}' at '${lower(field)}' failed to satisfy constraint: Member must have value between ${min} and ${max}`);
  return v;
}

function lower(field: string): string {
  return field[0]!.toLowerCase() + field.slice(1);
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

function instanceArn(sb: Sandbox, instanceId: string): string {
  const instance = sb.store.world.instances.find((i) => i.id === instanceId);
  const role = instance?.instanceProfile?.split('/').pop() ?? 'no-instance-profile';
  return `arn:aws:sts::${sb.accountId}:assumed-role/${role}/${instanceId}`;
}

// ---- KMS: the keys a SecureString may name

/**
 * The key `keyId` names, in any form KMS accepts (key id, key ARN, alias name, alias ARN): the
 * account's AWS managed aws/ssm key, or one of the sandbox's customer managed keys (--kms-key).
 */
export function kmsKeyOf(sb: Sandbox, keyId: string): KmsKey | undefined {
  const prefix = `arn:aws:kms:${sb.region}:${sb.accountId}:`;
  const name = keyId.startsWith(prefix) ? keyId.slice(prefix.length) : keyId;
  return sandboxKeys(sb).find((k) => name === k.id || name === `key/${k.id}` || name === k.alias);
}

export interface KmsKey {
  id: string;
  alias: string;
  arn: string;
}

export function sandboxKeys(sb: Sandbox): KmsKey[] {
  return ['alias/aws/ssm', ...sb.kmsAliases].map((alias) => {
    const h = createHmac('sha256', 'sandbox-kms').update(`${sb.accountId}/${alias}`).digest('hex');
    const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
    return { id, alias, arn: `arn:aws:kms:${sb.region}:${sb.accountId}:key/${id}` };
  });
}

// ---- Parameter Store

const nameShape = /^[a-zA-Z0-9_.\-/]+$/;

function checkName(name: string): void {
  if (name.length > 1011) throw new SsmError('ValidationException', `Parameter name ${name.slice(0, 40)}... is longer than 1011 characters`);
  if (!nameShape.test(name)) throw new SsmError('ValidationException', `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". Valid example: /get/parameters2-/by1./path0_.`);
  if (name.includes('/') && !name.startsWith('/')) throw new SsmError('ValidationException', `Parameter name must be a fully qualified name: ${name}`);
  if (/^\/?(aws|ssm)/i.test(name)) throw new SsmError('ValidationException', `No access to reserved parameter name: ${name}.`);
  if (name.split('/').length - 1 > 15) throw new SsmError('HierarchyLevelLimitExceededException', 'A hierarchy can have a maximum of 15 levels.');
}

function parameterArn(sb: Sandbox, name: string): string {
  return `arn:aws:ssm:${sb.region}:${sb.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
}

/** What a SecureString looks like without decryption: an opaque blob that does not contain the value. */
function ciphertext(sb: Sandbox, p: Parameter): string {
  return Buffer.from(`sandbox-kms:${p.keyId ?? 'alias/aws/ssm'}:`).toString('base64') + createHmac('sha256', sb.store.world.jnlpKey).update(p.value).digest('base64');
}

function parameterJson(sb: Sandbox, p: Parameter, decrypt: boolean): Record<string, unknown> {
  return {
    Name: p.name,
    Type: p.type,
    Value: p.type === 'SecureString' && !decrypt ? ciphertext(sb, p) : p.value,
    Version: p.version,
    LastModifiedDate: seconds(p.lastModified),
    ARN: parameterArn(sb, p.name),
    DataType: 'text',
  };
}

function putParameter(sb: Sandbox, input: Record<string, unknown>): { body: unknown; subject: string } {
  const name = str(input, 'Name', true);
  checkName(name);
  const value = str(input, 'Value', true);
  const type = str(input, 'Type');
  const overwrite = input.Overwrite === true;
  const keyId = str(input, 'KeyId');
  // Without Tier, the account's default tier configuration decides: Standard, the default, here.
  const askedTier = str(input, 'Tier') ?? 'Standard';
  if (type !== undefined && type !== 'String' && type !== 'StringList' && type !== 'SecureString') {
    throw new SsmError('ValidationException', `1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`);
  }
  if (askedTier !== 'Standard' && askedTier !== 'Advanced' && askedTier !== 'Intelligent-Tiering') throw new SsmError('ValidationException', `Tier ${askedTier} is not one of Standard, Advanced, Intelligent-Tiering`);
  if (value.length === 0) throw new SsmError('ValidationException', "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1");
  // PutParameterRequest.Value: "Standard parameters have a value limit of 4 KB. Advanced parameters
  // have a value limit of 8 KB."; Intelligent-Tiering makes a parameter advanced only when it must be.
  if (value.length > 8192) throw new SsmError('ValidationException', 'Advanced tier parameters support a maximum parameter value of 8192 characters.');
  if (askedTier === 'Standard' && value.length > 4096) throw new SsmError('ValidationException', 'Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.');
  // PutParameterRequest.Value: "You can't include values wrapped in double brackets {{}} or {{ssm:parameter-name}}".
  if (/\{\{[\s\S]*\}\}/.test(value)) throw new SsmError('ValidationException', 'Parameter value can\'t nest another parameter. Do not use "{{}}" in the value.');
  if (keyId !== undefined && type !== 'SecureString') throw new SsmError('ValidationException', 'KeyId is required for SecureString type parameter only.');
  if (keyId !== undefined && !kmsKeyOf(sb, keyId)) throw new SsmError('InvalidKeyId', `The query key ID isn't valid: ${keyId} names no KMS key of account ${sb.accountId} in ${sb.region}.`);
  if (overwrite && input.Tags !== undefined) throw new SsmError('ValidationException', 'Invalid request: tags and overwrite can\'t be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.');
  const world = sb.store.world;
  const existing = world.parameters.find((p) => p.name === name);
  if (existing && !overwrite) throw new SsmError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
  if (!existing && type === undefined) throw new SsmError('ValidationException', 'A parameter type is required when you create a parameter.');
  // PutParameterRequest.Tier: "you can't revert an advanced parameter to a standard parameter"
  // (a request without Tier asks for the default tier, Standard).
  if (existing?.tier === 'Advanced' && askedTier === 'Standard') {
    throw new SsmError('ValidationException', 'This parameter uses the advanced-parameter tier. You can\'t downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.');
  }
  const tier = askedTier === 'Intelligent-Tiering' ? (existing?.tier === 'Advanced' || value.length > 4096 ? 'Advanced' : 'Standard') : askedTier;
  const description = str(input, 'Description');
  const tags = input.Tags === undefined ? undefined : parameterTags(input.Tags);
  const record: Parameter = {
    name,
    type: (type ?? existing!.type) as Parameter['type'],
    value,
    ...(keyId !== undefined ? { keyId } : existing?.keyId !== undefined ? { keyId: existing.keyId } : {}),
    version: (existing?.version ?? 0) + 1,
    lastModified: Date.now(),
    ...(description !== undefined ? { description } : {}),
    tier,
    ...(tags ? { tags } : existing?.tags ? { tags: existing.tags } : {}),
  };
  world.parameters = world.parameters.filter((p) => p.name !== name);
  world.parameters.push(record);
  sb.store.save();
  return { body: { Version: record.version, Tier: tier }, subject: name };
}

/** Tags as Parameter Store checks them (the `Tag` shape: key 1-128, value 0-256, at most 50 on a resource). */
function parameterTags(raw: unknown): Tag[] {
  if (!Array.isArray(raw)) throw new SsmError('SerializationException', 'Tags: expected a list of {Key, Value}');
  const tags = raw.map((t: { Key?: unknown; Value?: unknown }) => {
    if (typeof t?.Key !== 'string' || t.Key.length < 1 || t.Key.length > 128) throw new SsmError('ValidationException', "1 validation error detected: Value at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and 128");
    if (typeof t.Value !== 'string' || t.Value.length > 256) throw new SsmError('ValidationException', "1 validation error detected: Value at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to 256");
    if (t.Key.toLowerCase().startsWith('aws:')) throw new SsmError('InvalidParameterValue', 'Tag keys starting with aws: are reserved.');
    return { key: t.Key, value: t.Value };
  });
  if (tags.length > 50) throw new SsmError('TooManyTagsError', 'The Targets parameter includes too many tags. Remove one or more tags and try the command again.');
  return tags;
}

/** AddTagsToResource for parameters: adds or replaces tags by key. */
function addTagsToResource(sb: Sandbox, input: Record<string, unknown>): { body: unknown; subject: string } {
  const type = str(input, 'ResourceType', true);
  const id = str(input, 'ResourceId', true);
  if (type !== 'Parameter') throw new SsmError('InvalidResourceType', `The sandbox tags parameters only, not ${type}`);
  const tags = parameterTags(input.Tags ?? []);
  const p = sb.store.world.parameters.find((x) => x.name === id);
  if (!p) throw new SsmError('InvalidResourceId', 'The resource ID is not valid. Verify that you entered the correct ID and try again.');
  const kept = (p.tags ?? []).filter((t) => !tags.some((n) => n.key === t.key));
  if (kept.length + tags.length > 50) throw new SsmError('TooManyTagsError', 'The Targets parameter includes too many tags. Remove one or more tags and try the command again.');
  p.tags = [...kept, ...tags];
  sb.store.save();
  return { body: {}, subject: id };
}

function getParameter(sb: Sandbox, input: Record<string, unknown>, caller: Caller): { body: unknown; subject: string } {
  const name = str(input, 'Name', true);
  const decrypt = input.WithDecryption === true;
  const alias = resolvePublicParameter(sb, name);
  if (alias) {
    return {
      body: { Parameter: { Name: name, Type: 'String', Value: alias, Version: (sb.store.world.imageReleases?.[name] ?? 0) + 1, LastModifiedDate: seconds(Date.UTC(2026, 0, 1)), ARN: `arn:aws:ssm:${sb.region}::parameter${name}`, DataType: 'aws:ec2:image' } },
      subject: name,
    };
  }
  if (caller.kind === 'instance') {
    // The agents' role may read only their own fleet's parameters (see the project conventions).
    const instance = sb.store.world.instances.find((i) => i.id === caller.instanceId);
    const fleet = instance?.tags.find((t) => t.key === 'jenkins-fleet:fleet')?.value;
    if (!instance?.instanceProfile || !fleet || !name.startsWith(`/jenkins-fleet/${fleet}/`)) {
      throw new SsmError('AccessDeniedException', `User: ${instanceArn(sb, caller.instanceId)} is not authorized to perform: ssm:GetParameter on resource: ${parameterArn(sb, name)} because no identity-based policy allows the ssm:GetParameter action`);
    }
  }
  const p = sb.store.world.parameters.find((x) => x.name === name);
  if (!p) throw new SsmError('ParameterNotFound', '');
  return { body: { Parameter: parameterJson(sb, p, decrypt) }, subject: name };
}

function getParameters(sb: Sandbox, input: Record<string, unknown>): unknown {
  const names = strings(input, 'Names') ?? [];
  if (names.length < 1 || names.length > 10) throw new SsmError('ValidationException', `1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10`);
  const decrypt = input.WithDecryption === true;
  const found = names.map((n) => sb.store.world.parameters.find((p) => p.name === n));
  return {
    Parameters: found.filter((p): p is Parameter => p !== undefined).map((p) => parameterJson(sb, p, decrypt)),
    InvalidParameters: names.filter((_, i) => !found[i]),
  };
}

function page<T>(items: T[], input: Record<string, unknown>, max: number, fallback: number): { items: T[]; next?: string } {
  const size = int(input, 'MaxResults', 1, max) ?? fallback;
  const token = str(input, 'NextToken');
  let offset = 0;
  if (token) {
    const m = /^sbx1:(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
    if (!m) throw new SsmError('InvalidNextToken', 'The specified token is not valid.');
    offset = Number(m[1]);
  }
  const slice = items.slice(offset, offset + size);
  return offset + size < items.length ? { items: slice, next: Buffer.from(`sbx1:${offset + size}`).toString('base64') } : { items: slice };
}

function underPath(name: string, path: string, recursive: boolean): boolean {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  if (!name.startsWith(prefix)) return false;
  return recursive || !name.slice(prefix.length).includes('/');
}

function getParametersByPath(sb: Sandbox, input: Record<string, unknown>): unknown {
  const path = str(input, 'Path', true);
  if (!path.startsWith('/')) throw new SsmError('ValidationException', `The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash "/".`);
  const recursive = input.Recursive === true;
  const decrypt = input.WithDecryption === true;
  const matched = sb.store.world.parameters.filter((p) => underPath(p.name, path, recursive)).sort((a, b) => a.name.localeCompare(b.name));
  const { items, next } = page(matched, input, 10, 10);
  return { Parameters: items.map((p) => parameterJson(sb, p, decrypt)), ...(next ? { NextToken: next } : {}) };
}

function describeParameters(sb: Sandbox, input: Record<string, unknown>): unknown {
  let matched = [...sb.store.world.parameters].sort((a, b) => a.name.localeCompare(b.name));
  const filters = input.ParameterFilters;
  if (filters !== undefined) {
    if (!Array.isArray(filters)) throw new SsmError('SerializationException', 'ParameterFilters: expected a list');
    for (const f of filters as { Key?: string; Option?: string; Values?: string[] }[]) {
      const values = f.Values ?? [];
      if (f.Key === 'Name') {
        const option = f.Option ?? 'Equals';
        matched = matched.filter((p) => values.some((v) => (option === 'BeginsWith' ? p.name.startsWith(v) : option === 'Contains' ? p.name.includes(v) : p.name === v)));
      } else if (f.Key === 'Path') {
        matched = matched.filter((p) => values.some((v) => underPath(p.name, v, f.Option === 'Recursive')));
      } else if (f.Key === 'Type') {
        matched = matched.filter((p) => values.includes(p.type));
      } else {
        throw new SsmError('InvalidFilterKey', `The sandbox supports the ParameterFilters keys Name, Path and Type, not ${f.Key}`);
      }
    }
  }
  const { items, next } = page(matched, input, 50, 50);
  return {
    Parameters: items.map((p) => ({ Name: p.name, ARN: parameterArn(sb, p.name), Type: p.type, ...(p.keyId ? { KeyId: p.keyId } : p.type === 'SecureString' ? { KeyId: 'alias/aws/ssm' } : {}), LastModifiedDate: seconds(p.lastModified), LastModifiedUser: `arn:aws:iam::${sb.accountId}:user/sandbox`, Version: p.version, Tier: p.tier, Policies: [], DataType: 'text' })),
    ...(next ? { NextToken: next } : {}),
  };
}

function deleteParameter(sb: Sandbox, input: Record<string, unknown>): { body: unknown; subject: string } {
  const name = str(input, 'Name', true);
  const world = sb.store.world;
  if (!world.parameters.some((p) => p.name === name)) throw new SsmError('ParameterNotFound', '');
  world.parameters = world.parameters.filter((p) => p.name !== name);
  sb.store.save();
  return { body: {}, subject: name };
}

function deleteParameters(sb: Sandbox, input: Record<string, unknown>): { body: unknown; subject: string } {
  const names = strings(input, 'Names') ?? [];
  if (names.length < 1 || names.length > 10) throw new SsmError('ValidationException', `1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10`);
  const world = sb.store.world;
  const deleted = names.filter((n) => world.parameters.some((p) => p.name === n));
  world.parameters = world.parameters.filter((p) => !names.includes(p.name));
  sb.store.save();
  return { body: { DeletedParameters: deleted, InvalidParameters: names.filter((n) => !deleted.includes(n)) }, subject: names.join(' ') };
}

// ---- Fleet Manager: which hosts' agents are registered

/** The values the SDK model lists for the enumerated InstanceInformation filter keys. */
const enumFilterValues: Record<string, string[]> = {
  PingStatus: ['Online', 'ConnectionLost', 'Inactive'],
  PlatformTypes: ['Windows', 'Linux', 'MacOS'],
  ResourceType: ['EC2Instance', 'ManagedInstance'],
};

function describeInstanceInformation(sb: Sandbox, input: Record<string, unknown>): unknown {
  if (input.Filters !== undefined && input.InstanceInformationFilterList !== undefined) {
    throw new SsmError('ValidationException', 'Filters and InstanceInformationFilterList cannot be used together.');
  }
  let wantedIds: string[] | undefined;
  let wantedPing: string[] | undefined;
  let wantedPlatforms: string[] | undefined;
  let wantedResourceTypes: string[] | undefined;
  const tagFilters: { key: string; values: string[] }[] = [];
  // InstanceInformationStringFilter.Key's valid values for each key (the SDK model): another value
  // is refused rather than matching nothing (a Linux host under PlatformTypes Windows, 'online').
  const checked = (key: string, values: string[]): string[] => {
    const valid = enumFilterValues[key]!;
    const bad = values.find((v) => !valid.includes(v));
    if (values.length === 0 || bad !== undefined) throw new SsmError('InvalidInstanceInformationFilterValue', `The filter value ${JSON.stringify(bad ?? '')} of ${key} is not valid: expected one of ${valid.join(', ')}.`);
    return values;
  };
  const take = (key: string | undefined, values: string[], unknown: () => SsmError) => {
    if (key === 'InstanceIds') wantedIds = values;
    else if (key === 'PingStatus') wantedPing = checked(key, values);
    else if (key === 'PlatformTypes') wantedPlatforms = checked(key, values);
    else if (key === 'ResourceType') wantedResourceTypes = checked(key, values);
    else throw unknown();
  };
  for (const f of (input.Filters ?? []) as { Key?: string; Values?: string[] }[]) {
    const values = f.Values ?? [];
    if (f.Key?.startsWith('tag:')) tagFilters.push({ key: f.Key.slice(4), values });
    else take(f.Key, values, () => new SsmError('InvalidFilterKey', `The filter key ${f.Key} is not supported by the sandbox (InstanceIds, PingStatus, tag:KEY, ResourceType, PlatformTypes)`));
  }
  for (const f of (input.InstanceInformationFilterList ?? []) as { key?: string; valueSet?: string[] }[]) {
    take(f.key, f.valueSet ?? [], () => new SsmError('InvalidInstanceInformationFilterValue', `The filter key ${f.key} is not supported by the sandbox`));
  }
  for (const id of wantedIds ?? []) if (!/^(i|mi)-[0-9a-f]{8,17}$/.test(id)) throw new SsmError('InvalidInstanceId', `Instance id ${id} is not valid`);
  const now = Date.now();
  const registered = sb.store.world.instances
    .map((instance) => {
      const state = instanceState(sb, instance, now);
      if (state === undefined) return undefined;
      let ping: string;
      if (ssmOnline(sb, instance, now)) ping = 'Online';
      else if (instance.terminatedAt !== undefined && !sb.faults.ssmNeverOnline && instance.terminatedAt >= instance.launchedAt + sb.timing.bootMs + sb.timing.ssmOnlineMs) ping = 'ConnectionLost';
      else return undefined; // never registered yet
      return { instance, ping };
    })
    .filter((x): x is NonNullable<typeof x> => x !== undefined);
  const listed = registered
    .filter(({ instance, ping }) =>
      (!wantedIds || wantedIds.includes(instance.id)) &&
      (!wantedPing || wantedPing.includes(ping)) &&
      // Every sandbox host is a Linux EC2 instance.
      (!wantedPlatforms || wantedPlatforms.includes('Linux')) &&
      (!wantedResourceTypes || wantedResourceTypes.includes('EC2Instance')) &&
      tagFilters.every((f) => instance.tags.some((t) => t.key === f.key && f.values.includes(t.value))));
  // An id whose agent never registered is an error, not an empty answer (as SSM says it); one the
  // other filters leave out is simply not listed.
  if (wantedIds) {
    const unknown = wantedIds.filter((id) => !registered.some((x) => x.instance.id === id));
    if (unknown.length > 0) throw new SsmError('InvalidInstanceId', `Instances [[${unknown.join(', ')}]] not in a valid state for account ${sb.accountId}`);
  }
  // The real default page size is not documented; 50 (the maximum) keeps callers that forget
  // NextToken working only up to 50 hosts, as in AWS.
  const { items, next } = page(listed, input, 50, 50);
  if (input.MaxResults !== undefined && (input.MaxResults as number) < 5) throw new SsmError('ValidationException', "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 5");
  return {
    InstanceInformationList: items.map(({ instance, ping }) => ({
      InstanceId: instance.id,
      PingStatus: ping,
      LastPingDateTime: seconds(ping === 'Online' ? now : instance.terminatedAt!),
      AgentVersion: '3.3.987.0',
      IsLatestVersion: false,
      PlatformType: 'Linux',
      ...platformOf(instance.platform ?? 'al2023'),
      ResourceType: 'EC2Instance',
      IPAddress: instance.privateIp,
      ComputerName: `ip-${instance.privateIp.replace(/\./g, '-')}.ec2.internal`,
      ...(instance.instanceProfile ? { IamRole: instance.instanceProfile.split('/').pop() } : {}),
      AssociationStatus: 'Success',
      SourceId: instance.id,
      SourceType: 'AWS::EC2::Instance',
    })),
    ...(next ? { NextToken: next } : {}),
  };
}

/** PlatformName / PlatformVersion as the SSM agent reports them from /etc/os-release. */
function platformOf(family: ImageFamily): { PlatformName: string; PlatformVersion: string } {
  switch (family) {
    case 'al2023': return { PlatformName: 'Amazon Linux', PlatformVersion: '2023' };
    case 'ubuntu-24.04': return { PlatformName: 'Ubuntu', PlatformVersion: '24.04' };
    case 'ubuntu-22.04': return { PlatformName: 'Ubuntu', PlatformVersion: '22.04' };
    case 'debian-12': return { PlatformName: 'Debian GNU/Linux', PlatformVersion: '12' };
  }
}

// ---- Run Command

const allowedParameters = new Set(['commands', 'workingDirectory', 'executionTimeout']);

function sendCommand(sb: Sandbox, input: Record<string, unknown>): { body: unknown; subject: string } {
  const documentName = str(input, 'DocumentName', true);
  if (documentName !== 'AWS-RunShellScript' && !documentName.endsWith(':document/AWS-RunShellScript')) {
    throw new SsmError('InvalidDocument', `Document with name ${documentName} does not exist (the sandbox runs AWS-RunShellScript only).`);
  }
  if (input.Targets !== undefined) throw new SsmError('ValidationException', 'The sandbox supports InstanceIds, not Targets.');
  const ids = strings(input, 'InstanceIds') ?? [];
  if (ids.length === 0) throw new SsmError('ValidationException', 'Either InstanceIds or Targets must be given.');
  if (ids.length > 50) throw new SsmError('ValidationException', `1 validation error detected: Value '[${ids.join(', ')}]' at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50`);
  const parameters = (input.Parameters ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(parameters)) {
    if (!allowedParameters.has(key)) throw new SsmError('InvalidParameters', `Parameter "${key}" is not defined in the document AWS-RunShellScript.`);
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new SsmError('InvalidParameters', `Parameter "${key}" must be a list of strings.`);
  }
  const commands = parameters.commands as string[] | undefined;
  if (!commands || commands.length === 0) throw new SsmError('InvalidParameters', 'Parameters required by the document AWS-RunShellScript are missing: commands.');
  const timeoutRaw = (parameters.executionTimeout as string[] | undefined)?.[0];
  const timeoutSeconds = timeoutRaw === undefined ? 3600 : Number(timeoutRaw);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 172800) throw new SsmError('InvalidParameters', `executionTimeout must be 1 to 172800 seconds, found ${JSON.stringify(timeoutRaw)}`);
  const world = sb.store.world;
  const now = Date.now();
  const invalid = ids.filter((id) => {
    const instance = world.instances.find((i) => i.id === id);
    return !instance || instanceState(sb, instance, now) !== 'running' || !ssmOnline(sb, instance, now);
  });
  if (invalid.length > 0) throw new SsmError('InvalidInstanceId', `Instances [[${invalid.join(', ')}]] not in a valid state for account ${sb.accountId}`);
  const deliverySeconds = int(input, 'TimeoutSeconds', 30, 2592000);
  const comment = str(input, 'Comment');
  if (comment !== undefined && comment.length > 100) throw new SsmError('ValidationException', `1 validation error detected: Value at 'comment' failed to satisfy constraint: Member must have length less than or equal to 100`);
  const maxConcurrency = str(input, 'MaxConcurrency') ?? '50';
  const maxErrors = str(input, 'MaxErrors') ?? '0';
  // The SDK model's patterns for both fields.
  if (!/^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/.test(maxConcurrency)) throw new SsmError('ValidationException', `1 validation error detected: Value '${maxConcurrency}' at 'maxConcurrency' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`);
  if (!/^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$/.test(maxErrors)) throw new SsmError('ValidationException', `1 validation error detected: Value '${maxErrors}' at 'maxErrors' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$`);
  const record: CommandRecord = {
    id: randomUUID(),
    documentName: 'AWS-RunShellScript',
    ...(comment !== undefined ? { comment } : {}),
    parameters: parameters as Record<string, string[]>,
    requestedAt: now,
    timeoutSeconds,
    ...(deliverySeconds !== undefined ? { deliverySeconds } : {}),
    maxConcurrency,
    maxErrors,
    invocations: ids.map((instanceId) => ({ instanceId, status: 'Pending', details: 'Pending', responseCode: -1, stdout: '', stderr: '' })),
  };
  world.commands.push(record);
  sb.store.save();
  const body = { Command: commandJson(sb, record) };
  // Delivery to the hosts happens after the reply, as Run Command's does.
  setImmediate(() => dispatchCommand(sb, record));
  return { body, subject: `${record.id} ${ids.join(' ')}` };
}

/** "50" or "10%" of the command's targets, as SSM reads MaxConcurrency (at least 1) and MaxErrors. */
function limitOf(value: string, targets: number, atLeastOne: boolean): number {
  const n = value.endsWith('%') ? Math.floor((Number(value.slice(0, -1)) * targets) / 100) : Number(value);
  return atLeastOne ? Math.max(1, n) : n;
}

const ended = (i: Invocation) => i.status !== 'Pending' && i.status !== 'InProgress' && i.status !== 'Delayed';
/** Failures and execution timeouts count against MaxErrors; undeliverable hosts do not. */
const countsAsError = (i: Invocation) => i.details === 'Failed' || i.details === 'ExecutionTimedOut';

/**
 * Hands the command's invocations to their hosts, at most MaxConcurrency at a time; once more than
 * MaxErrors have failed, the ones not yet started end as Cancelled / Terminated ("the parent
 * command exceeded its MaxErrors limit and subsequent command invocations were canceled").
 */
export function dispatchCommand(sb: Sandbox, record: CommandRecord): void {
  const targets = record.invocations.length;
  if (record.invocations.filter(countsAsError).length > limitOf(record.maxErrors, targets, false)) {
    const now = Date.now();
    for (const i of record.invocations) {
      if (i.status !== 'Pending') continue;
      i.status = 'Cancelled';
      i.details = 'Terminated';
      i.endedAt = now;
    }
    sb.store.save();
    return;
  }
  let active = record.invocations.filter((i) => i.dispatched && !ended(i)).length;
  for (const i of record.invocations) {
    if (active >= limitOf(record.maxConcurrency, targets, true)) break;
    if (i.dispatched || i.status !== 'Pending') continue;
    i.dispatched = true;
    active++;
    sb.runCommand(record.id, i.instanceId);
  }
}

/** The command's Status and StatusDetails from its invocations (Run Command's aggregation). */
function overallStatus(record: CommandRecord): { status: string; details: string } {
  const invocations = record.invocations;
  if (!invocations.every(ended)) return invocations.every((i) => i.status === 'Pending') ? { status: 'Pending', details: 'Pending' } : { status: 'InProgress', details: 'InProgress' };
  if (invocations.every((i) => i.status === 'Success')) return { status: 'Success', details: 'Success' };
  const errors = invocations.filter(countsAsError).length;
  if (errors > limitOf(record.maxErrors, invocations.length, false)) {
    const timedOut = invocations.filter((i) => i.details === 'ExecutionTimedOut').length > limitOf(record.maxErrors, invocations.length, false);
    return timedOut ? { status: 'TimedOut', details: 'ExecutionTimedOut' } : { status: 'Failed', details: 'Failed' };
  }
  return { status: 'Failed', details: 'Incomplete' };
}

function commandJson(sb: Sandbox, r: CommandRecord): Record<string, unknown> {
  const done = r.invocations.filter((i) => i.status !== 'Pending' && i.status !== 'InProgress');
  return {
    CommandId: r.id,
    DocumentName: r.documentName,
    DocumentVersion: '$DEFAULT',
    Comment: r.comment ?? '',
    ExpiresAfter: seconds(r.requestedAt + (r.timeoutSeconds + 3600) * 1000),
    Parameters: r.parameters,
    InstanceIds: r.invocations.map((i) => i.instanceId),
    Targets: [],
    RequestedDateTime: seconds(r.requestedAt),
    Status: overallStatus(r).status,
    StatusDetails: overallStatus(r).details,
    OutputS3Region: sb.region,
    OutputS3BucketName: '',
    OutputS3KeyPrefix: '',
    MaxConcurrency: r.maxConcurrency,
    MaxErrors: r.maxErrors,
    TargetCount: r.invocations.length,
    CompletedCount: done.length,
    ErrorCount: done.filter(countsAsError).length,
    DeliveryTimedOutCount: done.filter((i) => i.details === 'DeliveryTimedOut').length,
    TimeoutSeconds: r.timeoutSeconds,
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
  };
}

/** Commands become visible to reads only after the consistency lag (see Faults). */
function visibleCommands(sb: Sandbox): CommandRecord[] {
  const now = Date.now();
  return sb.store.world.commands.filter((c) => now >= c.requestedAt + sb.faults.consistencyLagMs);
}

function findInvocation(sb: Sandbox, commandId: string, instanceId: string): { record: CommandRecord; invocation: Invocation } {
  const record = visibleCommands(sb).find((c) => c.id === commandId);
  const invocation = record?.invocations.find((i) => i.instanceId === instanceId);
  if (!record || !invocation) throw new SsmError('InvocationDoesNotExist', '');
  return { record, invocation };
}

function statusDetails(i: Invocation): string {
  return i.details;
}

function duration(i: Invocation): string {
  if (i.startedAt === undefined) return '';
  return `PT${(((i.endedAt ?? Date.now()) - i.startedAt) / 1000).toFixed(3)}S`;
}

function getCommandInvocation(sb: Sandbox, input: Record<string, unknown>): unknown {
  const commandId = str(input, 'CommandId', true);
  const instanceId = str(input, 'InstanceId', true);
  const plugin = str(input, 'PluginName');
  if (commandId.length !== 36) throw new SsmError('ValidationException', `1 validation error detected: Value '${commandId}' at 'commandId' failed to satisfy constraint: Member must have length equal to 36`);
  if (plugin !== undefined && plugin !== 'aws:runShellScript') throw new SsmError('InvalidPluginName', `The plugin name ${plugin} is not valid.`);
  const { record, invocation: i } = findInvocation(sb, commandId, instanceId);
  return {
    CommandId: record.id,
    InstanceId: i.instanceId,
    Comment: record.comment ?? '',
    DocumentName: record.documentName,
    DocumentVersion: '$DEFAULT',
    PluginName: 'aws:runShellScript',
    ResponseCode: i.responseCode,
    ExecutionStartDateTime: i.startedAt !== undefined ? new Date(i.startedAt).toISOString() : '',
    ExecutionElapsedTime: duration(i),
    ExecutionEndDateTime: i.endedAt !== undefined ? new Date(i.endedAt).toISOString() : '',
    Status: i.status,
    StatusDetails: statusDetails(i),
    StandardOutputContent: i.stdout.slice(0, 24000),
    StandardOutputUrl: '',
    StandardErrorContent: i.stderr.slice(0, 8000),
    StandardErrorUrl: '',
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
  };
}

function listCommandInvocations(sb: Sandbox, input: Record<string, unknown>): unknown {
  const commandId = str(input, 'CommandId');
  const instanceId = str(input, 'InstanceId');
  const details = input.Details === true;
  const rows: { record: CommandRecord; invocation: Invocation }[] = [];
  for (const record of visibleCommands(sb)) {
    if (commandId !== undefined && record.id !== commandId) continue;
    for (const invocation of record.invocations) {
      if (instanceId !== undefined && invocation.instanceId !== instanceId) continue;
      rows.push({ record, invocation });
    }
  }
  const { items, next } = page(rows.reverse(), input, 50, 50);
  return {
    CommandInvocations: items.map(({ record, invocation: i }) => ({
      CommandId: record.id,
      InstanceId: i.instanceId,
      InstanceName: '',
      Comment: record.comment ?? '',
      DocumentName: record.documentName,
      DocumentVersion: '$DEFAULT',
      RequestedDateTime: seconds(record.requestedAt),
      Status: i.status,
      StatusDetails: statusDetails(i),
      StandardOutputUrl: '',
      StandardErrorUrl: '',
      CommandPlugins: details
        ? [{
            Name: 'aws:runShellScript',
            Status: i.status,
            StatusDetails: statusDetails(i),
            ResponseCode: i.responseCode,
            ...(i.startedAt !== undefined ? { ResponseStartDateTime: seconds(i.startedAt) } : {}),
            ...(i.endedAt !== undefined ? { ResponseFinishDateTime: seconds(i.endedAt) } : {}),
            // Run Command keeps only the first 2,500 characters of output in this listing.
            Output: `${i.stdout}${i.stderr ? `\n----------ERROR-------\n${i.stderr}` : ''}`.slice(0, 2500),
            StandardOutputUrl: '',
            StandardErrorUrl: '',
            OutputS3Region: sb.region,
            OutputS3BucketName: '',
            OutputS3KeyPrefix: '',
          }]
        : [],
      ServiceRole: '',
      NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    })),
    ...(next ? { NextToken: next } : {}),
  };
}

/**
 * ListCommands: every command the account sent, newest first, with its parameters as sent (SSM
 * keeps them: whoever may call ssm:ListCommands reads them, so no secret may ever be one).
 */
function listCommands(sb: Sandbox, input: Record<string, unknown>): unknown {
  const commandId = str(input, 'CommandId');
  const instanceId = str(input, 'InstanceId');
  if (commandId !== undefined && commandId.length !== 36) throw new SsmError('ValidationException', `1 validation error detected: Value '${commandId}' at 'commandId' failed to satisfy constraint: Member must have length equal to 36`);
  if (input.Filters !== undefined) throw new SsmError('InvalidFilterKey', 'The sandbox lists commands by CommandId and InstanceId, not by Filters');
  const records = visibleCommands(sb)
    .filter((c) => (commandId === undefined || c.id === commandId) && (instanceId === undefined || c.invocations.some((i) => i.instanceId === instanceId)))
    .reverse();
  if (commandId !== undefined && records.length === 0) throw new SsmError('InvalidCommandId', '');
  const { items, next } = page(records, input, 50, 50);
  return { Commands: items.map((r) => commandJson(sb, r)), ...(next ? { NextToken: next } : {}) };
}
