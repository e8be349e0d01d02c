// The sandbox's world: instances, parameters, commands, Jenkins nodes and builds, kept in one JSON file
// under the state directory so that it outlives a restart of the sandbox and any crash of the
// provisioner. Every mutation is written out (atomically, via rename) before its reply is sent.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageFamily } from './images.ts';
import type { SqsQueue } from './sqs.ts';

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
  /** Its SSH host key (`ssh-ed25519 AAAA...`), as cloud-init prints it on the console. */
  hostKey?: string;
  /** Bought on the Spot market (EC2's instanceLifecycle); on-demand when absent. */
  lifecycle?: 'spot';
  /** Epoch ms. State is derived from these times and the boot delay, so it survives restarts. */
  launchedAt: number;
  terminatedAt?: number;
  /** EC2 reclaimed it (a Spot interruption), rather than a TerminateInstances call. */
  terminatedBy?: 'spot-interruption';
  /** A Spot interruption warning was issued at `warnedAt`; EC2 terminates it at `terminateAt`. */
  interruption?: { warnedAt: number; terminateAt: number };
  /** When a rebalance recommendation was issued for it. */
  rebalancedAt?: number;
}

/** One RunInstances call that carried a ClientToken: replayed when the same token comes again. */
export interface Launch {
  clientToken: string;
  fingerprint: string;
  reservationId: string;
  instanceIds: string[];
}

/** A launch template and its versions (each version's LaunchTemplateData as the Query form sent it). */
export interface LaunchTemplate {
  id: string;
  name: string;
  createdAt: number;
  createdBy: string;
  tags: Tag[];
  defaultVersion: number;
  versions: LaunchTemplateVersion[];
  /** The ClientToken of the CreateLaunchTemplate call that made it, with what it asked. */
  clientToken?: string;
  fingerprint: string;
}

export interface LaunchTemplateVersion {
  number: number;
  description?: string;
  createdAt: number;
  /** `LaunchTemplateData.*` entries with the prefix taken off: the same keys RunInstances takes. */
  data: Array<[string, string]>;
  clientToken?: string;
  fingerprint: string;
}

/** One CreateFleet (type instant) call: replayed when its ClientToken comes again. */
export interface FleetRecord {
  id: string;
  clientToken?: string;
  fingerprint: string;
  createdAt: number;
  /** The reply's body as first answered (a replay answers it again). */
  replyXml: string;
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
  /** Parameter Store tags (PutParameter Tags, AddTagsToResource). */
  tags?: Tag[];
}

export interface Invocation {
  instanceId: string;
  /** SSM's CommandInvocationStatus (the SDK model's enum). */
  status: 'Pending' | 'InProgress' | 'Delayed' | 'Success' | 'Cancelled' | 'TimedOut' | 'Failed' | 'Cancelling';
  /** SSM's StatusDetails: the finer state (Undeliverable, Terminated, ExecutionTimedOut...). */
  details: string;
  /** Handed to the host's SSM agent (it may still wait for a slot there). */
  dispatched?: boolean;
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

/**
 * A build the sandbox runs: one run of its Pipeline job whose single `node(label)` step waits in
 * the build queue (a PlaceholderTask), is handed to an executor (pending), runs its body there for
 * its duration and finishes. Where it is comes from its timestamps, so it survives a restart.
 */
export interface SandboxBuild {
  /** The run's number in the sandbox's Pipeline job; also its id in `sandbox builds`. */
  id: number;
  /** The queue item's id (Queue.Item.getId) while it waits. */
  queueId: number;
  /** The `node` step's label as ExecutorStep keeps it (trimmed; null: `node {}`, any agent). */
  label: string | null;
  /** How long its body runs on the executor; null: until `sandbox idle NODE` ends it. */
  durationMs: number | null;
  /** Epoch ms it entered the queue (inQueueSince; the run starts then too). */
  queuedAt: number;
  /** Left the quiet period: a queue maintenance made it buildable (buildableStartMilliseconds). */
  buildableAt?: number;
  /** Handed to an executor of `node` that has not started it yet (BuildableItem.isPending). */
  pendingAt?: number;
  /** Its executor started it: it left the queue. */
  startedAt?: number;
  finishedAt?: number;
  /** The node it is handed to, runs or ran on. */
  node?: string;
  executor?: number;
  result: 'SUCCESS' | 'ABORTED' | null;
  /** Why it was aborted: its node was deleted, or its agent went and did not come back in time. */
  abortedBy?: 'node-removed' | 'spot-interruption';
  /**
   * When the agent under it dropped or its node was deleted: the Pipeline waits the lost-agent
   * timeout for it to come back, then aborts (the executor is busy until then).
   */
  agentLostAt?: number;
  /** EC2 reclaimed its agent's Spot instance while it ran. */
  instanceInterrupted?: boolean;
  /** Its node was deleted while it ran: its executor is on the leftover computer (AbstractCIBase.updateComputerList). */
  nodeRemovedAt?: number;
  /** That leftover computer was deleted from the list (Computer.doDoDelete with no node). */
  computerDelisted?: boolean;
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
  /**
   * Why its channel went last (Computer.offlineCause): it broke (OfflineCause.ChannelTermination),
   * or a person disconnected it (a UserCause). Shown while the agent is not connected.
   */
  lastDisconnect?: OfflineCause | { kind: 'channel'; timestamp: number; /** The throwable that broke it, when known. */ error?: string };
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
  /** New AMIs published under a public alias (`POST /_sandbox/images/release`), by alias. */
  imageReleases?: Record<string, number>;
  launches: Launch[];
  /** Launch templates (older state files have none). */
  launchTemplates?: LaunchTemplate[];
  /** CreateFleet calls of type instant. */
  fleets?: FleetRecord[];
  parameters: Parameter[];
  commands: CommandRecord[];
  nodes: JenkinsNode[];
  /** The builds the sandbox's job keeps, oldest first: every one not finished, and the newest finished ones (`--keep-builds`). */
  builds: SandboxBuild[];
  nextBuild: number;
  nextQueueId: number;
  /** SQS queues and their messages (older state files have none). */
  queues?: SqsQueue[];
  /** The key SQS's receipt handles are signed with (hex). */
  sqsHandleKey?: string;
}

export class Store {
  readonly dir: string;
  readonly world: World;
  private readonly file: string;

