// Fleet files for tests, as a user writes them: the fleet's head, EC2 pools and static SSH pools as
// YAML text (so a test can still edit a line), and the parsed fleet. One place for what every
// suite's fleet has in common, so a new required key changes one file.
import { parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';
import { parseFleet } from '../../provisioner/src/config/load.ts';
import { scalingOnlyFields } from '../../provisioner/src/config/schema.ts';
import type { Fleet } from '../../provisioner/src/model.ts';

/** A pool setting as YAML: a list is written `[a, b]`, anything else as it is. */
export type Setting = string | number | boolean | readonly (string | number)[];

function settingLines(settings: Record<string, Setting | undefined>): string[] {
  return Object.entries(settings).flatMap(([key, value]) =>
    value === undefined ? [] : [`    ${key}: ${Array.isArray(value) ? `[${value.join(', ')}]` : String(value)}`],
  );
}

export interface Ec2PoolOptions {
  /** 1 by default; null leaves it out (a pool `watch` scales has min and max instead). */
  count?: number | null;
  labels?: string[];
  subnets?: string[];
  image?: string;
  instanceProfile?: string;
  /** Any other keys of the pool (tools, transport, sshUser...). */
  settings?: Record<string, Setting | undefined>;
}

/** An EC2 pool: t3.medium in the given subnets (two by default), labelled with its name. */
export function ec2Pool(name: string, options: Ec2PoolOptions = {}): string {
  return `${[
    `  - name: ${name}`,
    ...(options.count === null ? [] : [`    count: ${options.count ?? 1}`]),
    `    labels: [${(options.labels ?? [name]).join(', ')}]`,
    '    instanceType: t3.medium',
    `    image: ${options.image ?? 'ami-0123456789abcdef0'}`,
    `    subnets: [${(options.subnets ?? ['subnet-0000000a', 'subnet-0000000b']).join(', ')}]`,
    '    securityGroups: [sg-0123456789abcdef0]',
    `    instanceProfile: ${options.instanceProfile ?? 'agent'}`,
    ...settingLines(options.settings ?? {}),
  ].join('\n')}\n`;
}

export interface StaticHostSpec {
  address: string;
  port?: number;
  user?: string;
}

/** The SSH settings a static pool needs, overridable one by one. */
export const sshSettings = { sshUser: 'ci', sshKeyEnv: 'RACK_SSH_KEY', hostKeyPolicy: 'accept-new' } as const;

/** A static pool over SSH: its hosts, and `sshSettings` unless given others (undefined leaves a key out). */
export function staticPool(name: string, hosts: readonly StaticHostSpec[], settings: Record<string, Setting | undefined> = {}): string {
  const host = (h: StaticHostSpec) => `{ ${[`address: ${h.address}`, h.port !== undefined ? `port: ${h.port}` : '', h.user ? `user: ${h.user}` : ''].filter(Boolean).join(', ')} }`;
  return `${[
    `  - name: ${name}`,
    `    labels: [${name}]`,
    '    transport: ssh',
    ...settingLines({ ...sshSettings, ...settings }),
    `    hosts: [${hosts.map(host).join(', ')}]`,
  ].join('\n')}\n`;
}

/**
 * A static pool from the settings `sandbox --ssh-hosts` writes (STATE/ssh-hosts.yaml: the SSH
 * user, key, host-key policy and the hosts), with more keys and more hosts if given.
 */
export function sandboxSshPool(name: string, settingsYaml: string, options: { labels?: string[]; settings?: Record<string, Setting | undefined>; moreHosts?: readonly string[] } = {}): string {
  const settings = settingsYaml.split('\n').filter((line) => line.trim() && !line.startsWith('#'));
  return `${[
    `  - name: ${name}`,
    `    labels: [${(options.labels ?? [name]).join(', ')}]`,
    '    transport: ssh',
    ...settingLines(options.settings ?? {}),
    // `hosts:` is the file's last key, so more hosts follow its list.
    ...settings.map((line) => `    ${line}`),
    ...(options.moreHosts ?? []).map((host) => `      - ${host}`),
  ].join('\n')}\n`;
}

export interface FleetOptions {
  /** The controller's URL (https://jenkins.example/ by default). */
  url?: string;
  /** The controller's service account (provisioner by default). */
  user?: string;
  /** `repair.offlineAfter`, e.g. `5m`. */
  offlineAfter?: string;
}

/** The fleet file `bank-ci` in us-east-1 with these pools (each from `ec2Pool` or `staticPool`). */
export function fleetYaml(pools: readonly string[], options: FleetOptions = {}): string {
  return [
    'fleet: bank-ci',
    'region: us-east-1',
    `controller: { url: '${options.url ?? 'https://jenkins.example/'}', user: ${options.user ?? 'provisioner'} }`,
    ...(options.offlineAfter ? [`repair: { offlineAfter: ${options.offlineAfter} }`] : []),
    'pools:',
    pools.join('').trimEnd(),
    '',
  ].join('\n');
}

/** The parsed fleet of `fleetYaml`, as read from `source` (fleet.yaml by default). */
export function fleetOf(pools: readonly string[], options: FleetOptions & { source?: string } = {}): Fleet {
  return parseFleet(fleetYaml(pools, options), options.source ?? 'fleet.yaml');
}

/**
 * A fleet file's text with every pool `watch` scales (one with `max`) turned into a fixed pool of
 * `count: max(min, 1)`, everything else kept: the repository's fleet.yaml as it would be with no
 * pool following the build queue, for the checks whose answer depends on that (Job/Read).
 */
export function withoutScaledPools(text: string): string {
  const doc = parseDocument(text);
  const pools = doc.get('pools') as YAMLSeq<YAMLMap> | undefined;
  let changed = 0;
  for (const pool of pools?.items ?? []) {
    if (!pool.has('max')) continue;
    const min = Number(pool.get('min') ?? 0);
    for (const field of ['max', ...scalingOnlyFields]) pool.delete(field);
    pool.set('count', Math.max(min, 1));
    changed += 1;
  }
  if (changed === 0) throw new Error('test setup: the fleet file has no pool with max');
  return doc.toString();
}
