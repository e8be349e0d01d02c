// The run lock end to end: real `provisioner` processes against the sandbox, whose DynamoDB table
// (dynalite, under provisioner-iam) holds the fleet's lock. Two `up`s at once: one acts, the other
// fails naming the holder, or waits with --lock-timeout and then acts; a holder killed with -9 on
// this machine is taken over at once, one elsewhere (another PID namespace) leaves a lock that
// `force-unlock ID` breaks and that expires by itself after lock.expireAfter; SIGTERM releases it;
// `plan` takes none.
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Leases, type LeaseState } from '../../provisioner/src/aws/lease.ts';
import { alive, converged, counts, eventually, Sandbox, type Run } from './harness.ts';

const sandbox = new Sandbox(['--boot-delay', '1s', '--ssm-online-delay', '1s', '--terminated-linger', '5s']);
let client: DynamoDBClient;
let leases: Leases;

beforeAll(async () => {
  await sandbox.start();
  // The account's administrator (any key but the provisioner's), to look at the lock as it is.
  client = new DynamoDBClient({ region: sandbox.env.AWS_REGION, endpoint: sandbox.env.AWS_ENDPOINT_URL_DYNAMODB, maxAttempts: 1, credentials: { accessKeyId: 'AKIAADMINISTRATOR000', secretAccessKey: 'x' } });
  leases = new Leases({ client, table: 'jenkins-fleet-bank-ci-locks' });
});
afterAll(async () => {
  client?.destroy();
  await sandbox.stop();
});

/** examples/fleet.yaml with only awsDeploy, `n` agents, and a short lock expiry so a crashed holder's lock expires within the test. */
const fleetOf = (n: number) => sandbox.fleet((f) => {
  counts(f, { awsDeploy: n });
  f.pools = f.pools.filter((p: { name: string }) => p.name === 'awsDeploy');
  f.lock.expireAfter = '10s';
});

const lock = (): Promise<LeaseState> => leases.describe('fleet/bank-ci');
const heldBy = (pid: number | undefined) => eventually(`the lock to be held by pid ${pid}`, async () => ((await lock()).details?.pid === String(pid) ? true : undefined), 60_000);
const output = (run: Run) => `${run.stdout}${run.stderr}`;

const bin = new URL('../../bin/provisioner.mjs', import.meta.url).pathname;
const ourPidNamespace = readlinkSync('/proc/self/ns/pid');

/**
 * `provisioner` in a PID namespace of its own (util-linux unshare), as on another machine or in
 * another container: its pid means nothing here, so its lock cannot be presumed dead. Killing
 * unshare kills it (--kill-child).
 */
function elsewhere(config: string, args: string[]): Promise<Run> & { child: ChildProcess } {
  const unprivileged = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user'];
  const child = spawn('unshare', [...unprivileged, '--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL', process.execPath, bin, '--config', config, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sandbox.dir, ...sandbox.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => { stdout += c; });
  child.stderr!.on('data', (c: Buffer) => { stderr += c; });
  child.once('error', (err) => { stderr += `unshare (util-linux, with PID namespaces) is needed for this test: ${err.message}`; });
  const done = new Promise<Run>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr }))) as Promise<Run> & { child: ChildProcess };
  done.child = child;
  return done;
}

/** The lock, once an up in another PID namespace holds it. */
const heldElsewhere = () => eventually('the lock to be held from another PID namespace', async () => {
  const state = await lock();
  return state.details?.command === 'up' && state.details.pidns && state.details.pidns !== ourPidNamespace ? state : undefined;
}, 60_000);

/** Bootstrap commands sent to each instance (SendCommand invocations), by instance id. */
async function bootstraps(): Promise<Record<string, number>> {
  const counted: Record<string, number> = {};
  for (const command of (await sandbox.state()).commands) for (const i of command.invocations) counted[i.instanceId] = (counted[i.instanceId] ?? 0) + 1;
  return counted;
}

