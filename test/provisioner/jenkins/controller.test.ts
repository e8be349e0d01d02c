// The Jenkins adapter with the real `jenkins` client against a small local stand-in of exactly the
// endpoints it uses; every test asserts the requests as they arrived on the wire.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JenkinsController, nodesTree, PasswordNotTokenError } from '../../../provisioner/src/jenkins/controller.ts';
import { RemoteError } from '../../../provisioner/src/errors.ts';
import type { NodeSpec } from '../../../provisioner/src/ports.ts';

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: Seen, res: ServerResponse) => void;

const user = 'fleet-bot';
const token = '11d2c0ffee5e1f0b7a9c3d4e5f60718293';
const basic = `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;

let server: Server;
let url: string;
let seen: Seen[] = [];
let handlers: Handler[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const parsed = new URL(req.url ?? '/', 'http://stand-in');
      const request = { method: req.method ?? '', path: parsed.pathname, query: parsed.searchParams, headers: req.headers, body };
      seen.push(request);
      const handler = handlers.shift();
      if (!handler) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('the stand-in has no answer queued');
        return;
      }
      handler(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jenkins/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen = [];
  handlers = [];
});

function controller(options: { timeoutMs?: number; retries?: number } = {}) {
  return new JenkinsController({ url, user, token, retryDelayMs: 5, ...options });
}

const json = (status: number, body: unknown): Handler => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/json;charset=utf-8' });
  res.end(JSON.stringify(body));
};
const redirect: Handler = (_req, res) => {
  res.writeHead(302, { location: '.' });
  res.end();
};
const html = (status: number, text: string, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(status, { 'content-type': 'text/html;charset=utf-8', ...headers });
  res.end(`<html><head><title>Error</title><script>var x=1;</script></head><body><h1>Error</h1><p>${text}</p></body></html>`);
};

/** Everything an error could show anyone: message, cause, stack, and a deep inspection. */
function allText(error: unknown): string {
  const e = error as Error;
  return [e.message, e.stack, inspect(e, { depth: 10, showHidden: true }), inspect(e.cause, { depth: 10, showHidden: true })].join('\n');
}

function expectNoCredentials(error: unknown) {
  const text = allText(error);
  expect(text).not.toContain(token);
  expect(text).not.toContain(basic.slice(6));
}

const spec: NodeSpec = {
  name: 'awsDeploy-i-0123456789abcdef0',
  description: "Managed by jenkins-fleet (fleet bank-ci, pool awsDeploy); instance i-0123456789abcdef0. Changes made by hand are undone by 'provisioner up'.",
  remoteFS: '/home/jenkins/agent',
  executors: 2,
  labels: ['awsDeploy', 'terraform', 'python'],
  mode: 'EXCLUSIVE',
};

describe('JenkinsController.listNodes', () => {
  it('makes one GET of computer/api/json with the tree, authenticated with the API token and no crumb', async () => {
    handlers = [
      json(200, {
        _class: 'hudson.model.ComputerSet',
        computer: [
          { _class: 'hudson.model.Hudson$MasterComputer', displayName: 'Built-In Node', description: 'the controller', offline: false, temporarilyOffline: false, idle: true, numExecutors: 0, assignedLabels: [{ name: 'built-in' }] },
          {
            _class: 'hudson.slaves.SlaveComputer',
            displayName: 'awsDeploy-i-0123456789abcdef0',
            description: spec.description,
            offline: false,
            temporarilyOffline: false,
            idle: false,
            offlineCauseReason: '',
            numExecutors: 2,
            assignedLabels: [{ name: 'awsDeploy' }, { name: 'awsDeploy-i-0123456789abcdef0' }, { name: 'python' }, { name: 'terraform' }],
          },
          {
            _class: 'hudson.slaves.SlaveComputer',
            displayName: 'hand-made',
            description: '',
            offline: true,
            temporarilyOffline: true,
            idle: true,
            offlineCauseReason: 'draining for replacement',
            numExecutors: 1,
            assignedLabels: [{ name: 'hand-made' }],
          },
        ],
      }),
    ];
    const nodes = await controller().listNodes();

    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe('GET');
    expect(seen[0]!.path).toBe('/jenkins/computer/api/json');
    expect(seen[0]!.query.get('tree')).toBe(
      'computer[displayName,description,offline,temporarilyOffline,idle,offlineCauseReason,offlineCause[_class,timestamp],absoluteRemotePath,numExecutors,executors[number,idle,progress,currentExecutable[fullDisplayName,url]],assignedLabels[name]]',
    );
    expect(nodesTree).toBe(seen[0]!.query.get('tree'));
    expect(seen[0]!.headers.authorization).toBe(basic);
    expect(nodes).toEqual([
      {
        name: 'awsDeploy-i-0123456789abcdef0',
        description: spec.description,
        online: true,
        temporarilyOffline: false,
        idle: false,
        labels: ['awsDeploy', 'python', 'terraform'],
        executors: 2,
      },
      { name: 'hand-made', online: false, temporarilyOffline: true, heldOfflineBy: 'person', idle: true, offlineReason: 'draining for replacement', labels: [], executors: 1 },
    ]);
  });

  it("tells Jenkins' own offline causes from a person's, unescapes the reason, and marks a deleted node's lingering computer", async () => {
    const computer = (name: string, extra: Record<string, unknown>) => ({ _class: 'hudson.slaves.SlaveComputer', displayName: name, description: '', offline: true, idle: true, numExecutors: 1, assignedLabels: [], ...extra });
    handlers = [
      json(200, {
        computer: [
          computer('full-disk', {
            temporarilyOffline: true,
            absoluteRemotePath: '/home/jenkins/agent',
            offlineCause: { _class: 'hudson.node_monitors.DiskSpaceMonitorDescriptor$DiskSpace', timestamp: 1700000000000 },
            offlineCauseReason: 'Disk space is below threshold of 1.00 GiB. Only 512.00 MiB out of 8.00 GiB left on /home/jenkins/agent.',
          }),
          computer('by-hand', { temporarilyOffline: true, absoluteRemotePath: null, offlineCause: { _class: 'hudson.slaves.OfflineCause$UserCause', timestamp: 1700000000001 }, offlineCauseReason: '&lt;b&gt;disk &amp; &quot;tmp&quot;&lt;/b&gt;&nbsp; it&#039;s full' }),
          computer('via-cli', { temporarilyOffline: true, offlineCause: { _class: 'hudson.slaves.OfflineCause$ByCLI', timestamp: 1 }, offlineCauseReason: 'maintenance' }),
          computer('dropped', { temporarilyOffline: false, offlineCause: { _class: 'hudson.slaves.OfflineCause$ChannelTermination', timestamp: 2 }, offlineCauseReason: 'Connection was broken' }),
          computer('deleted-busy', { temporarilyOffline: false, idle: false, numExecutors: 0, offlineCause: null, offlineCauseReason: '' }),
        ],
      }),
    ];
    const nodes = await controller().listNodes();
    expect(nodes).toEqual([
      { name: 'full-disk', online: false, connected: true, temporarilyOffline: true, heldOfflineBy: 'jenkins', offlineSince: 1700000000000, idle: true, offlineReason: 'Disk space is below threshold of 1.00 GiB. Only 512.00 MiB out of 8.00 GiB left on /home/jenkins/agent.', labels: [], executors: 1 },
      { name: 'by-hand', online: false, connected: false, temporarilyOffline: true, heldOfflineBy: 'person', offlineSince: 1700000000001, idle: true, offlineReason: `<b>disk & "tmp"</b>  it's full`, labels: [], executors: 1 },
      { name: 'via-cli', online: false, temporarilyOffline: true, heldOfflineBy: 'person', offlineSince: 1, idle: true, offlineReason: 'maintenance', labels: [], executors: 1 },
      { name: 'dropped', online: false, temporarilyOffline: false, idle: true, offlineReason: 'Connection was broken', labels: [], executors: 1 },
      { name: 'deleted-busy', online: false, temporarilyOffline: false, idle: false, labels: [], executors: 0, deleted: true },
    ]);
  });

  it('takes a node as busy and offline unless Jenkins says otherwise', async () => {
    handlers = [json(200, { computer: [{ _class: 'hudson.slaves.SlaveComputer', displayName: 'odd-one' }] })];
    expect(await controller().listNodes()).toEqual([{ name: 'odd-one', online: false, temporarilyOffline: false, idle: false, labels: [], executors: 0 }]);
  });

  it('says which permission is missing when the controller answers 403', async () => {
    handlers = [html(403, 'fleet-bot is missing the Overall/Read permission', { 'X-Required-Permission': 'hudson.model.Hudson.Read', 'X-You-Are-Authenticated-As': 'fleet-bot' })];
    const error = await controller().listNodes().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as Error).message).toBe(`listing the nodes: Jenkins at ${url} answered 403 Forbidden: user fleet-bot lacks the Overall/Read permission`);
    expectNoCredentials(error);
  });

  it('says the token was not accepted on a 401, without showing it', async () => {
    handlers = [html(401, 'Unauthorized')];
    const error = await controller().listNodes().catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `listing the nodes: Jenkins at ${url} answered 401 Unauthorized: the user name or API token was not accepted (check controller.user and JENKINS_API_TOKEN or controller.tokenFile)`,
    );
    expectNoCredentials(error);
  });

  it('retries 502/503/504 with backoff and then succeeds', async () => {
    handlers = [html(503, 'Jenkins is getting ready to work'), html(502, 'Bad Gateway'), json(200, { computer: [] })];
    await expect(controller().listNodes()).resolves.toEqual([]);
    expect(seen).toHaveLength(3);
  });

  it('gives up after a few attempts and quotes the short text of the last answer', async () => {
    handlers = [0, 1, 2, 3].map(() => html(503, 'Jenkins is restarting'));
    const error = await controller({ retries: 3 }).listNodes().catch((e: unknown) => e);
    expect(seen).toHaveLength(4);
    expect((error as Error).message).toBe(`listing the nodes: Jenkins at ${url} answered 503 Service Unavailable: Error Jenkins is restarting (after 4 attempts)`);
  });

  it('bounds a call that gets no answer by its timeout', async () => {
    handlers = [() => undefined];
    const started = Date.now();
    const error = await controller({ timeoutMs: 200, retries: 0 }).listNodes().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((error as Error).message).toBe(`listing the nodes: Jenkins at ${url} did not answer within 0.2 s`);
  });

  it('names the endpoint when nothing listens there', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await new JenkinsController({ url: dead, user, token, retries: 1, retryDelayMs: 5 }).listNodes().catch((e: unknown) => e);
    expect((error as Error).message).toBe(`listing the nodes: Jenkins at ${dead} refused the connection (after 2 attempts)`);
    expectNoCredentials(error);
  });
});

