// The sandbox's SSH hosts (`provisioner sandbox --ssh-hosts N`): N real sshd processes on
// loopback ports, each a host with its own root directory (the bootstrap's install root) and the
// environment of the sandbox's hosts (PATH of stand-ins, AGENT_INSTALL_ROOT) set through sshd's
// SetEnv, so a static pool's bootstrap runs for real over SSH without touching this machine.
// Keys, ports and roots live under DIR/ssh-hosts/ and survive a restart of the sandbox; the
// pool settings to paste into fleet.yaml are written to DIR/ssh-hosts.yaml.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/errors.ts';
import { layHostImage } from './hosts.ts';
import { imageOf } from './images.ts';
import { fingerprint, knownHostsName } from '../../src/transport/ssh-host-keys.ts';

export const sshdPath = '/usr/sbin/sshd';

/**
 * A session's environment on an SSH host, the same as a Run Command gets on the sandbox's
 * instances (hosts.ts): the stand-ins of the sandbox's toolbox on PATH, the host's root as install root.
 */
export function sandboxHostEnv(toolbox: string, root: string): Record<string, string> {
  return {
    PATH: [join(root, 'usr/local/bin'), join(root, 'usr/bin'), join(toolbox, 'bin')].join(':'),
    HOME: join(root, 'root'),
    TMPDIR: join(root, 'tmp'),
    LANG: 'C.UTF-8',
    AGENT_INSTALL_ROOT: root,
  };
}

/** `provisioner sandbox --ssh-hosts N`: undefined for 0, else the running hosts, with a line on stderr. */
export async function startSandboxSshHosts(flag: string, stateDir: string, toolbox: string): Promise<SshHosts | undefined> {
  const count = Number(flag);
  if (!/^\d+$/.test(flag) || count > 50) throw new UserError(`--ssh-hosts: expected a number of SSH hosts from 0 to 50, found ${JSON.stringify(flag)}`);
  if (count === 0) return undefined;
  const hosts = await startSshHosts({ dir: stateDir, count, env: (root) => sandboxHostEnv(toolbox, root) });
  // Static hosts are Amazon Linux 2023 machines, as the EC2 pools' default image.
  for (const host of hosts.hosts) layHostImage(toolbox, host.root, imageOf('al2023'));
  // A restarted sandbox: the agents that ran on these hosts run again, as on the SSM instances.
  for (const host of hosts.hosts) {
    const units = join(host.root, 'run/sandbox/units');
    if (!existsSync(units)) continue;
    for (const unit of readdirSync(units).filter((f) => f.endsWith('.active')).map((f) => f.slice(0, -'.active'.length))) {
      rmSync(join(units, `${unit}.pid`), { force: true });
      spawn(join(toolbox, 'bin', 'systemctl'), ['start', unit], { env: sandboxHostEnv(toolbox, host.root), stdio: 'ignore' }).on('error', () => undefined);
    }
  }
  process.stderr.write(
    `sandbox: ${count} SSH host(s) on ${hosts.hosts.map((h) => `${h.address}:${h.port}`).join(', ')}; the static pool settings for them are in ${hosts.poolFile}\n`,
  );
  return hosts;
}

export interface SshHostsOptions {
  /** The sandbox's state directory. */
  dir: string;
  count: number;
  /** The environment of a session on the host whose install root is `root`. */
  env: (root: string) => Record<string, string>;
  /** First port to try; by default the system picks free ones (kept across restarts). */
  basePort?: number;
}

export interface SshHost {
  index: number;
  address: string;
  port: number;
  /** The host's install root (AGENT_INSTALL_ROOT of its sessions). */
  root: string;
  /** `SHA256:...` of its ed25519 host key. */
  fingerprint: string;
  hostKeyFile: string;
}

export interface SshHosts {
  hosts: SshHost[];
  user: string;
  /** The private key that logs in to every host. */
  keyFile: string;
  /** known_hosts listing every host's key, for `hostKeyPolicy: known-hosts`. */
  knownHostsFile: string;
  /** DIR/ssh-hosts.yaml */
  poolFile: string;
  /** Stops sshd and the agent services the hosts started. */
  stop(): Promise<void>;
  /** Stops one host's sshd (an unreachable host). */
  stopHost(index: number): Promise<void>;
  /** Starts one host's sshd again (after `stopHost` or a new host key). */
  startHost(index: number): Promise<void>;
  /** Gives a host a new host key (a rebuilt or impersonated host) and restarts its sshd; known_hosts keeps the old one. */
  rekeyHost(index: number): Promise<void>;
}

