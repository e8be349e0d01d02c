// Drift: every setting of a pool changed in the file, and a node's changed by hand in Jenkins, shows
// in `plan` field by field, `up` makes it right (node settings in place through config.xml, instance
// settings by rolling replacement) and
// the next `plan` shows nothing; builds on the old agents finish undisturbed; a run killed in the
// middle of a replacement is finished by the next without duplicates or orphans.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, eventually, Sandbox, type Run } from './harness.ts';

const flags = ['--boot-delay', '1s', '--ssm-online-delay', '1s', '--terminated-linger', '5s'];
const image = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64';

interface PlanJson {
  actions: Array<{ type: string; reason?: string }>;
  drift: Array<{ agent: string; how: 'update' | 'replace'; changes: Array<{ field: string; from: string; to: string }> }>;
  rollouts: unknown[];
}

/** One sandbox and the awsDeploy pool of examples/fleet.yaml, one agent, edited setting by setting. */
class Scenario {
  private files = 0;
  readonly pool: Record<string, any> = {};

  constructor(readonly sandbox: Sandbox) {}

  file(): string {
    return this.sandbox.fleet((f) => {
      f.pools = f.pools.filter((p: { name: string }) => p.name === 'awsDeploy');
      Object.assign(f.pools[0], { count: 1 }, this.pool);
    }, `fleet-${++this.files}.yaml`);
  }