describe('JenkinsController.createNode', () => {
  it('POSTs computer/doCreateItem for a permanent inbound WebSocket agent and takes the 302 as created', async () => {
    handlers = [redirect];
    await expect(controller().createNode(spec)).resolves.toBe('created');

    expect(seen).toHaveLength(1);
    const request = seen[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/jenkins/computer/doCreateItem');
    expect(request.headers.authorization).toBe(basic);
    expect(request.headers['jenkins-crumb']).toBeUndefined();
    expect(request.query.get('name')).toBe('awsDeploy-i-0123456789abcdef0');
    expect(request.query.get('type')).toBe('hudson.slaves.DumbSlave$DescriptorImpl');
    expect(JSON.parse(request.query.get('json') ?? '')).toEqual({
      name: 'awsDeploy-i-0123456789abcdef0',
      nodeDescription: spec.description,
      numExecutors: 2,
      remoteFS: '/home/jenkins/agent',
      labelString: 'awsDeploy terraform python',
      mode: 'EXCLUSIVE',
      type: 'hudson.slaves.DumbSlave$DescriptorImpl',
      retentionStrategy: { 'stapler-class': 'hudson.slaves.RetentionStrategy$Always' },
      nodeProperties: { 'stapler-class-bag': 'true' },
      launcher: {
        'stapler-class': 'hudson.slaves.JNLPLauncher',
        webSocket: true,
        workDirSettings: { disabled: false, workDirPath: '', internalDir: 'remoting', failIfWorkDirIsMissing: false },
      },
    });
    expect([...request.query.keys()].sort()).toEqual(['json', 'name', 'type']);
  });

  it('answers exists when Jenkins says the name is taken (400 with X-Error)', async () => {
    // Jenkins' error page: status 400, the message in X-Error with its curly quotes as '?'.
    handlers = [html(400, 'Agent called ‘awsDeploy-i-0123456789abcdef0’ already exists', { 'X-Error': 'Agent called ?awsDeploy-i-0123456789abcdef0? already exists' })];
    await expect(controller().createNode(spec)).resolves.toBe('exists');
  });

  it('fails on any other 400 with what Jenkins said', async () => {
    handlers = [html(400, 'bad', { 'X-Error': 'No such type' })];
    await expect(controller().createNode(spec)).rejects.toThrow(`creating node awsDeploy-i-0123456789abcdef0: Jenkins at ${url} answered 400 Bad Request: No such type`);
  });

  it('names Agent/Create when the user may not create agents', async () => {
    handlers = [html(403, 'fleet-bot is missing the Agent/Create permission', { 'X-Required-Permission': 'hudson.model.Computer.Create', 'X-You-Are-Authenticated-As': 'fleet-bot' })];
    const error = await controller().createNode(spec).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`creating node awsDeploy-i-0123456789abcdef0: Jenkins at ${url} answered 403 Forbidden: user fleet-bot lacks the Agent/Create permission`);
    expectNoCredentials(error);
  });

  it("says the secret is a password, not an API token, when Jenkins asks a POST for its CSRF crumb", async () => {
    // CrumbFilter: HttpServletResponse.sendError(403, ...) rendered by Jetty, no permission header.
    handlers = [(_req, res) => {
      res.writeHead(403, { 'content-type': 'text/html;charset=iso-8859-1' });
      res.end('<html>\n<head>\n<title>Error 403 No valid crumb was included in the request</title>\n</head>\n<body><h2>HTTP ERROR 403 No valid crumb was included in the request</h2>\n</body>\n</html>\n');
    }];
    const error = await controller().createNode(spec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PasswordNotTokenError);
    expect((error as Error).message).toBe(
      `creating node awsDeploy-i-0123456789abcdef0: Jenkins at ${url} answered 403 Forbidden: No valid crumb was included in the request. ` +
        `Jenkins asks for a CSRF crumb only when a request is not authenticated with an API token, so the secret given for fleet-bot (JENKINS_API_TOKEN or controller.tokenFile) is a password, not an API token: ` +
        'create an API token for fleet-bot (user menu, Security, API Token) and use that',
    );
    expect((error as Error).message).not.toContain('lacks');
    expectNoCredentials(error);
  });

  it('falls back to the permission the call needs when a proxy answers 403 without saying', async () => {
    handlers = [html(403, 'Forbidden by proxy')];
    await expect(controller().createNode(spec)).rejects.toThrow('answered 403 Forbidden: the user lacks the Agent/Create permission');
  });

  it('refuses a spec the executor built wrong, before calling Jenkins', async () => {
    await expect(controller().createNode({ ...spec, name: 'two words' })).rejects.toThrow('node name: expected no spaces');
    await expect(controller().createNode({ ...spec, executors: 0 })).rejects.toThrow('node executors: expected a whole number >= 1, found 0');
    expect(seen).toHaveLength(0);
  });
});

