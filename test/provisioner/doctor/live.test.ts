// The live controller check of `doctor` against a small HTTP server that answers the probed URLs
// the way Jenkins core does (status codes and headers of jenkinsci/jenkins: X-Jenkins on every
// answer, 400 on a plain GET of /wsagents/, 404 on /tcpSlaveAgentListener/ when the port is off,
// 403 for a missing permission, 302 after a node action).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkController } from '../../../provisioner/src/doctor/live.ts';
import { readRepository } from '../../../provisioner/src/doctor/repository.ts';
import { withoutScaledPools } from '../../support/fleet.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));

const agentPermissions = ['Agent/Create', 'Agent/Configure', 'Agent/Connect', 'Agent/Delete', 'Agent/Disconnect'];
// The repository's fleet.yaml scales pullRequests with the build queue (it has max), so its
// service account also reads jobs, as jenkins/casc.yaml grants.
const servicePermissions = ['Overall/Read', ...agentPermissions, 'Job/Read'];

const repositoryFleet = join(root, 'fleet.yaml');
// The same fleet with no pool following the queue: there Job/Read is more than the provisioner needs.
const scratch = mkdtempSync(join(tmpdir(), 'doctor-live-'));
const fixedFleet = join(scratch, 'fleet.yaml');
writeFileSync(fixedFleet, withoutScaledPools(readFileSync(repositoryFleet, 'utf8')));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Controller {
  version?: string;
  websocket?: boolean;
  tcpPort?: number;
  slaveAgentPort?: number;
  numExecutors?: number;
  jobs?: string[];
  users: Record<string, { token: string; permissions: string[] }>;
}

interface Running {
  url: string;
  nodes: Map<string, string>;
  requests: string[];
  server: Server;
}

let running: Running | undefined;

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

