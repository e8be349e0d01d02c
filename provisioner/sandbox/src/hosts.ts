// The sandbox's hosts: one directory per instance (`DIR/hosts/<instance-id>/`, the bootstrap's
// install root) in which Run Command really executes scripts with bash, with a PATH of stand-ins
// (toolbox/) for what a real host provides: aws, package managers, accounts, systemctl, java.
// Processes started on a host (its units) are tracked by pid files under the host's root so that
// terminating the instance or stopping the sandbox ends them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { catalogText, imageOf, type HostImage } from './images.ts';
import { dispatchCommand } from './ssm.ts';
import type { Instance, Invocation } from './state.ts';
import type { Sandbox } from './world.ts';

const here = new URL('./toolbox/', import.meta.url).pathname;

/** Real utilities a minimal host has; anything else (java, python3, terraform...) must be installed. */
export const baseUtilities = [
  'bash', 'sh', 'cat', 'cp', 'mv', 'rm', 'ln', 'ls', 'mkdir', 'rmdir', 'chmod', 'touch', 'echo', 'printf', 'test', '[',
  'true', 'false', 'sleep', 'date', 'env', 'basename', 'dirname', 'readlink', 'realpath', 'mktemp', 'stat', 'head', 'tail',
  'tee', 'wc', 'cut', 'tr', 'sort', 'uniq', 'sed', 'awk', 'gawk', 'mawk', 'grep', 'egrep', 'fgrep', 'find', 'xargs', 'install',
  'cmp', 'diff', 'md5sum', 'sha256sum', 'sha1sum', 'base64', 'uname', 'hostname', 'seq', 'tar', 'gzip', 'gunzip', 'zcat',
  'curl', 'wget', 'setsid', 'nohup', 'timeout', 'ps', 'flock', 'getopt', 'which', 'nproc', 'df', 'du', 'sync', 'file', 'od',
];

/** Stand-ins on every host's PATH, by the script that implements them. */
const standIns: Record<string, string> = {
  systemctl: 'systemctl',
  useradd: 'accounts', groupadd: 'accounts', usermod: 'accounts', id: 'accounts', getent: 'accounts', chown: 'accounts', whoami: 'accounts',
  sudo: 'become', runuser: 'become', su: 'become',
};

/** The package tools of each kind of image (the `packages` stand-in under their names). */
const packageTools = { dnf: ['dnf', 'yum'], apt: ['apt-get', 'apt', 'apt-cache'] } as const;

/**
 * Lays a fresh host's root out as its image boots: /etc/os-release, the package catalog, the
 * package tools of its distribution and what the image has installed. Done once per root.
 */
export function layHostImage(toolbox: string, root: string, image: HostImage): void {
  const marker = join(root, 'var/lib/sandbox/image');
  if (existsSync(marker)) return;
  for (const d of ['etc', 'usr/bin', 'var/lib/sandbox']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'etc/os-release'), image.osRelease);
  writeFileSync(join(root, 'var/lib/sandbox/catalog'), catalogText(image));
  for (const tool of packageTools[image.packageManager]) symlinkSync(join(toolbox, 'lib', 'packages'), join(root, 'usr/bin', tool));
  if (image.snap) symlinkSync(join(toolbox, 'lib', 'packages'), join(root, 'usr/bin', 'snap'));
  // The image's own packages, installed the way the package tool installs any other.
  const env = { ...process.env, AGENT_INSTALL_ROOT: root };
  const preinstall = spawnSync(join(root, 'usr/bin', packageTools[image.packageManager][0]), ['install', '-y', ...image.preinstalled], { env, encoding: 'utf8' });
  if (preinstall.status !== 0) throw new Error(`laying out the ${image.family} image in ${root}: ${preinstall.stderr}`);
  writeFileSync(marker, `${image.family}\n`);
}

export interface HostOptions {
  /** Seconds the `java` stand-in waits before reconnecting a dropped agent connection. */
  agentRetrySeconds: number;
  /** Run Command scripts running at once across all hosts (a 2-core machine runs 200 hosts). */
  concurrency: number;
  /**
   * Instant hosts (`--instant-hosts`): Run Command succeeds at once without running the script, and
   * the instance's agent connects as the bootstrap's would. For measuring the provisioner apart from
   * 200 simulated bootstraps sharing this machine's CPUs.
   */
  instant?: boolean;
}

