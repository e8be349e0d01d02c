// An in-memory world for executor tests: EC2, Parameter Store, Run Command and Jenkins as plain
// objects that keep the rules the executor relies on (ClientToken idempotency, node names unique,
// an agent comes online when its host ran the bootstrap with a stored secret). It can be told to
// die after N mutating calls, to play a process killed mid-run.
import { Tags, parseAgentName, parseSecretParameterName, type AgentNode, type Instance, type Pool, type Fleet } from '../../provisioner/src/model.ts';
import {
  CapacityError,
  LaunchTokenSpent,
  type CommandResult,
  type Compute,
  type FleetLaunchError,
  type Controller,
  type LaunchRequest,
  type NodeSpec,
  type Parameters,
  type RunCommand,
} from '../../provisioner/src/ports.ts';
import type { Systems } from '../../provisioner/src/apply/apply.ts';
import { SsmTransport } from '../../provisioner/src/transport/ssm.ts';

export class Crash extends Error {}

export class World {
  instances = new Map<string, Instance>();
  /** Every ClientToken EC2 has seen, with what it launched and the parameters it was bound to. */
  tokens = new Map<string, { ids: string[]; parameters: string; errors?: FleetLaunchError[] }>();
  /** Launch templates: their versions' settings, in order. */
  templates = new Map<string, { id: string; name: string; pool: string; region: string; versions: string[] }>();
  /** Spot instances each type may still get (a type not listed: unlimited). */
  spotCapacity = new Map<string, number>();
  nodes = new Map<string, AgentNode & { secret: string; remoteFS: string; mode: 'NORMAL' | 'EXCLUSIVE' }>();
  params = new Map<string, string>();
  calls: string[] = [];
  /** Subnets that answer InsufficientInstanceCapacity. */
  fullSubnets = new Set<string>();
  /** Instance ids whose bootstrap command fails. */
  brokenHosts = new Set<string>();
  /** Throw Crash once this many more mutating calls were made. */
  crashAfter = Infinity;
  /** While set, instances launched from now on stay out of DescribeInstances (eventual consistency). */
  hideNewInstances = false;
  private readonly hidden = new Set<string>();
  private serial = 0;

  constructor(public now = 1_700_000_000_000) {}

  private mutate(call: string): void {
    if (this.crashAfter <= 0) throw new Crash(`crashed before ${call}`);
    this.crashAfter -= 1;
    this.calls.push(call);
  }

  mutatingCalls(): string[] {
    return this.calls;
  }