describe('two runs on the same fleet never act at once', () => {
  it('two ups started together: one acts, the other fails at once naming the holder, and every host is bootstrapped once', async () => {
    const config = fleetOf(2);
    const first = sandbox.provisioner(config, ['up', '--yes', '--timeout', '90s']);
    const second = sandbox.provisioner(config, ['up', '--yes', '--timeout', '90s']);
    const runs = await Promise.all([first, second]);
    const pids = [first.child.pid, second.child.pid];
    expect(runs.map((r) => r.code).sort(), runs.map(output).join('\n----\n')).toEqual([0, 1]);
    const winner = runs.findIndex((r) => r.code === 0);
    const loser = runs[1 - winner]!;
    expect(loser.stderr).toContain('error: the run lock of fleet bank-ci is held by another run, so this up did not start; lock info (DynamoDB table jenkins-fleet-bank-ci-locks in us-east-1):');
    expect(loser.stderr).toMatch(new RegExp(`error:   Who: +\\S+@\\S+ \\(pid ${pids[winner]}\\)`));
    expect(loser.stderr).toMatch(/error:   ID: +[0-9a-f-]{36}\n/);
    expect(loser.stderr).toMatch(/provisioner force-unlock [0-9a-f-]{36}/);
    expect(loser.stdout).toBe('');
    const state = await sandbox.state();
    expect(converged(state, { awsDeploy: 2 })).toEqual([]);
    expect(state.instances.filter((i) => i.tags['jenkins-fleet:fleet'] === 'bank-ci')).toHaveLength(2);
    expect(Object.values(await bootstraps())).toEqual([1, 1]);
    expect((await lock()).lockId).toBeUndefined();
  });

  it('with --lock-timeout the second up waits, says for whom, and acts once the first is done', async () => {
    const config = fleetOf(3);
    const first = sandbox.provisioner(config, ['up', '--yes', '--timeout', '90s']);
    await heldBy(first.child.pid);
    const second = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '90s', '--lock-timeout', '2m']);
    const done = await first;
    expect(done.code, output(done)).toBe(0);
    expect(second.code, output(second)).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`Waiting up to 120 s for the run lock of fleet bank-ci, held by up by \\S+ \\(pid ${first.child.pid}\\) \\(lock ID [0-9a-f-]{36}\\)`));
    expect(second.stderr).toMatch(/Took the run lock of fleet bank-ci after \d+ s/);
    expect(second.stdout).toContain('fleet bank-ci matches fleet.yaml');
    const state = await sandbox.state();
    expect(converged(state, { awsDeploy: 3 })).toEqual([]);
    expect(Object.values(await bootstraps()).every((n) => n === 1)).toBe(true);
  });

  it('plan and status take no lock: they run while another holds it, and down does not', async () => {
    const ready = await sandbox.provisioner(fleetOf(3), ['up', '--yes', '--timeout', '90s']);
    expect(ready.code, output(ready)).toBe(0);
    const before = sandbox.requests().length;
    const taken = await leases.acquire('fleet/bank-ci', 'up by someone else', 60_000, { command: 'up', who: 'alice', host: 'build-7', pid: '4242' });
    expect(taken.acquired).toBe(true);
    try {
      // The sandbox logs a call just after answering it: wait for this one's line before counting.
      await eventually('the acquisition in requests.log', () => sandbox.requests(before).some((r) => r.service === 'dynamodb' && r.mutating));
      const from = sandbox.requests().length;
      const plan = await sandbox.provisioner(fleetOf(3), ['plan']);
      expect(plan.code, output(plan)).toBe(0);
      const status = await sandbox.provisioner(fleetOf(3), ['status']);
      expect(status.code, output(status)).toBe(0);
      expect(sandbox.requests(from).filter((r) => r.service === 'dynamodb'), JSON.stringify(sandbox.requests(from))).toEqual([]);
      const down = await sandbox.provisioner(fleetOf(3), ['down', '--yes']);
      expect(down.code).toBe(1);
      expect(down.stderr).toContain('so this down did not start');
      expect(down.stderr).toContain('error:   Who:      alice@build-7 (pid 4242)');
      expect(alive(await sandbox.state())).toHaveLength(3);
    } finally {
      if (taken.acquired) await leases.release(taken.lease);
    }
  });
});

