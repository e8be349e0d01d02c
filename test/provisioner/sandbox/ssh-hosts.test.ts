// The sandbox's SSH hosts end to end: `--ssh-hosts` starts real sshd hosts with the sandbox's
// stand-ins, DIR/ssh-hosts.yaml pastes into a static pool, the real bootstrap runs over SSH and the
// agents come online in the sandbox's Jenkins; forgetting them stops their service and leaves the
// hosts clean. The secret shows up in no process's argv.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../provisioner/src/errors.ts';
import { JenkinsController } from '../../../provisioner/src/jenkins/controller.ts';
import { nodeDescription, staticHostId } from '../../../provisioner/src/model.ts';
import { defaultOptions, startSandbox, type RunningSandbox } from '../../../provisioner/sandbox/src/server.ts';
import { startSandboxSshHosts, type SshHosts } from '../../../provisioner/sandbox/src/ssh-hosts.ts';
import { bootstrapValues, renderBootstrap } from '../../../provisioner/src/transport/bootstrap.ts';
import { SshTransport, staticHostTargets } from '../../../provisioner/src/transport/ssh.ts';
import { fleetOf, sandboxSshPool } from '../../support/fleet.ts';
import { requireTools } from '../../support/sshd.ts';

let dir: string;
let sandbox: RunningSandbox;
let sshHosts: SshHosts;

beforeAll(async () => {
  requireTools();
  dir = mkdtempSync(join(tmpdir(), 'sandbox-ssh-'));
  const options = defaultOptions(dir);
  options.timing = { bootMs: 200, ssmOnlineMs: 200, shutdownMs: 200, lingerMs: 1500 };
  options.agentRetrySeconds = 0.5;
  sandbox = await startSandbox(options);
  sshHosts = (await startSandboxSshHosts('2', dir, sandbox.hosts.toolbox))!;
});

