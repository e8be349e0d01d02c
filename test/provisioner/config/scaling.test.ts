// The keys of a pool that `watch` scales (min, max, minIdle, idleAfter, minUptime, ephemeral,
// bootDeadline, retryBudget): their defaults, what `count` means beside them, and one clear
// sentence for each misuse, naming the pool's field.
import { describe, expect, it } from 'vitest';
import { parseFleet } from '../../../provisioner/src/config/load.ts';
import { UserError } from '../../../provisioner/src/errors.ts';
import { ec2Pool, fleetYaml, staticPool } from '../../support/fleet.ts';

function problems(pool: string): string[] {
  try {
    parseFleet(fleetYaml([pool]), 'fleet.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as UserError).problems;
  }
  throw new Error('expected the fleet to be refused');
}

const scaled = (settings: Record<string, string | number | boolean>) => ec2Pool('awsDeploy', { count: null, settings });

describe('a pool that watch scales', () => {
  it('has min and max, and the documented defaults for the keys left out', () => {
    const pool = parseFleet(fleetYaml([scaled({ max: 5 })]), 'fleet.yaml').pools[0]!;
    expect(pool).toMatchObject({ min: 0, max: 5, count: 0 });
    expect(pool.scaling).toEqual({ minIdle: 0, idleAfter: 600_000, minUptime: 0, ephemeral: false, bootDeadline: 600_000, retryBudget: 3 });
  });

  it('reads every key, durations as durations', () => {
    const pool = parseFleet(fleetYaml([scaled({ min: 1, max: 8, minIdle: 2, idleAfter: '90s', minUptime: '5m', bootDeadline: '4m', retryBudget: 5 })]), 'fleet.yaml').pools[0]!;
    expect(pool).toMatchObject({ min: 1, max: 8, count: 1 });
    expect(pool.scaling).toEqual({ minIdle: 2, idleAfter: 90_000, minUptime: 300_000, ephemeral: false, bootDeadline: 240_000, retryBudget: 5 });
  });

  it('keeps count meaning a fixed size: min = max = count, and no scaling', () => {
    const pool = parseFleet(fleetYaml([ec2Pool('awsDeploy', { count: 3 })]), 'fleet.yaml').pools[0]!;
    expect(pool).toMatchObject({ count: 3, min: 3, max: 3 });
    expect(pool.scaling).toBeUndefined();
  });

  it('refuses count beside max', () => {
    expect(problems(ec2Pool('awsDeploy', { count: 2, settings: { max: 4 } }))).toEqual([
      expect.stringMatching(/pools\[0\]\.count: expected either count \(a fixed size: min = max = count\) or min and max, found count 2 and max 4$/),
    ]);
  });

  it('refuses min above max', () => {
    expect(problems(scaled({ min: 5, max: 2 }))).toEqual([expect.stringMatching(/pools\[0\]\.min: expected a min no greater than max \(2\), found 5$/)]);
  });

  it('refuses the scaling keys in a pool without max, naming each', () => {
    const found = problems(ec2Pool('awsDeploy', { count: 2, settings: { minIdle: 1, ephemeral: true } }));
    expect(found).toEqual([
      expect.stringMatching(/pools\[0\]\.minIdle: expected minIdle only in a pool with max \(a pool without max is never scaled by watch/),
      expect.stringMatching(/pools\[0\]\.ephemeral: expected ephemeral only in a pool with max/),
    ]);
  });

  it('asks for count, or min and max, when an EC2 pool has neither', () => {
    expect(problems(ec2Pool('awsDeploy', { count: null }))).toEqual([expect.stringMatching(/pools\[0\]\.count: is required/)]);
  });

  it('refuses an ephemeral pool with more than one executor', () => {
    expect(problems(scaled({ max: 3, ephemeral: true, executors: 2 }))).toEqual([expect.stringMatching(/pools\[0\]\.executors: expected 1 executor in an ephemeral pool \(one build per agent\), found 2$/)]);
  });

  it('refuses max in a static pool, whose machines always exist', () => {
    expect(problems(staticPool('rack', [{ address: '10.0.0.5' }], { max: 2 }))).toEqual([expect.stringMatching(/pools\[0\]\.max: expected no max in a static pool/)]);
  });

  it('refuses a malformed duration or a negative number with the field and what was expected', () => {
    expect(problems(scaled({ max: 3, idleAfter: 'soon' }))).toEqual([expect.stringMatching(/pools\[0\]\.idleAfter: expected a duration such as 90s, 5m or 1h, found "soon"$/)]);
    expect(problems(scaled({ max: 3, minIdle: -1 }))).toEqual([expect.stringMatching(/pools\[0\]\.minIdle: expected a number >= 0, found -1$/)]);
    expect(problems(scaled({ max: 0 }))).toEqual([expect.stringMatching(/pools\[0\]\.max: expected a number >= 1, found 0$/)]);
  });
});
