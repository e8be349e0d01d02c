// The run lock, as Terraform locks its state: one `up`, `down` or `watch` at a time acts on a fleet.
// It is the fleet's lease (aws/lease.ts) in the DynamoDB table fleet.yaml's `lock:` names, held for
// the whole run: taken before the fleet is observed, renewed by a heartbeat every quarter of
// `lock.expireAfter`, released when the run ends (errors, SIGINT and SIGTERM included). A holder
// that cannot renew in time stops acting before anyone else may take the lock over; a crashed
// holder's lock expires by itself after `expireAfter`, or is broken at once by `force-unlock ID`;
// one whose process is gone from this very machine (kill -9) is taken over at once.
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { describeEndpoint, dynamoDbClient } from '../aws/clients.ts';
import { LeaseLostError, Leases, type HeldLease, type LeaseState } from '../aws/lease.ts';
import { parseDuration } from '../config/schema.ts';
import { ProvisionerError, RemoteError, UserError } from '../errors.ts';
import type { Fleet, RunLockTable } from '../model.ts';

/** The lease of a fleet's run lock: one item per fleet in the table, shared by up, down and watch. */
export function runLockName(fleet: Pick<Fleet, 'fleet'>): string {
  return `fleet/${fleet.fleet}`;
}

/** Who holds a lock, as the lock's item records it and as a waiting run reports it. */
export interface RunLockHolder {
  command: string;
  /** The operating system user. */
  who: string;
  host: string;
  pid: string;
  /** Linux: the kernel's boot id and the PID namespace, so that a pid is known to mean this machine's process. */
  boot?: string;
  pidns?: string;
}

/** Where a pid is meaningful: this boot of this kernel, this PID namespace (Linux); undefined elsewhere. */
function processSpace(): { boot?: string; pidns?: string } {
  try {
    return { boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), pidns: readlinkSync('/proc/self/ns/pid') };
  } catch {
    return {};
  }
}

export function currentHolder(command: string): RunLockHolder {
  let who: string;
  try {
    who = userInfo().username;
  } catch {
    // A container's uid without a passwd entry has no name.
    who = `uid ${process.getuid?.() ?? '?'}`;
  }
  return { command, who, host: hostname(), pid: String(process.pid), ...processSpace() };
}

/**
 * The holder was a process of this very machine (same host name, boot and PID namespace) that is
 * no longer running: killed with -9, or the machine's OOM killer. Its lock can be taken over at
 * once. A holder anywhere else, or where that cannot be told (no /proc), is never presumed dead.
 */
