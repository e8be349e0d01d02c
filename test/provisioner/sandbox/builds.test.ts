// The Jenkins stand-in's build queue and executors, through the real `jenkins` npm client and plain
// HTTP as `watch` will read them: builds queued on the control endpoint wait in queue/api/json with
// Jenkins' shapes and `why` texts, start on an idle executor of an online node that can take them,
// run, finish, and end with their node; only callers with Job/Read see them.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { SandboxOptions } from '../../../provisioner/sandbox/src/server.ts';
import { eventually, jenkinsAuth, jenkinsClient, startHarness, type Harness, type JenkinsClient } from '../../support/sandbox.ts';

const placeholderTask = 'org.jenkinsci.plugins.workflow.support.steps.ExecutorStepExecution$PlaceholderTask';

interface QueueItem {
  _class: string;
  id: number;
  why: string;
  buildable: boolean;
  blocked: boolean;
  pending?: boolean;
  stuck: boolean;
  inQueueSince: number;
  buildableStartMilliseconds?: number;
  task: { _class: string; name: string; fullDisplayName: string; url: string };
  [key: string]: unknown;
}

interface BuildView {
  id: number;
  queueId: number;
  label: string | null;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  node: string | null;
  result: 'SUCCESS' | 'ABORTED' | null;
  abortedBy?: string;
}

/** One sandbox under test, with the helpers every block uses. */
function world(h: () => Harness) {
  const url = (path: string) => `${h().sandbox.env.JENKINS_URL}${path}`;
  const userOf = (name: string) => h().sandbox.sandbox.store.world.users.find((u) => u.name === name)!;
  const asUser = (name: string) => jenkinsAuth(h(), name, userOf(name).token);
  const admin = (): JenkinsClient => jenkinsClient(h().sandbox.env.JENKINS_URL!, 'admin', userOf('admin').token);
  const sockets: WebSocket[] = [];
  return {
    url,
    asUser,
    admin,
    async node(name: string, labels: string, mode: 'NORMAL' | 'EXCLUSIVE', executors: number): Promise<void> {
      await h().jenkins.node.create({
        name,
        nodeDescription: 'Managed by jenkins-fleet (fleet bank-ci, pool test)',
        numExecutors: executors,
        remoteFS: '/home/jenkins/agent',
        labelString: labels,
        mode,
        launcher: { 'stapler-class': 'hudson.slaves.JNLPLauncher', webSocket: true },
      });
    },
    /** An agent holding /wsagents/ for the node, as agent.jar does. */
    connect(name: string): Promise<WebSocket> {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(url('wsagents/').replace(/^http/, 'ws'), { headers: { 'Node-Name': name, 'Secret-Key': h().sandbox.jenkins.secretOf(name), 'X-Remoting-Capability': 'test' } });
        ws.once('open', () => { sockets.push(ws); resolve(ws); });
        ws.once('unexpected-response', (_req, res) => reject(new Error(`wsagents/ answered ${res.statusCode}`)));
      });
    },
    async queue(body: Record<string, unknown>): Promise<BuildView[]> {
      const r = await fetch(`${h().sandbox.url}/_sandbox/builds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (r.status !== 200) throw new Error(`POST /_sandbox/builds: ${r.status} ${await r.text()}`);
      return ((await r.json()) as { builds: BuildView[] }).builds;
    },
    async builds(): Promise<BuildView[]> {
      return (await (await fetch(`${h().sandbox.url}/_sandbox/builds`)).json()) as BuildView[];
    },
    async build(id: number): Promise<BuildView> {
      return (await this.builds()).find((b) => b.id === id)!;
    },
    /** queue/api/json as a user with Job/Read (the administrator) sees it. */
    async items(auth = asUser('admin')): Promise<QueueItem[]> {
      const r = await fetch(url('queue/api/json'), { headers: { ...auth, 'accept-language': 'en' } });
      return ((await r.json()) as { items: QueueItem[] }).items;
    },
    async item(id: number): Promise<QueueItem | undefined> {
      return (await this.items()).find((i) => i.task.name === `part of sandbox-build #${id}`);
    },
    /** The item once maintenance has made it buildable. */
    async buildable(id: number): Promise<QueueItem> {
      return eventually(`build #${id} buildable`, async () => {
        const item = await this.item(id);
        return item?.buildable ? item : undefined;
      });
    },
    async why(id: number, expected: string): Promise<QueueItem> {
      return eventually(`build #${id} waiting with why "${expected}"`, async () => {
        const item = await this.item(id);
        return item?.why === expected ? item : undefined;
      });
    },
    async computer(name: string, auth = jenkinsAuth(h())): Promise<Record<string, any>> {
      return (await (await fetch(url(`computer/${name}/api/json?depth=1`), { headers: auth })).json()) as Record<string, any>;
    },
    async drain(name: string): Promise<void> {
      const r = await fetch(url(`computer/${name}/changeOfflineCause`), { method: 'POST', redirect: 'manual', headers: { ...jenkinsAuth(h()), 'content-type': 'application/x-www-form-urlencoded' }, body: 'offlineMessage=draining' });
      expect(r.status).toBe(302);
    },
    closeAll(): void {
      for (const ws of sockets) ws.terminate();
    },
  };
}

