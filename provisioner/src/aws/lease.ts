// A lease in DynamoDB: one item per lease name, taken and kept with conditional writes, so that
// one process at a time acts on a fleet. It serves both `watch`'s leader election (renewed every
// tick; a follower takes it over once it expires) and the run lock of `up`/`down` (taken for the
// run, waited for, broken by hand by its lock ID after a crash). Every acquisition raises the
// lease's epoch, a fencing token: a holder checks before each mutating step that the lease is
// still its own, under its epoch. A released lease keeps its item and its epoch, so the epoch only
// grows while the fleet is in use; only an item left free for `freeItemLifetime` carries a TTL
// (`expireItemAt`) by which DynamoDB may delete it (a retired fleet's lease). Losing the epoch then
// is harmless: a holder is told apart by its lock ID, a fresh UUID per acquisition.
import { randomUUID } from 'node:crypto';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoDbSdk } from './sdk.ts';
import { RemoteError } from '../errors.ts';
import { describeFailure } from './clients.ts';

/** The table's partition key (a string): the lease's name, e.g. `fleet/bank-ci`. */
export const leaseKeyAttribute = 'lease';

/** The table's TTL attribute (epoch seconds, as DynamoDB's TTL reads it): set only on a free lease. */
export const leaseTtlAttribute = 'expireItemAt';

/** How long a lease's item is kept once free (no holder): 90 days, then DynamoDB's TTL may delete it. */
export const freeItemLifetime = 90 * 24 * 3_600_000;

/** What is known of a lease: free, or held by someone under a lock ID until a time. */
export interface LeaseState {
  name: string;
  /** Acquisitions so far: the fencing token of the current (or last) holder. 0 if never taken. */
  epoch: number;
  /** Absent when the lease is free (never taken, released, or broken). */
  holder?: string;
  /** What the holder said of itself when it took the lease (e.g. command, who, host, pid). */
  details?: Record<string, string>;
  lockId?: string;
  /** Epoch milliseconds, by the clocks of the processes that wrote them. */
  acquiredAt?: number;
  renewedAt?: number;
  expiresAt?: number;
}

/** A lease this process holds. */
export interface HeldLease {
  name: string;
  holder: string;
  details?: Record<string, string>;
  lockId: string;
  epoch: number;
  acquiredAt: number;
  expiresAt: number;
}

/** Someone else holds the lease (and did not let it go within the wait). */
export class LeaseBusyError extends Error {
  readonly current: LeaseState;

  constructor(current: LeaseState, waited?: number) {
    super(`the lease ${current.name} is held by ${describeHolder(current)}${waited !== undefined ? `; waited ${Math.round(waited / 1000)} s` : ''}`);
    this.name = 'LeaseBusyError';
    this.current = current;
  }
}

/** The lease is no longer this holder's: it expired, was taken over, or was broken by hand. */
export class LeaseLostError extends Error {
  readonly current: LeaseState | undefined;

  constructor(lease: HeldLease, why: string, current: LeaseState | undefined) {
    super(`the lease ${lease.name} (epoch ${lease.epoch}, lock ID ${lease.lockId}) is no longer held: ${why}${current?.lockId && current.lockId !== lease.lockId ? `; it is held by ${describeHolder(current)}` : ''}`);
    this.name = 'LeaseLostError';
    this.current = current;
  }
}

/** A lock ID given to force-unlock that does not hold the lease. */
export class LeaseUnlockError extends Error {
  readonly current: LeaseState;

  constructor(lockId: string, current: LeaseState) {
    super(`the lease ${current.name} is not locked under ID ${lockId}: ${current.lockId ? `it is held by ${describeHolder(current)}` : 'it is free'}`);
    this.name = 'LeaseUnlockError';
    this.current = current;
  }
}

function describeHolder(state: LeaseState): string {
  const at = (ms: number | undefined) => (ms === undefined ? '?' : new Date(ms).toISOString());
  return `${state.holder ?? 'nobody'} (lock ID ${state.lockId ?? '-'}, epoch ${state.epoch}, since ${at(state.acquiredAt)}, expires ${at(state.expiresAt)})`;
}

/** A DynamoDB client configured as the other AWS clients are (adaptive retries, timeouts, standard endpoint chain), one per region. */
export { dynamoDbClient } from './clients.ts';

export interface LeasesOptions {
  client: DynamoDBClient;
  table: string;
  /** Epoch milliseconds now; injected so tests need no real waiting. */
  clock?: () => number;
  /** A fresh lock ID per acquisition. */
  newLockId?: () => string;
  /** How to wait between tries in `acquireWaiting`. */
  sleep?: (ms: number) => Promise<void>;
  /** For messages: which DynamoDB (e.g. `DynamoDB at http://127.0.0.1:8000 (us-east-1)`). */
  endpoint?: string;
}

