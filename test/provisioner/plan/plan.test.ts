import { describe, expect, it } from 'vitest';
import { agentName, nodeDescription, type AgentNode, type Instance, type Observed, type Fleet } from '../../../provisioner/src/model.ts';
import { ec2Pool, fleetOf, staticPool } from '../../support/fleet.ts';
import { drainMessage, launchToken, planDown, planUp, successorToken, type Action } from '../../../provisioner/src/plan/plan.ts';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const MIN = 60_000;

function fleetWith(pools: Array<{ name: string; count: number; subnets?: string[] }>): Fleet {
  return fleetOf(pools.map((p) => ec2Pool(p.name, { count: p.count, subnets: p.subnets })), { offlineAfter: '5m' });
}

let serial = 0;
function instance(pool: string, extra: Partial<Instance> = {}): Instance {
  serial += 1;
  return {
    id: `i-${serial.toString(16).padStart(17, '0')}`,
    pool,
    region: 'us-east-1',
    state: 'running',
    subnetId: 'subnet-0000000a',
    launchedAt: NOW - 60 * MIN + serial,
    bootstrappedAt: NOW - 59 * MIN,
    ...extra,
  };
}

function node(i: Instance, extra: Partial<AgentNode> = {}): AgentNode {
  return {
    name: agentName(i.pool, i.id),
    description: nodeDescription('bank-ci', i.pool, i.id),
    online: true,
    temporarilyOffline: false,
    idle: true,
    labels: [i.pool],
    executors: 1,
    ...extra,
  };
}

function observed(instances: Instance[], nodes: AgentNode[], secrets: Observed['secrets'] = []): Observed {
  return { instances, nodes, secrets, now: NOW };
}

const types = (actions: Action[]) => actions.map((a) => a.type);

