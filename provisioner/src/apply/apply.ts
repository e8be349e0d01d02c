// The executor: carries out a plan's actions against the outside systems. Every agent moves
// through launch -> register -> secret -> bootstrap -> online on its own, so one failing agent
// never holds the others; removals drain first and never kill a busy agent unless forced.
// Every step is safe to repeat, so a run killed at any moment is finished by the next one.
import { createHash } from 'node:crypto';
import { executorsFor, isStaticPool } from '../config/schema.ts';
import { agentName, lifeOf, nodeDescription, secretParameterName, staticHostId, type AgentNode, type Fleet, type Instance, type Pool, type RunningBuild } from '../model.ts';
import { drainMessage, successorToken, usesLaunchTemplate, type Action, type Plan, type RemoveAction } from '../plan/plan.ts';
import { CapacityError, LaunchTokenSpent, type Compute, type Controller, type FleetLaunchResult, type InterruptionQueue, type Parameters } from '../ports.ts';
import { bootstrapDigest, bootstrapValues, renderBootstrap } from '../transport/bootstrap.ts';
import type { AgentTarget, Transport } from '../transport/transport.ts';
import { Batcher, limiter } from './batch.ts';
import { CapacityMemory } from './capacity-memory.ts';
import type { Failure, ProgressEvent, Reporter, Step } from './events.ts';
import { NodeWatch } from './watch.ts';

/** The outside world as the executor reaches it: one shared client per service and region. */
export interface Systems {
  controller: Controller;
  compute(region: string): Compute;
  parameters(region: string): Parameters;
  transport(pool: Pool): Transport;
  /** The queues of EC2's interruption notices, one per region the fleet names (`watch` reads every one). */
  interruptions?: InterruptionQueue[];
}

export interface ApplyOptions {
  /** Epoch milliseconds by which every agent should be online (or removed). */
  deadline: number;
  /** Remove busy agents without waiting for their builds. */
  force?: boolean;
  /** What to tell about an agent still busy at the deadline: the ways on that the command has. */
  busyAtTimeout?: string;
  /** How often a wait for a busy agent says where it is (10 s by default). */
  waitReportMs?: number;
  reporter: Reporter;
  watch?: NodeWatch;
  /** Jenkins calls in flight at once. */
  concurrency?: number;
  /** Where capacity just failed; a long-running caller (watch) passes one across its runs. */
  capacityMemory?: CapacityMemory;
  now?: () => number;
  /** Told once per pool when its launch calls are all answered (before its agents are brought up). */
  launchesAnswered?: (pool: string) => void;
}

export interface ApplyResult {
  failures: Failure[];
  /** Agents seen online at the end of their steps. */
  online: string[];
}

type LaunchAction = Extract<Action, { type: 'launch' }>;
/** What makes or repairs agents, pool by pool, each agent on its own way to online. */
type BringUpAction = Extract<Action, { type: 'launch' | 'register' | 'bootstrap' }>;
/** What resumes or takes away, one action at a time. */
type TakeDownAction = Exclude<Action, BringUpAction>;

export async function applyPlan(fleet: Fleet, plan: Plan, systems: Systems, options: ApplyOptions): Promise<ApplyResult> {
  return new Execution(fleet, systems, options).run(plan);
}

class Execution {
  private readonly failures: Failure[] = [];
  private readonly online: string[] = [];
  private readonly watch: NodeWatch;
  private readonly jenkins: <T>(task: () => Promise<T>) => Promise<T>;
  private readonly now: () => number;
  private readonly pools: Map<string, Pool>;
  private readonly terminations: Batcher<string>;
  private readonly bootstrapMarks: Batcher<string>;
  private readonly capacity: CapacityMemory;
  /** The instance type of each instance this run launched or registers: its agent's executors follow it. */
  private readonly instanceTypes = new Map<string, string>();

  constructor(
    private readonly fleet: Fleet,
    private readonly systems: Systems,
    private readonly options: ApplyOptions,
  ) {
    this.watch = options.watch ?? new NodeWatch(systems.controller);
    this.jenkins = limiter(options.concurrency ?? 16);
    this.now = options.now ?? Date.now;
    this.pools = new Map(fleet.pools.map((p) => [p.name, p]));
    this.terminations = new Batcher((region, ids) => systems.compute(region).terminate(ids), 500);
    this.bootstrapMarks = new Batcher((region, ids) => systems.compute(region).markBootstrapped(ids, this.now()), 500);
    this.capacity = options.capacityMemory ?? new CapacityMemory();
  }

