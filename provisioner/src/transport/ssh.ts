// The SSH transport: reaches an agent's host over SSH (node-ssh on ssh2), for EC2 pools with
// `transport: ssh` and for static pools (`hosts`). It owns connecting (with backoff until sshd
// answers, bounded by the caller's deadline), host-key verification (ssh-host-keys.ts), putting
// the agent's secret into a 0600 file over SFTP, running the pool's bootstrap script with
// `bash -s` while streaming its output, and cleaning a host when its agent is removed.
// The secret travels only inside the SFTP channel: never in a command line, the environment or
// a log line.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { NodeSSH } from 'node-ssh';
import type * as Ssh2 from 'ssh2';
import { RemoteError, UserError } from '../errors.ts';
import { agentName, staticHostId, type Instance, type Pool } from '../model.ts';
import { defaultKnownHostsFile, expandPath, HostKeyError, hostCheck, hostKeysFromConsole, readKnownHostsFile, type ConsoleHostKeys, type HostKeyPolicyConfig } from './ssh-host-keys.ts';
import type { AgentTarget, BootstrapOptions, BootstrapResult, Transport } from './transport.ts';

// node-ssh and ssh2 load when an SSH pool needs them, with require() (CommonJS: no scan of their
// exports; outside the CLI's bundle, since ssh2 loads native add-ons beside itself): a fleet without
// SSH pools does not pay ~0.06 s for them at each command's start-up.
const require = createRequire(import.meta.url);
const ssh2 = (): typeof Ssh2 => require('ssh2') as typeof Ssh2;
const nodeSsh = (): typeof import('node-ssh') => require('node-ssh') as typeof import('node-ssh');

export interface SshTransportOptions {
  /** At most this many hosts are worked on at once (`--concurrency`). */
  concurrency?: number;
  /** Where relative `sshKeyFile` / `knownHostsFile` paths start: the fleet file's directory. */
  baseDir?: string;
  /** Where `sshKeyEnv` variables and HOME are read. */
  env?: NodeJS.ProcessEnv;
  /** How long `forget` tries to reach a host. */
  forgetTimeoutMs?: number;
  /** How long one run of the bootstrap script may take once it started. */
  commandTimeoutMs?: number;
  /** Longest wait between two connection attempts. */
  maxBackoffMs?: number;
  /**
   * An EC2 instance's console output (GetConsoleOutput, decoded), for `accept-new`: a first key is
   * trusted only if it is among the host keys cloud-init printed there. Without it, or while the
   * console shows no keys yet, accept-new trusts the first key it sees.
   */
  consoleOutput?: (instanceId: string, region: string) => Promise<string | undefined>;
}

export const defaultSshConcurrency = 10;

/** How many lines of a script's output are kept for the result (the tail is what explains a failure). */
const tailLines = 30;

/**
 * The agents of a static pool, one per host, named as the executor names them
 * (`<pool>-h-<address>[-<port>]`, model.ts); for tests and tools that drive the transport alone.
 */
export function staticHostTargets(pool: Pool): AgentTarget[] {
  return (pool.hosts ?? []).map((host) => ({
    name: agentName(pool.name, staticHostId(host.address, host.port)),
    pool,
    address: host.address,
    ...(host.port !== undefined ? { port: host.port } : {}),
    ...(host.user !== undefined ? { user: host.user } : {}),
  }));
}

/** The address of an EC2 instance to connect to, by the pool's `sshAddress` (private by default). */
export function sshAddressOf(pool: Pool, instance: Instance): string | undefined {
  return pool.sshAddress === 'public' ? instance.publicIp : instance.privateIp;
}

/** Single quotes for the remote shell: the values are ours, but a quote must not end the word. */
function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Splits a stream of chunks into lines, for progress lines with the agent's name. */
class LineSplitter {
  private rest = '';
  readonly tail: string[] = [];

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const lines = (this.rest + chunk.toString()).split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  end(): void {
    if (this.rest) this.line(this.rest);
    this.rest = '';
  }

  private line(line: string): void {
    const clean = line.replace(/\r$/, '');
    this.tail.push(clean);
    if (this.tail.length > tailLines) this.tail.shift();
    this.onLine(clean);
  }
}

/** Where and as whom to connect, and what to trust: resolved from a target and its pool. */
interface Endpoint {
  host: string;
  port: number;
  user: string;
  privateKey: string;
  policy: HostKeyPolicyConfig;
  /** `host:port`, for messages. */
  where: string;
  /** The EC2 instance behind the address, if any (its console may list its host keys). */
  instanceId?: string;
  region: string;
}

