// The outside systems as a lease holder may use them: every mutating call first checks that the
// lease (and its epoch, the fencing token) is still this process's. Launches, drains, take-backs,
// node deletions and terminations read the lease back first (`verify`); the other writes of a
// bring-up (a node, a secret, a bootstrap, a tag) check the holder's own clock (`assertHeld`).
// Reads go through unchecked, except the interruption queue's: a receive hides its messages from
// other readers for a while, so a deposed leader reading it would hide notices from the new one.
import type { Fence } from '../lock/leadership.ts';
import type { Compute, Controller, InterruptionQueue, Parameters } from '../ports.ts';
import type { Transport } from '../transport/transport.ts';
import type { Systems } from './apply.ts';

/**
 * How each call of a port is checked: `verify` reads the lease back, `assert` checks the holder's
 * own clock, `read` passes. Every method is named (a complete Record, not a partial one), so a
 * method added to a port does not compile until someone decides whether it writes.
 */
type Check = 'verify' | 'assert' | 'read';
type Calls<T> = Record<{ [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T], Check>;

const computeCalls: Calls<Compute> = {
  listInstances: 'read',
  launch: 'verify',
  ensureLaunchTemplate: 'assert',
  listLaunchTemplates: 'read',
  deleteLaunchTemplate: 'assert',
  launchFleet: 'verify',
  terminate: 'verify',
  markBootstrapped: 'assert',
  // The idle mark decides a later removal (by a `watch --once` that finds no memory of its own).
  markIdle: 'assert',
  resolveImage: 'read',
  consoleOutput: 'read',
};
const controllerCalls: Calls<Controller> = {
  listNodes: 'read',
  createNode: 'assert',
  readSecret: 'read',
  drain: 'verify',
  resume: 'verify',
  deleteNode: 'verify',
  nodeSettings: 'read',
  reconfigureNode: 'assert',
  readQueue: 'read',
};
const parameterCalls: Calls<Parameters> = { putSecret: 'assert', deleteSecret: 'assert', listNames: 'read' };
const transportCalls: Calls<Transport> = { storeSecret: 'assert', bootstrap: 'assert', forget: 'assert' };
const queueCalls: Calls<InterruptionQueue> = { receive: 'assert', delete: 'assert' };

function fence<T extends object>(target: T, calls: Calls<T>, lease: Fence): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      const method = (value as (...args: unknown[]) => unknown).bind(object);
      const check = (calls as Record<PropertyKey, Check | undefined>)[property];
      if (check === undefined || check === 'read') return method;
      return async (...args: unknown[]) => {
        if (check === 'verify') await lease.verify();
        else lease.assertHeld();
        return method(...args);
      };
    },
  });
}

/** `systems` with each mutating call behind `lease`'s check (a LeadershipLost or RunLockLost when it fails). */
export function fencedSystems(systems: Systems, lease: Fence): Systems {
  const cache = <K, V>(make: (key: K) => V) => {
    const made = new Map<K, V>();
    return (key: K): V => {
      if (!made.has(key)) made.set(key, make(key));
      return made.get(key)!;
    };
  };
  return {
    ...systems,
    controller: fence(systems.controller, controllerCalls, lease),
    compute: cache((region: string) => fence(systems.compute(region), computeCalls, lease)),
    parameters: cache((region: string) => fence(systems.parameters(region), parameterCalls, lease)),
    transport: cache((pool) => fence(systems.transport(pool), transportCalls, lease)),
    ...(systems.interruptions ? { interruptions: systems.interruptions.map((queue) => fence(queue, queueCalls, lease)) } : {}),
  };
}
