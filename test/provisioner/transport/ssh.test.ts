// The SSH transport against real sshd processes on loopback: the pool's real bootstrap script
// runs over SSH, host keys are checked under each policy, an unreachable host fails alone, the
// secret lands in a 0600 file and nowhere else (argv, output, logs), and `forget` cleans a host.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapValues, renderBootstrap } from '../../../provisioner/src/transport/bootstrap.ts';
import { SshTransport, staticHostTargets } from '../../../provisioner/src/transport/ssh.ts';
import type { BootstrapResult } from '../../../provisioner/src/transport/transport.ts';
import type { SshHosts } from '../../../provisioner/sandbox/src/ssh-hosts.ts';
import { ec2Pool, fleetOf } from '../../support/fleet.ts';
import { startController, startTestHosts, staticFleet } from '../../support/sshd.ts';

let hosts: SshHosts & { dir: string };
let controller: { url: string; server: Server };

beforeAll(async () => {
  hosts = await startTestHosts(3);
  controller = await startController();
});

afterAll(async () => {
  await hosts?.stop();
  controller?.server.close();
});

/** Every process's command line, as `ps` shows them to any user of the machine. */
function argvSnapshot(): Promise<string> {
  return new Promise((resolve) => execFile('ps', ['-eo', 'args', '--no-headers'], { maxBuffer: 8 << 20 }, (_err, stdout) => resolve(stdout)));
}

/** Samples every process's argv until `stop` resolves. */
async function sampleArgv(until: Promise<unknown>): Promise<string[]> {
  const samples: string[] = [];
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    samples.push(await argvSnapshot());
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return samples;
}

function readTree(dir: string): string {
  if (!existsSync(dir)) return '';
  let text = '';
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) text += readFileSync(join(entry.parentPath, entry.name), 'latin1');
  }
  return text;
}