describe('JenkinsController.readSecret', () => {
  const jnlp = (secret: string) => `<?xml version="1.0" encoding="UTF-8"?>
<jnlp codebase="${url}computer/awsDeploy-i-0123456789abcdef0/" spec="1.0+">
  <information><title>Agent for awsDeploy-i-0123456789abcdef0</title><vendor>Jenkins project</vendor></information>
  <security><all-permissions/></security>
  <resources><j2se version="1.8+"/><jar href="${url}jnlpJars/remoting.jar"/></resources>
  <application-desc>
    <argument>${secret}</argument>
    <argument>awsDeploy-i-0123456789abcdef0</argument>
    <argument>-webSocket</argument>
    <argument>-url</argument>
    <argument>${url}</argument>
  </application-desc>
</jnlp>`;
  const serveJnlp = (secret: string): Handler => (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-java-jnlp-file' });
    res.end(jnlp(secret));
  };

  it('GETs computer/NAME/jenkins-agent.jnlp and returns its first argument', async () => {
    const secret = '9b0e4f8a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f';
    handlers = [serveJnlp(secret)];
    await expect(controller().readSecret('awsDeploy-i-0123456789abcdef0')).resolves.toBe(secret);
    expect(seen[0]!.method).toBe('GET');
    expect(seen[0]!.path).toBe('/jenkins/computer/awsDeploy-i-0123456789abcdef0/jenkins-agent.jnlp');
    expect(seen[0]!.headers.authorization).toBe(basic);
  });

  it('keeps a secret that looks like a number exactly as sent', async () => {
    const secret = '0012345678901234567890123456789012345678901234567890123456789e10';
    handlers = [serveJnlp(secret)];
    await expect(controller().readSecret('awsDeploy-i-0123456789abcdef0')).resolves.toBe(secret);
  });

  it('fails without quoting the body when the answer is not a JNLP document', async () => {
    handlers = [html(200, 'Please sign in')];
    const error = await controller().readSecret('awsDeploy-i-0123456789abcdef0').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^reading the secret of node awsDeploy-i-0123456789abcdef0: Jenkins at .* answered 200 without a JNLP document naming a secret \(\d+ bytes; is awsDeploy-i-0123456789abcdef0 an inbound agent\?\)$/);
    expect((error as Error).message).not.toContain('sign in');
  });

  it('names Agent/Connect when reading the secret is forbidden', async () => {
    handlers = [html(403, 'denied', { 'X-Required-Permission': 'hudson.model.Computer.Connect', 'X-You-Are-Authenticated-As': 'fleet-bot' })];
    await expect(controller().readSecret('awsDeploy-i-0123456789abcdef0')).rejects.toThrow('answered 403 Forbidden: user fleet-bot lacks the Agent/Connect permission');
  });
});