describe('the queue says why a build waits, in Jenkins\' words', () => {
  let h: Harness;
  const w = world(() => h);
  beforeAll(async () => { h = await startHarness((o) => { o.queueMaintenanceMs = 200; }); });
  afterAll(async () => { w.closeAll(); await h.stop(); });

  const a = 'awsDeploy-i-0000000000000000a';
  const b = 'awsDeploy2-i-0000000000000000b';

  it('says "Waiting for next available executor" while Jenkins has no agent node at all: the label is dropped', async () => {
    const [build] = await w.queue({ label: 'awsDeploy', duration: '60s' });
    expect(build).toMatchObject({ id: 1, label: 'awsDeploy', startedAt: null, finishedAt: null, node: null, result: null });
    const item = await w.buildable(1);
    expect(item).toMatchObject({
      _class: 'hudson.model.Queue$BuildableItem',
      actions: [],
      blocked: false,
      buildable: true,
      id: build!.queueId,
      params: '',
      pending: false,
      // BuildableItem.isStuck: its label has no online node.
      stuck: true,
      task: { _class: placeholderTask, name: 'part of sandbox-build #1', fullDisplayName: 'part of sandbox-build #1', url: 'job/sandbox-build/1/' },
      url: `queue/item/${build!.queueId}/`,
      why: 'Waiting for next available executor',
      inQueueSince: build!.queuedAt,
    });
    expect(item.buildableStartMilliseconds).toBeGreaterThanOrEqual(item.inQueueSince);
    // The same fields as a node step's item in the fixture written from Jenkins' exports.
    const fixture = JSON.parse(readFileSync(new URL('../../fixtures/jenkins/queue.json', import.meta.url), 'utf8')) as { items: QueueItem[] };
    const model = fixture.items.find((i) => i.task._class === placeholderTask)!;
    expect(Object.keys(item).sort()).toEqual(Object.keys(model).sort());
    expect(Object.keys(item.task).sort()).toEqual(Object.keys(model.task).sort());
    // The real client reads the same items.
    expect(await w.admin().queue.list()).toEqual([expect.objectContaining({ id: build!.queueId, why: 'Waiting for next available executor' })]);
  });

  it('names a label no node carries, and the single offline node of a label', async () => {
    await w.node(a, 'awsDeploy terraform python', 'EXCLUSIVE', 2);
    const [docker] = await w.queue({ label: 'docker' });
    await w.why(docker!.id, 'There are no nodes with the label ‘docker’');
    // With a node now, the first build's label has one node, and it is offline.
    await w.why(1, `‘${a}’ is offline`);
    expect((await w.item(1))!.stuck).toBe(true);
  });

  it('says all nodes of a label are offline when one is disconnected and another drained', async () => {
    await w.node(b, 'awsDeploy2 python docker', 'NORMAL', 1);
    // Drained before its agent connects, so that the docker build waiting since the last test does not start there.
    await w.drain(b);
    await w.connect(b);
    const [python] = await w.queue({ label: 'python' });
    await w.why(python!.id, 'All nodes of label ‘python’ are offline');
    await w.why(2, `‘${b}’ is offline`); // docker: its only node is drained
  });

  it('prints a label expression as Jenkins does, parentheses the user wrote kept', async () => {
    const [notDocker, either] = [...await w.queue({ label: 'python && !docker' }), ...await w.queue({ label: '(terraform || docker)' })];
    await w.why(notDocker!.id, `‘${a}’ is offline`);
    await w.why(either!.id, 'All nodes of label ‘(terraform||docker)’ are offline');
  });

  it('names the built-in node when only it carries the label', async () => {
    const [notPython] = await w.queue({ label: '!python' });
    const item = await w.why(notPython!.id, 'Waiting for next available executor on ‘Built-In Node’');
    expect(item.stuck).toBe(false);
  });

  it('words why in the language Accept-Language prefers, as Jenkins does (German from Messages_de), and in English without one', async () => {
    const whys = async (language?: string) => {
      const r = await fetch(w.url('queue/api/json?tree=items[why]'), { headers: { ...w.asUser('admin'), ...(language ? { 'accept-language': language } : {}) } });
      return ((await r.json()) as { items: { why: string }[] }).items.map((i) => i.why);
    };
    expect(await whys('de-DE,de;q=0.9')).toContain('Warte auf den nächsten freien Build-Prozessor auf master');
    expect(await whys('de-DE,de;q=0.9')).toContain('Alle Knoten des Labels „python“ sind offline');
    expect(await whys('en-GB;q=0.4, de;q=0.8')).toContain('Warte auf den nächsten freien Build-Prozessor auf master');
    for (const english of [undefined, 'en-US,en;q=0.9', 'de;q=0.2, en;q=0.7']) {
      expect(await whys(english)).toContain('Waiting for next available executor on ‘Built-In Node’');
    }
  });

  it('starts the oldest builds on an agent once it is online; the rest wait for the label, or for its only node', async () => {
    await w.connect(a);
    // Two executors: the two oldest builds a can take (#1 awsDeploy, #3 python) start there.
    await eventually('builds #1 and #3 running on a', async () => {
      const builds = await w.builds();
      return [1, 3].every((id) => builds.find((x) => x.id === id)?.node === a) ? true : undefined;
    });
    const started = await w.build(3);
    expect(started.startedAt).toBeGreaterThanOrEqual(started.queuedAt);
    await w.why(4, `Waiting for next available executor on ‘${a}’`); // python&&!docker: a only
    await w.why(5, 'Waiting for next available executor on ‘(terraform||docker)’'); // a busy, b drained
    await w.why(2, `‘${b}’ is offline`);
    expect(await w.item(1)).toBeUndefined(); // started: left the queue
    expect((await w.item(4))!.stuck).toBe(false);

    // Executors agree with the builds: busy, counted, shown to those who may read the job.
    const seen = await w.computer(a, w.asUser('admin'));
    expect(seen).toMatchObject({ idle: false, numExecutors: 2, offline: false });
    expect(seen.executors.map((e: Record<string, any>) => [e.idle, e.currentExecutable?.number])).toEqual([[false, 1], [false, 3]]);
    expect(seen.executors[0].currentExecutable).toMatchObject({ _class: `${placeholderTask}$PlaceholderExecutable`, displayName: 'part of sandbox-build #1', url: `${h.sandbox.env.JENKINS_URL}job/sandbox-build/1/` });
    // Executor.getCurrentExecutableForApi: nothing of the build for an account without Job/Read.
    const service = await w.computer(a);
    expect(service.executors.map((e: Record<string, any>) => [e.idle, e.currentExecutable])).toEqual([[false, null], [false, null]]);
    const set = (await (await fetch(w.url('computer/api/json?tree=busyExecutors,totalExecutors'), { headers: jenkinsAuth(h) })).json()) as Record<string, number>;
    expect(set).toMatchObject({ busyExecutors: 2, totalExecutors: 2 }); // the drained node's executor is not counted
  });

  it('lists queue items only to callers with Job/Read on the task, and never as discoverable (a node step is no job)', async () => {
    const world = h.sandbox.sandbox.store.world;
    world.users.push(
      { name: 'job-reader', token: 'job-reader-token-000000000', password: 'job-reader-password', permissions: ['hudson.model.Hudson.Read', 'hudson.model.Item.Read'] },
      { name: 'discoverer', token: 'discoverer-token-000000000', password: 'discoverer-password', permissions: ['hudson.model.Hudson.Read', 'hudson.model.Item.Discover'] },
    );
    const queueAs = async (auth: Record<string, string>) => (await (await fetch(w.url('queue/api/json'), { headers: auth })).json()) as { items: QueueItem[]; discoverableItems: unknown[] };
    const everyone = (await queueAs(w.asUser('admin'))).items.length;
    expect(everyone).toBeGreaterThan(0);
    expect((await queueAs(jenkinsAuth(h, 'job-reader', 'job-reader-token-000000000'))).items).toHaveLength(everyone);
    for (const auth of [jenkinsAuth(h), w.asUser('reader'), jenkinsAuth(h, 'discoverer', 'discoverer-token-000000000')]) {
      expect(await queueAs(auth)).toEqual({ _class: 'hudson.model.Queue', discoverableItems: [], items: [] });
    }
    // The service account (no Job/Read) sees an empty queue through the real client too.
    expect(await h.jenkins.queue.list()).toEqual([]);
  });
});