// Removes what a bootstrap put on a host: the agent service, its unit, the secret and agent.jar.
// The agent user and its work directory stay: they may hold build caches someone wants.
const cleanScript = `set -eu
ROOT="\${AGENT_INSTALL_ROOT:-}"
unit="$ROOT/etc/systemd/system/jenkins-agent.service"
if [ -e "$unit" ]; then
  systemctl stop jenkins-agent.service
  systemctl disable jenkins-agent.service
fi
rm -f "$unit" "$ROOT/etc/jenkins-agent/secret" "$ROOT/etc/jenkins-agent/secret.new" \\
  "$ROOT/opt/jenkins-agent/agent.jar" "$ROOT/opt/jenkins-agent/agent.jar.new"
rmdir "$ROOT/etc/jenkins-agent" "$ROOT/opt/jenkins-agent" 2>/dev/null || true
systemctl daemon-reload
echo "cleaned: agent service, unit and secret removed"
`;

// The login user's private directory for uploaded secrets (under the install root in the sandbox).
// A copy left by a run that was killed mid-bootstrap is removed once it is an hour old.
const uploadDirCommand = `umask 077; d="\${AGENT_INSTALL_ROOT:-$HOME}/.jenkins-fleet"; mkdir -p "$d" && chmod 700 "$d" && cd "$d" && { find . -maxdepth 1 -name 'secret-*' -mmin +60 -delete 2>/dev/null || true; } && pwd -P`;

export class SshTransport implements Transport {
  private readonly secrets = new Map<string, string>();
  private readonly concurrency: number;
  private readonly baseDir: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly forgetTimeoutMs: number;
  private readonly commandTimeoutMs: number;
  private readonly maxBackoffMs: number;
  private readonly consoleOutput: SshTransportOptions['consoleOutput'];
  private readonly consoleKeys = new Map<string, ConsoleHostKeys>();
  /** Each pool's private key, read once. */
  private readonly keys = new Map<string, Promise<string>>();
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(options: SshTransportOptions = {}) {
    this.concurrency = Math.max(1, options.concurrency ?? defaultSshConcurrency);
    this.baseDir = options.baseDir ?? process.cwd();
    this.env = options.env ?? process.env;
    this.forgetTimeoutMs = options.forgetTimeoutMs ?? 60_000;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 20 * 60_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.consoleOutput = options.consoleOutput;
  }

  /** Kept in memory until the bootstrap connects; it leaves this process only inside SFTP. */
  async storeSecret(target: AgentTarget, secret: string): Promise<void> {
    if (!secret) throw new Error(`storing the secret of ${target.name}: the secret is empty`);
    this.secrets.set(target.name, secret);
  }

  async bootstrap(targets: AgentTarget[], script: string, options: BootstrapOptions): Promise<BootstrapResult[]> {
    return Promise.all(
      targets.map(async (target) => {
        const result = await this.limited(() => this.bootstrapOne(target, script, options));
        options.onResult?.(result);
        return result;
      }),
    );
  }