async function startController(controller: Controller): Promise<Running> {
  const nodes = new Map<string, string>();
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/jenkins\//, '');
    const text = await body(req);
    requests.push(`${req.method} ${path}`);
    const headers: Record<string, string> = controller.version === undefined ? {} : { 'x-jenkins': controller.version };
    const send = (status: number, content = '', extra: Record<string, string> = {}) => {
      res.writeHead(status, { ...headers, ...extra });
      res.end(content);
    };
    // Unprotected: the WebSocket agent endpoint and the TCP agent listener.
    if (path === 'wsagents/') return controller.websocket === false ? send(404) : send(400, 'This endpoint is only for use from agent.jar in WebSocket mode');
    if (path === 'tcpSlaveAgentListener/') {
      return controller.tcpPort ? send(200, 'Jenkins', { 'x-jenkins-jnlp-port': String(controller.tcpPort) }) : send(404);
    }
    const [name, token] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString().split(':');
    const user = controller.users[name ?? ''];
    if (!user || user.token !== token) return send(401, 'Invalid password/token', { 'www-authenticate': 'Basic realm="Jenkins"' });
    const admin = user.permissions.includes('Overall/Administer');
    const has = (permission: string) => admin || user.permissions.includes(permission);
    const guard = (permission: string, then: () => void) => (has(permission) ? then() : send(403, `${name} is missing the ${permission} permission`));
    if (!has('Overall/Read')) return send(403, `${name} is missing the Overall/Read permission`);
    if (path === 'api/json') {
      const jobs = has('Job/Read') ? (controller.jobs ?? []).map((j) => ({ name: j })) : [];
      return send(200, JSON.stringify({ numExecutors: controller.numExecutors ?? 0, useSecurity: true, slaveAgentPort: controller.slaveAgentPort ?? -1, jobs }), { 'content-type': 'application/json' });
    }
    if (path === 'script') return guard('Overall/Administer', () => send(200, '<html/>'));
    if (path === 'computer/doCreateItem' && req.method === 'POST') {
      return guard('Agent/Create', () => {
        // The adapter's client sends the form in the query string; a browser sends it in the body.
        const form = new URLSearchParams([...url.searchParams, ...new URLSearchParams(text)]);
        nodes.set(form.get('name') as string, `<slave><name>${form.get('name')}</name></slave>`);
        send(302, '', { location: '/jenkins/computer/' });
      });
    }
    const node = /^computer\/([^/]+)\/(.+)$/.exec(path);
    const nodeName = decodeURIComponent(node?.[1] ?? '');
    if (!node || !nodes.has(nodeName)) return send(404);
    const action = node[2];
    if (action === 'config.xml' && req.method === 'GET') return guard('Agent/Configure', () => send(200, nodes.get(nodeName)));
    if (action === 'config.xml' && req.method === 'POST') return guard('Agent/Configure', () => (nodes.set(nodeName, text), send(200)));
    if (action === 'jenkins-agent.jnlp') {
      return guard('Agent/Connect', () => send(200, `<jnlp><application-desc><argument>${randomBytes(32).toString('hex')}</argument><argument>${nodeName}</argument></application-desc></jnlp>`));
    }
    if (action === 'api/json') return send(200, JSON.stringify({ temporarilyOffline: false }), { 'content-type': 'application/json' });
    if ((action === 'toggleOffline' || action === 'changeOfflineCause') && req.method === 'POST') {
      return guard('Agent/Disconnect', () => send(302, '', { location: '.' }));
    }
    if (action === 'doDelete' && req.method === 'POST') return guard('Agent/Delete', () => (nodes.delete(nodeName), send(302, '', { location: '/jenkins/computer/' })));
    send(404);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jenkins/`;
  running = { url, nodes, requests, server };
  return running;
}

afterEach(async () => {
  if (running) await new Promise((resolve) => running!.server.close(resolve));
  running = undefined;
});

async function check(url: string, user: string, token: string, fleetFile = repositoryFleet) {
  const env = { JENKINS_URL: url, JENKINS_USER: user, JENKINS_API_TOKEN: token };
  const repo = await readRepository(root, fleetFile, env);
  return checkController(repo, env);
}

describe('the live controller check', () => {
  it('passes for a service account holding exactly what the fleet needs (agent permissions, Job/Read for a pool with max), and removes its probe node', async () => {
    const jenkins = await startController({
      version: '2.580.1',
      jobs: ['bank-app'],
      users: { provisioner: { token: 't0ken', permissions: servicePermissions } },
    });
    const result = await check(jenkins.url, 'provisioner', 't0ken');
    expect(result.problems).toEqual([]);
    expect(result.notes).toContain('Jenkins 2.580.1');
    expect(result.notes).toContain('exercised Agent/Create, Agent/Configure, Agent/Connect, Agent/Disconnect, Agent/Delete');
    expect(jenkins.nodes.size).toBe(0);
    expect(jenkins.requests.filter((r) => r.startsWith('POST'))).toEqual([
      'POST computer/doCreateItem',
      expect.stringMatching(/^POST computer\/doctor-probe-[0-9a-f]{8}\/config\.xml$/),
      expect.stringMatching(/^POST computer\/doctor-probe-[0-9a-f]{8}\/changeOfflineCause$/),
      expect.stringMatching(/^POST computer\/doctor-probe-[0-9a-f]{8}\/doDelete$/),
    ]);
  });

  it('passes for a service account holding exactly the agent permissions when no pool follows the queue', async () => {
    const jenkins = await startController({
      version: '2.580.1',
      jobs: ['bank-app'],
      users: { provisioner: { token: 't0ken', permissions: ['Overall/Read', ...agentPermissions] } },
    });
    const result = await check(jenkins.url, 'provisioner', 't0ken', fixedFleet);
    expect(result.problems).toEqual([]);
    expect(result.notes).toContain('exercised Agent/Create, Agent/Configure, Agent/Connect, Agent/Disconnect, Agent/Delete');
    expect(jenkins.nodes.size).toBe(0);
  });

  it('names each missing permission, and the probe node it could not delete', async () => {
    const jenkins = await startController({
      version: '2.580.1',
      jobs: ['bank-app'],
      users: { provisioner: { token: 't', permissions: ['Overall/Read', 'Agent/Create', 'Agent/Connect', 'Agent/Disconnect'] } },
    });
    const result = await check(jenkins.url, 'provisioner', 't');
    expect(result.problems).toEqual([
      'provisioner sees no job: it lacks Job/Read, without which watch sees an empty build queue and never scales pullRequests up',
      expect.stringMatching(/^provisioner lacks Agent\/Configure: reconfiguring the probe node doctor-probe-[0-9a-f]{8} was refused \(403\)/),
      expect.stringMatching(/^provisioner lacks Agent\/Delete: deleting the probe node doctor-probe-[0-9a-f]{8} was refused \(403\)/),
      expect.stringMatching(/^the probe node doctor-probe-[0-9a-f]{8} is left on the controller: delete it by hand$/),
    ]);
  });

  it('names permissions beyond what the provisioner needs: administration, and reading jobs while no pool follows the queue', async () => {
    const jenkins = await startController({
      version: '2.580.1',
      jobs: ['bank-app'],
      users: { admin: { token: 'a', permissions: ['Overall/Administer'] } },
    });
    expect((await check(jenkins.url, 'admin', 'a', fixedFleet)).problems).toEqual([
      'admin can read jobs (bank-app): Job/Read is more than the provisioner needs',
      'admin can open the script console (Overall/Administer): more than the provisioner needs',
    ]);
    // The repository's fleet scales pullRequests: reading jobs is then needed, administering is not.
    expect((await check(jenkins.url, 'admin', 'a')).problems).toEqual([
      'admin can open the script console (Overall/Administer): more than the provisioner needs',
    ]);
  });

  it('names a controller without WebSocket agents, with the TCP agent port open, or with executors', async () => {
    const jenkins = await startController({
      version: '2.580.1',
      websocket: false,
      tcpPort: 50000,
      numExecutors: 2,
      jobs: ['bank-app'],
      users: { provisioner: { token: 't', permissions: servicePermissions } },
    });
    const result = await check(jenkins.url, 'provisioner', 't');
    expect(result.problems).toEqual([
      'the built-in node has 2 executors: builds could run on the controller (casc.yaml sets numExecutors: 0)',
      `Jenkins at ${jenkins.url} does not take WebSocket agents (wsagents/ answers 404)`,
      'the TCP agent port is open (port 50000): casc.yaml sets slaveAgentPort: -1, agents use WebSocket',
    ]);
  });

  it('names a TCP agent port the configuration opens even when nothing listens on it yet', async () => {
    const jenkins = await startController({ version: '2.580.1', slaveAgentPort: 0, jobs: ['bank-app'], users: { provisioner: { token: 't', permissions: servicePermissions } } });
    const result = await check(jenkins.url, 'provisioner', 't');
    expect(result.problems).toEqual(['the TCP agent port is open (slaveAgentPort 0): casc.yaml sets slaveAgentPort: -1, agents use WebSocket']);
  });

  it('notes a version other than the one jenkins/Dockerfile pins', async () => {
    const jenkins = await startController({ version: '2.479.3', jobs: ['bank-app'], users: { provisioner: { token: 't', permissions: servicePermissions } } });
    const result = await check(jenkins.url, 'provisioner', 't');
    expect(result.notes).toContain('Jenkins 2.479.3 (jenkins/Dockerfile pins 2.580.1)');
  });

  it('stops at a refused token, a missing Overall/Read, or a server that is not Jenkins', async () => {
    const jenkins = await startController({
      version: '2.580.1',
      users: { provisioner: { token: 'right', permissions: ['Overall/Read', ...agentPermissions] }, nobody: { token: 'n', permissions: [] } },
    });
    expect((await check(jenkins.url, 'provisioner', 'wrong')).problems).toEqual([
      `Jenkins at ${jenkins.url} refuses provisioner's API token (401): check JENKINS_USER and JENKINS_API_TOKEN`,
    ]);
    expect((await check(jenkins.url, 'nobody', 'n')).problems).toEqual([
      `nobody lacks Overall/Read (403 on ${jenkins.url}api/json); the provisioner needs it`,
    ]);
    expect(jenkins.requests.some((r) => r.startsWith('POST'))).toBe(false);

    const other = await startController({ users: { provisioner: { token: 't', permissions: ['Overall/Read'] } } });
    expect((await check(other.url, 'provisioner', 't')).problems).toEqual([`${other.url} does not answer as Jenkins (no X-Jenkins header; HTTP 200)`]);
  });

  it('is part of provisioner doctor when JENKINS_URL is set', async () => {
    const jenkins = await startController({ version: '2.580.1', jobs: ['bank-app'], users: { provisioner: { token: 't0k', permissions: servicePermissions } } });
    // Asynchronous: the controller answers from this process while the CLI runs. Its URL is on
    // loopback, so EC2 is too, as in the sandbox: otherwise the reach check names that URL as one
    // EC2 agents cannot reach (doctor.test.ts), and this test is about the live check.
    const child = spawn(process.execPath, [join(root, 'bin/provisioner.mjs'), '--config', join(root, 'fleet.yaml'), 'doctor', '--root', root, '--json'], {
      env: { ...process.env, JENKINS_URL: jenkins.url, JENKINS_USER: 'provisioner', JENKINS_API_TOKEN: 't0k', AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:9/' },
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    const code = await new Promise((resolve) => child.on('close', resolve));
    const report = JSON.parse(stdout) as { ok: boolean; checks: { name: string; ok: boolean; problems: string[] }[] };
    expect(report.checks.find((c) => c.name === 'controller')).toMatchObject({ ok: true, problems: [] });
    expect(stdout).not.toContain('t0k');
    expect(code).toBe(0);
  });

  it('names a controller it cannot reach', async () => {
    const jenkins = await startController({ version: '2.580.1', users: {} });
    const url = jenkins.url;
    await new Promise((resolve) => jenkins.server.close(resolve));
    running = undefined;
    const result = await check(url, 'provisioner', 't');
    expect(result.problems).toEqual([expect.stringMatching(new RegExp(`^cannot reach Jenkins at ${url}: GET api/json.*: ECONNREFUSED$`))]);
  });
});