describe('which node takes a build: labels, EXCLUSIVE and NORMAL mode, drained nodes', () => {
  let h: Harness;
  const w = world(() => h);
  beforeAll(async () => { h = await startHarness((o) => { o.queueMaintenanceMs = 200; }); });
  afterAll(async () => { w.closeAll(); await h.stop(); });

  const exclusive = 'awsDeploy-i-0000000000000000e';
  const normal = 'static-host-1';

  it('keeps an EXCLUSIVE node for builds that name its labels; a build without a label says it is reserved', async () => {
    await w.node(exclusive, 'awsDeploy terraform', 'EXCLUSIVE', 1);
    await w.connect(exclusive);
    const [any] = await w.queue({ label: null, duration: '200ms' });
    await w.why(any!.id, `‘${exclusive}’ is reserved for jobs with matching label expression`);
    // A cause kept from the last maintenance is worded when asked, in the asker's language.
    const german = await fetch(w.url('queue/api/json?tree=items[why]'), { headers: { ...w.asUser('admin'), 'accept-language': 'de' } });
    expect(((await german.json()) as { items: { why: string }[] }).items.map((i) => i.why)).toContain(`„${exclusive}“ ist für Projekte mit passendem Label-Ausdruck reserviert`);
    // A blank label is `node {}` too (ExecutorStep trims it away).
    const [blank] = await w.queue({ label: '  ', duration: '200ms' });
    expect(blank!.label).toBeNull();
    const [labelled] = await w.queue({ label: 'terraform', duration: '200ms' });
    await eventually('the labelled build ran on the exclusive node', async () => {
      const b = await w.build(labelled!.id);
      return b.result === 'SUCCESS' ? b : undefined;
    });
    expect(await w.build(labelled!.id)).toMatchObject({ node: exclusive, result: 'SUCCESS' });
    expect((await w.build(any!.id)).startedAt).toBeNull();
  });

  it('lets a NORMAL node take builds without a label, and builds naming its labels', async () => {
    await w.node(normal, 'python', 'NORMAL', 1);
    await w.connect(normal);
    const done = await eventually('both unlabelled builds ran on the NORMAL node', async () => {
      const builds = (await w.builds()).filter((b) => b.label === null);
      return builds.every((b) => b.result === 'SUCCESS') ? builds : undefined;
    });
    expect(done.map((b) => b.node)).toEqual([normal, normal]);
  });

  it('starts nothing new on a drained node, lets the build running there finish, and starts again once it is back', async () => {
    const [running] = await w.queue({ label: 'python', duration: '3s' });
    await eventually('running on the normal node', async () => (await w.build(running!.id)).startedAt ?? undefined);
    await w.drain(normal);
    const [waiting] = await w.queue({ label: 'python', duration: '200ms' });
    await w.why(waiting!.id, `‘${normal}’ is offline`);
    expect(await w.computer(normal)).toMatchObject({ temporarilyOffline: true, idle: false });
    await eventually('the running build finished on the drained node', async () => (await w.build(running!.id)).result === 'SUCCESS' || undefined);
    await new Promise((r) => setTimeout(r, 600)); // three maintenance periods
    expect((await w.build(waiting!.id)).startedAt).toBeNull();
    expect(await w.computer(normal)).toMatchObject({ idle: true });
    const back = await fetch(w.url(`computer/${normal}/toggleOffline`), { method: 'POST', redirect: 'manual', headers: jenkinsAuth(h) });
    expect(back.status).toBe(302);
    await eventually('the waiting build ran once the node was back', async () => (await w.build(waiting!.id)).result === 'SUCCESS' || undefined);
    expect(await w.build(waiting!.id)).toMatchObject({ node: normal });
  });
});

