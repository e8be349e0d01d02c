import { describe, expect, it } from 'vitest';
import { agentName, nodeDescription, type AgentNode, type Fleet, type Instance, type LaunchRecord, type Observed } from '../../../provisioner/src/model.ts';
import { planUp, type Action } from '../../../provisioner/src/plan/plan.ts';
import { ec2Pool, fleetOf, staticPool, type Setting } from '../../support/fleet.ts';

const NOW = Date.UTC(2026, 10, 28, 9, 0, 0);
const MIN = 60_000;
const AMI = 'ami-0123456789abcdef0';
const BOOTSTRAP = '0123456789abcdef';

function fleet(settings: Record<string, Setting | undefined> = {}, options: { count?: number; image?: string; subnets?: string[] } = {}): Fleet {
  return fleetOf([ec2Pool('awsDeploy', { count: options.count ?? 2, settings, ...(options.image ? { image: options.image } : {}), ...(options.subnets ? { subnets: options.subnets } : {}) })]);
}

/** What ec2Pool's defaults launch (t3.medium, the fixture AMI, sg-..., profile `agent`, 30 GiB, no public IP, no tools). */
function record(extra: Partial<LaunchRecord> = {}): LaunchRecord {
  return {
    instanceType: 't3.medium',
    imageId: AMI,
    securityGroups: ['sg-0123456789abcdef0'],
    instanceProfileArn: 'arn:aws:iam::123456789012:instance-profile/agent',
    rootVolumeGiB: 30,
    publicIp: false,
    tools: [],
    remoteFS: '/home/jenkins/agent',
    bootstrap: BOOTSTRAP,
    ...extra,
  };
}

let serial = 0;
function instance(extra: Partial<Instance> = {}, launched: Partial<LaunchRecord> = {}): Instance {
  serial += 1;
  return {
    id: `i-${serial.toString(16).padStart(17, '0')}`,
    pool: 'awsDeploy',
    region: 'us-east-1',
    state: 'running',
    subnetId: serial % 2 ? 'subnet-0000000a' : 'subnet-0000000b',
    launchedAt: NOW - 60 * MIN + serial,
    bootstrappedAt: NOW - 59 * MIN,
    launched: record(launched),
    ...extra,
  };
}

function node(i: Instance, extra: Partial<AgentNode> = {}, settings: Partial<NonNullable<AgentNode['settings']>> = {}): AgentNode {
  const description = nodeDescription('bank-ci', i.pool, i.id);
  return {
    name: agentName(i.pool, i.id),
    description,
    online: true,
    temporarilyOffline: false,
    idle: true,
    labels: ['awsDeploy'],
    executors: 1,
    settings: { description, remoteFS: '/home/jenkins/agent', executors: 1, mode: 'NORMAL', labels: ['awsDeploy'], ...settings },
    ...extra,
  };
}

function observed(instances: Instance[], nodes: AgentNode[], resolved: Observed['resolved'] = { awsDeploy: { imageId: AMI, bootstrap: BOOTSTRAP } }): Observed {
  return { instances, nodes, secrets: [], now: NOW, ...(resolved ? { resolved } : {}) };
}

const kinds = (actions: Action[]) => actions.map((a) => (a.type === 'remove' ? `remove ${a.reason}` : a.type));