// Every attribute through a placeholder: several are DynamoDB reserved words.
const names = {
  '#lease': leaseKeyAttribute,
  '#lockId': 'lockId',
  '#holder': 'holder',
  '#epoch': 'epoch',
  '#acquiredAt': 'acquiredAt',
  '#renewedAt': 'renewedAt',
  '#expiresAt': 'expiresAt',
  '#releasedAt': 'releasedAt',
  '#details': 'details',
  '#ttl': leaseTtlAttribute,
};
const pick = (...keys: Array<keyof typeof names>) => Object.fromEntries(keys.map((k) => [k, names[k]]));
const num = (n: number): AttributeValue => ({ N: String(n) });
const str = (s: string): AttributeValue => ({ S: s });

/** The leases of one table. */
export class Leases {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly clock: () => number;
  private readonly newLockId: () => string;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly endpoint: string;

  constructor(options: LeasesOptions) {
    this.client = options.client;
    this.table = options.table;
    this.clock = options.clock ?? Date.now;
    this.newLockId = options.newLockId ?? randomUUID;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.endpoint = `${options.endpoint ?? 'DynamoDB'} table ${options.table}`;
  }

  /**
   * Takes the lease for `duration` ms if it is free or its holder let it expire (a takeover);
   * each acquisition raises the epoch by one. Otherwise says who holds it.
   */
  async acquire(name: string, holder: string, duration: number, details?: Record<string, string>): Promise<{ acquired: true; lease: HeldLease } | { acquired: false; current: LeaseState }> {
    return this.take(name, holder, duration, details, 'attribute_not_exists(#lockId) OR #expiresAt <= :now', {});
  }

  /**
   * Takes the lease from the holder under `fromLockId` whatever its expiry, when that holder is
   * known to be gone (a process no longer running on this host); raises the epoch. If someone else
   * holds it by now, says who.
   */
  async takeOver(name: string, fromLockId: string, holder: string, duration: number, details?: Record<string, string>): Promise<{ acquired: true; lease: HeldLease } | { acquired: false; current: LeaseState }> {
    return this.take(name, holder, duration, details, '#lockId = :from', { ':from': str(fromLockId) });
  }