export class Hosts {
  readonly toolbox: string;
  private readonly running = new Map<string, ChildProcess>();
  /** The agent connections of instant hosts, by instance id. */
  private readonly instantAgents = new Map<string, WebSocket>();
  private readonly queue: (() => void)[] = [];
  private active = 0;

  constructor(private readonly sb: Sandbox, private readonly options: HostOptions) {
    this.toolbox = join(sb.store.dir, 'toolbox');
  }

  root(instanceId: string): string {
    return join(this.sb.store.dir, 'hosts', instanceId);
  }

  /** (Re)writes the toolbox: the stand-ins, links to the base utilities, and the endpoint config. */
  install(): void {
    rmSync(this.toolbox, { recursive: true, force: true });
    for (const d of ['lib', 'bin']) mkdirSync(join(this.toolbox, d), { recursive: true });
    for (const file of readdirSync(here)) {
      const target = join(this.toolbox, 'lib', file);
      copyFileSync(join(here, file), target);
      chmodSync(target, 0o755);
    }
    for (const [name, script] of Object.entries(standIns)) symlinkSync(join(this.toolbox, 'lib', script), join(this.toolbox, 'bin', name));
    const systemPath = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
    for (const name of baseUtilities) {
      const found = systemPath.map((d) => join(d, name)).find((p) => existsSync(p));
      if (found && !existsSync(join(this.toolbox, 'bin', name))) symlinkSync(found, join(this.toolbox, 'bin', name));
    }
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    writeFileSync(join(this.toolbox, 'sandbox.conf'), [
      `SANDBOX_SSM_ENDPOINT=${quote(`${this.sb.baseUrl}/ssm/`)}`,
      `SANDBOX_REGION=${quote(this.sb.region)}`,
      `SANDBOX_AGENT_RETRY_SECONDS=${this.options.agentRetrySeconds}`,
      `SANDBOX_PID=${process.pid}`,
      '',
    ].join('\n'));
  }

  /** The environment the SSM agent gives a command on this host. */
  env(instance: Instance): NodeJS.ProcessEnv {
    const root = this.root(instance.id);
    return {
      PATH: [join(root, 'usr/local/bin'), join(root, 'usr/bin'), join(this.toolbox, 'bin')].join(':'),
      HOME: join(root, 'root'),
      TMPDIR: join(root, 'tmp'),
      LANG: 'C.UTF-8',
      AGENT_INSTALL_ROOT: root,
      AWS_SSM_INSTANCE_ID: instance.id,
      AWS_SSM_REGION_NAME: this.sb.region,
    };
  }

  /** Makes the instance's root as its image boots (once): what Run Command and an SSH session run in. */
  prepare(instance: Instance): string {
    const root = this.root(instance.id);
    for (const d of ['root', 'tmp', 'usr/bin', 'usr/local/bin', 'etc/systemd/system', 'var/log', 'run/sandbox/units']) mkdirSync(join(root, d), { recursive: true });
    layHostImage(this.toolbox, root, imageOf(instance.platform ?? 'al2023'));
    return root;
  }

  /** Runs an invocation of a Run Command now or when a slot frees up (an instant host answers now). */
  run(commandId: string, instanceId: string): void {
    if (this.options.instant) {
      this.active++;
      this.answerAtOnce(commandId, instanceId);
      return;
    }
    this.queue.push(() => this.execute(commandId, instanceId));
    this.pump();
  }

  /**
   * What the bootstrap's agent would use: the node named after the instance (`<pool>-<instance-id>`)
   * and the secret stored for it under its fleet's path, the one place its role may read
   * (`/jenkins-fleet/<fleet>/`, the instance id in the name).
   */
  private agentOf(instance: Instance): { node: string; secret: string } | string {
    const world = this.sb.store.world;
    const node = world.nodes.find((n) => n.name.endsWith(`-${instance.id}`));
    if (!node) return `no Jenkins node is named after ${instance.id}`;
    const fleet = instance.tags.find((t) => t.key === 'jenkins-fleet:fleet')?.value;
    const parameter = fleet ? world.parameters.find((p) => p.name.startsWith(`/jenkins-fleet/${fleet}/`) && p.name.split('/').includes(instance.id)) : undefined;
    if (!parameter) return `no secret for ${instance.id} under /jenkins-fleet/${fleet ?? '(no jenkins-fleet:fleet tag)'}/`;
    return { node: node.name, secret: parameter.value };
  }

