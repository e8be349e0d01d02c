// Shared by the SSH suites: real sshd hosts on loopback (the sandbox's own ssh-hosts module) with
// this directory's stand-ins on PATH, a local controller serving agent.jar, and the fleet of a
// static pool over them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fleet } from '../../provisioner/src/model.ts';
import { baseUtilities } from '../../provisioner/sandbox/src/hosts.ts';
import { startSshHosts, sshdPath, type SshHosts } from '../../provisioner/sandbox/src/ssh-hosts.ts';
import { systemDirs, toolPath } from './tools.ts';
import { fleetOf, staticPool, type Setting } from './fleet.ts';

export const toolbox = new URL('./sshd-toolbox', import.meta.url).pathname;

/** Fails (never skips) when the machine cannot run the suite, saying what to install. */
export function requireTools(): void {
  if (!existsSync(sshdPath)) throw new Error(`the SSH suite needs a real sshd at ${sshdPath}: apt-get install openssh-server`);
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('the SSH suite needs ssh-keygen: apt-get install openssh-client', { cause: err });
  }
  if (process.getuid?.() !== 0) throw new Error('the SSH suite starts sshd, which needs root (as in CI)');
}

export async function startTestHosts(count: number, dir = mkdtempSync(join(tmpdir(), 'ssh-hosts-'))): Promise<SshHosts & { dir: string }> {
  requireTools();
  // A session's PATH holds this directory's stand-ins and a minimal host's utilities, as the
  // sandbox's hosts have them: no JVM, package manager or build tool of this machine answers.
  const base = join(dir, 'base-utilities');
  if (!existsSync(base)) toolPath(base, baseUtilities.filter((tool) => systemDirs.some((d) => existsSync(join(d, tool)))));
  const hosts = await startSshHosts({
    dir,
    count,
    env: (root) => ({ PATH: `${toolbox}:${base}`, AGENT_INSTALL_ROOT: root, HOME: join(root, 'root'), LANG: 'C.UTF-8' }),
  });
  return Object.assign(hosts, { dir });
}

/** A stand-in controller: only what the bootstrap fetches (agent.jar). */
export async function startController(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === '/jnlpJars/agent.jar') {
      res.writeHead(200, { 'content-type': 'application/java-archive' });
      res.end('PK fake agent.jar');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('controller stand-in has no port');
  return { url: `http://127.0.0.1:${address.port}/`, server };
}

/** A fleet with one static pool over the given hosts; `settings` are extra pool lines (host-key policy...). */
export function staticFleet(controllerUrl: string, hosts: SshHosts, settings: Record<string, Setting>, hostList = hosts.hosts): Fleet {
  const pool = staticPool('rack', hostList.map((h) => ({ address: h.address, port: h.port })), { sshUser: hosts.user, sshKeyEnv: undefined, sshKeyFile: hosts.keyFile, hostKeyPolicy: undefined, ...settings });
  return fleetOf([pool], { url: controllerUrl });
}
