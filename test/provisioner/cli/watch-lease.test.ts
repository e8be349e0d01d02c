// `watch`'s lease options at the CLI, without DynamoDB: what is refused before anything is
// contacted, each error naming the flag or the fleet file's field. Leadership itself, against
// DynamoDB: test/provisioner/lock/leadership.test.ts and test/e2e/ha.test.ts.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../../provisioner/src/cli/main.ts';
import { parseFleet } from '../../../provisioner/src/config/load.ts';
import { ec2Pool, fleetYaml } from '../../support/fleet.ts';
import { World } from '../../support/world.ts';

const dir = mkdtempSync(join(tmpdir(), 'cli-watch-lease-'));
const pools = [ec2Pool('awsDeploy', { count: 1, subnets: ['subnet-0000000a'] })];
const unlocked = join(dir, 'unlocked.yaml');
writeFileSync(unlocked, fleetYaml(pools, { url: 'http://jenkins.test/' }));
const locked = join(dir, 'locked.yaml');
writeFileSync(locked, `${fleetYaml(pools, { url: 'http://jenkins.test/' })}lock: { table: jenkins-fleet-bank-ci-locks, expireAfter: 10s }\n`);

async function run(config: string, args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const world = new World();
  const fleet = parseFleet(readFileSync(config, 'utf8'), config);
  const streams = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) }, stdin: Readable.from(['\n']) };
  // No AWS endpoint at all: a command that reached DynamoDB here would fail with a remote error.
  const code = await main(['--config', config, ...args], { streams, env: { JENKINS_API_TOKEN: 'test-token', HOME: dir }, connect: () => world.systems(fleet), now: () => world.now });
  return { code, out: out.join(''), err: err.join('') };
}

describe('watch --lease', () => {
  it.each([
    [['--lease', 'soon'], 'error: --lease: expected a duration from 10s to 1h such as 30s, found "soon"\n'],
    [['--lease', '5s'], 'error: --lease: expected a duration from 10s to 1h such as 30s, found "5s"\n'],
    [['--lease', '2h'], 'error: --lease: expected a duration from 10s to 1h such as 30s, found "2h"\n'],
    [['--tick', '5s', '--lease', '10s'], 'error: --lease: expected at least 3 ticks (15s with --tick 5s) so that the leading watch renews well within it, found "10s"\n'],
    [['--lock-timeout', '5m'], 'error: --lock-timeout: only --once waits for the run lock; a watch that runs on follows the leading one and takes over when it can (see --lease)\n'],
    [['--once', '--lease', '30s'], 'error: --lease: --once takes the run lock as up does (for lock.expireAfter); --lease is for a watch that runs on\n'],
  ])('watch %j is refused, naming the flag', async (args, message) => {
    const r = await run(locked, ['watch', ...args]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(message);
  });

  it('a lease shorter than three ticks from fleet.yaml names lock.expireAfter and the way out', async () => {
    const r = await run(locked, ['watch', '--tick', '5s']);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`error: ${locked}: lock.expireAfter: expected at least 3 ticks (15s with --tick 5s) so that the leading watch renews well within it, found 10s; raise it, or give watch --lease\n`);
  });

  it('--lease on a fleet without lock: says there is no lease to take', async () => {
    const r = await run(unlocked, ['watch', '--lease', '30s']);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`error: --lease: ${unlocked} has no lock: section, so there is no lease to take (lock: { table: NAME }, the lock_table output of terraform/jenkins)\n`);
  });
});