describe('JenkinsController.drain', () => {
  it('marks an online node temporarily offline with the message, through changeOfflineCause', async () => {
    handlers = [json(200, { _class: 'hudson.slaves.SlaveComputer', temporarilyOffline: false }), redirect];
    await controller().drain('awsDeploy-i-0123456789abcdef0', 'jenkins-fleet: scaling in');
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /jenkins/computer/awsDeploy-i-0123456789abcdef0/api/json',
      'POST /jenkins/computer/awsDeploy-i-0123456789abcdef0/changeOfflineCause',
    ]);
    expect(seen[0]!.query.get('tree')).toBe('temporarilyOffline,offlineCause[_class]');
    const form = new URLSearchParams(seen[1]!.body);
    expect(seen[1]!.headers['content-type']).toBe('application/x-www-form-urlencoded; charset=utf-8');
    expect(form.get('offlineMessage')).toBe('jenkins-fleet: scaling in');
    expect(JSON.parse(form.get('json') ?? '')).toEqual({ offlineMessage: 'jenkins-fleet: scaling in' });
    expect(seen.every((s) => s.headers.authorization === basic)).toBe(true);
  });

  it('leaves a node that is already temporarily offline as it is', async () => {
    handlers = [json(200, { temporarilyOffline: true })];
    await controller().drain('awsDeploy-i-0123456789abcdef0', 'jenkins-fleet: scaling in');
    expect(seen).toHaveLength(1);
    handlers = [json(200, { temporarilyOffline: true, offlineCause: { _class: 'hudson.slaves.OfflineCause$UserCause' } })];
    await controller().drain('awsDeploy-i-0123456789abcdef0', 'jenkins-fleet: scaling in');
    expect(seen).toHaveLength(2);
  });

  it("puts its own cause over a disk-space monitor's, so the monitor cannot bring the draining node back", async () => {
    handlers = [json(200, { temporarilyOffline: true, offlineCause: { _class: 'hudson.node_monitors.DiskSpaceMonitorDescriptor$DiskSpace' } }), redirect];
    await controller().drain('awsDeploy-i-0123456789abcdef0', 'jenkins-fleet: replacing');
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /jenkins/computer/awsDeploy-i-0123456789abcdef0/api/json',
      'POST /jenkins/computer/awsDeploy-i-0123456789abcdef0/changeOfflineCause',
    ]);
  });

  it('names Agent/Disconnect when taking the node offline is forbidden', async () => {
    handlers = [json(200, { temporarilyOffline: false }), html(403, 'denied', { 'X-Required-Permission': 'hudson.model.Computer.Disconnect' })];
    await expect(controller().drain('awsDeploy-i-0123456789abcdef0', 'bye')).rejects.toThrow(
      `taking node awsDeploy-i-0123456789abcdef0 offline: Jenkins at ${url} answered 403 Forbidden: the user lacks the Agent/Disconnect permission`,
    );
  });

  it('says so when the node does not exist', async () => {
    handlers = [html(404, 'Not found')];
    await expect(controller().drain('awsDeploy-i-0123456789abcdef0', 'bye')).rejects.toThrow(
      `taking node awsDeploy-i-0123456789abcdef0 offline: Jenkins at ${url} answered 404 Not Found`,
    );
  });
});

