// The sandbox's EC2 instances reachable over SSH (`provisioner sandbox --ssh-instances`), for pools
// with `transport: ssh`: each instance gets a loopback private IP (127.B.x.y, any of which this
// machine answers on) and, from a while into its boot (sshdListensAt) until it is terminated, a real sshd there
// on one port shared by all instances (the pool's `port`), whose host key is the one the instance's
// console prints. A session runs in the instance's host root with the sandbox's stand-ins, as Run
// Command does. Keys and the port live under DIR/ssh-instances/; the pool settings to paste are
// written to DIR/ssh-instances.yaml.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Hosts } from './hosts.ts';
import { freePort, keygen, quoteYaml, requireSshd, sandboxHostEnv, setEnvWords, sshdConfig, sshdPath } from './ssh-hosts.ts';
import type { Instance } from './state.ts';
import { instanceState, sshdListensAt, type InstanceSsh, type Sandbox } from './world.ts';

export class SshInstances implements InstanceSsh {
  readonly port: number;
  readonly user = userInfo().username;
  readonly keyFile: string;
  readonly knownHostsFile: string;
  private readonly base: string;
  private readonly authorizedKeys: string;
  private readonly sshd = new Map<string, ChildProcess>();
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly sb: Sandbox, private readonly hosts: Hosts, base: string, port: number) {
    this.base = base;
    this.port = port;
    this.keyFile = join(base, 'id_ed25519');
    this.authorizedKeys = join(base, 'authorized_keys');
    this.knownHostsFile = join(base, 'known_hosts');
    // Instance lifecycles are computed from timestamps, not events: a sweep starts and stops sshd.
    this.timer = setInterval(() => this.sweep(), 200);
    this.timer.unref();
  }

  static async start(sb: Sandbox, hosts: Hosts, stateDir: string): Promise<SshInstances> {
    requireSshd();
    const base = join(stateDir, 'ssh-instances');
    mkdirSync(base, { recursive: true, mode: 0o700 });
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const portFile = join(base, 'port');
    const port = await freePort(existsSync(portFile) ? Number(readFileSync(portFile, 'utf8')) : undefined);
    writeFileSync(portFile, String(port));
    const instances = new SshInstances(sb, hosts, base, port);
    if (!existsSync(instances.keyFile)) keygen(instances.keyFile, 'jenkins-fleet sandbox login (instances)');
    writeFileSync(instances.authorizedKeys, readFileSync(`${instances.keyFile}.pub`), { mode: 0o600 });
    writeFileSync(
      join(stateDir, 'ssh-instances.yaml'),
      [
        "# How the provisioner reaches the sandbox's EC2 instances over SSH: paste into an EC2 pool of fleet.yaml.",
        'transport: ssh',
        `sshUser: ${quoteYaml(instances.user)}`,
        `sshKeyFile: ${quoteYaml(instances.keyFile)}`,
        `port: ${port}`,
        'hostKeyPolicy: accept-new',
        `knownHostsFile: ${quoteYaml(instances.knownHostsFile)}`,
        '',
      ].join('\n'),
    );
    return instances;
  }

  /** The private IP of the `serial`th instance of a subnet: loopback, so that its sshd can listen there. */
  address(block: number, serial: number): string {
    return `127.${block + 1}.${Math.floor(serial / 250)}.${(serial % 250) + 4}`;
  }

  /** The instance's ed25519 host key line (`ssh-ed25519 AAAA...`), made on first use; its sshd serves it. */
  hostKey(instance: Instance): string {
    const file = this.hostKeyFile(instance);
    if (!existsSync(file)) {
      mkdirSync(join(this.base, instance.id), { recursive: true });
      keygen(file, `sandbox instance ${instance.id}`);
    }
    return readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  }

  private hostKeyFile(instance: Instance): string {
    return join(this.base, instance.id, 'ssh_host_ed25519_key');
  }

  /** sshd for every booted instance that has none; none for one that is terminated. */
  sweep(now = Date.now()): void {
    for (const instance of this.sb.store.world.instances) {
      const state = instanceState(this.sb, instance, now);
      const listens = state === 'running' && now >= sshdListensAt(this.sb, instance);
      if (listens && !this.sshd.has(instance.id)) this.startSshd(instance);
      else if (!listens && this.sshd.has(instance.id)) this.stopSshd(instance.id);
    }
  }

  private startSshd(instance: Instance): void {
    const dir = join(this.base, instance.id);
    mkdirSync(dir, { recursive: true });
    this.hostKey(instance);
    const root = this.hosts.prepare(instance);
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      sshdConfig({
        about: `sandbox instance ${instance.id}; written by provisioner sandbox --ssh-instances`,
        address: instance.privateIp,
        port: this.port,
        hostKeyFile: this.hostKeyFile(instance),
        authorizedKeys: this.authorizedKeys,
        pidFile: join(dir, 'sshd.pid'),
        user: this.user,
        setEnv: setEnvWords(sandboxHostEnv(this.hosts.toolbox, root), `instance ${instance.id}`),
      }),
    );
    const log = openSync(join(dir, 'sshd.log'), 'a');
    const child = spawn(sshdPath, ['-D', '-e', '-f', config], { stdio: ['ignore', log, log] });
    closeSync(log);
    child.on('error', () => undefined);
    // An sshd that exits on its own (its address taken) is started again by the next sweep.
    child.once('exit', () => {
      if (this.sshd.get(instance.id) === child) this.sshd.delete(instance.id);
    });
    this.sshd.set(instance.id, child);
  }

  stopSshd(instanceId: string): void {
    const child = this.sshd.get(instanceId);
    if (!child) return;
    this.sshd.delete(instanceId);
    child.kill('SIGTERM');
  }

  stop(): void {
    clearInterval(this.timer);
    for (const id of [...this.sshd.keys()]) this.stopSshd(id);
  }
}