  /** Connects an instant host's agent to the Jenkins stand-in's /wsagents/ (the real endpoint, its checks included). */
  private connectAgent(instance: Instance, done: (problem?: string) => void): void {
    const agent = this.agentOf(instance);
    if (typeof agent === 'string') { done(agent); return; }
    this.instantAgents.get(instance.id)?.terminate();
    const ws = new WebSocket(`${this.sb.baseUrl.replace(/^http/, 'ws')}/jenkins/wsagents/`, { headers: { 'Node-Name': agent.node, 'Secret-Key': agent.secret, 'X-Remoting-Capability': 'sandbox-instant-host' } });
    this.instantAgents.set(instance.id, ws);
    ws.once('open', () => done());
    ws.once('unexpected-response', (_req, res) => {
      this.instantAgents.delete(instance.id);
      ws.terminate();
      done(`the agent of ${agent.node} was refused: HTTP ${res.statusCode}`);
    });
    ws.on('error', (err) => {
      if (this.instantAgents.get(instance.id) === ws) this.instantAgents.delete(instance.id);
      if (ws.readyState !== WebSocket.OPEN) done(`the agent of ${agent.node} could not connect: ${err.message}`);
    });
    ws.once('close', () => { if (this.instantAgents.get(instance.id) === ws) this.instantAgents.delete(instance.id); });
  }

  private answerAtOnce(commandId: string, instanceId: string): void {
    const world = this.sb.store.world;
    const record = world.commands.find((c) => c.id === commandId);
    const invocation = record?.invocations.find((i) => i.instanceId === instanceId);
    const instance = world.instances.find((i) => i.id === instanceId);
    if (!record || !invocation || invocation.status !== 'Pending') { this.active--; return; }
    invocation.startedAt = Date.now();
    if (!instance || instance.terminatedAt !== undefined) {
      this.finish(commandId, invocation, 'Failed', 'Undeliverable', -1, '', 'The instance was terminated before the command ran.');
      return;
    }
    let answered = false;
    this.connectAgent(instance, (problem) => {
      if (answered) return;
      answered = true;
      if (problem) this.finish(commandId, invocation, 'Failed', 'Failed', 1, '', `instant host: ${problem}\n`);
      else this.finish(commandId, invocation, 'Success', 'Success', 0, 'instant host: the script was not run; the agent connected\n', '');
    });
  }

  private pump(): void {
    while (this.active < this.options.concurrency && this.queue.length > 0) {
      this.active++;
      this.queue.shift()!();
    }
  }

  private finish(commandId: string, invocation: Invocation, status: Invocation['status'], details: string, code: number, out: string, err: string): void {
    invocation.status = status;
    invocation.details = details;
    invocation.responseCode = code;
    invocation.stdout = out;
    invocation.stderr = err;
    invocation.endedAt = Date.now();
    this.sb.store.save();
    this.active--;
    const record = this.sb.store.world.commands.find((c) => c.id === commandId);
    if (record) dispatchCommand(this.sb, record);
    this.pump();
  }