describe('builds end: successfully, or aborted when their node goes', () => {
  let h: Harness;
  const w = world(() => h);
  beforeAll(async () => { h = await startHarness((o) => { o.queueMaintenanceMs = 200; o.lostAgentTimeoutMs = 3000; o.executorStartMs = 2000; }); });
  afterAll(async () => { w.closeAll(); await h.stop(); });

  it('holds an item pending while its executor starts it, and makes it buildable again when the node drops first', async () => {
    const name = 'pend-i-00000000000000001';
    await w.node(name, 'pend', 'EXCLUSIVE', 1);
    const ws = await w.connect(name);
    const [build] = await w.queue({ label: 'pend', duration: '300ms' });
    const pending = await eventually('pending', async () => { const i = await w.item(build!.id); return i?.pending ? i : undefined; });
    expect(pending).toMatchObject({ buildable: true, pending: true, why: `Waiting for next available executor on ‘${name}’` });
    // Executor.isIdle is false once it holds the work; the executable exists only once it starts.
    expect(await w.computer(name, w.asUser('admin'))).toMatchObject({ idle: false, executors: [{ idle: false, currentExecutable: null }] });
    ws.terminate();
    // Executor.run: "went off-line before the task's worker thread started": back in the queue, same item.
    const again = await eventually('buildable again', async () => { const i = await w.item(build!.id); return i && !i.pending && i.why === `‘${name}’ is offline` ? i : undefined; }, 10_000);
    expect(again).toMatchObject({ id: pending.id, inQueueSince: pending.inQueueSince, buildableStartMilliseconds: pending.buildableStartMilliseconds });
    await w.connect(name);
    await eventually('it ran once the agent was back', async () => (await w.build(build!.id)).result === 'SUCCESS' || undefined);
  });

  it('finishes a build SUCCESS after its duration and frees the executor', async () => {
    const name = 'ok-i-00000000000000001';
    await w.node(name, 'ok', 'EXCLUSIVE', 1);
    await w.connect(name);
    const [build] = await w.queue({ label: 'ok', duration: '500ms' });
    const done = await eventually('finished', async () => { const b = await w.build(build!.id); return b.result ? b : undefined; });
    expect(done).toMatchObject({ label: 'ok', node: name, result: 'SUCCESS' });
    expect(done.abortedBy).toBeUndefined();
    expect(done.finishedAt! - done.startedAt!).toBeGreaterThanOrEqual(500);
    expect(done.startedAt! - done.queuedAt).toBeGreaterThanOrEqual(2000); // the executor's start
    expect(await w.computer(name)).toMatchObject({ idle: true });
  });

  it('keeps a build whose agent was killed busy for the lost-agent timeout, then aborts it: node-removed', async () => {
    const name = 'kill-i-00000000000000001';
    await w.node(name, 'kill', 'EXCLUSIVE', 1);
    const ws = await w.connect(name);
    const [build] = await w.queue({ label: 'kill', duration: '60s' });
    await eventually('running', async () => (await w.build(build!.id)).startedAt ?? undefined);
    ws.terminate();
    await eventually('offline', async () => (await w.computer(name)).offline || undefined);
    expect(await w.computer(name)).toMatchObject({ offline: true, idle: false });
    const aborted = await eventually('aborted', async () => { const b = await w.build(build!.id); return b.result ? b : undefined; });
    expect(aborted).toMatchObject({ result: 'ABORTED', abortedBy: 'node-removed', node: name });
    expect(await w.computer(name)).toMatchObject({ idle: true });
  });

  it('lets a build carry on when its agent comes back in time', async () => {
    const name = 'back-i-00000000000000001';
    await w.node(name, 'back', 'EXCLUSIVE', 1);
    const ws = await w.connect(name);
    const [build] = await w.queue({ label: 'back', duration: '2500ms' });
    await eventually('running', async () => (await w.build(build!.id)).startedAt ?? undefined);
    ws.terminate();
    await eventually('offline', async () => (await w.computer(name)).offline || undefined);
    await w.connect(name); // the agent comes back before the build's executor gives up on it
    expect(await eventually('finished', async () => { const b = await w.build(build!.id); return b.result ? b : undefined; })).toMatchObject({ result: 'SUCCESS', node: name });
  });

  it('keeps a deleted node listed while its build runs, then aborts the build: node-removed', async () => {
    const name = 'gone-i-00000000000000001';
    await w.node(name, 'gone', 'EXCLUSIVE', 2);
    await w.connect(name);
    const [build] = await w.queue({ label: 'gone', duration: '60s' });
    await eventually('running', async () => (await w.build(build!.id)).startedAt ?? undefined);
    await h.jenkins.node.destroy(name);
    const listed = (await w.admin().node.list()).find((c) => c.displayName === name);
    expect(listed).toMatchObject({ offline: true, idle: false, numExecutors: 0, assignedLabels: [], executors: [{ idle: false, currentExecutable: expect.objectContaining({ number: build!.id }) }] });
    // Its label has no node now.
    const [next] = await w.queue({ label: 'gone' });
    await w.why(next!.id, 'There are no nodes with the label ‘gone’');
    const aborted = await eventually('aborted', async () => { const b = await w.build(build!.id); return b.result ? b : undefined; });
    expect(aborted).toMatchObject({ result: 'ABORTED', abortedBy: 'node-removed', node: name });
    expect((await h.jenkins.node.list()).some((c) => c.displayName === name)).toBe(false);
  });

  it('keeps `sandbox busy` and `idle` on top of real builds', async () => {
    const name = 'mark-i-00000000000000001';
    await w.node(name, 'mark', 'NORMAL', 1);
    await w.connect(name);
    const busy = await fetch(`${h.sandbox.url}/_sandbox/agents/${name}/busy`, { method: 'POST' });
    expect(busy.status).toBe(200);
    expect(await w.computer(name)).toMatchObject({ idle: false });
    const again = await fetch(`${h.sandbox.url}/_sandbox/agents/${name}/busy`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ error: `node ${name} has no idle executor: every one of its 1 runs a build` });
    const marked = (await w.builds()).find((b) => b.label === name)!;
    expect(marked).toMatchObject({ node: name, result: null });
    expect((await fetch(`${h.sandbox.url}/_sandbox/agents/${name}/idle`, { method: 'POST' })).status).toBe(200);
    expect(await w.build(marked.id)).toMatchObject({ result: 'SUCCESS' });
    expect(await w.computer(name)).toMatchObject({ idle: true });
  });
});