  readonly compute = (region: string): Compute => ({
    region,
    listInstances: async (fleet) => [...this.instances.values()].filter((i) => i.region === region && fleet === 'bank-ci' && !(this.hideNewInstances && this.hidden.has(i.id))),
    launch: async (request: LaunchRequest) => {
      // EC2's idempotency: a token replays its launch, and is spent once its instances are gone.
      const { clientToken, count: _count, ...rest } = request;
      const parameters = JSON.stringify(rest);
      const again = this.tokens.get(clientToken);
      if (again) {
        if (again.parameters !== parameters) throw new LaunchTokenSpent(clientToken, 'IdempotentParameterMismatch', 'other parameters');
        if (again.ids.every((id) => this.instances.get(id)?.state === 'terminated')) throw new LaunchTokenSpent(clientToken, 'IdempotentInstanceTerminated', 'instances terminated');
        return again.ids.map((id) => ({ ...(this.instances.get(id) as Instance) }));
      }
      if (this.fullSubnets.has(request.subnetId)) throw new CapacityError(request.subnetId, 'InsufficientInstanceCapacity');
      this.mutate(`RunInstances ${request.pool} ${request.subnetId} x${request.count}`);
      const ids: string[] = [];
      for (let n = 0; n < request.count; n++) {
        this.serial += 1;
        const id = `i-${this.serial.toString(16).padStart(17, '0')}`;
        ids.push(id);
        if (this.hideNewInstances) this.hidden.add(id);
        this.instances.set(id, {
          id,
          pool: request.pool,
          region,
          state: 'pending',
          subnetId: request.subnetId,
          privateIp: `10.0.0.${this.serial}`,
          launchedAt: this.now,
          launchToken: request.clientToken,
          launched: {
            instanceType: request.instanceType,
            imageId: request.imageId,
            securityGroups: request.securityGroupIds,
            instanceProfileArn: `arn:aws:iam::123456789012:instance-profile/${request.instanceProfile}`,
            rootVolumeGiB: request.rootVolumeGiB,
            publicIp: request.publicIp,
            ...(request.bootstrap ? { tools: request.bootstrap.tools, remoteFS: request.bootstrap.remoteFS, bootstrap: request.bootstrap.digest } : {}),
          },
        });
      }
      this.tokens.set(request.clientToken, { ids, parameters });
      return ids.map((id) => ({ ...(this.instances.get(id) as Instance) }));
    },
    terminate: async (ids) => {
      this.mutate(`TerminateInstances ${ids.join(',')}`);
      for (const id of ids) {
        const i = this.instances.get(id);
        if (i) i.state = 'terminated';
      }
    },
    markBootstrapped: async (ids, at) => {
      this.mutate(`CreateTags ${Tags.bootstrapped} ${ids.join(',')}`);
      for (const id of ids) {
        const i = this.instances.get(id);
        if (i) i.bootstrappedAt = at;
      }
    },
    markIdle: async (ids, mark) => {
      this.mutate(`CreateTags ${Tags.idleSince}=${mark} ${ids.join(',')}`);
      for (const id of ids) {
        const i = this.instances.get(id);
        if (i) i.idleMark = mark;
      }
    },
    resolveImage: async (image) => (image.startsWith('ami-') ? image : 'ami-0123456789abcdef0'),
    consoleOutput: async () => undefined,
    ensureLaunchTemplate: async (spec) => {
      const name = `jenkins-fleet-${spec.fleet}-${spec.pool}`;
      const settings = JSON.stringify(spec);
      let template = [...this.templates.values()].find((t) => t.name === name);
      if (!template) {
        this.mutate(`CreateLaunchTemplate ${name}`);
        template = { id: `lt-${(++this.serial).toString(16).padStart(17, '0')}`, name, pool: spec.pool, region, versions: [settings] };
        this.templates.set(template.id, template);
        return { id: template.id, name, version: 1 };
      }
      const known = template.versions.indexOf(settings);
      if (known >= 0) return { id: template.id, name, version: known + 1 };
      this.mutate(`CreateLaunchTemplateVersion ${name}`);
      template.versions.push(settings);
      return { id: template.id, name, version: template.versions.length };
    },
    listLaunchTemplates: async () => [...this.templates.values()].filter((t) => t.region === region).map(({ id, name, pool }) => ({ id, name, pool, region })),
    deleteLaunchTemplate: async (id) => {
      if (!this.templates.has(id)) return;
      this.mutate(`DeleteLaunchTemplate ${id}`);
      this.templates.delete(id);
    },
    launchFleet: async (request) => {
      const { clientToken, ...rest } = request;
      const parameters = JSON.stringify(rest);
      const again = this.tokens.get(clientToken);
      if (again) {
        if (again.parameters !== parameters) throw new LaunchTokenSpent(clientToken, 'IdempotentParameterMismatch', 'other parameters');
        if (again.ids.length > 0 && again.ids.every((id) => this.instances.get(id)?.state === 'terminated')) throw new LaunchTokenSpent(clientToken, 'IdempotentInstanceTerminated', 'instances terminated');
        return { instances: again.ids.map((id) => ({ ...(this.instances.get(id) as Instance) })), errors: again.errors ?? [] };
      }
      this.mutate(`CreateFleet ${request.pool} ${request.market} x${request.count}`);
      const ids: string[] = [];
      const errors: FleetLaunchError[] = [];
      for (const o of request.overrides) {
        const room = request.market === 'spot' ? (this.spotCapacity.get(o.instanceType) ?? Infinity) : this.fullSubnets.has(o.subnetId) ? 0 : Infinity;
        let placed = 0;
        while (ids.length < request.count && placed < room) {
          this.serial += 1;
          placed += 1;
          const id = `i-${this.serial.toString(16).padStart(17, '0')}`;
          ids.push(id);
          if (request.market === 'spot') this.spotCapacity.set(o.instanceType, room - placed);
          if (this.hideNewInstances) this.hidden.add(id);
          this.instances.set(id, { id, pool: request.pool, region, state: 'pending', subnetId: o.subnetId, instanceType: o.instanceType, market: request.market, privateIp: `10.0.0.${this.serial}`, launchedAt: this.now, launchToken: clientToken });
        }
        if (room === 0 && ids.length < request.count) errors.push({ instanceType: o.instanceType, subnetId: o.subnetId, market: request.market, code: 'InsufficientInstanceCapacity', message: 'no capacity', capacity: true });
      }
      this.tokens.set(clientToken, { ids, parameters, errors });
      return { instances: ids.map((id) => ({ ...(this.instances.get(id) as Instance) })), errors };
    },
  });

  readonly parameters = (region: string): Parameters => ({
    region,
    putSecret: async (name, value) => {
      this.mutate(`PutParameter ${name}`);
      this.params.set(name, value);
    },
    deleteSecret: async (name) => {
      if (!this.params.has(name)) return;
      this.mutate(`DeleteParameter ${name}`);
      this.params.delete(name);
    },
    listNames: async (prefix) => [...this.params.keys()].filter((n) => n.startsWith(prefix)),
  });

