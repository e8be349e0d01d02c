// End to end through the CLI, as a user runs it: `provisioner sandbox --ssh-hosts 2`, a static pool
// pasted from DIR/ssh-hosts.yaml (plus one host nobody answers on), `up` brings the reachable
// agents online in the sandbox's Jenkins over real SSH and fails only the unreachable one, and
// `down` removes the agents and leaves the hosts clean of the agent service. The agents' secrets
// show up in no process's argv and in no output.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JenkinsController } from '../../provisioner/src/jenkins/controller.ts';
import { fleetYaml, sandboxSshPool } from '../support/fleet.ts';
import { requireTools } from '../support/sshd.ts';

const cliPath = new URL('../../bin/provisioner.mjs', import.meta.url).pathname;
let dir: string;
let sandbox: ChildProcess;
let env: NodeJS.ProcessEnv;
let closedPort: number;

function cli(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

function ps(): Promise<string> {
  return new Promise((resolve) => execFile('ps', ['-eo', 'args', '--no-headers'], { maxBuffer: 8 << 20 }, (_e, out) => resolve(out)));
}

function hostRoots(): string[] {
  return readdirSync(join(dir, 'ssh-hosts'))
    .filter((d) => d.startsWith('host-'))
    .map((d) => join(dir, 'ssh-hosts', d, 'root'));
}

beforeAll(async () => {
  requireTools();
  dir = mkdtempSync(join(tmpdir(), 'ssh-e2e-'));
  sandbox = spawn(process.execPath, [cliPath, 'sandbox', '--state', dir, '--ssh-hosts', '2', '--agent-retry', '500ms'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, JENKINS_URL: '' },
  });
  let stderr = '';
  sandbox.stderr!.on('data', (chunk) => (stderr += chunk));
  const deadline = Date.now() + 30_000;
  while (!(existsSync(join(dir, 'env')) && existsSync(join(dir, 'ssh-hosts.yaml')) && stderr.includes('Ctrl-C'))) {
    if (sandbox.exitCode !== null || Date.now() > deadline) throw new Error(`the sandbox did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  env = { ...process.env };
  for (const match of readFileSync(join(dir, 'env'), 'utf8').matchAll(/^export ([A-Z_0-9]+)=(.*)$/gm)) {
    env[match[1]!] = match[2]!.replace(/^'(.*)'$/, '$1');
  }
  // A loopback port nobody listens on: the host that does not answer.
  closedPort = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
});

afterAll(async () => {
  if (sandbox && sandbox.exitCode === null) {
    const exited = new Promise((resolve) => sandbox.once('exit', resolve));
    sandbox.kill('SIGINT');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function writeFleet(extraHosts: string[]): void {
  const rack = sandboxSshPool('rack', readFileSync(join(dir, 'ssh-hosts.yaml'), 'utf8'), { labels: ['rack', 'python'], settings: { tools: ['python'] }, moreHosts: extraHosts });
  writeFileSync(join(dir, 'fleet.yaml'), fleetYaml([rack], { url: 'http://overridden-by-JENKINS_URL/' }));
}

describe('static SSH hosts through the CLI and the sandbox', () => {
  it('up: reachable hosts come online over real SSH, the unreachable one fails alone; down leaves the hosts clean', async () => {
    writeFleet([`{ address: 127.0.0.1, port: ${closedPort} }`]);
    const unreachable = `rack-h-127.0.0.1-${closedPort}`;

    const argv: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        argv.push(await ps());
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const up = await cli(['up', '--yes', '--timeout', '15s']);
    sampling = false;
    await sampler;

    expect(up.code, up.output).toBe(1);
    const controller = new JenkinsController({ url: env.JENKINS_URL!, user: env.JENKINS_USER!, token: env.JENKINS_API_TOKEN! });
    const nodes = await controller.listNodes();
    const reachable = nodes.filter((n) => n.name.startsWith('rack-') && n.name !== unreachable);
    expect(reachable).toHaveLength(2);
    expect(reachable.every((n) => n.online)).toBe(true);
    for (const node of reachable) expect(up.output).toContain(`${node.name}: online`);
    // One failure, naming the agent, the host and why.
    expect(up.output).toMatch(new RegExp(`${unreachable} \\(pool rack\\): bootstrap: connecting to 127\\.0\\.0\\.1:${closedPort}: sshd at 127\\.0\\.0\\.1:${closedPort} did not answer`));
    expect(up.output).toContain('1 agent step(s) failed');

    const secrets = await Promise.all(reachable.map((n) => controller.readSecret(n.name)));
    for (const secret of secrets) {
      expect(argv.join('\n')).not.toContain(secret);
      expect(up.output).not.toContain(secret);
      expect(readFileSync(join(dir, 'requests.log'), 'utf8')).not.toContain(secret);
    }
    expect(argv.some((a) => a.includes('agent.jar') && a.includes('-secret @'))).toBe(true);

    // The unreachable host stays out of the file for down: it could not be cleaned anyway.
    writeFleet([]);
    const down = await cli(['down', '--yes', '--timeout', '20s']);
    for (const node of reachable) expect(down.output).toContain(`${node.name}: removed`);
    // The node of the host that left the file (never bootstrapped) goes too.
    expect(down.code, down.output).toBe(0);
    expect(down.output).toContain(`${unreachable}: node deleted`);
    expect((await controller.listNodes()).filter((n) => n.name.startsWith('rack-'))).toEqual([]);
    for (const root of hostRoots()) {
      expect(existsSync(join(root, 'etc/systemd/system/jenkins-agent.service'))).toBe(false);
      expect(existsSync(join(root, 'etc/jenkins-agent/secret'))).toBe(false);
      expect(readdirSync(join(root, 'run/sandbox/units')).filter((f) => f.startsWith('jenkins-agent'))).toEqual([]);
    }
    const deadline = Date.now() + 10_000;
    while ((await ps()).split('\n').some((line) => line.includes(dir) && line.includes('/opt/jenkins-agent/agent.jar'))) {
      if (Date.now() > deadline) throw new Error(`agent processes still run on the SSH hosts:\n${(await ps()).split('\n').filter((l) => l.includes(dir)).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const again = await cli(['plan', '--detailed-exitcode']);
    expect(again.code, again.output).toBe(2); // the hosts are still in the file: up would bring them back
  });
});