describe('the job keeps its newest builds, as a build discarder does', () => {
  let h: Harness;
  const w = world(() => h);
  beforeAll(async () => { h = await startHarness((o) => { o.queueMaintenanceMs = 200; o.keepBuilds = 3; }); });
  afterAll(async () => { w.closeAll(); await h.stop(); });

  it('deletes finished builds beyond the newest three when one ends, never one still waiting or the last successful one', async () => {
    const name = 'keep-i-00000000000000001';
    await w.node(name, 'keep', 'EXCLUSIVE', 1);
    await w.connect(name);
    const [first] = await w.queue({ label: 'keep', duration: '100ms' });
    await eventually('the first build finished', async () => (await w.build(first!.id))?.result ?? undefined);
    // Three builds no node can take: they count among the newest three and are never deleted.
    const waiting = await w.queue({ label: 'nobody', count: 3 });
    const [second] = await w.queue({ label: 'keep', duration: '100ms' });
    const ids = (builds: BuildView[]) => builds.map((b) => b.id);
    // Before the second ends, the first is beyond the newest three but is the last successful build.
    expect(ids(await w.builds())).toEqual([first!.id, ...ids(waiting), second!.id]);
    await eventually('the second build finished', async () => (await w.build(second!.id))?.result ?? undefined);
    expect(ids(await w.builds())).toEqual([...ids(waiting), second!.id]);
    // The state file holds what is kept, nothing more.
    expect(h.sandbox.sandbox.store.world.builds.map((b) => b.id)).toEqual([...ids(waiting), second!.id]);
  });
});

