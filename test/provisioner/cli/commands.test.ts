import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Streams } from '../../../provisioner/src/cli/io.ts';
import { main } from '../../../provisioner/src/cli/main.ts';
import { parseFleet } from '../../../provisioner/src/config/load.ts';
import { ec2Pool, fleetYaml, staticPool } from '../../support/fleet.ts';
import { World } from '../../support/world.ts';

const awsDeploy = ec2Pool('awsDeploy', { count: 2, subnets: ['subnet-0000000a'] });
const text = fleetYaml([awsDeploy], { url: 'http://jenkins.test/' });
const dir = mkdtempSync(join(tmpdir(), 'fleet-commands-'));
const config = join(dir, 'fleet.yaml');
writeFileSync(config, text);

/** The byte every terminal control sequence starts with. */
const escape = String.fromCharCode(0x1b);

/** Standard streams in memory: a terminal on both ends (tty) or not, and what a person types. */
function memoryStreams(options: { tty?: boolean; answer?: string }) {
  const out: string[] = [];
  const err: string[] = [];
  const stdin = Object.assign(Readable.from([`${options.answer ?? ''}\n`]), { isTTY: options.tty ?? false });
  const streams: Streams = { stdout: { write: (t: string) => out.push(t), isTTY: options.tty ?? false }, stderr: { write: (t: string) => err.push(t) }, stdin };
  return { streams, out, err };
}

/** Runs the CLI against the in-memory world, as a user on a terminal (or not) would. */
async function run(args: string[], world: World, options: { tty?: boolean; answer?: string; fleetText?: string; configPath?: string } = {}) {
  const { streams, out, err } = memoryStreams(options);
  const fleet = parseFleet(options.fleetText ?? text, options.configPath ?? config);
  let connected = false;
  const connect = () => {
    connected = true;
    return world.systems(fleet);
  };
  const code = await main(['--config', options.configPath ?? config, ...args], { streams, env: { JENKINS_API_TOKEN: 'test-token', HOME: dir }, connect, now: () => world.now });
  return { code, out: out.join(''), err: err.join(''), connected };
}

