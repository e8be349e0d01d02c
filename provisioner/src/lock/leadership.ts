// Which of several `watch` processes acts on a fleet: the one holding the fleet's lease (the same
// item as the run lock, so `up`/`down` and the leading `watch` exclude each other). `step()` is
// called once per tick: a leader renews, a follower tries to take the lease (free, expired, or left
// by a dead process of this machine). A leader checks its term before every mutating call
// (`assertHeld`, no call; `verify`, a strongly consistent read of the epoch) and steps down at once
// when the lease is no longer its own or its last renewal is too old to act on.
import { LeaseLostError, type HeldLease, type Leases, type LeaseState } from '../aws/lease.ts';
import { ProvisionerError, RemoteError, UserError } from '../errors.ts';
import type { Fleet } from '../model.ts';
import { currentHolder, holderIsGoneHere, holderText, runLockName, type RunLockHolder } from './run-lock.ts';

export type Role = 'leader' | 'follower';

/** What changed in this process's part, for the output and the metrics. */
export type LeadershipChange =
  | { kind: 'leading'; epoch: number; lockId: string; expiresAt: number; tookOverFrom?: LeaseState }
  | { kind: 'following'; current: LeaseState }
  | { kind: 'lost'; epoch: number; why: string }
  | { kind: 'unreachable'; role: Role; error: string };

/** This process no longer leads: a mutating call was refused before it was made. */
export class LeadershipLost extends ProvisionerError {
  readonly kind = 'remote';

  constructor(fleet: string, epoch: number, why: string) {
    super(`watch no longer leads fleet ${fleet} (epoch ${epoch}): ${why}; nothing more is done under that epoch`);
    this.name = 'LeadershipLost';
  }
}

/** What a mutating step checks first: a call-free check, and one that reads the lease. */
export interface Fence {
  assertHeld(): void;
  verify(): Promise<void>;
}

export interface LeadershipOptions {
  leases: Leases;
  /** The lease time: a dead leader's lease is taken over this long after its last renewal. */
  duration: number;
  now?: () => number;
  notify?: (change: LeadershipChange) => void;
  /** Who this process is (tests make several in one process). */
  holder?: RunLockHolder;
  /** Tests: whether a holder is a dead process of this machine. */
  holderIsGone?: (details: Record<string, string> | undefined, here: RunLockHolder) => boolean;
}

export class Leadership implements Fence {
  private lease: HeldLease | undefined;
  private term: AbortController | undefined;
  /** The lock ID of the holder this follower last said it follows (said once per holder). */
  private followed: string | undefined;
  private lastSeen: LeaseState | undefined;
  private readonly leases: Leases;
  private readonly duration: number;
  /** A leader stops acting a quarter of the lease time before its lease would expire. */
  private readonly margin: number;
  private readonly now: () => number;
  private readonly notify: (change: LeadershipChange) => void;
  private readonly holder: RunLockHolder;
  private readonly holderIsGone: (details: Record<string, string> | undefined, here: RunLockHolder) => boolean;
  private readonly name: string;

  constructor(
    private readonly fleet: Pick<Fleet, 'fleet' | 'source'> & { lock?: { table: string; region: string } },
    options: LeadershipOptions,
  ) {
    this.leases = options.leases;
    this.duration = options.duration;
    this.margin = Math.floor(options.duration / 4);
    this.now = options.now ?? Date.now;
    this.notify = options.notify ?? (() => undefined);
    this.holder = options.holder ?? currentHolder('watch');
    this.holderIsGone = options.holderIsGone ?? holderIsGoneHere;
    this.name = runLockName(fleet);
  }

  get role(): Role {
    return this.lease ? 'leader' : 'follower';
  }

  /** The epoch this process leads under, or the last one it saw held by another. */
  get epoch(): number {
    return this.lease?.epoch ?? this.lastSeen?.epoch ?? 0;
  }

  /** Aborted (with a LeadershipLost) when this term ends; undefined while following. */
  get signal(): AbortSignal | undefined {
    return this.term?.signal;
  }

  /** The lease as this follower last saw it. */
  get current(): LeaseState | undefined {
    return this.lastSeen;
  }

  /**
   * When a follower should try again: at the next tick, or sooner if the lease expires before it.
   * A lease already expired by this clock that it could not take (DynamoDB did not answer, or
   * another follower was quicker) is tried again a tick later, never in a tight loop.
   */
  nextTry(tick: number): number {
    const untilExpiry = this.lastSeen?.lockId ? (this.lastSeen.expiresAt ?? 0) - this.now() : tick;
    return untilExpiry > 0 ? Math.min(tick, untilExpiry) : tick;
  }

