// End-to-end harness: a `provisioner sandbox` process on a free port with its own state directory,
// a fleet file derived from examples/fleet.yaml, and `provisioner` runs pointed at the sandbox
// only through the environment (JENKINS_*, AWS_REGION, AWS_ENDPOINT_URL_*, dummy keys).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/provisioner.mjs');

/** Agent counts the issue states; CI may scale them down with E2E_SCALE (e.g. 0.5). */
export function scaled(n: number): number {
  const factor = Number(process.env.E2E_SCALE ?? 1);
  return Math.max(2, Math.round(n * (Number.isFinite(factor) && factor > 0 ? factor : 1)));
}

export interface SandboxState {
  instances: { id: string; state: string; subnetId: string; tags: Record<string, string>; volumeTags: Record<string, string>; userData?: string; root: string; metadataOptions: { httpTokens: string } }[];
  nodes: { name: string; description: string; online: boolean; connected: boolean; temporarilyOffline: boolean; busy: boolean }[];
  parameters: { name: string; type: string }[];
  commands: { id: string; parameters: Record<string, string[]>; invocations: { instanceId: string; status: string; stdout: string; stderr: string }[] }[];
}

export interface RequestLogEntry {
  t: string;
  service: string;
  action: string;
  status: number;
  mutating: boolean;
  error?: string;
  subject?: string;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A build of the sandbox's Jenkins, as `provisioner sandbox builds --json` prints it. */
export interface SandboxBuild {
  id: number;
  label: string | null;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  node: string | null;
  result: 'SUCCESS' | 'ABORTED' | null;
  /** `node-removed` when the node it ran on was deleted or its agent killed. */
  abortedBy?: string;
}

export class Sandbox {
  readonly dir: string;
  env: Record<string, string> = {};
  url = '';
  private child?: ChildProcess;
  private stopping = false;

  /**
   * `iam: false` runs the sandbox without `--fleet`: its key is then the account's administrator,
   * for a test that launches with settings the example fleet's provisioner-iam does not allow (another
   * security group or instance profile). Every other end-to-end run evaluates IAM.
   */
  constructor(private readonly flags: string[] = [], private readonly extraEnv: Record<string, string> = {}, private readonly options: { iam?: boolean } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'e2e-'));
  }

  async start(): Promise<this> {
    this.stopping = false;
    // IAM is evaluated in every end-to-end run: the provisioner's calls against provisioner-iam as
    // terraform/jenkins would apply it for the example fleet (unless a test gives its own --fleet).
    const iam = this.flags.includes('--fleet') || this.options.iam === false ? [] : ['--fleet', join(root, 'examples/fleet.yaml')];
    const child = spawn(process.execPath, [bin, 'sandbox', '--state', join(this.dir, 'state'), '--agent-retry', '1s', ...iam, ...this.flags], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.dir, ...this.extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => { stderr += c; });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (c: Buffer) => {
        stdout += c;
        if (stdout.includes('AWS_SECRET_ACCESS_KEY')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}: ${stderr}`)));
    });
    // A sandbox that dies under a test says why (the test then fails on refused connections).
    child.once('exit', (code, signal) => {
      if (!this.stopping) process.stderr.write(`e2e harness: the sandbox exited unexpectedly (${code ?? signal}):\n${stderr.slice(-4000)}\n`);
    });
    this.env = Object.fromEntries([...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.replace(/^'|'$/g, '')]));
    this.url = this.env.JENKINS_URL!.replace(/\/jenkins\/$/, '');
    // Every end-to-end run goes through the least-privilege service account (exactly the six
    // permissions casc.yaml grants), never the sandbox's administrator.
    if (this.env.JENKINS_USER !== 'provisioner') throw new Error(`the sandbox exported JENKINS_USER=${this.env.JENKINS_USER}, not the service account 'provisioner'`);
    return this;
  }

  /** Stops the sandbox process and starts it again on the same state directory (and port). */
  async restart(): Promise<void> {
    await this.stop(true);
    await this.start();
  }

  async stop(keep = Boolean(process.env.E2E_KEEP)): Promise<void> {
    const child = this.child;
    this.stopping = true;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Writes a fleet file: examples/fleet.yaml with the given pools' counts (and any other changes). */
  fleet(change: (fleet: Record<string, any>) => void = () => undefined, name = 'fleet.yaml'): string {
    const fleet = parse(readFileSync(join(root, 'examples/fleet.yaml'), 'utf8')) as Record<string, any>;
    change(fleet);
    const path = join(this.dir, name);
    writeFileSync(path, stringify(fleet));
    return path;
  }

  /** Runs the CLI with the sandbox's variables and nothing else from this process' environment. */
  provisioner(config: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> & { child: ChildProcess } {
    const child = spawn(process.execPath, [bin, '--config', config, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.dir, ...this.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => { stdout += c; });
    child.stderr!.on('data', (c: Buffer) => { stderr += c; });
    const done = new Promise<Run>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr }))) as Promise<Run> & { child: ChildProcess };
    done.child = child;
    return done;
  }

  /**
   * Runs `up` and kills it (SIGKILL) as soon as it reports its first launch, `times` times over: a
   * crash between EC2's answer and anything `up` would do next (register, tag, bootstrap). Resolves
   * to what each killed run printed.
   */
  async upKilledAtLaunch(config: string, args: string[], times = 1): Promise<Run[]> {
    const runs: Run[] = [];
    for (let n = 0; n < times; n++) {
      const run = this.provisioner(config, ['up', '--yes', ...args]);
      let out = '';
      run.child.stdout!.on('data', (c: Buffer) => {
        out += c;
        if (/: launched i-/.test(out)) run.child.kill('SIGKILL');
      });
      runs.push(await run);
    }
    return runs;
  }

  async state(): Promise<SandboxState> {
    return (await (await fetch(`${this.url}/_sandbox/state`)).json()) as SandboxState;
  }

  async mark(node: string, state: 'busy' | 'idle'): Promise<void> {
    const r = await fetch(`${this.url}/_sandbox/agents/${encodeURIComponent(node)}/${state}`, { method: 'POST' });
    if (!r.ok) throw new Error(`marking ${node} ${state}: ${await r.text()}`);
  }

  /** Queues builds for a label, as `provisioner sandbox build` does. */
  async queueBuilds(label: string, count: number, duration: string): Promise<SandboxBuild[]> {
    const r = await fetch(`${this.url}/_sandbox/builds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label, count, duration }) });
    if (!r.ok) throw new Error(`queueing builds: ${await r.text()}`);
    return ((await r.json()) as { builds: SandboxBuild[] }).builds;
  }

  /** Every build the sandbox's Jenkins has queued, run or finished. */
  async builds(): Promise<SandboxBuild[]> {
    return (await (await fetch(`${this.url}/_sandbox/builds`)).json()) as SandboxBuild[];
  }

  /** AWS publishes a new AMI under a public alias: the parameter resolves to another AMI from now on. */
  async releaseImage(parameter: string): Promise<string> {
    const r = await fetch(`${this.url}/_sandbox/images/release`, { method: 'POST', body: JSON.stringify({ parameter }) });
    if (!r.ok) throw new Error(`images/release: ${await r.text()}`);
    return ((await r.json()) as { imageId: string }).imageId;
  }

  async faults(patch: unknown): Promise<void> {
    const r = await fetch(`${this.url}/_sandbox/faults`, { method: 'POST', body: JSON.stringify(patch) });
    if (!r.ok) throw new Error(`faults: ${await r.text()}`);
  }

  /** The request log from line `from` on. */
  requests(from = 0): RequestLogEntry[] {
    const file = join(this.dir, 'state', 'requests.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(from).map((l) => JSON.parse(l) as RequestLogEntry);
  }

  jenkinsAuth(): Record<string, string> {
    return { authorization: `Basic ${Buffer.from(`${this.env.JENKINS_USER}:${this.env.JENKINS_API_TOKEN}`).toString('base64')}` };
  }
}

