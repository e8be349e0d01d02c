// A node's settings changed in place through config.xml, against the sandbox's Jenkins as the
// service account: the running build goes on, the drain stays, the agent stays connected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { JenkinsController } from '../../../provisioner/src/jenkins/controller.ts';
import { eventually, startHarness, type Harness } from '../../support/sandbox.ts';

describe('changing a node in place (config.xml)', () => {
  let h: Harness;
  let controller: JenkinsController;
  let agent: WebSocket;
  const name = 'awsDeploy-i-0123456789abcdef0';

  beforeAll(async () => {
    h = await startHarness();
    const env = h.sandbox.env;
    controller = new JenkinsController({ url: env.JENKINS_URL!, user: env.JENKINS_USER!, token: env.JENKINS_API_TOKEN! });
    await controller.createNode({ name, description: 'Managed by jenkins-fleet (fleet bank-ci, pool awsDeploy); instance i-0123456789abcdef0.', remoteFS: '/home/jenkins/agent', executors: 1, labels: ['awsDeploy'], mode: 'NORMAL' });
    agent = await new Promise((resolve, reject) => {
      const ws = new WebSocket(`${env.JENKINS_URL}wsagents/`.replace(/^http/, 'ws'), { headers: { 'Node-Name': name, 'Secret-Key': h.sandbox.jenkins.secretOf(name), 'X-Remoting-Capability': 'test' } });
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`wsagents/ answered ${res.statusCode}`)));
    });
  });
  afterAll(async () => {
    agent?.terminate();
    await h?.stop();
  });

  it('reads the settings back from config.xml', async () => {
    expect(await controller.nodeSettings(name)).toEqual({ description: 'Managed by jenkins-fleet (fleet bank-ci, pool awsDeploy); instance i-0123456789abcdef0.', remoteFS: '/home/jenkins/agent', executors: 1, mode: 'NORMAL', labels: ['awsDeploy'] });
    expect(await controller.nodeSettings('no-such-node')).toBeUndefined();
  });

  it('changes labels, executors, mode and description while a build runs on the drained node: the build ends SUCCESS, the drain and the connection stay', async () => {
    const queued = await fetch(`${h.sandbox.url}/_sandbox/builds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: 'awsDeploy', duration: '2s' }) });
    const [build] = ((await queued.json()) as { builds: Array<{ id: number }> }).builds;
    const builds = async () => (await (await fetch(`${h.sandbox.url}/_sandbox/builds`)).json()) as Array<{ id: number; startedAt: number | null; result: string | null; abortedBy?: string }>;
    await eventually('the build running', async () => (await builds()).find((b) => b.id === build!.id)?.startedAt ?? undefined);
    await controller.drain(name, 'Draining: to be removed by provisioner (fleet bank-ci): test');
    const running = (await controller.listNodes()).find((n) => n.name === name);
    // The service account has no Job/Read: Jenkins shows that an executor is busy, not which build.
    expect(running?.running).toEqual([expect.objectContaining({ executor: 0 })]);
    expect(running?.running?.[0]?.build).toBeUndefined();

    await controller.reconfigureNode(name, { description: 'Managed by jenkins-fleet (fleet bank-ci, pool awsDeploy); instance i-0123456789abcdef0. Deploys.', remoteFS: '/home/jenkins/agent', executors: 3, mode: 'EXCLUSIVE', labels: ['awsDeploy', 'docker'] });
    const after = (await controller.listNodes()).find((n) => n.name === name);
    expect(after).toMatchObject({ temporarilyOffline: true, connected: true, idle: false, executors: 3, labels: ['awsDeploy', 'docker'] });
    expect(after?.offlineReason).toContain('by provisioner (fleet bank-ci)');
    expect(await controller.nodeSettings(name)).toMatchObject({ executors: 3, mode: 'EXCLUSIVE', labels: ['awsDeploy', 'docker'], description: expect.stringContaining('Deploys.') });
    const ended = await eventually('the build ended', async () => (await builds()).find((b) => b.id === build!.id && b.result !== null));
    expect(ended).toMatchObject({ result: 'SUCCESS' });
    expect(ended.abortedBy).toBeUndefined();
  });
});