describe('a lock left by a run that died', () => {
  it('kill -9 of a holder on this machine: the next up takes the lock over at once, naming the dead run, and finishes the work', async () => {
    const killed = sandbox.provisioner(fleetOf(4), ['up', '--yes', '--timeout', '90s']);
    await heldBy(killed.child.pid);
    killed.child.kill('SIGKILL');
    await killed;
    const left = await lock();
    expect(left.details?.pid).toBe(String(killed.child.pid));
    const resumed = await sandbox.provisioner(fleetOf(4), ['up', '--yes', '--timeout', '90s']);
    expect(resumed.code, output(resumed)).toBe(0);
    expect(resumed.stderr).toContain(`Took over the run lock of fleet bank-ci from up by ${left.details!.who}@${left.details!.host} (pid ${killed.child.pid}) (lock ID ${left.lockId}), which no longer runs on this machine`);
    expect(converged(await sandbox.state(), { awsDeploy: 4 })).toEqual([]);
    expect((await lock()).epoch).toBe(left.epoch + 1);
  });

  it('kill -9 of a holder elsewhere (its own PID namespace, as another container or machine): the lock stays; force-unlock breaks it only by its ID and after confirmation', async () => {
    const killed = elsewhere(fleetOf(5), ['up', '--yes', '--timeout', '90s']);
    const left = await heldElsewhere();
    killed.child.kill('SIGKILL');
    await killed;
    expect(await lock()).toMatchObject({ lockId: left.lockId, details: { pid: left.details!.pid } });

    const refused = await sandbox.provisioner(fleetOf(5), ['up', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error:   ID:       ${left.lockId}`);
    expect(refused.stderr).toContain(`(pid ${left.details!.pid})`);

    const wrong = await sandbox.provisioner(fleetOf(5), ['force-unlock', '--force', '00000000-0000-0000-0000-000000000000']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('error: force-unlock: the run lock of fleet bank-ci is not held under ID 00000000-0000-0000-0000-000000000000; it is held under another ID:');
    const unasked = await sandbox.provisioner(fleetOf(5), ['force-unlock', left.lockId!]);
    expect(unasked.code).toBe(1);
    expect(unasked.stderr).toContain('error: force-unlock: not on a terminal, so nobody can confirm; add --force to break the lock');
    expect((await lock()).lockId).toBe(left.lockId);

    const broken = await sandbox.provisioner(fleetOf(5), ['force-unlock', '--force', left.lockId!]);
    expect(broken.code, output(broken)).toBe(0);
    expect(broken.stdout).toContain(`The run lock of fleet bank-ci is broken (lock ID ${left.lockId}); the next up or down takes it.`);
    expect(await lock()).toEqual({ name: 'fleet/bank-ci', epoch: left.epoch });

    const resumed = await sandbox.provisioner(fleetOf(5), ['up', '--yes', '--timeout', '90s']);
    expect(resumed.code, output(resumed)).toBe(0);
    expect(converged(await sandbox.state(), { awsDeploy: 5 })).toEqual([]);
  });

  it('kill -9 of a holder elsewhere leaves a lock that expires by itself after lock.expireAfter; an up waiting with --lock-timeout takes it over then', async () => {
    const killed = elsewhere(fleetOf(6), ['up', '--yes', '--timeout', '90s']);
    await heldElsewhere();
    killed.child.kill('SIGKILL');
    await killed;
    const left = await lock();
    // Never renewed again: it expires expireAfter (10 s) after its last renewal.
    expect(left.expiresAt! - left.renewedAt!).toBe(10_000);
    const from = sandbox.requests().length;
    const waiting = await sandbox.provisioner(fleetOf(6), ['up', '--yes', '--timeout', '90s', '--lock-timeout', '1m']);
    expect(waiting.code, output(waiting)).toBe(0);
    expect(waiting.stderr).toContain(`Waiting up to 60 s for the run lock of fleet bank-ci, held by up by`);
    const after = await lock();
    expect(after.lockId).toBeUndefined();
    expect(after.epoch).toBe(left.epoch + 1);
    expect(converged(await sandbox.state(), { awsDeploy: 6 })).toEqual([]);
    // The takeover (the first write that succeeded after the kill) came no earlier than the dead holder's lock expired.
    const takeover = sandbox.requests(from).find((r) => r.service === 'dynamodb' && r.action === 'UpdateItem' && r.mutating);
    expect(Date.parse(takeover!.t)).toBeGreaterThanOrEqual(left.expiresAt!);
  });

  it('SIGTERM ends an up and releases its lock on the way out', async () => {
    const stopped = sandbox.provisioner(fleetOf(8), ['up', '--yes', '--timeout', '90s']);
    await heldBy(stopped.child.pid);
    stopped.child.kill('SIGTERM');
    const run = await stopped;
    expect(run.code, output(run)).toBe(143);
    expect(run.stderr).toContain('SIGTERM: releasing the run lock of fleet bank-ci');
    expect((await lock()).lockId).toBeUndefined();
  });
});
