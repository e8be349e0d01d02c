// The shape of fleet.yaml: what a valid fleet file is, with the defaults a pool gets when a key is
// left out. Strict everywhere: an unknown key is a typo until proven otherwise.
import type { z as zod } from 'zod';
import { z } from './zod.ts';
import { librarySchema } from '../library/schema.ts';
import { hostWithoutRoot } from '../model.ts';

const durationPattern = /^(\d+)(ms|s|m|h)$/;

/** `90s`, `5m`, `1h`, `500ms` -> milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = durationPattern.exec(text.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

const duration = z
  .string()
  .regex(durationPattern, 'a duration such as 90s, 5m or 1h')
  .transform((text) => parseDuration(text) as number);

const region = z.string().regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, 'an AWS region such as us-east-1');

/** Tools a pool's bootstrap can install; Java is always installed (the agent needs it). */
export const tools = ['python', 'docker', 'terraform'] as const;
export type Tool = (typeof tools)[number];

// Pool names become part of node names (`<pool>-<instance-id>`), EC2 tags and SSM paths.
const poolName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,39}$/, 'a name of letters, digits, - and _ (at most 40, starting with a letter)');

// Jenkins label atoms may not contain whitespace or the label-expression operators.
const label = z.string().regex(/^[^\s&|!()<>=,]+$/, 'a Jenkins label without spaces or &|!()<>=,');

const image = z
  .string()
  .regex(
    /^(ami-[0-9a-f]{8,17}|resolve:ssm:\/[A-Za-z0-9_.\-/]+)$/,
    'an AMI id (ami-...) or resolve:ssm:/aws/service/... (a public SSM parameter)',
  );

// How the provisioner reaches a pool's hosts over SSH (transport: ssh). The key is never inline:
// a file, or the name of an environment variable that holds it.
const sshKeyEnv = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable');
// OpenSSH prints SHA256 fingerprints as unpadded base64 of 32 bytes: 43 characters.
const hostKeyFingerprint = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'a host key fingerprint as ssh-keygen -lf prints it (SHA256: and 43 base64 characters)');
const port = z.int().min(1).max(65535);
const sshUser = z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/, 'a Unix user name');
const hostAddress = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$/, 'a host name or an IP address');

/** A machine that always exists (a static pool's host), reached over SSH. */
export const staticHostSchema = z.strictObject({
  address: hostAddress,
  port: port.optional(),
  user: sshUser.optional(),
});
export type StaticHost = zod.infer<typeof staticHostSchema>;

// What only EC2 pools have: a static pool (one with `hosts`) leaves these out, an EC2 pool needs all.
const ec2Fields = ['instanceType', 'image', 'subnets', 'securityGroups', 'instanceProfile'] as const;
/** Keys only EC2 pools may have, beyond the required ones. */
const ec2OnlyFields = ['instanceTypes', 'capacity'] as const;

/** How a pool's instances are bought: On-Demand, Spot, or Spot with On-Demand for what Spot cannot give. */
export const capacities = ['on-demand', 'spot', 'spot-then-on-demand'] as const;
export type Capacity = (typeof capacities)[number];

const instanceTypeName = z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'an EC2 instance type such as t3.medium');
/** One of a pool's instance types, with the executors its agents get (the pool's `executors` when left out). */
export interface InstanceTypeChoice {
  type: string;
  executors: number;
}
const ec2Expected = { instanceType: 'string', image: 'string', subnets: 'array', securityGroups: 'array', instanceProfile: 'string' } as const;
const sshOnlyFields = ['sshUser', 'sshKeyFile', 'sshKeyEnv', 'sshAddress', 'hostKeyPolicy', 'knownHostsFile', 'hostKeyFingerprints', 'port'] as const;