export function holderIsGoneHere(details: Record<string, string> | undefined, here: RunLockHolder): boolean {
  if (!details?.pid || !details.boot || !details.pidns || !here.boot || !here.pidns) return false;
  if (details.host !== here.host || details.boot !== here.boot || details.pidns !== here.pidns || details.pid === here.pid) return false;
  try {
    process.kill(Number(details.pid), 0);
    return false;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export function holderText(h: RunLockHolder): string {
  return `${h.command} by ${h.who}@${h.host} (pid ${h.pid})`;
}

function holderOf(state: LeaseState): RunLockHolder | undefined {
  const d = state.details;
  return d?.command && d.who && d.host && d.pid ? { command: d.command, who: d.who, host: d.host, pid: d.pid } : undefined;
}

const iso = (ms: number | undefined) => (ms === undefined ? '?' : new Date(ms).toISOString());

/** The lock's information, one `Label: value` line each, as Terraform prints a state lock's. */
export function describeLock(state: LeaseState, now: number): string[] {
  const holder = holderOf(state);
  const ago = (ms: number | undefined) => (ms === undefined ? '' : ` (${Math.max(0, Math.round((now - ms) / 1000))} s ago)`);
  return [
    `  ID:       ${state.lockId ?? '-'}`,
    `  Command:  ${holder?.command ?? '?'}`,
    `  Who:      ${holder ? `${holder.who}@${holder.host} (pid ${holder.pid})` : (state.holder ?? '?')}`,
    `  Since:    ${iso(state.acquiredAt)}${ago(state.acquiredAt)}`,
    `  Renewed:  ${iso(state.renewedAt)}${ago(state.renewedAt)}`,
    `  Expires:  ${iso(state.expiresAt)}${(state.expiresAt ?? 0) <= now ? ' (expired: the next run takes it over)' : ' unless renewed'}`,
  ];
}

/** Another run holds the lock (and did not let it go within --lock-timeout). */
export class RunLockHeld extends ProvisionerError {
  readonly kind = 'remote';

  constructor(
    readonly fleet: string,
    readonly command: string,
    readonly current: LeaseState,
    readonly where: string,
    readonly waited: number,
    readonly now: number,
  ) {
    super(`the run lock of fleet ${fleet} is held by ${current.holder ?? 'another run'} (lock ID ${current.lockId ?? '-'})`);
    this.name = 'RunLockHeld';
  }

  override get lines(): string[] {
    return [
      `the run lock of fleet ${this.fleet} is held by another run${this.waited > 0 ? ` (waited ${Math.round(this.waited / 1000)} s)` : ''}, so this ${this.command} did not start; lock info (${this.where}):`,
      ...describeLock(this.current, this.now),
      `Wait for it with --lock-timeout (e.g. --lock-timeout 10m); if that run is gone, \`provisioner force-unlock ${this.current.lockId ?? 'ID'}\` breaks the lock now (or it expires by itself at ${iso(this.current.expiresAt)}).`,
    ];
  }
}

/** This run's lock is no longer its own: it could not be renewed in time, or someone took it over or broke it. */
export class RunLockLost extends ProvisionerError {
  readonly kind = 'remote';

  constructor(fleet: string, command: string, why: string) {
    super(`the run lock of fleet ${fleet} is no longer held by this ${command}: ${why}; stopping so that two runs never act at once (${command} is safe to run again)`);
    this.name = 'RunLockLost';
  }
}

/** A run lock this process holds. */
export interface RunLock extends AsyncDisposable {
  /** The lock ID: what `force-unlock` takes. */
  readonly id: string;
  /** The lease's fencing token: it grows with every acquisition. */
  readonly epoch: number;
  readonly holder: RunLockHolder;
  /** Aborted (with a RunLockLost as its reason) the moment the lock is known to be lost. */
  readonly signal: AbortSignal;
  /**
   * A check before a mutating step that needs no call: throws RunLockLost once the lock is lost or
   * its last renewal is too old to be sure nobody else may hold it now.
   */
  assertHeld(): void;
  /** The same check against the table (a strongly consistent read). */
  verify(): Promise<void>;
  /** Lets the lock go (idempotent); false when it was no longer this run's or could not be released. */
  release(): Promise<boolean>;
}

export interface RunLockOptions {
  /** How long to wait for another holder (`--lock-timeout`), in ms: 0 fails at once naming it; Infinity waits for ever (a standby `watch`). */
  timeout?: number;
  /** Told what the lock is doing (waiting, taken after a wait, could not renew, lost). */
  notify?: (line: string) => void;
  /** Called once when the lock is lost, after `signal` is aborted; a CLI run ends the process here. */
  onLost?: (error: RunLockLost) => void;
  /** Release the lock and end the process on SIGINT and SIGTERM (default true). */
  handleSignals?: boolean;
  /** Tests: the leases of their own DynamoDB (dynalite), a clock, and how to wait. */
  leases?: Leases;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** How often a waiting run tries again (default 2 s). */
  pollEvery?: number;
}

/** The leases of a fleet's lock table, through the standard AWS client chain (AWS_ENDPOINT_URL_DYNAMODB for a stand-in). */
export function fleetLeases(table: RunLockTable, env: NodeJS.ProcessEnv = process.env): Leases {
  return new Leases({ client: dynamoDbClient(table.region), table: table.table, endpoint: describeEndpoint('DynamoDB', table.region, env) });
}

function where(table: RunLockTable): string {
  return `DynamoDB table ${table.table} in ${table.region}`;
}

/** `--lock-timeout`: a duration, 0 (the default) to fail at once. */
export function parseLockTimeout(text: string): number {
  const ms = text.trim() === '0' ? 0 : parseDuration(text);
  if (ms === undefined) throw new UserError(`--lock-timeout: expected a duration such as 0s, 90s or 10m, found "${text}"`);
  return ms;
}

function requireTable(fleet: Fleet): RunLockTable {
  if (!fleet.lock) {
    throw new UserError(`${fleet.source}: lock: expected the run lock's table (lock: { table: NAME }, the lock_table output of terraform/jenkins), found none`);
  }
  return fleet.lock;
}

/**
 * Takes the fleet's run lock for `command`, waiting up to `options.timeout` for another holder;
 * throws RunLockHeld naming the holder when it is not free in time. The lock is then renewed in the
 * background until `release()` (or `await using`).
 */
export async function acquireRunLock(fleet: Fleet, command: string, options: RunLockOptions = {}): Promise<RunLock> {
  const table = requireTable(fleet);
  const leases = options.leases ?? fleetLeases(table);
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const notify = options.notify ?? (() => undefined);
  const timeout = options.timeout ?? 0;
  const pollEvery = options.pollEvery ?? 2_000;
  const holder = currentHolder(command);
  const name = runLockName(fleet);
  const duration = table.expireAfter;
  // Renewed every quarter; a holder whose last renewal is three quarters old stops acting, leaving
  // a quarter of `expireAfter` for clock differences and calls already on their way.
  const quarter = Math.floor(duration / 4);

  const started = now();
  let lastHolder: string | undefined;
  let lastReport = started;
  let freeAgain = 0;
  let lease: HeldLease;
  for (;;) {
    const attempt = await leases.acquire(name, holderText(holder), duration, { ...holder }).catch((err: unknown) => {
      // The table the file names is not there: the file (or the account) is to fix, not a remote failure.
      if (err instanceof RemoteError && (err.cause as { name?: string } | undefined)?.name === 'ResourceNotFoundException') {
        throw new UserError(`${fleet.source}: lock.table: the DynamoDB table ${table.table} does not exist in ${table.region} (${err.endpoint.replace(/ table \S+$/, '')}); terraform/jenkins creates it (its output lock_table)`, { cause: err });
      }
      throw err;
    });
    let result = attempt;
    if (!result.acquired && result.current.lockId && holderIsGoneHere(result.current.details, holder)) {
      const gone = result.current;
      result = await leases.takeOver(name, gone.lockId!, holderText(holder), duration, { ...holder });
      if (result.acquired) notify(`Took over the run lock of fleet ${fleet.fleet} from ${gone.holder ?? 'a run'} (lock ID ${gone.lockId}), which no longer runs on this machine`);
    }
    if (result.acquired) {
      lease = result.lease;
      break;
    }
    // Let go between the refused write and the read that names its holder: try again at once.
    if (!result.current.lockId && freeAgain++ < 3) continue;
    const waited = now() - started;
    if (waited >= timeout) throw new RunLockHeld(fleet.fleet, command, result.current, where(table), timeout > 0 ? waited : 0, now());
    if (result.current.lockId !== lastHolder) {
      lastHolder = result.current.lockId;
      notify(`Waiting up to ${Number.isFinite(timeout) ? `${Math.round(timeout / 1000)} s` : 'any time'} for the run lock of fleet ${fleet.fleet}, held by ${result.current.holder ?? 'another run'} (lock ID ${result.current.lockId ?? '-'}) since ${iso(result.current.acquiredAt)}`);
      lastReport = now();
    } else if (now() - lastReport >= 30_000) {
      notify(`Still waiting for the run lock of fleet ${fleet.fleet} (${Math.round(waited / 1000)} s so far), held by ${result.current.holder ?? 'another run'}`);
      lastReport = now();
    }
    await sleep(Math.max(0, Math.min(pollEvery, timeout - waited)));
  }
  if (lastHolder !== undefined) notify(`Took the run lock of fleet ${fleet.fleet} after ${Math.round((now() - started) / 1000)} s (lock ID ${lease.lockId})`);

  const aborter = new AbortController();
  let released = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;

  const lose = (why: string) => {
    if (released || aborter.signal.aborted) return;
    stopTimers();
    const error = new RunLockLost(fleet.fleet, command, why);
    aborter.abort(error);
    options.onLost?.(error);
  };
  const stopTimers = () => {
    clearTimeout(heartbeat);
    clearTimeout(deadline);
    removeSignalHandlers();
  };
  // The last moment this run may act on its last successful renewal.
  const armDeadline = () => {
    clearTimeout(deadline);
    deadline = setTimeout(() => lose(`it could not be renewed since ${iso(lease.expiresAt - duration)} and expires at ${iso(lease.expiresAt)}`), Math.max(0, lease.expiresAt - quarter - now()));
    deadline.unref();
  };
  const beat = async () => {
    try {
      lease = await leases.renew(lease, duration);
      armDeadline();
    } catch (err) {
      if (err instanceof LeaseLostError) return lose(err.message);
      notify(`Could not renew the run lock of fleet ${fleet.fleet} (will try again): ${(err as Error).message}`);
    }
    if (!released && !aborter.signal.aborted) schedule();
  };
  const schedule = () => {
    heartbeat = setTimeout(() => void beat(), quarter);
    heartbeat.unref();
  };

  const release = async (): Promise<boolean> => {
    if (released) return false;
    released = true;
    stopTimers();
    if (aborter.signal.aborted) return false;
    try {
      return await leases.release(lease);
    } catch (err) {
      notify(`Could not release the run lock of fleet ${fleet.fleet} (lock ID ${lease.lockId}): ${(err as Error).message}; it expires by itself at ${iso(lease.expiresAt)}, or \`provisioner force-unlock ${lease.lockId}\` breaks it`);
      return false;
    }
  };

  // Ctrl-C or a CI job's cancellation: let the lock go before ending, as the default handlers would end.
  const signals: Array<[NodeJS.Signals, number]> = [['SIGINT', 130], ['SIGTERM', 143]];
  const handlers = new Map<NodeJS.Signals, () => void>();
  function removeSignalHandlers() {
    for (const [signal, handler] of handlers) process.off(signal, handler);
    handlers.clear();
  }
  if (options.handleSignals ?? true) {
    for (const [signal, code] of signals) {
      const handler = () => {
        removeSignalHandlers();
        // A second signal while releasing ends the process at once (the default handler is back).
        notify(`${signal}: releasing the run lock of fleet ${fleet.fleet} (lock ID ${lease.lockId}) and stopping`);
        const bounded = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000).unref());
        void Promise.race([release(), bounded]).finally(() => process.exit(code));
      };
      handlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  armDeadline();
  schedule();

  const assertHeld = () => {
    if (aborter.signal.aborted) throw aborter.signal.reason as RunLockLost;
    if (released) throw new RunLockLost(fleet.fleet, command, 'it was released');
    if (now() >= lease.expiresAt - quarter) lose(`its last renewal was at ${iso(lease.expiresAt - duration)}`);
    if (aborter.signal.aborted) throw aborter.signal.reason as RunLockLost;
  };
  return {
    id: lease.lockId,
    epoch: lease.epoch,
    holder,
    signal: aborter.signal,
    assertHeld,
    async verify() {
      assertHeld();
      try {
        await leases.assertHeld(lease, quarter);
      } catch (err) {
        if (err instanceof LeaseLostError) lose(err.message);
        throw aborter.signal.aborted ? (aborter.signal.reason as RunLockLost) : err;
      }
    },
    release,
    [Symbol.asyncDispose]: async () => {
      await release();
    },
  };
}

/**
 * Runs `fn` under the fleet's run lock: taken first (waiting up to `options.timeout`), released
 * however `fn` ends. If the lock is lost meanwhile, `lock.signal` is aborted and this rejects at once
 * with RunLockLost (`fn` should stop at its next step; `lock.assertHeld()` throws from then on).
 */
export async function withRunLock<T>(fleet: Fleet, command: string, fn: (lock: RunLock) => Promise<T>, options: RunLockOptions = {}): Promise<T> {
  const lock = await acquireRunLock(fleet, command, options);
  try {
    const lost = new Promise<never>((_, reject) => {
      if (lock.signal.aborted) reject(lock.signal.reason);
      lock.signal.addEventListener('abort', () => reject(lock.signal.reason), { once: true });
    });
    lost.catch(() => undefined);
    return await Promise.race([fn(lock), lost]);
  } finally {
    await lock.release();
  }
}

/** What the fleet's lock is now: free, or held (by whom, since when, until when). */
export async function readRunLock(fleet: Fleet, leases?: Leases): Promise<LeaseState> {
  const table = requireTable(fleet);
  return (leases ?? fleetLeases(table)).describe(runLockName(fleet));
}

/** Breaks the fleet's lock held under `lockId`; a UserError when that ID does not hold it. */
export async function forceUnlockRun(fleet: Fleet, lockId: string, leases?: Leases, now: () => number = Date.now): Promise<void> {
  const table = requireTable(fleet);
  const store = leases ?? fleetLeases(table);
  const current = await store.describe(runLockName(fleet));
  if (current.lockId !== lockId) throw notHeldUnder(fleet, lockId, current, now());
  try {
    await store.forceUnlock(runLockName(fleet), lockId);
  } catch (err) {
    // Released or taken over between the read and the write.
    if (err instanceof Error && err.name === 'LeaseUnlockError') throw notHeldUnder(fleet, lockId, (err as unknown as { current: LeaseState }).current, now());
    throw err;
  }
}

export function notHeldUnder(fleet: Fleet, lockId: string, current: LeaseState, now: number): UserError {
  return new UserError(
    current.lockId
      ? [`force-unlock: the run lock of fleet ${fleet.fleet} is not held under ID ${lockId}; it is held under another ID:`, ...describeLock(current, now)]
      : `force-unlock: the run lock of fleet ${fleet.fleet} is not held under ID ${lockId}: it is free`,
  );
}