  /** Once per tick: a leader renews its lease, a follower tries to take it. Resolves to the role after. */
  async step(): Promise<Role> {
    if (this.lease) await this.renew();
    else await this.tryToLead();
    return this.role;
  }

  private async renew(): Promise<void> {
    const lease = this.lease!;
    try {
      this.lease = await this.leases.renew(lease, this.duration);
    } catch (err) {
      if (err instanceof LeaseLostError) {
        this.lastSeen = err.current;
        this.stepDown(err.message);
        return;
      }
      // DynamoDB did not answer: the lease is still ours until it is too old to act on.
      this.notify({ kind: 'unreachable', role: 'leader', error: (err as Error).message });
      if (this.now() >= lease.expiresAt - this.margin) this.stepDown(`it could not be renewed since ${iso(lease.expiresAt - this.duration)}`);
    }
  }

  private async tryToLead(): Promise<void> {
    const text = holderText(this.holder);
    const details = { ...this.holder } as Record<string, string>;
    let result;
    try {
      result = await this.leases.acquire(this.name, text, this.duration, details);
      if (!result.acquired && result.current.lockId && this.holderIsGone(result.current.details, this.holder)) {
        const gone = result.current;
        result = await this.leases.takeOver(this.name, gone.lockId!, text, this.duration, details);
        if (result.acquired) return this.begin(result.lease, gone);
      }
    } catch (err) {
      // The table the file names is not there: the file (or the account) is to fix.
      if (err instanceof RemoteError && (err.cause as { name?: string } | undefined)?.name === 'ResourceNotFoundException' && this.fleet.lock) {
        throw new UserError(`${this.fleet.source}: lock.table: the DynamoDB table ${this.fleet.lock.table} does not exist in ${this.fleet.lock.region}; terraform/jenkins creates it (its output lock_table)`, { cause: err });
      }
      this.notify({ kind: 'unreachable', role: 'follower', error: (err as Error).message });
      return;
    }
    if (result.acquired) return this.begin(result.lease, this.lastSeen?.lockId ? this.lastSeen : undefined);
    this.lastSeen = result.current;
    if (result.current.lockId && result.current.lockId !== this.followed) {
      this.followed = result.current.lockId;
      this.notify({ kind: 'following', current: result.current });
    }
  }

  private begin(lease: HeldLease, from: LeaseState | undefined): void {
    this.lease = lease;
    this.term = new AbortController();
    this.followed = undefined;
    this.lastSeen = undefined;
    this.notify({ kind: 'leading', epoch: lease.epoch, lockId: lease.lockId, expiresAt: lease.expiresAt, ...(from ? { tookOverFrom: from } : {}) });
  }

  private stepDown(why: string): void {
    const lease = this.lease;
    if (!lease) return;
    this.lease = undefined;
    this.term?.abort(new LeadershipLost(this.fleet.fleet, lease.epoch, why));
    this.term = undefined;
    this.notify({ kind: 'lost', epoch: lease.epoch, why });
  }

  /** Before a mutating call, no call made: this process leads, and its last renewal is recent enough to act on. */
  assertHeld(): void {
    const lease = this.lease;
    if (!lease) throw new LeadershipLost(this.fleet.fleet, this.epoch, 'it follows');
    if (this.now() >= lease.expiresAt - this.margin) {
      const why = `its last renewal, at ${iso(lease.expiresAt - this.duration)}, is too old to act on (the lease may expire at ${iso(lease.expiresAt)})`;
      this.stepDown(why);
      throw new LeadershipLost(this.fleet.fleet, lease.epoch, why);
    }
  }

  /** Before a launch, drain, deletion or termination: `assertHeld`, then the lease read back: still this lock ID and epoch. */
  async verify(): Promise<void> {
    this.assertHeld();
    const lease = this.lease!;
    try {
      await this.leases.assertHeld(lease, this.margin);
    } catch (err) {
      if (!(err instanceof LeaseLostError)) throw err;
      this.lastSeen = err.current;
      // Renewed or stepped down meanwhile by another step of this process: judge the term it checked.
      if (this.lease === lease || this.lease?.lockId === lease.lockId) this.stepDown(err.message);
      throw new LeadershipLost(this.fleet.fleet, lease.epoch, err.message);
    }
  }

  /** Lets the lease go (SIGTERM), so that a follower takes over at its next try. */
  async release(): Promise<boolean> {
    const lease = this.lease;
    if (!lease) return false;
    this.lease = undefined;
    this.term?.abort(new LeadershipLost(this.fleet.fleet, lease.epoch, 'it let the lease go'));
    this.term = undefined;
    return this.leases.release(lease);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