describe('builds survive a sandbox restart', () => {
  let h: Harness;
  const w = world(() => h);
  const tune = (o: SandboxOptions) => { o.queueMaintenanceMs = 200; o.lostAgentTimeoutMs = 10_000; };
  beforeAll(async () => { h = await startHarness(tune); });
  afterAll(async () => { w.closeAll(); await h.stop(); });

  it('keeps queued builds in the queue and running builds on their executors; agents that come back carry them on', async () => {
    const [back, lost] = ['back-i-00000000000000001', 'lost-i-00000000000000001'];
    await w.node(back, 'back', 'EXCLUSIVE', 1);
    await w.node(lost, 'lost', 'EXCLUSIVE', 1);
    await w.connect(back);
    await w.connect(lost);
    const [onBack] = await w.queue({ label: 'back', duration: '3s' });
    const [onLost] = await w.queue({ label: 'lost', duration: '60s' });
    const [queued] = await w.queue({ label: 'docker' });
    await eventually('both running', async () => ((await w.build(onBack!.id)).startedAt && (await w.build(onLost!.id)).startedAt) || undefined);
    const item = await w.why(queued!.id, 'There are no nodes with the label ‘docker’');
    const before = await w.builds();

    w.closeAll();
    const dir = h.dir;
    await h.stop(true);
    h = await startHarness(tune, dir);
    // The client's kept-alive connection went with the old server.
    await eventually('the sandbox answering again', async () => (await w.builds().catch(() => undefined)) ?? undefined);

    expect(await w.item(queued!.id)).toMatchObject({ id: item.id, inQueueSince: item.inQueueSince, why: 'There are no nodes with the label ‘docker’' });
    expect((await w.builds()).map((b) => [b.id, b.startedAt, b.node])).toEqual(before.map((b) => [b.id, b.startedAt, b.node]));
    expect(await w.computer(back)).toMatchObject({ offline: true, idle: false });
    await w.connect(back);
    expect(await eventually('carried on', async () => { const b = await w.build(onBack!.id); return b.result ? b : undefined; })).toMatchObject({ result: 'SUCCESS', node: back });
    expect(await eventually('given up', async () => { const b = await w.build(onLost!.id); return b.result ? b : undefined; })).toMatchObject({ result: 'ABORTED', abortedBy: 'node-removed', node: lost });
  });
});

