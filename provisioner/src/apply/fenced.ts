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

type Check = 'verify' | 'assert';

const computeWrites: Partial<Record<keyof Compute, Check>> = {
  launch: 'verify',
  launchFleet: 'verify',
  terminate: 'verify',
  markBootstrapped: 'assert',
  ensureLaunchTemplate: 'assert',
  deleteLaunchTemplate: 'assert',
};
const controllerWrites: Partial<Record<keyof Controller, Check>> = {
  drain: 'verify',
  resume: 'verify',
  deleteNode: 'verify',
  createNode: 'assert',
  reconfigureNode: 'assert',
};
const parameterWrites: Partial<Record<keyof Parameters, Check>> = { putSecret: 'assert', deleteSecret: 'assert' };
const transportWrites: Partial<Record<keyof Transport, Check>> = { storeSecret: 'assert', bootstrap: 'assert', forget: 'assert' };
const queueCalls: Partial<Record<keyof InterruptionQueue, Check>> = { receive: 'assert', delete: 'assert' };

function fence<T extends object>(target: T, writes: Partial<Record<keyof T, Check>>, lease: Fence): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      const method = (value as (...args: unknown[]) => unknown).bind(object);
      const check = writes[property as keyof T];
      if (!check) return method;
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
    controller: fence(systems.controller, controllerWrites, lease),
    compute: cache((region: string) => fence(systems.compute(region), computeWrites, lease)),
    parameters: cache((region: string) => fence(systems.parameters(region), parameterWrites, lease)),
    transport: cache((pool) => fence(systems.transport(pool), transportWrites, lease)),
    ...(systems.interruptions ? { interruptions: fence(systems.interruptions, queueCalls, lease) } : {}),
  };
}
