// The provisioner's words for what it manages: the fleet and its pools as the file wants them,
// instances, Jenkins nodes and secrets as observed, and the names and tags that tie them to a
// fleet and a pool. The contracts of the outside systems are in ports.ts.
import type { FleetConfig, PoolConfig } from './config/schema.ts';

/** A pool of the fleet file, with the fleet's region filled in where the pool names none. */
export type Pool = PoolConfig & { region: string };

/** A validated fleet with the environment's overrides applied. */
export interface Fleet extends Omit<FleetConfig, 'pools' | 'lock'> {
  /** The file this fleet was read from (absolute). */
  source: string;
  pools: Pool[];
  /** The run lock's table, its region filled in (the fleet's unless the file names another). */
  lock?: RunLockTable;
}

export interface RunLockTable {
  table: string;
  region: string;
  /** Milliseconds a lock outlives a holder that stopped renewing it. */
  expireAfter: number;
}

/** EC2 tag keys on every managed instance and volume (the IAM policies in terraform/ match them). */
export const Tags = {
  fleet: 'jenkins-fleet:fleet',
  pool: 'jenkins-fleet:pool',
  managedBy: 'jenkins-fleet:managed-by',
  /** The ClientToken of the launch that made the instance: ties a retried launch to its result. */
  launch: 'jenkins-fleet:launch',
  /** Set once the bootstrap command succeeded, as epoch milliseconds. */
  bootstrapped: 'jenkins-fleet:bootstrapped',
  /**
   * `watch`'s memory of a scaled pool's agent that outlives the process (so that `watch --once` from
   * cron can remove for idleness): the first observation that saw its current idle stretch, as epoch
   * milliseconds, or `busy` when the last observation that looked saw it running a build.
   */
  idleSince: 'jenkins-fleet:idle-since',
  /** On an agent's secret parameter: the ARN of the one instance that may read it (terraform/modules/agent-iam). */
  reader: 'jenkins-fleet:instance',
  // How the instance was launched, where EC2 does not say it itself (DescribeInstances reports the
  // type, image, subnet, security groups and instance profile): written at launch, read by the planner.
  /** The root volume's size in GiB as asked (EC2 reports the volume, not its size). */
  rootVolume: 'jenkins-fleet:root-volume-gib',
  /** `true` or `false`: whether a public address was asked for (a running instance may lose one). */
  publicIp: 'jenkins-fleet:public-ip',
  /** The pool's tools, space-separated, as the bootstrap installed them. */
  tools: 'jenkins-fleet:tools',
  /** The pool's remoteFS, which the bootstrap made and runs the agent in. */
  remoteFS: 'jenkins-fleet:remote-fs',
  /** sha256 of the rendered bootstrap script (first 16 hex digits): anything else it depends on. */
  bootstrap: 'jenkins-fleet:bootstrap',
} as const;

export const managedByValue = 'provisioner';

/** Node names are `<pool>-<instance-id>`: unique per instance, so each agent's secret is too. */
export function agentName(pool: string, instanceId: string): string {
  return `${pool}-${instanceId}`;
}

/** Splits a node name made by `agentName`; undefined for names we did not make. */
export function parseAgentName(name: string): { pool: string; instanceId: string } | undefined {
  const match = /^([A-Za-z][A-Za-z0-9_-]*?)-(i-[0-9a-f]{8,17}|h-[A-Za-z0-9_.-]+)$/.exec(name);
  return match ? { pool: match[1] as string, instanceId: match[2] as string } : undefined;
}

/**
 * A static host's stand-in for an instance id: `h-` and its address (and port unless 22), in the
 * characters Jenkins allows in a node name. A fully qualified name's final dot (the DNS root,
 * `build1.bank.internal.`) is dropped: Jenkins refuses a node name ending in a dot
 * (Jenkins.checkGoodName, SECURITY-2424), and the name without it is the same host.
 */