  readonly runCommand = (region: string): RunCommand => ({
    region,
    managedOnline: async (_fleet, ids) => {
      // Instances boot between two rounds.
      for (const id of ids) {
        const i = this.instances.get(id);
        if (i?.state === 'pending') i.state = 'running';
      }
      return new Set(ids.filter((id) => this.instances.get(id)?.state === 'running'));
    },
    runScript: async (ids, script) => {
      this.mutate(`SendCommand x${ids.length}`);
      if (ids.length > 50) throw new Error('SendCommand takes at most 50 instance ids');
      if (/secret-for-/.test(script)) throw new Error('a secret reached the command parameters');
      return ids.map((id): CommandResult => {
        if (this.brokenHosts.has(id)) return { instanceId: id, status: 'Failed', exitCode: 1, stdout: '', stderr: 'bootstrap: error: no java for you' };
        const node = [...this.nodes.values()].find((n) => parseAgentName(n.name)?.instanceId === id);
        const stored = this.params.get(`/jenkins-fleet/bank-ci/agents/${id}/secret`);
        if (node && stored === node.secret) {
          node.online = true;
          node.offlineReason = undefined;
        }
        return { instanceId: id, status: 'Success', exitCode: 0, stdout: 'bootstrap: agent service started', stderr: '' };
      });
    },
  });

  readonly controller: Controller = {
    url: 'http://jenkins.test/',
    listNodes: async () => [...this.nodes.values()].map(({ secret: _secret, remoteFS: _remoteFS, mode: _mode, ...node }) => ({ ...node, labels: [...node.labels] })),
    createNode: async (spec: NodeSpec) => {
      if (this.nodes.has(spec.name)) return 'exists';
      this.mutate(`createNode ${spec.name}`);
      this.nodes.set(spec.name, {
        name: spec.name,
        description: spec.description,
        online: false,
        temporarilyOffline: false,
        idle: true,
        labels: spec.labels,
        executors: spec.executors,
        remoteFS: spec.remoteFS,
        mode: spec.mode,
        secret: `secret-for-${spec.name}`,
      });
      return 'created';
    },
    nodeSettings: async (name) => {
      const node = this.nodes.get(name);
      return node ? { description: node.description ?? '', remoteFS: node.remoteFS, executors: node.executors, mode: node.mode, labels: [...node.labels] } : undefined;
    },
    reconfigureNode: async (name, settings) => {
      const node = this.nodes.get(name);
      if (!node) throw new Error(`no node ${name}`);
      // Like Computer.updateByXml on a node read back first: its offline state and builds stay.
      this.mutate(`reconfigureNode ${name}`);
      Object.assign(node, { description: settings.description, remoteFS: settings.remoteFS, executors: settings.executors, mode: settings.mode, labels: [...settings.labels] });
    },
    readSecret: async (name) => {
      const node = this.nodes.get(name);
      if (!node) throw new Error(`no node ${name}`);
      return node.secret;
    },
    drain: async (name, message) => {
      const node = this.nodes.get(name);
      if (!node || node.temporarilyOffline) return;
      this.mutate(`drain ${name}`);
      node.temporarilyOffline = true;
      node.offlineReason = message;
      // OfflineCause.timestamp: when the cause was set, in the controller's clock.
      node.offlineSince = this.now;
      node.online = false;
    },
    resume: async (name) => {
      const node = this.nodes.get(name);
      if (!node?.temporarilyOffline) return;
      this.mutate(`resume ${name}`);
      node.temporarilyOffline = false;
      node.offlineReason = undefined;
      node.offlineSince = undefined;
    },
    deleteNode: async (name) => {
      if (!this.nodes.has(name)) return 'absent';
      this.mutate(`deleteNode ${name}`);
      this.nodes.delete(name);
      return 'deleted';
    },
    readQueue: async () => [],
  };

  systems(fleet: Fleet): Systems {
    const fast = { pollIntervalMs: 1, lingerMs: 0, sleep: async () => {} };
    return {
      controller: this.controller,
      compute: this.compute,
      parameters: this.parameters,
      transport: (pool: Pool) => new SsmTransport(fleet, this.parameters(pool.region), this.runCommand(pool.region), fast),
    };
  }

  /** Secrets in the parameter store whose instance is gone. */
  strayParams(): string[] {
    return [...this.params.keys()].filter((name) => {
      const id = parseSecretParameterName('bank-ci', name);
      const i = id ? this.instances.get(id) : undefined;
      return !i || i.state === 'terminated';
    });
  }
}
