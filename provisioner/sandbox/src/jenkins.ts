// The Jenkins controller stand-in: the REST endpoints the provisioner and the `jenkins` npm client
// use (Basic auth with API tokens or passwords, permissions checked one by one, CSRF crumbs,
// computer/doCreateItem, computer api/json with tree=, config.xml, jenkins-agent.jnlp,
// toggleOffline, changeOfflineCause, doDelete, the build queue, jnlpJars/agent.jar, the script
// console's permission check) and the /wsagents/ WebSocket endpoint inbound agents hold open: a node
// is online while its socket is. Builds and executors are jenkins-queue.ts. Each behaviour is cited
// in docs/FIDELITY.md.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { XMLParser } from 'fast-xml-parser';
import { authenticate, crumbAccepted, crumbFor, hasPermission, Permission, permissions, type Caller } from './jenkins-security.ts';
import { BuildQueue, nodeLabels, type ExecutorSlot, type LeftoverComputer } from './jenkins-queue.ts';
import { requestLocale } from './jenkins-messages.ts';
import type { JenkinsNode, OfflineCause } from './state.ts';
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

export interface JenkinsStandInOptions {
  /**
   * How long a build whose agent dropped (or whose node was deleted) waits for it before it aborts:
   * ExecutorStepExecution.TIMEOUT_WAITING_FOR_NODE_MILLIS, 5 minutes in a real Pipeline.
   */
  lostAgentTimeoutMs: number;
  /** Queue.MaintainTask's period: 5 s in Jenkins (maintenance also runs when Jenkins schedules it). */
  maintenancePeriodMs: number;
  /** How long an executor takes to start what it was handed (the item is pending meanwhile). */
  executorStartMs: number;
  /** How many of the newest builds the job keeps (its build discarder); null: every one. */
  keepBuilds: number | null;
}

const escapeHtml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A Jenkins error page rendered by AbstractModelObject/error.jelly (a `Failure`): status, the
 * X-Error header the npm client turns into its message, HTML. Jetty writes header values as
 * ISO-8859-1, so Jenkins' curly quotes arrive as `?` (which the npm client turns back into `"`).
 */
function failure(status: number, message: string, action: string, mutating: boolean): JenkinsReply {
  return {
    status,
    headers: { 'content-type': 'text/html;charset=utf-8', 'x-error': message.replace(/[^\x20-\x7e\xa0-\xff]/g, '?') },
    body: `<html><head><title>Jenkins</title></head><body><h1>Error</h1><p>${escapeHtml(message)}</p></body></html>`,
    action,
    mutating,
    error: `${status} ${message}`,
  };
}

/** `HttpServletResponse.sendError` with no error page of Jenkins' own: Jetty's ErrorHandler page, no X-Error. */
function servletError(status: number, reason: string, uri: string, action: string, mutating: boolean): JenkinsReply {
  const text = escapeHtml(reason);
  return {
    status,
    headers: { 'content-type': 'text/html;charset=iso-8859-1', 'cache-control': 'must-revalidate,no-cache,no-store' },
    body: `<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n<title>Error ${status} ${text}</title>\n</head>\n<body>\n<h2>HTTP ERROR ${status} ${text}</h2>\n<table>\n<tr><th>URI:</th><td>${escapeHtml(uri)}</td></tr>\n<tr><th>STATUS:</th><td>${status}</td></tr>\n<tr><th>MESSAGE:</th><td>${text}</td></tr>\n<tr><th>SERVLET:</th><td>Stapler</td></tr>\n</table>\n\n</body>\n</html>\n`,
    action,
    mutating,
    error: `${status} ${reason}`,
  };
}

/** Stapler's answer to a URL nothing is bound to (Jenkins' _404 page; no X-Error). */
function notFound(action: string, mutating: boolean, subject?: string): JenkinsReply {
  return {
    status: 404,
    headers: { 'content-type': 'text/html;charset=utf-8' },
    body: '<html><head><title>Not Found [Jenkins]</title></head><body><h1>Not Found</h1><p>This page may not exist, or you may not have permission to see it.</p></body></html>',
    action,
    mutating,
    error: '404 Not Found',
    ...(subject ? { subject } : {}),
  };
}

/** HttpResponses.errorWithoutStack: the status and the message as plain text. */
function plainError(status: number, message: string, action: string): JenkinsReply {
  return { status, headers: { 'content-type': 'text/plain;charset=utf-8' }, body: `${message}\n`, action, mutating: false, error: `${status} ${message}` };
}

function json(value: unknown, action: string): JenkinsReply {
  return { status: 200, headers: { 'content-type': 'application/json;charset=utf-8' }, body: JSON.stringify(value), action, mutating: false };
}

function redirect(location: string, action: string, subject: string): JenkinsReply {
  return { status: 302, headers: { location }, body: '', action, mutating: true, subject };
}

/**
 * A missing permission. Authenticated users get AccessDeniedHandlerImpl's /accessDenied page; the
 * anonymous user gets HudsonAuthenticationEntryPoint's "Authentication required" page. Both 403,
 * both with AccessDeniedException3.reportAsHeaders: who the request ran as, the permission's id,
 * and the permissions that would imply it.
 */
