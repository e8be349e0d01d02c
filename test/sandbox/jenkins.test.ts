// The Jenkins stand-in, exercised through the real `jenkins` npm client (v1.1.0) and, for what
// that client has no call for (jenkins-agent.jnlp, tree=, /wsagents/), plain HTTP as agent.jar
// and the provisioner speak it.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, jenkinsAuth, jenkinsClient, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(async () => h.stop());

const inbound = (name: string) => ({
  name,
  nodeDescription: `Managed by jenkins-fleet (fleet bank-ci, pool awsDeploy)`,
  numExecutors: 2,
  remoteFS: '/home/jenkins/agent',
  labelString: 'awsDeploy terraform python',
  mode: 'EXCLUSIVE',
  launcher: { 'stapler-class': 'hudson.slaves.JNLPLauncher', webSocket: true, workDirSettings: { disabled: false, workDirPath: '', internalDir: 'remoting', failIfWorkDirIsMissing: false } },
});

function connect(name: string, secret: string): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${h.sandbox.env.JENKINS_URL!.replace(/^http/, 'ws')}wsagents/`, { headers: { 'Node-Name': name, 'Secret-Key': secret, 'X-Remoting-Capability': 'test' } });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode! }));
  });
}

describe('Jenkins stand-in through the real jenkins client', () => {
  it('creates an inbound agent with doCreateItem and refuses a duplicate name as Jenkins does', async () => {
    await h.jenkins.node.create(inbound('awsDeploy-i-00000000000000001'));
    const node = await h.jenkins.node.get('awsDeploy-i-00000000000000001');
    expect(node).toMatchObject({
      _class: 'hudson.slaves.SlaveComputer',
      displayName: 'awsDeploy-i-00000000000000001',
      description: 'Managed by jenkins-fleet (fleet bank-ci, pool awsDeploy)',
      numExecutors: 2,
      offline: true,
      temporarilyOffline: false,
      idle: true,
      jnlpAgent: true,
      offlineCauseReason: '',
    });
    expect(node.assignedLabels.map((l: { name: string }) => l.name)).toEqual(['awsDeploy', 'terraform', 'python', 'awsDeploy-i-00000000000000001']);
    await expect(h.jenkins.node.create(inbound('awsDeploy-i-00000000000000001'))).rejects.toThrow('Agent called "awsDeploy-i-00000000000000001" already exists');
    await expect(h.jenkins.node.create(inbound('bad/name'))).rejects.toThrow('"/" is an unsafe character');
  });

  it('answers 401 without or with a wrong token, and 403 to a user without Agent permissions', async () => {
    const anonymous = await fetch(`${h.sandbox.env.JENKINS_URL}computer/api/json`);
    expect(anonymous.status).toBe(401);
    const wrong = jenkinsClient(h.sandbox.env.JENKINS_URL!, 'admin', 'not-the-token');
    await expect(wrong.node.list()).rejects.toMatchObject({ statusCode: 401 });
    const reader = h.sandbox.sandbox.store.world.users.find((u) => u.name === 'reader')!;
    const readOnly = jenkinsClient(h.sandbox.env.JENKINS_URL!, reader.name, reader.token);
    expect(Array.isArray(await readOnly.node.list())).toBe(true);
    await expect(readOnly.node.create(inbound('awsDeploy-i-00000000000000009'))).rejects.toThrow('reader is missing the Agent/Create permission');
  });

  it('issues crumbs, so the client with its default crumbIssuer works too', async () => {
    const withCrumbs = jenkinsClient(h.sandbox.env.JENKINS_URL!, h.sandbox.env.JENKINS_USER!, h.sandbox.env.JENKINS_API_TOKEN!, true);
    const crumb = await withCrumbs.crumbIssuer.get();
    expect(crumb).toMatchObject({ _class: 'hudson.security.csrf.DefaultCrumbIssuer', crumbRequestField: 'Jenkins-Crumb' });
    expect(crumb.cookies[0]).toMatch(/^JSESSIONID/);
    await withCrumbs.node.create(inbound('awsDeploy-i-00000000000000002'));
    expect(await withCrumbs.node.exists('awsDeploy-i-00000000000000002')).toBe(true);
  });

  it('gives the secret as the first argument of jenkins-agent.jnlp: an HMAC of the node name', async () => {
    const r = await fetch(`${h.sandbox.env.JENKINS_URL}computer/awsDeploy-i-00000000000000001/jenkins-agent.jnlp`, { headers: jenkinsAuth(h) });
    expect(r.headers.get('content-type')).toBe('application/x-java-jnlp-file');
    const args = [...(await r.text()).matchAll(/<argument>([^<]*)<\/argument>/g)].map((m) => m[1]);
    const expected = createHmac('sha256', h.sandbox.sandbox.store.world.jnlpKey).update('awsDeploy-i-00000000000000001').digest('hex');
    expect(args[0]).toBe(expected);
    expect(args.slice(1, 3)).toEqual(['awsDeploy-i-00000000000000001', '-webSocket']);
    expect(args.slice(-2)).toEqual(['-url', h.sandbox.env.JENKINS_URL]);
  });

  it('shows a node online while its agent holds /wsagents/ and offline when it drops', async () => {
    const name = 'awsDeploy-i-00000000000000001';
    expect((await connect(name, 'wrong')).status).toBe(403);
    expect((await connect('nobody', 'x')).status).toBe(400);
    const { ws } = await connect(name, h.sandbox.jenkins.secretOf(name));
    expect(ws).toBeDefined();
    expect((await connect(name, h.sandbox.jenkins.secretOf(name))).status).toBe(400); // already connected
    const online = await h.jenkins.node.get(name);
    expect(online).toMatchObject({ offline: false, idle: true });
    ws!.close();
    const dropped = await eventually('offline', async () => { const n = await h.jenkins.node.get(name); return n.offline ? n : undefined; });
    expect(dropped.offlineCauseReason).toContain('Connection was broken');
  });

  it('filters computer/api/json with tree= in one call', async () => {
    const r = await fetch(`${h.sandbox.env.JENKINS_URL}computer/api/json?tree=computer[displayName,description,offline,temporarilyOffline,idle,offlineCauseReason,numExecutors,assignedLabels[name]]`, { headers: jenkinsAuth(h) });
    const body = await r.json() as { _class: string; computer: Record<string, unknown>[] };
    expect(body._class).toBe('hudson.model.ComputerSet');
    expect(body.computer[0]).toMatchObject({ _class: 'hudson.model.Hudson$MasterComputer', displayName: 'Built-In Node' });
    const agent = body.computer.find((c) => c.displayName === 'awsDeploy-i-00000000000000001')!;
    expect(Object.keys(agent).sort()).toEqual(['_class', 'assignedLabels', 'description', 'displayName', 'idle', 'numExecutors', 'offline', 'offlineCauseReason', 'temporarilyOffline']);
    expect(agent.assignedLabels).toContainEqual({ name: 'terraform' });
  });

  it('marks agents busy through the control endpoint, toggles them offline and deletes them', async () => {
    const name = 'awsDeploy-i-00000000000000002';
    const { ws } = await connect(name, h.sandbox.jenkins.secretOf(name));
    const busy = await fetch(`${h.sandbox.url}/_sandbox/agents/${name}/busy`, { method: 'POST' });
    expect(busy.status).toBe(200);
    expect(await h.jenkins.node.get(name)).toMatchObject({ idle: false, offline: false });
    await h.jenkins.node.disable(name, 'draining for scale-down');
    expect(await h.jenkins.node.get(name)).toMatchObject({ temporarilyOffline: true, offline: true, offlineCauseReason: 'draining for scale-down', idle: false });
    await fetch(`${h.sandbox.url}/_sandbox/agents/${name}/idle`, { method: 'POST' });
    expect(await h.jenkins.node.get(name)).toMatchObject({ idle: true });
    await h.jenkins.node.enable(name);
    expect(await h.jenkins.node.get(name)).toMatchObject({ temporarilyOffline: false, offline: false });
    // changeOfflineCause takes a node offline whatever its state (Computer.doChangeOfflineCause).
    const changed = await fetch(`${h.sandbox.env.JENKINS_URL}computer/${name}/changeOfflineCause`, { method: 'POST', headers: { ...jenkinsAuth(h), 'content-type': 'application/x-www-form-urlencoded' }, body: 'offlineMessage=drained', redirect: 'manual' });
    expect(changed.status).toBe(302);
    expect(await h.jenkins.node.get(name)).toMatchObject({ temporarilyOffline: true, offlineCauseReason: 'drained' });
    const closed = new Promise((r) => ws!.once('close', r));
    await h.jenkins.node.destroy(name);
    await closed; // deleting a node disconnects its agent
    expect(await h.jenkins.node.exists(name)).toBe(false);
    await expect(h.jenkins.node.get(name)).rejects.toMatchObject({ notFound: true });
  });

  it('serves the queue, agent.jar without auth, and 503s when throttled', async () => {
    expect(await h.jenkins.queue.list()).toEqual([]);
    const jar = Buffer.from(await (await fetch(`${h.sandbox.env.JENKINS_URL}jnlpJars/agent.jar`)).arrayBuffer());
    expect(jar.subarray(0, 2).toString()).toBe('PK');
    h.sandbox.sandbox.faults.jenkins.throttleRate = 1;
    await expect(h.jenkins.node.list()).rejects.toMatchObject({ statusCode: 503 });
    h.sandbox.sandbox.faults.jenkins.throttleRate = 0;
  });
});