/** The managed instances that are alive (pending or running), by pool. */
export function alive(state: SandboxState, pool?: string): SandboxState['instances'] {
  return state.instances.filter((i) => (i.state === 'pending' || i.state === 'running') && i.tags['jenkins-fleet:fleet'] === 'bank-ci' && (!pool || i.tags['jenkins-fleet:pool'] === pool));
}

export function counts(fleet: Record<string, any>, wanted: Record<string, number>): void {
  for (const pool of fleet.pools as { name: string; count: number }[]) if (pool.name in wanted) pool.count = wanted[pool.name]!;
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Expect the fleet in the sandbox to be exactly `wanted` agents per pool, each online, no orphans. */
export function converged(state: SandboxState, wanted: Record<string, number>): string[] {
  const problems: string[] = [];
  const managed = state.nodes.filter((n) => n.description.startsWith('Managed by jenkins-fleet (fleet bank-ci'));
  for (const [pool, n] of Object.entries(wanted)) {
    const instances = alive(state, pool);
    if (instances.length !== n) problems.push(`${pool}: ${instances.length} live instances, wanted ${n}`);
    for (const i of instances) {
      const node = managed.find((m) => m.name === `${pool}-${i.id}`);
      if (!node) problems.push(`${pool}: instance ${i.id} has no node`);
      else if (!node.online) problems.push(`${pool}: node ${node.name} is not online`);
    }
  }
  const live = new Set(alive(state).map((i) => `${i.tags['jenkins-fleet:pool']}-${i.id}`));
  for (const node of managed) if (!live.has(node.name)) problems.push(`orphan node ${node.name}`);
  const strays = alive(state).filter((i) => !(i.tags['jenkins-fleet:pool']! in wanted) || (wanted[i.tags['jenkins-fleet:pool']!] ?? 0) === 0);
  for (const i of strays) problems.push(`orphan instance ${i.id} (pool ${i.tags['jenkins-fleet:pool']})`);
  const names = managed.map((n) => n.name);
  if (new Set(names).size !== names.length) problems.push('duplicate node names');
  return problems;
}