describe('JenkinsController.resume', () => {
  it('toggles a temporarily offline node back online', async () => {
    handlers = [json(200, { temporarilyOffline: true }), redirect];
    await controller().resume('awsDeploy-i-0123456789abcdef0');
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /jenkins/computer/awsDeploy-i-0123456789abcdef0/api/json',
      'POST /jenkins/computer/awsDeploy-i-0123456789abcdef0/toggleOffline',
    ]);
    expect(seen[0]!.query.get('tree')).toBe('temporarilyOffline');
    expect(seen[1]!.headers.authorization).toBe(basic);
  });

  it('leaves a node that is not temporarily offline alone, so a toggle never takes it offline', async () => {
    handlers = [json(200, { temporarilyOffline: false })];
    await controller().resume('awsDeploy-i-0123456789abcdef0');
    expect(seen).toHaveLength(1);
  });

  it('names Agent/Connect when bringing the node back is forbidden', async () => {
    handlers = [json(200, { temporarilyOffline: true }), html(403, 'denied', { 'X-Required-Permission': 'hudson.model.Computer.Connect' })];
    await expect(controller().resume('awsDeploy-i-0123456789abcdef0')).rejects.toThrow(
      `taking node awsDeploy-i-0123456789abcdef0 back online: Jenkins at ${url} answered 403 Forbidden: the user lacks the Agent/Connect permission`,
    );
  });
});

