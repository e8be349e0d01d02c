// The run lock at the CLI, without DynamoDB: what is refused before anything is contacted
// (`--lock-timeout`, force-unlock of a fleet without `lock:`, force-unlock where nobody can confirm),
// and the warning a fleet without `lock:` gets on every up and down. The lock itself, against
// DynamoDB: test/provisioner/lock/run-lock.test.ts and test/e2e/lock.test.ts.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../../provisioner/src/cli/main.ts';
import { parseFleet } from '../../../provisioner/src/config/load.ts';
import { ec2Pool, fleetYaml } from '../../support/fleet.ts';
import { World } from '../../support/world.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-lock-'));
const unlocked = join(dir, 'unlocked.yaml');
writeFileSync(unlocked, fleetYaml([ec2Pool('awsDeploy', { count: 1, subnets: ['subnet-0000000a'] })], { url: 'http://jenkins.test/' }));
const locked = join(dir, 'locked.yaml');
writeFileSync(locked, `${fleetYaml([ec2Pool('awsDeploy', { count: 1, subnets: ['subnet-0000000a'] })], { url: 'http://jenkins.test/' })}lock: { table: jenkins-fleet-bank-ci-locks }\n`);

async function run(config: string, args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const world = new World();
  const fleet = parseFleet(readFileSync(config, 'utf8'), config);
  const streams = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) }, stdin: Readable.from(['\n']) };
  // No AWS endpoint at all: a command that reached DynamoDB here would fail with a remote error.
  const code = await main(['--config', config, ...args], { streams, env: { JENKINS_API_TOKEN: 'test-token', HOME: dir }, connect: () => world.systems(fleet), now: () => world.now });
  return { code, out: out.join(''), err: err.join(''), world };
}

describe('the run lock at the CLI', () => {
  it('up and down on a fleet without lock: act, and say on every run that nothing keeps another run out', async () => {
    const up = await run(unlocked, ['up', '--yes', '--timeout', '5s']);
    expect(up.code, up.err).toBe(0);
    expect(up.err).toContain(`warning: ${unlocked} has no lock: section, so nothing keeps another up or down on fleet bank-ci from acting at the same time (see "The run lock" in README.md)`);
    const down = await run(unlocked, ['down', '--yes']);
    expect(down.code, down.err).toBe(0);
    expect(down.err).toContain('has no lock: section');
  });

  it('refuses a malformed --lock-timeout, naming the flag, before the lock is asked for', async () => {
    const up = await run(locked, ['up', '--yes', '--lock-timeout', 'soon']);
    expect(up.code).toBe(1);
    expect(up.err).toBe('error: --lock-timeout: expected a duration such as 0s, 90s or 10m, found "soon"\n');
  });

  it('force-unlock needs the fleet to have a lock, and --force where nobody can confirm', async () => {
    const none = await run(unlocked, ['force-unlock', '--force', 'some-id']);
    expect(none.code).toBe(1);
    expect(none.err).toBe(`error: force-unlock: ${unlocked} has no lock: section, so fleet bank-ci has no run lock to break\n`);
    const unasked = await run(locked, ['force-unlock', 'some-id']);
    expect(unasked.code).toBe(1);
    expect(unasked.err).toBe('error: force-unlock: not on a terminal, so nobody can confirm; add --force to break the lock\n');
  });

  it('plan never asks for the lock, even of a fleet that has one', async () => {
    const plan = await run(locked, ['plan']);
    expect(plan.code, plan.err).toBe(0);
    expect(plan.err).toBe('');
  });
});