describe('planning up', () => {
  it('launches a new pool spread over its subnets, one call per subnet', () => {
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 3 }]), observed([], []));
    expect(plan.actions).toEqual([
      expect.objectContaining({ type: 'launch', pool: 'awsDeploy', subnetId: 'subnet-0000000a', count: 2 }),
      expect.objectContaining({ type: 'launch', pool: 'awsDeploy', subnetId: 'subnet-0000000b', count: 1 }),
    ]);
  });

  it('plans nothing when every wanted agent runs and is online', () => {
    const a = instance('awsDeploy');
    const b = instance('awsDeploy', { subnetId: 'subnet-0000000b' });
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 2 }]), observed([a, b], [node(a), node(b)]));
    expect(plan.actions).toEqual([]);
  });

  it('scales up into the subnet that has fewer of the pool', () => {
    const a = instance('awsDeploy');
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 2 }]), observed([a], [node(a)]));
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'launch', subnetId: 'subnet-0000000b', count: 1 })]);
  });

  it('scales down idle agents first and never marks a busy one for removal while an idle one is left', () => {
    const busy = instance('awsDeploy');
    const idle = instance('awsDeploy');
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 1 }]), observed([busy, idle], [node(busy, { idle: false }), node(idle)]));
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'remove', instanceId: idle.id, reason: 'scale-down', busy: false })]);
  });

  it('removes a busy agent on scale-down only when no idle one is left, and flags it busy', () => {
    const busy = instance('awsDeploy');
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 0 }]), observed([busy], [node(busy, { idle: false })]));
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'remove', instanceId: busy.id, busy: true })]);
  });

  it('scales down instances that never got a node before ones serving builds', () => {
    const serving = instance('awsDeploy');
    const bare = instance('awsDeploy');
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 1 }]), observed([serving, bare], [node(serving)]));
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'remove', instanceId: bare.id, node: undefined })]);
  });

  it('registers and bootstraps a running instance whose node is missing', () => {
    const a = instance('awsDeploy', { bootstrappedAt: undefined });
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 1 }]), observed([a], []));
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'register', instanceId: a.id, node: agentName('awsDeploy', a.id) })]);
  });

  it('registers a pending instance too, so its node is ready while it boots', () => {
    const a = instance('awsDeploy', { state: 'pending', bootstrappedAt: undefined });
    expect(types(planUp(fleetWith([{ name: 'awsDeploy', count: 1 }]), observed([a], [])).actions)).toEqual(['register']);
  });

  it('bootstraps an offline node that was never bootstrapped (a crash between register and bootstrap)', () => {
    const a = instance('awsDeploy', { bootstrappedAt: undefined });
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 1 }]), observed([a], [node(a, { online: false })]));
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'bootstrap', instanceId: a.id, reason: 'never bootstrapped' })]);
  });

  it('gives an offline node that was bootstrapped recently time to connect', () => {
    const a = instance('awsDeploy', { bootstrappedAt: NOW - 2 * MIN });
    expect(planUp(fleetWith([{ name: 'awsDeploy', count: 1 }]), observed([a], [node(a, { online: false })])).actions).toEqual([]);
  });

  it('bootstraps again a node offline for longer than repair.offlineAfter', () => {
    const a = instance('awsDeploy', { bootstrappedAt: NOW - 30 * MIN });
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 1 }]), observed([a], [node(a, { online: false })]));
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'bootstrap', reason: 'offline, last bootstrapped 30m ago' })]);
  });

  it('leaves alone a node a person took offline', () => {
    const a = instance('awsDeploy');
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 1 }]), observed([a], [node(a, { online: false, temporarilyOffline: true, offlineReason: 'disk check' })]));
    expect(plan.actions).toEqual([]);
  });

  it("replaces an agent Jenkins itself has held offline (a disk-space monitor) past repair.offlineAfter, and waits before that", () => {
    const reason = 'Disk space is below threshold of 1.00 GiB. Only 512.00 MiB out of 8.00 GiB left on /home/jenkins/agent.';
    const a = instance('awsDeploy', { bootstrappedAt: NOW - 30 * MIN });
    const full = (since: number) => node(a, { online: false, temporarilyOffline: true, heldOfflineBy: 'jenkins', offlineSince: since, offlineReason: reason });
    const fleet = fleetWith([{ name: 'awsDeploy', count: 1, subnets: ['subnet-0000000a'] }]);
    // The monitor brings a node back itself once space is free: no bootstrap, no replacement yet.
    expect(planUp(fleet, observed([a], [full(NOW - 2 * MIN)])).actions).toEqual([]);
    const plan = planUp(fleet, observed([a], [full(NOW - 6 * MIN)]));
    expect(plan.actions).toEqual([
      expect.objectContaining({ type: 'launch', pool: 'awsDeploy', subnetId: 'subnet-0000000a', count: 1 }),
      { type: 'remove', target: 'instance', pool: 'awsDeploy', region: 'us-east-1', instanceId: a.id, node: agentName('awsDeploy', a.id), reason: 'replace', busy: false, detail: `taken offline by Jenkins 6m ago: ${reason}` },
    ]);
  });

  it("does not take Jenkins' own offline cause for a person's, nor a person's for its own drain", () => {
    const a = instance('awsDeploy');
    const person = node(a, { online: false, temporarilyOffline: true, heldOfflineBy: 'person', offlineSince: NOW - 60 * MIN, offlineReason: 'disk check' });
    expect(planUp(fleetWith([{ name: 'awsDeploy', count: 1 }]), observed([a], [person])).actions).toEqual([]);
  });

  it('bootstraps again a static host Jenkins has held offline too long, since it cannot be replaced', () => {
    const fleet = fleetOf([staticPool('rack', [{ address: '10.1.0.5' }])]);
    const host: Instance = { id: 'h-10.1.0.5', pool: 'rack', region: 'us-east-1', state: 'running', launchedAt: 0, host: { address: '10.1.0.5' } };
    const held = node(host, { online: false, temporarilyOffline: true, heldOfflineBy: 'jenkins', offlineSince: NOW - 10 * MIN, offlineReason: 'Disk space is below threshold' });
    expect(planUp(fleet, observed([host], [held])).actions).toEqual([
      expect.objectContaining({ type: 'bootstrap', node: 'rack-h-10.1.0.5', reason: 'taken offline by Jenkins 10m ago: Disk space is below threshold' }),
    ]);
  });

  it('takes back online a node it drained earlier when the pool wants it again', () => {
    const a = instance('awsDeploy');
    const drained = node(a, { online: false, temporarilyOffline: true, offlineReason: drainMessage('bank-ci', 'scale-down') });
    expect(planUp(fleetWith([{ name: 'awsDeploy', count: 1 }]), observed([a], [drained])).actions).toEqual([
      expect.objectContaining({ type: 'resume', node: drained.name }),
    ]);
  });

  it('bootstraps a node it drained before its agent ever connected, as well as taking it back online', () => {
    const a = instance('awsDeploy', { bootstrappedAt: undefined });
    const drained = (connected: boolean) => node(a, { online: false, connected, temporarilyOffline: true, heldOfflineBy: 'person', offlineReason: drainMessage('bank-ci', 'scale-down') });
    const fleet = fleetWith([{ name: 'awsDeploy', count: 1 }]);
    expect(planUp(fleet, observed([a], [drained(false)])).actions).toEqual([
      expect.objectContaining({ type: 'bootstrap', node: drained(false).name, reason: 'never bootstrapped' }),
      expect.objectContaining({ type: 'resume', node: drained(false).name }),
    ]);
    expect(types(planUp(fleet, observed([a], [drained(true)])).actions)).toEqual(['resume']);
  });

  it('prefers an agent it already drained when scaling down', () => {
    const a = instance('awsDeploy');
    const b = instance('awsDeploy');
    const drained = node(b, { online: false, temporarilyOffline: true, offlineReason: drainMessage('bank-ci', 'scale-down') });
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 1 }]), observed([a, b], [node(a), drained]));
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'remove', instanceId: b.id })]);
  });

  it('deletes a node whose instance was terminated, and that instance\'s secret, and replaces the instance', () => {
    const dead = instance('awsDeploy', { state: 'terminated' });
    const secret = { name: `/jenkins-fleet/bank-ci/agents/${dead.id}/secret`, instanceId: dead.id, region: 'us-east-1' };
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 1, subnets: ['subnet-0000000a'] }]), observed([dead], [node(dead, { online: false })], [secret]));
    expect(types(plan.actions)).toEqual(['launch', 'delete-node', 'delete-secret']);
  });

  it('deletes a managed node whose instance was never seen', () => {
    const ghost = instance('awsDeploy');
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 0 }]), observed([], [node(ghost, { online: false })]));
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'delete-node', node: node(ghost).name })]);
  });

  it('drains and removes the instances of a pool no longer in the file', () => {
    const old = instance('oldPool');
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 0 }]), observed([old], [node(old, { idle: false })]));
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'remove', instanceId: old.id, node: node(old).name, reason: 'pool-removed', busy: true })]);
  });

  it('removes a tagged instance that names no pool', () => {
    const stray = instance('');
    expect(planUp(fleetWith([{ name: 'awsDeploy', count: 0 }]), observed([stray], [])).actions).toEqual([
      expect.objectContaining({ type: 'remove', instanceId: stray.id, reason: 'stray' }),
    ]);
  });

  it('replaces a stopped instance rather than counting it', () => {
    const stopped = instance('awsDeploy', { state: 'stopped' });
    const plan = planUp(fleetWith([{ name: 'awsDeploy', count: 1, subnets: ['subnet-0000000a'] }]), observed([stopped], [node(stopped, { online: false })]));
    expect(types(plan.actions)).toEqual(['launch', 'remove']);
    expect(plan.actions[1]).toMatchObject({ reason: 'stopped', instanceId: stopped.id });
  });

  it('ignores nodes that are not the fleet\'s', () => {
    const stranger: AgentNode = { name: 'static-mac-mini', online: false, temporarilyOffline: false, idle: true, labels: [], executors: 1 };
    const other = instance('awsDeploy');
    const othersNode = { ...node(other), description: nodeDescription('other-fleet', 'awsDeploy', other.id) };
    expect(planUp(fleetWith([{ name: 'awsDeploy', count: 0 }]), observed([], [stranger, othersNode])).actions).toEqual([]);
  });

  it('derives the same launch token from the same state, and another once the state moved', () => {
    const fleet = fleetWith([{ name: 'awsDeploy', count: 2 }]);
    const first = planUp(fleet, observed([], [])).actions[0] as Extract<Action, { type: 'launch' }>;
    const again = planUp(fleet, observed([], [])).actions[0] as Extract<Action, { type: 'launch' }>;
    expect(again.clientToken).toBe(first.clientToken);
    expect(first.clientToken.length).toBeLessThanOrEqual(64);
    const parameters = { region: 'us-east-1', image: 'ami-0123456789abcdef0', instanceType: 't3.medium', securityGroups: ['sg-1'], instanceProfile: 'agent', rootVolumeGiB: 30, publicIp: false };
    expect(launchToken('bank-ci', 'awsDeploy', 'subnet-0000000a', 1, ['i-1'], parameters)).not.toBe(launchToken('bank-ci', 'awsDeploy', 'subnet-0000000a', 1, ['i-2'], parameters));
  });

  it('binds the launch token to the launch parameters, so a changed pool never reuses one', () => {
    const parameters = { region: 'us-east-1', image: 'ami-0123456789abcdef0', instanceType: 't3.medium', securityGroups: ['sg-1', 'sg-2'], instanceProfile: 'agent', rootVolumeGiB: 30, publicIp: false };
    const token = (changes: Partial<typeof parameters>) => launchToken('bank-ci', 'awsDeploy', 'subnet-0000000a', 1, [], { ...parameters, ...changes });
    const base = token({});
    for (const changes of [{ instanceType: 't3.large' }, { image: 'ami-0fedcba9876543210' }, { rootVolumeGiB: 50 }, { publicIp: true }, { instanceProfile: 'other' }, { securityGroups: ['sg-1'] }, { region: 'us-west-2' }]) {
      expect(token(changes), JSON.stringify(changes)).not.toBe(base);
    }
    expect(token({ securityGroups: ['sg-2', 'sg-1'] }), 'the order of security groups does not matter').toBe(base);
  });

  it('gives a spent token one deterministic successor, a valid ClientToken unlike its predecessors', () => {
    const first = launchToken('bank-ci', 'awsDeploy', 'subnet-0000000a', 1, [], { region: 'us-east-1', image: 'x', instanceType: 't3.medium', securityGroups: [], instanceProfile: 'agent', rootVolumeGiB: 30, publicIp: false });
    const chain = [first];
    for (let n = 0; n < 5; n++) chain.push(successorToken(chain.at(-1)!));
    expect(new Set(chain).size).toBe(6);
    expect(successorToken(first)).toBe(chain[1]);
    for (const t of chain) expect(t).toMatch(/^[\x21-\x7e]{1,64}$/);
  });
});

