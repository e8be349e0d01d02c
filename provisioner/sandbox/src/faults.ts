// Latency and failures the sandbox injects, per service, so that retries, capacity fallbacks and
// agents that never come up can be exercised. Adjustable while running (control endpoint).

export type Service = 'ec2' | 'ssm' | 'jenkins';

export interface ServiceFaults {
  /** Added to every request, in ms. */
  latencyMs: number;
  /** Share of requests (0..1) answered with the service's throttling error. */
  throttleRate: number;
}

export interface Faults {
  ec2: ServiceFaults;
  ssm: ServiceFaults;
  jenkins: ServiceFaults;
  /** Subnets in which RunInstances fails with InsufficientInstanceCapacity. */
  noCapacitySubnets: string[];
  /** Subnets whose zone does not offer the requested instance type (Unsupported). */
  unsupportedSubnets: string[];
  /** Subnets with no free address left (InsufficientFreeAddressesInSubnet). */
  fullSubnets: string[];
  /** SSM agents never register (DescribeInstanceInformation never lists them). */
  ssmNeverOnline: boolean;
  /**
   * Eventual consistency, in ms: for this long after RunInstances, DescribeInstances does not see
   * the new instances (InvalidInstanceID.NotFound by id, absent from filtered lists), nor do
   * TerminateInstances and CreateTags (InvalidInstanceID.NotFound), and after
   * SendCommand its invocations do not exist yet (InvocationDoesNotExist, empty listings), as AWS
   * documents for both.
   */
  consistencyLagMs: number;
  /**
   * The account's on-demand vCPU quota: vCPUs of instances alive (pending or running) at once;
   * beyond it RunInstances fails with VcpuLimitExceeded (0: no limit).
   */
  vcpuLimit: number;
  /**
   * Spot capacity per pool: how many Spot instances of a type may be alive at once in a zone
   * (`TYPE/ZONE`), in every zone (`TYPE`), or for every type (`*`); the most specific key counts and
   * a pool no key names is unlimited. 0 takes a pool's capacity away: CreateFleet then reports
   * InsufficientInstanceCapacity for it.
   */
  spotCapacity: Record<string, number>;
}

/** How many Spot instances of `instanceType` `zone` holds alive at once (Infinity: unlimited). */
export function spotCapacityOf(faults: Faults, instanceType: string, zone: string): number {
  const limit = faults.spotCapacity[`${instanceType}/${zone}`] ?? faults.spotCapacity[instanceType] ?? faults.spotCapacity['*'];
  return limit ?? Infinity;
}

export function noFaults(): Faults {
  return {
    ec2: { latencyMs: 0, throttleRate: 0 },
    ssm: { latencyMs: 0, throttleRate: 0 },
    jenkins: { latencyMs: 0, throttleRate: 0 },
    noCapacitySubnets: [],
    unsupportedSubnets: [],
    fullSubnets: [],
    ssmNeverOnline: false,
    consistencyLagMs: 0,
    vcpuLimit: 0,
    spotCapacity: {},
  };
}

/** A small seeded generator (mulberry32), so a fault run can be replayed with `--seed`. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/** Applies a partial update (from the control endpoint) after checking every field. */
export function updateFaults(faults: Faults, patch: unknown): string[] {
  const problems: string[] = [];
  if (typeof patch !== 'object' || patch === null) return ['faults: expected a JSON object'];
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (key === 'ec2' || key === 'ssm' || key === 'jenkins') {
      if (typeof value !== 'object' || value === null) { problems.push(`faults.${key}: expected an object`); continue; }
      for (const [field, v] of Object.entries(value as Record<string, unknown>)) {
        if (field === 'latencyMs' && typeof v === 'number' && v >= 0) faults[key].latencyMs = v;
        else if (field === 'throttleRate' && typeof v === 'number' && v >= 0 && v <= 1) faults[key].throttleRate = v;
        else problems.push(`faults.${key}.${field}: expected latencyMs (ms >= 0) or throttleRate (0..1), found ${JSON.stringify(v)}`);
      }
    } else if ((key === 'noCapacitySubnets' || key === 'unsupportedSubnets' || key === 'fullSubnets') && Array.isArray(value) && value.every((s) => typeof s === 'string')) {
      faults[key] = value as string[];
    } else if (key === 'ssmNeverOnline' && typeof value === 'boolean') {
      faults.ssmNeverOnline = value;
    } else if (key === 'consistencyLagMs' && typeof value === 'number' && value >= 0) {
      faults.consistencyLagMs = value;
    } else if (key === 'vcpuLimit' && typeof value === 'number' && Number.isInteger(value) && value >= 0) {
      faults.vcpuLimit = value;
    } else if (key === 'spotCapacity' && typeof value === 'object' && value !== null && !Array.isArray(value)
      && Object.entries(value).every(([pool, n]) => /^(\*|[a-z][a-z0-9-]*\.[a-z0-9]+(\/[a-z]{2}-[a-z]+-\d[a-z])?)$/.test(pool) && typeof n === 'number' && Number.isInteger(n) && n >= 0)) {
      faults.spotCapacity = value as Record<string, number>;
    } else {
      problems.push(`faults.${key}: unknown field or wrong type (${JSON.stringify(value)})`);
    }
  }
  return problems;
}