  async run(plan: Plan): Promise<ApplyResult> {
    const byPool = new Map<string, BringUpAction[]>();
    const rest: TakeDownAction[] = [];
    for (const action of plan.actions) {
      if (action.type === 'launch' || action.type === 'register' || action.type === 'bootstrap') {
        byPool.set(action.pool, [...(byPool.get(action.pool) ?? []), action]);
      } else rest.push(action);
    }
    await Promise.all([
      ...[...byPool].map(([pool, actions]) => this.bringUp(this.pools.get(pool) as Pool, actions)),
      ...rest.map((action) => this.carryOut(action)),
    ]);
    return { failures: this.failures, online: this.online };
  }

  private report(event: ProgressEvent): void {
    this.options.reporter.event(event);
  }

  private fail(failure: Failure): void {
    this.failures.push(failure);
    this.report({ kind: 'failed', ...failure });
  }

  /** Launch, register, bootstrap and wait online for one pool's new or broken agents. */
  private async bringUp(pool: Pool, actions: BringUpAction[]): Promise<void> {
    const targets: Array<{ target: AgentTarget; needsNode: boolean }> = [];
    const region = pool.region;
    const launches = actions.filter((a): a is LaunchAction => a.type === 'launch');
    if (launches.length > 0 && !isStaticPool(pool)) {
      let imageId: string | undefined;
      try {
        imageId = await this.systems.compute(region).resolveImage(pool.image);
      } catch (err) {
        this.fail({ pool: pool.name, step: 'launch', error: `resolving image ${pool.image}: ${message(err)}` });
      }
      if (imageId) {
        const launched = usesLaunchTemplate(pool)
          ? [await this.launchSpot(pool, launches, imageId)]
          : await Promise.all(launches.map((a) => this.launch(pool, a, imageId)));
        for (const instance of launched.flat()) {
          if (instance.instanceType) this.instanceTypes.set(instance.id, instance.instanceType);
          targets.push({ target: this.target(pool, instance.id, instance), needsNode: true });
        }
      }
      this.options.launchesAnswered?.(pool.name);
    }
    for (const action of actions) {
      if (action.type === 'register' && action.instanceType) this.instanceTypes.set(action.instanceId, action.instanceType);
      if (action.type === 'register' || action.type === 'bootstrap') {
        targets.push({ target: this.target(pool, action.instanceId), needsNode: action.type === 'register' });
      }
    }
    if (targets.length === 0) return;
    if (pool.transport === 'ssh' && !isStaticPool(pool)) await this.findAddresses(pool, targets.map((t) => t.target));

    const transport = this.systems.transport(pool);
    const prepared = await Promise.all(targets.map(({ target, needsNode }) => this.jenkins(() => this.prepare(pool, transport, target, needsNode))));
    const ready = prepared.filter((t): t is AgentTarget => t !== undefined);
    if (ready.length === 0) return;

    const script = renderBootstrap(bootstrapValues(this.fleet, pool));
    const byName = new Map(ready.map((t) => [t.name, t]));
    const waits: Promise<void>[] = [];
    await transport.bootstrap(ready, script, {
      deadline: this.options.deadline,
      onReady: (name) => this.report({ kind: 'ready', pool: pool.name, agent: name }),
      onProgress: (name, text) => this.report({ kind: 'note', pool: pool.name, agent: name, message: text }),
      onResult: (result) => {
        const target = byName.get(result.name) as AgentTarget;
        if (!result.ok) {
          this.fail({ pool: pool.name, agent: result.name, instanceId: target.instanceId, step: 'bootstrap', error: result.error ?? 'failed' });
          return;
        }
        this.report({ kind: 'bootstrapped', pool: pool.name, agent: result.name });
        waits.push(this.markBootstrapped(pool, target), this.awaitOnline(pool, target));
      },
    });
    await Promise.all(waits);
  }

