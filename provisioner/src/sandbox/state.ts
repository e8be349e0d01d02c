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
  temporarilyOffline: boolean;
  offlineMessage: string;
  /** Set while a build is (pretended to be) running on it: the control endpoint marks agents busy. */
  busy?: { build: number; since: number };
  /** Why it went offline last (the channel dropped, ...), kept for `offlineCauseReason`. */
  lastDisconnect?: string;
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
  users: { name: string; token: string; permissions: 'admin' | 'read' }[];
  instances: Instance[];
  images: KnownImage[];
  launches: Launch[];
  parameters: Parameter[];
  commands: CommandRecord[];
  nodes: JenkinsNode[];
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
    this.world = existsSync(this.file) ? (JSON.parse(readFileSync(this.file, 'utf8')) as World) : fresh();
    this.world.images ??= [];
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
