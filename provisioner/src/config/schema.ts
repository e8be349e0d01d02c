// The shape of fleet.yaml: what a valid fleet file is, with the defaults a pool gets when a key is
// left out. Strict everywhere: an unknown key is a typo until proven otherwise.
import { z } from 'zod';
import { librarySchema } from '../library/schema.ts';

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

export const poolSchema = z.strictObject({
  name: poolName,
  count: z.int().min(0).max(1000),
  labels: z.array(label).min(1),
  executors: z.int().min(1).max(64).default(1),
  instanceType: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'an EC2 instance type such as t3.medium'),
  image,
  subnets: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id (subnet-...)')).min(1),
  securityGroups: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id (sg-...)')).min(1),
  instanceProfile: z.string().min(1),
  transport: z.enum(['ssm']).default('ssm'),
  region: region.optional(),
  tools: z.array(z.enum(tools)).default([]),
  remoteFS: z.string().regex(/^\/[^\s]*$/, 'an absolute path without spaces').default('/home/jenkins/agent'),
  mode: z.enum(['NORMAL', 'EXCLUSIVE']).default('NORMAL'),
  rootVolumeGiB: z.int().min(8).max(16384).default(30),
  publicIp: z.boolean().default(false),
});

export const controllerSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }),
  user: z.string().min(1),
  tokenFile: z.string().min(1).optional(),
});

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

export type PoolConfig = z.infer<typeof poolSchema>;
export type FleetConfig = z.infer<typeof fleetSchema>;
