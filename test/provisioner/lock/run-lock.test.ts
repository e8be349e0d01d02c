import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Leases, leaseKeyAttribute } from '../../../provisioner/src/aws/lease.ts';
import { UserError } from '../../../provisioner/src/errors.ts';
import { acquireRunLock, forceUnlockRun, readRunLock, RunLockHeld, RunLockLost, withRunLock } from '../../../provisioner/src/lock/run-lock.ts';
import type { Fleet } from '../../../provisioner/src/model.ts';

// The run lock over the real DynamoDB API as dynalite implements it, on loopback, with real timers:
// the leases here last a few hundred milliseconds so that renewal and expiry can be watched.
const TABLE = 'jenkins-fleet-locks';

interface Dynamo {
  server: Server;
  client: DynamoDBClient;
  leases: (table?: string) => Leases;
  stop(): Promise<void>;
}

async function startDynamo(): Promise<Dynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint, maxAttempts: 1, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' } });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: leaseKeyAttribute, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: leaseKeyAttribute, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return {
    server,
    client,
    leases: (table = TABLE) => new Leases({ client, table, endpoint: `DynamoDB at ${endpoint}` }),
    async stop() {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let dynamo: Dynamo;
beforeAll(async () => {
  dynamo = await startDynamo();
});
afterAll(async () => {
  await dynamo?.stop();
});

let serial = 0;
function fleetWithLock(expireAfter = 60_000): Fleet {
  return { fleet: `lock-test-${++serial}`, region: 'us-east-1', source: '/tmp/fleet.yaml', pools: [], lock: { table: TABLE, region: 'us-east-1', expireAfter } } as unknown as Fleet;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const me = `${userInfo().username}@${hostname()} (pid ${process.pid})`;

async function eventually(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('one run at a time holds a fleet\'s run lock', () => {
  it('records who holds it (command, user, host, pid) and frees it on release', async () => {
    const fleet = fleetWithLock();
    const lock = await acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false });
    const held = await readRunLock(fleet, dynamo.leases());
    expect(held).toMatchObject({ name: `fleet/${fleet.fleet}`, lockId: lock.id, epoch: 1, holder: `up by ${me}`, details: { command: 'up', who: userInfo().username, host: hostname(), pid: String(process.pid) } });
    expect(lock.holder).toMatchObject({ command: 'up', who: userInfo().username, host: hostname(), pid: String(process.pid) });
    expect(await lock.release()).toBe(true);
    expect(await readRunLock(fleet, dynamo.leases())).toEqual({ name: `fleet/${fleet.fleet}`, epoch: 1 });
    expect(await lock.release()).toBe(false);
  });

  it('refuses a second run at once (no --lock-timeout), naming the holder, since when, and how to break it', async () => {
    const fleet = fleetWithLock();
    const first = await acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false });
    const refused = await acquireRunLock(fleet, 'down', { leases: dynamo.leases(), handleSignals: false }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RunLockHeld);
    const lines = (refused as RunLockHeld).lines;
    expect(lines[0]).toBe(`the run lock of fleet ${fleet.fleet} is held by another run, so this down did not start; lock info (DynamoDB table ${TABLE} in us-east-1):`);
    expect(lines[1]).toBe(`  ID:       ${first.id}`);
    expect(lines[2]).toBe('  Command:  up');
    expect(lines[3]).toBe(`  Who:      ${me}`);
    expect(lines[4]).toMatch(/^ {2}Since: {4}\d{4}-\d\d-\d\dT[\d:.]+Z \(\d+ s ago\)$/);
    expect(lines[6]).toMatch(/^ {2}Expires: {2}\S+Z unless renewed$/);
    expect(lines[7]).toContain(`\`provisioner force-unlock ${first.id}\` breaks the lock now`);
    await first.release();
  });

  it('waits with a lock timeout, says so, and acts once the holder lets go', async () => {
    const fleet = fleetWithLock();
    const first = await acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false });
    const said: string[] = [];
    const waiting = acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false, timeout: 60_000, pollEvery: 100, notify: (l) => said.push(l) });
    await eventually('the second run to report that it waits', () => said.length > 0);
    expect(said[0]).toContain(`Waiting up to 60 s for the run lock of fleet ${fleet.fleet}, held by up by ${me} (lock ID ${first.id})`);
    await first.release();
    const second = await waiting;
    expect(second.epoch).toBe(2);
    expect(said.at(-1)).toContain(`Took the run lock of fleet ${fleet.fleet} after`);
    await second.release();
  });

  it('gives up when the lock timeout passes, saying how long it waited', async () => {
    const fleet = fleetWithLock();
    const first = await acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false });
    const refused = await acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false, timeout: 1_200, pollEvery: 200 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RunLockHeld);
    expect((refused as RunLockHeld).lines[0]).toMatch(/is held by another run \(waited 1 s\), so this up did not start/);
    await first.release();
  });
});