const poolObject = z.strictObject({
  name: poolName,
  /** EC2 pools: how many instances. Static pools: the number of hosts (may be left out). */
  count: z.int().min(0).max(1000).optional(),
  labels: z.array(label).min(1),
  executors: z.int().min(1).max(64).default(1),
  instanceType: instanceTypeName.optional(),
  /** Several types for one pool (Spot pools draw on every type x subnet); `executors` per type. */
  instanceTypes: z
    .array(z.union([instanceTypeName, z.strictObject({ type: instanceTypeName, executors: z.int().min(1).max(64).optional() })]))
    .min(1)
    .max(20)
    .optional(),
  capacity: z.enum(capacities).optional(),
  image: image.optional(),
  subnets: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id (subnet-...)')).min(1).optional(),
  securityGroups: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id (sg-...)')).min(1).optional(),
  instanceProfile: z.string().min(1).optional(),
  /** Static pools: machines that always exist (no EC2 calls at all). */
  hosts: z.array(staticHostSchema).min(1).optional(),
  transport: z.enum(['ssm', 'ssh']).default('ssm'),
  sshUser: sshUser.optional(),
  sshKeyFile: z.string().min(1).optional(),
  sshKeyEnv: sshKeyEnv.optional(),
  /** Which of an instance's addresses to connect to (EC2 pools). */
  sshAddress: z.enum(['private', 'public']).optional(),
  hostKeyPolicy: z.enum(['known-hosts', 'pinned', 'accept-new']).optional(),
  knownHostsFile: z.string().min(1).optional(),
  hostKeyFingerprints: z.array(hostKeyFingerprint).min(1).optional(),
  port: port.optional(),
  region: region.optional(),
  tools: z.array(z.enum(tools)).default([]),
  // Recorded on each instance as the value of an EC2 tag, which holds at most 256 characters.
  remoteFS: z.string().regex(/^\/[^\s]{0,255}$/, 'an absolute path without spaces, at most 256 characters').default('/home/jenkins/agent'),
  mode: z.enum(['NORMAL', 'EXCLUSIVE']).default('NORMAL'),
  rootVolumeGiB: z.int().min(8).max(16384).default(30),
  publicIp: z.boolean().default(false),
  /** Words of the pool's own added to each node's description, after the fleet's managed prefix. */
  description: z.string().max(200).regex(/^[^\r\n]*$/, 'one line of text').optional(),
  /** Rolling replacement: at most this many agents beyond `count` while out-of-date agents are replaced. */
  maxSurge: z.int().min(0).max(1000).default(1),
  /** Rolling replacement: at most this many of the `count` wanted agents out of service at once. */
  maxUnavailable: z.int().min(0).max(1000).default(0),
  // Scaling with the build queue (`provisioner watch`): a pool with `max` follows demand between
  // `min` and `max`; one without is never scaled by watch (`count: N` is min = max = N).
  min: z.int().min(0).max(1000).optional(),
  max: z.int().min(1).max(1000).optional(),
  /** Executors kept free and ready beyond what the queue asks for. */
  minIdle: z.int().min(0).max(1000).optional(),
  /** How long an agent stays idle before watch removes it. */
  idleAfter: duration.optional(),
  /** No agent is removed for idleness before it has run this long. */
  minUptime: duration.optional(),
  /** One build per agent: drained as soon as it is seen busy, removed when that build ends. */
  ephemeral: z.boolean().optional(),
  /** An agent not online this long after its launch is stuck, and replaced. */
  bootDeadline: duration.optional(),
  /** Failed launches or stuck agents in a row before the pool stops growing. */
  retryBudget: z.int().min(1).max(100).optional(),
});

/** The keys that only a pool scaled by `watch` (one with `max`) may have. */
export const scalingOnlyFields = ['min', 'minIdle', 'idleAfter', 'minUptime', 'ephemeral', 'bootDeadline', 'retryBudget'] as const;

/** How `watch` scales a pool with `max` (durations in milliseconds). */
export interface PoolScaling {
  minIdle: number;
  idleAfter: number;
  minUptime: number;
  ephemeral: boolean;
  bootDeadline: number;
  retryBudget: number;
}