describe('a state directory from before builds ran through the queue', () => {
  it('turns an agent marked busy, and a deleted node\'s busy computer, into running builds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-test-'));
    const since = Date.now() - 1000;
    const older = {
      version: 1, jnlpKey: 'k'.repeat(64), users: [{ name: 'provisioner', token: 'old-token' }], instances: [], launches: [], parameters: [], commands: [],
      nodes: [{ name: 'old-i-00000000000000001', description: '', numExecutors: 1, remoteFS: '/x', labelString: 'old', mode: 'EXCLUSIVE', webSocket: true, createdAt: since, busy: { number: 7, since } }],
      removedComputers: [{ name: 'old-i-00000000000000002', busy: { number: 8, since, agentLostAt: since } }],
      nextBuild: 9,
    };
    writeFileSync(join(dir, 'state.json'), JSON.stringify(older));
    const h = await startHarness(undefined, dir);
    try {
      const w = world(() => h);
      expect((await w.builds()).map((b) => [b.id, b.label, b.node, b.startedAt, b.result])).toEqual([
        [8, 'old-i-00000000000000002', 'old-i-00000000000000002', since, null],
        [7, 'old-i-00000000000000001', 'old-i-00000000000000001', since, null],
      ]);
      expect(await w.computer('old-i-00000000000000001')).toMatchObject({ idle: false });
      expect(await w.computer('old-i-00000000000000002')).toMatchObject({ idle: false, numExecutors: 0 });
      const [next] = await w.queue({ label: 'x' });
      expect(next!.id).toBe(9);
    } finally {
      await h.stop();
    }
  });
});