describe('a held lock is renewed, and its holder stops when it cannot be sure of it', () => {
  it('renews it every quarter of expireAfter, so nobody can take it over while the run goes on', async () => {
    const fleet = fleetWithLock(800);
    const lock = await acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false });
    const first = await readRunLock(fleet, dynamo.leases());
    await sleep(2_000);
    const later = await readRunLock(fleet, dynamo.leases());
    expect(later.lockId).toBe(lock.id);
    expect(later.renewedAt!).toBeGreaterThan(first.renewedAt!);
    expect(later.expiresAt!).toBeGreaterThan(Date.now());
    await expect(acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false })).rejects.toThrow(RunLockHeld);
    expect(() => lock.assertHeld()).not.toThrow();
    await lock.verify();
    await lock.release();
  });

  it('a lock whose holder stopped renewing (a crash) expires after expireAfter and is taken over with a higher epoch', async () => {
    const fleet = fleetWithLock(800);
    const crashed = await dynamo.leases().acquire(`fleet/${fleet.fleet}`, 'up by someone (pid 1)', 800);
    expect(crashed.acquired).toBe(true);
    await expect(acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false })).rejects.toThrow(RunLockHeld);
    await sleep(900);
    const next = await acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false });
    expect(next.epoch).toBe(2);
    await next.release();
  });

  it('broken by force-unlock, the holder learns it at its next renewal: signal aborted, onLost called, assertHeld throws', async () => {
    const fleet = fleetWithLock(800);
    const lost: RunLockLost[] = [];
    const lock = await acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false, onLost: (e) => lost.push(e) });
    await forceUnlockRun(fleet, lock.id, dynamo.leases());
    await eventually('the holder to notice', () => lock.signal.aborted);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.message).toContain(`the run lock of fleet ${fleet.fleet} is no longer held by this up: the lease fleet/${fleet.fleet} (epoch 1, lock ID ${lock.id}) is no longer held: it was released or broken`);
    expect(() => lock.assertHeld()).toThrow(RunLockLost);
    expect(await lock.release()).toBe(false);
  });

  it('stops acting before the lock can expire when DynamoDB cannot be reached to renew it', async () => {
    const own = await startDynamo();
    const fleet = fleetWithLock(1_200);
    const said: string[] = [];
    const lock = await acquireRunLock(fleet, 'up', { leases: own.leases(), handleSignals: false, notify: (l) => said.push(l) });
    const takenAt = Date.now();
    await own.stop();
    await eventually('the holder to give the lock up', () => lock.signal.aborted);
    // Three quarters of expireAfter after the last renewal at the latest: a quarter before anyone else may take it.
    expect(Date.now() - takenAt).toBeLessThan(1_200);
    expect((lock.signal.reason as Error).message).toMatch(/it could not be renewed since .* and expires at /);
    expect(said.some((l) => l.startsWith(`Could not renew the run lock of fleet ${fleet.fleet} (will try again)`))).toBe(true);
    expect(() => lock.assertHeld()).toThrow(RunLockLost);
  });
});

describe('a lock whose holder died on this very machine is taken over at once', () => {
  // Where pids mean this machine's processes: this boot, this PID namespace.
  const here = { host: hostname(), boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), pidns: readlinkSync('/proc/self/ns/pid') };
  const deadPid = () => String(spawnSync(process.execPath, ['-e', '']).pid);
  const holdAs = async (fleet: Fleet, details: Record<string, string>) => {
    const taken = await dynamo.leases().acquire(`fleet/${fleet.fleet}`, `up by someone (pid ${details.pid})`, 600_000, { command: 'up', who: 'someone', ...details });
    if (!taken.acquired) throw new Error('expected to take the lock');
    return taken.lease;
  };

  it('records where its pid is meaningful (boot and PID namespace)', async () => {
    const fleet = fleetWithLock();
    const lock = await acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false });
    expect((await readRunLock(fleet, dynamo.leases())).details).toMatchObject({ boot: here.boot, pidns: here.pidns });
    await lock.release();
  });

  it('takes over from a process of this machine that no longer runs, saying so, with a higher epoch', async () => {
    const fleet = fleetWithLock();
    const dead = await holdAs(fleet, { ...here, pid: deadPid() });
    const said: string[] = [];
    const lock = await acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false, notify: (l) => said.push(l) });
    expect(lock.epoch).toBe(2);
    expect(said).toEqual([`Took over the run lock of fleet ${fleet.fleet} from up by someone (pid ${dead.details!.pid}) (lock ID ${dead.lockId}), which no longer runs on this machine`]);
    await lock.release();
  });

  it('leaves the lock of a live process, and of a process elsewhere (another host, boot or PID namespace), to expiry or force-unlock', async () => {
    for (const details of [{ ...here, pid: String(process.ppid) }, { ...here, host: 'build-7', pid: deadPid() }, { ...here, boot: 'another-boot', pid: deadPid() }, { ...here, pidns: 'pid:[1]', pid: deadPid() }, { host: here.host, pid: deadPid() }]) {
      const fleet = fleetWithLock();
      await holdAs(fleet, details);
      await expect(acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false })).rejects.toThrow(RunLockHeld);
    }
  });
});