  private execute(commandId: string, instanceId: string): void {
    const world = this.sb.store.world;
    const record = world.commands.find((c) => c.id === commandId);
    const invocation = record?.invocations.find((i) => i.instanceId === instanceId);
    const instance = world.instances.find((i) => i.id === instanceId);
    // Cancelled while it waited for a slot (its command passed MaxErrors): it never starts.
    if (!record || !invocation || invocation.status !== 'Pending') { this.active--; this.pump(); return; }
    invocation.startedAt = Date.now();
    if (!instance || instance.terminatedAt !== undefined) {
      this.finish(commandId, invocation, 'Failed', 'Undeliverable', -1, '', 'The instance was terminated before the command ran.');
      return;
    }
    invocation.status = 'InProgress';
    invocation.details = 'InProgress';
    this.sb.store.save();
    const root = this.prepare(instance);
    const orchestration = join(root, 'var/lib/amazon/ssm', instanceId, 'document/orchestration', commandId, 'awsrunShellScript/0.awsrunShellScript');
    mkdirSync(orchestration, { recursive: true });
    const script = join(orchestration, '_script.sh');
    writeFileSync(script, `${(record.parameters.commands ?? []).join('\n')}\n`, { mode: 0o700 });
    const workdir = record.parameters.workingDirectory?.[0];
    const cwd = workdir ? (workdir.startsWith(root) ? workdir : join(root, workdir)) : orchestration;
    const child = spawn('/bin/bash', [script], { cwd: existsSync(cwd) ? cwd : orchestration, env: this.env(instance), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const key = `${commandId}/${instanceId}`;
    this.running.set(key, child);
    // Keep what GetCommandInvocation can show (24,000 / 8,000 characters) plus some slack.
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => { if (out.length < 48000) out += chunk.toString('utf8'); });
    child.stderr!.on('data', (chunk: Buffer) => { if (err.length < 16000) err += chunk.toString('utf8'); });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
    }, record.timeoutSeconds * 1000);
    child.on('error', (e) => { err += `\nfailed to run bash: ${e.message}`; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      this.running.delete(key);
      writeFileSync(join(orchestration, 'stdout'), out);
      writeFileSync(join(orchestration, 'stderr'), err);
      if (timedOut) this.finish(commandId, invocation, 'TimedOut', 'ExecutionTimedOut', -1, out, `${err}\nfailed to run commands: the execution timed out (executionTimeout ${record.timeoutSeconds}s)`);
      else if (code === 0) this.finish(commandId, invocation, 'Success', 'Success', 0, out, err);
      else this.finish(commandId, invocation, 'Failed', 'Failed', code ?? (signal ? 128 : 1), out, err);
    });
  }

  private unitPids(instanceId: string): number[] {
    const dir = join(this.root(instanceId), 'run/sandbox/units');
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((f) => f.endsWith('.pid')).map((f) => Number(readFileSync(join(dir, f), 'utf8').trim())).filter((p) => p > 0);
  }

  /** Ends every process of a host: its units and any command still running (an instant host: its agent's connection). */
  stopHost(instanceId: string, forget: boolean): void {
    this.instantAgents.get(instanceId)?.terminate();
    this.instantAgents.delete(instanceId);
    for (const pid of this.unitPids(instanceId)) {
      try { process.kill(-pid, 'SIGTERM'); } catch { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
    }
    for (const [key, child] of this.running) {
      if (key.endsWith(`/${instanceId}`)) { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }
    }
    if (forget) {
      const dir = join(this.root(instanceId), 'run/sandbox/units');
      if (existsSync(dir)) for (const f of readdirSync(dir)) if (f.endsWith('.pid') || f.endsWith('.active')) rmSync(join(dir, f), { force: true });
    }
  }

  /** Stopping the sandbox: end all host processes but remember which units were active. */
  stopAll(): void {
    for (const instance of this.sb.store.world.instances) this.stopHost(instance.id, false);
  }

  /** Starting the sandbox again: hosts that kept running get their active units back. */
  resume(): void {
    const world = this.sb.store.world;
    for (const record of world.commands) {
      for (const i of record.invocations) {
        if (i.status === 'Pending' || i.status === 'InProgress') {
          i.status = 'Failed';
          i.details = 'Failed';
          i.stderr += '\nThe sandbox stopped while the command ran.';
          i.endedAt = Date.now();
        }
      }
    }
    for (const instance of world.instances) {
      if (instance.terminatedAt !== undefined) continue;
      // An instant host whose bootstrap succeeded comes back with its agent, as a real one's unit does.
      if (this.options.instant) {
        if (world.commands.some((c) => c.invocations.some((i) => i.instanceId === instance.id && i.status === 'Success'))) this.connectAgent(instance, () => undefined);
        continue;
      }
      const dir = join(this.root(instance.id), 'run/sandbox/units');
      if (!existsSync(dir)) continue;
      const units = readdirSync(dir).filter((f) => f.endsWith('.active')).map((f) => f.slice(0, -'.active'.length));
      for (const unit of units) {
        rmSync(join(dir, `${unit}.pid`), { force: true });
        const child = spawn(join(this.toolbox, 'bin', 'systemctl'), ['start', unit], { env: this.env(instance), stdio: 'ignore' });
        child.on('error', () => undefined);
      }
    }
    this.sb.store.save();
  }
}
