// The Jenkins controller stand-in: the REST endpoints the provisioner and the `jenkins` npm client
// use (Basic auth with API tokens, crumb issuer, computer/doCreateItem, computer api/json with
// tree=, jenkins-agent.jnlp, toggleOffline, doDelete, queue, jnlpJars/agent.jar) and the
// /wsagents/ WebSocket endpoint inbound agents hold open: a node is online while its socket is.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { XMLParser } from 'fast-xml-parser';
import type { JenkinsNode } from './state.ts';
import type { Sandbox } from './world.ts';

/** The version jenkins/Dockerfile pins (`FROM jenkins/jenkins:<version>-lts-jdk21`): what the controller runs. */
export const jenkinsVersion = pinnedJenkinsVersion();

function pinnedJenkinsVersion(): string {
  const dockerfile = readFileSync(new URL('../../../jenkins/Dockerfile', import.meta.url), 'utf8');
  const pinned = /^FROM jenkins\/jenkins:(\d+\.\d+(?:\.\d+)?)(?:-[a-z0-9-]+)?\s*$/m.exec(dockerfile)?.[1];
  if (!pinned) throw new Error('jenkins/Dockerfile: expected a line FROM jenkins/jenkins:<version>[-lts-jdkNN]');
  return pinned;
}

/**
 * The oldest Java an agent may run for a core version: core requires Java 21 from 2.545 on and
 * 17 from 2.463 on, on the controller and on agents alike (the classes the controller sends over
 * the channel are compiled for that release).
 */
export function agentJavaRequired(version: string): number {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major > 2 || minor >= 545) return 21;
  if (minor >= 463) return 17;
  return 11;
}

export interface JenkinsReply {
  status: number;
  headers: Record<string, string | string[]>;
  body: string | Buffer;
  action: string;
  mutating: boolean;
  error?: string;
  subject?: string;
}