describe('JenkinsController.deleteNode', () => {
  it('POSTs computer/NAME/doDelete and takes the 302 as deleted', async () => {
    handlers = [redirect];
    await expect(controller().deleteNode('awsDeploy-i-0123456789abcdef0')).resolves.toBe('deleted');
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(['POST /jenkins/computer/awsDeploy-i-0123456789abcdef0/doDelete']);
    expect(seen[0]!.headers.authorization).toBe(basic);
  });

  it('answers absent on a 404', async () => {
    handlers = [html(404, 'Not found')];
    await expect(controller().deleteNode('awsDeploy-i-0123456789abcdef0')).resolves.toBe('absent');
  });

  it('names Agent/Delete when deleting is forbidden', async () => {
    handlers = [html(403, 'denied', { 'X-Required-Permission': 'hudson.model.Computer.Delete', 'X-You-Are-Authenticated-As': 'fleet-bot' })];
    const error = await controller().deleteNode('awsDeploy-i-0123456789abcdef0').catch((e: unknown) => e);
    expect((error as Error).message).toBe(`deleting node awsDeploy-i-0123456789abcdef0: Jenkins at ${url} answered 403 Forbidden: user fleet-bot lacks the Agent/Delete permission`);
    expectNoCredentials(error);
  });
});

describe('JenkinsController configuration', () => {
  it('refuses a URL with credentials in it, and shows the URL without them', () => {
    expect(() => new JenkinsController({ url: `http://${user}:${token}@127.0.0.1:8080/`, user, token })).toThrow('controller.url: expected an http(s) URL without credentials in it');
    expect(new JenkinsController({ url: 'https://ci.example.com', user, token }).url).toBe('https://ci.example.com/');
  });
});