function accessDenied(caller: Caller, permission: string, action: string, mutating: boolean): JenkinsReply {
  const title = permissions[permission]?.title ?? permission;
  const message = `${caller.name} is missing the ${title} permission`;
  const impliedBy: string[] = [];
  for (let p = permissions[permission]?.impliedBy; p; p = permissions[p]?.impliedBy) impliedBy.push(p);
  const headers: Record<string, string | string[]> = {
    'content-type': 'text/html;charset=utf-8',
    'x-you-are-authenticated-as': caller.name,
    'x-you-are-in-group-disabled': 'JENKINS-39402: use -Dhudson.security.AccessDeniedException2.REPORT_GROUP_HEADERS=true or use /whoAmI to diagnose',
    'x-required-permission': permission,
    ...(impliedBy.length > 0 ? { 'x-permission-implied-by': impliedBy } : {}),
  };
  const report = `You are authenticated as: ${caller.name}\nGroups that you are in:\nPermission you need to have (but didn't): ${permission}\n${impliedBy.map((p) => ` ... which is implied by: ${p}\n`).join('')}`;
  const body = caller.kind === 'anonymous'
    ? `<html><head><meta http-equiv='refresh' content='1;url=/login'/></head><body style='background-color:white; color:white;'>\nAuthentication required\n<!--\n${report}-->\n\n</body></html>`
    : `<html><head><title>Access Denied [Jenkins]</title></head><body><h1>Access Denied</h1><p class="error">${escapeHtml(message)}</p></body></html>`;
  return { status: 403, headers, body, action, mutating, error: `403 ${message}` };
}

// ---- offline causes as Jenkins exports them

