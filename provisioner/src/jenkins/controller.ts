// The Jenkins controller's REST API in the provisioner's words: list the nodes, create an inbound
// WebSocket agent, read its secret, drain it, delete it. Owns authentication (user + API token,
// never shown), timeouts, retries of transient failures, and errors that say what was being done,
// to which controller, and what it answered (with the missing permission on a 403).
import http from 'node:http';
import https from 'node:https';
import Jenkins, { type JenkinsClientError } from 'jenkins';
import { XMLParser } from 'fast-xml-parser';
import { RemoteError } from '../errors.ts';
import type { AgentNode, NodeSettings, RunningBuild } from '../model.ts';
import type { QueueItem } from '../plan/demand.ts';
import { parseNodeSettings, withNodeSettings } from './node-xml.ts';
import type { Controller, NodeSpec } from '../ports.ts';
import { queueTree, QueueFormatError, readQueueItems } from './queue.ts';

export interface JenkinsControllerOptions {
  /** The controller's root URL, e.g. https://ci.example.com/ (no credentials in it). */
  url: string;
  user: string;
  token: string;
  /** Per request, including the wait for the answer. */
  timeoutMs?: number;
  /** Further attempts after a 502/503/504 or a dropped connection. */
  retries?: number;
  /** First pause between attempts; doubles each time. */
  retryDelayMs?: number;
}

/**
 * The fields of every computer in one `computer/api/json` call (exported by hudson.model.Computer and
 * SlaveComputer); the offline cause's class tells a person's (OfflineCause$UserCause) from Jenkins'
 * own (a node monitor's).
 */
export const nodesTree =
  'computer[displayName,description,offline,temporarilyOffline,idle,offlineCauseReason,offlineCause[_class,timestamp],absoluteRemotePath,numExecutors,executors[number,idle,progress,currentExecutable[fullDisplayName,url]],assignedLabels[name]]';

/** Offline causes a person sets (toggleOffline, changeOfflineCause, the CLI): OfflineCause.UserCause and its ByCLI. */
const personCause = /^hudson\.slaves\.OfflineCause\$(UserCause|ByCLI)$/;

/**
 * Who holds a temporarily offline node offline, from its offline cause's class: a person (UserCause),
 * or Jenkins itself (a node monitor's MonitorOfflineCause, or any other cause no person set). Without
 * a class to go by, a person: the safe reading, since what a person holds offline is left alone.
 */
function heldOfflineBy(cause: unknown): 'person' | 'jenkins' {
  const type = (cause as { _class?: unknown } | null)?._class;
  return typeof type !== 'string' || personCause.test(type) ? 'person' : 'jenkins';
}