/** The defaults of a scaled pool's keys left out. */
export const scalingDefaults: PoolScaling = { minIdle: 0, idleAfter: 600_000, minUptime: 0, ephemeral: false, bootDeadline: 600_000, retryBudget: 3 };

type PoolObject = zod.infer<typeof poolObject>;
type PoolBase = Omit<PoolObject, (typeof ec2Fields)[number] | (typeof ec2OnlyFields)[number] | 'hosts' | 'count' | 'min' | 'max' | (typeof scalingOnlyFields)[number]> & {
  /** How many agents `up` keeps: `count`, or `min` for a pool `watch` scales. */
  count: number;
  /** The fewest and most agents the pool may have (both `count` for a pool of fixed size). */
  min: number;
  max: number;
  /** Present when the pool has `max`: `watch` scales it with the build queue. */
  scaling?: PoolScaling;
};
/** A pool of EC2 instances the provisioner launches and terminates. */
export type Ec2PoolConfig = PoolBase & {
  /** The first of `instanceTypes` (the one type of a pool that names one). */
  instanceType: string;
  /** Every type the pool may launch, in the file's order, each with its executors. */
  instanceTypes: InstanceTypeChoice[];
  capacity: Capacity;
  image: string;
  subnets: string[];
  securityGroups: string[];
  instanceProfile: string;
  hosts?: undefined;
};
/** A pool of machines that always exist, reached over SSH; `count` is the number of hosts. */
export type StaticPoolConfig = PoolBase & {
  transport: 'ssh';
  hosts: StaticHost[];
  instanceType?: undefined;
  instanceTypes?: undefined;
  capacity?: undefined;
  image?: undefined;
  subnets?: undefined;
  securityGroups?: undefined;
  instanceProfile?: undefined;
};

