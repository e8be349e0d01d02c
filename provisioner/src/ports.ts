// The contracts between the executor and the outside systems, in the provisioner's own words.
// One adapter per system implements each (aws/ec2.ts, aws/ssm.ts, jenkins/controller.ts); they own
// batching, pagination, retries and timeouts, and nothing else imports an SDK.
import type { AgentNode, IdleMark, Instance, LaunchTemplate, NodeSettings } from './model.ts';
import type { QueueItem } from './plan/demand.ts';
import type { InterruptionNotice } from './plan/interruptions.ts';

export interface LaunchRequest {
  fleet: string;
  pool: string;
  region: string;
  /** How many instances this call should start (MaxCount); at least one or the call fails. */
  count: number;
  subnetId: string;
  /** Idempotency token (<= 64 ASCII): the same token returns the same instances for >= 24 h. */
  clientToken: string;
  /** A resolved AMI id (ami-...). */
  imageId: string;
  instanceType: string;
  securityGroupIds: string[];
  /** Instance profile name or ARN. */
  instanceProfile: string;
  rootVolumeGiB: number;
  publicIp: boolean;
  /** What the bootstrap will set up, recorded on the instance so that a later plan can tell it is out of date. */
  bootstrap?: { tools: string[]; remoteFS: string; digest: string };
}

/** What a pool's launch template holds: every launch setting but the type, the subnet and the tags. */
export interface LaunchTemplateSpec {
  fleet: string;
  pool: string;
  region: string;
  imageId: string;
  securityGroupIds: string[];
  instanceProfile: string;
  rootVolumeGiB: number;
  publicIp: boolean;
}

/** One version of a pool's launch template: the one whose settings a launch uses. */
export interface LaunchTemplateVersion {
  id: string;
  name: string;
  version: number;
}

export type Market = 'spot' | 'on-demand';

/** One CreateFleet (type instant) for a pool: `count` instances of one market across every override. */
export interface FleetLaunchRequest {
  fleet: string;
  pool: string;
  region: string;
  count: number;
  /** Idempotency token (<= 64 ASCII), as for RunInstances. */
  clientToken: string;
  template: LaunchTemplateVersion;
  /** Every (type, subnet) the fleet may draw on. */
  overrides: Array<{ instanceType: string; subnetId: string }>;
  market: Market;
  /**
   * The settings recorded on each instance as RunInstances records them (the template holds them
   * too, but a later plan reads an instance's own tags to tell whether it is out of date).
   */
  recorded?: { rootVolumeGiB: number; publicIp: boolean; bootstrap?: { tools: string[]; remoteFS: string; digest: string } };
}

/** What CreateFleet could not launch from one override (it reports these instead of failing). */
export interface FleetLaunchError {
  instanceType?: string;
  subnetId?: string;
  /** The override's zone, when EC2 names it. */
  zone?: string;
  market: Market;
  code: string;
  message: string;
  /** EC2 had no capacity there (or the zone does not offer the type): worth trying elsewhere. */
  capacity: boolean;
}

export interface FleetLaunchResult {
  instances: Instance[];
  errors: FleetLaunchError[];
}

/** EC2 said it has no capacity for this instance type in this subnet's zone: try another subnet. */
export class CapacityError extends Error {
  constructor(readonly subnetId: string, message: string) {
    super(message);
    this.name = 'CapacityError';
  }
}

/**
 * EC2 refused the launch's ClientToken as spent: it keeps a token >= 24 h after its instances
 * terminated (IdempotentInstanceTerminated) and binds it to its first parameters
 * (IdempotentParameterMismatch). Nothing was launched: try the token's successor.
 */
export class LaunchTokenSpent extends Error {
  constructor(readonly clientToken: string, readonly code: 'IdempotentInstanceTerminated' | 'IdempotentParameterMismatch', message: string) {
    super(message);
    this.name = 'LaunchTokenSpent';
  }
}

/** EC2, for one region. */
export interface Compute {
  readonly region: string;
  /** The instance's ARN, once this region's account is known from a listing or a launch. */
  instanceArn?(instanceId: string): string | undefined;
  /** Every instance tagged with the fleet (all pages, all states incl. terminated while listed). */
  listInstances(fleet: string): Promise<Instance[]>;
  /**
   * Starts instances tagged at creation (instance and volumes) with the fleet, pool, managed-by and
   * launch tags, IMDSv2 required. Throws CapacityError when the subnet cannot take them (no
   * capacity, type not offered in its zone, no free addresses), LaunchTokenSpent for a spent token.
   */
  launch(request: LaunchRequest): Promise<Instance[]>;
  /**
   * Makes sure the pool's launch template exists, tagged with the fleet and pool, with a version
   * holding exactly `spec`'s settings (the same settings give the same version), and names it.
   */
  ensureLaunchTemplate(spec: LaunchTemplateSpec): Promise<LaunchTemplateVersion>;
  /** The fleet's launch templates (tagged with it) in this region. */
  listLaunchTemplates(fleet: string): Promise<LaunchTemplate[]>;
  /** Deletes a launch template and its versions; one already gone is not an error. */
  deleteLaunchTemplate(templateId: string): Promise<void>;
  /**
   * One CreateFleet of type instant: instances tagged at creation as `launch` tags them, from the
   * template, across the overrides. Partial results and per-override errors come back, not thrown;
   * LaunchTokenSpent for a spent token.
   */
  launchFleet(request: FleetLaunchRequest): Promise<FleetLaunchResult>;
  terminate(instanceIds: string[]): Promise<void>;
  /** Records on the instances that their bootstrap succeeded at `at` (epoch ms). */
  markBootstrapped(instanceIds: string[], at: number): Promise<void>;
  /** Records on the instances what `watch` saw of their idleness (Tags.idleSince), for a later process. */
  markIdle(instanceIds: string[], mark: IdleMark): Promise<void>;
  /** `ami-...` as is; `resolve:ssm:/aws/service/...` through the public SSM parameter. */
  resolveImage(image: string): Promise<string>;
  /**
   * What the instance printed to its serial console (GetConsoleOutput, decoded), or undefined while
   * it has printed nothing yet: cloud-init prints the SSH host keys there.
   */
  consoleOutput(instanceId: string): Promise<string | undefined>;
}