/** Undoes Util.escape, which Jenkins applies to offlineCauseReason (IOfflineCause.getReason). */
export function unescapeReason(text: string): string {
  const entities: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&#039;': "'", '&nbsp;': ' ', '<br>': '\n' };
  return text.replace(/&lt;|&gt;|&amp;|&quot;|&#039;|&nbsp;|<br>/g, (m) => entities[m]!);
}

/** The built-in node's class in the API: it is not an agent and is left out. */
const builtInClass = /\$MasterComputer$/;

/** Jenkins' permission ids (X-Required-Permission) in the words of its security matrix. */
const permissionNames: Record<string, string> = {
  'hudson.model.Hudson.Read': 'Overall/Read',
  'hudson.model.Hudson.Administer': 'Overall/Administer',
  'hudson.model.Computer.Create': 'Agent/Create',
  'hudson.model.Computer.Delete': 'Agent/Delete',
  'hudson.model.Computer.Connect': 'Agent/Connect',
  'hudson.model.Computer.Disconnect': 'Agent/Disconnect',
  'hudson.model.Computer.Configure': 'Agent/Configure',
  'hudson.model.Computer.ExtendedRead': 'Agent/ExtendedRead',
};

const transientStatuses = new Set([502, 503, 504]);
const transientCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

interface Call {
  /** What is being done, for the message: `creating node awsDeploy-i-0abc`. */
  doing: string;
  /** The permission this call needs, named when the controller answers 403 without saying. */
  permission: string;
  /** Whether a timeout may be retried (only for calls that change nothing). */
  readOnly: boolean;
}

/**
 * A POST refused for want of a CSRF crumb: Jenkins asks for none when an API token authenticated the
 * request (ApiCrumbExclusion), so the secret the provisioner was given is the user's password.
 */
export class PasswordNotTokenError extends RemoteError {}

/** CrumbFilter's refusal (a 403 that names the crumb and no missing permission): its words, or undefined. */
function crumbRefusal(res: { headers?: Record<string, string | string[] | undefined>; body?: unknown } | undefined): string | undefined {
  if (!res || headerValue(res, 'x-required-permission')) return undefined;
  const body = res.body;
  const text = `${errorHeader(res)}\n${Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : ''}`;
  if (!/\bcrumb\b/i.test(text)) return undefined;
  return /No valid crumb[^<\n]*/i.exec(text)?.[0].trim() ?? 'a CSRF crumb is required';
}

export class JenkinsController implements Controller {
  readonly url: string;
  private readonly user: string;
  private readonly authorization: string;
  private readonly client: Jenkins;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly timeoutMs: number;
  private readonly xml = new XMLParser({
    // A secret made only of digits must stay a string, exactly as sent.
    parseTagValue: false,
    ignoreAttributes: true,
    isArray: (name) => name === 'argument',
  });

  constructor(options: JenkinsControllerOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new Error(`controller.url: expected an http(s) URL, found ${JSON.stringify(options.url)}`);
    }
    if (!/^https?:$/.test(parsed.protocol) || parsed.username || parsed.password) {
      throw new Error('controller.url: expected an http(s) URL without credentials in it');
    }
    const root = `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
    this.url = `${root}/`;
    this.user = options.user;
    this.authorization = `Basic ${Buffer.from(`${options.user}:${options.token}`).toString('base64')}`;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.client = new Jenkins({
      baseUrl: root,
      // With an API token, POSTs are exempt from CSRF crumbs (Jenkins >= 2.96); asking for a crumb
      // before each POST would only double the calls.
      crumbIssuer: false,
      headers: { authorization: this.authorization },
      timeout: this.timeoutMs,
    });
  }

  async listNodes(): Promise<AgentNode[]> {
    const computers = await this.call({ doing: 'listing the nodes', permission: 'Overall/Read', readOnly: true }, () =>
      this.client.node.list({ tree: nodesTree }),
    );
    if (!Array.isArray(computers)) {
      throw new RemoteError('listing the nodes', this.endpoint, 'answered without a computer list (is this URL a Jenkins controller?)');
    }
    return computers.flatMap((raw) => {
      const computer = raw as Record<string, unknown>;
      if (builtInClass.test(String(computer._class ?? ''))) return [];
      const name = String(computer.displayName ?? '');
      if (!name) return [];
      const node: AgentNode = {
        name,
        online: computer.offline === false,
        temporarilyOffline: computer.temporarilyOffline === true,
        // Only a node Jenkins calls idle is idle: a busy agent must never look free to scale-in.
        idle: computer.idle === true,
        labels: ((computer.assignedLabels as Array<{ name?: string }> | undefined) ?? [])
          .map((label) => label.name ?? '')
          // Every node carries its own name as a label; it is not one of the pool's.
          .filter((label) => label && label !== name),
        executors: typeof computer.numExecutors === 'number' ? computer.numExecutors : 0,
      };
      if (typeof computer.description === 'string' && computer.description) node.description = computer.description;
      if (typeof computer.offlineCauseReason === 'string' && computer.offlineCauseReason) node.offlineReason = unescapeReason(computer.offlineCauseReason);
      if (node.temporarilyOffline) {
        node.heldOfflineBy = heldOfflineBy(computer.offlineCause);
        const since = (computer.offlineCause as { timestamp?: unknown } | null)?.timestamp;
        if (typeof since === 'number') node.offlineSince = since;
      }
      // SlaveComputer.getAbsoluteRemotePath is set only while the agent's channel is up (shown to
      // Agent/Connect, which the service account has): whether a drained node's agent is there at all.
      if ('absoluteRemotePath' in computer) node.connected = typeof computer.absoluteRemotePath === 'string';
      const running = runningBuilds(computer.executors);
      if (running.length > 0) node.running = running;
      // Jenkins makes a computer only for a node with executors and keeps one with none only while
      // the builds of a deleted node finish (AbstractCIBase.updateComputerList).
      if (computer.numExecutors === 0) node.deleted = true;
      // Executor.isIdle per executor: how many of a multi-executor agent's are taken (or handed work).
      if (Array.isArray(computer.executors)) node.busyExecutors = (computer.executors as Array<{ idle?: unknown }>).filter((e) => e?.idle === false).length;
      return [node];
    });
  }

  async readQueue(): Promise<QueueItem[]> {
    const doing = 'reading the build queue';
    // `why` is localised by the request's locale; demand reads Jenkins' English words.
    const res = await this.call({ doing, permission: 'Overall/Read', readOnly: true }, () => this.get(`queue/api/json?tree=${encodeURIComponent(queueTree)}`, { 'accept-language': 'en' }));
    let json: unknown;
    try {
      json = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new RemoteError(doing, this.endpoint, `answered ${res.statusCode} with a body that is not JSON (is this URL a Jenkins controller?)`);
    }
    try {
      return readQueueItems(json);
    } catch (err) {
      if (err instanceof QueueFormatError) throw new RemoteError(doing, this.endpoint, `answered ${err.message}`);
      throw err;
    }
  }

  async createNode(spec: NodeSpec): Promise<'created' | 'exists'> {
    checkSpec(spec);
    const call = { doing: `creating node ${spec.name}`, permission: 'Agent/Create', readOnly: false };
    try {
      await this.call(call, () =>
        // POST computer/doCreateItem?name=&type=DumbSlave$DescriptorImpl&json={...}: the client
        // fills in the Always retention strategy and empty node properties.
        this.client.node.create({
          name: spec.name,
          nodeDescription: spec.description,
          numExecutors: spec.executors,
          remoteFS: spec.remoteFS,
          labelString: spec.labels.join(' '),
          mode: spec.mode,
          launcher: {
            'stapler-class': 'hudson.slaves.JNLPLauncher',
            webSocket: true,
            workDirSettings: { disabled: false, workDirPath: '', internalDir: 'remoting', failIfWorkDirIsMissing: false },
          },
        }),
      );
      return 'created';
    } catch (err) {
      // ComputerSet.checkName answers a taken name with a 400 whose X-Error says "already exists".
      const cause = (err as RemoteError).cause as JenkinsClientError | undefined;
      if (err instanceof RemoteError && cause?.res?.statusCode === 400 && /already exists/i.test(errorHeader(cause.res))) return 'exists';
      throw err;
    }
  }

  async readSecret(name: string): Promise<string> {
    const doing = `reading the secret of node ${name}`;
    // The client has no call for the agent's JNLP file: one typed GET of our own.
    const res = await this.call({ doing, permission: 'Agent/Connect', readOnly: true }, () => this.get(`computer/${encodeURIComponent(name)}/jenkins-agent.jnlp`));
    const body = res.body.toString('utf8');
    let secret: unknown;
    try {
      const document = this.xml.parse(body, true) as { jnlp?: { 'application-desc'?: { argument?: unknown[] } } };
      secret = document.jnlp?.['application-desc']?.argument?.[0];
    } catch {
      secret = undefined;
    }
    // The body holds the secret: it is never quoted, only described.
    if (typeof secret !== 'string' || !/^\S+$/.test(secret.trim())) {
      throw new RemoteError(doing, this.endpoint, `answered ${res.statusCode} without a JNLP document naming a secret (${body.length} bytes; is ${name} an inbound agent?)`);
    }
    return secret.trim();
  }

  async drain(name: string, message: string): Promise<void> {
    const doing = `taking node ${name} offline`;
    const state = await this.call({ doing, permission: 'Overall/Read', readOnly: true }, () =>
      this.client.node.get({ name, tree: 'temporarilyOffline,offlineCause[_class]' }),
    );
    // Held offline by a person (or by an earlier drain): their message stays. A monitor's cause is
    // replaced, so that the monitor cannot bring the node back online while it drains.
    if (state.temporarilyOffline === true && heldOfflineBy(state.offlineCause) === 'person') return;
    // changeOfflineCause sets the node temporarily offline whatever its state (Computer.java since
    // 2.361 at least), unlike toggleOffline, which a concurrent drain would turn back online.
    await this.call({ doing, permission: 'Agent/Disconnect', readOnly: false }, () => this.client.node.changeOfflineCause({ name, message }));
  }

  async resume(name: string): Promise<void> {
    const doing = `taking node ${name} back online`;
    const state = await this.call({ doing, permission: 'Overall/Read', readOnly: true }, () =>
      this.client.node.get({ name, tree: 'temporarilyOffline' }),
    );
    if (state.temporarilyOffline !== true) return;
    // Jenkins has no "set online" call: toggleOffline on a temporarily offline node clears it.
    // Read-then-toggle leaves a window in which a person's own toggle could cross ours.
    await this.call({ doing, permission: 'Agent/Connect', readOnly: false }, () => this.client.node.toggleOffline({ name, message: '' }));
  }

  async deleteNode(name: string): Promise<'deleted' | 'absent'> {
    try {
      await this.call({ doing: `deleting node ${name}`, permission: 'Agent/Delete', readOnly: false }, () => this.client.node.destroy({ name }));
      return 'deleted';
    } catch (err) {
      if (err instanceof RemoteError && statusOf(err.cause as JenkinsClientError) === 404) return 'absent';
      throw err;
    }
  }

  async nodeSettings(name: string): Promise<NodeSettings | undefined> {
    const doing = `reading the configuration of node ${name}`;
    let xml: string;
    try {
      // GET computer/NAME/config.xml needs Agent/ExtendedRead, which Agent/Configure implies. A plan
      // reads one per node, so it is a typed GET of our own, without the client's middleware.
      xml = (await this.call({ doing, permission: 'Agent/Configure', readOnly: true }, () => this.get(`computer/${encodeURIComponent(name)}/config.xml`))).body.toString('utf8');
    } catch (err) {
      if (err instanceof RemoteError && statusOf(err.cause as JenkinsClientError) === 404) return undefined;
      throw err;
    }
    try {
      return parseNodeSettings(xml);
    } catch (err) {
      throw new RemoteError(doing, this.endpoint, `answered a config.xml that is not an agent's: ${(err as Error).message}`);
    }
  }

  async reconfigureNode(name: string, settings: NodeSettings): Promise<void> {
    checkSpec({ name, ...settings });
    const doing = `updating the configuration of node ${name}`;
    // Posting replaces the whole node (Computer.updateByXml): read what it holds now and change only
    // the fleet's settings, so its offline cause (a drain, a person's hold) and launcher stay.
    const current = await this.call({ doing, permission: 'Agent/Configure', readOnly: true }, () => this.client.node.config({ name }));
    let xml: string;
    try {
      xml = withNodeSettings(current, settings);
    } catch (err) {
      throw new RemoteError(doing, this.endpoint, `answered a config.xml that is not an agent's: ${(err as Error).message}`);
    }
    await this.call({ doing, permission: 'Agent/Configure', readOnly: false }, () => this.client.node.config({ name, xml }));
  }

  /**
   * A GET the `jenkins` client has no call for (or is too slow for: a plan reads 1,000 config.xml),
   * authenticated and bounded as its own requests are, on the same keep-alive connections (Node's
   * global agent, which the client uses too). Fails as the client fails (JenkinsClientError: `res`
   * when the controller answered other than 2xx, `code` or `isTimeout` when it did not), so `call`
   * treats both alike. Redirects are not followed: an answer elsewhere is an answer to report.
   */
  private get(path: string, headers: Record<string, string> = {}): Promise<{ statusCode: number; body: Buffer }> {
    const target = new URL(path, this.url);
    const transport = target.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error & { code?: string }, isTimeout = false) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const clientError = new Error(err.message) as JenkinsClientError;
        if (err.code) clientError.code = err.code;
        if (isTimeout) clientError.isTimeout = true;
        reject(clientError);
      };
      const request = transport.get(target, { headers: { ...headers, authorization: this.authorization } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (err) => fail(err));
        response.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const body = Buffer.concat(chunks);
          const statusCode = response.statusCode ?? 0;
          if (statusCode >= 200 && statusCode <= 299) return resolve({ statusCode, body });
          const clientError = new Error(`${statusCode} ${response.statusMessage ?? ''}`.trim()) as JenkinsClientError;
          clientError.res = { statusCode, statusMessage: response.statusMessage, headers: response.headers, body } as JenkinsClientError['res'];
          reject(clientError);
        });
      });
      // One bound on the whole exchange, the answer's last byte included, as the client's timeout.
      const timer = setTimeout(() => {
        fail(new Error(`no answer within ${this.timeoutMs} ms`), true);
        request.destroy();
      }, this.timeoutMs);
      request.on('error', (err) => fail(err));
    });
  }

  private get endpoint(): string {
    return `Jenkins at ${this.url}`;
  }

  /** Runs one client call with retries of transient failures; anything else becomes a RemoteError. */
  private async call<T>(call: Call, request: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await request();
      } catch (raw) {
        const err = raw as JenkinsClientError;
        const status = statusOf(err);
        const timedOut = err.isTimeout === true;
        const transient =
          (status !== undefined && transientStatuses.has(status)) ||
          (status === undefined && !timedOut && transientCodes.has(err.code ?? '')) ||
          (timedOut && call.readOnly);
        if (transient && attempt < this.retries) {
          await sleep(this.retryDelayMs * 2 ** attempt);
          continue;
        }
        const tries = attempt > 0 ? ` (after ${attempt + 1} attempts)` : '';
        const crumb = statusOf(err) === 403 ? crumbRefusal(err.res) : undefined;
        if (crumb) {
          throw new PasswordNotTokenError(
            call.doing,
            this.endpoint,
            `answered 403 Forbidden: ${crumb}. Jenkins asks for a CSRF crumb only when a request is not authenticated with an API token, ` +
              `so the secret given for ${this.user} (JENKINS_API_TOKEN or controller.tokenFile) is a password, not an API token: ` +
              `create an API token for ${this.user} (user menu, Security, API Token) and use that`,
            { cause: sanitized(err) },
          );
        }
        throw new RemoteError(call.doing, this.endpoint, `${this.describe(err, call)}${tries}`, { cause: sanitized(err) });
      }
    }
  }

  private describe(err: JenkinsClientError, call: Call): string {
    const res = err.res;
    // The client's notFound step answers a 404 with a fresh error that keeps no response.
    if (!res && err.notFound) return 'answered 404 Not Found';
    if (!res) {
      if (err.isTimeout) return `did not answer within ${this.timeoutMs / 1000} s`;
      if (err.code === 'ECONNREFUSED') return 'refused the connection';
      if (err.code === 'ECONNRESET') return 'reset the connection';
      if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return 'could not be resolved (DNS)';
      if (err.code?.startsWith('ERR_TLS') || /certificate/i.test(err.message)) return `failed TLS: ${err.message}`;
      return err.code ? `could not be reached: ${err.code}` : `failed: ${err.message}`;
    }
    const status = res.statusCode ?? 0;
    const said = shortBody(res);
    if (status === 401) {
      return `answered 401 Unauthorized: the user name or API token was not accepted (check controller.user and JENKINS_API_TOKEN or controller.tokenFile)`;
    }
    if (status === 403) {
      const required = headerValue(res, 'x-required-permission');
      const who = headerValue(res, 'x-you-are-authenticated-as');
      const permission = required ? (permissionNames[required] ?? required) : call.permission;
      return `answered 403 Forbidden: ${who ? `user ${who}` : 'the user'} lacks the ${permission} permission`;
    }
    return `answered ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${said ? `: ${said}` : ''}`;
  }
}