/** Functions.humanReadableByteSize: binary units, two decimals. */
export function humanReadableByteSize(size: number): string {
  if (size < 1024) return `${size} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let n = size / 1024;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return `${n.toFixed(2)} ${units[unit]}`;
}

/** Util.escape: what IOfflineCause.getReason applies to every offline cause's text. */
export function jenkinsEscape(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\n') out += '<br>';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '&') out += '&amp;';
    else if (ch === '"') out += '&quot;';
    else if (ch === "'") out += '&#039;';
    else if (ch === ' ') out += text[i + 1] === ' ' ? '&nbsp;' : ' ';
    else out += ch;
  }
  return out;
}

/** The disk-space monitors' DiskSpace cause: its monitor class (the cause's trigger). */
const monitorClass = { 'disk-space': 'hudson.node_monitors.DiskSpaceMonitor', 'temp-space': 'hudson.node_monitors.TemporarySpaceMonitor' } as const;
const diskSpaceClass = 'hudson.node_monitors.DiskSpaceMonitorDescriptor$DiskSpace';
/** AbstractDiskSpaceMonitor's default freeSpaceWarningThreshold (2GiB). */
const warningThresholdBytes = 2 * 1024 ** 3;

type AnyCause = OfflineCause | NonNullable<JenkinsNode['lastDisconnect']>;

/** The cause's toString(): what getReason starts from. */
function causeText(cause: AnyCause): string {
  switch (cause.kind) {
    case 'user':
      // SlaveComputer.DisconnectedBy=Disconnected by {0}{1}, {1} being " : " + message when there is one.
      return `Disconnected by ${cause.userId}${cause.message !== null ? ` : ${cause.message}` : ''}`;
    case 'channel':
      // OfflineCause.ChannelTermination: "Connection was broken: " and the throwable, when there is one.
      return `Connection was broken${cause.error ? `: ${cause.error}` : ''}`;
    default:
      // DiskSpace.toString when triggered (DiskSpaceMonitorDescriptor.DiskSpace.FreeSpaceTooLow).
      return `Disk space is below threshold of ${humanReadableByteSize(cause.thresholdBytes)}. Only ${humanReadableByteSize(cause.freeBytes)} out of ${humanReadableByteSize(cause.totalBytes)} left on ${cause.path}.`;
  }
}

/**
 * IOfflineCause.getReason: toString() without the "Disconnected by USER : " prefix (the regex is
 * greedy, so it removes up to the last " : "), then Util.escape.
 */
export function offlineCauseReason(cause: AnyCause): string {
  return jenkinsEscape(causeText(cause).replace(/^Disconnected by [\w\W]* : /, '').replace(/^Disconnected by [\w\W]*/, ''));
}

function causeJson(cause: AnyCause): Record<string, unknown> {
  switch (cause.kind) {
    case 'user':
      return { _class: 'hudson.slaves.OfflineCause$UserCause', description: causeText(cause), timestamp: cause.timestamp };
    case 'channel':
      return { _class: 'hudson.slaves.OfflineCause$ChannelTermination', timestamp: cause.timestamp };
    default:
      return { _class: diskSpaceClass, timestamp: cause.timestamp, path: cause.path, size: cause.freeBytes, threshold: cause.thresholdBytes, totalSize: cause.totalBytes, warningThreshold: warningThresholdBytes };
  }
}

const xmlText = (s: string) => s.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The cause as XStream writes Node.temporaryOfflineCause into config.xml. */
function causeXml(cause: OfflineCause): string {
  if (cause.kind === 'user') {
    return `  <temporaryOfflineCause class="hudson.slaves.OfflineCause$UserCause">\n    <timestamp>${cause.timestamp}</timestamp>\n    <description>\n      <holder>\n        <owner>hudson.slaves.Messages</owner>\n      </holder>\n      <key>SlaveComputer.DisconnectedBy</key>\n      <args>\n        <string>${xmlText(cause.userId)}</string>\n        <string>${cause.message !== null ? xmlText(` : ${cause.message}`) : ''}</string>\n      </args>\n    </description>\n    <userId>${xmlText(cause.userId)}</userId>\n${cause.message !== null ? `    <message>${xmlText(cause.message)}</message>\n` : ''}  </temporaryOfflineCause>\n`;
  }
  return `  <temporaryOfflineCause class="${diskSpaceClass}">\n    <timestamp>${cause.timestamp}</timestamp>\n    <path>${xmlText(cause.path)}</path>\n    <size>${cause.freeBytes}</size>\n    <totalSize>${cause.totalBytes}</totalSize>\n    <trigger>${monitorClass[cause.kind]}</trigger>\n    <threshold>${cause.thresholdBytes}</threshold>\n    <warningThreshold>${warningThresholdBytes}</warningThreshold>\n  </temporaryOfflineCause>\n`;
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

/**
 * The job the bank's controller has (jenkins/casc.yaml), seen only by users with Job/Read; the
 * sandbox's own Pipeline job, whose runs are the builds it queues, is listed beside it.
 */
const jobs = [{ _class: 'org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject', name: 'bank-app', color: 'notbuilt' }];

export class JenkinsStandIn {
  private readonly connections = new Map<string, WebSocket>();
  private readonly jar = agentJar();
  private readonly xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, parseAttributeValue: false });

  /** The build queue and the executors of every computer. */
  readonly queue: BuildQueue;

  constructor(private readonly sb: Sandbox, readonly prefix: string, options: JenkinsStandInOptions) {
    this.queue = new BuildQueue(sb, this, options);
  }

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
    this.queue.close();
    for (const ws of this.connections.values()) ws.terminate();
    this.connections.clear();
  }

  private node(name: string): JenkinsNode | undefined {
    return this.sb.store.world.nodes.find((n) => n.name === name);
  }

  /** The computer a deleted node left behind while builds still run on it. */
  private removedComputer(name: string): LeftoverComputer | undefined {
    return this.queue.leftoverComputers().find((c) => c.name === name);
  }

  /** Answers one HTTP request below the controller's root. */
  handle(req: Request): JenkinsReply {
    const { method, path } = req;
    this.queue.advance();
    // Agents fetch agent.jar without credentials; login, the TCP listener and /wsagents/ are
    // readable by anyone (Jenkins.ALWAYS_READABLE_PATHS, WebSocketAgents is an UnprotectedRootAction).
    if (method === 'GET' && path === 'jnlpJars/agent.jar') {
      return { status: 200, headers: { 'content-type': 'application/java-archive', 'content-length': String(this.jar.length) }, body: this.jar, action: 'GET jnlpJars/agent.jar', mutating: false };
    }
    if (method === 'GET' && path === 'login') {
      return { status: 200, headers: { 'content-type': 'text/html;charset=utf-8' }, body: '<html><body>Sign in to Jenkins</body></html>', action: 'GET login', mutating: false };
    }
    if (path === 'wsagents' || path.startsWith('wsagents/')) {
      // WebSocketAgents.doIndex wants the agent's headers and a WebSocket upgrade (the server's upgrade handler).
      return plainError(400, 'This endpoint is only for use from agent.jar in WebSocket mode', `${method} wsagents/`);
    }
    if (path === 'tcpSlaveAgentListener' || path.startsWith('tcpSlaveAgentListener/')) {
      // Jenkins.getTcpSlaveAgentListener() is null with slaveAgentPort -1: nothing is bound there.
      return notFound(`${method} tcpSlaveAgentListener/`, false);
    }

    const mutating = method === 'POST';
    const uri = `${this.prefix}/${path}`;
    const authenticated = authenticate(req.headers, this.sb.store.world.users);
    if ('refused' in authenticated) {
      // BasicHeaderProcessor fails over to Spring's BasicAuthenticationEntryPoint (realm "Jenkins").
      const reply = servletError(401, 'Unauthorized', uri, 'auth', false);
      return { ...reply, headers: { ...reply.headers, 'www-authenticate': 'Basic realm="Jenkins"' }, error: `401 ${authenticated.refused}` };
    }
    const caller = authenticated;
    // CrumbFilter runs after authentication and before Stapler: every POST without a valid crumb is
    // refused unless an API token authenticated it, whatever the URL and whoever the user.
    if (method === 'POST' && !crumbAccepted(caller, this.sb.store.world.jnlpKey, req.headers, formParams(req))) {
      return servletError(403, 'No valid crumb was included in the request', uri, `POST ${path.split('/')[0]}`, true);
    }
    const denied = (permission: string, action: string, subject?: string): JenkinsReply | undefined => {
      if (hasPermission(caller, permission)) return undefined;
      return { ...accessDenied(caller, permission, action, mutating), ...(subject ? { subject } : {}) };
    };
    // Jenkins.getTarget: everything else needs Overall/Read.
    const unreadable = denied(Permission.read, `${method} ${path.split('/')[0] || '/'}`);
    if (unreadable) return unreadable;
    const segments = path.split('/').map((s) => decodeURIComponent(s));

    if ((path === 'api/json' || path === '') && (method === 'GET' || method === 'HEAD')) {
      if (path === '') return { status: 200, headers: { 'content-type': 'text/html;charset=utf-8' }, body: '<html><head><title>Dashboard [Jenkins]</title></head><body></body></html>', action: 'GET /', mutating: false };
      return this.withTree(req, this.rootJson(caller), 'GET api/json');
    }
    if (path === 'script' || path === 'scriptText') {
      // Jenkins._doScript checks Overall/Administer before anything else. The sandbox runs no Groovy.
      const action = `${method} ${path}`;
      const refused = denied(Permission.administer, action);
      if (refused) return refused;
      if (method === 'POST' || req.query.has('script')) return failure(501, 'The sandbox has no script console: it runs no Groovy', action, false);
      return { status: 200, headers: { 'content-type': 'text/html;charset=utf-8' }, body: '<html><head><title>Script Console [Jenkins]</title></head><body><h1>Script Console</h1></body></html>', action, mutating: false };
    }
    if (path === 'crumbIssuer/api/json' && method === 'GET') {
      const session = randomBytes(8).toString('hex');
      const crumb = crumbFor(this.sb.store.world.jnlpKey, caller.name, session);
      const reply = json({ _class: 'hudson.security.csrf.DefaultCrumbIssuer', crumb, crumbRequestField: 'Jenkins-Crumb' }, 'GET crumbIssuer/api/json');
      reply.headers['set-cookie'] = [`JSESSIONID.sandbox=node0${session}.node0; Path=/; HttpOnly`];
      return reply;
    }
    // Queue.getItems lists an item only to a caller with Job/Read on its task.
    if (path === 'queue/api/json' && method === 'GET') return this.withTree(req, this.queue.queueJson(hasPermission(caller, Permission.jobRead), requestLocale([req.headers['accept-language']].flat()[0])), 'GET queue/api/json');
    if (segments[0] === 'computer') {
      if (segments.length === 3 && segments[1] === 'api' && segments[2] === 'json') {
        if (method !== 'GET' && method !== 'HEAD') return failure(405, 'This URL requires GET', `${method} computer/api/json`, false);
        return this.withTree(req, this.computerSetJson(Number(req.query.get('depth') ?? 0), caller), 'GET computer/api/json');
      }
      if (segments.length === 2 && (segments[1] === 'doCreateItem' || segments[1] === 'createItem')) {
        const action = `${method} computer/${segments[1]}`;
        if (method !== 'POST') return failure(405, 'This URL requires POST', action, false);
        return denied(Permission.agentCreate, action) ?? (segments[1] === 'doCreateItem' ? this.createFromForm(req, action) : this.createFromXml(req, action));
      }
      const name = segments[1] ?? '';
      const rest = segments.slice(2).join('/');
      const action = `${method} computer/NAME/${rest}`;
      if (name === '(built-in)') {
        if (rest === 'api/json') return this.withTree(req, this.builtInJson(), action);
        return notFound(action, mutating);
      }
      const node = this.node(name);
      if (!node) {
        const removed = this.removedComputer(name);
        if (removed) return this.removedComputerAction(req, removed, rest, action, denied, caller);
        return notFound(action, mutating, name);
      }
      const tagged = (r: JenkinsReply): JenkinsReply => ({ ...r, subject: name });
      if (rest === 'api/json' && (method === 'GET' || method === 'HEAD')) return tagged(this.withTree(req, this.computerJson(node, Number(req.query.get('depth') ?? 0), caller), action));
      if ((rest === 'jenkins-agent.jnlp' || rest === 'slave-agent.jnlp') && method === 'GET') {
        return tagged(denied(Permission.agentConnect, action) ?? { status: 200, headers: { 'content-type': 'application/x-java-jnlp-file' }, body: this.jnlp(node), action: `GET computer/NAME/jenkins-agent.jnlp`, mutating: false });
      }
      if (rest === 'config.xml') {
        // Computer.doConfigDotXml: GET needs Agent/ExtendedRead, POST (updateByXml) Agent/Configure.
        if (method === 'GET') return tagged(denied(Permission.agentExtendedRead, action) ?? { status: 200, headers: { 'content-type': 'application/xml' }, body: this.configXml(node), action, mutating: false });
        if (method === 'POST') return tagged(denied(Permission.agentConfigure, action) ?? this.updateByXml(node, req, action));
        return tagged(servletError(400, 'Bad Request', uri, action, false));
      }
      if (method !== 'POST') return tagged(failure(405, 'This URL requires POST', action, false));
      switch (rest) {
        case 'toggleOffline': {
          // Computer.doToggleOffline: bringing a temporarily offline node back needs Connect,
          // taking one offline is doChangeOfflineCause (Disconnect).
          if (node.temporaryOfflineCause) {
            const refused = denied(Permission.agentConnect, action, name);
            if (refused) return refused;
            delete node.temporaryOfflineCause;
            this.sb.store.save();
            this.queue.scheduleMaintenance(); // Nodes.ScheduleMaintenanceAfterSavingNode
            return redirect(`${this.rootUrl()}computer/${encodeURIComponent(name)}/`, action, name);
          }
          return this.changeOfflineCause(node, caller, req, action, denied);
        }
        case 'changeOfflineCause':
          return this.changeOfflineCause(node, caller, req, action, denied);
        case 'doDisconnect': {
          // Computer.doDoDisconnect: the channel closes with a person's cause (not a temporary one).
          const refused = denied(Permission.agentDisconnect, action, name);
          if (refused) return refused;
          const message = fixEmptyAndTrim(req.query.get('offlineMessage') ?? formParams(req).get('offlineMessage'));
          node.lastDisconnect = { kind: 'user', userId: caller.name, message, timestamp: Date.now() };
          this.sb.store.save();
          this.disconnect(name, 'disconnected by user');
          return redirect(`${this.rootUrl()}computer/${encodeURIComponent(name)}/`, action, name);
        }
        case 'doDelete': {
          const refused = denied(Permission.agentDelete, action, name);
          if (refused) return refused;
          const world = this.sb.store.world;
          world.nodes = world.nodes.filter((n) => n.name !== name);
          // A busy computer outlives its node until its builds end (RemovedNodeListener gives the
          // Pipeline the lost-agent timeout before it cancels them).
          this.queue.nodeRemoved(name);
          this.sb.store.save();
          this.disconnect(name, 'node deleted');
          this.queue.scheduleMaintenance(); // AbstractCIBase.updateComputerList
          return redirect(`${this.rootUrl()}computer/`, action, name);
        }
        default:
          return tagged(notFound(action, true));
      }
    }
    return notFound(`${method} ${path.split('/')[0]}`, mutating);
  }

  private changeOfflineCause(node: JenkinsNode, caller: Caller, req: Request, action: string, denied: (p: string, a: string, s?: string) => JenkinsReply | undefined): JenkinsReply {
    const refused = denied(Permission.agentDisconnect, action, node.name);
    if (refused) return refused;
    // @QueryParameter: the query string or the form body; Util.fixEmptyAndTrim.
    const message = fixEmptyAndTrim(req.query.get('offlineMessage') ?? formParams(req).get('offlineMessage'));
    node.temporaryOfflineCause = { kind: 'user', userId: caller.name, message, timestamp: Date.now() };
    this.sb.store.save();
    this.queue.scheduleMaintenance();
    return redirect(`${this.rootUrl()}computer/${encodeURIComponent(node.name)}/`, action, node.name);
  }

  /** A computer whose node is gone: readable, deletable from the list; nothing else is bound. */
  private removedComputerAction(req: Request, computer: LeftoverComputer, rest: string, action: string, denied: (p: string, a: string, s?: string) => JenkinsReply | undefined, caller: Caller): JenkinsReply {
    const tagged = (r: JenkinsReply): JenkinsReply => ({ ...r, subject: computer.name });
    if (rest === 'api/json' && (req.method === 'GET' || req.method === 'HEAD')) return tagged(this.withTree(req, this.removedComputerJson(computer, Number(req.query.get('depth') ?? 0), caller), action));
    if (rest === 'doDelete' && req.method === 'POST') {
      // Computer.doDoDelete with no node: AbstractCIBase.removeComputer drops it from the list.
      const refused = denied(Permission.agentDelete, action, computer.name);
      if (refused) return refused;
      this.queue.delistComputer(computer.name);
      this.sb.store.save();
      return redirect(`${this.rootUrl()}computer/`, action, computer.name);
    }
    // Computer.doToggleOffline answers 404 for a computer without a node before checking anything.
    if (rest === 'toggleOffline' && req.method === 'POST') return tagged(notFound(action, true));
    if (rest === 'changeOfflineCause' && req.method === 'POST') {
      const refused = denied(Permission.agentDisconnect, action, computer.name);
      if (refused) return refused;
      // Computer.setTemporaryOfflineCause throws IllegalStateException once the node is gone.
      return tagged(failure(500, "java.lang.IllegalStateException: Can't set a temporary offline cause if the node has been removed", action, true));
    }
    return tagged(notFound(action, req.method === 'POST'));
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

  // ---- creating and reconfiguring nodes

  /**
   * ComputerSet.checkName, which doDoCreateItem calls with Util.fixEmptyAndTrim(name) (so a blank
   * name is a missing one): Jenkins.checkGoodName, then the name must be free.
   */
  private checkName(raw: string | null, action: string): string | JenkinsReply {
    if (raw === null || raw.trim() === '') return failure(400, "Query parameter 'name' is required", action, true);
    const name = raw.trim();
    const bad = goodNameProblem(name);
    if (bad) return failure(400, bad, action, true);
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

  /** The node's fields from a `<slave>` document (XStream's alias of DumbSlave), or why not. */
  private parseNodeXml(req: Request, action: string): { fields: Omit<JenkinsNode, 'createdAt'>; cause?: OfflineCause } | JenkinsReply {
    const type = String(req.headers['content-type'] ?? '');
    if (!type.startsWith('application/xml') && !type.startsWith('text/xml')) return failure(400, 'No mode given', action, true);
    let doc: Record<string, unknown>;
    try {
      doc = this.xml.parse(req.body.toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      return failure(500, `com.thoughtworks.xstream.io.StreamException: ${(err as Error).message}`, action, true);
    }
    const rootName = Object.keys(doc).find((k) => k !== '?xml');
    const slave = rootName === 'slave' || rootName === 'hudson.slaves.DumbSlave' ? (doc[rootName] as Record<string, unknown>) : undefined;
    // updateByXml refuses another node type; createItem's XStream would not make a DumbSlave of it.
    if (!slave || typeof slave !== 'object') return failure(400, `Node types do not match: expected <slave> (hudson.slaves.DumbSlave), found <${rootName ?? ''}>`, action, true);
    const text = (key: string) => (typeof slave[key] === 'string' ? (slave[key] as string) : '');
    const executors = Number(text('numExecutors') || 1);
    if (!Number.isInteger(executors) || executors <= 0) return failure(400, `Invalid agent configuration for ${text('name')}. Invalid number of executors.`, action, true);
    const mode = text('mode') || 'NORMAL';
    if (mode !== 'NORMAL' && mode !== 'EXCLUSIVE') return failure(500, `com.thoughtworks.xstream.converters.ConversionException: No enum constant hudson.model.Node.Mode.${mode}`, action, true);
    const launcher = (slave.launcher ?? {}) as Record<string, unknown>;
    if (launcher['@_class'] !== 'hudson.slaves.JNLPLauncher') {
      return failure(400, `The sandbox runs inbound agents only (launcher hudson.slaves.JNLPLauncher), found ${JSON.stringify(launcher['@_class'] ?? null)}`, action, true);
    }
    const workDir = (launcher.workDirSettings ?? {}) as Record<string, unknown>;
    const fields: Omit<JenkinsNode, 'createdAt'> = {
      name: text('name').trim(),
      description: text('description'),
      numExecutors: executors,
      remoteFS: text('remoteFS'),
      labelString: text('label'),
      mode,
      webSocket: String(launcher.webSocket ?? 'false') === 'true',
      ...(typeof workDir.workDirPath === 'string' && workDir.workDirPath ? { workDir: workDir.workDirPath } : {}),
    };
    const cause = parseCauseXml(slave.temporaryOfflineCause);
    if (cause === null) return failure(500, 'com.thoughtworks.xstream.converters.ConversionException: the sandbox reads temporaryOfflineCause of OfflineCause$UserCause and DiskSpaceMonitorDescriptor$DiskSpace only', action, true);
    return cause ? { fields, cause } : { fields };
  }

  private createFromXml(req: Request, action: string): JenkinsReply {
    const parsed = this.parseNodeXml(req, action);
    if ('status' in parsed) return parsed;
    // ComputerSet.doCreateItem (XML): the query's name, trimmed, over the document's; a taken name is
    // refused first, then Nodes.addNode applies Jenkins.checkGoodName.
    const name = fixEmptyAndTrim(req.query.get('name')) ?? parsed.fields.name;
    if (this.node(name) || name === '(built-in)') return { ...failure(400, `Node '${name}' already exists`, action, true), subject: name };
    const bad = goodNameProblem(name);
    if (bad) return failure(400, bad, action, true);
    return this.addNode({ ...parsed.fields, name, ...(parsed.cause ? { temporaryOfflineCause: parsed.cause } : {}) }, undefined, action);
  }

  /**
   * Computer.updateByXml: the posted node replaces the old one as a whole, so what the document
   * leaves out is gone (a temporary offline cause included). The computer, its connection and its
   * running build stay, unless the name changes (then the old computer goes and the agent must
   * connect again under the new name).
   */
  private updateByXml(node: JenkinsNode, req: Request, action: string): JenkinsReply {
    const parsed = this.parseNodeXml(req, action);
    // Computer.updateByXml: another node class is HttpResponses.errorWithoutStack (plain text, no X-Error).
    if ('status' in parsed) return parsed.error?.includes('Node types do not match') ? { ...plainError(400, 'Node types do not match', action), mutating: true } : parsed;
    const { fields, cause } = parsed;
    // Nodes.replaceNode applies Jenkins.checkGoodName to the posted name (a missing <name> included).
    const bad = goodNameProblem(fields.name);
    if (bad) return failure(400, bad, action, true);
    if (fields.name !== node.name && (this.node(fields.name) || fields.name === '(built-in)')) {
      // Nodes.replaceNode would put the new node over the other one; the sandbox refuses instead.
      return failure(400, `Agent called ‘${fields.name}’ already exists`, action, true);
    }
    const renamed = fields.name !== node.name;
    const oldName = node.name;
    Object.assign(node, fields);
    if (cause) node.temporaryOfflineCause = cause;
    else delete node.temporaryOfflineCause;
    if (!fields.workDir) delete node.workDir;
    this.sb.store.save();
    // Nodes.replaceNode under another name: a new computer, and the old one lingers while its builds end.
    if (renamed) {
      this.queue.nodeRemoved(oldName);
      this.sb.store.save();
      this.disconnect(oldName, 'node renamed');
    }
    this.queue.scheduleMaintenance();
    return { status: 200, headers: {}, body: '', action, mutating: true, subject: node.name };
  }

  private addNode(fields: Omit<JenkinsNode, 'createdAt'>, location: string | undefined, action: string): JenkinsReply {
    const node: JenkinsNode = { ...fields, createdAt: Date.now() };
    this.sb.store.world.nodes.push(node);
    this.sb.store.save();
    this.queue.scheduleMaintenance(); // AbstractCIBase.updateNewComputer
    if (location) return redirect(location, action, node.name);
    return { status: 200, headers: {}, body: '', action, mutating: true, subject: node.name };
  }

  // ---- what the API exports

  private rootJson(caller: Caller): Record<string, unknown> {
    return {
      _class: 'hudson.model.Hudson',
      assignedLabels: [{ name: 'built-in' }],
      mode: 'EXCLUSIVE',
      nodeDescription: 'the Jenkins controller\'s built-in node',
      nodeName: '',
      numExecutors: 0,
      description: null,
      // Jenkins.getItems filters by Item/Read.
      jobs: hasPermission(caller, Permission.jobRead) ? [...jobs.map((j) => ({ ...j, url: `${this.rootUrl()}job/${j.name}/` })), this.queue.jobJson(this.rootUrl())] : [],
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

  private computerJson(node: JenkinsNode, depth: number, caller: Caller): Record<string, unknown> {
    const connected = this.connections.has(node.name);
    const labels = nodeLabels(node);
    // Computer.getOfflineCause: the node's temporary cause first, then why the channel went.
    const cause: AnyCause | undefined = node.temporaryOfflineCause ?? (!connected ? node.lastDisconnect : undefined);
    const offline = node.temporaryOfflineCause !== undefined || !connected;
    // A build keeps its executor while its agent is away (the Pipeline waits for it to come back).
    const slots = this.queue.executorsOf(node);
    const executors = this.executorsJson(slots, depth, caller);
    const icon = cause ? 'symbol-computer-offline' : offline ? 'symbol-computer-offline' : 'symbol-computer';
    return {
      _class: 'hudson.slaves.SlaveComputer',
      actions: [],
      assignedLabels: labels.map((name) => ({ name })),
      description: node.description,
      displayName: node.name,
      executors,
      icon,
      iconClassName: icon,
      idle: slots.every((e) => !e.build),
      jnlpAgent: true,
      launchSupported: false,
      loadStatistics: { _class: 'hudson.model.Label$1' },
      manualLaunchAllowed: true,
      monitorData: {},
      numExecutors: node.numExecutors,
      offline,
      offlineCause: cause ? causeJson(cause) : null,
      offlineCauseReason: cause ? offlineCauseReason(cause) : '',
      oneOffExecutors: [],
      temporarilyOffline: node.temporaryOfflineCause !== undefined,
      // SlaveComputer.getAbsoluteRemotePath: the agent's root while its channel is up, to users with Agent/Connect.
      absoluteRemotePath: connected && hasPermission(caller, Permission.agentConnect) ? node.remoteFS : null,
    };
  }

  /** Executor.getCurrentExecutableForApi shows a build only to a caller with Job/Read. */
  private executorsJson(slots: ExecutorSlot[], depth: number, caller: Caller): Array<Record<string, unknown>> {
    const mayRead = hasPermission(caller, Permission.jobRead);
    return slots.map((slot) => this.queue.executorJson(slot, mayRead, this.rootUrl(), depth));
  }

  /** A deleted node's computer while its builds end: no node, no labels, no executors but the busy ones. */
  private removedComputerJson(computer: LeftoverComputer, depth: number, caller: Caller): Record<string, unknown> {
    return {
      _class: 'hudson.slaves.SlaveComputer',
      actions: [],
      assignedLabels: [],
      description: '',
      displayName: computer.name,
      executors: this.executorsJson(computer.builds.map((build) => ({ number: build.executor ?? 0, build })).sort((a, b) => a.number - b.number), depth, caller),
      icon: 'symbol-computer-offline',
      iconClassName: 'symbol-computer-offline',
      idle: false,
      jnlpAgent: true,
      launchSupported: false,
      loadStatistics: { _class: 'hudson.model.Label$1' },
      manualLaunchAllowed: true,
      monitorData: {},
      numExecutors: 0,
      offline: true,
      offlineCause: null,
      offlineCauseReason: '',
      oneOffExecutors: [],
      temporarilyOffline: false,
      absoluteRemotePath: null,
    };
  }

  /** ComputerSet: every computer; busy and total executors counted over the online ones (ComputerSet.getBusyExecutors/getTotalExecutors). */
  private computerSetJson(depth: number, caller: Caller): Record<string, unknown> {
    const world = this.sb.store.world;
    const computers = [this.builtInJson(), ...world.nodes.map((n) => this.computerJson(n, depth, caller)), ...this.queue.leftoverComputers().map((c) => this.removedComputerJson(c, depth, caller))];
    const online = world.nodes.filter((n) => this.queue.online(n));
    const busy = online.reduce((sum, n) => sum + this.queue.executorsOf(n).filter((e) => e.build).length, 0);
    const total = online.reduce((sum, n) => sum + this.queue.executorsOf(n).length, 0);
    return { _class: 'hudson.model.ComputerSet', busyExecutors: busy, computer: computers, displayName: 'Nodes', totalExecutors: total };
  }

  private jnlp(node: JenkinsNode): string {
    const args = [this.secretOf(node.name), node.name, ...(node.webSocket ? ['-webSocket'] : []), '-workDir', node.workDir ?? node.remoteFS, '-internalDir', 'remoting', '-url', this.rootUrl()];
    return `<?xml version="1.0" encoding="UTF-8"?>\n<jnlp><application-desc>${args.map((a) => `<argument>${escapeHtml(a)}</argument>`).join('')}</application-desc></jnlp>`;
  }

  private configXml(node: JenkinsNode): string {
    const cause = node.temporaryOfflineCause ? causeXml(node.temporaryOfflineCause) : '';
    const workDir = node.workDir ? `      <workDirPath>${xmlText(node.workDir)}</workDirPath>\n` : '';
    return `<?xml version="1.1" encoding="UTF-8"?>\n<slave>\n${cause}  <name>${xmlText(node.name)}</name>\n  <description>${xmlText(node.description)}</description>\n  <remoteFS>${xmlText(node.remoteFS)}</remoteFS>\n  <numExecutors>${node.numExecutors}</numExecutors>\n  <mode>${node.mode}</mode>\n  <retentionStrategy class="hudson.slaves.RetentionStrategy$Always"/>\n  <launcher class="hudson.slaves.JNLPLauncher">\n    <workDirSettings>\n      <disabled>false</disabled>\n${workDir}      <internalDir>remoting</internalDir>\n      <failIfWorkDirIsMissing>false</failIfWorkDirIsMissing>\n    </workDirSettings>\n    <webSocket>${node.webSocket}</webSocket>\n  </launcher>\n  <label>${xmlText(node.labelString)}</label>\n  <nodeProperties/>\n</slave>\n`;
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
        node.lastDisconnect = { kind: 'channel', timestamp: Date.now(), error };
        this.sb.store.save();
      }
      this.sb.log({ service: 'jenkins', action: 'WS wsagents/ open', status: 101, mutating: false, error: `agent Java ${agentJava || '?'} < ${required}`, subject: name });
      ws.close(1011, `java.lang.UnsupportedClassVersionError: class file version ${required + 44}.0`);
      // The agent answers no close frame (nor does remoting's, once its channel is gone): drop it.
      setTimeout(() => ws.terminate(), 200).unref();
      return;
    }
    this.queue.advance();
    this.connections.set(name, ws);
    const node = this.node(name);
    if (node) {
      delete node.lastDisconnect;
      // Back before the Pipeline gave up on it: the builds carry on on this agent.
      this.queue.agentBack(name);
      this.sb.store.save();
      // SlaveComputer.setChannel: "Agent successfully connected and online", then maintenance.
      this.queue.scheduleMaintenance();
    }
    this.sb.log({ service: 'jenkins', action: 'WS wsagents/ open', status: 101, mutating: false, subject: name });
    ws.on('close', () => {
      if (this.connections.get(name) === ws) this.connections.delete(name);
      const n = this.node(name);
      if (n) {
        n.lastDisconnect ??= { kind: 'channel', timestamp: Date.now() };
        this.queue.agentLost(name);
        this.sb.store.save();
      }
      this.sb.log({ service: 'jenkins', action: 'WS wsagents/ close', status: 0, mutating: false, subject: name });
    });
  }

  // ---- control (tests and `provisioner sandbox busy|idle`)

  /**
   * `sandbox busy NODE` starts a build on the agent at once; `sandbox idle NODE` ends the builds on
   * it (or on the computer a deleted node left) successfully.
   */
  setBusy(name: string, busy: boolean): string | undefined {
    if (!busy) return this.queue.finishOn(name);
    const started = this.queue.occupy(name);
    return typeof started === 'string' ? started : undefined;
  }

  /**
   * What a disk-space monitor does (DiskSpaceMonitorDescriptor.markNodeOfflineOrOnline): with free
   * space at or under the threshold it takes a connected node temporarily offline with its DiskSpace
   * cause, unless the node is temporarily offline already (AbstractNodeMonitorDescriptor.markOffline);
   * once space is back it brings the node online only if that monitor's own cause holds it.
   */
  setFreeSpace(name: string, monitor: 'disk-space' | 'temp-space', freeBytes: number, totalBytes: number): { changed: boolean } | string {
    const node = this.node(name);
    if (!node) return `no node named ${name}`;
    if (!this.connections.has(name)) return `node ${name} is not connected: the monitors only measure connected agents`;
    const thresholdBytes = 1024 ** 3; // AbstractDiskSpaceMonitor's default freeSpaceThreshold, 1GiB
    const cause = node.temporaryOfflineCause;
    if (freeBytes <= thresholdBytes) {
      if (cause) return { changed: false };
      node.temporaryOfflineCause = { kind: monitor, path: monitor === 'disk-space' ? node.remoteFS : '/tmp', freeBytes, totalBytes, thresholdBytes, timestamp: Date.now() };
    } else {
      if (cause?.kind !== monitor) return { changed: false };
      delete node.temporaryOfflineCause;
    }
    this.sb.store.save();
    this.queue.scheduleMaintenance();
    return { changed: true };
  }

  /** The nodes and the computers of deleted nodes, as the control API shows them. */
  describe(): { nodes: Array<Record<string, unknown>>; removedComputers: Array<Record<string, unknown>> } {
    this.queue.advance();
    const world = this.sb.store.world;
    return {
      nodes: world.nodes.map((n) => ({
        name: n.name, description: n.description, labels: n.labelString, numExecutors: n.numExecutors, remoteFS: n.remoteFS, mode: n.mode, webSocket: n.webSocket,
        online: this.isConnected(n.name) && !n.temporaryOfflineCause, connected: this.isConnected(n.name),
        temporarilyOffline: n.temporaryOfflineCause !== undefined, offlineCause: n.temporaryOfflineCause?.kind ?? null,
        busy: this.queue.executorsOf(n).some((e) => e.build),
      })),
      removedComputers: this.queue.leftoverComputers().map((c) => ({ name: c.name, busy: true })),
    };
  }
}

/**
 * Jenkins.checkGoodName, which ComputerSet.checkName and Nodes.addNode / replaceNode apply to every
 * node name (Nodes.enforceNameRestrictions is on by default): the problem in Jenkins' words
 * (hudson/model/Messages.properties), or undefined for a good name.
 */
export function goodNameProblem(name: string): string | undefined {
  if (name === '') return 'No name is specified';
  if (name.trim() === '.' || name.trim() === '..') return `“${name.trim()}” is not an allowed name`;
  for (const c of name) {
    if (isIsoControl(c)) {
      const printable = [...name].map((ch) => (isIsoControl(ch) ? `\\u${ch.charCodeAt(0)};` : ch)).join('');
      return `No control code is allowed: ${printable}`;
    }
    if (unsafeNameChars.includes(c)) return `‘${c}’ is an unsafe character`;
  }
  // SECURITY-2424: jenkins.model.Jenkins.nameValidationRejectsTrailingDot, on by default.
  if (name.trim().endsWith('.')) return 'A name cannot end with ‘.’';
  return undefined;
}

/** Character.isISOControl: U+0000-U+001F and U+007F-U+009F. */
function isIsoControl(c: string): boolean {
  const code = c.charCodeAt(0);
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

/** Util.fixEmptyAndTrim. */
function fixEmptyAndTrim(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

/**
 * A temporaryOfflineCause element as XStream wrote it: undefined when absent, null when of a class
 * the sandbox does not know.
 */
function parseCauseXml(element: unknown): OfflineCause | undefined | null {
  if (element === undefined || element === '') return undefined;
  if (typeof element !== 'object' || element === null) return null;
  const e = element as Record<string, unknown>;
  const text = (key: string) => (typeof e[key] === 'string' ? (e[key] as string) : '');
  const timestamp = Number(text('timestamp')) || Date.now();
  if (e['@_class'] === 'hudson.slaves.OfflineCause$UserCause') {
    return { kind: 'user', userId: text('userId') || 'anonymous', message: 'message' in e ? text('message') : null, timestamp };
  }
  if (e['@_class'] === diskSpaceClass) {
    const kind = text('trigger') === monitorClass['temp-space'] ? 'temp-space' : 'disk-space';
    return { kind, path: text('path'), freeBytes: Number(text('size')), totalBytes: Number(text('totalSize')), thresholdBytes: Number(text('threshold')), timestamp };
  }
  return null;
}

function formParams(req: Request): URLSearchParams {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.startsWith('application/x-www-form-urlencoded') || req.body.length === 0) return new URLSearchParams();
  return new URLSearchParams(req.body.toString('utf8'));
}