  /**
   * The addresses of an SSH pool's instances that the run does not know yet: CreateFleet answers
   * instance ids only, and a register or bootstrap action names just the instance. EC2 lists a new
   * instance (and its private IP) a moment after launching it, so the listing is asked again until
   * every address is known or the run's deadline nears; one still unknown then fails on its own.
   */
  private async findAddresses(pool: Pool, targets: AgentTarget[]): Promise<void> {
    const compute = this.systems.compute(pool.region);
    let missing = targets.filter((t) => !t.address && t.instanceId);
    for (let attempt = 0; missing.length > 0; attempt++) {
      let listed: Instance[];
      try {
        listed = await compute.listInstances(this.fleet.fleet);
      } catch (err) {
        this.report({ kind: 'note', pool: pool.name, message: `looking up the addresses of ${missing.map((t) => t.name).join(', ')}: ${message(err)}` });
        return;
      }
      const byId = new Map(listed.map((i) => [i.id, i]));
      for (const target of missing) {
        const instance = byId.get(target.instanceId as string);
        if (instance) Object.assign(target, this.target(pool, instance.id, instance));
      }
      missing = missing.filter((t) => !t.address);
      if (missing.length === 0 || this.now() + 2_000 > this.options.deadline) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 5_000)));
    }
  }

  /** Where an agent lives: a static pool's host, or an instance (its address for SSH). */
  private target(pool: Pool, instanceId: string, instance?: Instance): AgentTarget {
    const name = agentName(pool.name, instanceId);
    if (isStaticPool(pool)) {
      const host = pool.hosts.find((h) => staticHostId(h.address, h.port) === instanceId);
      return { name, pool, address: host?.address, port: host?.port ?? pool.port, user: host?.user ?? pool.sshUser };
    }
    const address = pool.sshAddress === 'public' ? instance?.publicIp : instance?.privateIp;
    const instanceArn = this.systems.compute(pool.region).instanceArn?.(instanceId);
    return { name, pool, instanceId, address, ...(instanceArn ? { instanceArn } : {}) };
  }

  /**
   * One On-Demand launch action, falling back to the pool's other types in the zone, then to its
   * other subnets, when EC2 has no capacity; what failed for capacity a moment ago is not asked again.
   */
  private async launch(pool: Extract<Pool, { subnets: string[] }>, action: LaunchAction, imageId: string): Promise<Instance[]> {
    const compute = this.systems.compute(pool.region);
    const subnets = [action.subnetId, ...pool.subnets.filter((s) => s !== action.subnetId)];
    const types = (pool.instanceTypes ?? [{ type: pool.instanceType }]).map((t) => t.type);
    const instances: Instance[] = [];
    let remaining = action.count;
    const refused: string[] = [];
    for (const [subnetId, instanceType] of subnets.flatMap((s) => types.map((t) => [s, t] as const))) {
      if (remaining <= 0) break;
      if (this.capacity.failing('on-demand', instanceType, subnetId)) {
        refused.push(`${instanceType} in ${subnetId} (no capacity there a moment ago)`);
        continue;
      }
      // Another subnet or type is another request: derive its token from the planned one, deterministically.
      const base = subnetId === action.subnetId ? action.clientToken : derivedToken(action.clientToken, subnetId);
      let clientToken = instanceType === types[0] ? base : derivedToken(base, instanceType);
      try {
        let started: Instance[] | undefined;
        for (let successors = 0; !started; successors++) {
          try {
            started = await compute.launch({
              fleet: this.fleet.fleet,
              pool: pool.name,
              region: pool.region,
              count: remaining,
              subnetId,
              clientToken,
              imageId,
              instanceType,
              securityGroupIds: pool.securityGroups,
              instanceProfile: pool.instanceProfile,
              rootVolumeGiB: pool.rootVolumeGiB,
              publicIp: pool.publicIp,
              bootstrap: { tools: pool.tools, remoteFS: pool.remoteFS, digest: bootstrapDigest(this.fleet, pool) },
            });
          } catch (err) {
            // The same state came back (up, down, up) within the day EC2 keeps tokens: walk on.
            if (!(err instanceof LaunchTokenSpent) || successors >= maxSuccessorTokens) throw err;
            clientToken = successorToken(clientToken);
          }
        }
        const alive = started.filter((i) => lifeOf(i.state) === 'live').map((i) => ({ ...i, instanceType: i.instanceType ?? instanceType }));
        if (started.length > 0 && alive.length === 0) {
          refused.push(`${subnetId} (its launch token returned only terminated instances)`);
          continue;
        }
        instances.push(...alive);
        remaining -= alive.length;
        this.report({ kind: 'launched', pool: pool.name, instanceIds: alive.map((i) => i.id) });
      } catch (err) {
        if (err instanceof CapacityError) {
          this.capacity.remember('on-demand', instanceType, { subnetId });
          refused.push(`${subnetId} (${err.message})`);
          this.report({ kind: 'note', pool: pool.name, message: `no capacity in ${subnetId} for ${instanceType}, trying the pool's other ${types.length > 1 ? 'types and ' : ''}subnets` });
          continue;
        }
        this.fail({ pool: pool.name, step: 'launch', error: `launching ${remaining} instance(s) in ${subnetId}: ${message(err)}` });
        return instances;
      }
    }
    if (remaining > 0) {
      this.fail({ pool: pool.name, step: 'launch', error: `${remaining} instance(s) could not be launched: ${refused.join('; ')}` });
    }
    return instances;
  }

  /**
   * A Spot pool's launches, as one CreateFleet (type instant) from the pool's launch template across
   * every type x subnet that did not just fail for capacity; what it could not launch is On-Demand
   * in the same run (`spot-then-on-demand`) or a failure (`spot`).
   */
  private async launchSpot(pool: Extract<Pool, { subnets: string[] }>, actions: LaunchAction[], imageId: string): Promise<Instance[]> {
    const compute = this.systems.compute(pool.region);
    const count = actions.reduce((n, a) => n + a.count, 0);
    // The planned per-subnet tokens together name this launch: a rerun from the same state finds it.
    const planned = `jf-${createHash('sha256').update(actions.map((a) => a.clientToken).sort().join('/')).digest('hex').slice(0, 48)}`;
    let template;
    try {
      template = await compute.ensureLaunchTemplate({
        fleet: this.fleet.fleet,
        pool: pool.name,
        region: pool.region,
        imageId,
        securityGroupIds: pool.securityGroups,
        instanceProfile: pool.instanceProfile,
        rootVolumeGiB: pool.rootVolumeGiB,
        publicIp: pool.publicIp,
      });
    } catch (err) {
      this.fail({ pool: pool.name, step: 'launch', error: `${count} instance(s) not launched: ${message(err)}` });
      return [];
    }
    const types = pool.instanceTypes.map((t) => t.type);
    const all = types.flatMap((instanceType) => pool.subnets.map((subnetId) => ({ instanceType, subnetId })));
    const overrides = all.filter((o) => !this.capacity.failing('spot', o.instanceType, o.subnetId));
    const skipped = all.filter((o) => !overrides.includes(o)).map((o) => `${o.instanceType}@${o.subnetId}`);
    const refused: string[] = skipped.length > 0 ? [`no Spot capacity a moment ago for ${skipped.join(', ')}`] : [];
    let instances: Instance[] = [];
    if (overrides.length > 0) {
      // Leaving combinations out changes the request: its token says which, so it never meets the other's.
      let clientToken = skipped.length === 0 ? planned : derivedToken(planned, skipped.join(','));
      let result: FleetLaunchResult | undefined;
      try {
        for (let successors = 0; !result; successors++) {
          try {
            result = await compute.launchFleet({
              fleet: this.fleet.fleet,
              pool: pool.name,
              region: pool.region,
              count,
              clientToken,
              template,
              overrides,
              market: 'spot',
              recorded: { rootVolumeGiB: pool.rootVolumeGiB, publicIp: pool.publicIp, bootstrap: { tools: pool.tools, remoteFS: pool.remoteFS, digest: bootstrapDigest(this.fleet, pool) } },
            });
          } catch (err) {
            if (!(err instanceof LaunchTokenSpent) || successors >= maxSuccessorTokens) throw err;
            clientToken = successorToken(clientToken);
          }
        }
      } catch (err) {
        this.fail({ pool: pool.name, step: 'launch', error: `launching ${count} Spot instance(s) with CreateFleet: ${message(err)}` });
        return [];
      }
      for (const e of result.errors) {
        if (e.capacity && e.instanceType) this.capacity.remember('spot', e.instanceType, { zone: e.zone, subnetId: e.subnetId });
        refused.push(`${e.instanceType ?? '?'} in ${e.subnetId ?? e.zone ?? '?'}: ${e.code} (${e.message})`);
      }
      instances = result.instances.filter((i) => lifeOf(i.state) === 'live');
      if (instances.length > 0) this.report({ kind: 'launched', pool: pool.name, instanceIds: instances.map((i) => i.id) });
    }
    const shortfall = count - instances.length;
    if (shortfall <= 0) return instances;
    if (pool.capacity === 'spot') {
      this.fail({ pool: pool.name, step: 'launch', error: `${shortfall} Spot instance(s) could not be launched: ${refused.join('; ') || 'EC2 launched fewer than asked'}` });
      return instances;
    }
    this.report({ kind: 'note', pool: pool.name, message: `${shortfall} instance(s) short on Spot (${refused.join('; ') || 'fewer launched than asked'}): launching them on demand` });
    // Deterministic from the Spot launch's own answer, so a rerun after a crash asks the same.
    const onDemand: LaunchAction = {
      type: 'launch',
      pool: pool.name,
      region: pool.region,
      subnetId: actions[0]?.subnetId ?? (pool.subnets[0] as string),
      count: shortfall,
      clientToken: derivedToken(planned, `on-demand/${shortfall}`),
    };
    return [...instances, ...(await this.launch(pool, onDemand, imageId))];
  }

  /** Registers the node if needed and hands its secret to the transport. */
  private async prepare(pool: Pool, transport: Transport, target: AgentTarget, needsNode: boolean): Promise<AgentTarget | undefined> {
    let step: Step = 'register';
    try {
      if (needsNode) {
        await this.systems.controller.createNode({
          name: target.name,
          description: nodeDescription(this.fleet.fleet, pool.name, target.instanceId ?? target.name, pool.description),
          remoteFS: pool.remoteFS,
          executors: executorsFor(pool, target.instanceId ? this.instanceTypes.get(target.instanceId) : undefined),
          labels: pool.labels,
          mode: pool.mode,
        });
        this.report({ kind: 'registered', pool: pool.name, agent: target.name });
      }
      step = 'secret';
      const secret = await this.systems.controller.readSecret(target.name);
      await transport.storeSecret(target, secret);
      return target;
    } catch (err) {
      this.fail({ pool: pool.name, agent: target.name, instanceId: target.instanceId, step, error: message(err) });
      return undefined;
    }
  }

  private async markBootstrapped(pool: Pool, target: AgentTarget): Promise<void> {
    if (!target.instanceId || isStaticPool(pool)) return;
    try {
      await this.bootstrapMarks.add(pool.region, target.instanceId);
    } catch (err) {
      // Only costs a repeated bootstrap on a later run: worth a note, not a failure.
      this.report({ kind: 'note', pool: pool.name, agent: target.name, message: `could not tag the instance as bootstrapped: ${message(err)}` });
    }
  }

  private async awaitOnline(pool: Pool, target: AgentTarget): Promise<void> {
    if (await this.watch.online(target.name, this.options.deadline)) {
      this.online.push(target.name);
      this.report({ kind: 'online', pool: pool.name, agent: target.name });
      return;
    }
    const node = this.watch.last(target.name);
    const why = this.watch.lastError
      ? `the controller could not be asked: ${this.watch.lastError}`
      : node
        ? `still offline${node.offlineReason ? `: ${node.offlineReason}` : ' (the agent has not connected)'}`
        : 'the node is gone from the controller';
    this.fail({ pool: pool.name, agent: target.name, instanceId: target.instanceId, step: 'online', error: `not online before the timeout, ${why}` });
  }

  /**
   * Waits until the drained node has no build left, saying every few seconds which build it waits
   * for and how long it has waited out of how long it may.
   */
  private async awaitIdle(pool: string, node: string): Promise<boolean> {
    // The wall clock, as the watch measures the deadline with it.
    const started = Date.now();
    const allowed = Math.max(0, this.options.deadline - started);
    const say = () => {
      const seen = this.watch.last(node);
      if (!seen || seen.idle) return;
      const unnamed = (seen.running ?? []).some((b) => b.build === undefined) ? ' (Jenkins names a build only to an account with Job/Read)' : '';
      this.report({ kind: 'note', pool, agent: node, message: `waiting for ${describeRunning(seen)} to end: ${formatWait(Date.now() - started)} of ${formatWait(allowed)}${unnamed}` });
    };
    const ticker = setInterval(say, this.options.waitReportMs ?? 10_000);
    try {
      return await this.watch.idle(node, this.options.deadline);
    } finally {
      clearInterval(ticker);
    }
  }

  /** One action that repairs or takes away; a failure is reported with the action's own step. */
  private async carryOut(action: TakeDownAction): Promise<void> {
    const controller = this.systems.controller;
    try {
      switch (action.type) {
        case 'remove':
          return await this.remove(action);
        case 'resume':
          await this.jenkins(() => controller.resume(action.node));
          this.report({ kind: 'resumed', pool: action.pool, agent: action.node });
          return;
        case 'reconfigure':
          await this.jenkins(() => controller.reconfigureNode(action.node, action.settings));
          this.report({ kind: 'reconfigured', pool: action.pool, agent: action.node, fields: action.changes.map((c) => c.field) });
          return;
        case 'delete-node':
          await this.jenkins(() => controller.deleteNode(action.node));
          this.report({ kind: 'deleted', what: 'node', name: action.node });
          return;
        case 'delete-secret':
          await this.systems.parameters(action.region).deleteSecret(action.name);
          this.report({ kind: 'deleted', what: 'secret', name: action.name });
          return;
        case 'delete-launch-template':
          await this.systems.compute(action.region).deleteLaunchTemplate(action.templateId);
          this.report({ kind: 'deleted', what: 'launch template', name: action.name });
          return;
        default:
          return unreachable(action);
      }
    } catch (err) {
      // remove() reports its own failures; these are the single-call actions, each its own step.
      const step: Step = action.type === 'remove' ? 'drain' : action.type;
      this.fail({ pool: 'pool' in action ? action.pool : '', agent: 'node' in action ? action.node : undefined, step, error: message(err) });
    }
  }

  /** Drain, wait until idle (unless forced), delete the node, then take the machine away as its kind wants. */
  private async remove(action: RemoveAction): Promise<void> {
    const { node } = action;
    const machine = action.target === 'instance' ? action.instanceId : action.target === 'host' ? action.hostId : action.instanceId;
    let step: Step = 'drain';
    const where = { pool: action.pool, agent: node, instanceId: machine };
    try {
      if (node) {
        await this.jenkins(() => this.systems.controller.drain(node, drainMessage(this.fleet.fleet, action.reason)));
        this.report({ kind: 'draining', pool: action.pool, agent: node });
        if (!this.options.force && !(await this.awaitIdle(action.pool, node))) {
          const running = describeRunning(this.watch.last(node));
          this.fail({ ...where, step, error: `still running ${running} at the timeout: ${this.options.busyAtTimeout ?? 'it stays drained (no new builds), and a later run removes it once idle'}` });
          return;
        }
        step = 'delete-node';
        await this.jenkins(() => this.systems.controller.deleteNode(node));
      }
      switch (action.target) {
        case 'instance':
          step = 'terminate';
          await this.terminations.add(action.region, action.instanceId);
          // The host is gone; only its secret parameter (SSM pools) may be left. Missing is fine.
          step = 'delete-secret';
          await this.systems.parameters(action.region).deleteSecret(secretParameterName(this.fleet.fleet, action.instanceId));
          break;
        case 'host': {
          // A static host stays; what the bootstrap put there goes, if the file still says where it is.
          step = 'delete-secret';
          const pool = this.pools.get(action.pool);
          const target = pool ? this.target(pool, action.hostId) : undefined;
          if (pool && target?.address) await this.systems.transport(pool).forget(target, this.options.deadline);
          else this.report({ kind: 'note', pool: action.pool, agent: node, message: `host ${action.hostId.slice(2)} is no longer in the fleet file: stop and disable jenkins-agent.service on it by hand` });
          break;
        }
        case 'node':
          break; // nothing the fleet knows stands behind it
        default:
          unreachable(action);
      }
      this.report({ kind: 'removed', pool: action.pool, agent: node, instanceId: machine });
    } catch (err) {
      this.fail({ ...where, step, error: message(err) });
    }
  }
}

/** For a switch that handles every kind: a new kind is a compile error here, not a silent no-op. */
function unreachable(value: never): never {
  throw new Error(`unhandled ${JSON.stringify(value)}`);
}

/**
 * How many spent tokens one launch walks past: one per time the same fleet state recurred within
 * the day EC2 keeps them. Each costs a RunInstances call that launches nothing.
 */
const maxSuccessorTokens = 50;

function derivedToken(token: string, subnetId: string): string {
  return `jf-${createHash('sha256').update(`${token}/${subnetId}`).digest('hex').slice(0, 48)}`;
}

/** The builds a node runs, in words: their names when the account may read the jobs, else their executors. */
export function describeRunning(node: AgentNode | undefined): string {
  const running = node?.running ?? [];
  if (running.length === 0) return 'a build';
  const one = (b: RunningBuild) => `${b.build ? `build ${b.build}` : `the build on executor #${b.executor}`}${b.progress !== undefined ? ` (${b.progress}% of its usual time)` : ''}`;
  return `${running.length > 1 ? `${running.length} builds: ` : ''}${running.map(one).join(', ')}`;
}

/** 75 s -> `1m15s`. */
function formatWait(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
