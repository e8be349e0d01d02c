// The Jenkins stand-in, exercised through the real `jenkins` npm client (v1.1.0) and, for what
// that client has no call for (jenkins-agent.jnlp, tree=, /wsagents/), plain HTTP as agent.jar
// and the provisioner speak it.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { eventually, jenkinsAuth, jenkinsClient, startHarness, type Harness } from '../../support/sandbox.ts';

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

  it('answers 403 to anonymous requests and 401 to a wrong token, as Jenkins does', async () => {
    const anonymous = await fetch(`${h.sandbox.env.JENKINS_URL}computer/api/json`);
    expect(anonymous.status).toBe(403);
    expect(anonymous.headers.get('x-you-are-authenticated-as')).toBe('anonymous');
    expect(anonymous.headers.get('x-required-permission')).toBe('hudson.model.Hudson.Read');
    expect(await anonymous.text()).toContain('Authentication required');
    const wrong = jenkinsClient(h.sandbox.env.JENKINS_URL!, 'admin', 'not-the-token');
    await expect(wrong.node.list()).rejects.toMatchObject({ statusCode: 401 });
    const raw = await fetch(`${h.sandbox.env.JENKINS_URL}computer/api/json`, { headers: jenkinsAuth(h, 'admin', 'not-the-token') });
    expect(raw.headers.get('www-authenticate')).toBe('Basic realm="Jenkins"');
  });

  it('answers a missing permission with 403, the permission and the user in headers, and no X-Error', async () => {
    const reader = h.sandbox.sandbox.store.world.users.find((u) => u.name === 'reader')!;
    const readOnly = jenkinsClient(h.sandbox.env.JENKINS_URL!, reader.name, reader.token);
    expect(Array.isArray(await readOnly.node.list())).toBe(true);
    await expect(readOnly.node.create(inbound('awsDeploy-i-00000000000000009'))).rejects.toMatchObject({ statusCode: 403 });
    const r = await fetch(`${h.sandbox.env.JENKINS_URL}computer/doCreateItem?name=x&type=hudson.slaves.DumbSlave`, { method: 'POST', headers: jenkinsAuth(h, reader.name, reader.token) });
    expect(r.status).toBe(403);
    expect(r.headers.get('x-required-permission')).toBe('hudson.model.Computer.Create');
    expect(r.headers.get('x-you-are-authenticated-as')).toBe('reader');
    // AccessDeniedException3.reportAsHeaders adds one header per permission up the implication chain.
    expect(r.headers.get('x-permission-implied-by')).toBe('hudson.security.Permission.GenericCreate, hudson.security.Permission.GenericWrite, hudson.model.Hudson.Administer');
    expect(r.headers.get('x-error')).toBeNull();
    expect(await r.text()).toContain('reader is missing the Agent/Create permission');
    expect(await h.jenkins.node.exists('x')).toBe(false);
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

const url = (path: string) => `${h.sandbox.env.JENKINS_URL}${path}`;
const userOf = (name: string) => h.sandbox.sandbox.store.world.users.find((u) => u.name === name)!;
const form = (fields: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded', body: new URLSearchParams(fields).toString() });
async function post(path: string, auth: Record<string, string>, body?: { 'content-type': string; body: string }, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(url(path), { method: 'POST', redirect: 'manual', headers: { ...auth, ...extra, ...(body ? { 'content-type': body['content-type'] } : {}) }, body: body?.body });
}
async function computer(name: string): Promise<Record<string, any>> {
  return (await (await fetch(url(`computer/${name}/api/json`), { headers: jenkinsAuth(h) })).json()) as Record<string, any>;
}
async function makeNode(name: string): Promise<void> {
  await h.jenkins.node.create(inbound(name));
}

describe('Jenkins stand-in: who may do what', () => {
  it('gives the service account exactly the six permissions the provisioner needs, beside an administrator', () => {
    const users = h.sandbox.sandbox.store.world.users;
    expect(h.sandbox.env.JENKINS_USER).toBe('provisioner');
    expect(userOf('provisioner').permissions.sort()).toEqual([
      'hudson.model.Computer.Configure', 'hudson.model.Computer.Connect', 'hudson.model.Computer.Create',
      'hudson.model.Computer.Delete', 'hudson.model.Computer.Disconnect', 'hudson.model.Hudson.Read',
    ]);
    expect(users.find((u) => u.name === 'admin')!.permissions).toEqual(['hudson.model.Hudson.Administer']);
  });

  it('keeps the script console to Overall/Administer and jobs to Job/Read', async () => {
    const admin = userOf('admin');
    const service = await fetch(url('script'), { headers: jenkinsAuth(h) });
    expect(service.status).toBe(403);
    expect(service.headers.get('x-required-permission')).toBe('hudson.model.Hudson.Administer');
    expect((await fetch(url('script'), { headers: jenkinsAuth(h, 'admin', admin.token) })).status).toBe(200);
    const jobsOf = async (auth: Record<string, string>) => ((await (await fetch(url('api/json?tree=jobs[name],useSecurity'), { headers: auth })).json()) as { jobs: { name: string }[]; useSecurity: boolean });
    expect(await jobsOf(jenkinsAuth(h))).toEqual({ _class: 'hudson.model.Hudson', jobs: [], useSecurity: true });
    expect((await jobsOf(jenkinsAuth(h, 'admin', admin.token))).jobs.map((j) => j.name)).toEqual(['bank-app', 'sandbox-build']);
  });

  it('checks each agent permission on its own, with the implications Jenkins declares', async () => {
    await makeNode('perm-i-00000000000000001');
    // Agent/Disconnect implies Agent/Connect (Computer.CONNECT's impliedBy); nothing implies Delete but Overall/Administer.
    h.sandbox.sandbox.store.world.users.push({ name: 'operator', token: 'operator-token-0000000000', password: 'operator-password', permissions: ['hudson.model.Hudson.Read', 'hudson.model.Computer.Disconnect'] });
    const operator = jenkinsAuth(h, 'operator', 'operator-token-0000000000');
    expect((await fetch(url('computer/perm-i-00000000000000001/jenkins-agent.jnlp'), { headers: operator })).status).toBe(200);
    expect((await post('computer/perm-i-00000000000000001/changeOfflineCause', operator, form({ offlineMessage: 'x' }))).status).toBe(302);
    const configure = await fetch(url('computer/perm-i-00000000000000001/config.xml'), { headers: operator });
    expect(configure.status).toBe(403);
    expect(configure.headers.get('x-required-permission')).toBe('hudson.model.Computer.ExtendedRead');
    const remove = await post('computer/perm-i-00000000000000001/doDelete', operator);
    expect(remove.status).toBe(403);
    expect(remove.headers.get('x-required-permission')).toBe('hudson.model.Computer.Delete');
    const reader = userOf('reader');
    const toggle = await post('computer/perm-i-00000000000000001/toggleOffline', jenkinsAuth(h, 'reader', reader.token));
    expect(toggle.status).toBe(403);
    // Temporarily offline: toggling brings it back, which takes Connect.
    expect(toggle.headers.get('x-required-permission')).toBe('hudson.model.Computer.Connect');
    await h.jenkins.node.destroy('perm-i-00000000000000001');
  });

  it('takes a password as Jenkins does: GETs work, a POST without a valid crumb is refused before any permission check', async () => {
    const service = userOf('provisioner');
    const withPassword = jenkinsAuth(h, 'provisioner', service.password);
    expect((await fetch(url('computer/api/json'), { headers: withPassword })).status).toBe(200);
    const refused = await post(`computer/doCreateItem?${new URLSearchParams({ name: 'pw-i-00000000000000001', type: 'hudson.slaves.DumbSlave$DescriptorImpl', json: JSON.stringify(inbound('pw-i-00000000000000001')) })}`, withPassword);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('x-required-permission')).toBeNull();
    expect(refused.headers.get('x-error')).toBeNull();
    expect(await refused.text()).toContain('No valid crumb was included in the request');
    // Even a user without the permission hears about the crumb first (CrumbFilter runs before Stapler).
    const reader = await post('computer/doCreateItem', jenkinsAuth(h, 'reader', userOf('reader').password));
    expect(await reader.text()).toContain('No valid crumb was included in the request');

    // With the crumb of its own session the password works; a crumb of another session does not.
    const issued = await fetch(url('crumbIssuer/api/json'), { headers: withPassword });
    const { crumb } = (await issued.json()) as { crumb: string };
    const cookie = issued.headers.get('set-cookie')!.split(';')[0]!;
    const other = await fetch(url('crumbIssuer/api/json'), { headers: withPassword });
    const otherCookie = other.headers.get('set-cookie')!.split(';')[0]!;
    const create = (extra: Record<string, string>) => post(`computer/doCreateItem?${new URLSearchParams({ name: 'pw-i-00000000000000001', type: 'hudson.slaves.DumbSlave$DescriptorImpl', json: JSON.stringify(inbound('pw-i-00000000000000001')) })}`, withPassword, undefined, extra);
    expect((await create({ 'Jenkins-Crumb': crumb, cookie: otherCookie })).status).toBe(403);
    expect((await create({ 'Jenkins-Crumb': crumb, cookie })).status).toBe(302);
    // An API token needs none (ApiCrumbExclusion).
    expect((await post('computer/pw-i-00000000000000001/doDelete', jenkinsAuth(h))).status).toBe(302);
  });

  it('answers the unprotected endpoints as Jenkins does: wsagents/ 400 without an upgrade, no TCP listener', async () => {
    const ws = await fetch(url('wsagents/'));
    expect(ws.status).toBe(400);
    expect(await ws.text()).toContain('This endpoint is only for use from agent.jar in WebSocket mode');
    expect((await fetch(url('tcpSlaveAgentListener/'))).status).toBe(404);
    expect((await fetch(url('tcpSlaveAgentListener/'), { headers: jenkinsAuth(h) })).status).toBe(404);
  });
});

describe('Jenkins stand-in: node configuration and offline causes', () => {
  it('applies a POSTed config.xml with Agent/Configure: labels, executors, mode, remoteFS, description', async () => {
    const name = 'conf-i-00000000000000001';
    await makeNode(name);
    const current = await (await fetch(url(`computer/${name}/config.xml`), { headers: jenkinsAuth(h) })).text();
    const changed = current
      .replace(/<label>[^<]*<\/label>/, '<label>awsDeploy docker</label>')
      .replace(/<numExecutors>\d+<\/numExecutors>/, '<numExecutors>3</numExecutors>')
      .replace(/<mode>\w+<\/mode>/, '<mode>NORMAL</mode>')
      .replace(/<remoteFS>[^<]*<\/remoteFS>/, '<remoteFS>/var/lib/jenkins-agent</remoteFS>')
      .replace(/<description>[^<]*<\/description>/, '<description>moved &amp; relabelled</description>');
    const xml = { 'content-type': 'application/xml', body: changed };
    const reader = await post(`computer/${name}/config.xml`, jenkinsAuth(h, 'reader', userOf('reader').token), xml);
    expect(reader.status).toBe(403);
    expect(reader.headers.get('x-required-permission')).toBe('hudson.model.Computer.Configure');
    expect((await post(`computer/${name}/config.xml`, jenkinsAuth(h), xml)).status).toBe(200);
    expect(await computer(name)).toMatchObject({ numExecutors: 3, description: 'moved & relabelled', assignedLabels: [{ name: 'awsDeploy' }, { name: 'docker' }, { name }] });
    const after = await (await fetch(url(`computer/${name}/config.xml`), { headers: jenkinsAuth(h) })).text();
    expect(after).toContain('<mode>NORMAL</mode>');
    expect(after).toContain('<remoteFS>/var/lib/jenkins-agent</remoteFS>');
    const other = await post(`computer/${name}/config.xml`, jenkinsAuth(h), { 'content-type': 'application/xml', body: '<project><name>x</name></project>' });
    // HttpResponses.errorWithoutStack: plain text, no X-Error.
    expect(other.status).toBe(400);
    expect(other.headers.get('x-error')).toBeNull();
    expect(await other.text()).toBe('Node types do not match\n');
  });

  it('refuses names Jenkins.checkGoodName refuses, on doCreateItem, createItem and a renaming config.xml alike', async () => {
    // The npm client puts the X-Error header in its message, Jetty's '?' for a curly quote as '"'.
    await expect(h.jenkins.node.create(inbound('awsDeploy-h-build1.bank.internal.'))).rejects.toThrow('A name cannot end with "."');
    await expect(h.jenkins.node.create(inbound('tab\there'))).rejects.toThrow('No control code is allowed: tab\\u9;here');
    await expect(h.jenkins.node.create(inbound('..'))).rejects.toThrow('is not an allowed name');
    // doDoCreateItem trims the name first (Util.fixEmptyAndTrim): a blank one is a missing one.
    const blank = await post(`computer/doCreateItem?name=%20&type=hudson.slaves.DumbSlave%24DescriptorImpl`, jenkinsAuth(h), form({ json: JSON.stringify(inbound(' ')) }));
    expect(blank.headers.get('x-error')).toBe("Query parameter 'name' is required");
    const xml = (name: string) => ({ 'content-type': 'application/xml', body: `<slave><name>${name}</name><numExecutors>1</numExecutors><mode>NORMAL</mode><remoteFS>/a</remoteFS><launcher class="hudson.slaves.JNLPLauncher"/><label/></slave>` });
    const created = await post('computer/createItem', jenkinsAuth(h), xml('trailing.'));
    expect([created.status, created.headers.get('x-error')]).toEqual([400, 'A name cannot end with ?.?']);
    const name = 'rename-i-00000000000000001';
    await makeNode(name);
    const current = await (await fetch(url(`computer/${name}/config.xml`), { headers: jenkinsAuth(h) })).text();
    const renamed = await post(`computer/${name}/config.xml`, jenkinsAuth(h), { 'content-type': 'application/xml', body: current.replace(`<name>${name}</name>`, '<name>renamed.</name>') });
    expect([renamed.status, renamed.headers.get('x-error')]).toEqual([400, 'A name cannot end with ?.?']);
    expect((await computer(name)).displayName).toBe(name);
    await h.jenkins.node.destroy(name);
  });

  it('replaces the node as a whole: a config.xml without its temporary offline cause brings a drained node back', async () => {
    const name = 'conf-i-00000000000000001';
    await post(`computer/${name}/changeOfflineCause`, jenkinsAuth(h), form({ offlineMessage: 'draining' }));
    const drained = await (await fetch(url(`computer/${name}/config.xml`), { headers: jenkinsAuth(h) })).text();
    expect(drained).toContain('<temporaryOfflineCause class="hudson.slaves.OfflineCause$UserCause">');
    expect((await post(`computer/${name}/config.xml`, jenkinsAuth(h), { 'content-type': 'application/xml', body: drained })).status).toBe(200);
    expect(await computer(name)).toMatchObject({ temporarilyOffline: true, offlineCauseReason: 'draining' });
    const without = drained.replace(/ *<temporaryOfflineCause[\s\S]*<\/temporaryOfflineCause>\n/, '');
    expect((await post(`computer/${name}/config.xml`, jenkinsAuth(h), { 'content-type': 'application/xml', body: without })).status).toBe(200);
    expect(await computer(name)).toMatchObject({ temporarilyOffline: false, offlineCauseReason: '' });
    await h.jenkins.node.destroy(name);
  });

  it('HTML-escapes offlineCauseReason as Util.escape does, and says "Connection was broken" for a dropped channel', async () => {
    const name = 'esc-i-00000000000000001';
    await makeNode(name);
    await post(`computer/${name}/changeOfflineCause`, jenkinsAuth(h), form({ offlineMessage: `  <b>disk & "tmp"</b>  it's  full ` }));
    const node = await computer(name);
    expect(node.offlineCauseReason).toBe('&lt;b&gt;disk &amp; &quot;tmp&quot;&lt;/b&gt;&nbsp; it&#039;s&nbsp; full');
    expect(node.offlineCause).toMatchObject({ _class: 'hudson.slaves.OfflineCause$UserCause', description: `Disconnected by provisioner : <b>disk & "tmp"</b>  it's  full` });
    await post(`computer/${name}/toggleOffline`, jenkinsAuth(h));
    const { ws } = await connect(name, h.sandbox.jenkins.secretOf(name));
    ws!.close();
    const dropped = await eventually('offline', async () => { const n = await computer(name); return n.offline ? n : undefined; });
    expect(dropped.offlineCauseReason).toBe('Connection was broken');
    expect(dropped.offlineCause._class).toBe('hudson.slaves.OfflineCause$ChannelTermination');
    await h.jenkins.node.destroy(name);
  });

  it('lets the disk-space monitors take a node offline with their own cause, and back once space returns', async () => {
    const name = 'disk-i-00000000000000001';
    await makeNode(name);
    const space = (body: unknown) => fetch(`${h.sandbox.url}/_sandbox/agents/${name}/free-space`, { method: 'POST', body: JSON.stringify(body) });
    expect((await space({ freeBytes: 0 })).status).toBe(409); // the monitors only measure connected agents
    const { ws } = await connect(name, h.sandbox.jenkins.secretOf(name));
    expect((await space({ monitor: 'disk-space', freeBytes: 512 * 1024 ** 2, totalBytes: 8 * 1024 ** 3 })).status).toBe(200);
    const low = await computer(name);
    expect(low).toMatchObject({ offline: true, temporarilyOffline: true, offlineCauseReason: 'Disk space is below threshold of 1.00 GiB. Only 512.00 MiB out of 8.00 GiB left on /home/jenkins/agent.' });
    expect(low.offlineCause).toMatchObject({ _class: 'hudson.node_monitors.DiskSpaceMonitorDescriptor$DiskSpace', path: '/home/jenkins/agent', size: 512 * 1024 ** 2, threshold: 1024 ** 3 });
    expect(typeof low.offlineCause.timestamp).toBe('number');
    // The other monitor's recovery does not bring it back; its own does.
    expect(await (await space({ monitor: 'temp-space', freeBytes: 5 * 1024 ** 3 })).json()).toEqual({ changed: false });
    expect(await (await space({ monitor: 'disk-space', freeBytes: 5 * 1024 ** 3 })).json()).toEqual({ changed: true });
    expect(await computer(name)).toMatchObject({ offline: false, temporarilyOffline: false });
    // A node a person took offline stays theirs (AbstractNodeMonitorDescriptor.markOffline does nothing).
    await post(`computer/${name}/changeOfflineCause`, jenkinsAuth(h), form({ offlineMessage: 'mine' }));
    expect(await (await space({ monitor: 'temp-space', freeBytes: 1024 })).json()).toEqual({ changed: false });
    expect((await computer(name)).offlineCauseReason).toBe('mine');
    ws!.close();
    await h.jenkins.node.destroy(name);
  });
});

describe('Jenkins stand-in: builds outlive their agent for the lost-agent timeout', () => {
  let short: Harness;
  beforeAll(async () => { short = await startHarness((o) => { o.lostAgentTimeoutMs = 4000; }); });
  afterAll(async () => short?.stop());

  const state = async () => (await (await fetch(`${short.sandbox.url}/_sandbox/state`)).json()) as { nodes: { name: string; busy: boolean }[]; removedComputers: { name: string }[] };
  const get = async (name: string) => (await fetch(`${short.sandbox.env.JENKINS_URL}computer/${name}/api/json`, { headers: jenkinsAuth(short) })).json() as Promise<Record<string, any>>;
  const attach = (name: string) => new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`${short.sandbox.env.JENKINS_URL!.replace(/^http/, 'ws')}wsagents/`, { headers: { 'Node-Name': name, 'Secret-Key': short.sandbox.jenkins.secretOf(name), 'X-Remoting-Capability': 'test' } });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  const mark = (name: string, busy: 'busy' | 'idle') => fetch(`${short.sandbox.url}/_sandbox/agents/${name}/${busy}`, { method: 'POST' });

  it('keeps the executor of an agent that dropped mid-build busy until the Pipeline gives up, or the agent returns', async () => {
    const name = 'lost-i-00000000000000001';
    await short.jenkins.node.create(inbound(name));
    let ws = await attach(name);
    expect((await mark(name, 'busy')).status).toBe(200);
    ws.close();
    await eventually('offline', async () => (await get(name)).offline || undefined);
    expect(await get(name)).toMatchObject({ offline: true, idle: false });
    // Back in time: the build carries on.
    ws = await attach(name);
    await new Promise((r) => setTimeout(r, 4500));
    expect(await get(name)).toMatchObject({ offline: false, idle: false });
    ws.close();
    await eventually('the build aborted', async () => (await get(name)).idle || undefined, 60_000);
    expect(await get(name)).toMatchObject({ offline: true, idle: true });
  });

  it('lists a node deleted while busy (offline, not idle, no executors left) until its build ends', async () => {
    const name = 'gone-i-00000000000000001';
    await short.jenkins.node.create(inbound(name));
    const ws = await attach(name);
    await mark(name, 'busy');
    await short.jenkins.node.destroy(name);
    await new Promise((r) => ws.readyState === WebSocket.CLOSED ? r(undefined) : ws.once('close', r));
    const listed = (await short.jenkins.node.list()).find((c) => c.displayName === name);
    expect(listed).toMatchObject({ offline: true, idle: false, temporarilyOffline: false, numExecutors: 0, description: '', assignedLabels: [] });
    expect((await state()).removedComputers.map((c) => c.name)).toEqual([name]);
    // Nothing can be set on it any more; deleting it again takes it off the list.
    const change = await fetch(`${short.sandbox.env.JENKINS_URL}computer/${name}/changeOfflineCause`, { method: 'POST', headers: jenkinsAuth(short), redirect: 'manual' });
    expect(change.status).toBe(500);
    // doToggleOffline answers a computer without a node 404 before any permission check.
    const reader = short.sandbox.sandbox.store.world.users.find((u) => u.name === 'reader')!;
    const toggle = await fetch(`${short.sandbox.env.JENKINS_URL}computer/${name}/toggleOffline`, { method: 'POST', headers: jenkinsAuth(short, 'reader', reader.token), redirect: 'manual' });
    expect(toggle.status).toBe(404);
    await eventually('the build aborted and the computer gone', async () => !(await short.jenkins.node.list()).some((c) => c.displayName === name), 60_000);

    const again = 'gone-i-00000000000000002';
    await short.jenkins.node.create(inbound(again));
    await attach(again);
    await mark(again, 'busy');
    await short.jenkins.node.destroy(again);
    expect((await short.jenkins.node.list()).some((c) => c.displayName === again)).toBe(true);
    expect((await mark(again, 'idle')).status).toBe(200);
    expect((await short.jenkins.node.list()).some((c) => c.displayName === again)).toBe(false);
  });
});