  /**
   * `writeBehindMs` 0: every mutation is written before its reply (the default). Above 0 (benchmarks,
   * `--write-behind`): written at most that often and when the sandbox stops, so that rewriting the
   * whole world on each of a large fleet's thousand mutations does not weigh on what is measured.
   */
  constructor(dir: string, fresh: () => World, private readonly writeBehindMs = 0) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'state.json');
    this.world = existsSync(this.file) ? upgrade(JSON.parse(readFileSync(this.file, 'utf8')) as World, fresh) : fresh();
    this.write();
  }

  private closed = false;
  private pending: NodeJS.Timeout | undefined;

  /** Writes the whole world (or, writing behind, soon); a crash mid-write leaves the previous file intact. */
  save(): void {
    if (this.closed) return; // late events (agent sockets closing) after the sandbox stopped
    if (this.writeBehindMs > 0) {
      this.pending ??= setTimeout(() => this.write(), this.writeBehindMs);
      return;
    }
    this.write();
  }

  private write(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.world));
    renameSync(tmp, this.file);
  }

  close(): void {
    if (!this.closed) this.write();
    this.closed = true;
  }
}

/** A build marked on an agent by an older sandbox (before builds ran through the queue). */
interface OlderBusy {
  number: number;
  since: number;
  agentLostAt?: number;
}

/**
 * A state directory written by an older sandbox: users without permission lists get the fresh
 * world's users, nodes drained under the old fields keep a person's offline cause, and a build an
 * older sandbox marked on an agent (or on a deleted node's computer) becomes a running build there.
 */
function upgrade(world: World, fresh: () => World): World {
  const older = world as World & { removedComputers?: Array<{ name: string; busy: OlderBusy }> };
  world.builds ??= [];
  world.nextQueueId ??= 1;
  const carried = (busy: OlderBusy, node: string, removedAt?: number): SandboxBuild => ({
    id: busy.number, queueId: world.nextQueueId++, label: node, durationMs: null, queuedAt: busy.since, buildableAt: busy.since,
    pendingAt: busy.since, startedAt: busy.since, node, executor: 0, result: null,
    ...(busy.agentLostAt !== undefined || removedAt !== undefined ? { agentLostAt: busy.agentLostAt ?? removedAt } : {}),
    ...(removedAt !== undefined ? { nodeRemovedAt: removedAt } : {}),
  });
  for (const computer of older.removedComputers ?? []) world.builds.push(carried(computer.busy, computer.name, computer.busy.agentLostAt ?? Date.now()));
  delete older.removedComputers;
  if (!world.users.every((u) => Array.isArray(u.permissions) && typeof u.password === 'string')) world.users = fresh().users;
  for (const node of world.nodes as Array<JenkinsNode & { temporarilyOffline?: boolean; offlineMessage?: string; busy?: OlderBusy }>) {
    if (node.temporarilyOffline) node.temporaryOfflineCause ??= { kind: 'user', userId: 'admin', message: node.offlineMessage || null, timestamp: node.createdAt };
    delete node.temporarilyOffline;
    delete node.offlineMessage;
    if (typeof node.lastDisconnect === 'string') node.lastDisconnect = { kind: 'channel', timestamp: node.createdAt };
    if (node.busy) world.builds.push(carried(node.busy, node.name));
    delete node.busy;
  }
  return world;
}
