// The sandbox's own state outlives it: stopped and started again on the same directory, it still
// holds the fleet, its hosts' agents connect again, and `up` finds nothing to do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { converged, counts, eventually, Sandbox } from './harness.ts';

const sandbox = new Sandbox(['--boot-delay', '1s', '--ssm-online-delay', '1s']);
beforeAll(async () => { await sandbox.start(); });
afterAll(async () => sandbox.stop());

describe('a sandbox restart', () => {
  it('keeps instances, nodes and secrets, and the agents come back online by themselves', async () => {
    const config = sandbox.fleet((f) => counts(f, { awsDeploy: 2, awsDeploy2: 1 }));
    const up = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '90s']);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const before = await sandbox.state();
    const url = sandbox.url;
    await sandbox.restart();
    expect(sandbox.url).toBe(url);
    const after = await eventually('agents reconnected', async () => {
      const s = await sandbox.state();
      return converged(s, { awsDeploy: 2, awsDeploy2: 1 }).length === 0 ? s : undefined;
    });
    expect(after.instances.map((i) => i.id).sort()).toEqual(before.instances.map((i) => i.id).sort());
    expect(after.parameters).toEqual(before.parameters);
    const from = sandbox.requests().length;
    const again = await sandbox.provisioner(config, ['up', '--yes', '--timeout', '60s']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    // Only the run lock's item is written (taken and released); nothing of the fleet is touched.
    expect(sandbox.requests(from).filter((r) => r.mutating && r.service !== 'dynamodb')).toEqual([]);
  });
});