afterAll(async () => {
  await sshHosts?.stop();
  await sandbox?.stop();
  // The agents' connections close after the stop; let the sandbox note that before its state goes.
  await new Promise((resolve) => setTimeout(resolve, 500));
  rmSync(dir, { recursive: true, force: true });
});

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('provisioner sandbox --ssh-hosts', () => {
  it('refuses a count that is not a small number', async () => {
    await expect(startSandboxSshHosts('two', dir, sandbox.hosts.toolbox)).rejects.toThrow(UserError);
    await expect(startSandboxSshHosts('two', dir, sandbox.hosts.toolbox)).rejects.toThrow('--ssh-hosts: expected a number of SSH hosts from 0 to 50, found "two"');
    expect(await startSandboxSshHosts('0', dir, sandbox.hosts.toolbox)).toBeUndefined();
  });

  it('brings agents online in the sandbox\'s Jenkins over real SSH, then forgetting them leaves the hosts clean', async () => {
    const poolSettings = readFileSync(join(dir, 'ssh-hosts.yaml'), 'utf8');
    const fleet = fleetOf([sandboxSshPool('rack', poolSettings, { labels: ['rack', 'python'], settings: { tools: ['python'] } })], { url: sandbox.env.JENKINS_URL, user: sandbox.env.JENKINS_USER });
    const pool = fleet.pools[0]!;
    expect(pool.count).toBe(2);
    expect(pool.hosts).toEqual(sshHosts.hosts.map((h) => ({ address: '127.0.0.1', port: h.port })));

    const controller = new JenkinsController({ url: sandbox.env.JENKINS_URL!, user: sandbox.env.JENKINS_USER!, token: sandbox.env.JENKINS_API_TOKEN! });
    const transport = new SshTransport();
    const targets = staticHostTargets(pool);
    const secrets: string[] = [];
    for (const [index, target] of targets.entries()) {
      const host = pool.hosts![index]!;
      await controller.createNode({
        name: target.name,
        description: nodeDescription(fleet.fleet, pool.name, staticHostId(host.address, host.port)),
        remoteFS: pool.remoteFS,
        executors: pool.executors,
        labels: pool.labels,
        mode: pool.mode,
      });
      const secret = await controller.readSecret(target.name);
      secrets.push(secret);
      await transport.storeSecret(target, secret);
    }

    const progress: string[] = [];
    const argv: string[] = [];
    let running = true;
    const sampling = (async () => {
      while (running) {
        argv.push(await new Promise<string>((resolve) => execFile('ps', ['-eo', 'args', '--no-headers'], { maxBuffer: 8 << 20 }, (_e, out) => resolve(out))));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const results = await transport.bootstrap(targets, renderBootstrap(bootstrapValues(fleet, pool)), {
      deadline: Date.now() + 30_000,
      onProgress: (name, line) => progress.push(`${name}: ${line}`),
    });
    expect(results.map((r) => [r.name, r.ok, r.error])).toEqual(targets.map((t) => [t.name, true, undefined]));

    const online = await eventually('both agents online', async () => {
      const nodes = await controller.listNodes();
      const ours = nodes.filter((n) => targets.some((t) => t.name === n.name));
      return ours.length === 2 && ours.every((n) => n.online) ? ours : undefined;
    });
    running = false;
    await sampling;
    expect(online.map((n) => n.name).sort()).toEqual(targets.map((t) => t.name).sort());
    expect(argv.some((a) => a.includes('agent.jar') && a.includes('-secret @'))).toBe(true); // the agents were seen running
    for (const secret of secrets) {
      expect(argv.join('\n')).not.toContain(secret);
      expect(progress.join('\n')).not.toContain(secret);
      expect(JSON.stringify(results)).not.toContain(secret);
    }
    // The output streamed line by line with the agent's name, as the sandbox's host installed python.
    for (const target of targets) expect(progress).toContain(`${target.name}: bootstrap: installing python3.11 python3.11-pip`);

    for (const [index, host] of sshHosts.hosts.entries()) {
      const secretFile = join(host.root, 'etc/jenkins-agent/secret');
      expect(readFileSync(secretFile, 'utf8').trim()).toBe(secrets[index]);
      expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    }

    // What `down` does for a static host: delete the node, then the transport cleans the host.
    for (const target of targets) {
      await controller.deleteNode(target.name);
      await transport.forget(target, Date.now() + 20_000);
    }
    for (const host of sshHosts.hosts) {
      expect(existsSync(join(host.root, 'etc/systemd/system/jenkins-agent.service'))).toBe(false);
      expect(existsSync(join(host.root, 'etc/jenkins-agent'))).toBe(false);
      expect(readdirSync(join(host.root, 'run/sandbox/units')).filter((f) => f.startsWith('jenkins-agent'))).toEqual([]);
    }
    await eventually('the agent processes to end', async () => {
      const ps = await new Promise<string>((resolve) => execFile('ps', ['-eo', 'args', '--no-headers'], (_e, out) => resolve(out)));
      return sshHosts.hosts.every((h) => !ps.includes(`${h.root}/opt/jenkins-agent/agent.jar`)) ? true : undefined;
    });
    expect((await controller.listNodes()).filter((n) => targets.some((t) => t.name === n.name))).toEqual([]);
  });
  it('keeps the SSH hosts\' ports and keys across a restart, and their agents come back', async () => {
    const fleet = fleetOf([sandboxSshPool('again', readFileSync(join(dir, 'ssh-hosts.yaml'), 'utf8'))], { url: sandbox.env.JENKINS_URL, user: sandbox.env.JENKINS_USER });
    const pool = fleet.pools[0]!;
    const [target] = staticHostTargets(pool);
    const host = pool.hosts![0]!;
    const controller = new JenkinsController({ url: sandbox.env.JENKINS_URL!, user: sandbox.env.JENKINS_USER!, token: sandbox.env.JENKINS_API_TOKEN! });
    await controller.createNode({ name: target!.name, description: nodeDescription(fleet.fleet, pool.name, staticHostId(host.address, host.port)), remoteFS: pool.remoteFS, executors: 1, labels: pool.labels, mode: pool.mode });
    const transport = new SshTransport();
    await transport.storeSecret(target!, await controller.readSecret(target!.name));
    const [result] = await transport.bootstrap([target!], renderBootstrap(bootstrapValues(fleet, pool)), { deadline: Date.now() + 30_000 });
    expect(result).toMatchObject({ ok: true });
    const isOnline = async () => (await controller.listNodes()).find((n) => n.name === target!.name)?.online;
    await eventually('the agent online', async () => ((await isOnline()) ? true : undefined));

    const before = readFileSync(join(dir, 'ssh-hosts.yaml'), 'utf8');
    await sshHosts.stop();
    await eventually('the agent offline with its host stopped', async () => ((await isOnline()) === false ? true : undefined));
    sshHosts = (await startSandboxSshHosts('2', dir, sandbox.hosts.toolbox))!;
    expect(readFileSync(join(dir, 'ssh-hosts.yaml'), 'utf8')).toBe(before);
    await eventually('the agent online again', async () => ((await isOnline()) ? true : undefined));

    await controller.deleteNode(target!.name);
    await transport.forget(target!, Date.now() + 20_000);
  });
});