describe('JenkinsController.readQueue', () => {
  it("asks for the queue's items in English with the tree watch reads, and the count of busy executors comes with the nodes", async () => {
    handlers = [
      json(200, {
        _class: 'hudson.model.Queue',
        items: [
          { _class: 'hudson.model.Queue$BuildableItem', id: 7, why: 'Waiting for next available executor on ‘awsDeploy’', buildable: true, blocked: false, pending: false, stuck: false, inQueueSince: 1000, buildableStartMilliseconds: 1500, task: { name: 'part of bank-app #3' } },
        ],
      }),
      json(200, { computer: [{ _class: 'hudson.slaves.SlaveComputer', displayName: 'a', offline: false, temporarilyOffline: false, idle: false, numExecutors: 3, executors: [{ idle: false }, { idle: true }, { idle: false }], assignedLabels: [] }] }),
    ];
    const items = await controller().readQueue();
    expect(seen[0]!.path).toBe('/jenkins/queue/api/json');
    expect(seen[0]!.query.get('tree')).toBe('items[id,why,buildable,blocked,pending,stuck,inQueueSince,buildableStartMilliseconds,task[name,url]]');
    expect(seen[0]!.headers['accept-language']).toBe('en');
    expect(seen[0]!.headers.authorization).toBe(basic);
    expect(items).toEqual([{ id: 7, task: 'part of bank-app #3', why: 'Waiting for next available executor on ‘awsDeploy’', buildable: true, blocked: false, pending: false, stuck: false, inQueueSince: 1000, buildableSince: 1500 }]);
    expect((await controller().listNodes())[0]!.busyExecutors).toBe(2);
  });

  it('names the controller and the bad field when the answer is not a queue', async () => {
    handlers = [json(200, { items: [{ id: 'x' }] })];
    const error = await controller().readQueue().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as Error).message).toMatch(/reading the build queue.*Jenkins at http:\/\/127\.0\.0\.1:\d+\/jenkins\/.*items\[0\]\.id: expected an integer/);
  });
});

