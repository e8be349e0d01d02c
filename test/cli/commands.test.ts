import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { downCommand, ExitRequest, planCommand, statusCommand, upCommand, type Console } from '../../provisioner/src/cli/fleet.ts';
import type { CommandModule, GlobalOptions } from '../../provisioner/src/cli/main.ts';
import { parseFleet } from '../../provisioner/src/config/load.ts';
import { World } from '../apply/world.ts';

const text = `fleet: bank-ci
region: us-east-1
controller: {url: 'http://jenkins.test/', user: provisioner}
pools:
  - name: awsDeploy
    count: 2
    labels: [awsDeploy]
    instanceType: t3.medium
    image: ami-0123456789abcdef0
    subnets: [subnet-0000000a]
    securityGroups: [sg-0123456789abcdef0]
    instanceProfile: agent
`;
const dir = mkdtempSync(join(tmpdir(), 'fleet-commands-'));
const config = join(dir, 'fleet.yaml');
writeFileSync(config, text);
const fleet = parseFleet(text, config);

/** Runs one command against the in-memory world, as a user on a terminal (or not) would. */
async function run(make: (deps: object) => CommandModule, args: string[], world: World, options: { tty?: boolean; answer?: string } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Console = { out: (t) => out.push(t), err: (t) => err.push(t), isTTY: options.tty ?? false, ask: async () => options.answer ?? '' };
  const cli = new Command('provisioner').option('-c, --config <path>').exitOverride();
  make({ console: io, env: { JENKINS_API_TOKEN: 'test-token' }, connect: () => world.systems(fleet), now: () => world.now })(cli, () => cli.opts<GlobalOptions>());
  let code = 0;
  try {
    await cli.parseAsync(['--config', config, ...args], { from: 'user' });
  } catch (e) {
    if (e instanceof ExitRequest) code = e.code;
    else throw e;
  }
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('the fleet commands', () => {
  it('plan --json lists the actions; --detailed-exitcode says 2 while changes are pending, 0 after up', async () => {
    const world = new World();
    const planned = await run(planCommand, ['plan', '--json', '--detailed-exitcode'], world);
    expect(planned.code).toBe(2);
    expect(JSON.parse(planned.out)).toEqual({ fleet: 'bank-ci', actions: [expect.objectContaining({ type: 'launch', pool: 'awsDeploy', count: 2 })] });
    expect(world.calls).toEqual([]);
    await run(upCommand, ['up', '--yes', '--timeout', '5s'], world);
    expect((await run(planCommand, ['plan', '--detailed-exitcode'], world)).code).toBe(0);
  });

  it('up --json prints the actions, the agents online and no failures', async () => {
    const world = new World();
    const up = await run(upCommand, ['up', '--yes', '--json', '--timeout', '5s'], world);
    const report = JSON.parse(up.out);
    expect(report.online).toHaveLength(2);
    expect(report.failures).toEqual([]);
    expect(report.actions).toHaveLength(1);
  });

  it('up on a terminal changes nothing unless the answer is yes', async () => {
    const world = new World();
    const refused = await run(upCommand, ['up'], world, { tty: true, answer: 'y' });
    expect(refused.out).toContain('Nothing changed.');
    expect(world.calls).toEqual([]);
    await run(upCommand, ['up', '--timeout', '5s'], world, { tty: true, answer: 'yes' });
    expect(world.nodes.size).toBe(2);
  });

  it('status --json shows each agent with its node and instance, and no orphans', async () => {
    const world = new World();
    await run(upCommand, ['up', '--yes', '--timeout', '5s'], world);
    const status = JSON.parse((await run(statusCommand, ['status', '--json'], world)).out);
    expect(status.pools[0]).toMatchObject({ name: 'awsDeploy', desired: 2 });
    expect(status.pools[0].agents).toEqual([
      expect.objectContaining({ online: true, idle: true, instanceState: 'running' }),
      expect.objectContaining({ online: true, idle: true, instanceState: 'running' }),
    ]);
    expect(status.orphans).toEqual({ instances: [], nodes: [] });
  });

  it('down --pool removes that pool after showing what goes', async () => {
    const world = new World();
    await run(upCommand, ['up', '--yes', '--timeout', '5s'], world);
    const down = await run(downCommand, ['down', '--yes', '--pool', 'awsDeploy', '--timeout', '5s'], world);
    expect(down.out).toContain('drain and remove awsDeploy-i-');
    expect(down.out).toContain('Done: pool awsDeploy removed.');
    expect(world.nodes.size).toBe(0);
  });

  it('up with an SSH pool whose key is missing says so before contacting anything', async () => {
    const world = new World();
    const sshText = `${text}  - name: rack
    labels: [rack]
    transport: ssh
    sshUser: ci
    sshKeyEnv: RACK_SSH_KEY
    hostKeyPolicy: accept-new
    hosts: [{address: 10.1.0.5}]
`;
    const sshConfig = join(dir, 'ssh-fleet.yaml');
    writeFileSync(sshConfig, sshText);
    const cli = new Command('provisioner').option('-c, --config <path>').exitOverride();
    const io: Console = { out: () => {}, err: () => {}, isTTY: false, ask: async () => '' };
    let connected = false;
    const connect = () => {
      connected = true;
      return world.systems(parseFleet(sshText, sshConfig));
    };
    upCommand({ console: io, env: { JENKINS_API_TOKEN: 'test-token', HOME: dir }, connect, now: () => world.now })(cli, () => cli.opts<GlobalOptions>());
    await expect(cli.parseAsync(['--config', sshConfig, 'up', '--yes'], { from: 'user' })).rejects.toThrow(
      'the environment variable RACK_SSH_KEY (sshKeyEnv of pool rack) is not set or empty; it must hold the SSH private key',
    );
    expect(connected).toBe(false);
  });
});