export const poolSchema = poolObject
  .superRefine((pool, ctx) => {
    const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (pool.maxSurge === 0 && pool.maxUnavailable === 0) {
      problem('maxSurge', 'maxSurge or maxUnavailable above 0 (with both 0 no out-of-date agent could ever be replaced), found both 0');
    }
    if (pool.hosts) {
      for (const field of [...ec2Fields, ...ec2OnlyFields]) {
        if (pool[field] !== undefined) problem(field, `no ${field} in a static pool (one with hosts): its machines already exist`);
      }
      if (pool.transport !== 'ssh') problem('transport', `transport: ssh for a static pool (one with hosts), found '${pool.transport}'`);
      if (pool.count !== undefined && pool.count !== pool.hosts.length) {
        problem('count', `the number of hosts (${pool.hosts.length}) or no count at all in a static pool, found ${pool.count}`);
      }
      if (pool.sshAddress !== undefined) problem('sshAddress', 'sshAddress only in an EC2 pool (a static host is reached at its address)');
      const seen = new Map<string, number>();
      pool.hosts.forEach((host, index) => {
        const key = `${hostWithoutRoot(host.address).toLowerCase()}:${host.port ?? pool.port ?? 22}`;
        const first = seen.get(key);
        if (first !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['hosts', index, 'address'], message: `a host listed once, found ${key} again (first at hosts[${first}])` });
        } else seen.set(key, index);
      });
    } else {
      if (pool.instanceType !== undefined && pool.instanceTypes !== undefined) {
        problem('instanceTypes', 'either instanceType (one type) or instanceTypes (a list), found both');
      }
      const seenTypes = new Map<string, number>();
      (pool.instanceTypes ?? []).forEach((choice, index) => {
        const type = typeof choice === 'string' ? choice : choice.type;
        const first = seenTypes.get(type);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['instanceTypes', index], message: `an instance type listed once, found ${type} again (first at instanceTypes[${first}])` });
        else seenTypes.set(type, index);
      });
      for (const field of ec2Fields) {
        if (field === 'instanceType' && pool.instanceTypes !== undefined) continue;
        // The same wording as any missing key, plus the way out for machines that already exist.
        if (pool[field] === undefined) {
          ctx.addIssue({ code: 'invalid_type', expected: ec2Expected[field], input: undefined, path: [field], message: `${field} is required` });
        }
      }
      if (pool.count === undefined && pool.max === undefined) {
        ctx.addIssue({ code: 'invalid_type', expected: 'int', input: undefined, path: ['count'], message: 'count is required (or min and max, for a pool that watch scales)' });
      }
    }

    // Scaling keys: all or nothing with max, never beside count, never on machines that always exist.
    if (pool.max !== undefined) {
      if (pool.hosts) problem('max', "no max in a static pool (one with hosts): its machines always exist, watch cannot add or remove any");
      if (pool.count !== undefined) problem('count', `either count (a fixed size: min = max = count) or min and max, found count ${pool.count} and max ${pool.max}`);
      if (pool.min !== undefined && pool.min > pool.max) problem('min', `a min no greater than max (${pool.max}), found ${pool.min}`);
      if (pool.ephemeral && pool.executors !== 1) problem('executors', `1 executor in an ephemeral pool (one build per agent), found ${pool.executors}`);
    } else {
      for (const field of scalingOnlyFields) {
        if (pool[field] !== undefined) problem(field, `${field} only in a pool with max (a pool without max is never scaled by watch: give max, or use count for a fixed size)`);
      }
    }

    if (pool.transport !== 'ssh') {
      for (const field of sshOnlyFields) {
        if (pool[field] !== undefined) problem(field, `${field} only with transport: ssh (this pool uses ${pool.transport})`);
      }
      return;
    }
    if (pool.sshUser === undefined && !(pool.hosts?.every((host) => host.user !== undefined) ?? false)) {
      problem('sshUser', 'an sshUser for transport: ssh (the user the provisioner logs in as; a host may override it with hosts[].user)');
    }
    if ((pool.sshKeyFile === undefined) === (pool.sshKeyEnv === undefined)) {
      problem(
        pool.sshKeyFile === undefined ? 'sshKeyFile' : 'sshKeyEnv',
        pool.sshKeyFile === undefined
          ? 'exactly one of sshKeyFile (a private key file) or sshKeyEnv (an environment variable holding the key) for transport: ssh, found neither'
          : 'exactly one of sshKeyFile or sshKeyEnv, found both',
      );
    }
    if (pool.hostKeyPolicy === undefined) {
      problem('hostKeyPolicy', 'a hostKeyPolicy for transport: ssh: known-hosts, pinned or accept-new (host keys are never accepted blindly)');
    }
    if (pool.hostKeyPolicy === 'known-hosts' && pool.knownHostsFile === undefined) {
      problem('knownHostsFile', 'a knownHostsFile with hostKeyPolicy: known-hosts (the file that lists the hosts\' keys)');
    }
    if (pool.hostKeyPolicy === 'pinned' && pool.hostKeyFingerprints === undefined) {
      problem('hostKeyFingerprints', 'a list of hostKeyFingerprints (SHA256:...) with hostKeyPolicy: pinned');
    }
    if (pool.hostKeyPolicy === 'pinned' && pool.knownHostsFile !== undefined) {
      problem('knownHostsFile', 'no knownHostsFile with hostKeyPolicy: pinned (the fingerprints are the only keys trusted)');
    }
    if (pool.hostKeyPolicy !== 'pinned' && pool.hostKeyFingerprints !== undefined) {
      problem('hostKeyFingerprints', `hostKeyFingerprints only with hostKeyPolicy: pinned, found hostKeyPolicy: ${pool.hostKeyPolicy ?? 'none'}`);
    }
  })
  .transform((pool) => {
    const sshAddress = pool.transport === 'ssh' && !pool.hosts ? (pool.sshAddress ?? 'private') : pool.sshAddress;
    const { min, max, minIdle, idleAfter, minUptime, ephemeral, bootDeadline, retryBudget, ...rest } = pool;
    let sized;
    if (max !== undefined) {
      const scaling: PoolScaling = {
        minIdle: minIdle ?? scalingDefaults.minIdle,
        idleAfter: idleAfter ?? scalingDefaults.idleAfter,
        minUptime: minUptime ?? scalingDefaults.minUptime,
        ephemeral: ephemeral ?? scalingDefaults.ephemeral,
        bootDeadline: bootDeadline ?? scalingDefaults.bootDeadline,
        retryBudget: retryBudget ?? scalingDefaults.retryBudget,
      };
      sized = { ...rest, count: min ?? 0, min: min ?? 0, max, scaling, sshAddress };
    } else {
      const count = pool.count ?? pool.hosts?.length ?? 0;
      sized = { ...rest, count, min: count, max: count, sshAddress };
    }
    if (pool.hosts) return sized as StaticPoolConfig;
    const instanceTypes: InstanceTypeChoice[] = pool.instanceTypes
      ? pool.instanceTypes.map((c) => (typeof c === 'string' ? { type: c, executors: pool.executors } : { type: c.type, executors: c.executors ?? pool.executors }))
      : [{ type: pool.instanceType as string, executors: pool.executors }];
    return { ...sized, instanceType: instanceTypes[0]?.type, instanceTypes, capacity: pool.capacity ?? 'on-demand' } as Ec2PoolConfig;
  });

