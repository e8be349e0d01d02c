// The live controller check of `doctor` (run when JENKINS_URL is set): reachable as the service
// account, its version, WebSocket agents on and the TCP agent port off, no executors on the
// built-in node, and the service account's permissions: each one the provisioner needs exercised
// on a short-lived probe node, and the ones it must not have shown to be refused.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readToken } from '../config/load.ts';
import { RemoteError, UserError } from '../errors.ts';
import { JenkinsController, PasswordNotTokenError } from '../jenkins/controller.ts';
import type { Controller } from '../ports.ts';
import { queueReaders, type CheckResult } from './checks.ts';
import type { Repository } from './repository.ts';

const timeoutMs = 15_000;

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

class Unreachable extends Error {}

/** The Jenkins REST calls the check makes, authenticated with the service account's API token. */
class Probe {
  constructor(readonly url: string, private readonly authorization: string) {}

  async call(method: 'GET' | 'POST', path: string, body?: URLSearchParams | string, contentType?: string): Promise<Answer> {
    const headers: Record<string, string> = { authorization: this.authorization };
    if (contentType) headers['content-type'] = contentType;
    let response: Response;
    try {
      // API-token requests skip the CSRF crumb (ApiCrumbExclusion); redirects are answers here.
      response = await fetch(new URL(path, this.url), { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Unreachable(`${method} ${path}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    return { status: response.status, headers: response.headers, body: await response.text() };
  }
}

const succeeded = (a: Answer) => a.status >= 200 && a.status < 400;

/** The LTS version jenkins/Dockerfile builds on, if it can be read. */
async function pinnedVersion(root: string): Promise<string | undefined> {
  try {
    const dockerfile = await readFile(join(root, 'jenkins/Dockerfile'), 'utf8');
    return /^FROM\s+jenkins\/jenkins:(\d+(?:\.\d+)+)/m.exec(dockerfile)?.[1];
  } catch {
    return undefined;
  }
}

/** The HTTP status a Jenkins adapter error carries, if the controller answered. */
function statusOf(err: unknown): number | undefined {
  return (err as { cause?: { res?: { statusCode?: number } } }).cause?.res?.statusCode;
}

/**
 * Exercises each agent permission the provisioner needs on a probe node, through the same
 * Jenkins adapter the provisioner uses, and deletes the node again.
 */
async function agentPermissions(probe: Probe, controller: Controller, user: string, problems: string[], notes: string[]) {
  const name = `doctor-probe-${randomBytes(4).toString('hex')}`;
  const exercised: string[] = [];
  /** Runs one step; a 403 names the permission, anything else what the controller said. */
  const attempt = async (permission: string, doing: string, step: () => Promise<unknown>): Promise<boolean> => {
    try {
      await step();
      exercised.push(permission);
      return true;
    } catch (err) {
      if (!(err instanceof RemoteError)) throw err;
      if (err instanceof PasswordNotTokenError) {
        // Not a missing permission: every POST is refused this way until a token is used.
        problems.push(
          `the secret given for ${user} is a password, not an API token: Jenkins refused ${doing} for want of a CSRF crumb, which it asks only of requests not made with an API token; ` +
            `create an API token for ${user} (user menu, Security, API Token) and set JENKINS_API_TOKEN (or controller.tokenFile) to it`,
        );
      } else if (statusOf(err) === 403) problems.push(`${user} lacks ${permission}: ${doing} was refused (403); the provisioner needs it`);
      else problems.push(err.message);
      return false;
    }
  };
  const spec = {
    name,
    description: 'Temporary node made by provisioner doctor to test the service account permissions; safe to delete',
    remoteFS: '/tmp/doctor-probe',
    executors: 1,
    labels: [],
    mode: 'EXCLUSIVE' as const,
  };
  if (!(await attempt('Agent/Create', `creating the probe node ${name}`, () => controller.createNode(spec)))) return;
  try {
    await attempt('Agent/Configure', `reconfiguring the probe node ${name}`, async () => {
      // Not a provisioner call: saving the node's own config.xml back is the smallest change that needs Configure.
      const path = `computer/${encodeURIComponent(name)}/config.xml`;
      const config = await probe.call('GET', path);
      const saved = succeeded(config) ? await probe.call('POST', path, config.body, 'application/xml') : config;
      if (!succeeded(saved)) {
        throw new RemoteError(`reconfiguring the probe node ${name}`, `Jenkins at ${probe.url}`, `answered ${saved.status}`, { cause: { res: { statusCode: saved.status } } });
      }
    });
    // The secret is read and dropped: never kept or shown.
    await attempt('Agent/Connect', `reading the probe node's agent secret`, () => controller.readSecret(name));
    await attempt('Agent/Disconnect', `taking the probe node ${name} offline`, () => controller.drain(name, 'provisioner doctor probe'));
  } finally {
    if (!(await attempt('Agent/Delete', `deleting the probe node ${name}`, () => controller.deleteNode(name)))) {
      problems.push(`the probe node ${name} is left on the controller: delete it by hand`);
    }
  }
  notes.push(`exercised ${exercised.join(', ')}`);
}

/** Checks the controller at JENKINS_URL (through the fleet's controller settings and token). */
export async function checkController(repo: Repository, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  const result: CheckResult = {
    name: 'controller',
    title: 'the live controller is reachable, takes WebSocket agents, and grants the service account exactly what it needs',
    problems: [],
    notes: [],
  };
  const { problems, notes } = result;
  if (!repo.fleet.ok) {
    problems.push(`${repo.fleet.path} is not valid, so the controller's user and token are unknown`);
    return result;
  }
  const fleet = repo.fleet.value;
  let token: string;
  try {
    token = await readToken(fleet, env);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    problems.push(...err.problems);
    return result;
  }
  const user = fleet.controller.user;
  const probe = new Probe(fleet.controller.url, `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`);
  notes.push(`${probe.url} as ${user}`);
  try {
    const root = await probe.call('GET', 'api/json?tree=numExecutors,useSecurity,slaveAgentPort,jobs[name]');
    if (root.status === 401) {
      problems.push(`Jenkins at ${probe.url} refuses ${user}'s API token (401): check JENKINS_USER and JENKINS_API_TOKEN`);
      return result;
    }
    if (root.status === 403) {
      problems.push(`${user} lacks Overall/Read (403 on ${probe.url}api/json); the provisioner needs it`);
      return result;
    }
    const version = root.headers.get('x-jenkins');
    if (!version) {
      problems.push(`${probe.url} does not answer as Jenkins (no X-Jenkins header; HTTP ${root.status})`);
      return result;
    }
    if (root.status !== 200) {
      problems.push(`Jenkins at ${probe.url} answered ${root.status} to api/json`);
      return result;
    }
    const pinned = await pinnedVersion(repo.root);
    notes.push(`Jenkins ${version}${pinned && pinned !== version ? ` (jenkins/Dockerfile pins ${pinned})` : ''}`);
    const data = JSON.parse(root.body) as { numExecutors?: number; useSecurity?: boolean; slaveAgentPort?: number; jobs?: { name: string }[] };
    if (data.useSecurity === false) problems.push(`Jenkins at ${probe.url} has security turned off: anyone can do anything`);
    if ((data.numExecutors ?? 0) > 0) problems.push(`the built-in node has ${data.numExecutors} executors: builds could run on the controller (casc.yaml sets numExecutors: 0)`);
    const scaled = queueReaders(fleet.pools);
    if (scaled.length === 0 && (data.jobs ?? []).length > 0) {
      problems.push(`${user} can read jobs (${data.jobs!.slice(0, 3).map((j) => j.name).join(', ')}): Job/Read is more than the provisioner needs`);
    } else if (scaled.length > 0 && (data.jobs ?? []).length === 0) {
      // casc.yaml always defines a job, so a service account that sees none lacks Job/Read.
      problems.push(`${user} sees no job: it lacks Job/Read, without which watch sees an empty build queue and never scales ${scaled.join(', ')} up`);
    }

    const websocket = await probe.call('GET', 'wsagents/');
    // Jenkins answers 400 to a plain GET of its WebSocket agent endpoint, and 404 where WebSocket is unavailable.
    if (websocket.status === 404) problems.push(`Jenkins at ${probe.url} does not take WebSocket agents (wsagents/ answers 404)`);
    else if (websocket.status !== 400) problems.push(`Jenkins at ${probe.url} answered ${websocket.status} on wsagents/, where 400 means WebSocket agents are on`);
    const tcp = await probe.call('GET', 'tcpSlaveAgentListener/');
    // Configured (slaveAgentPort) or listening (the listener's page): either way the port is open.
    const configured = typeof data.slaveAgentPort === 'number' && data.slaveAgentPort !== -1 ? String(data.slaveAgentPort) : undefined;
    if (succeeded(tcp) || configured) {
      const listening = succeeded(tcp) ? tcp.headers.get('x-jenkins-jnlp-port') : null;
      const where = listening ? `port ${listening}` : configured !== undefined ? `slaveAgentPort ${configured}` : undefined;
      problems.push(`the TCP agent port is open${where ? ` (${where})` : ''}: casc.yaml sets slaveAgentPort: -1, agents use WebSocket`);
    }

    // The script console checks Overall/Administer before anything else (Jenkins._doScript), so its
    // answer tells an administrator from everyone else without side effects.
    const script = await probe.call('GET', 'script');
    if (script.status === 200) problems.push(`${user} can open the script console (Overall/Administer): more than the provisioner needs`);
    else if (script.status !== 403) problems.push(`script answered ${script.status}, where 403 means ${user} is refused the script console`);

    // One attempt per call: a doctor reports what it finds rather than waiting out a flaky controller.
    const controller = new JenkinsController({ url: probe.url, user, token, timeoutMs, retries: 0 });
    await agentPermissions(probe, controller, user, problems, notes);
  } catch (err) {
    if (!(err instanceof Unreachable)) throw err;
    problems.push(`cannot reach Jenkins at ${probe.url}: ${err.message}`);
  }
  return result;
}