describe('withRunLock: what watch and the fleet commands run under', () => {
  it('releases the lock when the work fails, and passes the failure on', async () => {
    const fleet = fleetWithLock();
    await expect(withRunLock(fleet, 'watch', async () => { throw new Error('boom'); }, { leases: dynamo.leases(), handleSignals: false })).rejects.toThrow('boom');
    expect((await readRunLock(fleet, dynamo.leases())).lockId).toBeUndefined();
  });

  it('rejects at once with RunLockLost when the lock is broken under the work', async () => {
    const fleet = fleetWithLock(800);
    const outcome = withRunLock(
      fleet,
      'watch',
      async (lock) => {
        await forceUnlockRun(fleet, lock.id, dynamo.leases());
        await new Promise((resolve) => lock.signal.addEventListener('abort', resolve));
        return 'finished';
      },
      { leases: dynamo.leases(), handleSignals: false },
    );
    await expect(outcome).rejects.toThrow(RunLockLost);
  });

  it('returns what the work returns, the lock free again', async () => {
    const fleet = fleetWithLock();
    expect(await withRunLock(fleet, 'up', async (lock) => lock.epoch, { leases: dynamo.leases(), handleSignals: false })).toBe(1);
    expect((await readRunLock(fleet, dynamo.leases())).lockId).toBeUndefined();
  });
});

describe('force-unlock breaks a lock only by its ID', () => {
  it('refuses another ID, showing the lock, and a free lock', async () => {
    const fleet = fleetWithLock();
    const lock = await acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false });
    const wrong = await forceUnlockRun(fleet, 'not-the-id', dynamo.leases()).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(UserError);
    expect((wrong as UserError).problems[0]).toBe(`force-unlock: the run lock of fleet ${fleet.fleet} is not held under ID not-the-id; it is held under another ID:`);
    expect((wrong as UserError).problems[1]).toBe(`  ID:       ${lock.id}`);
    await lock.release();
    await expect(forceUnlockRun(fleet, lock.id, dynamo.leases())).rejects.toThrow(`force-unlock: the run lock of fleet ${fleet.fleet} is not held under ID ${lock.id}: it is free`);
  });

  it('says which table is missing, as a mistake of the fleet file or the account', async () => {
    const fleet = { ...fleetWithLock(), lock: { table: 'no-such-table', region: 'us-east-1', expireAfter: 60_000 } } as Fleet;
    const missing = await acquireRunLock(fleet, 'up', { leases: dynamo.leases('no-such-table'), handleSignals: false }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(UserError);
    expect((missing as Error).message).toMatch(/^\/tmp\/fleet\.yaml: lock\.table: the DynamoDB table no-such-table does not exist in us-east-1 \(DynamoDB at http:\/\/127\.0\.0\.1:\d+\); terraform\/jenkins creates it \(its output lock_table\)$/);
  });

  it('needs the fleet file to name the table', async () => {
    const fleet = { ...fleetWithLock(), lock: undefined } as Fleet;
    await expect(forceUnlockRun(fleet, 'x', dynamo.leases())).rejects.toThrow('/tmp/fleet.yaml: lock: expected the run lock\'s table (lock: { table: NAME }, the lock_table output of terraform/jenkins), found none');
  });
});

describe('the lock item', () => {
  it('carries no TTL while held and a TTL 90 days out once free', async () => {
    const fleet = fleetWithLock();
    const item = async () => (await dynamo.client.send(new GetItemCommand({ TableName: TABLE, Key: { [leaseKeyAttribute]: { S: `fleet/${fleet.fleet}` } }, ConsistentRead: true }))).Item;
    const lock = await acquireRunLock(fleet, 'up', { leases: dynamo.leases(), handleSignals: false });
    expect((await item())?.expireItemAt).toBeUndefined();
    await lock.release();
    const ttl = Number((await item())?.expireItemAt?.N);
    expect(ttl).toBeGreaterThan(Date.now() / 1000 + 89 * 86_400);
    expect(ttl).toBeLessThan(Date.now() / 1000 + 91 * 86_400);
    const again = await acquireRunLock(fleet, 'down', { leases: dynamo.leases(), handleSignals: false });
    expect((await item())?.expireItemAt).toBeUndefined();
    expect((await item())?.details?.M?.command).toEqual({ S: 'down' });
    await again.release();
    expect((await item())?.details).toBeUndefined();
  });
});