export function staticHostId(address: string, port?: number): string {
  const clean = hostWithoutRoot(address).replace(/[^A-Za-z0-9_.-]/g, '-');
  return `h-${clean}${port && port !== 22 ? `-${port}` : ''}`;
}

/** A host name without the DNS root's dot(s) at its end: `a.example.` and `a.example` are one host. */
export function hostWithoutRoot(address: string): string {
  return address.replace(/\.+$/, '');
}

export function isStaticHostId(id: string): boolean {
  return id.startsWith('h-');
}

/** The first words of every managed node's description: how a node is known to be ours. */
export function nodeDescription(fleet: string, pool: string, instanceId: string, poolDescription?: string): string {
  const own = poolDescription ? ` ${poolDescription}` : '';
  return `Managed by jenkins-fleet (fleet ${fleet}, pool ${pool}); instance ${instanceId}.${own} Changes made by hand are undone by 'provisioner up'.`;
}

/** The fleet and pool named in a managed node's description. */
export function parseNodeDescription(description: string | undefined): { fleet: string; pool: string } | undefined {
  const match = /^Managed by jenkins-fleet \(fleet ([a-z0-9-]+), pool ([A-Za-z0-9_-]+)\)/.exec(description ?? '');
  return match ? { fleet: match[1] as string, pool: match[2] as string } : undefined;
}

/** Where an agent's secret lives in Parameter Store (agents may read only `/jenkins-fleet/<fleet>/*`). */
export function secretParameterName(fleet: string, instanceId: string): string {
  return `${secretParameterPrefix(fleet)}${instanceId}/secret`;
}

export function secretParameterPrefix(fleet: string): string {
  return `/jenkins-fleet/${fleet}/agents/`;
}

/** The instance id in a name made by `secretParameterName`. */
export function parseSecretParameterName(fleet: string, name: string): string | undefined {
  const prefix = secretParameterPrefix(fleet);
  if (!name.startsWith(prefix)) return undefined;
  const match = /^(i-[0-9a-f]{8,17})\/secret$/.exec(name.slice(prefix.length));
  return match?.[1];
}

export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

/**
 * Where an instance is in its life, the one reading of its state every rule uses: `live` (pending
 * or running: it is, or will be, an agent), `stopped` (stopping or stopped: it exists but cannot
 * serve), `gone` (shutting down or terminated: nothing can run there any more).
 */
export type InstanceLife = 'live' | 'stopped' | 'gone';

export function lifeOf(state: InstanceState): InstanceLife {
  if (state === 'pending' || state === 'running') return 'live';
  if (state === 'stopping' || state === 'stopped') return 'stopped';
  return 'gone';
}

/** An EC2 instance carrying the fleet's tag. */
/** Idle since this observation (epoch milliseconds), or last seen running a build. */
export type IdleMark = number | 'busy';

export interface Instance {
  id: string;
  /** From the pool tag; may name a pool no longer in the file. */
  pool: string;
  region: string;
  state: InstanceState;
  subnetId?: string;
  privateIp?: string;
  publicIp?: string;
  /** Epoch milliseconds. */
  launchedAt: number;
  /** Epoch milliseconds of the last successful bootstrap (from its tag), if any. */
  bootstrappedAt?: number;
  /** What `watch` last recorded of its idleness (Tags.idleSince): idle since then, or seen busy. */
  idleMark?: IdleMark;
  launchToken?: string;
  /** Its EC2 instance type, when EC2 said (DescribeInstances, or the launch's answer). */
  instanceType?: string;
  /** How it was bought (EC2's instanceLifecycle): Spot, or On-Demand. */
  market?: 'spot' | 'on-demand';
  /** How it was launched, as far as EC2 reports it or the launch recorded it in tags. */
  launched?: LaunchRecord;
  /** Set for a static pool's host: a machine that always exists, never launched or terminated. */
  host?: { address: string; port?: number; user?: string };
}

/**
 * The settings an instance was launched with. Each is undefined where nothing says (an instance
 * launched before the provisioner recorded it): the planner compares only what is known.
 */