/** Says what to install when sshd is missing: the SSH hosts cannot be faked. */
export function requireSshd(): void {
  if (!existsSync(sshdPath)) {
    throw new Error(`sshd not found at ${sshdPath}: the sandbox's SSH hosts need OpenSSH's server (apt-get install openssh-server)`);
  }
}

export function keygen(path: string, comment: string): void {
  const result = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new Error(`ssh-keygen could not make ${path}: ${result.error?.message ?? result.stderr.trim()} (apt-get install openssh-client)`);
  }
}

export function publicKeyBlob(pubFile: string): Buffer {
  const [, blob] = readFileSync(pubFile, 'utf8').trim().split(/\s+/);
  return Buffer.from(blob ?? '', 'base64');
}

export async function freePort(preferred?: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
      });
    });
  if (preferred) {
    const port = await tryPort(preferred);
    if (port) return port;
  }
  const port = await tryPort(0);
  if (!port) throw new Error('no free loopback port for an SSH host');
  return port;
}

/** Resolves once the port answers with an SSH banner; rejects when the deadline passes. */
export async function waitForBanner(port: number, deadline: number, exited: () => string | undefined, address = '127.0.0.1'): Promise<void> {
  for (;;) {
    const failure = exited();
    if (failure) throw new Error(failure);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, address);
      socket.setTimeout(1_000);
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString('latin1').startsWith('SSH-'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd on ${address}:${port} did not answer within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The sshd_config of one sandbox host: key login of `user` only, sftp, the host's environment through SetEnv. */
export function sshdConfig(host: { about: string; address: string; port: number; hostKeyFile: string; authorizedKeys: string; pidFile: string; user: string; setEnv: string[] }): string {
  return [
    `# sshd of ${host.about}`,
    `ListenAddress ${host.address}`,
    `Port ${host.port}`,
    `HostKey ${host.hostKeyFile}`,
    `AuthorizedKeysFile ${host.authorizedKeys}`,
    `PidFile ${host.pidFile}`,
    `AllowUsers ${host.user}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'PrintMotd no',
    'Subsystem sftp internal-sftp',
    `SetEnv ${host.setEnv.join(' ')}`,
    '',
  ].join('\n');
}

/** sshd's SetEnv words for a session environment; refuses a value sshd could not carry. */
export function setEnvWords(env: Record<string, string>, host: string): string[] {
  return Object.entries(env).map(([k, v]) => {
    if (/[\s"]/.test(v)) throw new Error(`${host}: ${k} holds a space or quote, which sshd's SetEnv cannot carry`);
    return `${k}=${v}`;
  });
}

export function quoteYaml(value: string): string {
  return JSON.stringify(value);
}

/** Starts (or restarts, keeping keys and ports) the sandbox's SSH hosts. */
export async function startSshHosts(options: SshHostsOptions): Promise<SshHosts> {
  requireSshd();
  const base = join(options.dir, 'ssh-hosts');
  mkdirSync(base, { recursive: true, mode: 0o700 });
  // sshd's privilege separation needs this directory (Debian creates it at boot via systemd).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const user = userInfo().username;
  const keyFile = join(base, 'id_ed25519');
  if (!existsSync(keyFile)) keygen(keyFile, 'jenkins-fleet sandbox login');
  const authorizedKeys = join(base, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${keyFile}.pub`), { mode: 0o600 });

  const stateFile = join(base, 'hosts.json');
  const previous: Array<{ port: number }> = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as Array<{ port: number }>) : [];

  const hosts: SshHost[] = [];
  for (let index = 0; index < options.count; index++) {
    const hostDir = join(base, `host-${index + 1}`);
    const root = join(hostDir, 'root');
    for (const d of ['root', 'tmp', 'usr/bin', 'usr/local/bin', 'etc/systemd/system', 'var/log', 'run/sandbox/units']) {
      mkdirSync(join(root, d), { recursive: true });
    }
    const hostKeyFile = join(hostDir, 'ssh_host_ed25519_key');
    if (!existsSync(hostKeyFile)) keygen(hostKeyFile, `sandbox ssh host ${index + 1}`);
    const preferred = previous[index]?.port ?? (options.basePort ? options.basePort + index : undefined);
    const port = await freePort(preferred);
    hosts.push({ index, address: '127.0.0.1', port, root, hostKeyFile, fingerprint: fingerprint(publicKeyBlob(`${hostKeyFile}.pub`)) });
  }
  writeFileSync(stateFile, `${JSON.stringify(hosts.map((h) => ({ port: h.port })), null, 2)}\n`);

  const processes = new Map<number, ChildProcess>();

  const configFor = (host: SshHost): string => {
    const hostDir = join(base, `host-${host.index + 1}`);
    const setEnv = setEnvWords(options.env(host.root), `SSH host ${host.index + 1}`);
    const config = join(hostDir, 'sshd_config');
    writeFileSync(
      config,
      sshdConfig({ about: `sandbox SSH host ${host.index + 1}; written by provisioner sandbox --ssh-hosts`, address: host.address, port: host.port, hostKeyFile: host.hostKeyFile, authorizedKeys, pidFile: join(hostDir, 'sshd.pid'), user, setEnv }),
    );
    return config;
  };

  const startHost = async (index: number): Promise<void> => {
    const host = hosts[index];
    if (!host) throw new Error(`no SSH host ${index + 1}`);
    if (processes.has(index)) return;
    const config = configFor(host);
    const logFile = join(base, `host-${index + 1}`, 'sshd.log');
    const log = openSync(logFile, 'a');
    const child = spawn(sshdPath, ['-D', '-e', '-f', config], { stdio: ['ignore', log, log] });
    closeSync(log);
    let exit: string | undefined;
    child.once('exit', (code, signal) => {
      processes.delete(index);
      exit = `sshd of SSH host ${index + 1} exited (${code ?? signal}): ${readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ')}`;
    });
    child.once('error', (err) => {
      exit = `cannot start ${sshdPath}: ${err.message}`;
    });
    processes.set(index, child);
    await waitForBanner(host.port, Date.now() + 10_000, () => exit);
  };

  const stopHost = async (index: number): Promise<void> => {
    const child = processes.get(index);
    if (!child) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await gone;
  };

  const knownHostsFile = join(base, 'known_hosts');
  const writeFiles = () => {
    writeFileSync(
      knownHostsFile,
      hosts.map((h) => `${knownHostsName(h.address, h.port)} ${readFileSync(`${h.hostKeyFile}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')}\n`).join(''),
      { mode: 0o600 },
    );
    writeFileSync(
      join(options.dir, 'ssh-hosts.yaml'),
      [
        '# The sandbox\'s SSH hosts, ready to paste into a static pool of fleet.yaml:',
        '#   - name: rack',
        '#     labels: [rack]',
        '#     transport: ssh',
        '#     <the settings below>',
        `# Host key fingerprints: ${hosts.map((h) => `${h.address}:${h.port} ${h.fingerprint}`).join(', ')}`,
        `sshUser: ${quoteYaml(user)}`,
        `sshKeyFile: ${quoteYaml(keyFile)}`,
        'hostKeyPolicy: known-hosts',
        `knownHostsFile: ${quoteYaml(knownHostsFile)}`,
        'hosts:',
        ...hosts.map((h) => `  - { address: ${h.address}, port: ${h.port} }`),
        '',
      ].join('\n'),
    );
  };
  writeFiles();

  const stopUnits = (host: SshHost) => {
    const dir = join(host.root, 'run/sandbox/units');
    if (!existsSync(dir)) return;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.pid'))) {
      const pid = Number(readFileSync(join(dir, file), 'utf8').trim());
      if (!(pid > 0)) continue;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
  };

  try {
    for (const host of hosts) await startHost(host.index);
  } catch (err) {
    for (const host of hosts) await stopHost(host.index);
    throw err;
  }

  return {
    hosts,
    user,
    keyFile,
    knownHostsFile,
    poolFile: join(options.dir, 'ssh-hosts.yaml'),
    startHost,
    stopHost,
    async stop() {
      for (const host of hosts) {
        await stopHost(host.index);
        stopUnits(host);
      }
    },
    async rekeyHost(index) {
      const host = hosts[index];
      if (!host) throw new Error(`no SSH host ${index + 1}`);
      await stopHost(index);
      rmSync(host.hostKeyFile, { force: true });
      rmSync(`${host.hostKeyFile}.pub`, { force: true });
      keygen(host.hostKeyFile, `sandbox ssh host ${index + 1} (new key)`);
      // known_hosts and ssh-hosts.yaml keep the old key on purpose: this host now looks impersonated.
      host.fingerprint = fingerprint(publicKeyBlob(`${host.hostKeyFile}.pub`));
      await startHost(index);
    },
  };
}
