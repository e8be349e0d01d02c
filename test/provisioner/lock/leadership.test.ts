import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fencedSystems } from '../../../provisioner/src/apply/fenced.ts';
import type { Systems } from '../../../provisioner/src/apply/apply.ts';
import { Leases, leaseKeyAttribute, type HeldLease } from '../../../provisioner/src/aws/lease.ts';
import { RemoteError } from '../../../provisioner/src/errors.ts';
import { Leadership, LeadershipLost, type LeadershipChange } from '../../../provisioner/src/lock/leadership.ts';
import type { RunLockHolder } from '../../../provisioner/src/lock/run-lock.ts';

// The leader/follower state machine of `watch` over the DynamoDB API as dynalite serves it, on a
// fake clock: the lease's conditions compare the times this process writes, so no test waits.
const TABLE = 'jenkins-fleet-locks';
const LEASE = 30_000;
const TICK = 5_000;

let server: Server;
let client: DynamoDBClient;
beforeAll(async () => {
  server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new DynamoDBClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxAttempts: 1, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' } });
  await client.send(new CreateTableCommand({ TableName: TABLE, AttributeDefinitions: [{ AttributeName: leaseKeyAttribute, AttributeType: 'S' }], KeySchema: [{ AttributeName: leaseKeyAttribute, KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }));
});
afterAll(async () => {
  client?.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

let serial = 0;
/** A fleet of its own, a fake clock, and `watch` processes on it. */
function world() {
  const fleet = { fleet: `ha-${++serial}`, source: '/etc/fleet.yaml', lock: { table: TABLE, region: 'us-east-1' } };
  const clock = { t: 1_800_000_000_000 };
  const now = () => clock.t;
  const leases = new Leases({ client, table: TABLE, clock: now });
  const gone = new Set<string>();
  const watch = (pid: number, leasesOf: Leases = leases) => {
    const changes: LeadershipChange[] = [];
    const holder: RunLockHolder = { command: 'watch', who: 'jenkins-fleet', host: `host-${pid}`, pid: String(pid) };
    const leadership = new Leadership(fleet, { leases: leasesOf, duration: LEASE, now, holder, notify: (c) => changes.push(c), holderIsGone: (d) => gone.has(d?.pid ?? '') });
    return { leadership, changes, pid };
  };
  return { fleet, clock, leases, watch, gone, name: `fleet/${fleet.fleet}` };
}

/** A stand-in of the outside systems that records each call (a spy: fenced.ts is what is tested). */
function recordingSystems() {
  const calls: string[] = [];
  const record = (what: string) => async () => {
    calls.push(what);
    return [];
  };
  const compute = { region: 'us-east-1', launch: record('launch'), terminate: record('terminate'), listInstances: record('listInstances'), markBootstrapped: record('markBootstrapped'), markIdle: record('markIdle') };
  const controller = { drain: record('drain'), deleteNode: record('deleteNode'), createNode: record('createNode'), listNodes: record('listNodes') };
  const interruptions = [{ url: 'https://sqs.us-east-1.amazonaws.com/111122223333/q', receive: record('receive'), delete: record('delete') }];
  const systems = { controller, compute: () => compute, parameters: () => ({}), transport: () => ({}), interruptions } as unknown as Systems;
  return { systems, calls };
}

describe('one watch leads, the others follow', () => {
  it('the first to step leads under epoch 1; another follows and says so once, naming the holder', async () => {
    const w = world();
    const a = w.watch(101);
    const b = w.watch(102);
    expect(await a.leadership.step()).toBe('leader');
    expect(a.leadership.epoch).toBe(1);
    for (let i = 0; i < 3; i++) {
      w.clock.t += TICK;
      expect(await a.leadership.step()).toBe('leader');
      expect(await b.leadership.step()).toBe('follower');
    }
    expect(b.changes).toEqual([{ kind: 'following', current: expect.objectContaining({ holder: 'watch by jenkins-fleet@host-101 (pid 101)', epoch: 1, details: expect.objectContaining({ host: 'host-101', pid: '101' }) }) }]);
    expect(a.changes).toEqual([expect.objectContaining({ kind: 'leading', epoch: 1 })]);
    expect(a.changes[0]).not.toHaveProperty('tookOverFrom');
    expect(b.leadership.signal).toBeUndefined();
    expect(() => b.leadership.assertHeld()).toThrow(LeadershipLost);
  });

  it('a leader renews every tick, so a follower never takes over from a live one however long it runs', async () => {
    const w = world();
    const a = w.watch(201);
    const b = w.watch(202);
    await a.leadership.step();
    for (let i = 0; i < 50; i++) {
      w.clock.t += TICK;
      await a.leadership.step();
      await b.leadership.step();
      a.leadership.assertHeld();
      await a.leadership.verify();
    }
    expect((await w.leases.describe(w.name)).expiresAt).toBe(w.clock.t + LEASE);
    expect(b.leadership.role).toBe('follower');
  });

  it('a leader that dies without a word: a follower trying every tick takes over within the lease time plus one tick, under the next epoch', async () => {
    const w = world();
    const a = w.watch(301);
    const b = w.watch(302);
    await a.leadership.step();
    await b.leadership.step();
    const died = w.clock.t;
    let tookOver: number | undefined;
    while (tookOver === undefined) {
      w.clock.t += b.leadership.nextTry(TICK) || 1;
      if ((await b.leadership.step()) === 'leader') tookOver = w.clock.t;
    }
    expect(tookOver - died).toBeGreaterThanOrEqual(LEASE);
    expect(tookOver - died).toBeLessThanOrEqual(LEASE + TICK);
    expect(b.leadership.epoch).toBe(2);
    expect(b.changes.at(-1)).toEqual(expect.objectContaining({ kind: 'leading', epoch: 2, tookOverFrom: expect.objectContaining({ epoch: 1, details: expect.objectContaining({ pid: '301' }) }) }));
  });

  it('a follower that cannot take an expired lease (DynamoDB does not answer) tries again a tick later, not in a tight loop', async () => {
    const w = world();
    const a = w.watch(311);
    let down = false;
    class Unreachable extends Leases {
      override async acquire(...args: Parameters<Leases['acquire']>): ReturnType<Leases['acquire']> {
        if (down) throw new RemoteError('taking the lease', 'DynamoDB', 'connect ECONNREFUSED 127.0.0.1:1');
        return super.acquire(...args);
      }
    }
    const b = w.watch(312, new Unreachable({ client, table: TABLE, clock: () => w.clock.t }));
    await a.leadership.step();
    await b.leadership.step();
    expect(b.leadership.nextTry(TICK)).toBe(TICK);
    w.clock.t += LEASE - 1_000;
    expect(b.leadership.nextTry(TICK)).toBe(1_000);
    w.clock.t += 1_000;
    down = true;
    expect(await b.leadership.step()).toBe('follower');
    expect(b.changes.at(-1)).toEqual({ kind: 'unreachable', role: 'follower', error: expect.stringContaining('ECONNREFUSED') });
    expect(b.leadership.nextTry(TICK)).toBe(TICK);
  });

  it('a leader known dead on this machine (kill -9) is taken over at the next try, not after the lease time', async () => {
    const w = world();
    const a = w.watch(401);
    const b = w.watch(402);
    await a.leadership.step();
    await b.leadership.step();
    w.gone.add('401');
    w.clock.t += TICK;
    expect(await b.leadership.step()).toBe('leader');
    expect(b.leadership.epoch).toBe(2);
  });
});

describe('a leader that lost its lease stops acting at once', () => {
  it('paused longer than the lease (a GC pause, SIGSTOP): its next mutating call is refused without a call, it says so and follows', async () => {
    const w = world();
    const a = w.watch(501);
    const b = w.watch(502);
    const { systems, calls } = recordingSystems();
    const acting = fencedSystems(systems, a.leadership);
    await a.leadership.step();
    const term = a.leadership.signal!;
    await acting.compute('us-east-1').launch({} as never);
    expect(calls).toEqual(['launch']);
    w.clock.t += LEASE + TICK;
    expect(await b.leadership.step()).toBe('leader');
    // a wakes up in the middle of its tick: every write is refused before it is sent.
    await expect(acting.compute('us-east-1').terminate(['i-1'])).rejects.toThrow(LeadershipLost);
    await expect(acting.controller.createNode({} as never)).rejects.toThrow(LeadershipLost);
    await expect(acting.controller.drain('a', 'b')).rejects.toThrow(LeadershipLost);
    // Nor mark an instance idle: a mark decides a later removal by a `watch --once`.
    await expect(acting.compute('us-east-1').markIdle(['i-1'], { kind: 'busy' } as never)).rejects.toThrow(LeadershipLost);
    // Nor does it read the interruption queue: a receive would hide the notices from the new leader.
    await expect(acting.interruptions![0]!.receive(true)).rejects.toThrow(LeadershipLost);
    expect(calls).toEqual(['launch']);
    expect(term.aborted).toBe(true);
    expect(a.leadership.role).toBe('follower');
    expect(a.changes.at(-1)).toEqual({ kind: 'lost', epoch: 1, why: expect.stringContaining('is too old to act on') });
    // Reads still go through: a follower may look.
    await acting.compute('us-east-1').listInstances('x');
    expect(calls).toEqual(['launch', 'listInstances']);
    // And its next step finds the lease held by b, and follows b.
    await a.leadership.step();
    expect(a.changes.at(-1)).toEqual({ kind: 'following', current: expect.objectContaining({ epoch: 2, details: expect.objectContaining({ pid: '502' }) }) });
  });

  it('its lease broken by force-unlock: the next launch reads the lease first and is refused; the next renewal would be too', async () => {
    const w = world();
    const a = w.watch(601);
    const { systems, calls } = recordingSystems();
    const acting = fencedSystems(systems, a.leadership);
    await a.leadership.step();
    const held = await w.leases.describe(w.name);
    await w.leases.forceUnlock(w.name, held.lockId!);
    // The call-free check cannot know: the lease looks fresh by this process's clock.
    await acting.compute('us-east-1').markBootstrapped(['i-1'], 0);
    await expect(acting.compute('us-east-1').launch({} as never)).rejects.toThrow(/no longer leads fleet .* \(epoch 1\): the lease .* is no longer held: it was released or broken/);
    expect(calls).toEqual(['markBootstrapped']);
    expect(a.leadership.role).toBe('follower');
    expect(await a.leadership.step()).toBe('leader');
    expect(a.leadership.epoch).toBe(2);
  });

  it('a renewal refused because another took the lease over: it steps down at that step', async () => {
    const w = world();
    const a = w.watch(701);
    const b = w.watch(702);
    await a.leadership.step();
    w.clock.t += LEASE;
    await b.leadership.step();
    expect(b.leadership.role).toBe('leader');
    expect(await a.leadership.step()).toBe('follower');
    expect(a.changes.at(-1)).toEqual({ kind: 'lost', epoch: 1, why: expect.stringContaining('it was taken over') });
  });

  it('DynamoDB unreachable: a leader keeps acting while its last renewal is recent, and stops a quarter of the lease before it could expire', async () => {
    const w = world();
    let down = false;
    class Flaky extends Leases {
      override async renew(lease: HeldLease, duration: number): Promise<HeldLease> {
        if (down) throw new RemoteError('renewing the lease', 'DynamoDB', 'connect ECONNREFUSED 127.0.0.1:1');
        return super.renew(lease, duration);
      }
    }
    const a = w.watch(801, new Flaky({ client, table: TABLE, clock: () => w.clock.t }));
    await a.leadership.step();
    const renewed = w.clock.t;
    down = true;
    while (w.clock.t + TICK < renewed + LEASE * 0.75) {
      w.clock.t += TICK;
      expect(await a.leadership.step()).toBe('leader');
      a.leadership.assertHeld();
    }
    w.clock.t = renewed + LEASE * 0.75;
    expect(await a.leadership.step()).toBe('follower');
    expect(a.changes.filter((c) => c.kind === 'unreachable').length).toBeGreaterThan(0);
    expect(a.changes.at(-1)).toEqual({ kind: 'lost', epoch: 1, why: expect.stringContaining('could not be renewed since') });
  });

  it('release lets the lease go: a follower leads at its next try', async () => {
    const w = world();
    const a = w.watch(901);
    const b = w.watch(902);
    await a.leadership.step();
    await b.leadership.step();
    expect(await a.leadership.release()).toBe(true);
    expect(await b.leadership.step()).toBe('leader');
    expect(b.leadership.epoch).toBe(2);
  });
});