interface Request {
  method: string;
  /** Path below the controller's root, without the leading slash, e.g. `computer/api/json`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type User = Sandbox['store']['world']['users'][number];

/**
 * A Jenkins error page: status, the X-Error header the npm client turns into its message, HTML.
 * Jetty writes header values as ISO-8859-1, so Jenkins' curly quotes arrive as `?` (which the npm
 * client turns back into `"`).
 */
function failure(status: number, message: string, action: string, mutating: boolean): JenkinsReply {
  return {
    status,
    headers: { 'content-type': 'text/html;charset=utf-8', 'x-error': message.replace(/[^\x20-\x7e\xa0-\xff]/g, '?') },
    body: `<html><head><title>Jenkins</title></head><body><h1>Error</h1><p>${message.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`)}</p></body></html>`,
    action,
    mutating,
    error: `${status} ${message}`,
  };
}

function json(value: unknown, action: string): JenkinsReply {
  return { status: 200, headers: { 'content-type': 'application/json;charset=utf-8' }, body: JSON.stringify(value), action, mutating: false };
}

function redirect(location: string, action: string, subject: string): JenkinsReply {
  return { status: 302, headers: { location }, body: '', action, mutating: true, subject };
}

// ---- tree= (Jenkins' api filter: `a,b[c,d{0,5}]`)

interface TreeNode {
  name: string;
  children?: TreeNode[];
  range?: [number, number | undefined];
}

export function parseTree(spec: string): TreeNode[] {
  let pos = 0;
  function list(): TreeNode[] {
    const out: TreeNode[] = [];
    for (;;) {
      const start = pos;
      while (pos < spec.length && !',[]{}'.includes(spec[pos]!)) pos++;
      const node: TreeNode = { name: spec.slice(start, pos).trim() };
      if (spec[pos] === '[') {
        pos++;
        node.children = list();
        if (spec[pos] !== ']') throw new Error(`tree: expected ']' at ${pos}`);
        pos++;
      }
      if (spec[pos] === '{') {
        const end = spec.indexOf('}', pos);
        if (end < 0) throw new Error(`tree: expected '}' after ${pos}`);
        const [a, b] = spec.slice(pos + 1, end).split(',');
        node.range = [Number(a || 0), b === undefined ? Number(a) + 1 : b === '' ? undefined : Number(b)];
        pos = end + 1;
      }
      if (node.name) out.push(node);
      if (spec[pos] !== ',') return out;
      pos++;
    }
  }
  const result = list();
  if (pos !== spec.length) throw new Error(`tree: unexpected '${spec[pos]}' at ${pos}`);
  return result;
}

function applyTree(value: unknown, tree: TreeNode[] | undefined): unknown {
  if (Array.isArray(value)) return value.map((v) => applyTree(v, tree));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if ('_class' in obj) out._class = obj._class;
  if (!tree) return out;
  for (const node of tree) {
    if (!(node.name in obj)) continue;
    let v = obj[node.name];
    if (Array.isArray(v) && node.range) v = v.slice(node.range[0], node.range[1]);
    out[node.name] = applyTree(v, node.children ?? (v !== null && typeof v === 'object' ? undefined : []));
  }
  return out;
}

// ---- agent.jar: a real (tiny) jar, so that a download check or `unzip -l` sees a jar

/** CRC-32 (IEEE) of a zip entry; zlib.crc32 exists only from Node 20.15 on. */
function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function agentJar(): Buffer {
  const manifest = Buffer.from('Manifest-Version: 1.0\r\nMain-Class: hudson.remoting.jnlp.Main\r\nVersion: 3283.v92c105e0f819\r\nCreated-By: jenkins-fleet sandbox\r\n\r\n');
  const name = Buffer.from('META-INF/MANIFEST.MF');
  const data = deflateRawSync(manifest);
  const crc = crc32(manifest);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0, 6); local.writeUInt16LE(8, 8);
  local.writeUInt32LE(0, 10); local.writeUInt32LE(crc, 14); local.writeUInt32LE(data.length, 18); local.writeUInt32LE(manifest.length, 22);
  local.writeUInt16LE(name.length, 26); local.writeUInt16LE(0, 28);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(0, 8); central.writeUInt16LE(8, 10);
  central.writeUInt32LE(0, 12); central.writeUInt32LE(crc, 16); central.writeUInt32LE(data.length, 20); central.writeUInt32LE(manifest.length, 24);
  central.writeUInt16LE(name.length, 28); central.writeUInt32LE(0, 30); central.writeUInt32LE(0, 34); central.writeUInt32LE(0, 38); central.writeUInt32LE(0, 42);
  const centralOffset = local.length + name.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(1, 8); end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12); end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, name, data, central, name, end]);
}

const unsafeNameChars = '?*/\\%!@#$^&|<>[]:;';

export class JenkinsStandIn {
  private readonly connections = new Map<string, WebSocket>();
  private readonly jar = agentJar();
  private readonly xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false });

  constructor(private readonly sb: Sandbox, readonly prefix: string) {}

  /** The node's agent secret: an HMAC of its name, as Jenkins' JnlpAgentReceiver computes it. */
  secretOf(name: string): string {
    return createHmac('sha256', this.sb.store.world.jnlpKey).update(name).digest('hex');
  }

  rootUrl(): string {
    return `${this.sb.baseUrl}${this.prefix}/`;
  }

  isConnected(name: string): boolean {
    return this.connections.has(name);
  }

  disconnect(name: string, reason: string): void {
    const ws = this.connections.get(name);
    if (ws) ws.close(1000, reason);
  }

  closeAll(): void {
    for (const ws of this.connections.values()) ws.terminate();
    this.connections.clear();
  }

  private node(name: string): JenkinsNode | undefined {
    return this.sb.store.world.nodes.find((n) => n.name === name);
  }

  private authenticate(req: Request): User | JenkinsReply {
    const header = req.headers.authorization;
    if (!header?.startsWith('Basic ')) return { ...failure(401, 'Authentication required', 'auth', false), headers: { 'www-authenticate': 'Basic realm="Jenkins"', 'content-type': 'text/html' } };
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const name = decoded.slice(0, colon);
    const token = decoded.slice(colon + 1);
    const user = this.sb.store.world.users.find((u) => u.name === name);
    const ok = user !== undefined && token.length === user.token.length && timingSafeEqual(Buffer.from(token), Buffer.from(user.token));
    if (!ok) return { ...failure(401, `Invalid password/token for user: ${name}`, 'auth', false), headers: { 'www-authenticate': 'Basic realm="Jenkins"', 'content-type': 'text/html' } };
    return user;
  }

  /** Answers one HTTP request below the controller's root. */
  handle(req: Request): JenkinsReply {
    const { method, path } = req;
    // Always readable, as in Jenkins (ALWAYS_READABLE_PATHS): the agents' own downloads and login.
    if (method === 'GET' && path === 'jnlpJars/agent.jar') {
      return { status: 200, headers: { 'content-type': 'application/java-archive', 'content-length': String(this.jar.length) }, body: this.jar, action: 'GET jnlpJars/agent.jar', mutating: false };
    }
    if (method === 'GET' && path === 'login') {
      return { status: 200, headers: { 'content-type': 'text/html;charset=utf-8' }, body: '<html><body>Sign in to Jenkins</body></html>', action: 'GET login', mutating: false };
    }
    const user = this.authenticate(req);
    if ('status' in user) return user;
    const segments = path.split('/').map((s) => decodeURIComponent(s));
    const mutating = method === 'POST';
    const deny = (permission: string, action: string) => user.permissions === 'admin' ? undefined : failure(403, `${user.name} is missing the ${permission} permission`, action, mutating);

    if (path === 'api/json' && method === 'GET') return this.withTree(req, this.rootJson(), 'GET api/json');
    if (path === 'crumbIssuer/api/json' && method === 'GET') {
      const session = randomBytes(8).toString('hex');
      const crumb = createHmac('sha256', this.sb.store.world.jnlpKey).update(`${user.name};${session}`).digest('hex');
      const reply = json({ _class: 'hudson.security.csrf.DefaultCrumbIssuer', crumb, crumbRequestField: 'Jenkins-Crumb' }, 'GET crumbIssuer/api/json');
      reply.headers['set-cookie'] = [`JSESSIONID.sandbox=node0${session}.node0; Path=/; HttpOnly`];
      return reply;
    }
    if (path === 'queue/api/json' && method === 'GET') return this.withTree(req, this.queueJson(), 'GET queue/api/json');
    if (segments[0] === 'computer') {
      if (segments.length === 3 && segments[1] === 'api' && segments[2] === 'json') {
        if (method !== 'GET' && method !== 'HEAD') return failure(405, 'This URL requires GET', `${method} computer/api/json`, false);
        return this.withTree(req, this.computerSetJson(Number(req.query.get('depth') ?? 0)), 'GET computer/api/json');
      }
      if (segments.length === 2 && (segments[1] === 'doCreateItem' || segments[1] === 'createItem')) {
        const action = `${method} computer/${segments[1]}`;
        if (method !== 'POST') return failure(405, 'This URL requires POST', action, false);
        return deny('Agent/Create', action) ?? (segments[1] === 'doCreateItem' ? this.createFromForm(req, action) : this.createFromXml(req, action));
      }
      const name = segments[1] ?? '';
      const rest = segments.slice(2).join('/');
      const node = name === '(built-in)' ? undefined : this.node(name);
      const action = `${method} computer/NAME/${rest}`;
      if (!node) {
        if (name === '(built-in)' && rest === 'api/json') return this.withTree(req, this.builtInJson(), action);
        return { ...failure(404, `Not found: computer/${name}`, action, mutating), subject: name };
      }
      const tagged = (r: JenkinsReply): JenkinsReply => ({ ...r, subject: name });
      if (rest === 'api/json' && (method === 'GET' || method === 'HEAD')) return tagged(this.withTree(req, this.computerJson(node, Number(req.query.get('depth') ?? 0)), action));
      if ((rest === 'jenkins-agent.jnlp' || rest === 'slave-agent.jnlp') && method === 'GET') {
        const denied = deny('Agent/Connect', action);
        if (denied) return tagged(denied);
        return tagged({ status: 200, headers: { 'content-type': 'application/x-java-jnlp-file' }, body: this.jnlp(node), action: `GET computer/NAME/jenkins-agent.jnlp`, mutating: false });
      }
      if (rest === 'config.xml' && method === 'GET') {
        const denied = deny('Agent/ExtendedRead', action);
        if (denied) return tagged(denied);
        return tagged({ status: 200, headers: { 'content-type': 'application/xml' }, body: this.configXml(node), action, mutating: false });
      }
      if (method !== 'POST') return tagged(failure(405, 'This URL requires POST', action, false));
      switch (rest) {
        case 'toggleOffline': {
          const denied = deny(node.temporarilyOffline ? 'Agent/Connect' : 'Agent/Disconnect', action);
          if (denied) return tagged(denied);
          node.temporarilyOffline = !node.temporarilyOffline;
          node.offlineMessage = node.temporarilyOffline ? (req.query.get('offlineMessage') ?? formParams(req).get('offlineMessage') ?? '') : '';
          this.sb.store.save();
          return redirect(`${this.rootUrl()}computer/${encodeURIComponent(name)}/`, action, name);
        }
        case 'changeOfflineCause': {
          const denied = deny('Agent/Disconnect', action);
          if (denied) return tagged(denied);
          // Computer.doChangeOfflineCause sets the node temporarily offline whatever its state.
          node.temporarilyOffline = true;
          node.offlineMessage = (formParams(req).get('offlineMessage') ?? req.query.get('offlineMessage') ?? '').trim();
          this.sb.store.save();
          return redirect(`${this.rootUrl()}computer/${encodeURIComponent(name)}/`, action, name);
        }
        case 'doDisconnect': {
          const denied = deny('Agent/Disconnect', action);
          if (denied) return tagged(denied);
          this.disconnect(name, 'disconnected by user');
          return redirect(`${this.rootUrl()}computer/${encodeURIComponent(name)}/`, action, name);
        }
        case 'doDelete': {
          const denied = deny('Agent/Delete', action);
          if (denied) return tagged(denied);
          const world = this.sb.store.world;
          world.nodes = world.nodes.filter((n) => n.name !== name);
          this.sb.store.save();
          this.disconnect(name, 'node deleted');
          return redirect(`${this.rootUrl()}computer/`, action, name);
        }
        default:
          return tagged(failure(404, `Not found: computer/${name}/${rest}`, action, true));
      }
    }
    return failure(404, `Not found: ${path}`, `${method} ${path.split('/')[0]}`, mutating);
  }

  private withTree(req: Request, value: unknown, action: string): JenkinsReply {
    const tree = req.query.get('tree');
    if (!tree) return json(value, action);
    try {
      return json(applyTree(value, parseTree(tree)), action);
    } catch (err) {
      return failure(400, (err as Error).message, action, false);
    }
  }

  // ---- creating nodes

  private checkName(raw: string | null, action: string): string | JenkinsReply {
    if (raw === null) return failure(400, "Query parameter 'name' is required", action, true);
    const name = raw.trim();
    if (!name) return failure(400, 'No name is specified', action, true);
    for (const c of name) if (unsafeNameChars.includes(c)) return failure(400, `‘${c}’ is an unsafe character`, action, true);
    if (name === '.' || name === '..') return failure(400, `“${name}” is not an allowed name`, action, true);
    if (this.node(name) || name === '(built-in)') return { ...failure(400, `Agent called ‘${name}’ already exists`, action, true), subject: name };
    return name;
  }

  private createFromForm(req: Request, action: string): JenkinsReply {
    const form = new URLSearchParams([...req.query.entries(), ...formParams(req).entries()]);
    const name = this.checkName(form.get('name'), action);
    if (typeof name !== 'string') return name;
    const type = form.get('type');
    if (type !== 'hudson.slaves.DumbSlave$DescriptorImpl' && type !== 'hudson.slaves.DumbSlave') {
      return failure(400, `No node type ‘${type}’ is known (the sandbox creates hudson.slaves.DumbSlave)`, action, true);
    }
    const raw = form.get('json');
    if (raw === null) return failure(400, `This page expects a form submission but had only {name=${name}}`, action, true);
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return failure(400, 'The json parameter is not valid JSON', action, true);
    }
    const executors = Number(data.numExecutors ?? 1);
    if (!Number.isInteger(executors) || executors <= 0) return failure(400, `Invalid agent configuration for ${name}. Invalid number of executors.`, action, true);
    const mode = data.mode ?? 'NORMAL';
    if (mode !== 'NORMAL' && mode !== 'EXCLUSIVE') return failure(400, `No enum constant hudson.model.Node.Mode.${String(mode)}`, action, true);
    const launcher = (data.launcher ?? {}) as Record<string, unknown>;
    const launcherClass = launcher['stapler-class'] ?? launcher.$class;
    if (launcherClass !== 'hudson.slaves.JNLPLauncher') {
      return failure(400, `The sandbox runs inbound agents only (launcher hudson.slaves.JNLPLauncher), found ${JSON.stringify(launcherClass)}`, action, true);
    }
    const workDir = (launcher.workDirSettings ?? {}) as Record<string, unknown>;
    return this.addNode({
      name,
      description: String(data.nodeDescription ?? ''),
      numExecutors: executors,
      remoteFS: String(data.remoteFS ?? ''),
      labelString: String(data.labelString ?? ''),
      mode,
      webSocket: launcher.webSocket === true || launcher.webSocket === 'true',
      ...(typeof workDir.workDirPath === 'string' && workDir.workDirPath ? { workDir: workDir.workDirPath } : {}),
    }, `${this.rootUrl()}computer/`, action);
  }

  private createFromXml(req: Request, action: string): JenkinsReply {
    const type = String(req.headers['content-type'] ?? '');
    if (!type.startsWith('application/xml') && !type.startsWith('text/xml')) return failure(400, 'No mode given', action, true);
    let doc: Record<string, Record<string, unknown>>;
    try {
      doc = this.xml.parse(req.body.toString('utf8')) as Record<string, Record<string, unknown>>;
    } catch (err) {
      return failure(500, `Could not parse the node XML: ${(err as Error).message}`, action, true);
    }
    const slave = doc.slave ?? doc['hudson.slaves.DumbSlave'];
    if (!slave) return failure(500, 'Expected a <slave> document', action, true);
    const name = this.checkName(req.query.get('name') || String(slave.name ?? ''), action);
    if (typeof name !== 'string') return name.status === 400 && name.error?.includes('already exists') ? failure(400, `Node '${String(req.query.get('name') || slave.name)}' already exists`, action, true) : name;
    const launcher = (slave.launcher ?? {}) as Record<string, unknown>;
    const executors = Number(slave.numExecutors ?? 1);
    if (!Number.isInteger(executors) || executors <= 0) return failure(400, `Invalid agent configuration for ${name}. Invalid number of executors.`, action, true);
    const mode = String(slave.mode ?? 'NORMAL');
    return this.addNode({
      name,
      description: String(slave.description ?? ''),
      numExecutors: executors,
      remoteFS: String(slave.remoteFS ?? ''),
      labelString: String(slave.label ?? ''),
      mode: mode === 'EXCLUSIVE' ? 'EXCLUSIVE' : 'NORMAL',
      webSocket: String(launcher.webSocket ?? 'false') === 'true',
    }, undefined, action);
  }

  private addNode(fields: Omit<JenkinsNode, 'createdAt' | 'temporarilyOffline' | 'offlineMessage'>, location: string | undefined, action: string): JenkinsReply {
    const node: JenkinsNode = { ...fields, createdAt: Date.now(), temporarilyOffline: false, offlineMessage: '' };
    this.sb.store.world.nodes.push(node);
    this.sb.store.save();
    if (location) return redirect(location, action, node.name);
    return { status: 200, headers: {}, body: '', action, mutating: true, subject: node.name };
  }

  // ---- what the API exports

  private rootJson(): Record<string, unknown> {
    return {
      _class: 'hudson.model.Hudson',
      assignedLabels: [{ name: 'built-in' }],
      mode: 'EXCLUSIVE',
      nodeDescription: 'the Jenkins controller\'s built-in node',
      nodeName: '',
      numExecutors: 0,
      description: null,
      jobs: [],
      quietingDown: false,
      slaveAgentPort: -1,
      url: this.rootUrl(),
      useCrumbs: true,
      useSecurity: true,
      views: [{ _class: 'hudson.model.AllView', name: 'all', url: this.rootUrl() }],
    };
  }

  private builtInJson(): Record<string, unknown> {
    return {
      _class: 'hudson.model.Hudson$MasterComputer',
      actions: [],
      assignedLabels: [{ name: 'built-in' }],
      description: 'the Jenkins controller\'s built-in node',
      displayName: 'Built-In Node',
      executors: [],
      icon: 'symbol-computer',
      iconClassName: 'symbol-computer',
      idle: true,
      jnlpAgent: false,
      launchSupported: true,
      loadStatistics: { _class: 'hudson.model.Label$1' },
      manualLaunchAllowed: true,
      monitorData: {},
      numExecutors: 0,
      offline: false,
      offlineCause: null,
      offlineCauseReason: '',
      oneOffExecutors: [],
      temporarilyOffline: false,
    };
  }

  private computerJson(node: JenkinsNode, depth: number): Record<string, unknown> {
    const connected = this.connections.has(node.name);
    const labels = [...new Set(node.labelString.split(/\s+/).filter(Boolean)), node.name];
    let offlineCause: Record<string, unknown> | null = null;
    let reason = '';
    if (node.temporarilyOffline) {
      offlineCause = { _class: 'hudson.slaves.OfflineCause$UserCause', description: `Disconnected by admin${node.offlineMessage ? ` : ${node.offlineMessage}` : ''}`, timestamp: node.createdAt };
      reason = node.offlineMessage;
    } else if (!connected && node.lastDisconnect) {
      offlineCause = { _class: 'hudson.slaves.OfflineCause$ChannelTermination', description: node.lastDisconnect };
      reason = node.lastDisconnect;
    }
    const executors = Array.from({ length: node.numExecutors }, (_, n) => {
      const busy = n === 0 && node.busy && connected ? node.busy : undefined;
      const full = {
        _class: 'hudson.model.Executor',
        currentExecutable: busy
          ? { _class: 'org.jenkinsci.plugins.workflow.job.WorkflowRun', building: true, displayName: `#${busy.build}`, fullDisplayName: `bank-app » main #${busy.build}`, number: busy.build, timestamp: busy.since, url: `${this.rootUrl()}job/bank-app/job/main/${busy.build}/` }
          : null,
        idle: !busy,
        likelyStuck: false,
        number: n,
        progress: busy ? 50 : -1,
      };
      return depth > 0 ? full : { _class: full._class, currentExecutable: full.currentExecutable, idle: full.idle, number: n };
    });
    return {
      _class: 'hudson.slaves.SlaveComputer',
      actions: [],
      assignedLabels: labels.map((name) => ({ name })),
      description: node.description,
      displayName: node.name,
      executors,
      icon: connected && !node.temporarilyOffline ? 'symbol-computer' : 'symbol-computer-offline',
      iconClassName: connected && !node.temporarilyOffline ? 'symbol-computer' : 'symbol-computer-offline',
      idle: !(node.busy && connected),
      jnlpAgent: true,
      launchSupported: false,
      loadStatistics: { _class: 'hudson.model.Label$1' },
      manualLaunchAllowed: true,
      monitorData: {},
      numExecutors: node.numExecutors,
      offline: node.temporarilyOffline || !connected,
      offlineCause,
      offlineCauseReason: reason,
      oneOffExecutors: [],
      temporarilyOffline: node.temporarilyOffline,
      absoluteRemotePath: connected ? node.remoteFS : null,
    };
  }

  private computerSetJson(depth: number): Record<string, unknown> {
    const computers = [this.builtInJson(), ...this.sb.store.world.nodes.map((n) => this.computerJson(n, depth))];
    const busy = this.sb.store.world.nodes.filter((n) => n.busy && this.connections.has(n.name)).length;
    const total = this.sb.store.world.nodes.filter((n) => this.connections.has(n.name)).reduce((sum, n) => sum + n.numExecutors, 0);
    return { _class: 'hudson.model.ComputerSet', busyExecutors: busy, computer: computers, displayName: 'Nodes', totalExecutors: total };
  }

  private queueJson(): Record<string, unknown> {
    return { _class: 'hudson.model.Queue', discoverableItems: [], items: [] };
  }

  private jnlp(node: JenkinsNode): string {
    const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const args = [this.secretOf(node.name), node.name, ...(node.webSocket ? ['-webSocket'] : []), '-workDir', node.workDir ?? node.remoteFS, '-internalDir', 'remoting', '-url', this.rootUrl()];
    return `<?xml version="1.0" encoding="UTF-8"?>\n<jnlp><application-desc>${args.map((a) => `<argument>${esc(a)}</argument>`).join('')}</application-desc></jnlp>`;
  }

  private configXml(node: JenkinsNode): string {
    const esc = (s: string) => s.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`);
    return `<?xml version="1.1" encoding="UTF-8"?>\n<slave>\n  <name>${esc(node.name)}</name>\n  <description>${esc(node.description)}</description>\n  <remoteFS>${esc(node.remoteFS)}</remoteFS>\n  <numExecutors>${node.numExecutors}</numExecutors>\n  <mode>${node.mode}</mode>\n  <retentionStrategy class="hudson.slaves.RetentionStrategy$Always"/>\n  <launcher class="hudson.slaves.JNLPLauncher">\n    <workDirSettings>\n      <disabled>false</disabled>\n      <internalDir>remoting</internalDir>\n      <failIfWorkDirIsMissing>false</failIfWorkDirIsMissing>\n    </workDirSettings>\n    <webSocket>${node.webSocket}</webSocket>\n  </launcher>\n  <label>${esc(node.labelString)}</label>\n  <nodeProperties/>\n</slave>\n`;
  }

  // ---- the agents' WebSocket endpoint

  /**
   * Checks an agent's upgrade request as WebSocketAgents.doIndex does: the Node-Name, Secret-Key
   * and X-Remoting-Capability headers, a known node, the right secret, not already connected.
   */
  checkAgent(headers: IncomingMessage['headers']): { status: number; message: string } | { name: string } {
    const name = headers['node-name'];
    const secret = headers['secret-key'];
    const capability = headers['x-remoting-capability'];
    if (typeof name !== 'string' || typeof secret !== 'string' || typeof capability !== 'string') {
      return { status: 400, message: 'This endpoint is only for use from agent.jar in WebSocket mode' };
    }
    if (!this.node(name)) return { status: 400, message: 'no such agent' };
    const expected = Buffer.from(this.secretOf(name), 'ascii');
    const given = Buffer.from(secret, 'ascii');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { status: 403, message: 'Forbidden' };
    if (this.connections.has(name)) return { status: 400, message: `${name} is already connected to this controller. Rejecting this connection.` };
    return { name };
  }

  attach(name: string, ws: WebSocket, headers: IncomingMessage['headers'] = {}): void {
    const required = agentJavaRequired(jenkinsVersion);
    const agentJava = String(headers['x-sandbox-java-version'] ?? '');
    // Only the sandbox's java says which JVM it is; any other client is taken to load the classes.
    const agentMajor = Number(/^(\d+)/.exec(agentJava)?.[1] ?? required);
    ws.on('error', () => ws.terminate());
    if (agentMajor < required) {
      // The first class the controller sends fails to load: the channel breaks at once.
      const node = this.node(name);
      const error = `java.lang.UnsupportedClassVersionError: hudson/slaves/SlaveComputer$SlaveVersion has been compiled by a more recent version of the Java Runtime (class file version ${required + 44}.0), this version of the Java Runtime only recognizes class file versions up to ${agentMajor + 44}.0`;
      if (node) {
        node.lastDisconnect = `Connection was broken: ${error}`;
        this.sb.store.save();
      }
      this.sb.log({ service: 'jenkins', action: 'WS wsagents/ open', status: 101, mutating: false, error: `agent Java ${agentJava || '?'} < ${required}`, subject: name });
      ws.close(1011, `java.lang.UnsupportedClassVersionError: class file version ${required + 44}.0`);
      // The agent answers no close frame (nor does remoting's, once its channel is gone): drop it.
      setTimeout(() => ws.terminate(), 200).unref();
      return;
    }
    this.connections.set(name, ws);
    const node = this.node(name);
    if (node) delete node.lastDisconnect;
    this.sb.log({ service: 'jenkins', action: 'WS wsagents/ open', status: 101, mutating: false, subject: name });
    ws.on('close', () => {
      if (this.connections.get(name) === ws) this.connections.delete(name);
      const n = this.node(name);
      if (n) {
        n.lastDisconnect = 'Connection was broken: java.nio.channels.ClosedChannelException';
        this.sb.store.save();
      }
      this.sb.log({ service: 'jenkins', action: 'WS wsagents/ close', status: 0, mutating: false, subject: name });
    });
  }

  /** Control: pretend a build runs on (or finished on) an agent. */
  setBusy(name: string, busy: boolean): string | undefined {
    const node = this.node(name);
    if (!node) return `no node named ${name}`;
    if (busy) {
      if (!this.connections.has(name)) return `node ${name} is offline: a build cannot run on it`;
      node.busy = { build: this.sb.store.world.nextBuild++, since: Date.now() };
    } else {
      delete node.busy;
    }
    this.sb.store.save();
    return undefined;
  }
}

function formParams(req: Request): URLSearchParams {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.startsWith('application/x-www-form-urlencoded') || req.body.length === 0) return new URLSearchParams();
  return new URLSearchParams(req.body.toString('utf8'));
}