describe('the control endpoint names what is wrong with a request', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness(); });
  afterAll(async () => h.stop());

  it('refuses bad fields with one sentence naming the field and what was expected', async () => {
    const post = async (body: unknown) => {
      const r = await fetch(`${h.sandbox.url}/_sandbox/builds`, { method: 'POST', body: JSON.stringify(body) });
      return { status: r.status, ...((await r.json()) as { error?: string }) };
    };
    expect(await post({ label: 'x', count: 0 })).toEqual({ status: 400, error: 'builds: count must be a whole number from 1 to 1000, found 0' });
    expect(await post({ label: 7 })).toEqual({ status: 400, error: 'builds: label must be a label expression (a string), or null for any agent, found 7' });
    expect(await post({ label: 'x', duration: 'soon' })).toEqual({ status: 400, error: 'builds: duration must be milliseconds or a duration such as 1500ms, 20s or 2m, found "soon"' });
    expect(await post({ label: 'x', colour: 'red' })).toEqual({ status: 400, error: 'builds: unknown field "colour" (expected label, count, duration)' });
    expect(await post([1])).toEqual({ status: 400, error: 'builds: expected a JSON object {label, count, duration}, found [1]' });
    const ok = await fetch(`${h.sandbox.url}/_sandbox/builds`, { method: 'POST', body: JSON.stringify({ label: 'x', count: 3 }) });
    const { builds } = (await ok.json()) as { builds: BuildView[] };
    expect(builds.map((b) => [b.id, b.label, b.result])).toEqual([[1, 'x', null], [2, 'x', null], [3, 'x', null]]);
  });
});