export interface LaunchRecord {
  instanceType?: string;
  /** The AMI id it booted. */
  imageId?: string;
  securityGroups?: string[];
  /** The instance profile's ARN, as EC2 reports it. */
  instanceProfileArn?: string;
  rootVolumeGiB?: number;
  publicIp?: boolean;
  tools?: string[];
  remoteFS?: string;
  /** sha256 of the rendered bootstrap, first 16 hex digits. */
  bootstrap?: string;
}

/** What a node's config.xml says of the settings the fleet file gives a node. */
export interface NodeSettings {
  description: string;
  remoteFS: string;
  executors: number;
  mode: 'NORMAL' | 'EXCLUSIVE';
  labels: string[];
}

/** A Jenkins node as the controller reports it. */
export interface AgentNode {
  name: string;
  description?: string;
  /** Connected and usable (not offline). */
  online: boolean;
  /** Whether its agent is connected, temporarily offline or not (known when Jenkins says). */
  connected?: boolean;
  /** Held offline on purpose: drained, taken offline by a person, or by Jenkins itself. */
  temporarilyOffline: boolean;
  /**
   * Who holds a temporarily offline node offline: a person (or a drain, which is a person's cause
   * too), or Jenkins itself (a disk-space or temp-space monitor).
   */
  heldOfflineBy?: 'person' | 'jenkins';
  /** Epoch milliseconds since the temporary offline cause was set, when Jenkins says. */
  offlineSince?: number;
  /** No build running on it. */
  idle: boolean;
  /** Why it is offline, in the words of whoever took it offline (as plain text). */
  offlineReason?: string;
  /** Its node is deleted; Jenkins lists the computer only until the build still on it ends. */
  deleted?: boolean;
  labels: string[];
  executors: number;
  /** Executors running a build or handed one, when Jenkins listed them (`idle` says only whether any is). */
  busyExecutors?: number;
  /** Its configuration (config.xml), when it was read: what the planner compares with the pool. */
  settings?: NodeSettings;
  /** Its busy executors: the build each runs (when the account may see it) and how far it is. */
  running?: RunningBuild[];
}

/** A build holding one of a node's executors. */
export interface RunningBuild {
  executor: number;
  /** The build's full name (`bank-app » main #12`); undefined when the account may not read the job. */
  build?: string;
  /** The build's URL, as Jenkins gives it (with its root URL), when the account may read the job. */
  url?: string;
  /** Percent of its estimated duration, when Jenkins has an estimate. */
  progress?: number;
}

/** An SSM parameter holding an agent's secret. */
export interface SecretParameter {
  name: string;
  instanceId: string;
  region: string;
}

/** A launch template the provisioner keeps for a Spot pool (tagged with the fleet and the pool). */
export interface LaunchTemplate {
  id: string;
  name: string;
  /** From the pool tag; may name a pool no longer in the file. */
  pool: string;
  region: string;
}

/** The name of a pool's launch template (EC2 allows 3-128 of [a-zA-Z0-9().-/_]). */
export function launchTemplateName(fleet: string, pool: string): string {
  return `jenkins-fleet-${fleet}-${pool}`;
}

/** What the provisioner saw of the world in one observation, all read at about the same time. */
export interface Observed {
  /** Instances tagged with the fleet, in every region the fleet uses, terminated ones included. */
  instances: Instance[];
  /** Every node on the controller (ours are told apart by description and name). */
  nodes: AgentNode[];
  secrets: SecretParameter[];
  /** The fleet's launch templates in every region it uses (absent: not observed). */
  launchTemplates?: LaunchTemplate[];
  /** Epoch milliseconds when the observation was made. */
  now: number;
  /**
   * What each EC2 pool's settings come to now, by pool name: its image resolved to an AMI (a
   * `resolve:ssm:` parameter may now name another) and the digest of its rendered bootstrap.
   * Without it the planner does not compare images and bootstraps.
   */
  resolved?: Record<string, PoolResolution>;
}

export interface PoolResolution {
  imageId?: string;
  bootstrap: string;
}