describe('JenkinsController.nodeSettings', () => {
  const name = 'awsDeploy-i-0123456789abcdef0';
  const configXml = `<?xml version="1.1" encoding="UTF-8"?>
<slave>
  <name>${name}</name>
  <description>${spec.description.replace(/'/g, '&apos;')}</description>
  <remoteFS>/home/jenkins/agent</remoteFS>
  <numExecutors>2</numExecutors>
  <mode>EXCLUSIVE</mode>
  <retentionStrategy class="hudson.slaves.RetentionStrategy$Always"/>
  <launcher class="hudson.slaves.JNLPLauncher"><webSocket>true</webSocket></launcher>
  <label>awsDeploy terraform python</label>
  <nodeProperties/>
</slave>`;
  const xml = (status: number, body: string): Handler => (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/xml;charset=utf-8' });
    res.end(body);
  };

  it("GETs computer/NAME/config.xml with the API token and reads the node's settings", async () => {
    handlers = [xml(200, configXml)];
    await expect(controller().nodeSettings(name)).resolves.toEqual({ description: spec.description, remoteFS: spec.remoteFS, executors: 2, mode: 'EXCLUSIVE', labels: spec.labels });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe('GET');
    expect(seen[0]!.path).toBe(`/jenkins/computer/${name}/config.xml`);
    expect(seen[0]!.headers.authorization).toBe(basic);
  });

  it('answers undefined for a node that is gone (404)', async () => {
    handlers = [html(404, 'Not Found')];
    await expect(controller().nodeSettings(name)).resolves.toBeUndefined();
  });

  it("refuses a config.xml that is not an agent's, naming the call and the controller", async () => {
    handlers = [xml(200, '<?xml version="1.1"?><hudson.model.FreeStyleProject><description>a job</description></hudson.model.FreeStyleProject>')];
    const error = await controller().nodeSettings(name).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as Error).message).toBe(
      `reading the configuration of node ${name}: Jenkins at ${url} answered a config.xml that is not an agent's: config.xml describes a <hudson.model.FreeStyleProject>, not an agent (<slave>)`,
    );
  });

  it('names the missing permission on a 403 and the token on a 401, without showing it', async () => {
    handlers = [html(403, 'denied', { 'X-Required-Permission': 'hudson.model.Computer.ExtendedRead', 'X-You-Are-Authenticated-As': 'fleet-bot' })];
    await expect(controller().nodeSettings(name)).rejects.toThrow(`reading the configuration of node ${name}: Jenkins at ${url} answered 403 Forbidden: user fleet-bot lacks the Agent/ExtendedRead permission`);
    handlers = [html(401, 'Unauthorized')];
    const error = await controller().nodeSettings(name).catch((e: unknown) => e);
    expect((error as Error).message).toContain('answered 401 Unauthorized: the user name or API token was not accepted');
    expectNoCredentials(error);
  });

  it('retries a 503 and quotes what the controller said when it keeps failing', async () => {
    handlers = [html(503, 'Jenkins is getting ready to work'), xml(200, configXml)];
    await expect(controller().nodeSettings(name)).resolves.toMatchObject({ executors: 2 });
    expect(seen).toHaveLength(2);
    handlers = [0, 1].map(() => html(500, 'boom', { 'X-Error': 'something broke' }));
    await expect(controller({ retries: 1 }).nodeSettings(name)).rejects.toThrow(`answered 500 Internal Server Error: something broke`);
  });

  it('bounds a read that gets no answer, retries it, and names the endpoint when nothing listens', async () => {
    handlers = [() => undefined, () => undefined];
    const started = Date.now();
    const error = await controller({ timeoutMs: 200, retries: 1 }).nodeSettings(name).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(seen).toHaveLength(2);
    expect((error as Error).message).toBe(`reading the configuration of node ${name}: Jenkins at ${url} did not answer within 0.2 s (after 2 attempts)`);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await new JenkinsController({ url: dead, user, token, retries: 0 }).nodeSettings(name).catch((e: unknown) => e);
    expect((refused as Error).message).toBe(`reading the configuration of node ${name}: Jenkins at ${dead} refused the connection`);
    expectNoCredentials(refused);
  });
});
