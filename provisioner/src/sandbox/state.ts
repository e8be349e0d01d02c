// The sandbox's world: instances, parameters, commands and Jenkins nodes, kept in one JSON file
// under the state directory so that it outlives a restart of the sandbox and any crash of the
// provisioner. Every mutation is written out (atomically, via rename) before its reply is sent.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageFamily } from './images.ts';

export interface Tag {
  key: string;
  value: string;
}

export interface Instance {
  id: string;
  reservationId: string;
  imageId: string;
  /** What the host runs: the family of its image (older state files: Amazon Linux 2023). */
  platform?: ImageFamily;
  instanceType: string;
  subnetId: string;
  availabilityZone: string;
  vpcId: string;
  privateIp: string;
  publicIp?: string;
  securityGroupIds: string[];
  instanceProfile?: string;
  clientToken?: string;
  launchIndex: number;
  tags: Tag[];
  volume: { id: string; sizeGiB: number; tags: Tag[] };
  metadataOptions: { httpTokens: string; hopLimit: number; httpEndpoint: string };
  userData?: string;
  /** Epoch ms. State is derived from these times and the boot delay, so it survives restarts. */
  launchedAt: number;
  terminatedAt?: number;
}

/** One RunInstances call that carried a ClientToken: replayed when the same token comes again. */
export interface Launch {
  clientToken: string;
  fingerprint: string;
  reservationId: string;
  instanceIds: string[];
}

export interface Parameter {
  name: string;
  type: 'String' | 'StringList' | 'SecureString';
  value: string;
  keyId?: string;
  version: number;
  lastModified: number;
  description?: string;
  tier: string;
}

export interface Invocation {
  instanceId: string;
  status: 'Pending' | 'InProgress' | 'Success' | 'Failed' | 'TimedOut' | 'Cancelled' | 'Undeliverable' | 'Terminated';
  responseCode: number;
  startedAt?: number;
  endedAt?: number;
  stdout: string;
  stderr: string;
}

export interface CommandRecord {
  id: string;
  documentName: string;
  comment?: string;
  /** Parameters as sent (the AWS-RunShellScript `commands`); SSM keeps them, so do we. */
  parameters: Record<string, string[]>;
  requestedAt: number;
  /** executionTimeout of the script. */
  timeoutSeconds: number;
  /** TimeoutSeconds of the request: how long delivery may take. */
  deliverySeconds?: number;
  maxConcurrency: string;
  maxErrors: string;
  invocations: Invocation[];
}

/**
 * Why Jenkins holds a node temporarily offline (Node.temporaryOfflineCause): a person through
 * toggleOffline/changeOfflineCause (OfflineCause.UserCause), or a disk-space monitor
 * (DiskSpaceMonitorDescriptor.DiskSpace, a MonitorOfflineCause) when free space fell below its threshold.
 */
export type OfflineCause =
  | { kind: 'user'; userId: string; message: string | null; timestamp: number }
  | { kind: 'disk-space' | 'temp-space'; path: string; freeBytes: number; totalBytes: number; thresholdBytes: number; timestamp: number };

/** A build pretended to run on an agent (the control endpoint starts and ends it). */
export interface Build {
  number: number;
  since: number;
  /**
   * When the agent under it dropped or its node was deleted: a Pipeline waits this long plus the
   * lost-agent timeout for it to come back, then aborts (the executor is busy until then).
   */
  agentLostAt?: number;
}

export interface JenkinsNode {
  name: string;
  description: string;
  numExecutors: number;
  remoteFS: string;
  labelString: string;
  mode: 'NORMAL' | 'EXCLUSIVE';
  webSocket: boolean;
  workDir?: string;
  createdAt: number;
  temporaryOfflineCause?: OfflineCause;
  /** Set while a build is (pretended to be) running on it. */
  busy?: Build;
  /**
   * Why its channel went last (Computer.offlineCause): it broke (OfflineCause.ChannelTermination),
   * or a person disconnected it (a UserCause). Shown while the agent is not connected.
   */
  lastDisconnect?: OfflineCause | { kind: 'channel'; timestamp: number; /** The throwable that broke it, when known. */ error?: string };
}

/**
 * A computer whose node was deleted while a build ran on it: Jenkins keeps it in the computer list,
 * offline with no executors left but the busy one, until that build ends (AbstractCIBase.updateComputerList).
 */
export interface RemovedComputer {
  name: string;
  busy: Build;
}

export interface SandboxUser {
  name: string;
  token: string;
  password: string;
  /** Permission ids granted in the matrix, e.g. hudson.model.Computer.Create. */
  permissions: string[];
}

/** An AMI the account has seen resolved from a public alias (the sandbox knows no other images). */
export interface KnownImage {
  id: string;
  family: ImageFamily;
  alias: string;
}

export interface World {
  version: 1;
  /** Key of the HMAC that makes node secrets (as Jenkins' JnlpSlaveAgentProtocol secret key). */
  jnlpKey: string;
  users: SandboxUser[];
  instances: Instance[];
  images: KnownImage[];
  launches: Launch[];
  parameters: Parameter[];
  commands: CommandRecord[];
  nodes: JenkinsNode[];
  removedComputers: RemovedComputer[];
  nextBuild: number;
}

export class Store {
  readonly dir: string;
  readonly world: World;
  private readonly file: string;

  constructor(dir: string, fresh: () => World) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'state.json');
    this.world = existsSync(this.file) ? upgrade(JSON.parse(readFileSync(this.file, 'utf8')) as World, fresh) : fresh();
    this.save();
  }

  private closed = false;

  /** Writes the whole world; a crash mid-write leaves the previous file intact. */
  save(): void {
    if (this.closed) return; // late events (agent sockets closing) after the sandbox stopped
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.world));
    renameSync(tmp, this.file);
  }

  close(): void {
    this.save();
    this.closed = true;
  }
}

/**
 * A state directory written by an older sandbox: users without permission lists get the fresh
 * world's users, nodes drained under the old fields keep a person's offline cause.
 */
function upgrade(world: World, fresh: () => World): World {
  world.removedComputers ??= [];
  if (!world.users.every((u) => Array.isArray(u.permissions) && typeof u.password === 'string')) world.users = fresh().users;
  for (const node of world.nodes as Array<JenkinsNode & { temporarilyOffline?: boolean; offlineMessage?: string }>) {
    if (node.temporarilyOffline) node.temporaryOfflineCause ??= { kind: 'user', userId: 'admin', message: node.offlineMessage || null, timestamp: node.createdAt };
    delete node.temporarilyOffline;
    delete node.offlineMessage;
    if (typeof node.lastDisconnect === 'string') node.lastDisconnect = { kind: 'channel', timestamp: node.createdAt };
  }
  return world;
}