/** The builds holding a computer's executors, as far as the account may see them (the job needs Job/Read). */
function runningBuilds(executors: unknown): RunningBuild[] {
  if (!Array.isArray(executors)) return [];
  return executors.flatMap((raw): RunningBuild[] => {
    const executor = raw as { number?: unknown; idle?: unknown; progress?: unknown; currentExecutable?: { fullDisplayName?: unknown; url?: unknown } | null };
    if (executor.idle !== false) return [];
    const build: RunningBuild = { executor: typeof executor.number === 'number' ? executor.number : 0 };
    const name = executor.currentExecutable?.fullDisplayName;
    if (typeof name === 'string' && name) build.build = name;
    const url = executor.currentExecutable?.url;
    if (typeof url === 'string' && url) build.url = url;
    if (typeof executor.progress === 'number' && executor.progress >= 0) build.progress = executor.progress;
    return [build];
  });
}

function checkSpec(spec: NodeSpec): void {
  const problems: string[] = [];
  if (!/^[^\s/\\?*%!@#$^&|<>[\]:;]+$/.test(spec.name)) problems.push(`node name: expected no spaces or /\\?*%!@#$^&|<>[]:; found ${JSON.stringify(spec.name)}`);
  if (!Number.isInteger(spec.executors) || spec.executors < 1) problems.push(`node executors: expected a whole number >= 1, found ${spec.executors}`);
  if (!spec.remoteFS) problems.push('node remoteFS: expected a directory, found nothing');
  if (spec.labels.some((label) => /\s/.test(label) || !label)) problems.push(`node labels: expected words without spaces, found ${JSON.stringify(spec.labels)}`);
  // The executor builds specs from a validated fleet: a bad one is a bug, not a user's mistake.
  if (problems.length > 0) throw new Error(problems.join('; '));
}

/** The HTTP status the controller answered, if it answered. */
function statusOf(err: JenkinsClientError | undefined): number | undefined {
  return err?.res?.statusCode ?? (err?.notFound ? 404 : undefined);
}

function headerValue(res: { headers?: Record<string, string | string[] | undefined> }, name: string): string {
  const value = res.headers?.[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/** Jenkins' error pages carry their message in X-Error (non-ASCII quotes arrive as '?'). */
function errorHeader(res: { headers?: Record<string, string | string[] | undefined> }): string {
  return headerValue(res, 'x-error');
}

/** What the controller said, in one short line: its X-Error, or the text of its body. */
function shortBody(res: { headers?: Record<string, string | string[] | undefined>; body?: unknown }): string {
  const header = errorHeader(res);
  if (header) return header;
  const body = res.body;
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : body ? JSON.stringify(body) : '';
  const plain = text
    .replace(/<(script|style|head)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > 200 ? `${plain.slice(0, 200)}...` : plain;
}

/**
 * The client's error keeps the response, whose request holds the Authorization header: only the
 * status, headers and message travel on as the cause, so --debug output cannot show the token.
 */
function sanitized(err: JenkinsClientError): Error {
  const copy = new Error(err.message) as JenkinsClientError;
  copy.name = err.name;
  if (err.code) copy.code = err.code;
  if (err.isTimeout) copy.isTimeout = true;
  if (err.notFound) copy.notFound = true;
  if (err.res) {
    copy.res = { statusCode: err.res.statusCode, statusMessage: err.res.statusMessage, headers: { ...err.res.headers } } as JenkinsClientError['res'];
  }
  return copy;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