/**
 * The controller's root URL in the one form every caller joins paths onto: origin and path, ending
 * in exactly one slash (`https://ci.example.com/jenkins` -> `https://ci.example.com/jenkins/`).
 */
export function controllerRoot(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}/`;
}

export const controllerSchema = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL' })
    .superRefine((value, ctx) => {
      // Zod runs this after a failed URL check too: that one has said what is wrong.
      if (!URL.canParse(value)) return;
      const parsed = new URL(value);
      if (parsed.username || parsed.password) {
        ctx.addIssue({ code: 'custom', message: 'an http(s) URL without a user name or password in it (the user goes in controller.user, the token in JENKINS_API_TOKEN)' });
      }
      if (parsed.search || parsed.hash) {
        ctx.addIssue({ code: 'custom', message: `the controller's root URL without a query or fragment, found ${JSON.stringify(`${parsed.search}${parsed.hash}`)}` });
      }
    })
    .transform((value) => (URL.canParse(value) ? controllerRoot(value) : value)),
  user: z.string().min(1),
  tokenFile: z.string().min(1).optional(),
});

/** The lock's lease outlives a holder that stopped renewing it (crashed, killed) by this much, at most. */
export const defaultLockExpireAfter = 120_000;

export const lockSchema = z.strictObject({
  // DynamoDB's own rule for table names (API Reference, CreateTable: TableName).
  table: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name (3 to 255 letters, digits, _, - and .), such as jenkins-fleet-bank-ci-locks'),
  region: region.optional(),
  // Renewed every quarter of it; long enough to ride out a slow DynamoDB call, short enough that a
  // crashed run does not block the next one for long.
  expireAfter: duration
    .refine((ms) => ms >= 10_000 && ms <= 3_600_000, 'a duration from 10s to 1h')
    .default(defaultLockExpireAfter),
});

/**
 * An SQS queue URL as SQS hands it out (CreateQueue, GetQueueUrl, terraform's aws_sqs_queue.url):
 * https://sqs.REGION.amazonaws.com[.cn]/ACCOUNT/NAME, a standard queue (EventBridge rules into a
 * FIFO queue need a message group id, which terraform/jenkins does not set).
 */