  private async take(
    name: string,
    holder: string,
    duration: number,
    details: Record<string, string> | undefined,
    condition: string,
    conditionValues: Record<string, AttributeValue>,
  ): Promise<{ acquired: true; lease: HeldLease } | { acquired: false; current: LeaseState }> {
    const now = this.clock();
    const lockId = this.newLockId();
    try {
      const answer = await this.client.send(
        new (dynamoDbSdk().UpdateItemCommand)({
          TableName: this.table,
          Key: { [leaseKeyAttribute]: str(name) },
          // A held lease carries no TTL: DynamoDB must never delete it under its holder.
          UpdateExpression: `SET #lockId = :lockId, #holder = :holder, #epoch = if_not_exists(#epoch, :zero) + :one, #acquiredAt = :now, #renewedAt = :now, #expiresAt = :expiresAt${details ? ', #details = :details' : ''} REMOVE #ttl${details ? '' : ', #details'}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: pick('#lockId', '#holder', '#epoch', '#acquiredAt', '#renewedAt', '#expiresAt', '#details', '#ttl'),
          ExpressionAttributeValues: {
            ':lockId': str(lockId),
            ':holder': str(holder),
            ':zero': num(0),
            ':one': num(1),
            ':now': num(now),
            ':expiresAt': num(now + duration),
            ...(details ? { ':details': { M: Object.fromEntries(Object.entries(details).map(([k, v]) => [k, str(v)])) } } : {}),
            ...conditionValues,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const state = readState(name, answer.Attributes);
      return { acquired: true, lease: { name, holder, ...(details ? { details } : {}), lockId, epoch: state.epoch, acquiredAt: now, expiresAt: now + duration } };
    } catch (err) {
      if (!(err instanceof dynamoDbSdk().ConditionalCheckFailedException)) throw this.failure(`taking the lease ${name} for ${holder}`, err);
      return { acquired: false, current: await this.describe(name) };
    }
  }

  /**
   * `acquire`, trying again every `pollEvery` ms for up to `timeout` ms (the run lock's
   * `--lock-timeout`); throws LeaseBusyError naming the holder when the time is up.
   */
  async acquireWaiting(name: string, holder: string, duration: number, wait: { timeout: number; pollEvery: number }, details?: Record<string, string>): Promise<HeldLease> {
    const start = this.clock();
    for (;;) {
      const result = await this.acquire(name, holder, duration, details);
      if (result.acquired) return result.lease;
      const waited = this.clock() - start;
      if (waited >= wait.timeout) throw new LeaseBusyError(result.current, waited);
      await this.sleep(Math.min(wait.pollEvery, wait.timeout - waited));
    }
  }

  /**
   * Extends a held lease to `duration` ms from now, keeping its epoch. Works as long as nobody took
   * it over, even past its expiry (nobody else can have acted then); throws LeaseLostError otherwise.
   */
  async renew(lease: HeldLease, duration: number): Promise<HeldLease> {
    const now = this.clock();
    try {
      await this.client.send(
        new (dynamoDbSdk().UpdateItemCommand)({
          TableName: this.table,
          Key: { [leaseKeyAttribute]: str(lease.name) },
          UpdateExpression: 'SET #renewedAt = :now, #expiresAt = :expiresAt',
          ConditionExpression: '#lockId = :lockId AND #epoch = :epoch',
          ExpressionAttributeNames: pick('#lockId', '#epoch', '#renewedAt', '#expiresAt'),
          ExpressionAttributeValues: { ':lockId': str(lease.lockId), ':epoch': num(lease.epoch), ':now': num(now), ':expiresAt': num(now + duration) },
        }),
      );
      return { ...lease, expiresAt: now + duration };
    } catch (err) {
      if (!(err instanceof dynamoDbSdk().ConditionalCheckFailedException)) throw this.failure(`renewing the lease ${lease.name}`, err);
      const current = await this.describe(lease.name);
      throw new LeaseLostError(lease, current.lockId ? 'it was taken over' : 'it was released or broken', current);
    }
  }

  /**
   * The fencing check before a mutating step: the lease is still this holder's, under its epoch,
   * for at least `margin` ms more (a strongly consistent read). Throws LeaseLostError otherwise.
   */
  async assertHeld(lease: HeldLease, margin = 0): Promise<void> {
    const current = await this.describe(lease.name);
    const now = this.clock();
    if (current.lockId !== lease.lockId || current.epoch !== lease.epoch) {
      throw new LeaseLostError(lease, current.lockId ? 'it was taken over' : 'it was released or broken', current);
    }
    if ((current.expiresAt ?? 0) <= now + margin) {
      throw new LeaseLostError(lease, `it expires at ${new Date(current.expiresAt ?? 0).toISOString()}, within ${margin} ms of now (${new Date(now).toISOString()})`, current);
    }
  }

  /** Lets a held lease go, keeping its epoch. False when it was no longer this holder's. */
  async release(lease: HeldLease): Promise<boolean> {
    return this.unlock(lease.name, lease.lockId, `releasing the lease ${lease.name}`);
  }

  /** Breaks the lease held under `lockId` (after its holder crashed); LeaseUnlockError if that ID does not hold it. */
  async forceUnlock(name: string, lockId: string): Promise<void> {
    if (!(await this.unlock(name, lockId, `breaking the lease ${name} (lock ID ${lockId})`))) {
      throw new LeaseUnlockError(lockId, await this.describe(name));
    }
  }

  /** What the lease is now (a strongly consistent read). */
  async describe(name: string): Promise<LeaseState> {
    try {
      const answer = await this.client.send(new (dynamoDbSdk().GetItemCommand)({ TableName: this.table, Key: { [leaseKeyAttribute]: str(name) }, ConsistentRead: true }));
      return readState(name, answer.Item);
    } catch (err) {
      throw this.failure(`reading the lease ${name}`, err);
    }
  }

  private async unlock(name: string, lockId: string, doing: string): Promise<boolean> {
    const now = this.clock();
    try {
      await this.client.send(
        new (dynamoDbSdk().UpdateItemCommand)({
          TableName: this.table,
          Key: { [leaseKeyAttribute]: str(name) },
          UpdateExpression: 'REMOVE #lockId, #holder, #details SET #expiresAt = :zero, #releasedAt = :now, #ttl = :ttl',
          ConditionExpression: '#lockId = :lockId',
          ExpressionAttributeNames: pick('#lockId', '#holder', '#details', '#expiresAt', '#releasedAt', '#ttl'),
          ExpressionAttributeValues: { ':lockId': str(lockId), ':zero': num(0), ':now': num(now), ':ttl': num(Math.ceil((now + freeItemLifetime) / 1000)) },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof dynamoDbSdk().ConditionalCheckFailedException) return false;
      throw this.failure(doing, err);
    }
  }

  private failure(doing: string, err: unknown): RemoteError {
    return new RemoteError(doing, this.endpoint, describeFailure(err), { cause: err });
  }
}

function readState(name: string, item: Record<string, AttributeValue> | undefined): LeaseState {
  const n = (key: string) => (item?.[key]?.N !== undefined ? Number(item[key]?.N) : undefined);
  const s = (key: string) => item?.[key]?.S;
  const state: LeaseState = { name, epoch: n('epoch') ?? 0 };
  const holder = s('holder');
  const lockId = s('lockId');
  if (holder !== undefined) state.holder = holder;
  const details = item?.details?.M;
  if (lockId !== undefined && details !== undefined) state.details = Object.fromEntries(Object.entries(details).map(([k, v]) => [k, v.S ?? '']));
  if (lockId !== undefined) state.lockId = lockId;
  const acquiredAt = n('acquiredAt');
  const renewedAt = n('renewedAt');
  const expiresAt = n('expiresAt');
  if (lockId !== undefined && acquiredAt !== undefined) state.acquiredAt = acquiredAt;
  if (lockId !== undefined && renewedAt !== undefined) state.renewedAt = renewedAt;
  if (lockId !== undefined && expiresAt !== undefined) state.expiresAt = expiresAt;
  return state;
}