describe('the fleet commands', () => {
  it('plan --json lists the actions; --detailed-exitcode says 2 while changes are pending, 0 after up', async () => {
    const world = new World();
    const planned = await run(['plan', '--json', '--detailed-exitcode'], world);
    expect(planned.code).toBe(2);
    expect(JSON.parse(planned.out)).toEqual({ fleet: 'bank-ci', actions: [expect.objectContaining({ type: 'launch', pool: 'awsDeploy', count: 2 })], drift: [], rollouts: [] });
    expect(world.calls).toEqual([]);
    await run(['up', '--yes', '--timeout', '5s'], world);
    expect((await run(['plan', '--detailed-exitcode'], world)).code).toBe(0);
  });

  it('plan shows each difference from the file field by field, in its output and under --json; up makes them right', async () => {
    const world = new World();
    await run(['up', '--yes', '--timeout', '5s'], world);
    const changedPath = join(dir, 'changed.yaml');
    const changed = fleetYaml([ec2Pool('awsDeploy', { count: 2, subnets: ['subnet-0000000a'], settings: { executors: 3, rootVolumeGiB: 64 } })], { url: 'http://jenkins.test/' });
    writeFileSync(changedPath, changed);
    const options = { fleetText: changed, configPath: changedPath };
    const human = await run(['plan', '--detailed-exitcode'], world, options);
    expect(human.code).toBe(2);
    expect(human.out).toMatch(/-\/\+ replace awsDeploy-i-\w+\n {6}rootVolumeGiB: "30" -> "64"/);
    expect(human.out).toContain('Rolling replacement:\n  pool awsDeploy: 2 out of date');
    const json = JSON.parse((await run(['plan', '--json'], world, options)).out);
    expect(json.drift).toEqual([
      expect.objectContaining({ how: 'replace', changes: [{ field: 'rootVolumeGiB', from: '30', to: '64' }] }),
      expect.objectContaining({ how: 'replace', changes: [{ field: 'rootVolumeGiB', from: '30', to: '64' }] }),
    ]);
    const up = await run(['up', '--yes', '--timeout', '10s'], world, options);
    expect(up.code, up.err).toBe(0);
    expect((await run(['plan', '--detailed-exitcode'], world, options)).code).toBe(0);
    expect([...world.nodes.values()].map((n) => n.executors)).toEqual([3, 3]);
  });

  it('plan shows a node setting to update in place, and up updates it without replacing the agent', async () => {
    const world = new World();
    await run(['up', '--yes', '--timeout', '5s'], world);
    const before = [...world.instances.keys()];
    const changedPath = join(dir, 'labels.yaml');
    const changed = fleetYaml([ec2Pool('awsDeploy', { count: 2, subnets: ['subnet-0000000a'], labels: ['awsDeploy', 'docker'], settings: { mode: 'EXCLUSIVE' } })], { url: 'http://jenkins.test/' });
    writeFileSync(changedPath, changed);
    const options = { fleetText: changed, configPath: changedPath };
    const human = await run(['plan'], world, options);
    expect(human.out).toMatch(/~ update in place awsDeploy-i-\w+\n {6}labels: "awsDeploy" -> "awsDeploy docker"\n {6}mode: "NORMAL" -> "EXCLUSIVE"/);
    expect(human.out).toContain('to update in place');
    expect((await run(['up', '--yes', '--timeout', '5s'], world, options)).code).toBe(0);
    expect([...world.instances.keys()]).toEqual(before);
    expect([...world.nodes.values()].map((n) => [n.labels, n.mode])).toEqual([[['awsDeploy', 'docker'], 'EXCLUSIVE'], [['awsDeploy', 'docker'], 'EXCLUSIVE']]);
    expect((await run(['plan', '--detailed-exitcode'], world, options)).code).toBe(0);
  });

  it('up --json prints the actions, the agents online and no failures', async () => {
    const world = new World();
    const up = await run(['up', '--yes', '--json', '--timeout', '5s'], world);
    const report = JSON.parse(up.out);
    expect(report.online).toHaveLength(2);
    expect(report.failures).toEqual([]);
    expect(report.actions).toHaveLength(1);
  });

  it('up on a terminal changes nothing unless the answer is yes', async () => {
    const world = new World();
    const refused = await run(['up'], world, { tty: true, answer: 'y' });
    expect(refused.out).toContain('Nothing changed.');
    expect(world.calls).toEqual([]);
    await run(['up', '--timeout', '5s'], world, { tty: true, answer: 'yes' });
    expect(world.nodes.size).toBe(2);
  });

  it('status --json shows each agent with its node and instance, and no orphans', async () => {
    const world = new World();
    await run(['up', '--yes', '--timeout', '5s'], world);
    const status = JSON.parse((await run(['status', '--json'], world)).out);
    expect(status.pools[0]).toMatchObject({ name: 'awsDeploy', desired: 2 });
    expect(status.pools[0].agents).toEqual([
      expect.objectContaining({ online: true, idle: true, instanceState: 'running' }),
      expect.objectContaining({ online: true, idle: true, instanceState: 'running' }),
    ]);
    expect(status.orphans).toEqual({ instances: [], nodes: [] });
  });

  it('down names --force when a busy agent outlasts the timeout, and down --force plans it as not waited for', async () => {
    const world = new World();
    await run(['up', '--yes', '--timeout', '5s'], world);
    const busy = [...world.nodes.values()][0]!;
    busy.idle = false;
    const waited = await run(['down', '--yes', '--timeout', '1s'], world);
    expect(waited.code).toBe(1);
    expect(waited.out).toContain('busy: waits for its build');
    expect(waited.err).toContain(`${busy.name} (pool awsDeploy): drain: still running a build at the timeout: it stays drained (no new builds); run \`provisioner down\` again once its build has ended, give it longer with --timeout, or remove it at once with --force`);
    const forced = await run(['down', '--yes', '--force', '--timeout', '5s'], world);
    expect(forced.code, forced.err).toBe(0);
    expect(forced.out).toContain('busy: removed without waiting for its build (--force)');
    expect(forced.out).not.toContain('waits for its build');
  });

  it('down --pool removes that pool after showing what goes', async () => {
    const world = new World();
    await run(['up', '--yes', '--timeout', '5s'], world);
    const down = await run(['down', '--yes', '--pool', 'awsDeploy', '--timeout', '5s'], world);
    expect(down.out).toContain('drain and remove awsDeploy-i-');
    expect(down.out).toContain('Done: pool awsDeploy removed.');
    expect(world.nodes.size).toBe(0);
  });

  it('up with an SSH pool whose key is missing says so before contacting anything', async () => {
    const world = new World();
    const fleetText = fleetYaml([awsDeploy, staticPool('rack', [{ address: '10.1.0.5' }])], { url: 'http://jenkins.test/' });
    const configPath = join(dir, 'ssh-fleet.yaml');
    writeFileSync(configPath, fleetText);
    const up = await run(['up', '--yes'], world, { fleetText, configPath });
    expect(up.code).toBe(1);
    expect(up.err).toBe('error: the environment variable RACK_SSH_KEY (sshKeyEnv of pool rack) is not set or empty; it must hold the SSH private key\n');
    expect(up.connected).toBe(false);
  });

  it('draws the progress table only where standard output is a terminal, and no control code anywhere else', async () => {
    const plain = await run(['up', '--yes', '--timeout', '5s'], new World());
    expect(plain.out).toMatch(/awsDeploy-i-\S+: online/);
    expect(plain.out + plain.err).not.toContain(escape);
    const terminal = await run(['up', '--yes', '--timeout', '5s'], new World(), { tty: true });
    expect(terminal.out).toMatch(/POOL\s+LAUNCHED\s+RUNNING\s+REGISTERED\s+ONLINE/);
    expect(terminal.out).not.toMatch(/: online$/m);
  });

  it('keeps standard output for the JSON document under --json: progress goes to standard error', async () => {
    const up = await run(['up', '--yes', '--json', '--timeout', '5s'], new World(), { tty: true });
    expect(JSON.parse(up.out)).toMatchObject({ fleet: 'bank-ci', failures: [] });
    expect(up.err).toMatch(/awsDeploy-i-\S+: online/);
    expect(up.out + up.err).not.toContain(escape);
  });
});