  async plan(): Promise<PlanJson & { text: string }> {
    const file = this.file();
    const json = await this.sandbox.provisioner(file, ['plan', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const text = await this.sandbox.provisioner(file, ['plan']);
    return { ...(JSON.parse(json.stdout) as PlanJson), text: text.stdout };
  }

  up(): Promise<Run> & { child: import('node:child_process').ChildProcess } {
    return this.sandbox.provisioner(this.file(), ['up', '--yes', '--timeout', '3m']);
  }

  async converge(): Promise<Run> {
    const run = await this.up();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const after = await this.plan();
    expect(after.drift).toEqual([]);
    expect(after.actions).toEqual([]);
    return run;
  }

  async agents(): Promise<string[]> {
    return alive(await this.sandbox.state(), 'awsDeploy').map((i) => i.id);
  }
}

/** Changes one instance setting, checks plan names exactly it, converges, and returns the run. */
async function replaceFor(s: Scenario, field: string, change: () => void | Promise<void>): Promise<{ run: Run; before: string[] }> {
  const before = await s.agents();
  await change();
  const planned = await s.plan();
  expect(planned.drift).toEqual([{ pool: 'awsDeploy', agent: `awsDeploy-${before[0]}`, instanceId: before[0], how: 'replace', changes: [expect.objectContaining({ field })] }]);
  expect(planned.text).toMatch(new RegExp(`-/\\+ replace awsDeploy-${before[0]}\\n {6}${field}: "`));
  expect(planned.actions.map((a) => a.type)).toEqual(['launch']);
  const run = await s.converge();
  const after = await s.agents();
  expect(after).toHaveLength(1);
  expect(after).not.toContain(before[0]);
  return { run, before };
}

describe('drift against the sandbox, provisioner-iam evaluated', () => {
  const sandbox = new Sandbox(flags);
  const s = new Scenario(sandbox);
  beforeAll(async () => {
    await sandbox.start();
    const run = await s.up();
    expect(run.code, run.stdout + run.stderr).toBe(0);
  });
  afterAll(async () => sandbox.stop());

  it("a node changed by hand in Jenkins (its config.xml posted with other labels, executors, mode and description): plan reads each back from the node, up puts the pool's back in place", async () => {
    const before = await s.agents();
    const node = `awsDeploy-${before[0]}`;
    const configXml = `${sandbox.env.JENKINS_URL}computer/${node}/config.xml`;
    const original = await (await fetch(configXml, { headers: sandbox.jenkinsAuth() })).text();
    const byHand = original
      .replace(/<label>[^<]*<\/label>/, '<label>by-hand  other</label>')
      .replace(/<numExecutors>[^<]*<\/numExecutors>/, '<numExecutors>5</numExecutors>')
      .replace(/<mode>[^<]*<\/mode>/, '<mode>NORMAL</mode>')
      .replace(/<description>[^<]*<\/description>/, '<description>edited &amp; kept &lt;by hand&gt;</description>');
    expect(byHand).not.toBe(original);
    const posted = await fetch(configXml, { method: 'POST', headers: { ...sandbox.jenkinsAuth(), 'content-type': 'application/xml' }, body: byHand });
    expect(posted.status, await posted.text()).toBe(200);

    const planned = await s.plan();
    expect(planned.drift).toEqual([
      expect.objectContaining({
        agent: node,
        how: 'update',
        changes: [
          { field: 'labels', from: 'by-hand other', to: 'awsDeploy terraform python' },
          { field: 'executors', from: '5', to: '2' },
          { field: 'mode', from: 'NORMAL', to: 'EXCLUSIVE' },
          expect.objectContaining({ field: 'description', from: 'edited & kept <by hand>' }),
        ],
      }),
    ]);
    expect(planned.actions.map((a) => a.type)).toEqual(['reconfigure']);
    await s.converge();
    expect(await s.agents()).toEqual(before);
    const after = await (await fetch(configXml, { headers: sandbox.jenkinsAuth() })).text();
    expect(after).toContain('<mode>EXCLUSIVE</mode>');
    expect(after).toContain('<label>awsDeploy terraform python</label>');
    expect(after).toContain('<numExecutors>2</numExecutors>');
  });

  it('node settings (labels, executors, mode, description): plan shows each field, up changes the node in place, the next plan shows none', async () => {
    const before = await s.agents();
    Object.assign(s.pool, { labels: ['awsDeploy', 'terraform', 'python', 'docker'], executors: 3, mode: 'NORMAL', description: 'Deploys the bank app.' });
    const planned = await s.plan();
    expect(planned.drift).toEqual([
      expect.objectContaining({
        how: 'update',
        changes: [
          { field: 'labels', from: 'awsDeploy terraform python', to: 'awsDeploy terraform python docker' },
          { field: 'executors', from: '2', to: '3' },
          { field: 'mode', from: 'EXCLUSIVE', to: 'NORMAL' },
          expect.objectContaining({ field: 'description', to: expect.stringContaining('Deploys the bank app.') }),
        ],
      }),
    ]);
    expect(planned.text).toContain(`~ update in place awsDeploy-${before[0]}\n      labels: "awsDeploy terraform python" -> "awsDeploy terraform python docker"\n      executors: "2" -> "3"\n      mode: "EXCLUSIVE" -> "NORMAL"`);
    expect(planned.actions.map((a) => a.type)).toEqual(['reconfigure']);
    const run = await s.converge();
    expect(run.stdout).toContain(`awsDeploy-${before[0]}: node updated in place (labels, executors, mode, description)`);
    expect(await s.agents()).toEqual(before);
    const computer = await fetch(`${sandbox.env.JENKINS_URL}computer/awsDeploy-${before[0]}/api/json?tree=numExecutors,offline,assignedLabels[name]`, { headers: sandbox.jenkinsAuth() });
    expect(await computer.json()).toMatchObject({ numExecutors: 3, offline: false, assignedLabels: expect.arrayContaining([{ name: 'docker' }]) });
  });

  it('instanceType: the old agent keeps its running build to the end while the new one comes online, then goes; up says what it waits for', async () => {
    const build = (await sandbox.queueBuilds('awsDeploy', 1, '30s'))[0]!.id;
    await eventually('the build running on the old agent', async () => (await sandbox.builds()).find((b) => b.id === build)?.startedAt ?? undefined);
    const { run, before } = await replaceFor(s, 'instanceType', () => {
      s.pool.instanceType = 't3.large';
    });
    const ended = (await sandbox.builds()).find((b) => b.id === build)!;
    expect(ended).toMatchObject({ node: `awsDeploy-${before[0]}`, result: 'SUCCESS' });
    expect(ended.abortedBy).toBeUndefined();
    expect(run.stdout, run.stdout).toMatch(new RegExp(`awsDeploy-${before[0]}: waiting for the build on executor #\\d to end: \\d+s of \\d+m\\d+s \\(Jenkins names a build only to an account with Job/Read\\)`));
  });

  it('image: a resolve:ssm: parameter that now names another AMI makes the agent out of date', async () => {
    const newAmi = await sandbox.releaseImage(image);
    await replaceFor(s, 'image', () => undefined);
    const state = await sandbox.state();
    expect(alive(state, 'awsDeploy')).toHaveLength(1);
    expect(newAmi).toMatch(/^ami-/);
  });

  it('rootVolumeGiB', async () => {
    await replaceFor(s, 'rootVolumeGiB', () => {
      s.pool.rootVolumeGiB = 40;
    });
    expect(alive(await sandbox.state(), 'awsDeploy')[0]!.tags['jenkins-fleet:root-volume-gib']).toBe('40');
  });

  it('subnets: an agent in a subnet the pool no longer has', async () => {
    const [current] = alive(await sandbox.state(), 'awsDeploy');
    const subnets = ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'];
    await replaceFor(s, 'subnets', () => {
      s.pool.subnets = subnets.filter((x) => x !== current!.subnetId);
    });
    expect(alive(await sandbox.state(), 'awsDeploy')[0]!.subnetId).not.toBe(current!.subnetId);
  });

  it('publicIp', async () => {
    await replaceFor(s, 'publicIp', () => {
      s.pool.publicIp = true;
    });
  });

  it('tools (the bootstrap installs them)', async () => {
    await replaceFor(s, 'tools', () => {
      s.pool.tools = ['python'];
    });
  });

  it('remoteFS (the bootstrap makes it and runs the agent there)', async () => {
    await replaceFor(s, 'remoteFS', () => {
      s.pool.remoteFS = '/home/jenkins/work';
    });
  });

  it('finishes a rolling replacement killed after its launch, without duplicates or orphans', async () => {
    s.pool.rootVolumeGiB = 48;
    const run = s.up();
    await eventually('the replacement launched', async () => /awsDeploy: launched i-/.test(await runOutput(run)) || undefined);
    run.child.kill('SIGKILL');
    await run;
    const again = await s.converge();
    expect(again.code).toBe(0);
    const state = await sandbox.state();
    expect(alive(state, 'awsDeploy')).toHaveLength(1);
    // Exactly one instance was ever launched with the new setting: the rerun found it.
    expect(state.instances.filter((i) => i.tags['jenkins-fleet:root-volume-gib'] === '48')).toHaveLength(1);
    expect(state.nodes.map((n) => n.name)).toEqual([`awsDeploy-${alive(state, 'awsDeploy')[0]!.id}`]);
    const secrets = state.parameters.filter((p) => p.name.startsWith('/jenkins-fleet/bank-ci/agents/'));
    expect(secrets.map((p) => p.name)).toEqual([`/jenkins-fleet/bank-ci/agents/${alive(state, 'awsDeploy')[0]!.id}/secret`]);
  });
});

describe('drift of what provisioner-iam pins (a sandbox without IAM)', () => {
  const sandbox = new Sandbox(flags, {}, { iam: false });
  const s = new Scenario(sandbox);
  beforeAll(async () => {
    await sandbox.start();
    const run = await s.up();
    expect(run.code, run.stdout + run.stderr).toBe(0);
  });
  afterAll(async () => sandbox.stop());

  it('securityGroups', async () => {
    await replaceFor(s, 'securityGroups', () => {
      s.pool.securityGroups = ['sg-0a1b2c3d4e5f60009'];
    });
  });

  it('instanceProfile', async () => {
    await replaceFor(s, 'instanceProfile', () => {
      s.pool.instanceProfile = 'jenkins-fleet-agent-v2';
    });
  });
});

/** What a running `provisioner` printed so far. */
const outputs = new WeakMap<object, string>();
async function runOutput(run: Promise<Run> & { child: import('node:child_process').ChildProcess }): Promise<string> {
  if (!outputs.has(run)) {
    outputs.set(run, '');
    run.child.stdout!.on('data', (c: Buffer) => outputs.set(run, outputs.get(run)! + c.toString()));
    run.child.stderr!.on('data', (c: Buffer) => outputs.set(run, outputs.get(run)! + c.toString()));
  }
  return outputs.get(run)!;
}
