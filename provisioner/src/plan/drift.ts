// How an agent differs from what its pool says, field by field. A node's settings (labels,
// executors, mode, description) are changed in place; an instance's (type, image, root volume,
// security groups, instance profile, subnet, public IP, and everything the bootstrap sets up:
// tools, remoteFS and the script itself) make the agent out of date: it is replaced. Only what
// was observed is compared (an instance launched before its settings were recorded, a node whose
// config.xml was not read). Pure.
import { executorsFor, isStaticPool } from '../config/schema.ts';
import { nodeDescription, type Instance, type NodeSettings, type Pool, type PoolResolution } from '../model.ts';

/** One setting that differs: as it is, and as the fleet file wants it. */
export interface FieldChange {
  field: string;
  from: string;
  to: string;
}

/** What a pool wants of an agent's node (its executors as its instance type has them, in a pool of several types). */
export function wantedNodeSettings(fleet: string, pool: Pool, instanceId: string, instanceType?: string): NodeSettings {
  return {
    description: nodeDescription(fleet, pool.name, instanceId, pool.description),
    remoteFS: pool.remoteFS,
    executors: executorsFor(pool, instanceType),
    mode: pool.mode,
    labels: pool.labels,
  };
}

const list = (values: readonly string[]) => (values.length === 0 ? '(none)' : values.join(' '));
const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\u0000') === [...b].sort().join('\u0000');

/**
 * The node settings that differ from the pool's, remoteFS left out: the bootstrap prepares that
 * directory and runs the agent in it, so on EC2 a new remoteFS is an instance change (see
 * instanceChanges) and the node gets it with its new instance.
 */
export function nodeChanges(fleet: string, pool: Pool, instanceId: string, actual: NodeSettings, instanceType?: string): FieldChange[] {
  const wanted = wantedNodeSettings(fleet, pool, instanceId, instanceType);
  const changes: FieldChange[] = [];
  if (!sameSet(actual.labels, wanted.labels)) changes.push({ field: 'labels', from: list(actual.labels), to: list(wanted.labels) });
  if (actual.executors !== wanted.executors) changes.push({ field: 'executors', from: String(actual.executors), to: String(wanted.executors) });
  if (actual.mode !== wanted.mode) changes.push({ field: 'mode', from: actual.mode, to: wanted.mode });
  if (actual.description.trim() !== wanted.description) changes.push({ field: 'description', from: actual.description, to: wanted.description });
  if (isStaticPool(pool) && actual.remoteFS !== wanted.remoteFS) changes.push({ field: 'remoteFS', from: actual.remoteFS, to: wanted.remoteFS });
  return changes;
}

/** The last part of an instance profile's ARN (`arn:aws:iam::1:instance-profile/path/name` -> `name`). */
function profileName(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** What makes an EC2 agent out of date: the settings it was launched with that its pool no longer has. */
export function instanceChanges(pool: Pool, instance: Instance, resolution: PoolResolution | undefined): FieldChange[] {
  if (isStaticPool(pool) || instance.host) return [];
  const launched = instance.launched ?? {};
  const changes: FieldChange[] = [];
  const differs = (field: string, from: string | undefined, to: string) => {
    if (from !== undefined && from !== to) changes.push({ field, from, to });
  };
  // A pool of several types (Spot) takes an instance of any of them.
  const types = pool.instanceTypes.map((t) => t.type);
  const type = instance.instanceType ?? launched.instanceType;
  if (type !== undefined && !types.includes(type)) changes.push({ field: types.length > 1 ? 'instanceTypes' : 'instanceType', from: type, to: list(types) });
  // How it was bought: a pool now on demand does not keep Spot instances, nor a Spot-only pool on-demand ones.
  if (instance.market !== undefined && pool.capacity !== undefined) {
    const accepted = pool.capacity === 'spot-then-on-demand' || (pool.capacity === 'spot') === (instance.market === 'spot');
    if (!accepted) changes.push({ field: 'capacity', from: instance.market, to: pool.capacity });
  }
  if (resolution?.imageId && launched.imageId !== undefined && launched.imageId !== resolution.imageId) {
    const via = pool.image === resolution.imageId ? '' : ` (${pool.image})`;
    changes.push({ field: 'image', from: launched.imageId, to: `${resolution.imageId}${via}` });
  }
  differs('rootVolumeGiB', launched.rootVolumeGiB?.toString(), String(pool.rootVolumeGiB));
  if (launched.securityGroups && !sameSet(launched.securityGroups, pool.securityGroups)) {
    changes.push({ field: 'securityGroups', from: list(launched.securityGroups), to: list(pool.securityGroups) });
  }
  if (launched.instanceProfileArn !== undefined) {
    const matches = pool.instanceProfile.startsWith('arn:') ? launched.instanceProfileArn === pool.instanceProfile : profileName(launched.instanceProfileArn) === pool.instanceProfile;
    if (!matches) changes.push({ field: 'instanceProfile', from: launched.instanceProfileArn, to: pool.instanceProfile });
  }
  if (instance.subnetId && !pool.subnets.includes(instance.subnetId)) {
    changes.push({ field: 'subnets', from: instance.subnetId, to: list(pool.subnets) });
  }
  differs('publicIp', launched.publicIp?.toString(), String(pool.publicIp));
  if (launched.tools && !sameSet(launched.tools, pool.tools)) changes.push({ field: 'tools', from: list(launched.tools), to: list(pool.tools) });
  differs('remoteFS', launched.remoteFS, pool.remoteFS);
  // The script's digest covers what the named fields do not (the controller's URL, the library's
  // Python, the template): shown only when nothing named explains the difference.
  if (changes.every((c) => c.field !== 'tools' && c.field !== 'remoteFS') && launched.bootstrap && resolution && launched.bootstrap !== resolution.bootstrap) {
    changes.push({ field: 'bootstrap', from: `script ${launched.bootstrap}`, to: `script ${resolution.bootstrap}` });
  }
  return changes;
}