describe('drift of node settings', () => {
  const cases: Array<[string, Record<string, Setting>, Partial<NonNullable<AgentNode['settings']>>, string, string]> = [
    ['labels', { labels: '[awsDeploy, docker]' }, {}, 'awsDeploy', 'awsDeploy docker'],
    ['executors', { executors: 4 }, {}, '1', '4'],
    ['mode', { mode: 'EXCLUSIVE' }, {}, 'NORMAL', 'EXCLUSIVE'],
  ];
  for (const [field, settings, actual, from, to] of cases) {
    it(`plans an in-place update of ${field}, field by field, and nothing else`, () => {
      const a = instance();
      const f = fleetOf([ec2Pool('awsDeploy', { count: 1, labels: field === 'labels' ? ['awsDeploy', 'docker'] : undefined, settings: field === 'labels' ? {} : settings })]);
      const plan = planUp(f, observed([a], [node(a, {}, actual)]));
      expect(plan.drift).toEqual([{ pool: 'awsDeploy', agent: agentName('awsDeploy', a.id), instanceId: a.id, how: 'update', changes: [{ field, from, to }] }]);
      expect(plan.actions).toEqual([expect.objectContaining({ type: 'reconfigure', node: agentName('awsDeploy', a.id), changes: [{ field, from, to }] })]);
      expect(plan.rollouts).toEqual([]);
    });
  }

  it('plans the description back when a person changed it, and a pool description into it', () => {
    const a = instance();
    const f = fleet({ description: "'deploys the bank app'" }, { count: 1 });
    const plan = planUp(f, observed([a], [node(a, {}, { description: 'edited by hand' })]));
    const wanted = nodeDescription('bank-ci', 'awsDeploy', a.id, 'deploys the bank app');
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'reconfigure', changes: [{ field: 'description', from: 'edited by hand', to: wanted }] })]);
    expect(wanted).toContain('deploys the bank app');
  });

  it('compares labels as a set: another order is no difference', () => {
    const a = instance();
    const f = fleetOf([ec2Pool('awsDeploy', { count: 1, labels: ['b', 'a'] })]);
    expect(planUp(f, observed([a], [node(a, {}, { labels: ['a', 'b'] })])).actions).toEqual([]);
  });

  it('compares nothing of a node whose config.xml was not read', () => {
    const a = instance();
    const plain = node(a, {});
    delete plain.settings;
    expect(planUp(fleet({ executors: 4 }, { count: 1 }), observed([a], [plain])).actions).toEqual([]);
  });

  it('updates a static host\'s node in place, remoteFS too (it has no instance to replace)', () => {
    const f = fleetOf([staticPool('rack', [{ address: '10.1.0.5' }], { remoteFS: '/srv/agent', executors: 2 })]);
    const name = 'rack-h-10.1.0.5';
    const hostNode: AgentNode = {
      name,
      description: nodeDescription('bank-ci', 'rack', name),
      online: true,
      temporarilyOffline: false,
      idle: true,
      labels: ['rack'],
      executors: 1,
      settings: { description: nodeDescription('bank-ci', 'rack', name), remoteFS: '/home/jenkins/agent', executors: 1, mode: 'NORMAL', labels: ['rack'] },
    };
    const plan = planUp(f, { instances: [], nodes: [hostNode], secrets: [], now: NOW });
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'reconfigure', changes: [{ field: 'executors', from: '1', to: '2' }, { field: 'remoteFS', from: '/home/jenkins/agent', to: '/srv/agent' }] })]);
  });
});