describe('planning down', () => {
  it('removes every managed agent, and marks busy ones', () => {
    const a = instance('awsDeploy');
    const b = instance('awsDeploy2');
    const plan = planDown(fleetWith([{ name: 'awsDeploy', count: 1 }, { name: 'awsDeploy2', count: 1 }]), observed([a, b], [node(a), node(b, { idle: false })]));
    expect(plan.actions).toEqual([
      expect.objectContaining({ type: 'remove', instanceId: a.id, busy: false, reason: 'down' }),
      expect.objectContaining({ type: 'remove', instanceId: b.id, busy: true, reason: 'down' }),
    ]);
  });

  it('removes only the named pool with --pool', () => {
    const a = instance('awsDeploy');
    const b = instance('awsDeploy2');
    const plan = planDown(fleetWith([{ name: 'awsDeploy', count: 1 }, { name: 'awsDeploy2', count: 1 }]), observed([a, b], [node(a), node(b)]), 'awsDeploy2');
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'remove', instanceId: b.id })]);
  });

  it("leaves a deleted node's computer alone while its last build ends: nothing can be drained or deleted there", () => {
    const gone = instance('awsDeploy', { state: 'terminated' });
    const lingering = node(gone, { description: '', online: false, idle: false, executors: 0, labels: [], deleted: true });
    const fleet = fleetWith([{ name: 'awsDeploy', count: 1 }]);
    expect(planDown(fleet, observed([gone], [lingering])).actions).toEqual([]);
    expect(planUp(fleet, observed([gone], [lingering])).actions.filter((a) => a.type !== 'launch')).toEqual([]);
  });

  it('cleans up nodes and secrets left without instances', () => {
    const dead = instance('awsDeploy', { state: 'terminated' });
    const secret = { name: `/jenkins-fleet/bank-ci/agents/${dead.id}/secret`, instanceId: dead.id, region: 'us-east-1' };
    const plan = planDown(fleetWith([{ name: 'awsDeploy', count: 1 }]), observed([dead], [node(dead, { online: false })], [secret]));
    expect(types(plan.actions)).toEqual(['delete-node', 'delete-secret']);
  });

  it('says what each removal takes away: an instance, or only a busy node with nothing behind it', () => {
    const a = instance('awsDeploy');
    const dead = instance('awsDeploy', { state: 'terminated' });
    const plan = planDown(fleetWith([{ name: 'awsDeploy', count: 1 }]), observed([a, dead], [node(a), node(dead, { idle: false })]));
    expect(plan.actions).toEqual([
      { type: 'remove', target: 'instance', pool: 'awsDeploy', region: 'us-east-1', instanceId: a.id, node: node(a).name, reason: 'down', busy: false },
      { type: 'remove', target: 'node', pool: 'awsDeploy', node: node(dead).name, instanceId: dead.id, reason: 'down', busy: true },
    ]);
  });
});