  /**
   * Static hosts: stops and disables the agent service and removes its unit, secret and agent.jar.
   * EC2 instances are terminated instead, so only the secret held in memory is dropped. A host that
   * does not answer is retried until `deadline` (or the forget timeout, if sooner), never longer.
   */
  async forget(target: AgentTarget, deadline: number): Promise<void> {
    this.secrets.delete(target.name);
    if (target.instanceId !== undefined) return;
    const until = Math.min(deadline, Date.now() + this.forgetTimeoutMs);
    await this.limited(async () => {
      const endpoint = await this.endpoint(target);
      const ssh = await this.connect(endpoint, until, () => {});
      let channel: Ssh2.ClientChannel | undefined;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        channel?.close();
        ssh.dispose();
      }, Math.max(0, until - Date.now()));
      try {
        const sudo = endpoint.user === 'root' ? '' : 'sudo -n ';
        const result = await ssh
          .execCommand(`rm -rf "\${AGENT_INSTALL_ROOT:-$HOME}/.jenkins-fleet"; ${sudo}bash -s`, { stdin: cleanScript, onChannel: (c) => (channel = c) })
          .catch((err: unknown) => {
            if (timedOut) return undefined;
            throw err;
          });
        if (timedOut || !result) throw new RemoteError(`removing agent ${target.name}`, `host ${endpoint.where}`, 'did not finish the clean-up before the deadline');
        if (result.code !== 0) {
          throw new RemoteError(`removing agent ${target.name}`, `host ${endpoint.where}`, `cleanup exited with ${result.code ?? result.signal}: ${lastLines(result.stderr || result.stdout)}`);
        }
      } finally {
        clearTimeout(timer);
        ssh.dispose();
      }
    });
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    while (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private async bootstrapOne(target: AgentTarget, script: string, options: BootstrapOptions): Promise<BootstrapResult> {
    const { name } = target;
    const progress = (message: string) => options.onProgress?.(name, message);
    let endpoint: Endpoint | undefined;
    try {
      const secret = this.secrets.get(name);
      if (!secret) throw new Error(`no secret was stored for ${name} before its bootstrap`);
      endpoint = await this.endpoint(target);
      const ssh = await this.connect(endpoint, options.deadline, progress);
      try {
        progress(`connected to ${endpoint.where} as ${endpoint.user}`);
        const secretFile = await this.uploadSecret(ssh, secret);
        try {
          return await this.run(ssh, endpoint, name, secretFile, script, progress);
        } finally {
          // The bootstrap moves the file away; after a failure it may still be there.
          await removeQuietly(ssh, secretFile);
        }
      } finally {
        ssh.dispose();
      }
    } catch (err) {
      const where = endpoint?.where ?? (target.address ? `${target.address}:${target.port ?? target.pool.port ?? 22}` : undefined);
      const message = err instanceof Error ? err.message : String(err);
      return { name, ok: false, error: where && !message.includes(where) ? `${message} (${where})` : message };
    }
  }

  private async endpoint(target: AgentTarget): Promise<Endpoint> {
    const pool = target.pool;
    if (pool.transport !== 'ssh') throw new Error(`pool ${pool.name} uses transport ${pool.transport}, not ssh`);
    const host = target.address;
    if (!host) {
      if (target.instanceId === undefined) {
        throw new Error(`no address for ${target.name}: its host is no longer in the pool's hosts, so the agent service there was not stopped (stop and disable jenkins-agent on it by hand)`);
      }
      throw new Error(`no address for ${target.name} (an instance without a ${pool.sshAddress ?? 'private'} IP?)`);
    }
    const port = target.port ?? pool.port ?? 22;
    const user = target.user ?? pool.sshUser;
    if (!user) throw new UserError(`pools[${pool.name}].sshUser: no SSH user for ${target.name}`);
    const policy: HostKeyPolicyConfig = {
      hostKeyPolicy: pool.hostKeyPolicy ?? 'known-hosts',
      ...(pool.hostKeyFingerprints ? { hostKeyFingerprints: pool.hostKeyFingerprints } : {}),
    };
    if (pool.knownHostsFile) policy.knownHostsFile = expandPath(pool.knownHostsFile, this.baseDir, this.env);
    else if (policy.hostKeyPolicy === 'accept-new') policy.knownHostsFile = defaultKnownHostsFile(this.env);
    return {
      host,
      port,
      user,
      privateKey: await this.privateKey(pool),
      policy,
      where: `${host}:${port}`,
      ...(target.instanceId ? { instanceId: target.instanceId } : {}),
      region: pool.region,
    };
  }

  private privateKey(pool: Pool): Promise<string> {
    let key = this.keys.get(pool.name);
    if (!key) {
      key = readPrivateKey(pool, this.baseDir, this.env);
      // A failed read is not kept: the next agent asks again (the file may have been fixed meanwhile).
      key.catch(() => this.keys.delete(pool.name));
      this.keys.set(pool.name, key);
    }
    return key;
  }

  /** Connects, retrying while the host does not answer; host-key and login refusals end at once. */
  private async connect(endpoint: Endpoint, deadline: number, progress: (message: string) => void): Promise<NodeSSH> {
    let delay = 250;
    let attempt = 0;
    let lastReported = 0;
    for (;;) {
      attempt++;
      const check = await hostCheck(endpoint.policy, endpoint.host, endpoint.port, await this.printedHostKeys(endpoint, progress));
      const ssh = new (nodeSsh().NodeSSH)();
      const remaining = deadline - Date.now();
      try {
        await ssh.connect({
          host: endpoint.host,
          port: endpoint.port,
          username: endpoint.user,
          privateKey: endpoint.privateKey,
          hostVerifier: (key: Buffer) => check.verify(key),
          ...(check.serverHostKey ? { algorithms: { serverHostKey: check.serverHostKey as Ssh2.ServerHostKeyAlgorithm[] } } : {}),
          readyTimeout: Math.max(2_000, Math.min(20_000, remaining)),
          keepaliveInterval: 15_000,
        });
        await check.confirm();
        return ssh;
      } catch (err) {
        ssh.dispose();
        if (check.refusal) throw new HostKeyError(check.refusal);
        if (err instanceof HostKeyError) throw err;
        const level = (err as { level?: string }).level;
        const reason = describeConnectError(err);
        if (level === 'client-authentication') {
          throw new RemoteError(`logging in to ${endpoint.where}`, `sshd at ${endpoint.where}`, `refused the key for user ${endpoint.user} (${reason})`);
        }
        if (check.serverHostKey && /no matching host key format/.test(reason)) {
          // The known hosts file lists keys of types this host no longer offers: a changed host key.
          throw new HostKeyError(
            `HOST KEY CHANGED for ${endpoint.where}: ${endpoint.policy.knownHostsFile} lists only ${check.serverHostKey.join('/')} keys for it and the host offers none of them; if the host was rebuilt, remove its lines from that file`,
          );
        }
        if (level === 'handshake' || level === 'protocol') {
          // The server answered and the two sides disagree: trying again gives the same answer.
          throw new RemoteError(`connecting to ${endpoint.where}`, `sshd at ${endpoint.where}`, `failed the SSH handshake (${reason})`);
        }
        if (Date.now() + delay >= deadline) {
          throw new RemoteError(`connecting to ${endpoint.where}`, `sshd at ${endpoint.where}`, `did not answer within the deadline after ${attempt} attempt(s) (last: ${reason})`);
        }
        if (Date.now() - lastReported > 10_000) {
          progress(`waiting for sshd at ${endpoint.where} (${reason})`);
          lastReported = Date.now();
        }
        await sleep(delay);
        delay = Math.min(delay * 2, this.maxBackoffMs);
      }
    }
  }

  /** The host keys an instance printed to its console, once it printed some (accept-new only). */
  private async printedHostKeys(endpoint: Endpoint, progress: (message: string) => void): Promise<ConsoleHostKeys | undefined> {
    const { instanceId } = endpoint;
    if (!instanceId || !this.consoleOutput || endpoint.policy.hostKeyPolicy !== 'accept-new') return undefined;
    const cached = this.consoleKeys.get(instanceId);
    if (cached) return cached;
    let output: string | undefined;
    try {
      output = await this.consoleOutput(instanceId, endpoint.region);
    } catch (err) {
      progress(`cannot read the console output of ${instanceId} (${err instanceof Error ? err.message : String(err)}); accept-new trusts the first host key`);
      return undefined;
    }
    const keys = hostKeysFromConsole(output ?? '', `the console output of ${instanceId}`);
    if (keys.keys.length === 0 && keys.fingerprints.length === 0) return undefined;
    this.consoleKeys.set(instanceId, keys);
    return keys;
  }

  /** Creates a fresh file with mode 0600 (exclusively: never over an existing one) and writes the secret. */
  private async uploadSecret(ssh: NodeSSH, secret: string): Promise<string> {
    const dir = await ssh.execCommand(uploadDirCommand);
    if (dir.code !== 0 || !dir.stdout.startsWith('/')) {
      throw new Error(`cannot prepare a private directory for the secret: ${lastLines(dir.stderr || dir.stdout)}`);
    }
    const path = `${dir.stdout.trim()}/secret-${randomBytes(8).toString('hex')}`;
    const sftp = await ssh.requestSFTP();
    try {
      await new Promise<void>((resolve, reject) => {
        sftp.open(path, 'wx', { mode: 0o600 }, (err, handle) => {
          if (err) return reject(new Error(`creating ${path} over SFTP: ${err.message}`));
          const data = Buffer.from(secret, 'utf8');
          sftp.write(handle, data, 0, data.length, 0, (writeErr) => {
            sftp.close(handle, (closeErr) => {
              const failed = writeErr ?? closeErr;
              if (failed) reject(new Error(`writing ${path} over SFTP: ${failed.message}`));
              else resolve();
            });
          });
        });
      });
    } finally {
      sftp.end();
    }
    return path;
  }

  private async run(
    ssh: NodeSSH,
    endpoint: Endpoint,
    name: string,
    secretFile: string,
    script: string,
    progress: (message: string) => void,
  ): Promise<BootstrapResult> {
    const stdout = new LineSplitter(progress);
    const stderr = new LineSplitter(progress);
    // Values go through `env` so that the script sees them whatever the login shell is; neither is secret.
    const sudo = endpoint.user === 'root' ? '' : 'sudo -n ';
    const command = `${sudo}env AGENT_NAME=${quote(name)} AGENT_SECRET_FILE=${quote(secretFile)} bash -s`;
    let channel: Ssh2.ClientChannel | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      channel?.close();
    }, this.commandTimeoutMs);
    try {
      const result = await ssh.execCommand(command, {
        stdin: script,
        onChannel: (c) => (channel = c),
        onStdout: (chunk) => stdout.push(chunk),
        onStderr: (chunk) => stderr.push(chunk),
      });
      stdout.end();
      stderr.end();
      const output = stdout.tail.join('\n');
      if (timedOut) return { name, ok: false, error: `bootstrap on ${endpoint.where} did not finish within ${Math.round(this.commandTimeoutMs / 1000)} s`, output };
      if (result.code === 0) return { name, ok: true, output };
      const said = stderr.tail.slice(-10).join('\n') || stdout.tail.slice(-10).join('\n');
      return { name, ok: false, error: `bootstrap on ${endpoint.where} exited with ${result.code ?? `signal ${result.signal}`}: ${said}`, output };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A pool's SSH private key, from sshKeyEnv or sshKeyFile; a UserError naming the source otherwise. */
async function readPrivateKey(pool: Pool, baseDir: string, env: NodeJS.ProcessEnv): Promise<string> {
  let key: string;
  let from: string;
  if (pool.sshKeyEnv) {
    from = `the environment variable ${pool.sshKeyEnv} (sshKeyEnv of pool ${pool.name})`;
    key = env[pool.sshKeyEnv] ?? '';
    if (!key.trim()) throw new UserError(`${from} is not set or empty; it must hold the SSH private key`);
  } else if (pool.sshKeyFile) {
    const path = expandPath(pool.sshKeyFile, baseDir, env);
    from = `sshKeyFile ${path} (pool ${pool.name})`;
    try {
      key = await readFile(path, 'utf8');
    } catch (err) {
      throw new UserError(`cannot read ${from}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else {
    throw new UserError(`pool ${pool.name}: no sshKeyFile or sshKeyEnv`);
  }
  const parsed = ssh2().utils.parseKey(key);
  if (parsed instanceof Error) throw new UserError(`${from} does not hold a usable private key (${parsed.message}; passphrase-protected keys are not supported)`);
  return key;
}

/**
 * Everything the SSH pools need from this machine, checked before anything is contacted: each
 * pool's private key readable and usable, a user for every host, and the known hosts file of a
 * known-hosts pool readable (an accept-new pool's may be missing: it is made at the first host).
 * Every problem of every pool is reported at once, so that no node is registered in Jenkins
 * before a mistake in the file or the environment is told.
 */
export async function sshPreflight(pools: readonly Pool[], options: { baseDir: string; env: NodeJS.ProcessEnv }): Promise<void> {
  const problems: string[] = [];
  for (const pool of pools) {
    if (pool.transport !== 'ssh') continue;
    try {
      await readPrivateKey(pool, options.baseDir, options.env);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      problems.push(...err.problems);
    }
    const hosts = pool.hosts ?? [{ user: undefined }];
    if (!pool.sshUser && hosts.some((host) => !host.user)) problems.push(`pool ${pool.name}: sshUser: no SSH user to log in as`);
    const policy = pool.hostKeyPolicy ?? 'known-hosts';
    if (policy === 'pinned') continue;
    const file = pool.knownHostsFile ? expandPath(pool.knownHostsFile, options.baseDir, options.env) : policy === 'accept-new' ? defaultKnownHostsFile(options.env) : undefined;
    if (!file) {
      problems.push(`pool ${pool.name}: knownHostsFile: hostKeyPolicy ${policy} needs a known hosts file`);
      continue;
    }
    try {
      await readKnownHostsFile(file, policy === 'accept-new');
    } catch (err) {
      if (!(err instanceof HostKeyError)) throw err;
      problems.push(`pool ${pool.name}: knownHostsFile: ${err.message}`);
    }
  }
  if (problems.length > 0) throw new UserError(problems);
}

async function removeQuietly(ssh: NodeSSH, path: string): Promise<void> {
  try {
    await ssh.execCommand(`rm -f ${quote(path)}`);
  } catch {
    // The connection is gone; the file sits in the login user's 0700 directory and `forget` removes it.
  }
}

function lastLines(text: string, count = 5): string {
  return text.trim().split('\n').slice(-count).join('\n') || '(no output)';
}

function describeConnectError(err: unknown): string {
  const e = err as { code?: string; message?: string; level?: string };
  if (e.code && e.message && !e.message.includes(e.code)) return `${e.code}: ${e.message}`;
  return e.message ?? String(err);
}
