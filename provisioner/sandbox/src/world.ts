// What the three stand-ins share: the persisted store, timing, faults, and derived instance
// state. An instance's lifecycle is computed from its timestamps rather than from timers, so the
// sandbox can be stopped and started again without losing track of where each instance is.
import { createHash, randomBytes } from 'node:crypto';
import type { Faults } from './faults.ts';
import type { Instance, Store } from './state.ts';

/**
 * The builds a sandbox keeps: above the most one call of `sandbox build` queues (1,000), so that a
 * test or benchmark reading its own builds back finds every one of them.
 */
export const defaultKeepBuilds = 2000;


export interface Timing {
  /** pending -> running. */
  bootMs: number;
  /** running -> SSM agent Online. */
  ssmOnlineMs: number;
  /** shutting-down -> terminated. */
  shutdownMs: number;
  /** How long terminated instances stay visible in DescribeInstances. */
  lingerMs: number;
}

export interface RequestLogEntry {
  service: 'ec2' | 'ssm' | 'dynamodb' | 'sqs' | 'jenkins' | 'control';
  action: string;
  status: number;
  mutating: boolean;
  error?: string;
  ms?: number;
  /** Identifiers only (instance ids, parameter names, node names): never values or bodies. */
  subject?: string;
}

export interface Sandbox {
  store: Store;
  timing: Timing;
  faults: Faults;
  random: () => number;
  region: string;
  accountId: string;
  /** The aliases of the account's customer managed KMS keys (beside the AWS managed aws/ssm). */
  kmsAliases: string[];
  /** Base URL the sandbox answers on, e.g. http://127.0.0.1:4566 */
  baseUrl: string;
  log(entry: RequestLogEntry): void;
  /** Called when an instance stops existing for its host's processes (terminate). */
  onTerminate(instance: Instance): void;
  /** Called when the SSM agent of a host runs a command. */
  runCommand(commandId: string, instanceId: string): void;
  /** With `--ssh-instances`: the instances' loopback addresses and the host keys their sshd serve. */
  instanceSsh?: InstanceSsh;
}

export interface InstanceSsh {
  /** The private IP of the `serial`th instance launched into a subnet (`block` from the subnet's id). */
  address(block: number, serial: number): string;
  /** The instance's host key line, as its console prints it and its sshd serves it. */
  hostKey(instance: Instance): string;
}

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated';

export const stateCodes: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
};

/** The state an instance is in now, or undefined once a terminated one has stopped lingering. */
export function instanceState(sb: Sandbox, instance: Instance, now = Date.now()): InstanceStateName | undefined {
  if (instance.terminatedAt !== undefined) {
    if (now >= instance.terminatedAt + sb.timing.lingerMs) return undefined;
    return now < instance.terminatedAt + sb.timing.shutdownMs ? 'shutting-down' : 'terminated';
  }
  return now < instance.launchedAt + sb.timing.bootMs ? 'pending' : 'running';
}

/** Whether the instance's SSM agent has registered and pings (the host runs, the delay passed). */
export function ssmOnline(sb: Sandbox, instance: Instance, now = Date.now()): boolean {
  if (sb.faults.ssmNeverOnline || instance.terminatedAt !== undefined) return false;
  return now >= instance.launchedAt + sb.timing.bootMs + sb.timing.ssmOnlineMs;
}

/**
 * When an instance's sshd starts listening (`--ssh-instances`): not when EC2 calls it running but a
 * while into its boot, once cloud-init's init stage has generated the host keys (cc_ssh), and before
 * its final stage prints them to the console (cc_keys_to_console, at half the SSM delay here) and
 * the SSM agent registers: a quarter of the SSM delay after running.
 */
export function sshdListensAt(sb: Sandbox, instance: Instance): number {
  return instance.launchedAt + sb.timing.bootMs + Math.max(1, sb.timing.ssmOnlineMs / 4);
}

export function resourceId(prefix: string): string {
  return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

/** A stable small number from a string (AZ of a subnet, IP block, AMI of an alias). */
export function stableHash(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/** `1500`, `1500ms`, `1.5s`, `2m` -> milliseconds, or undefined for anything else. */
export function readDuration(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return Math.round(m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n);
}