describe('planning static hosts', () => {
  const fleet = fleetOf([staticPool('rack', [{ address: '10.1.0.5' }, { address: '10.1.0.6', port: 2222 }])]);
  const hosts = (): Instance[] =>
    fleet.pools[0]!.hosts!.map((h) => ({ id: `h-${h.address}${h.port ? `-${h.port}` : ''}`, pool: 'rack', region: 'us-east-1', state: 'running', launchedAt: 0, host: h }));

  it('registers every host and never launches or terminates anything', () => {
    const plan = planUp(fleet, observed(hosts(), []));
    expect(plan.actions).toEqual([
      expect.objectContaining({ type: 'register', node: 'rack-h-10.1.0.5' }),
      expect.objectContaining({ type: 'register', node: 'rack-h-10.1.0.6-2222' }),
    ]);
  });

  it('registers the hosts of the file even when no observation lists them', () => {
    const plan = planUp(fleet, observed([], []));
    expect(plan.actions.map((a) => a.type === 'register' && a.node)).toEqual(['rack-h-10.1.0.5', 'rack-h-10.1.0.6-2222']);
  });

  it('takes a static host down by cleaning it, never by terminating it', () => {
    const [kept] = hosts();
    expect(planDown(fleet, observed([], [node(kept!)])).actions).toEqual([
      { type: 'remove', target: 'host', pool: 'rack', hostId: 'h-10.1.0.6-2222', reason: 'down', busy: false },
      { type: 'remove', target: 'host', pool: 'rack', hostId: 'h-10.1.0.5', node: 'rack-h-10.1.0.5', reason: 'down', busy: false },
    ]);
  });

  it('drains and removes the node of a host taken out of the file', () => {
    const [kept] = hosts();
    const gone: AgentNode = { ...node({ ...kept!, id: 'h-10.1.0.9' }), idle: false };
    const plan = planUp(fleet, observed([kept!], [node(kept!), gone]));
    expect(plan.actions).toContainEqual({ type: 'remove', target: 'host', pool: 'rack', hostId: 'h-10.1.0.9', node: 'rack-h-10.1.0.9', reason: 'stray', busy: true });
    expect(plan.actions.some((a) => a.type === 'launch' || a.type === 'delete-node')).toBe(false);
  });
});