/** SSM Parameter Store, for one region: where agents' secrets live. */
export interface Parameters {
  readonly region: string;
  /**
   * Creates or overwrites a SecureString parameter, tagged with the ARN of the one instance that may
   * read it (`reader`). The value is never logged.
   */
  putSecret(name: string, value: string, kmsKeyId?: string, reader?: string): Promise<void>;
  /** Deletes a parameter; a missing one is not an error. */
  deleteSecret(name: string): Promise<void>;
  /** Names of every parameter under `prefix` (recursive, all pages). */
  listNames(prefix: string): Promise<string[]>;
}

export type CommandStatus = 'Success' | 'Failed' | 'TimedOut' | 'Cancelled' | 'Undeliverable' | 'Terminated' | 'InvalidPlatform' | 'AccessDenied';

export interface CommandResult {
  instanceId: string;
  status: CommandStatus;
  exitCode?: number;
  /** The end of the command's stdout and stderr, as SSM kept them. */
  stdout: string;
  stderr: string;
}

/** SSM Run Command, for one region. */
export interface RunCommand {
  readonly region: string;
  /**
   * The subset of `instanceIds` whose SSM agent is online now: DescribeInstanceInformation filtered
   * by the fleet's tag (an id SSM does not know yet is an error there), all pages. Called in rounds
   * by the executor; one round costs calls independent of N / 50.
   */
  managedOnline(fleet: string, instanceIds: string[]): Promise<Set<string>>;
  /**
   * Runs `script` with AWS-RunShellScript on the instances (at most 50 per SendCommand call, every
   * host run even when others fail), waits for every invocation to end or `timeoutSeconds`, and
   * returns one result per instance. The script must hold no secret: SSM stores command parameters.
   */
  runScript(instanceIds: string[], script: string, options: { fleet: string; comment: string; timeoutSeconds: number }): Promise<CommandResult[]>;
}

/** What the provisioner asks Jenkins to create for an agent. */
export interface NodeSpec {
  name: string;
  description: string;
  remoteFS: string;
  executors: number;
  labels: string[];
  mode: 'NORMAL' | 'EXCLUSIVE';
}

/** The Jenkins controller's REST API. */
export interface Controller {
  readonly url: string;
  /** Every node (one `computer/api/json?tree=...` call). The built-in node is left out. */
  listNodes(): Promise<AgentNode[]>;
  /** Creates an inbound (WebSocket) agent; `exists` if a node of that name is already there. */
  createNode(spec: NodeSpec): Promise<'created' | 'exists'>;
  /** The agent's secret from `computer/NAME/jenkins-agent.jnlp`. Never logged. */
  readSecret(name: string): Promise<string>;
  /** Marks the node temporarily offline (no new builds) with a message; no-op if it already is. */
  drain(name: string, message: string): Promise<void>;
  /** Takes a node the provisioner drained back online (toggleOffline again); no-op if online. */
  resume(name: string): Promise<void>;
  /** Deletes the node; `absent` if there was none. */
  deleteNode(name: string): Promise<'deleted' | 'absent'>;
  /** The node's settings from its config.xml; undefined if there is no such node. */
  nodeSettings(name: string): Promise<NodeSettings | undefined>;
  /**
   * Changes the node's settings in place (config.xml read, changed, posted back): everything else
   * it holds (its offline cause, launcher, properties) stays, and so do its connection and builds.
   */
  reconfigureNode(name: string, settings: NodeSettings): Promise<void>;
  /**
   * The build queue (`queue/api/json`, asked in English). Jenkins shows a caller only the items of
   * jobs it may read (Job/Read): without it the queue looks empty.
   */
  readQueue(): Promise<QueueItem[]>;
}

/** One message of the interruption queue: a notice, or something else the queue was sent. */
export interface QueueMessage {
  /** What deletes this receipt of the message (SQS's receipt handle). */
  receipt: string;
  /** SQS's message id, for messages. */
  id: string;
  notice?: InterruptionNotice;
  /** Why the message is no notice (its body is not one of the two EventBridge events). */
  ignored?: string;
}

/** The queue EventBridge puts EC2's interruption notices in (SQS). */
export interface InterruptionQueue {
  readonly url: string;
  /**
   * What waits now (at most 10 a call), hidden from other readers for a while. `briefly`: waits up to
   * a second for a message when none is there (asks every server); otherwise answers at once.
   */
  receive(briefly: boolean): Promise<QueueMessage[]>;
  /** Deletes a message received: its notice was acted on and recorded, or it was none. */
  delete(message: QueueMessage): Promise<void>;
}