describe('drift of instance settings', () => {
  const cases: Array<[string, () => { fleet: Fleet; launched?: Partial<LaunchRecord>; subnet?: string; resolved?: Observed['resolved'] }, { field: string; from: string; to: string }]> = [
    ['instanceType', () => ({ fleet: fleetOf([ec2Pool('awsDeploy', { count: 1 }).replace('t3.medium', 'm5.xlarge')]) }), { field: 'instanceType', from: 't3.medium', to: 'm5.xlarge' }],
    ['image (an AMI id)', () => ({ fleet: fleet({}, { count: 1, image: 'ami-0fedcba9876543210' }), resolved: { awsDeploy: { imageId: 'ami-0fedcba9876543210', bootstrap: BOOTSTRAP } } }), { field: 'image', from: AMI, to: 'ami-0fedcba9876543210' }],
    [
      'image (resolve:ssm: now naming another AMI)',
      () => ({ fleet: fleet({}, { count: 1, image: 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64' }), resolved: { awsDeploy: { imageId: 'ami-0aaaaaaaaaaaaaaaa', bootstrap: BOOTSTRAP } } }),
      { field: 'image', from: AMI, to: 'ami-0aaaaaaaaaaaaaaaa (resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64)' },
    ],
    ['rootVolumeGiB', () => ({ fleet: fleet({ rootVolumeGiB: 100 }, { count: 1 }) }), { field: 'rootVolumeGiB', from: '30', to: '100' }],
    ['securityGroups', () => ({ fleet: fleetOf([ec2Pool('awsDeploy', { count: 1 }).replace('sg-0123456789abcdef0', 'sg-0aaaaaaaaaaaaaaaa')]) }), { field: 'securityGroups', from: 'sg-0123456789abcdef0', to: 'sg-0aaaaaaaaaaaaaaaa' }],
    ['instanceProfile', () => ({ fleet: fleetOf([ec2Pool('awsDeploy', { count: 1, instanceProfile: 'agent-v2' })]) }), { field: 'instanceProfile', from: 'arn:aws:iam::123456789012:instance-profile/agent', to: 'agent-v2' }],
    ['subnets', () => ({ fleet: fleet({}, { count: 1, subnets: ['subnet-0000000c'] }), subnet: 'subnet-0000000a' }), { field: 'subnets', from: 'subnet-0000000a', to: 'subnet-0000000c' }],
    ['publicIp', () => ({ fleet: fleet({ publicIp: true }, { count: 1 }) }), { field: 'publicIp', from: 'false', to: 'true' }],
    ['tools', () => ({ fleet: fleet({ tools: '[python, docker]' }, { count: 1 }) }), { field: 'tools', from: '(none)', to: 'python docker' }],
    ['remoteFS', () => ({ fleet: fleet({ remoteFS: '/srv/jenkins' }, { count: 1 }) }), { field: 'remoteFS', from: '/home/jenkins/agent', to: '/srv/jenkins' }],
    ['bootstrap (anything else the script depends on)', () => ({ fleet: fleet({}, { count: 1 }), resolved: { awsDeploy: { imageId: AMI, bootstrap: 'fedcba9876543210' } } }), { field: 'bootstrap', from: `script ${BOOTSTRAP}`, to: 'script fedcba9876543210' }],
  ];
  for (const [name, setup, change] of cases) {
    it(`shows a changed ${name} and replaces the agent: a new one first, the old one once it is online`, () => {
      const { fleet: f, subnet, resolved } = setup();
      const a = instance(subnet ? { subnetId: subnet } : {});
      const plan = planUp(f, observed([a], [node(a)], resolved));
      expect(plan.drift).toEqual([{ pool: 'awsDeploy', agent: agentName('awsDeploy', a.id), instanceId: a.id, how: 'replace', changes: [change] }]);
      // maxSurge 1, maxUnavailable 0: the old agent serves until the new one is online.
      expect(kinds(plan.actions)).toEqual(['launch']);
      expect(plan.actions[0]).toEqual(expect.objectContaining({ replacing: true, count: 1 }));
      expect(plan.rollouts).toEqual([expect.objectContaining({ pool: 'awsDeploy', outdated: 1, launching: 1, retiring: 0 })]);
    });
  }

  it('takes the old agent away once its replacement is online, and then has nothing left to do', () => {
    const f = fleet({ rootVolumeGiB: 100 }, { count: 1 });
    const old = instance({}, { rootVolumeGiB: 30 });
    const fresh = instance({}, { rootVolumeGiB: 100 });
    const plan = planUp(f, observed([old, fresh], [node(old), node(fresh)]));
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'remove', instanceId: old.id, reason: 'outdated', changes: [{ field: 'rootVolumeGiB', from: '30', to: '100' }] })]);
    expect(planUp(f, observed([fresh], [node(fresh)])).actions).toEqual([]);
    expect(planUp(f, observed([fresh], [node(fresh)])).drift).toEqual([]);
  });

  it('keeps the old agents serving while the new one is not online yet (never below count)', () => {
    const f = fleet({ rootVolumeGiB: 100 });
    const olds = [instance(), instance()];
    const fresh = instance({ bootstrappedAt: NOW - MIN }, { rootVolumeGiB: 100 });
    const plan = planUp(f, observed([...olds, fresh], [...olds.map((o) => node(o)), node(fresh, { online: false })]));
    expect(kinds(plan.actions)).toEqual([]);
    expect(plan.rollouts![0]).toEqual(expect.objectContaining({ outdated: 2, launching: 0, retiring: 0, waiting: expect.stringContaining('until') }));
  });

  it('never launches more than maxSurge beyond count, and takes away no more than maxUnavailable allows', () => {
    const olds = [instance(), instance(), instance(), instance()];
    const nodes = olds.map((o) => node(o));
    const surge = planUp(fleet({ rootVolumeGiB: 100, maxSurge: 2 }, { count: 4 }), observed(olds, nodes));
    expect(surge.actions.filter((a) => a.type === 'launch').reduce((n, a) => n + (a.type === 'launch' ? a.count : 0), 0)).toBe(2);
    expect(kinds(surge.actions).filter((k) => k.startsWith('remove'))).toEqual([]);
    const unavailable = planUp(fleet({ rootVolumeGiB: 100, maxSurge: 0, maxUnavailable: 1 }, { count: 4 }), observed(olds, nodes));
    expect(kinds(unavailable.actions)).toEqual(['remove outdated']);
  });

  it('takes an out-of-date agent that serves nothing (drained by an earlier run) away first, busy ones last', () => {
    const f = fleet({ rootVolumeGiB: 100 });
    const busy = instance();
    const drained = instance();
    const fresh = instance({}, { rootVolumeGiB: 100 });
    const nodes = [node(busy, { idle: false }), node(drained, { online: false, temporarilyOffline: true, heldOfflineBy: 'person', offlineReason: 'Draining: to be removed by provisioner (fleet bank-ci): outdated' }), node(fresh)];
    const plan = planUp(f, observed([busy, drained, fresh], nodes));
    // count 2: `fresh` and `busy` serve; `drained` serves nothing, so it goes without waiting for anyone.
    expect(plan.actions.filter((a) => a.type === 'remove').map((a) => (a.type === 'remove' && a.target === 'instance' ? a.instanceId : ''))).toEqual([drained.id]);
    // Already count + maxSurge agents: the next launch waits for the drained one to be gone.
    expect(plan.actions.filter((a) => a.type === 'launch')).toHaveLength(0);
  });

  it('does not compare what the instance has no record of (launched before records were kept)', () => {
    const a = instance({ launched: {} });
    expect(planUp(fleet({ rootVolumeGiB: 100 }, { count: 1 }), observed([a], [node(a)])).drift).toEqual([]);
  });

  it('gives a replacement launch a token of its own, and the same token again from the same observation', () => {
    const f = fleet({ rootVolumeGiB: 100 }, { count: 1 });
    const a = instance();
    const first = planUp(f, observed([a], [node(a)]));
    const again = planUp(f, observed([a], [node(a)]));
    expect(again.actions).toEqual(first.actions);
    const b = instance();
    const other = planUp(f, observed([b], [node(b)]));
    expect((other.actions[0] as Extract<Action, { type: 'launch' }>).clientToken).not.toBe((first.actions[0] as Extract<Action, { type: 'launch' }>).clientToken);
  });

  it('takes an instance of any of a Spot pool\'s types, with that type\'s executors, and replaces one of a type no longer listed', () => {
    const spot = (types: string) =>
      fleetOf([ec2Pool('awsDeploy', { count: 2, settings: { instanceTypes: types, capacity: 'spot-then-on-demand' } }).replace('    instanceType: t3.medium\n', '')]);
    const a = instance({ instanceType: 'm5.xlarge', market: 'spot' }, { instanceType: 'm5.xlarge' });
    const b = instance({ instanceType: 't3.large', market: 'on-demand' }, { instanceType: 't3.large' });
    const f = spot('[t3.large, { type: m5.xlarge, executors: 4 }]');
    const plan = planUp(f, observed([a, b], [node(a, {}, { executors: 4 }), node(b)]));
    expect(plan.drift).toEqual([]);
    expect(plan.actions).toEqual([]);
    const narrowed = planUp(spot('[t3.large]'), observed([a, b], [node(a, {}, { executors: 4 }), node(b)]));
    expect(narrowed.drift).toEqual([expect.objectContaining({ instanceId: a.id, how: 'replace', changes: [{ field: 'instanceType', from: 'm5.xlarge', to: 't3.large' }] })]);
  });

  it('replaces a Spot instance once the pool buys on demand only', () => {
    const a = instance({ market: 'spot' });
    const plan = planUp(fleet({ capacity: 'on-demand' }, { count: 1 }), observed([a], [node(a)]));
    expect(plan.drift).toEqual([expect.objectContaining({ how: 'replace', changes: [{ field: 'capacity', from: 'spot', to: 'on-demand' }] })]);
  });

  it('refuses a pool with maxSurge and maxUnavailable both 0, naming the field', () => {
    expect(() => fleet({ maxSurge: 0, maxUnavailable: 0 })).toThrow(/maxSurge.*maxUnavailable above 0/);
  });
});