describe('SSH transport against real sshd', () => {
  it('bootstraps every host over SSH: secret in a 0600 file, never in argv, output or logs; forget cleans up', async () => {
    const fleet = staticFleet(controller.url, hosts, { hostKeyPolicy: 'known-hosts', knownHostsFile: hosts.knownHostsFile });
    const pool = fleet.pools[0]!;
    const script = renderBootstrap(bootstrapValues(fleet, pool));
    const targets = staticHostTargets(pool);
    expect(targets.map((t) => t.name)).toEqual(hosts.hosts.map((h) => `rack-h-127.0.0.1-${h.port}`));

    const transport = new SshTransport({ concurrency: 2 });
    const secrets = new Map(targets.map((t) => [t.name, randomBytes(32).toString('hex')]));
    for (const target of targets) await transport.storeSecret(target, secrets.get(target.name)!);

    const progress: string[] = [];
    const results: BootstrapResult[] = [];
    const run = transport.bootstrap(targets, script, {
      deadline: Date.now() + 30_000,
      onProgress: (name, message) => progress.push(`${name}: ${message}`),
      onResult: (result) => results.push(result),
    });
    const samples = await sampleArgv(run);
    const returned = await run;

    expect(returned.map((r) => [r.name, r.ok, r.error])).toEqual(targets.map((t) => [t.name, true, undefined]));
    expect(results).toHaveLength(3);
    expect(samples.length).toBeGreaterThan(3);
    expect(samples.some((s) => s.includes('bash -s'))).toBe(true); // the sampling saw the bootstraps run

    for (const [index, target] of targets.entries()) {
      const root = hosts.hosts[index]!.root;
      const secretFile = join(root, 'etc/jenkins-agent/secret');
      expect(readFileSync(secretFile, 'utf8')).toBe(secrets.get(target.name));
      expect(statSync(secretFile).mode & 0o777).toBe(0o600);
      const unit = readFileSync(join(root, 'etc/systemd/system/jenkins-agent.service'), 'utf8');
      expect(unit).toContain(`-name ${target.name} -webSocket`);
      expect(unit).toContain(`-secret @${secretFile}`);
      expect(readFileSync(join(root, 'opt/jenkins-agent/agent.jar'), 'utf8')).toBe('PK fake agent.jar');
      expect(readFileSync(join(root, 'systemctl.log'), 'utf8')).toMatch(/daemon-reload\nenable jenkins-agent.service\nrestart jenkins-agent.service\n/);
      // The uploaded copy was moved into place: nothing left in the upload directory.
      expect(readdirSync(join(root, '.jenkins-fleet'))).toEqual([]);
      expect(statSync(join(root, '.jenkins-fleet')).mode & 0o777).toBe(0o700);
      expect(progress).toContain(`${target.name}: bootstrap: agent service started for ${target.name}`);
    }

    const everything = [
      ...samples,
      ...progress,
      JSON.stringify(returned),
      ...hosts.hosts.map((h, i) => readFileSync(join(hosts.dir, 'ssh-hosts', `host-${i + 1}`, 'sshd.log'), 'utf8')),
      ...hosts.hosts.map((h) => readTree(join(h.root, 'var'))),
      ...hosts.hosts.map((h) => readFileSync(join(h.root, 'systemctl.log'), 'utf8')),
    ].join('\n');
    for (const secret of secrets.values()) expect(everything).not.toContain(secret);

    for (const target of targets) await transport.forget(target, Date.now() + 20_000);
    for (const host of hosts.hosts) {
      for (const path of ['etc/systemd/system/jenkins-agent.service', 'etc/jenkins-agent', 'opt/jenkins-agent/agent.jar', '.jenkins-fleet', 'run/test-systemd/jenkins-agent.service.enabled', 'run/test-systemd/jenkins-agent.service.active']) {
        expect(existsSync(join(host.root, path)), path).toBe(false);
      }
      expect(readFileSync(join(host.root, 'systemctl.log'), 'utf8')).toMatch(/stop jenkins-agent.service\ndisable jenkins-agent.service\ndaemon-reload\n$/);
    }
    // Forgetting twice is fine: a clean host stays clean.
    await transport.forget(targets[0]!, Date.now() + 20_000);
  });

  it('creates the secret file with mode 0600 in a 0700 directory before the script runs', async () => {
    const fleet = staticFleet(controller.url, hosts, { hostKeyPolicy: 'known-hosts', knownHostsFile: hosts.knownHostsFile }, hosts.hosts.slice(0, 1));
    const [target] = staticHostTargets(fleet.pools[0]!);
    const transport = new SshTransport();
    await transport.storeSecret(target!, 's3cret-value');
    const [result] = await transport.bootstrap([target!], 'stat -c "%a %s" "$AGENT_SECRET_FILE" "$(dirname "$AGENT_SECRET_FILE")"; echo "name=$AGENT_NAME"', { deadline: Date.now() + 20_000 });
    expect(result).toMatchObject({ ok: true });
    expect(result!.output!.split('\n')).toEqual(['600 12', expect.stringMatching(/^700 \d+$/), `name=${target!.name}`]);
    // The script left the file; the transport removed it after the run.
    expect(readdirSync(join(hosts.hosts[0]!.root, '.jenkins-fleet'))).toEqual([]);
  });

  it('removes a secret copy an interrupted run left behind, once it is an hour old', async () => {
    const host = hosts.hosts[1]!;
    const fleet = staticFleet(controller.url, hosts, { hostKeyPolicy: 'known-hosts', knownHostsFile: hosts.knownHostsFile }, [host]);
    const [target] = staticHostTargets(fleet.pools[0]!);
    const uploads = join(host.root, '.jenkins-fleet');
    const { mkdirSync, utimesSync, writeFileSync } = await import('node:fs');
    mkdirSync(uploads, { recursive: true, mode: 0o700 });
    writeFileSync(join(uploads, 'secret-stale'), 'old', { mode: 0o600 });
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(join(uploads, 'secret-stale'), twoHoursAgo, twoHoursAgo);
    writeFileSync(join(uploads, 'secret-recent'), 'another run', { mode: 0o600 });
    const transport = new SshTransport();
    await transport.storeSecret(target!, 'x');
    const [result] = await transport.bootstrap([target!], 'true', { deadline: Date.now() + 20_000 });
    expect(result).toMatchObject({ ok: true });
    expect(readdirSync(uploads)).toEqual(['secret-recent']);
    rmSync(join(uploads, 'secret-recent'));
  });

  it('refuses a host whose key is not pinned, naming the host and both fingerprints', async () => {
    const wrong = `SHA256:${'A'.repeat(43)}`;
    const fleet = staticFleet(controller.url, hosts, { hostKeyPolicy: 'pinned', hostKeyFingerprints: [wrong] }, hosts.hosts.slice(0, 1));
    const [target] = staticHostTargets(fleet.pools[0]!);
    const transport = new SshTransport();
    await transport.storeSecret(target!, 'never-sent');
    const started = Date.now();
    const [result] = await transport.bootstrap([target!], 'touch "$AGENT_INSTALL_ROOT/ran"', { deadline: Date.now() + 20_000 });
    const host = hosts.hosts[0]!;
    expect(result!.ok).toBe(false);
    expect(result!.error).toBe(`host key of 127.0.0.1:${host.port} is not pinned: expected ${wrong}, found ${host.fingerprint} (ssh-ed25519); refusing to connect`);
    expect(Date.now() - started).toBeLessThan(5_000); // refused at once, not retried until the deadline
    expect(existsSync(join(host.root, 'ran'))).toBe(false);
  });

  it('accepts a host whose key is pinned', async () => {
    const host = hosts.hosts[1]!;
    const fleet = staticFleet(controller.url, hosts, { hostKeyPolicy: 'pinned', hostKeyFingerprints: [host.fingerprint] }, [host]);
    const [target] = staticHostTargets(fleet.pools[0]!);
    const transport = new SshTransport();
    await transport.storeSecret(target!, 'x');
    const [result] = await transport.bootstrap([target!], 'echo pinned ok', { deadline: Date.now() + 20_000 });
    expect(result).toMatchObject({ ok: true, output: 'pinned ok' });
  });

  it('refuses a host missing from the known hosts file, saying how to add it', async () => {
    const host = hosts.hosts[2]!;
    const empty = join(mkdtempSync(join(tmpdir(), 'kh-')), 'known_hosts');
    await import('node:fs/promises').then((fs) => fs.writeFile(empty, ''));
    const fleet = staticFleet(controller.url, hosts, { hostKeyPolicy: 'known-hosts', knownHostsFile: empty }, [host]);
    const [target] = staticHostTargets(fleet.pools[0]!);
    const transport = new SshTransport();
    await transport.storeSecret(target!, 'x');
    const [result] = await transport.bootstrap([target!], 'true', { deadline: Date.now() + 20_000 });
    expect(result!.error).toMatch(new RegExp(`^host 127\\.0\\.0\\.1:${host.port} is not in known hosts file ${empty} \\(its key is ${host.fingerprint.replace(/[+/]/g, '\\$&')} \\(ssh-ed25519\\)\\); add it`));
  });

  it('fails only the unreachable host, and the others do not wait for it', async () => {
    const stopped = await startTestHosts(1);
    await stopped.stopHost(0);
    const known = readFileSync(hosts.knownHostsFile, 'utf8') + readFileSync(stopped.knownHostsFile, 'utf8');
    const knownFile = join(stopped.dir, 'all_known_hosts');
    await import('node:fs/promises').then((fs) => fs.writeFile(knownFile, known));
    const all = [...hosts.hosts.slice(0, 2), stopped.hosts[0]!];
    const fleet = staticFleet(controller.url, hosts, { hostKeyPolicy: 'known-hosts', knownHostsFile: knownFile }, all);
    const targets = staticHostTargets(fleet.pools[0]!);
    const transport = new SshTransport();
    for (const t of targets) await transport.storeSecret(t, 'x');
    const order: string[] = [];
    const results = await transport.bootstrap(targets, 'echo up', { deadline: Date.now() + 3_000, onResult: (r) => order.push(r.name) });
    expect(results.map((r) => r.ok)).toEqual([true, true, false]);
    expect(results[2]!.error).toMatch(new RegExp(`^connecting to 127\\.0\\.0\\.1:${stopped.hosts[0]!.port}: sshd at 127\\.0\\.0\\.1:${stopped.hosts[0]!.port} did not answer within the deadline after \\d+ attempt\\(s\\) \\(last: .*ECONNREFUSED`));
    expect(order.at(-1)).toBe(targets[2]!.name);
  });

  it('gives up cleaning an unreachable static host at the deadline it is given (down --timeout)', async () => {
    const stopped = await startTestHosts(1);
    await stopped.stopHost(0);
    const fleet = staticFleet(controller.url, stopped, { hostKeyPolicy: 'known-hosts', knownHostsFile: stopped.knownHostsFile });
    const [target] = staticHostTargets(fleet.pools[0]!);
    const started = Date.now();
    const error = await new SshTransport().forget(target!, started + 1_500).catch((e: unknown) => e as Error).finally(() => stopped.stop());
    // The transport's own forget timeout is 60 s; the deadline is what bounds it.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect((error as Error).message).toMatch(new RegExp(`^connecting to 127\\.0\\.0\\.1:${stopped.hosts[0]!.port}: sshd at .* did not answer within the deadline`));
  });

  it('waits with backoff for a host whose sshd starts late', async () => {
    const late = await startTestHosts(1);
    try {
      await late.stopHost(0);
      const fleet = staticFleet(controller.url, late, { hostKeyPolicy: 'known-hosts', knownHostsFile: late.knownHostsFile });
      const [target] = staticHostTargets(fleet.pools[0]!);
      const transport = new SshTransport({ maxBackoffMs: 500 });
      await transport.storeSecret(target!, 'x');
      const progress: string[] = [];
      const run = transport.bootstrap([target!], 'echo finally', { deadline: Date.now() + 20_000, onProgress: (_n, m) => progress.push(m) });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await late.startHost(0);
      const [result] = await run;
      expect(result).toMatchObject({ ok: true, output: 'finally' });
      expect(progress[0]).toMatch(/^waiting for sshd at 127\.0\.0\.1:\d+ \(.*ECONNREFUSED/);
    } finally {
      await late.stop();
    }
  });

  it('accept-new records a new host, then enforces it: a changed key is refused loudly', async () => {
    const solo = await startTestHosts(1);
    try {
      const host = solo.hosts[0]!;
      const knownHosts = join(solo.dir, 'state', 'known_hosts');
      const fleet = staticFleet(controller.url, solo, { hostKeyPolicy: 'accept-new', knownHostsFile: knownHosts });
      const [target] = staticHostTargets(fleet.pools[0]!);
      const transport = new SshTransport();
      await transport.storeSecret(target!, 'x');

      const [first] = await transport.bootstrap([target!], 'echo first', { deadline: Date.now() + 20_000 });
      expect(first).toMatchObject({ ok: true });
      const recorded = readFileSync(knownHosts, 'utf8');
      expect(recorded).toBe(`[127.0.0.1]:${host.port} ${readFileSync(`${host.hostKeyFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
      expect(statSync(knownHosts).mode & 0o777).toBe(0o600);

      const [second] = await transport.bootstrap([target!], 'echo second', { deadline: Date.now() + 20_000 });
      expect(second).toMatchObject({ ok: true, output: 'second' });
      expect(readFileSync(knownHosts, 'utf8')).toBe(recorded);

      const old = host.fingerprint;
      await solo.rekeyHost(0);
      expect(host.fingerprint).not.toBe(old);
      const [third] = await transport.bootstrap([target!], 'touch "$AGENT_INSTALL_ROOT/ran"', { deadline: Date.now() + 20_000 });
      expect(third!.ok).toBe(false);
      expect(third!.error).toContain(`HOST KEY CHANGED for 127.0.0.1:${host.port}: expected ${old} (ssh-ed25519, ${knownHosts}:1), found ${host.fingerprint} (ssh-ed25519)`);
      expect(existsSync(join(host.root, 'ran'))).toBe(false);
      expect(readFileSync(knownHosts, 'utf8')).toBe(recorded);
    } finally {
      await solo.stop();
    }
  });

  it('accept-new on an EC2 instance trusts only a key its console printed', async () => {
    const host = hosts.hosts[0]!;
    const fleet = fleetOf(
      [
        ec2Pool('awsDeploy', {
          subnets: ['subnet-0123456789abcdef0'],
          settings: { transport: 'ssh', sshUser: hosts.user, sshKeyFile: hosts.keyFile, hostKeyPolicy: 'accept-new', knownHostsFile: join(hosts.dir, 'ec2_known_hosts') },
        }),
      ],
      { url: controller.url },
    );
    const pool = fleet.pools[0]!;
    const hostKey = readFileSync(`${host.hostKeyFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const target = (id: string) => ({ name: `awsDeploy-${id}`, pool, instanceId: id, address: host.address, port: host.port });
    const asked: string[] = [];
    const consoles: Record<string, string> = {
      'i-00000000000000001': `ec2: -----BEGIN SSH HOST KEY KEYS-----\nec2: ${hostKey} root@ip\nec2: -----END SSH HOST KEY KEYS-----\n`,
      'i-00000000000000002': `-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 SHA256:${'B'.repeat(43)} root@ip (ED25519)\n-----END SSH HOST KEY FINGERPRINTS-----\n`,
    };
    const transport = new SshTransport({
      consoleOutput: async (instanceId, region) => {
        asked.push(`${instanceId} ${region}`);
        return consoles[instanceId];
      },
    });
    for (const id of Object.keys(consoles)) await transport.storeSecret(target(id), 'x');
    const [printed] = await transport.bootstrap([target('i-00000000000000001')], 'echo trusted', { deadline: Date.now() + 20_000 });
    expect(printed).toMatchObject({ ok: true, output: 'trusted' });
    expect(asked).toEqual(['i-00000000000000001 us-east-1']);
    // Another instance at the same address whose console printed another key: refused.
    rmSync(join(hosts.dir, 'ec2_known_hosts'));
    const [other] = await transport.bootstrap([target('i-00000000000000002')], 'echo never', { deadline: Date.now() + 20_000 });
    expect(other!.ok).toBe(false);
    expect(other!.error).toBe(`host key of 127.0.0.1:${host.port} ${host.fingerprint} (ssh-ed25519) is not one of those the console output of i-00000000000000002 printed (SHA256:${'B'.repeat(43)}); refusing to connect`);
  });

  it('refuses a host that no longer offers the key type known_hosts lists, at once', async () => {
    const host = hosts.hosts[2]!;
    const keyDir = mkdtempSync(join(tmpdir(), 'rsa-'));
    await new Promise<void>((resolve, reject) =>
      execFile('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', join(keyDir, 'rsa')], (err) => (err ? reject(err) : resolve())),
    );
    const knownHosts = join(keyDir, 'known_hosts');
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(knownHosts, `[127.0.0.1]:${host.port} ${readFileSync(join(keyDir, 'rsa.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`),
    );
    const fleet = staticFleet(controller.url, hosts, { hostKeyPolicy: 'known-hosts', knownHostsFile: knownHosts }, [host]);
    const [target] = staticHostTargets(fleet.pools[0]!);
    const transport = new SshTransport();
    await transport.storeSecret(target!, 'x');
    const started = Date.now();
    const [result] = await transport.bootstrap([target!], 'true', { deadline: Date.now() + 20_000 });
    expect(result!.error).toBe(
      `HOST KEY CHANGED for 127.0.0.1:${host.port}: ${knownHosts} lists only rsa-sha2-512/rsa-sha2-256/ssh-rsa keys for it and the host offers none of them; if the host was rebuilt, remove its lines from that file`,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('names the user and host when the login key is refused', async () => {
    const fleet = staticFleet(controller.url, hosts, { hostKeyPolicy: 'known-hosts', knownHostsFile: hosts.knownHostsFile }, hosts.hosts.slice(0, 1));
    const pool = { ...fleet.pools[0]!, sshUser: 'nobody' };
    const [target] = staticHostTargets(pool);
    const transport = new SshTransport();
    await transport.storeSecret(target!, 'x');
    const [result] = await transport.bootstrap([target!], 'true', { deadline: Date.now() + 20_000 });
    expect(result!.error).toMatch(/^logging in to 127\.0\.0\.1:\d+: sshd at 127\.0\.0\.1:\d+ refused the key for user nobody/);
  });

  it('fails an agent whose secret was never stored, without connecting', async () => {
    const fleet = staticFleet(controller.url, hosts, { hostKeyPolicy: 'known-hosts', knownHostsFile: hosts.knownHostsFile }, hosts.hosts.slice(0, 1));
    const [target] = staticHostTargets(fleet.pools[0]!);
    const [result] = await new SshTransport().bootstrap([target!], 'true', { deadline: Date.now() + 20_000 });
    expect(result).toMatchObject({ ok: false, error: `no secret was stored for ${target!.name} before its bootstrap (127.0.0.1:${hosts.hosts[0]!.port})` });
  });
});
