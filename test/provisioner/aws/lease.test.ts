import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteError } from '../../../provisioner/src/errors.ts';
import { LeaseBusyError, LeaseLostError, Leases, LeaseUnlockError, leaseKeyAttribute, type HeldLease } from '../../../provisioner/src/aws/lease.ts';

// The real DynamoDB API as dynalite implements it, on loopback, in memory; time is a logical clock.
const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const TABLE = 'jenkins-fleet-leases';
const MINUTE = 60_000;

let server: Server;
let endpoint: string;
let client: DynamoDBClient;

function dynamo(url: string, maxAttempts = 3): DynamoDBClient {
  return new DynamoDBClient({ region: 'us-east-1', endpoint: url, maxAttempts, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' } });
}

beforeAll(async () => {
  server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = dynamo(endpoint);
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: leaseKeyAttribute, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: leaseKeyAttribute, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});

afterAll(async () => {
  client?.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

/** Leases on a logical clock that the test moves; lock IDs counted so messages can be asserted. */
function leasesAt(start = T0) {
  const clock = { now: start };
  let ids = 0;
  const slept: number[] = [];
  const leases = new Leases({
    client,
    table: TABLE,
    clock: () => clock.now,
    newLockId: () => `lock-${++ids}`,
    sleep: async (ms) => {
      slept.push(ms);
      clock.now += ms;
    },
    endpoint: `DynamoDB at ${endpoint}`,
  });
  return { leases, clock, slept };
}

let serial = 0;
const fresh = () => `fleet/test-${++serial}`;

async function take(leases: Leases, name: string, holder: string, duration = MINUTE): Promise<HeldLease> {
  const result = await leases.acquire(name, holder, duration);
  if (!result.acquired) throw new Error(`expected to take ${name}, held by ${result.current.holder}`);
  return result.lease;
}

describe('a lease is taken by one holder at a time', () => {
  it('takes a lease never taken before, as epoch 1', async () => {
    const { leases } = leasesAt();
    const name = fresh();
    const lease = await take(leases, name, 'watch on host-a pid 10');
    expect(lease).toEqual({ name, holder: 'watch on host-a pid 10', lockId: 'lock-1', epoch: 1, acquiredAt: T0, expiresAt: T0 + MINUTE });
    expect(await leases.describe(name)).toEqual({ name, epoch: 1, holder: 'watch on host-a pid 10', lockId: 'lock-1', acquiredAt: T0, renewedAt: T0, expiresAt: T0 + MINUTE });
  });

  it('refuses a second holder while the first holds it, saying who holds it', async () => {
    const { leases, clock } = leasesAt();
    const name = fresh();
    await take(leases, name, 'up by alice');
    clock.now = T0 + MINUTE - 1;
    const second = await leases.acquire(name, 'watch on host-b', MINUTE);
    expect(second).toEqual({ acquired: false, current: { name, epoch: 1, holder: 'up by alice', lockId: 'lock-1', acquiredAt: T0, renewedAt: T0, expiresAt: T0 + MINUTE } });
  });

  it('is taken over once it has expired, with a higher epoch', async () => {
    const { leases, clock } = leasesAt();
    const name = fresh();
    await take(leases, name, 'watch on host-a');
    clock.now = T0 + MINUTE;
    const taken = await take(leases, name, 'watch on host-b');
    expect(taken.epoch).toBe(2);
    expect((await leases.describe(name)).holder).toBe('watch on host-b');
  });

  it('lets exactly one of many contenders win at the same instant', async () => {
    const { leases } = leasesAt();
    const name = fresh();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => leases.acquire(name, `contender ${i}`, MINUTE)));
    const winners = results.filter((r) => r.acquired);
    expect(winners).toHaveLength(1);
    const holder = (await leases.describe(name)).holder;
    expect(results.filter((r) => !r.acquired).every((r) => !r.acquired && r.current.holder === holder)).toBe(true);
    expect((await leases.describe(name)).epoch).toBe(1);
  });

  it('keeps different leases apart', async () => {
    const { leases } = leasesAt();
    const [a, b] = [fresh(), fresh()];
    expect((await take(leases, a, 'one')).epoch).toBe(1);
    expect((await take(leases, b, 'two')).epoch).toBe(1);
  });
});

describe('a holder renews, checks and releases its lease', () => {
  it('renews without changing the epoch', async () => {
    const { leases, clock } = leasesAt();
    const lease = await take(leases, fresh(), 'watch');
    clock.now = T0 + 50_000;
    const renewed = await leases.renew(lease, MINUTE);
    expect(renewed).toEqual({ ...lease, expiresAt: T0 + 50_000 + MINUTE });
    expect((await leases.describe(lease.name)).renewedAt).toBe(T0 + 50_000);
    clock.now = T0 + MINUTE + 1; // past the first expiry, within the renewed one
    expect((await leases.acquire(lease.name, 'other', MINUTE)).acquired).toBe(false);
  });

  it('renews past its expiry when nobody took it over', async () => {
    const { leases, clock } = leasesAt();
    const lease = await take(leases, fresh(), 'watch');
    clock.now = T0 + 2 * MINUTE;
    expect((await leases.renew(lease, MINUTE)).expiresAt).toBe(T0 + 3 * MINUTE);
  });

  it('cannot renew a lease taken over, and says by whom', async () => {
    const { leases, clock } = leasesAt();
    const lease = await take(leases, fresh(), 'watch on host-a');
    clock.now = T0 + MINUTE;
    await take(leases, lease.name, 'watch on host-b');
    await expect(leases.renew(lease, MINUTE)).rejects.toThrow(LeaseLostError);
    await expect(leases.renew(lease, MINUTE)).rejects.toThrow(
      `the lease ${lease.name} (epoch 1, lock ID lock-1) is no longer held: it was taken over; it is held by watch on host-b (lock ID lock-2, epoch 2, since 2026-11-27T12:01:00.000Z, expires 2026-11-27T12:02:00.000Z)`,
    );
  });

  it('passes the fencing check while held, and fails it once expired, taken over, or too close to expiry', async () => {
    const { leases, clock } = leasesAt();
    const lease = await take(leases, fresh(), 'watch on host-a');
    await expect(leases.assertHeld(lease)).resolves.toBeUndefined();
    clock.now = T0 + MINUTE - 10_000;
    await expect(leases.assertHeld(lease, 10_000)).rejects.toThrow('within 10000 ms of now');
    await expect(leases.assertHeld(lease, 9_999)).resolves.toBeUndefined();
    clock.now = T0 + MINUTE;
    await expect(leases.assertHeld(lease)).rejects.toThrow(LeaseLostError);
    const other = await take(leases, lease.name, 'watch on host-b');
    await expect(leases.assertHeld(lease)).rejects.toThrow('it was taken over');
    await expect(leases.assertHeld(other)).resolves.toBeUndefined();
  });

  it('releases it for the next holder, and the epoch goes on growing', async () => {
    const { leases } = leasesAt();
    const lease = await take(leases, fresh(), 'up by alice');
    expect(await leases.release(lease)).toBe(true);
    expect(await leases.describe(lease.name)).toEqual({ name: lease.name, epoch: 1 });
    expect(await leases.release(lease)).toBe(false);
    await expect(leases.assertHeld(lease)).rejects.toThrow('it was released or broken');
    expect((await take(leases, lease.name, 'up by bob')).epoch).toBe(2);
  });
});

describe('the run lock is waited for and can be broken by its ID', () => {
  it('waits until the holder lets it expire, then takes it', async () => {
    const { leases, clock, slept } = leasesAt();
    const name = fresh();
    await take(leases, name, 'up by alice', 20_000);
    const lease = await leases.acquireWaiting(name, 'up by bob', MINUTE, { timeout: MINUTE, pollEvery: 5_000 });
    expect(lease.epoch).toBe(2);
    expect(slept).toEqual([5_000, 5_000, 5_000, 5_000]);
    expect(clock.now).toBe(T0 + 20_000);
  });

  it('gives up after the timeout, naming the holder and its lock ID', async () => {
    const { leases, slept } = leasesAt();
    const name = fresh();
    await take(leases, name, 'up by alice', 10 * MINUTE);
    const waiting = leases.acquireWaiting(name, 'up by bob', MINUTE, { timeout: 12_000, pollEvery: 5_000 });
    await expect(waiting).rejects.toThrow(LeaseBusyError);
    await expect(leases.acquireWaiting(name, 'up by bob', MINUTE, { timeout: 0, pollEvery: 5_000 })).rejects.toThrow(
      `the lease ${name} is held by up by alice (lock ID lock-1, epoch 1, since 2026-11-27T12:00:00.000Z, expires 2026-11-27T12:10:00.000Z); waited 0 s`,
    );
    expect(slept.slice(0, 3)).toEqual([5_000, 5_000, 2_000]);
  });

  it('is broken by hand with the right lock ID, and the next holder gets a higher epoch', async () => {
    const { leases } = leasesAt();
    const crashed = await take(leases, fresh(), 'up by alice', 60 * MINUTE);
    await leases.forceUnlock(crashed.name, crashed.lockId);
    expect(await leases.describe(crashed.name)).toEqual({ name: crashed.name, epoch: 1 });
    expect((await take(leases, crashed.name, 'up by bob')).epoch).toBe(2);
    await expect(leases.renew(crashed, MINUTE)).rejects.toThrow(LeaseLostError);
  });

  it('refuses to break it with another ID, or when it is free', async () => {
    const { leases } = leasesAt();
    const lease = await take(leases, fresh(), 'up by alice');
    await expect(leases.forceUnlock(lease.name, 'lock-999')).rejects.toThrow(LeaseUnlockError);
    await expect(leases.forceUnlock(lease.name, 'lock-999')).rejects.toThrow(`the lease ${lease.name} is not locked under ID lock-999: it is held by up by alice (lock ID lock-1`);
    await leases.release(lease);
    await expect(leases.forceUnlock(lease.name, 'lock-1')).rejects.toThrow(`the lease ${lease.name} is not locked under ID lock-1: it is free`);
  });
});

describe('DynamoDB failures name what was being done and where', () => {
  it('reports a missing table', async () => {
    const leases = new Leases({ client, table: 'no-such-table', endpoint: `DynamoDB at ${endpoint}` });
    const failure = await leases.acquire('fleet/x', 'watch', MINUTE).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RemoteError);
    expect((failure as Error).message).toMatch(new RegExp(`^taking the lease fleet/x for watch: DynamoDB at ${endpoint} table no-such-table answered 400 ResourceNotFoundException`));
  });

  it('reports a DynamoDB that does not answer', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = dynamo(url, 1);
    const leases = new Leases({ client: unreachable, table: TABLE, endpoint: `DynamoDB at ${url}` });
    await expect(leases.describe('fleet/x')).rejects.toThrow(`reading the lease fleet/x: DynamoDB at ${url} table ${TABLE} refused the connection`);
    unreachable.destroy();
  });
});