export const queueUrlPattern = /^https:\/\/sqs\.([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d)\.amazonaws\.com(?:\.cn)?\/(\d{12})\/([A-Za-z0-9_-]{1,80})$/;

/** The region an SQS queue URL names (its host's). */
export function queueRegion(url: string): string | undefined {
  return queueUrlPattern.exec(url)?.[1];
}

const queueUrl = z.string().regex(queueUrlPattern, 'an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/jenkins-fleet-bank-ci-interruptions (terraform/jenkins output interruption_queue_url)');

/**
 * EventBridge rules are regional: EC2 sends a Spot instance's notices to EventBridge in the
 * instance's own region, so a fleet with Spot pools in several regions has a queue in each. One
 * queue is `queue: URL`; several are `queues: [URL, ...]`, one per region. Either way the result
 * is `queues`, each region at most once.
 */
export const interruptionsSchema = z
  .strictObject({
    queue: queueUrl.optional(),
    queues: z.array(queueUrl).min(1).optional(),
  })
  .superRefine((value, ctx) => {
    if (value.queue !== undefined && value.queues !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['queues'], message: 'either queue (the one queue of a fleet in one region) or queues (one per region), found both' });
    }
    if (value.queue === undefined && value.queues === undefined) {
      ctx.addIssue({ code: 'custom', path: ['queue'], message: 'an SQS queue URL in queue (or a list in queues, one per region with Spot pools), found neither' });
    }
    const seen = new Map<string, number>();
    (value.queues ?? []).forEach((url, index) => {
      const region = queueRegion(url);
      if (region === undefined) return;
      const first = seen.get(region);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['queues', index], message: `one queue per region, found a second in ${region} (first at interruptions.queues[${first}])` });
      } else seen.set(region, index);
    });
  })
  .transform((value) => ({ queues: value.queues ?? (value.queue === undefined ? [] : [value.queue]) }));

export const fleetSchema = z
  .strictObject({
    fleet: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'a fleet id of lowercase letters, digits and - (at most 32)'),
    region,
    controller: controllerSchema,
    secrets: z
      .strictObject({
        kmsKeyId: z.string().min(1).optional(),
      })
      .default({}),
    repair: z
      .strictObject({
        // A node offline this long while its instance runs is bootstrapped again.
        offlineAfter: duration.default(300_000),
      })
      .default({ offlineAfter: 300_000 }),
    /**
     * The run lock (provisioner/src/lock/): the DynamoDB table terraform/jenkins creates, in the
     * fleet's region unless another is named. Without it, nothing keeps two runs apart.
     */
    lock: lockSchema.optional(),
    /**
     * Where EventBridge puts EC2's Spot interruption warnings and rebalance recommendations
     * (terraform/jenkins makes the queue and its rules; terraform/interruptions one in another
     * region): `watch` drains and replaces the agents named.
     */
    interruptions: interruptionsSchema.optional(),
    pools: z.array(poolSchema),
    /** Conventions the generated shared library is rendered with (`provisioner library`). */
    library: librarySchema.optional(),
  })
  .superRefine((fleet, ctx) => {
    const seen = new Map<string, number>();
    fleet.pools.forEach((pool, index) => {
      const first = seen.get(pool.name.toLowerCase());
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['pools', index, 'name'],
          message: `a pool name used once, found '${pool.name}' again (first at pools[${first}])`,
        });
      } else seen.set(pool.name.toLowerCase(), index);
    });
  });

export type PoolConfig = zod.infer<typeof poolSchema>;

/** A pool whose machines always exist (`hosts`), as opposed to EC2 instances the provisioner launches. */
/** The executors an agent of the pool gets on an instance of `instanceType` (the pool's, for a type it does not list). */
export function executorsFor(pool: PoolConfig, instanceType: string | undefined): number {
  return pool.instanceTypes?.find((c) => c.type === instanceType)?.executors ?? pool.executors;
}

export function isStaticPool<P extends PoolConfig>(pool: P): pool is Extract<P, { hosts: StaticHost[] }> {
  return pool.hosts !== undefined;
}
export type FleetConfig = zod.infer<typeof fleetSchema>;
